"""Every money value the notebooks record is in the corporate currency, to the cent.

The sample org has three currencies (USD corporate, EUR and GBP with dated rates). Plain pandas
(``tests/export_csv.to_usd``: amount / rate, dated rates by close date on opportunities and their
history, static rates elsewhere) rewrites that export as a single-currency USD export. Every
analysis notebook then runs on both, and every value every notebook records must agree: the
multi-currency path of the package against plain pandas followed by the single-currency path the
rest of the suite checks by hand. Only the pipeline waterfall may split a change differently (it
shows an exchange-rate movement the single-currency export cannot know about); its net change
must still agree.

And an org whose corporate currency is the euro shows no dollar anywhere in its HTML reports.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from funnel_analysis.reporting import read_records
from tests.export_csv import extract_day, kept, to_usd, usd_export, won_by_quarter

pytestmark = pytest.mark.slow

#: The notebooks whose figures carry money.
MONEY_NOTEBOOKS = ("funnel", "forecasting", "sources", "velocity")


@pytest.fixture(scope="session")
def usd_org(small_sample, tmp_path_factory) -> Path:
    """The small sample rewritten by plain pandas as a single-currency (USD) export."""
    out = tmp_path_factory.mktemp("usd") / "org"
    return usd_export(small_sample, out)


@pytest.fixture(scope="session")
def usd_executed(usd_org, tmp_path_factory):
    from concurrent.futures import ThreadPoolExecutor

    import papermill as pm

    out = tmp_path_factory.mktemp("usd_executed")
    root = Path(__file__).resolve().parents[2] / "notebooks"

    def run(name):
        target = out / f"{name}.ipynb"
        pm.execute_notebook(
            str(root / f"{name}.ipynb"),
            str(target),
            parameters={"data_dir": str(usd_org)},
            kernel_name="python3",
            cwd=str(root),
            progress_bar=False,
        )
        return name, target

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, MONEY_NOTEBOOKS))


def test_the_sample_really_has_three_currencies_with_a_boundary_inside_a_quarter(small_sample):
    opps = kept(small_sample, "Opportunity.csv")
    assert set(opps["CurrencyIsoCode"]) == {"USD", "EUR", "GBP"}
    rates = pd.read_csv(small_sample / "DatedConversionRate.csv", dtype=str)
    starts = pd.to_datetime(rates["StartDate"])
    assert (~starts.dt.is_quarter_start).any()  # a rate changes inside a quarter


def test_bookings_per_quarter_by_plain_pandas_equal_the_truth(small_sample):
    truth = pd.read_csv(f"{small_sample}_truth/bookings_corporate.csv")
    mine = won_by_quarter(small_sample).round(2)
    got = truth.set_index("close_quarter")["bookings_usd"]
    assert {str(k): v for k, v in mine.items() if v} == pytest.approx(got[got != 0].to_dict(), abs=0.005)


def test_the_kpis_money_equals_plain_pandas_to_the_cent(executed, small_sample):
    """At the extract day every deal's state is its current record: plain pandas on Opportunity.csv."""
    path, error = executed["funnel"]
    assert error is None, error
    assert pd.Timestamp(read_records(path)["kpis"][0]["as_of"]).normalize() == extract_day(small_sample)
    o = kept(small_sample, "Opportunity.csv")
    usd = to_usd(small_sample, o)
    closed, won = o["IsClosed"].str.lower().eq("true"), o["IsWon"].str.lower().eq("true")
    rows = read_records(path)["kpis"]
    pipeline = sum(r["open_pipeline_amount"] or 0 for r in rows)
    assert pipeline == pytest.approx(usd[~closed].sum(), abs=0.01)
    won_n = sum(r["avg_won_deal_size_n"] or 0 for r in rows)
    won_total = sum((r["avg_won_deal_size"] or 0) * (r["avg_won_deal_size_n"] or 0) for r in rows)
    assert won_n == usd[won].notna().sum()
    assert won_total == pytest.approx(usd[won].sum(), abs=0.01)


def _frame(value) -> pd.DataFrame:
    return pd.DataFrame(value if isinstance(value, list) else [value])


def _same(name: str, a: pd.DataFrame, b: pd.DataFrame, where: str) -> None:
    """Records of the multi-currency run (a) and the USD run (b) agree, column by column."""
    extra = set(b.columns) - set(a.columns)
    assert not extra, f"{where}: {name} has columns only in the USD run: {extra}"
    assert len(a) == len(b), f"{where}: {name}: {len(a)} rows vs {len(b)}"
    for col in b.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
            xs, ys = pd.to_numeric(x).to_numpy(float), pd.to_numeric(y).to_numpy(float)
            for i, (u, v) in enumerate(zip(xs, ys)):
                if math.isnan(u) and math.isnan(v):
                    continue
                # to the cent on money, and to 1e-9 relative on anything else
                assert u == pytest.approx(v, rel=1e-9, abs=0.005), f"{where}: {name}.{col}[{i}]: {u} != {v}"
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), f"{where}: {name}.{col} differs"


def test_every_recorded_value_equals_the_plain_pandas_usd_export(executed, usd_executed):
    compared = 0
    for nb in MONEY_NOTEBOOKS:
        path, error = executed[nb]
        assert error is None, error
        multi, single = read_records(path), read_records(usd_executed[nb])
        assert set(multi) == set(single), nb
        for name in single:
            a, b = _frame(multi[name]), _frame(single[name])
            if name == "pipeline_waterfall":
                # the multi-currency org splits the change into amount and exchange-rate movements
                net = a["amount_up"] - a["amount_down"] + a.get("fx_up", 0) - a.get("fx_down", 0)
                assert net.to_numpy() == pytest.approx((b["amount_up"] - b["amount_down"]).to_numpy(), abs=0.005)
                a = a.drop(columns=["amount_up", "amount_down", "fx_up", "fx_down"])
                b = b.drop(columns=["amount_up", "amount_down", "fx_up", "fx_down"])
            _same(name, a, b, nb)
            compared += 1
    assert compared >= 25  # the four notebooks record about thirty tables and figures


@pytest.fixture(scope="session")
def eur_org(usd_org, tmp_path_factory) -> Path:
    """The single-currency export declared as a euro org (CurrencyType: EUR corporate, rate 1)."""
    import shutil

    out = tmp_path_factory.mktemp("eur") / "org"
    shutil.copytree(usd_org, out)
    (out / "CurrencyType.csv").write_text(
        "IsoCode,ConversionRate,IsCorporate,IsActive,DecimalPlaces\nEUR,1,true,true,2\n"
    )
    return out


def test_a_euro_org_shows_no_dollar_in_its_html(eur_org, tmp_path):
    from click.testing import CliRunner

    from funnel_analysis.cli.app import main

    out = tmp_path / "reports"
    args = ["report", "run", "--data-dir", str(eur_org), "--out", str(out), "--jobs", "2"]
    for name in ("funnel", "sources", "velocity", "forecasting"):
        args += ["--only", name]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    pages = sorted(out.glob("*/*/*.html"))
    assert len(pages) == 4
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # a dollar before a figure, or the code, anywhere in the report; MathJax's $ delimiters are not money
        assert not re.search(r"\$\s?-?\d|US\$|\bUSD\b", text), page.name
        assert "€" in text, page.name
