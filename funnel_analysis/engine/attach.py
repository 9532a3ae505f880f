"""Which loaded org carries an engine: :func:`attach` and :func:`engine_of`.

:func:`funnel_analysis.crm.load.load_org` with ``engine="duckdb"`` registers the org's tables in
a DuckDB engine and attaches the :class:`~funnel_analysis.engine.org.EngineOrg` to that very
``CrmData`` object. The handle is kept here, not in ``crm.meta`` (which is written to
``crm.json`` and pickled for workers; a connection is neither): an org made from it (a cut,
``crm.where(...)``, a copy) carries no engine and runs the pandas paths, the reference. Replacing
a table of the org in place also drops the engine (its tables would no longer be the engine's).

Examples
--------
>>> from funnel_analysis.crm.load import load_org
>>> crm = load_org("data/sample", engine="duckdb")  # doctest: +SKIP
>>> engine_of(crm).engine.name  # doctest: +SKIP
'duckdb'
"""

from __future__ import annotations

import weakref

from .base import connect
from .org import EngineOrg

__all__ = ["attach", "attach_engine", "detach", "engine_of"]

# id(crm) -> (EngineOrg, the ids of the org's tables when attached); an entry leaves with its org
_ATTACHED: dict[int, tuple[EngineOrg, tuple]] = {}


def _table_ids(crm) -> tuple:
    return tuple((name, id(df)) for name, df in crm.tables.items())


def attach(crm, *, org: EngineOrg) -> None:
    """Attach an engine's copy of the org to ``crm`` (the analyses then run in the engine).

    Parameters
    ----------
    crm : CrmData
        The org as loaded.
    org : EngineOrg
        The same tables, in an engine.

    Raises
    ------
    TypeError
        When ``org`` is not an :class:`EngineOrg`.

    Examples
    --------
    >>> attach(crm, org=EngineOrg.from_crm(crm, engine=connect("duckdb")))  # doctest: +SKIP
    """
    if not isinstance(org, EngineOrg):
        raise TypeError(f"attach: org must be an EngineOrg, got {type(org).__name__}")
    key = id(crm)
    _ATTACHED[key] = (org, _table_ids(crm))
    weakref.finalize(crm, _ATTACHED.pop, key, None)


def detach(crm) -> None:
    """Run ``crm``'s analyses on pandas again (its engine is left open for its other users).

    Parameters
    ----------
    crm : CrmData
        An org, with or without an engine.

    Examples
    --------
    >>> detach(crm)  # doctest: +SKIP
    """
    _ATTACHED.pop(id(crm), None)


def engine_of(crm) -> EngineOrg | None:
    """The engine attached to this very org, or None (the pandas paths).

    Parameters
    ----------
    crm : CrmData
        An org.

    Returns
    -------
    EngineOrg or None
        None for an org without an engine, a cut or copy of one, or an org whose tables were
        replaced since the engine was attached.

    Examples
    --------
    >>> from funnel_analysis.crm import load_frames
    >>> import pandas as pd
    >>> engine_of(load_frames({"Opportunity": pd.DataFrame({"Id": ["006A"], "StageName": ["Prospecting"]})})) is None
    True
    """
    got = _ATTACHED.get(id(crm))
    if got is None or got[1] != _table_ids(crm):
        return None
    return got[0]


def attach_engine(crm, *, engine: str, options: dict | None = None, parquet=None) -> EngineOrg:
    """Register ``crm``'s tables in a new engine and attach it (``load_org(engine=...)`` calls this).

    Parameters
    ----------
    crm : CrmData
        The org as loaded.
    engine : str
        An engine name of :func:`funnel_analysis.engine.connect`.
    options : dict, optional
        Its options (``memory_limit``, ``temp_directory``, ``threads``).
    parquet : Path, optional
        The Parquet cache ``crm`` was read from: its files are read in place instead (already
        checked against their checksums when ``crm`` was read).

    Returns
    -------
    EngineOrg
        The org in the engine, attached to ``crm``.

    Raises
    ------
    EngineError
        For an unknown engine or one not installed here.

    Examples
    --------
    >>> org = attach_engine(crm, engine="duckdb", options={"threads": 2})  # doctest: +SKIP
    """
    eng = connect(engine, **(options or {}))
    org = (
        EngineOrg.from_parquet(parquet, eng, check=False)
        if parquet is not None
        else EngineOrg.from_crm(crm, engine=eng)
    )
    attach(crm, org=org)
    return org
