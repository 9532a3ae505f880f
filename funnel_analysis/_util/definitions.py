"""Written definitions of a report's figures: one table of them, and a table's note that carries them.

The velocity and forecasting reports each keep their own definitions (``velocity/definitions.py``,
``forecast/definitions.py``); the two operations on them are the same and live here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

__all__ = ["definitions_table", "note_with_definitions"]


def definitions_table(definitions: Mapping[str, str], figures: Sequence[str] | None, *, kind: str) -> pd.DataFrame:
    """``figure``, ``definition`` of ``figures`` (all when None); a figure without one is a ValueError."""
    names = list(definitions) if figures is None else list(figures)
    unknown = [f for f in names if f not in definitions]
    if unknown:
        raise ValueError(f"figures: no {kind} definition of {unknown}; expected some of {list(definitions)}")
    return pd.DataFrame({"figure": names, "definition": [definitions[f] for f in names]})


def note_with_definitions(table: pd.DataFrame, figures: Sequence[str], definitions: Mapping[str, str]) -> pd.DataFrame:
    """A shallow copy of ``table`` whose ``attrs["note"]`` ends with ``Definitions: <definition> | ...``."""
    text = "Definitions: " + " | ".join(definitions[f] for f in figures)
    out = table.copy(deep=False)
    out.attrs = dict(table.attrs)
    note = out.attrs.get("note")
    out.attrs["note"] = f"{note}. {text}" if note else text
    return out
