"""Named results that still unpack: ``low, high = wilson_interval(...)`` keeps working.

A public function returns a DataFrame or a named result dataclass, never a bare tuple
(``CONTRIBUTING.md``). Where unpacking the parts is the natural use, the dataclass derives from
:class:`Unpackable`, so callers may write either ``ci.low`` or ``low, high = ci``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

__all__ = ["Unpackable"]


class Unpackable:
    """Mixin for a dataclass: iterating yields its fields in order (for unpacking)."""

    def __iter__(self) -> Iterator:
        return iter(getattr(self, f.name) for f in fields(self))
