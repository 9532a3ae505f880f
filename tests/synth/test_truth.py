"""On the generated sample org, validation recovers the injected dirty rows (ground truth).

The generator records every row it made dirty, in which file and row, and whether a
validator should quarantine it, flag it, or let the cleaner fix it. Precision and recall
of the quarantine (and of the flags) against that truth are printed and asserted.
"""

import pandas as pd
import pytest

import funnel_analysis as fa


@pytest.fixture(scope="module")
def loaded(sample_org):
    org, truth = sample_org
    return fa.load_org(org), pd.read_csv(truth / "dirty_rows.csv", dtype={"row": int})


def _pr(found: set, expected: set) -> tuple[float, float]:
    hit = len(found & expected)
    return (hit / len(found) if found else 1.0), (hit / len(expected) if expected else 1.0)


@pytest.mark.parametrize("expected_as, table, at_least", [("quarantine", "quarantine", 20), ("flag", "flags", 10)])
def test_precision_recall_against_truth(loaded, capsys, expected_as, table, at_least):
    crm, truth = loaded
    issues = getattr(crm, table)
    found = set(zip(issues["file"], issues["row"].astype(int)))
    rows = truth[truth.expected == expected_as]
    expected = set(zip(rows["file"], rows["row"]))
    precision, recall = _pr(found, expected)
    with capsys.disabled():
        print(
            f"\n{table} vs truth: {len(found)} rows, {len(expected)} injected, "
            f"precision {precision:.4f}, recall {recall:.4f}"
        )
    assert len(expected) > at_least
    assert recall == 1.0, sorted(expected - found)[:10]
    assert precision == 1.0, sorted(found - expected)[:10]


def test_rows_the_cleaner_fixes_are_neither_quarantined_nor_flagged(loaded):
    crm, truth = loaded
    clean = set(zip(truth.loc[truth.expected == "clean", "file"], truth.loc[truth.expected == "clean", "row"]))
    touched = set(zip(crm.quarantine["file"], crm.quarantine["row"].astype(int))) | set(
        zip(crm.flags["file"], crm.flags["row"].astype(int))
    )
    assert len(clean) > 10
    assert not (clean & touched)


def test_short_ids_join_after_widening(loaded):
    crm, truth = loaded
    short = truth[truth.kind == "id15"]
    assert len(short)
    # every reference written as a 15-character ID resolves to a loaded record
    opps = crm.opportunities
    assert opps["account_id"].dropna().isin(crm.accounts["account_id"]).all()
    assert (
        crm.opportunity_history["opportunity_id"]
        .isin(pd.concat([opps["opportunity_id"], crm.quarantined_rows["opportunities"]["opportunity_id"]]))
        .all()
    )


def test_row_accounting_on_sample(loaded, sample_org):
    crm, _ = loaded
    org, _ = sample_org
    for _table, d in crm.report.tables.items():
        assert d["rows_read"] == d["rows_kept"] + d["rows_quarantined"] + d["rows_deleted"] + d["rows_merged"]
    lines = sum(1 for _ in open(org / "Lead.csv", encoding="utf-8")) - 1
    assert crm.report.rows_read("leads") == lines
    # the default sample has IsDeleted rows: merged ones have a MasterRecordId (plain pandas on the files)
    for name, table in (("Lead.csv", "leads"), ("Account.csv", "accounts"), ("Opportunity.csv", "opportunities")):
        df = pd.read_csv(org / name, dtype=str, keep_default_na=False)
        flagged = df["IsDeleted"] == "true"
        merged = flagged & (df.get("MasterRecordId", pd.Series("", index=df.index)) != "")
        d = crm.report.tables[table]
        assert flagged.sum() > 0 and d["rows_deleted"] + d["rows_merged"] == flagged.sum(), name
        assert d["rows_merged"] == merged.sum(), name


def test_phone_e164_matches_the_generators_clean_value(loaded):
    crm, truth = loaded
    phones = truth[(truth.kind == "phone_format") & (truth.table == "leads")]
    assert len(phones)
    got = crm.leads.set_index("lead_id").loc[phones["record_id"], "phone_e164"]
    assert got.tolist() == phones["clean_value"].tolist()


def test_lead_conversion_per_source_recovers_the_true_rate(loaded, sample_org):
    """The funnel's conversion per source, on mature leads, covers the generator's true rate.

    Duplicates injected for the de-duplication feature are never converted, so the
    non-original records of each duplicate cluster are left out, as a de-duplication
    would. Eight sources are tested at once, so each uses a 99.9% Wilson interval
    built from the function's own counts (a 95% one would miss one source in three
    runs by chance alone).
    """
    import json

    from funnel_analysis.funnel import lead_conversion
    from funnel_analysis.stats import wilson_interval

    crm, _ = loaded
    _, truth_dir = sample_org
    truth = json.loads((truth_dir / "truth.json").read_text())
    rates = pd.read_csv(truth_dir / "source_rates.csv").set_index("lead_source")
    dupes = pd.read_csv(truth_dir / "duplicate_clusters.csv")
    extra = set(dupes.loc[(dupes.table == "leads") & ~dupes.is_original.astype(bool), "record_id"])
    mature_before = (
        pd.Timestamp(truth["mature_leads_created_before"]).tz_convert("UTC")
        if pd.Timestamp(truth["mature_leads_created_before"]).tzinfo
        else pd.Timestamp(truth["mature_leads_created_before"], tz="UTC")
    )
    leads = crm.leads[~crm.leads["lead_id"].isin(extra) & (crm.leads["created_date"] < mature_before)]
    conv = lead_conversion(leads, by="lead_source").set_index("lead_source")
    assert set(rates.index) <= set(conv.index)
    for source, true_rate in rates["true_conversion_rate"].items():
        row = conv.loc[source]
        low, high = wilson_interval(row["converted"], row["leads"], confidence=0.999)
        assert low <= true_rate <= high, (source, row["conversion_rate"], true_rate, low, high)


def test_kaplan_meier_recovers_the_true_durations(loaded, sample_org, capsys):
    """Every deal's path is simulated to its end, so the generator knows the full length of the stage
    visits and cycles the export shows still running. The Kaplan-Meier median (open ones censored)
    must cover that truth with its 95 % interval; the closed-only cycle median falls short of it."""
    import json

    from funnel_analysis.crm import latest_date
    from funnel_analysis.velocity import cycle_length, stage_durations, stage_intervals

    crm, _ = loaded
    truth = json.loads((sample_org[1] / "truth.json").read_text())["path_stats"]
    day = latest_date(crm)
    cut = crm.as_of(day)
    iv = stage_intervals(cut.opportunities, cut.opportunity_history, stages=cut.stages, as_of=day)
    got = stage_durations(iv, stages=cut.stages).set_index("stage_name")
    for stage, t in truth["true_stage_visit_days"].items():
        row = got.loc[stage]
        print(
            f"{stage}: true {t['median']}, KM {row['km_median']} [{row['km_median_ci_low']}, "
            f"{row['km_median_ci_high']}], closed-only {row['naive_median']}, censored {row['n_censored']}/{row['n']}"
        )
        assert row["km_median_ci_low"] <= t["median"] <= row["km_median_ci_high"], stage
        assert row["naive_median"] <= t["median"], stage
    cyc = cycle_length(cut.opportunities, as_of=day).iloc[0]
    true_cycle = truth["true_cycle_days"]["median"]
    print(
        f"cycle: true {true_cycle}, KM {cyc['km_median']} [{cyc['km_median_ci_low']}, {cyc['km_median_ci_high']}], "
        f"closed-only {cyc['naive_median']}"
    )
    assert cyc["km_median_ci_low"] <= true_cycle <= cyc["km_median_ci_high"]
    assert cyc["naive_median"] < true_cycle  # the closed-only view understates the cycle
