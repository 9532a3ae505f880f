"""Shared by the de-duplication tests: the small sample org loaded once, its duplicates found once."""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=2)
def loaded(folder: str):
    """``fa.load_org(folder)``, once per session (tests must not modify it)."""
    import funnel_analysis as fa

    return fa.load_org(folder)


@functools.lru_cache(maxsize=8)
def found(folder: str, table: str):
    """``find_duplicates`` on the org at ``folder``, once per session."""
    from funnel_analysis.dedupe import find_duplicates

    return find_duplicates(loaded(folder), table)
