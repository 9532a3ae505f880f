"""The rule-based points score: the baseline every model is compared with.

Sales teams score leads with points: so many for a demo request, for content
engagement, for fitting the ideal customer profile. The rules live in YAML
(``funnel_analysis/scoring/points_score.yaml``, one profile per kind of org);
:func:`points_score` applies a profile to a feature table. Text comparisons
ignore case; a missing value meets no rule; a rule whose column is absent is
skipped and listed in the result's ``attrs["skipped_rules"]``.

Examples
--------
>>> import pandas as pd
>>> rules = [{"name": "referral", "column": "lead_source", "op": "in", "value": ["Referral"], "points": 25},
...          {"name": "big", "column": "employees", "op": ">=", "value": 1000, "points": 15}]
>>> X = pd.DataFrame({"lead_source": ["referral", "Web"], "employees": [5000, None]})
>>> points_score(X, rules).tolist()
[40, 0]
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

__all__ = ["load_points_config", "points_score", "OPS"]

#: Comparison operators a rule may use.
OPS = (">=", ">", "<=", "<", "==", "in", "between", "filled")


def load_points_config(path=None, *, profile: str | None = None) -> list[Mapping[str, Any]]:
    """The rules of one profile of a points-score YAML file (default: the shipped one, ``salesforce``).

    Parameters
    ----------
    path : str or Path, optional
        The YAML file; None for the shipped ``funnel_analysis/scoring/points_score.yaml``.
    profile : str, optional
        The profile; None for ``salesforce``.

    Returns
    -------
    list of Mapping
        The rules: name, column, op, value, points.

    Raises
    ------
    ValueError
        For an unknown profile, or a rule without name/column/op/points or with an unknown op,
        naming the file and the rule.
    """
    if path is None:
        text = (resources.files("funnel_analysis.scoring") / "points_score.yaml").read_text(encoding="utf-8")
        where = "funnel_analysis/scoring/points_score.yaml"
    else:
        where = str(path)
        if not Path(path).exists():
            raise ValueError(f"{where}: points-score file does not exist")
        text = Path(path).read_text(encoding="utf-8")
    doc = yaml.safe_load(text) or {}
    profiles = doc.get("profiles") or {}
    name = profile or "salesforce"
    if name not in profiles:
        raise ValueError(f"{where}: no profile {name!r} (expected one of {sorted(profiles)})")
    rules = profiles[name]
    for i, r in enumerate(rules):
        missing = [k for k in ("name", "column", "op", "points") if k not in r]
        if missing:
            raise ValueError(f"{where}: profile {name!r} rule {i + 1}: missing key {missing[0]!r}")
        if r["op"] not in OPS:
            raise ValueError(
                f"{where}: profile {name!r} rule {r['name']!r}: unknown op {r['op']!r} (expected one of {OPS})"
            )
    return rules


def _meets(s: pd.Series, op: str, value) -> np.ndarray:
    if op == "filled":
        return s.notna().to_numpy()
    if op == "in":
        vals = {str(v).casefold() for v in (value if isinstance(value, (list, tuple)) else [value])}
        return s.astype("str").str.casefold().isin(vals).to_numpy() & s.notna().to_numpy()
    num = pd.to_numeric(s, errors="coerce")
    if op == "between":
        lo, hi = value
        return (num.ge(lo) & num.le(hi)).fillna(False).to_numpy(dtype=bool)
    if op == "==" and not isinstance(value, (int, float)):
        return (s.astype("str").str.casefold() == str(value).casefold()).fillna(False).to_numpy(dtype=bool)
    cmp = {">=": num.ge, ">": num.gt, "<=": num.le, "<": num.lt, "==": num.eq}[op]
    return cmp(value).fillna(False).to_numpy(dtype=bool)


def points_score(X: pd.DataFrame, rules: list[Mapping[str, Any]]) -> pd.Series:
    """Total points of each row of ``X`` (index kept); ``attrs["skipped_rules"]`` names rules with no column.

    Parameters
    ----------
    X : DataFrame
        Features (a training table or lead features).
    rules : list of Mapping
        Rules, as :func:`load_points_config` returns them.

    Returns
    -------
    Series
        ``points`` per row (int when every rule's points are whole).

    Raises
    ------
    ValueError
        When ``rules`` is empty or a rule has an unknown op.
    """
    if not rules:
        raise ValueError("no points rules given")
    total = np.zeros(len(X))
    skipped = []
    for r in rules:
        if r.get("op") not in OPS:
            raise ValueError(f"rule {r.get('name')!r}: unknown op {r.get('op')!r} (expected one of {OPS})")
        if r["column"] not in X:
            skipped.append(r["name"])
            continue
        total += np.where(_meets(X[r["column"]], r["op"], r.get("value")), float(r["points"]), 0.0)
    out = pd.Series(total, index=X.index, name="points")
    out = out.astype(int) if all(float(r["points"]).is_integer() for r in rules) else out
    out.attrs["skipped_rules"] = skipped
    return out
