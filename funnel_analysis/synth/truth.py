"""The truth folder: duplicate clusters, true rates by lead source, lead probabilities, ``truth.json``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..crm.schema import TABLES
from .arrowtext import _id_ref
from .currency import _COUNTRY_CURRENCY, _FX, dated_rate, local_money
from .dirty import _DIRTY_SPECS, _EXPECTED, _EXTRA_ROW_KINDS
from .export import _HEADER_OVERRIDES, _header
from .lifecycle import _DELETED, _MERGE_REFS, _MERGED
from .model import (
    _ACTIVITY,
    _AMOUNT,
    _CLOSE_DATE,
    _DUPLICATES,
    _ID_PREFIX,
    _LEAD_SOURCES,
    _LEADS,
    _N_OPEN,
    _PATH,
    _SHARE_CONVERTED_BEFORE_CREATED,
    _SHARE_IMPORTED_DEALS,
    _SHARE_MISSING_AMOUNT,
    _STAGE_DAYS,
    _STAGES,
    GENERATOR_VERSION,
)
from .sim import _Sim
from .vocab import _COUNTRIES, _INDUSTRIES, _LEAD_STATUS, _REGIONS


def _truth_clusters(sim: _Sim) -> pd.DataFrame:
    frames = []
    for c in sim.clusters:
        ids = sim.ids[c["table"]]
        n_orig = len(c["orig"])
        prefix = c["table"] + "-"
        orig_ids = _id_ref(ids, c["orig"]).to_pylist()
        dup_ids = _id_ref(ids, c["dup_index"]).to_pylist()
        cid = [f"{prefix}{i:06d}" for i in range(n_orig)]
        frames.append(
            pd.DataFrame(
                {"table": c["table"], "cluster_id": cid, "record_id": orig_ids, "is_original": True, "variation": ""}
            )
        )
        frames.append(
            pd.DataFrame(
                {
                    "table": c["table"],
                    "cluster_id": [cid[k] for k in c["cluster"]],
                    "record_id": dup_ids,
                    "is_original": False,
                    "variation": c["variation"],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values(
        ["table", "cluster_id", "is_original", "record_id"], ascending=[True, True, False, True], kind="stable"
    )
    out["is_original"] = out["is_original"].map({True: "true", False: "false"})
    return out.reset_index(drop=True)


def _source_rates(sim: _Sim) -> pd.DataFrame:
    L = sim.lead
    rows = []
    for s, (name, share, conv, win, ctype) in enumerate(_LEAD_SOURCES):
        g = L["source"] == s
        mat = g & L["mature"]
        o = sim.opp
        og = (o["source"] == s) & ~o["imported"]
        closed = og & o["is_closed"]
        rows.append(
            dict(
                lead_source=name,
                true_conversion_rate=conv,
                true_win_rate=win,
                lead_share=share,
                campaign_type=ctype or "",
                n_leads=int(g.sum()),
                n_mature_leads=int(mat.sum()),
                n_converted=int((g & L["converted"]).sum()),
                n_converted_mature=int((mat & L["converted"]).sum()),
                n_duplicate_leads=int((sim.lead_dups["source"] == s).sum()),
                n_opportunities=int(og.sum()),
                n_closed=int(closed.sum()),
                n_won=int((og & o["is_won"]).sum()),
                mean_p_convert_mature=float(L["p_convert"][mat].mean()) if mat.any() else float("nan"),
            )
        )
    return pd.DataFrame(rows)


def _lead_probabilities(sim: _Sim) -> pd.DataFrame:
    """One row per simulated lead (duplicates excluded): its Id in Lead.csv and true conversion probability."""
    L = sim.lead
    ids = np.asarray(sim.ids["leads"])[: L["n"]]
    out = pd.DataFrame(
        {
            "lead_id": [i.decode() for i in ids],
            "p_convert": L["p_convert"],
            "lead_source": [_LEAD_SOURCES[s][0] for s in L["source"]],
            "seniority": L["seniority"],
            "mature": np.where(L["mature"], "true", "false"),
            "will_convert": np.where(L["will_convert"], "true", "false"),
            "converted": np.where(L["converted"], "true", "false"),
        }
    )
    if "p_convert_at_creation" in L:  # with routing the draw also depends on the reply speed, known later
        out["p_convert_at_creation"] = L["p_convert_at_creation"]
    return out


def write_lead_probabilities(sim: _Sim, truth_dir) -> None:
    """Write ``lead_probabilities.csv`` into ``truth_dir`` (call after the export, before ``_truth_json``).

    Reads the simulation only: no random draw is made, so the export is unchanged.
    """
    from pathlib import Path

    _lead_probabilities(sim).to_csv(Path(truth_dir) / "lead_probabilities.csv", index=False, lineterminator="\n")
    sim.lead_probabilities_written = True


def _truth_json(sim: _Sim, rows, clean_rows, dirty_df, clusters) -> dict:
    return dict(
        generator="funnel_analysis.synth",
        version=GENERATOR_VERSION,
        seed=sim.seed,
        scale=sim.scale,
        start=sim.start_str,
        years=sim.years,
        window_start=sim.start_str + "T00:00:00.000+0000",
        window_end=sim.end_str + "T00:00:00.000+0000",
        export_time=sim.end_str + "T00:00:00.000+0000",
        mature_leads_created_before=pd.Timestamp(sim.mature_cut, unit="s").strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        truth_files={
            "dirty_rows.csv": (
                "one row per injected defect: table (canonical), file, row (0-based data row), "
                "record_id (the Id written in that row, may be empty), column (canonical), kind, "
                "expected (quarantine | flag | clean), written_value (the cell as written), "
                "clean_value (for expected == clean: the value the cleaner should produce)"
            ),
            "duplicate_clusters.csv": (
                "table, cluster_id, record_id for every record of every injected duplicate "
                "cluster (original included), is_original, variation (how a duplicate "
                "differs from its original)"
            ),
            "source_rates.csv": (
                "per lead source: true_conversion_rate, true_win_rate, and the counts generated "
                "(n_leads excludes duplicate and quarantined rows; *_mature: created before "
                "mature_leads_created_before)"
            ),
        }
        | (
            {
                "lead_probabilities.csv": (
                    "one row per simulated lead (duplicates excluded): lead_id (as written in Lead.csv), p_convert (the "
                    "true probability its Bernoulli conversion draw used), lead_source, seniority (0 C-level .. 4 IC), "
                    "mature, will_convert (the draw), converted (the draw and conversion before window_end)"
                )
            }
            if getattr(sim, "lead_probabilities_written", False)
            else {}
        ),
        rows_written=rows,
        rows_simulated=clean_rows,
        note=(
            "rows_simulated = rows_written minus the extra rows that carry quarantine defects; "
            "removing every dirty_rows.csv row with expected == 'quarantine' gives back the simulated org."
        ),
        dirty_rows=dict(
            by_kind=dirty_df.groupby(["file", "kind"]).size().rename("n").reset_index().to_dict(orient="records"),
            expected_by_kind=_EXPECTED,
            extra_row_kinds=list(_EXTRA_ROW_KINDS),
            specs={
                k: [dict(kind=a, columns=list(b), share_or_count=c) for a, b, c in v] for k, v in _DIRTY_SPECS.items()
            },
            share_missing_amount=_SHARE_MISSING_AMOUNT,
            share_imported_deals=_SHARE_IMPORTED_DEALS,
            share_converted_before_created=_SHARE_CONVERTED_BEFORE_CREATED,
            notes=(
                "missing_amount deals have no Amount in their history either; close_before_created are "
                "historical deals imported early in the window with one history row; converted_before_created "
                "leads keep their conversion (ConvertedDate = their opportunity's CreatedDate) but were "
                "re-created later."
            ),
        ),
        duplicates=dict(
            share=_DUPLICATES["share"],
            p_triple=_DUPLICATES["p_triple"],
            records=clusters.groupby("table").size().to_dict(),
            clusters=clusters.groupby("table")["cluster_id"].nunique().to_dict(),
            notes="duplicate leads are never converted and are not counted in source_rates.csv",
        ),
        lead_sources=[
            dict(name=s[0], share=s[1], true_conversion_rate=s[2], true_win_rate=s[3], campaign_type=s[4])
            for s in _LEAD_SOURCES
        ],
        lead_model={
            **_LEADS,
            "conversion_model": (
                "p = true_conversion_rate[source] * m / mean(m over the leads of the same source and maturity), "
                "m = seniority_multiplier * size_multiplier * industry_multiplier; converted iff a Bernoulli(p) draw "
                "succeeds and conversion (creation + min(lognormal delay, max days)) happens before window_end"
            ),
            "industry_multiplier": {x[0]: x[2] for x in _INDUSTRIES},
            "lead_status": list(_LEAD_STATUS),
        },
        stages=[
            dict(
                stage_name=s[0],
                sort_order=s[1],
                default_probability=s[2],
                is_closed=s[3],
                is_won=s[4],
                forecast_category=s[5],
            )
            for s in _STAGES
        ],
        stage_duration_days={
            **{s[0]: dict(median=d[0], sigma=d[1]) for s, d in zip(_STAGES[:_N_OPEN], _STAGE_DAYS)},
            "pause_before_reopen": dict(median=_STAGE_DAYS[6][0], sigma=_STAGE_DAYS[6][1]),
        },
        transitions=_PATH,
        close_dates=_CLOSE_DATE,
        amounts=_AMOUNT,
        win_model="won ~ Bernoulli(true_win_rate[source]) drawn at creation; imported deals win with p=0.6",
        path_stats=sim.opp["path_stats"],
        activities=_ACTIVITY,
        countries=[dict(name=c[0], iso=c[1], region=c[2], share=c[3]) for c in _COUNTRIES],
        regions=list(_REGIONS),
        id_prefixes=_ID_PREFIX,
        headers_not_equal_to_schema_sf_name={f"{t}.{c}": h for (t, c), h in _HEADER_OVERRIDES.items()}
        | {
            f"{t}.region": _header(t, "region")
            for t in ("accounts", "users")
            if _header(t, "region") != TABLES[t].column("region").sf_name
        },
    )


# ----------------------------------------------------------------------------
# The truth of the options: deleted and merged rows, corporate-currency figures
# ----------------------------------------------------------------------------


def _corporate(sim: _Sim, extras, cur, local, day) -> np.ndarray:
    """Local amounts in USD at the dated rate of ``day`` (rate 1 without the currencies option)."""
    if not extras.currencies:
        return np.asarray(local, float)
    return np.asarray(local, float) / dated_rate(sim, cur, day)


def _quarter(day: np.ndarray) -> np.ndarray:
    return pd.PeriodIndex(pd.to_datetime(np.asarray(day, np.int64), unit="D"), freq="Q").astype(str).to_numpy()


def _bookings_corporate(sim: _Sim, extras) -> pd.DataFrame:
    """Won deals and their bookings in USD per calendar quarter of the close date."""
    O = sim.opp
    won = np.flatnonzero(O["is_won"])
    local = local_money(O["amount"][won], extras.opp_factor[won])
    usd = _corporate(sim, extras, extras.opp_cur[won], local, O["close"][won])
    df = pd.DataFrame({"close_quarter": _quarter(O["close"][won]), "usd": usd, "no_amount": ~np.isfinite(usd)})
    out = df.groupby("close_quarter", sort=True).agg(
        won_deals=("usd", "size"), won_deals_without_amount=("no_amount", "sum"), bookings_usd=("usd", "sum")
    )
    out["bookings_usd"] = out["bookings_usd"].round(2)
    return out.reset_index()


def pipeline_days(sim: _Sim) -> list[str]:
    """The days of ``open_pipeline.csv``: ends of a year and of a quarter, one mid-quarter day, the last day."""
    t0, t1 = pd.Timestamp(sim.start_str), pd.Timestamp(sim.end_str)
    one = pd.Timedelta(days=1)
    days = {
        t0 + pd.DateOffset(years=1) - one,
        t0 + pd.DateOffset(years=1, months=4, days=14),
        t1 - pd.DateOffset(months=3) - one,
        t1 - one,
    }
    return sorted(d.date().isoformat() for d in days if t0 < d < t1)


def _open_pipeline(sim: _Sim, extras) -> pd.DataFrame:
    """Open deals and open pipeline in USD at the end of each of :func:`pipeline_days`.

    A deal's state on a day is its last history row created on or before it; its amount (local)
    is converted at the dated rate of that row's close date.
    """
    H = sim.hist
    order = np.lexsort((H["time"], H["opp"]))
    h_opp, h_time, h_stage = H["opp"][order], H["time"][order], H["stage"][order]
    h_close, h_amount = H["close"][order], H["amount"][order]
    rows = []
    for day in pipeline_days(sim):
        end = (pd.Timestamp(day) + pd.Timedelta(days=1)).value // 10**9
        seen = h_time < end
        o, st, cl, am = h_opp[seen], h_stage[seen], h_close[seen], h_amount[seen]
        last = np.r_[o[1:] != o[:-1], True] if len(o) else np.zeros(0, bool)
        o, st, cl, am = o[last], st[last], cl[last], am[last]
        open_ = st < _N_OPEN
        o, cl, am = o[open_], cl[open_], am[open_]
        local = local_money(am, extras.opp_factor[o])
        usd = _corporate(sim, extras, extras.opp_cur[o], local, cl)
        ok = np.isfinite(usd)
        rows.append(
            dict(
                as_of=day,
                open_deals=int(len(o)),
                open_deals_without_amount=int((~ok).sum()),
                open_pipeline_usd=round(float(usd[ok].sum()), 2),
            )
        )
    return pd.DataFrame(rows)


def write_extras_truth(sim: _Sim, extras, truth_dir, info: dict) -> dict:
    """Write the truth of the deleted/merged/currency/modstamp options; return ``info`` (truth.json) extended.

    Everything comes from the simulation state and the rows the export stage recorded, never
    from the written files.
    """
    from pathlib import Path

    truth_dir = Path(truth_dir)

    def write(df: pd.DataFrame, name: str) -> None:
        df.to_csv(truth_dir / name, index=False, lineterminator="\n")

    files = {}
    if extras.deleted or extras.merged:
        cols = ["table", "file", "row", "record_id", "kind", "master_id", "parent_id"]
        rec = pd.DataFrame(extras.records, columns=cols).sort_values(["file", "row"], kind="stable")
        write(rec.reset_index(drop=True), "deleted_records.csv")
        files["deleted_records.csv"] = (
            "one row per extra IsDeleted row of the export (never a record of the org): table (canonical), file, "
            "row (0-based data row), record_id, kind (deleted: a deleted record; child_of_deleted: a history row, "
            "task, event, campaign member or contact of a deleted record, parent_id its Id; merged: merged away by "
            "Salesforce, master_id its MasterRecordId as written)"
        )
    if extras.merged:
        cols = [
            "object",
            "merged_id",
            "master_id",
            "master_record_id",
            "merges_to_master",
            "variation",
            "kept_references",
        ]
        write(pd.DataFrame(extras.merged_pairs(), columns=cols), "merged_pairs.csv")
        cols = ["file", "row", "record_id", "column", "object", "merged_id", "master_id"]
        rep = pd.DataFrame(extras.repointed, columns=cols).sort_values(["file", "row", "column"], kind="stable")
        write(rep.reset_index(drop=True), "repointed_references.csv")
        files["merged_pairs.csv"] = (
            "one row per merged-away lead, contact or account: object (canonical table), merged_id, master_id (the "
            "final survivor, chains resolved), master_record_id (as written), merges_to_master (2: merged into a "
            "record that was merged in turn), variation (how it differs from the survivor), kept_references (kept "
            "rows whose reference holds merged_id: repointed_references.csv)"
        )
        files["repointed_references.csv"] = (
            "kept rows that reference a merged-away record: file, row (0-based data row), record_id (the row's Id), "
            "column (canonical), object, merged_id (the value written), master_id (what it must be re-pointed to)"
        )
    write(_bookings_corporate(sim, extras), "bookings_corporate.csv")
    write(_open_pipeline(sim, extras), "open_pipeline.csv")
    files["bookings_corporate.csv"] = (
        "per calendar quarter of the close date: won_deals (every won deal of the org, deleted and merged rows "
        "excluded), won_deals_without_amount, bookings_usd (sum of each won deal's Amount divided by the dated rate "
        "of its CloseDate, rounded to cents at the end)"
    )
    files["open_pipeline.csv"] = (
        "per as_of day (the end of that day, UTC): open_deals (deals whose last history row created on or before "
        "that day is an open stage), open_deals_without_amount, open_pipeline_usd (that row's Amount divided by the "
        "dated rate of that row's CloseDate, summed, rounded to cents)"
    )
    info = dict(info)
    info["truth_files"] = dict(info["truth_files"], **files)
    info["options"] = dict(
        deleted=extras.deleted, merged=extras.merged, currencies=extras.currencies, modstamps=extras.modstamps
    )
    info["extract_time"] = pd.Timestamp(extras.latest, unit="s").strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    info["extract_time_note"] = (
        "the latest timestamp (CreatedDate, history CreatedDate, LastModifiedDate, SystemModstamp) of the org's "
        "rows; deletions and merges happen before it; export_time is the end of the simulated window"
    )
    info["rows_deleted"] = dict(extras.rows_deleted)
    info["note"] = (
        "rows_simulated = rows_written minus the extra rows that carry quarantine defects and the extra IsDeleted "
        "rows (deleted_records.csv); removing both gives back the simulated org."
    )
    if extras.deleted or extras.merged:
        info["deleted_and_merged"] = dict(
            shares=dict(_DELETED),
            merged=dict(_MERGED),
            kept_references=dict(_MERGE_REFS),
            by_kind=pd.DataFrame(extras.records)
            .groupby(["file", "kind"])
            .size()
            .rename("n")
            .reset_index()
            .to_dict(orient="records"),
        )
    if extras.currencies:
        fx = sim.fx
        info["currencies"] = dict(
            corporate=fx["iso"][0],
            iso_codes=fx["iso"],
            by_country=_COUNTRY_CURRENCY,
            rate_changes=len(fx["starts"]),
            mid_month_changes=[pd.Timestamp(int(d), unit="D").date().isoformat() for d in fx["mid_month"]],
            pricing=(
                "a deal's amounts are round(simulated USD amount x dated rate of its creation day, 2) in its "
                "account's currency, so a moved close date changes its USD value only through the rate; lead and "
                "account AnnualRevenue use the static rate (CurrencyType)"
            ),
            **{k: v for k, v in _FX.items()},
        )
    info["pipeline_days"] = pipeline_days(sim)
    return info
