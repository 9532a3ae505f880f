"""Helpers shared across the package, not part of its API (names and signatures may change).

- :mod:`.arrow`: fast membership and lookups through pyarrow compute;
- :mod:`.frames`: input checks, segments, calendar days and stage ranks of the analyses;
- :mod:`.results`: named results that still unpack;
- :mod:`.plotting`: the charts' shared axes and money format;
- :mod:`.money`: currency symbols from ISO codes;
- :mod:`.missing`: the one-line mark of a section whose inputs the data lacks.
"""

__all__: list[str] = []
