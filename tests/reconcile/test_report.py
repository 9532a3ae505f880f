"""The reconciliation entry points on an org: the hand-built export of tests/reconcile/org.py and the sample org."""

from pathlib import Path

import pandas as pd
import pytest

import funnel_analysis as fa
from funnel_analysis.reconcile import FiguresError, report
from tests.reconcile import org
from tests.reconcile.sample_figures import by_quarter, user_figures

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "data" / "examples" / "salesforce_figures.csv"


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reconcile_org")
    org.export(folder)
    return fa.load_org(folder)


def test_the_deleted_records_are_an_alternative_on_the_org(crm, tmp_path):
    # the loader leaves G (deleted) out; put back, FY2025-Q1 wins 2200 (1900 + G's 300)
    path = tmp_path / "f.csv"
    path.write_text("figure,period,value\nwon_amount,FY2025-Q1,2200\nwin_rate,FY2025-Q1,0.83\n", encoding="utf-8")
    r = report.reconcile_figures(crm, as_of="2025-03-31", figures_file=path)
    assert r["product"].tolist() == pytest.approx([1900.0, 0.5])
    assert r["explained_by"].tolist() == ["the deleted records counted", "win rate by amount instead of by count"]
    # where: a Salesforce report filtered to new business; the configured renewals then make no difference
    r = report.reconcile_figures(crm, as_of="2025-03-31", figures_file=path, where="type == 'New Business'")
    assert r["product"].tolist() == pytest.approx([1000.0, 0.25])


def test_no_file_is_one_line_and_a_bad_file_names_its_row(crm, tmp_path):
    out = report.reconcile_figures(crm, figures_file="")
    assert out.empty and "no Salesforce figures were given" in out.attrs["missing"]
    bad = tmp_path / "bad.csv"
    bad.write_text("figure,period,value\nwin_rate,FY2025-Q1,high\n", encoding="utf-8")
    with pytest.raises(FiguresError, match=r"bad.csv: row 2: column 'value': 'high' is not a number"):
        report.reconcile_figures(crm, figures_file=bad)


def test_definition_effects_on_the_org(crm):
    e = report.definition_effects(crm, as_of="2025-03-31", exclude_types="Renewal")
    q1 = e[e["fiscal_period"] == "FY2025-Q1"].set_index("definition")["value"]
    assert q1["configured"] == 0.25  # new business: A of A B C F
    assert q1["opportunities of type Renewal counted after all"] == 0.5
    assert q1["the deleted records counted"] == pytest.approx(2 / 5)  # and G
    assert "Renewal" in e.attrs["note"]
    with pytest.raises(ValueError, match="figure must be one of"):
        report.definition_effects(crm, figure="nope")


def test_figures_with_definitions_beside_their_values(crm):
    t = report.figures_with_definitions(crm, as_of="2025-03-31", win_rate_basis="amount", exclude_types="Renewal")
    t = t.set_index("figure")
    assert t.loc["win_rate", "value"] == pytest.approx(1000 / 1400)
    assert t.loc["won_amount", "value"] == 1000.0
    assert t.loc["win_rate", "definition"].startswith("amount won / amount closed")
    assert t.loc["win_rate", "left_out"].startswith("opportunities of type Renewal")
    assert t.loc["win_rate", "rows_left_out"] == 3  # D, E (renewals) and G (deleted)
    assert pd.isna(t.loc["leads", "value"])  # the org has no leads
    with pytest.raises(ValueError, match="win_rate_basis"):
        report.figures_with_definitions(crm, win_rate_basis="value")


@pytest.fixture(scope="module")
def default_sample(tmp_path_factory):
    """The sample org as `make sample` writes it (scale 1, seed 0): generated here, a clean clone has none."""
    from funnel_analysis.synth import generate_sample

    out = tmp_path_factory.mktemp("default_sample") / "sample"
    generate_sample(out, scale=1, seed=0)
    return out


def test_the_sample_org_one_explained_one_unexplained(default_sample):
    """The shipped example, made by hand from the default sample org, reconciles as it says: one match,
    one difference explained by the win rate's basis, one by renewals, one unexplained."""
    sample = default_sample
    written = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    assert written.to_dict("records") == user_figures(sample).to_dict("records"), (
        "data/sample changed: python -m tests.reconcile.sample_figures data/sample data/examples/salesforce_figures.csv"
    )
    r = report.reconcile_figures(fa.load_org(sample), figures_file=EXAMPLE)
    assert r["status"].tolist() == ["matches", "explained", "explained", "unexplained"]
    assert r.loc[1, "explained_by"] == "win rate by amount instead of by count"
    assert "New Business" in r.loc[2, "explained_by"] or "Existing Business" in r.loc[2, "explained_by"]
    t = by_quarter(sample)  # the product's figures under its definitions, by hand
    assert r["product"].tolist() == pytest.approx(
        [
            t.at[r.loc[0, "period"], "by_count"],
            t.at[r.loc[1, "period"], "by_count"],
            t.at[r.loc[2, "period"], "won_amount"],
            t.at[r.loc[3, "period"], "by_count"],
        ]
    )
    assert r.loc[1, "explained_value"] == pytest.approx(t.at[r.loc[1, "period"], "by_amount"])
    assert r.loc[2, "explained_value"] == pytest.approx(t.at[r.loc[2, "period"], "won_amount_new_business"])
