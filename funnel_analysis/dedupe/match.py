"""The matching model: a splink (Fellegi-Sunter) model on the normalised features, trained without labels.

Comparisons are built from the feature columns present (:mod:`.normalize`): an e-mail, a whole
person name (exact, swapped, nickname, initial, typo), phone, company (key, words, acronym, typo),
web domain, address parts, birth date and national ID. Training uses no labels: the prior from
high-precision deterministic rules, *u* from random pairs (a level no random pair reaches gets the
rule-of-three bound, 3 in the pairs drawn), *m* by expectation maximisation on two
blocking rules that leave each other's comparisons free. Prediction scores the pairs of the
explicit blocking rules of :mod:`.blocking`, on DuckDB by default or on Spark (:func:`splink_api`).

Every scored pair carries its reasons: each comparison's level and match weight, strongest first.

Examples
--------
>>> import pandas as pd
>>> from funnel_analysis.dedupe import person_features
>>> people = pd.DataFrame({"lead_id": [f"L{i}" for i in range(6)],
...     "first_name": ["Ann", "Ann", "Bob", "Robert", "Cy", "Di"],
...     "last_name": ["Lee", "Lee", "Stone", "Stone", "Vance", "Wu"],
...     "email": ["ann@lee.io", "ANN@lee.io", "bob@s.io", "bob@s.io", "cy@v.io", "di@w.io"]})
>>> pairs = predict_pairs(person_features(people), threshold=0.0)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..engine.base import quote_identifier
from . import _splink
from .blocking import _no_progress_bar, rules_for, splink_rules
from .normalize import load_dedupe_config

if TYPE_CHECKING:
    from splink import DuckDBAPI, SparkAPI

__all__ = [
    "duckdb_api",
    "spark_api",
    "splink_api",
    "TrainedModel",
    "person_comparisons",
    "company_comparisons",
    "train_model",
    "model_settings",
    "scoring_model",
    "fits",
    "predict_pairs",
    "reasons_text",
]


@dataclass(frozen=True)
class TrainedModel:
    """A matching model trained by :func:`train_model`.

    Attributes
    ----------
    linker : splink.Linker
        The trained splink model (its public API: ``linker.inference``, ``linker.visualisations``...).
    rules : tuple of str
        The blocking rules the scored pairs come from (:func:`.blocking.rules_for`).
    untrained : tuple of tuple of str
        The EM groups that could not train (no pairs in any of their blocks); their comparisons keep
        splink's default *m* values.
    ids : tuple of Series
        Per input frame of the linker (the features, then ``other``), its records' IDs by position:
        the linker scores on row numbers (:func:`_keyed_linker`), which these map back. Empty when the
        linker holds the IDs themselves.
    """

    linker: object
    rules: tuple[str, ...]
    untrained: tuple[tuple[str, ...], ...] = ()
    ids: tuple = ()


def duckdb_api(
    *, memory_limit: str | None = None, threads: int | None = None, temp_directory: str | None = None
) -> DuckDBAPI:
    """splink's DuckDB API on a connection of its own, within an explicit memory limit, spilling to disk.

    Parameters
    ----------
    memory_limit : str, optional
        DuckDB's ``memory_limit`` (default ``scale.memory_limit`` of ``dedupe.yaml``, 2GB).
    threads : int, optional
        DuckDB's threads (default ``scale.threads``, 2).
    temp_directory : str, optional
        Where DuckDB spills (default ``funnel-dedupe-<pid>`` in the system's temporary folder, made
        by DuckDB only when it spills).

    Returns
    -------
    splink.DuckDBAPI
        For :func:`train_model` (``db_api=``).

    Raises
    ------
    duckdb.Error
        When DuckDB rejects a setting (a memory limit it cannot read).

    >>> api = duckdb_api(memory_limit="1GB", threads=1)
    >>> api._con.execute("SELECT current_setting('threads')").fetchone()[0]   # doctest: +SKIP
    1
    """
    import os
    import tempfile

    import duckdb
    from splink import DuckDBAPI

    scale = load_dedupe_config().get("scale") or {}
    config = {
        "memory_limit": str(memory_limit or scale.get("memory_limit", "2GB")),
        "threads": int(threads or scale.get("threads", 2)),
        "temp_directory": temp_directory or os.path.join(tempfile.gettempdir(), f"funnel-dedupe-{os.getpid()}"),
        "preserve_insertion_order": False,
    }
    con = duckdb.connect(config=config)
    _no_progress_bar(con)
    return DuckDBAPI(connection=con)


def spark_api(session=None, *, temp_directory: str | None = None, threads: int | None = None) -> SparkAPI:
    """splink's Spark API on a session, with the string-similarity functions its comparisons use.

    Spark has no Jaro-Winkler or Damerau-Levenshtein function of its own: splink ships them as Scala
    UDFs in a jar inside its package (``scala-udf-similarity-0.2.1_spark4.x.jar`` for Spark 4). The jar
    is added to the running session (``ADD JAR``) and its functions registered, so a session started
    without it (the product's, :class:`funnel_analysis.engine.spark.SparkEngine`) serves as it is.
    splink breaks the lineage of its intermediate tables by writing them as Parquet into the
    session's checkpoint folder; a session without one gets ``funnel-dedupe-spark-*`` in
    ``temp_directory`` (default: the system's temporary folder).

    Parameters
    ----------
    session : pyspark.sql.SparkSession, optional
        The session to run on; default the session :class:`funnel_analysis.engine.spark.SparkEngine`
        starts or finds (``local[threads]``, UTC, a 1g ``spark.driver.maxResultSize`` when it starts one).
    temp_directory : str, optional
        Where the checkpoint folder goes (and Spark's scratch, when the session is started here).
    threads : int, optional
        Cores of a local session started here (default 2).

    Returns
    -------
    splink.SparkAPI
        For :func:`train_model` (``db_api=``); the comparisons are written in Spark's SQL.

    Raises
    ------
    ValueError
        When pyspark is missing, no session can start, or the similarity functions cannot be registered.

    >>> api = spark_api(threads=1)                                    # doctest: +SKIP
    >>> api.spark.sql("SELECT jaro_winkler('martha', 'marhta') AS jw").first().jw  # doctest: +SKIP
    0.9611111111111111
    """
    import tempfile

    try:
        from splink.backends.spark import SparkAPI, similarity_jar_location
    except ImportError as exc:
        raise ValueError(
            f"de-duplication on Spark needs pyspark: pip install 'funnel-analysis[spark]' ({exc})"
        ) from None
    if session is None:
        from ..engine import connect

        eng = connect("spark", threads=threads or 2, temp_directory=temp_directory, max_result_size="1g")
        session = eng.spark
        eng.close()  # its views and folder only: the session stays (it is Spark's one session of the process)
    jar = similarity_jar_location()
    if not os.path.exists(jar):
        raise ValueError(f"de-duplication on Spark: splink's similarity jar is missing ({jar})")
    context = session.sparkContext
    if context.getCheckpointDir() is None:
        context.setCheckpointDir(tempfile.mkdtemp(prefix="funnel-dedupe-spark-", dir=temp_directory))
    session.sql(f"ADD JAR '{jar}'")
    with _quiet():
        api = SparkAPI(spark_session=session, break_lineage_method="parquet")
    try:
        session.sql("SELECT jaro_winkler('a', 'b'), damerau_levenshtein('ab', 'ba')").collect()
    except Exception as exc:  # splink only warns when the jar does not load: say it once, plainly
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"de-duplication on Spark: splink's similarity functions did not load ({first})") from None
    return api


def _check_engine(engine) -> None:
    """An engine name :func:`splink_api` knows (an engine object is checked when it is used)."""
    if isinstance(engine, str) and engine not in ("duckdb", "pandas", "spark"):
        raise ValueError(f"de-duplication: unknown engine {engine!r}; expected duckdb, spark or pandas")


def splink_api(engine="duckdb") -> DuckDBAPI | SparkAPI:
    """splink's database API for an engine: where a de-duplication computes.

    Parameters
    ----------
    engine : {"duckdb", "pandas", "spark"}, Engine or SparkSession
        ``"duckdb"`` (and ``"pandas"``, an org loaded by the pandas loader: splink's DuckDB backend on
        its frames): :func:`duckdb_api`; ``"spark"``: :func:`spark_api` on the product's session; an
        engine of :mod:`funnel_analysis.engine` (its connection or session is shared) or a
        ``pyspark.sql.SparkSession``.

    Returns
    -------
    splink.DuckDBAPI or splink.SparkAPI
        For :func:`train_model` (``db_api=``).

    Raises
    ------
    ValueError
        An unknown engine name, or one that cannot run here (:func:`spark_api`).

    >>> type(splink_api("pandas")).__name__
    'DuckDBAPI'
    """
    _check_engine(engine)
    if isinstance(engine, str):
        return spark_api() if engine == "spark" else duckdb_api()
    name = getattr(engine, "name", None)
    if name == "duckdb" and hasattr(engine, "con"):
        from splink import DuckDBAPI

        _no_progress_bar(engine.con)
        return DuckDBAPI(connection=engine.con)
    if name == "spark" and hasattr(engine, "spark"):
        return spark_api(engine.spark)
    if hasattr(engine, "sparkContext") and hasattr(engine, "sql"):  # a SparkSession
        return spark_api(engine)
    raise ValueError(f"de-duplication: cannot run on {type(engine).__name__}; expected duckdb, spark or pandas")


@contextlib.contextmanager
def _backend(engine="duckdb"):
    """The splink database API of one de-duplication on ``engine``, and afterwards its data let go.

    On DuckDB a connection of its own (:func:`duckdb_api`, :func:`train_model`'s default), closed at
    the end: splink's linker holds it in reference cycles, so it used to outlive the call until the
    garbage collector ran, with the features and every table splink made (2.6 GiB after the link of
    a million leads to their contacts). On Spark the temporary views and checkpoint files splink made
    during it are removed (the scored pairs are pandas by then; other users of the session keep theirs).
    """
    if isinstance(engine, str) and engine in ("duckdb", "pandas"):
        db = duckdb_api()
        try:
            yield db
        finally:
            db.duckdb_con.close()
        return
    db = splink_api(engine)
    spark = getattr(db, "spark", None)
    if spark is None:
        yield db
        return
    folder = _local_path(spark.sparkContext.getCheckpointDir())
    files_before = set(os.listdir(folder)) if folder and os.path.isdir(folder) else set()
    views_before = {t.name for t in spark.catalog.listTables() if t.isTemporary}
    try:
        yield db
    finally:
        for t in spark.catalog.listTables():
            if t.isTemporary and t.name.startswith("__splink__") and t.name not in views_before:
                spark.catalog.dropTempView(t.name)
        if folder and os.path.isdir(folder):
            for name in set(os.listdir(folder)) - files_before:
                if name.startswith("__splink__"):
                    shutil.rmtree(os.path.join(folder, name), ignore_errors=True)


def _local_path(uri: str | None) -> str | None:
    """A checkpoint folder's path on this machine (``file:/tmp/x`` -> ``/tmp/x``); None for another file system."""
    if not uri:
        return None
    if uri.startswith("file:"):
        return "/" + uri[len("file:") :].lstrip("/")
    return uri if "://" not in uri else None


def _arrow(frame: pd.DataFrame):
    """The frame as an Arrow table for the database (missing values null): DuckDB scans Arrow's strings in
    place, where a frame of Python strings cost a million-lead org gigabytes of objects."""
    import pyarrow as pa

    return pa.Table.from_pandas(frame, preserve_index=False)


def _present(f: pd.DataFrame, *cols) -> bool:
    return all(c in f.columns and f[c].notna().any() for c in cols)


#: The Jaro-Winkler similarity in each backend's SQL: DuckDB's own function; on Spark the UDF that
#: :func:`spark_api` registers from the jar shipped inside splink (Spark has no native one).
_JARO_WINKLER = {"duckdb": "jaro_winkler_similarity", "spark": "jaro_winkler"}


def _jw(col, t, engine="duckdb"):
    return f"{_JARO_WINKLER[engine]}({col}_l, {col}_r) >= {t}"


def _dialect(engine: str) -> str:
    if engine not in _JARO_WINKLER:
        raise ValueError(f"comparisons: engine {engine!r} is not one of {', '.join(_JARO_WINKLER)}")
    return engine


def _one_edit(col, engine="duckdb"):
    """SQL: ``col`` of the two records is at most one edit apart (Damerau-Levenshtein <= 1).

    On DuckDB, the distance is computed only for the pairs that can be one edit apart: lengths at most
    one apart, and the first half (``h`` = half the shorter length ``n``) or the last ``n - h - 1``
    characters the same. One substitution, insertion, deletion or swap of neighbours at position ``i``
    leaves the ``i`` characters before it and the ``n - i - 2`` or more after it untouched, so one of
    the two parts is untouched wherever ``i`` lies. Most candidate pairs have unrelated phones, and the
    distance was most of the scoring: at a million leads, 37 s of the link's 14.7M pairs against
    3.7 s with the test first, the same level for every pair (#21).
    """
    distance = f"damerau_levenshtein({col}_l, {col}_r) <= 1"
    if engine != "duckdb":
        return distance
    n = f"least(length({col}_l), length({col}_r))"
    h = f"({n} // 2)"
    tail = f"({n} - {h} - 1)"
    maybe = (
        f"abs(length({col}_l) - length({col}_r)) <= 1 AND "
        f"(left({col}_l, {h}) = left({col}_r, {h}) OR right({col}_l, {tail}) = right({col}_r, {tail}))"
    )
    # a CASE, not an AND: DuckDB computes both sides of an AND for every row of a vector
    return f"CASE WHEN {maybe} THEN {distance} ELSE false END"


def _simple(col, label, *, jw=(0.92, 0.8), numeric=False, engine="duckdb"):
    """Exact / close / else levels of one text column."""
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    levels = [cll.NullLevel(col), cll.ExactMatchLevel(col)]
    if numeric:
        levels.append(cll.CustomLevel(_one_edit(col, engine), "one edit"))
    else:
        levels += [cll.CustomLevel(_jw(col, t, engine), f"similar (jw >= {t})") for t in jw]
    return CustomComparison(levels + [cll.ElseLevel()], output_column_name=label)


def person_comparisons(features: pd.DataFrame, *, engine: str = "duckdb") -> list:
    """splink comparisons for people, from the feature columns present.

    Parameters
    ----------
    features : DataFrame
        Person features (:func:`.normalize.person_features`).
    engine : {"duckdb", "spark"}
        The SQL the levels are written in: the same levels, with each backend's Jaro-Winkler function.

    Returns
    -------
    list of splink comparison
        One ``CustomComparison`` per usable field: name, e-mail, phone, company, address parts.

    Raises
    ------
    ValueError
        When the features have no first and last name keys, or ``engine`` is unknown.

    >>> [c.create_output_column_name() for c in person_comparisons(pd.DataFrame(
    ...     {"first_key": ["a"], "first_raw": ["a"], "last_key": ["b"], "email": ["a@b.io"]}))]
    ['name', 'email']
    """
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    if not {"first_key", "last_key", "first_raw"} <= set(features.columns):
        raise ValueError("person_comparisons: features need first_key, first_raw and last_key")
    engine = _dialect(engine)
    name = CustomComparison(
        [
            cll.CustomLevel(
                "first_key_l IS NULL AND last_key_l IS NULL OR first_key_r IS NULL AND last_key_r IS NULL", "null"
            ).configure(is_null_level=True),
            cll.CustomLevel("first_raw_l = first_raw_r AND last_key_l = last_key_r", "same names"),
            cll.CustomLevel("first_key_l = first_key_r AND last_key_l = last_key_r", "nickname, same last name"),
            cll.CustomLevel("first_key_l = last_key_r AND last_key_l = first_key_r", "names swapped"),
            cll.CustomLevel(f"last_key_l = last_key_r AND ({_jw('first_raw', 0.9, engine)})", "first name typo"),
            cll.CustomLevel(f"first_key_l = first_key_r AND ({_jw('last_key', 0.88, engine)})", "last name typo"),
            cll.CustomLevel(
                "last_key_l = last_key_r AND (length(first_raw_l) = 1 OR length(first_raw_r) = 1) "
                "AND substr(first_raw_l, 1, 1) = substr(first_raw_r, 1, 1)",
                "initial, same last name",
            ),
            cll.CustomLevel(
                f"({_jw('first_raw', 0.85, engine)}) AND ({_jw('last_key', 0.85, engine)})", "both names similar"
            ),
            # "same last name, other first name" is left in the else level: at one company that is a
            # colleague or a relative, and EM on a small org can mistake it for evidence of a match
            cll.ElseLevel(),
        ],
        output_column_name="name",
    )
    out = [name]
    if _present(features, "email"):
        out.append(
            CustomComparison(
                [cll.NullLevel("email"), cll.ExactMatchLevel("email"), cll.ElseLevel()], output_column_name="email"
            )
        )
    if _present(features, "phone"):
        out.append(_simple("phone", "phone", numeric=True, engine=engine))
    if _present(features, "company_key"):
        # the e-mail's domain names the company too: one comparison, so it is not counted twice
        out.append(
            _company_levels(domain="email_domain" if _present(features, "email_domain") else None, engine=engine)
        )
    for col, kw in (
        ("street", {}),
        ("city", {}),
        ("postal_code", {"numeric": True}),
        ("state", {"jw": ()}),
        ("birth_date", {"numeric": True}),
        ("national_id", {"numeric": True}),
        ("country", {"jw": ()}),
    ):
        if _present(features, col):
            out.append(_simple(col, col, **kw, engine=engine))
    return out


def _company_levels(domain: str | None = None, engine: str = "duckdb"):
    import splink.comparison_level_library as cll
    from splink.comparison_library import CustomComparison

    null = "company_key_l IS NULL OR company_key_r IS NULL"
    if domain:
        null = f"({null}) AND ({domain}_l IS NULL OR {domain}_r IS NULL)"
    levels = [
        cll.CustomLevel(null, "null").configure(is_null_level=True),
        cll.CustomLevel(
            "company_key_l = company_key_r" + (f" AND {domain}_l = {domain}_r" if domain else ""),
            "same name" + (" and domain" if domain else ""),
        ),
    ]
    if domain:
        levels.append(cll.CustomLevel(f"{domain}_l = {domain}_r", "same domain"))
    return CustomComparison(
        levels
        + [
            cll.CustomLevel("company_key_l = company_key_r OR company_tokens_l = company_tokens_r", "same name"),
            cll.CustomLevel("company_core_l = company_core_r", "same distinctive words"),
            cll.CustomLevel(_jw("company_core", 0.92, engine), "distinctive words similar (jw >= 0.92)"),
            cll.CustomLevel(
                "company_acronym_l = replace(company_key_r, ' ', '') "
                "OR company_acronym_r = replace(company_key_l, ' ', '')",
                "acronym",
            ),
            cll.CustomLevel(
                "contains(company_key_l, company_key_r) OR contains(company_key_r, company_key_l)",
                "one name inside the other",
            ),
            cll.CustomLevel(_jw("company_key", 0.8, engine), "similar (jw >= 0.8)"),
            cll.ElseLevel(),
        ],
        output_column_name="company",
    )


def company_comparisons(features: pd.DataFrame, *, engine: str = "duckdb") -> list:
    """splink comparisons for companies (accounts), from the feature columns present.

    Parameters
    ----------
    features : DataFrame
        Company features (:func:`.normalize.company_features`).
    engine : {"duckdb", "spark"}
        The SQL the levels are written in (:func:`person_comparisons`).

    Returns
    -------
    list of splink comparison
        The company name (with the web domain), phone, street (the billing street), city and
        country comparisons present.

    Raises
    ------
    ValueError
        When the features have no ``company_key``, or ``engine`` is unknown.

    >>> [c.create_output_column_name() for c in company_comparisons(pd.DataFrame(
    ...     {"company_key": ["acme"], "city": ["rome"]}), engine="spark")]
    ['company', 'city']
    """
    if "company_key" not in features.columns:
        raise ValueError("company_comparisons: features need company_key")
    engine = _dialect(engine)
    out = [_company_levels(domain="domain" if _present(features, "domain") else None, engine=engine)]
    for col, kw in (
        ("phone", {"numeric": True}),
        ("street", {"jw": (0.92,)}),
        ("city", {"jw": (0.9,)}),
        ("country", {"jw": ()}),
    ):
        if _present(features, col):
            out.append(_simple(col, col, **kw, engine=engine))
    return out


@contextlib.contextmanager
def _quiet():
    """splink logs progress and advice at INFO/WARNING; keep reports and notebooks clean."""
    log = logging.getLogger("splink")
    old, log.level = log.level, logging.ERROR
    try:
        yield
    finally:
        log.setLevel(old)


#: ``dedupe.yaml``'s ``scale`` settings of the random pairs *u* is estimated on, and their defaults.
_U_PAIRS = (("u_pairs_per_record", 25), ("u_pairs_min", 1e5), ("u_pairs_max", 2e6))


def _training_rules(features: pd.DataFrame, company: bool):
    if company:
        det = [r for r in (("domain", "company_key"), ("phone", "company_key")) if _present(features, *r)]
        em = [[r] for r in (("domain",), ("company_key",)) if _present(features, *r)]
        # the name comparison holds the domain: only a block on neither trains it
        em += [[r for r in (("phone",), ("street", "city")) if _present(features, *r)]]
        em = [g for g in em if g]
    else:
        det = [
            r
            for r in (
                ("email", "first_key", "last_key"),
                ("phone", "first_key", "last_key"),
                ("national_id", "birth_date"),
                ("first_key", "last_key", "birth_date", "postal_code"),
            )
            if _present(features, *r)
        ]
        # one group fixes the names and trains the rest; the other fixes the rest and trains the names
        em = [[("first_key", "last_key"), ("name_tokens",)]]
        em.append(
            [
                r
                for r in (("company_key",), ("email",), ("phone",), ("birth_date",), ("postal_code",))
                if _present(features, *r)
            ]
        )
        em = [g for g in em if g]
    return det or [("company_key",) if company else ("first_key", "last_key")], em


def train_model(
    features: pd.DataFrame,
    *,
    rules=None,
    other: pd.DataFrame | None = None,
    max_pairs: float | None = None,
    seed: int = 42,
    recall_of_deterministic: float = 0.7,
    db_api=None,
    train_records: int | None = None,
    em_max_pairs: float | None = None,
) -> TrainedModel:
    """A splink model on ``features``, trained without labels.

    Parameters
    ----------
    features : DataFrame
        From :func:`.normalize.person_features` or :func:`.normalize.company_features`.
    rules : sequence of str, optional
        Blocking rules for prediction (default :func:`.blocking.rules_for`).
    other : DataFrame, optional
        A second set of features: link ``features`` to ``other`` (``link_only``).
    max_pairs : float, optional
        Random pairs drawn to estimate *u*; default ``scale.u_pairs_per_record`` of ``dedupe.yaml`` (25)
        per record, between ``u_pairs_min`` and ``u_pairs_max`` (1e5 and 2e6). The sampling is most of
        the training time (splink compares every pair drawn once per comparison); a level no pair
        reaches gets the rule-of-three bound. On the sample org 25 per record (1e5 accounts, 1.9e5
        contacts, 5.2e5 leads, 7.0e5 lead-contact pairs) found the same clusters as 100 (2e6 pairs for
        the leads), with seeds 42, 1 and 7; before the bound, 9e4 pairs made its accounts' recall 0.84.
    seed : int
        Seed of the random sampling (same seed, same model).
    recall_of_deterministic : float
        Assumed recall of the deterministic rules that estimate the prior.
    db_api : splink database API, optional
        Where splink computes (:func:`splink_api`): by default an in-memory DuckDB within the ``scale``
        settings' ``memory_limit`` (``dedupe.yaml``), spilling to a temporary folder; a ``SparkAPI`` of
        :func:`spark_api` runs the same model on Spark (the comparisons written in Spark's SQL;
        ``tests/dedupe/test_spark_backend.py`` holds it to DuckDB's clusters).
    train_records : int, optional
        Train on at most this many records of each side, drawn at random with ``seed`` (default
        ``scale.train_records`` of ``dedupe.yaml``); the prior, *u* and *m* are rates, which a sample
        estimates, and EM's blocks shrink with the square of the share. The model then scores all records.
    em_max_pairs : float, optional
        Each EM block trains on about this many of its pairs at most (splink's ``max_pairs``: records
        drawn by a hash on either side, so the share of matches in the block is kept); default
        ``scale.em_max_pairs`` of ``dedupe.yaml``, 1e6. A block of fewer pairs trains on all of them.

    Returns
    -------
    TrainedModel
        The splink linker, the blocking rules and the EM groups left untrained.

    Raises
    ------
    ValueError
        When ``unique_id`` is missing or repeated, or no blocking rule can be used.
    """
    from splink import Linker, SettingsCreator, block_on

    em_error = _splink.em_training_error()

    for f in (features,) if other is None else (features, other):
        if "unique_id" not in f.columns or f["unique_id"].duplicated().any():
            raise ValueError("train_model: features need a unique, present unique_id column")
    company = "company_phonetic" in features.columns
    db = duckdb_api() if db_api is None else db_api
    dialect = db.sql_dialect.sql_dialect_str  # the comparisons in the backend's own SQL
    comps = (company_comparisons if company else person_comparisons)(features, engine=dialect)
    used = sorted({c for c in features.columns if c != "unique_id"})
    rules = rules_for(features, rules)
    settings = SettingsCreator(
        link_type="dedupe_only" if other is None else "link_only",
        comparisons=comps,
        blocking_rules_to_generate_predictions=splink_rules(rules),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,  # splink keeps gamma_ (the levels) only with the matching columns
    )
    scale = load_dedupe_config().get("scale") or {}
    limit = int(scale.get("train_records", 200_000) if train_records is None else train_records)
    em_max_pairs = float(scale.get("em_max_pairs", 1e6) if em_max_pairs is None else em_max_pairs)
    full = [features[["unique_id", *used]]] + ([] if other is None else [other[["unique_id", *used]]])
    full = [f.astype({c: "str" for c in used}) for f in full]
    frames = [f.sample(n=limit, random_state=seed) if len(f) > limit else f for f in full]
    sampled = any(len(f) < len(g) for f, g in zip(frames, full))
    sdfs = [db.register(_arrow(f)) for f in frames]
    features = frames[0] if sampled else features
    other = None if other is None else frames[1] if sampled else other
    with _quiet():
        linker = Linker(sdfs[0] if other is None else sdfs, settings, log_level=None)
        det, em = _training_rules(features, company)
        linker.training.estimate_probability_two_random_records_match(
            [block_on(*r) for r in det], recall=recall_of_deterministic
        )
        n_l = len(features)
        n_pairs = n_l * (n_l - 1) / 2 if other is None else n_l * len(other)
        if not _splink.prior(linker) > 0:
            # no sure match at all (an org without exact repeats): assume one, not none, so that
            # strong evidence can still make a match
            _splink.set_prior(linker, 1.0 / max(n_pairs, 1.0))
        if max_pairs is None:
            per, low, high = (float(scale.get(k, d)) for k, d in _U_PAIRS)
            max_pairs = float(np.clip(per * (len(features) + (0 if other is None else len(other))), low, high))
        # one pass over all max_pairs (num_chunks=1): splink 5's default probes, then splits the pairs into
        # ten chunks and stops early once every level has 100 pairs; on a CRM a level as rare as "same
        # name and same domain" never gets there, so each comparison ran 11 small queries, whose fixed
        # cost was most of the training (the pairs are few: at most 2e6). The estimates are those of the
        # full sample, as before whenever no early stop happened.
        # a level no random pair reached (the same name and domain, among thousands of accounts) is
        # rarer among non-matches than 3 in the pairs drawn (the rule of three, 95 %): that bound, not
        # splink's fixed default, which left the best evidence at +10 and the accounts of an org
        # without a country column below the merge threshold (recall 0.74 against 0.98 with it)
        bound = 3.0 / max(min(max_pairs, n_pairs), 3.0)
        if dialect == "duckdb":
            linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed, num_chunks=1)
            _splink.bound_unobserved_u(linker, bound)
            base = linker.misc.save_model_to_json()  # prior and u, before EM
        else:
            # splink draws u's random records by the backend's hash function, and Spark's is not DuckDB's:
            # the same seed drew other records there (at scale 0.1 match weights up to 9.4 apart, one
            # cluster more). u is estimated on DuckDB, on the same training records, as on the DuckDB
            # backend (a bounded job: at most max_pairs pairs of at most train_records records); the
            # prior, EM and the scoring run on this backend
            base = _with_duckdb_u(
                linker.misc.save_model_to_json(),
                frames,
                link_type="dedupe_only" if other is None else "link_only",
                comparisons=(company_comparisons if company else person_comparisons)(features, engine="duckdb"),
                max_pairs=max_pairs,
                seed=seed,
                bound=bound,
            )
        choice = [0] * len(em)
        while True:
            # EM can drive a level nobody in its block reaches to m ~ 0, which splink rejects, and
            # a failed session leaves the model without the comparisons it had set aside: start again
            # from the saved prior and u with the group's next rule. A block with no pairs at all (an
            # org without exact repeats) cannot train: the group's next rule, or none (splink's
            # default m values stay, and ``TrainedModel.untrained`` says which group)
            # validate_settings=False: the settings are the first linker's, already checked against these
            # frames (the check parses every comparison's SQL again: a tenth of the training on the sample)
            linker = Linker(
                sdfs[0] if other is None else sdfs, copy.deepcopy(base), log_level=None, validate_settings=False
            )
            failed, untrained = None, []
            for g, group in enumerate(em):
                if choice[g] >= len(group):
                    untrained.append(group)
                    continue
                try:
                    # a bounded block: of 200k leads drawn the names' block holds 2.4M pairs (1.8M against
                    # 78k contacts), more with more contacts; a share of them gives the same rates
                    linker.training.estimate_parameters_using_expectation_maximisation(
                        block_on(*group[choice[g]]), max_pairs=em_max_pairs
                    )
                except em_error:
                    failed = g
                    break
                except ValueError as exc:
                    if "below the minimum" not in str(exc):
                        raise
                    failed = g
                    break
            if failed is None:
                break
            choice[failed] += 1
        # the trained model scores every record (not only a sample), keyed by row number
        linker, ids = _keyed_linker(full, linker.misc.save_model_to_json(), db=db)
    return TrainedModel(linker=linker, rules=tuple(rules), untrained=tuple(tuple(g) for g in untrained), ids=ids)


def _keyed_linker(frames: list[pd.DataFrame], settings, *, db) -> tuple[object, tuple]:
    """A linker of ``settings`` that scores ``frames`` keyed by row number, and each frame's IDs by row.

    Scoring joins every candidate pair to both of its records by key, and keeps the pairs' keys in a
    table: on 64-bit integers rather than 18-character IDs (prefixed, when linking two frames, with
    the frame's name: short names keep the key within the 12 bytes DuckDB stores inline). The
    frames are named ``a`` and ``b`` in order, so that splink puts the first frame's record on the
    left of each pair, as with its own names.
    """
    from splink import Linker

    sdfs, ids = [], []
    for name, frame in zip("ab", frames):
        ids.append(frame["unique_id"].reset_index(drop=True))
        keyed = frame.assign(unique_id=np.arange(len(frame), dtype="int64"))
        # a fresh table name (given only the display name, splink names the table after it, once per
        # database) that sorts as the display name does: splink takes the left side of a link from the
        # table whose name sorts first, and orders each pair by its records' display names
        table = f"__funnel_input_{name}_{uuid.uuid4().hex[:12]}"
        sdfs.append(db.register(_arrow(keyed), table_name=table, dataset_display_name=name))
    with _quiet():
        linker = Linker(sdfs[0] if len(sdfs) == 1 else sdfs, settings, log_level=None, validate_settings=False)
    return linker, tuple(ids)


def model_settings(model: TrainedModel) -> Mapping:
    """A trained model as splink's JSON settings (its prior, *m* and *u*), without the linker's random name.

    Parameters
    ----------
    model : TrainedModel
        From :func:`train_model` or :func:`scoring_model`.

    Returns
    -------
    Mapping
        ``linker.misc.save_model_to_json()`` (a plain dict) without ``linker_uid`` (a name drawn at random for each
        linker), so the same training gives the same settings; :func:`scoring_model` scores with them.
    """
    settings = model.linker.misc.save_model_to_json()
    settings.pop("linker_uid", None)
    return settings


def _comparison_names(features: pd.DataFrame) -> list[str]:
    company = "company_phonetic" in features.columns
    return [c.create_output_column_name() for c in (company_comparisons if company else person_comparisons)(features)]


def scoring_model(
    features: pd.DataFrame, settings, *, rules=None, other: pd.DataFrame | None = None, db_api=None
) -> TrainedModel:
    """A model trained before (:func:`model_settings`), set up to score ``features``: no training.

    The prior, *m* and *u* are the settings' own; the blocking rules are ``rules`` (those of these
    features, :func:`.blocking.bound_rules`), not the ones the settings were trained with.

    Parameters
    ----------
    features : DataFrame
        Normalised features (:mod:`.normalize`) with the columns the model compares.
    settings : Mapping
        splink's JSON settings of a trained model (:func:`model_settings`, ``DedupeResult.model``).
    rules : sequence of str, optional
        Blocking rules for prediction (default :func:`.blocking.rules_for`).
    other : DataFrame, optional
        A second set of features: the model must be a link model (``link_only``).
    db_api : splink database API, optional
        Where splink scores (:func:`train_model`); the settings must be written in its SQL.

    Returns
    -------
    TrainedModel
        The linker on ``features`` (and ``other``), ready for :func:`predict_pairs`.

    Raises
    ------
    ValueError
        When ``unique_id`` is missing or repeated, or the settings do not fit: another link type,
        another SQL dialect, or other comparisons than these features give (:func:`fits`).
    """
    for f in (features,) if other is None else (features, other):
        if "unique_id" not in f.columns or f["unique_id"].duplicated().any():
            raise ValueError("scoring_model: features need a unique, present unique_id column")
    db = duckdb_api() if db_api is None else db_api
    dialect = db.sql_dialect.sql_dialect_str
    link_type = "dedupe_only" if other is None else "link_only"
    if settings.get("link_type") != link_type or settings.get("sql_dialect", dialect) != dialect:
        raise ValueError(
            f"scoring_model: a {settings.get('link_type')} model in {settings.get('sql_dialect')} SQL "
            f"cannot score {link_type} on {dialect}"
        )
    if not fits(features, settings):
        raise ValueError(
            f"scoring_model: the model compares {[c['output_column_name'] for c in settings['comparisons']]}, "
            f"these features give {_comparison_names(features)}"
        )
    return _settings_linker(features, settings, rules=rules_for(features, rules), other=other, db=db)


def _settings_linker(
    features: pd.DataFrame, settings, *, rules, db, other: pd.DataFrame | None = None, touching: str | None = None
) -> TrainedModel:
    """The linker of ``settings`` on ``features`` (and ``other``), blocking with ``rules``: no check of the
    settings against the features (:func:`scoring_model` checks them).

    ``touching``, a column of ``features`` holding ``"1"`` or ``"0"``: every rule blocks only the pairs
    in which at least one record has ``"1"`` there (the condition is part of the rule's join in the
    database, so the other pairs are neither scored nor counted).
    """

    dialect = db.sql_dialect.sql_dialect_str
    only = "" if touching is None else f" AND (l.{touching} = '1' OR r.{touching} = '1')"
    settings = copy.deepcopy(dict(settings))
    settings["blocking_rules_to_generate_predictions"] = [
        {
            "blocking_rule": "("
            + (r if isinstance(r, str) else r.get_blocking_rule(dialect).blocking_rule_sql)
            + ")"
            + only,
            "sql_dialect": dialect,
        }
        for r in splink_rules(rules)
    ]
    used = sorted({c for c in features.columns if c != "unique_id"})
    frames = [features[["unique_id", *used]]] + ([] if other is None else [other[["unique_id", *used]]])
    linker, ids = _keyed_linker([f.astype({c: "str" for c in used}) for f in frames], settings, db=db)
    return TrainedModel(linker=linker, rules=tuple(rules), ids=ids)


def fits(features: pd.DataFrame, settings) -> bool:
    """Whether a trained model's settings compare what ``features`` give (the same comparisons, in order).

    Parameters
    ----------
    features : DataFrame
        Normalised features (:mod:`.normalize`).
    settings : Mapping
        splink's JSON settings of a trained model (:func:`model_settings`).

    Returns
    -------
    bool
        True when :func:`person_comparisons` (or :func:`company_comparisons`) of ``features`` names the
        settings' comparisons: a model trained on records that had a field these lack (or lacked one
        these have) does not fit.

    >>> f = pd.DataFrame({"unique_id": ["a"], "first_key": ["a"], "first_raw": ["a"], "last_key": ["b"]})
    >>> fits(f, {"comparisons": [{"output_column_name": "name"}]})
    True
    >>> fits(f.assign(email="a@b.io"), {"comparisons": [{"output_column_name": "name"}]})
    False
    """
    return [c.get("output_column_name") for c in settings.get("comparisons", [])] == _comparison_names(features)


def _with_duckdb_u(model: dict, frames: list, *, link_type, comparisons, max_pairs, seed, bound) -> dict:
    """``model`` (splink's JSON) with each level's *u* as the DuckDB backend estimates it on ``frames``.

    The comparisons are matched by position (the same comparisons and levels, written for another
    backend); the estimate and the rule-of-three bound are those of :func:`train_model` on DuckDB.
    """
    from splink import Linker, SettingsCreator

    helper = duckdb_api()
    try:
        sdfs = [helper.register(_arrow(f)) for f in frames]
        settings = SettingsCreator(link_type=link_type, comparisons=comparisons)
        ulinker = Linker(sdfs[0] if len(sdfs) == 1 else sdfs, settings, log_level=None)
        ulinker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed, num_chunks=1)
        _splink.bound_unobserved_u(ulinker, bound)
        trained = ulinker.misc.save_model_to_json()
    finally:
        helper.duckdb_con.close()
    out = copy.deepcopy(model)
    for comp, got in zip(out["comparisons"], trained["comparisons"], strict=True):
        if comp["output_column_name"] != got["output_column_name"]:
            raise ValueError(f"u on DuckDB: comparison {got['output_column_name']} where {comp['output_column_name']}")
        for level, lv in zip(comp["comparison_levels"], got["comparison_levels"], strict=True):
            if "u_probability" in lv:
                level["u_probability"] = lv["u_probability"]
    return out


def reasons_text(pairs: pd.DataFrame, comparisons: list[str]) -> pd.Series:
    """One line per pair: each comparison's level and match weight (log2 Bayes factor), strongest first.

    Parameters
    ----------
    pairs : DataFrame
        Scored pairs with ``weight_<comparison>`` and ``level_<comparison>`` columns.
    comparisons : list of str
        The comparisons' output column names.

    Returns
    -------
    Series of str
        ``"<comparison>: <level> (<weight>)"`` joined by ``"; "``, aligned with ``pairs``.

    Reads ``weight_<comparison>`` and ``level_<comparison>`` columns; comparisons with a missing
    value on either side (level ``null``) are left out.

    Raises
    ------
    KeyError
        When a comparison's columns are missing.

    >>> p = pd.DataFrame({"weight_email": [6.1], "level_email": ["exact"], "weight_name": [-2.0],
    ...                   "level_name": ["else"], "weight_phone": [0.0], "level_phone": ["null"]})
    >>> reasons_text(p, ["email", "name", "phone"]).tolist()
    ['email: exact (+6.1); name: else (-2.0)']
    """
    parts = []
    for c in comparisons:
        w, lv = pairs[f"weight_{c}"].astype(float), pairs[f"level_{c}"].astype("str")
        txt = (c + ": " + lv + " (" + w.map(lambda v: f"{v:+.1f}").astype("str") + ")").where(lv != "null", None)
        parts.append((txt.to_numpy(dtype=object), np.abs(w.fillna(0.0)).where(lv != "null", -1.0).to_numpy()))
    if not parts or not len(pairs):
        return pd.Series("", index=pairs.index, dtype="str")
    texts = np.column_stack([p[0] for p in parts])
    order = np.argsort(-np.column_stack([p[1] for p in parts]), axis=1, kind="stable")
    out = ["; ".join(t for t in row[o] if isinstance(t, str)) for row, o in zip(texts, order)]
    return pd.Series(out, index=pairs.index, dtype="str")


def _columns_of(sdf, columns: list[str]) -> pd.DataFrame:
    """Only the columns wanted of a splink result table (not its matching columns), as pandas."""
    spark = getattr(sdf.db_api, "spark", None)
    if spark is not None:  # Spark: only these columns reach the driver (through Arrow)
        cols = ", ".join("`" + c.replace("`", "``") + "`" for c in columns)  # splink's and our own names, quoted
        return spark.sql(f"SELECT {cols} FROM {sdf.physical_name}").toPandas()
    # every splink backend has a duckdb_con (a helper connection): only DuckDB's holds the tables
    con = sdf.db_api.duckdb_con if sdf.db_api.sql_dialect.sql_dialect_str == "duckdb" else None
    if con is None:  # another backend: its own conversion
        return sdf.as_pandas_dataframe()[columns]
    cols = ", ".join(quote_identifier(c) for c in columns)
    return con.execute(f"SELECT {cols} FROM {sdf.physical_name}").df()


def predict_pairs(
    features: pd.DataFrame,
    *,
    model: TrainedModel | None = None,
    other: pd.DataFrame | None = None,
    threshold: float = 0.01,
    rules=None,
    chunk_records: int | None = None,
    **train_options,
) -> pd.DataFrame:
    """Score every candidate pair: match probability, match weight and reasons.

    Parameters
    ----------
    features : DataFrame
        Normalised features (:mod:`.normalize`).
    model : TrainedModel, optional
        A trained model (:func:`train_model`); trained here when missing.
    other : DataFrame, optional
        Link ``features`` to ``other`` instead of de-duplicating.
    threshold : float
        Drop pairs below this probability (they are neither merged nor reviewed).
    rules : sequence of str, optional
        Blocking rules, when the model is trained here.
    chunk_records : int, optional
        Score in chunks of about this many records on one side (splink's chunked prediction; default
        ``scale.chunk_records`` of ``dedupe.yaml``): the same pairs, in bounded memory.
    **train_options
        Further options of :func:`train_model`, when the model is trained here.

    Returns
    -------
    DataFrame
        ``id_l``, ``id_r``, ``match_probability``, ``match_weight``, ``level_<comparison>`` and
        ``weight_<comparison>`` (its match weight, log2 of its Bayes factor) per comparison, ``reasons``;
        sorted by probability, highest first.

    Raises
    ------
    ValueError
        When ``threshold`` is not a probability.
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"predict_pairs: threshold {threshold} is not a probability")
    if model is None:
        model = train_model(features, other=other, rules=rules, **train_options)
    return _predict_counted(features, model=model, other=other, threshold=threshold, chunk_records=chunk_records)[0]


def _predict_counted(
    features: pd.DataFrame,
    *,
    model: TrainedModel,
    other: pd.DataFrame | None,
    threshold: float,
    chunk_records: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """:func:`predict_pairs` of a trained model, and the number of candidate pairs splink blocked and scored."""
    n_records = len(features) + (0 if other is None else len(other))
    per_chunk = chunk_records or int((load_dedupe_config().get("scale") or {}).get("chunk_records", 250_000))
    chunks = max(1, -(-n_records // per_chunk))
    names_ = list(_splink.comparison_levels(model.linker))
    wanted = ["unique_id_l", "unique_id_r", "match_probability", "match_weight"]
    wanted += [f"{p}_{n}" for n in names_ for p in ("gamma", "mw")]
    df, n_blocked = _score_in_chunks(model.linker, chunks=chunks, threshold=threshold, columns=wanted)
    return _pairs_frame(model, df, dedupe=other is None), n_blocked


def _count_rows(sdf) -> int:
    """Rows of a splink table (DuckDB: a count in the database; another backend: its own frame)."""
    spark = getattr(sdf.db_api, "spark", None)
    if spark is not None:
        return int(spark.sql(f"SELECT count(*) FROM {sdf.physical_name}").collect()[0][0])
    con = sdf.db_api.duckdb_con if sdf.db_api.sql_dialect.sql_dialect_str == "duckdb" else None
    if con is None:
        return len(sdf.as_pandas_dataframe())
    return int(con.execute(f"SELECT count(*) FROM {sdf.physical_name}").fetchall()[0][0])


def _score_in_chunks(linker, *, chunks: int, threshold: float, columns: list[str]) -> tuple[pd.DataFrame, int]:
    """splink's chunked prediction, one chunk of the right side at a time: the scored pairs at or above
    ``threshold`` (``columns`` of them) and the number of candidate pairs blocked.

    Each chunk's blocked pairs are materialised by splink (``compute_blocked_pairs_for_predict_chunk``),
    counted there (the candidate pairs: no separate count over the features) and scored from its
    cache by ``predict_chunk``; the chunk's tables are dropped before the next, so the database holds
    one chunk's pairs at a time.
    """
    parts, n_blocked = [], 0
    with _quiet():
        for j in range(1, chunks + 1):
            left, right = (1, 1), (j, chunks)
            blocked = linker.inference.compute_blocked_pairs_for_predict_chunk(left_chunk=left, right_chunk=right)
            try:
                n_blocked += _count_rows(blocked)
                sdf = linker.inference.predict_chunk(
                    left_chunk=left, right_chunk=right, threshold_match_probability=threshold, warning_mode="never"
                )
            finally:
                blocked.drop_table_from_database_and_remove_from_cache()
            parts.append(_columns_of(sdf, columns))
            sdf.drop_table_from_database_and_remove_from_cache()
    df = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return df, n_blocked


def _record_ids(model: TrainedModel, keys: pd.Series, side: int) -> pd.Series:
    """The IDs of the records splink's ``unique_id_l`` (``side`` 0) or ``unique_id_r`` (1) names."""
    if not model.ids:
        return keys.astype("str")
    ids = model.ids[min(side, len(model.ids) - 1)]
    return pd.Series(ids.array.take(keys.to_numpy(dtype="int64")), index=keys.index).astype("str")


def _pairs_frame(model: TrainedModel, df: pd.DataFrame, *, dedupe: bool) -> pd.DataFrame:
    """splink's scored pairs as :func:`predict_pairs` returns them: levels, weights, reasons, sorted."""
    linker = model.linker
    out = pd.DataFrame(
        {
            "id_l": _record_ids(model, df["unique_id_l"], 0),
            "id_r": _record_ids(model, df["unique_id_r"], 1),
            "match_probability": df["match_probability"].astype(float),
            "match_weight": df["match_weight"].astype(float),
        }
    )
    names = []
    for name, labels in _splink.comparison_levels(linker).items():
        gamma = df[f"gamma_{name}"]
        out[f"level_{name}"] = gamma.map(labels).where(gamma != -1, "null").astype("str")
        out[f"weight_{name}"] = df[f"mw_{name}"].astype(float)
        names.append(name)
    if dedupe:  # one orientation for every pair
        swap = out["id_l"] > out["id_r"]
        out.loc[swap, ["id_l", "id_r"]] = out.loc[swap, ["id_r", "id_l"]].to_numpy()
    out["reasons"] = reasons_text(out, names)
    return out.sort_values(["match_probability", "id_l", "id_r"], ascending=[False, True, True], ignore_index=True)
