"""The de-duplication tests' shared fixtures: the small sample org loaded once, its accounts de-duplicated once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_org(small_sample):
    """The small sample org, loaded once (tests must not modify it)."""
    import funnel_analysis as fa

    return fa.load_org(small_sample)


@pytest.fixture(scope="session")
def found_accounts(small_org):
    """:func:`funnel_analysis.dedupe.find_duplicates` on the small org's accounts, once."""
    from funnel_analysis.dedupe import find_duplicates

    return find_duplicates(small_org.accounts, table="accounts")
