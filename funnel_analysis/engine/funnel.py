"""The snapshot funnel's sums in SQL: :func:`funnel_analysis.funnel.snapshot_funnel`.

The deals are the day's cut (:mod:`.asof`: stage, amount and closed flag on the day), open ones
only unless ``include_closed``; per segment and stage name the engine returns the deals, their
amount and the deals without one: a row per segment and stage, never a row per deal. The stage
rows, their order, the unknown stage and the shares are added in pandas
(:func:`funnel_analysis.funnel.conversion.snapshot_from_sums`).

Examples
--------
>>> from funnel_analysis.engine import EngineOrg, connect
>>> org = EngineOrg.from_crm(crm, engine=connect("duckdb"))  # doctest: +SKIP
>>> snapshot_sums(org, as_of="2024-06-30", by="lead_source")  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from .._util.frames import by_list as _by_list
from .._util.frames import to_day as _to_day
from .asof import materialise_asof
from .base import EngineError
from .base import quote_identifier as _q
from .org import EngineOrg

__all__ = ["snapshot_sums"]


def snapshot_sums(org: EngineOrg, *, as_of, by=None, include_closed: bool = False) -> pd.DataFrame:
    """Per segment and stage of the day's cut: the deals, their amount, the deals without one.

    Parameters
    ----------
    org : EngineOrg
        The org in its engine.
    as_of : date-like
        The day of the cut.
    by : str or list of str, optional
        Opportunity columns that form the segments (values on the day; missing: a segment).
    include_closed : bool, default False
        Count the closed deals too.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``stage_name`` (missing where the cut does not know it), ``count``,
        ``amount`` (0.0 when no amount), ``amount_missing``; sorted by segment and stage.

    Raises
    ------
    ValueError
        An unparseable ``as_of``; :class:`EngineError` (a ``ValueError``) for an org without
        opportunities or a ``by`` column they do not have.

    Examples
    --------
    >>> snapshot_sums(org, as_of="2024-06-30")[["stage_name", "count", "amount"]]  # doctest: +SKIP
    """
    fn = "snapshot_sums"
    keys = _by_list(by)
    day = _to_day(as_of, fn)
    if not org.has("opportunities"):
        raise EngineError(f"{fn}: the org has no opportunities")
    missing = [c for c in keys if c not in org.columns("opportunities")]
    if missing:
        raise EngineError(f"{fn}: the opportunities have no column {', '.join(map(repr, missing))}")
    state = materialise_asof(org, as_of=[day], name="snapshot_state")
    group = ", ".join([*(_q(k) for k in keys), "stage_name"])
    where = "" if include_closed else "WHERE NOT COALESCE(is_closed, FALSE)"
    out = org.engine.df(
        f"""
SELECT {group}, CAST(count(*) AS BIGINT) AS "count",
    COALESCE(sum(CAST(amount AS DOUBLE)), 0.0) AS amount,
    CAST(count(*) FILTER (WHERE amount IS NULL) AS BIGINT) AS amount_missing
FROM {state} {where}
GROUP BY {group}
"""
    )
    out = out.sort_values([*keys, "stage_name"], na_position="last", kind="stable").reset_index(drop=True)
    return out.astype({"count": "int64", "amount": "float64", "amount_missing": "int64"})
