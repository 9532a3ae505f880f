"""Money in the corporate currency: a hand-built two-currency export, every figure worked out by hand.

Rates are units of the currency per 1 USD (Salesforce's semantics): corporate = amount / rate.
EUR dated rates: 0.90 from 2024-01-01, 0.80 from 2024-03-01 (open-ended). GBP has no rate at all.
Static (CurrencyType) rate of EUR: 0.85, used off opportunities and for dates before any range.

| deal | currency | amount | close      | rate | USD       |
|------|----------|--------|------------|------|-----------|
| O1   | USD      | 1000   | 2024-03-15 | 1    | 1000      |
| O2   | EUR      | 900    | 2024-02-10 | 0.90 | 1000      |
| O3   | EUR      | 800    | 2024-04-30 | 0.80 | 1000 (open; its close date moved from 2024-02-20 at 0.90) |
| O4   | GBP      | 500    | 2024-03-20 | none | missing, flagged |
| O5   | EUR      | 170    | 2023-12-01 | 0.85 static (before the first range) | 200 |
"""

from __future__ import annotations

import pandas as pd
import pytest

import funnel_analysis as fa
from funnel_analysis.crm.currency import convert_money, currency_book
from funnel_analysis.funnel import report

T = "T10:00:00.000+0000"
FILES = {
    "CurrencyType.csv": (
        "IsoCode,ConversionRate,IsCorporate,IsActive,DecimalPlaces\nUSD,1,true,true,2\nEUR,0.85,false,true,2\n"
    ),
    "DatedConversionRate.csv": (
        "IsoCode,ConversionRate,StartDate,NextStartDate\nEUR,0.9,2024-01-01,2024-03-01\nEUR,0.8,2024-03-01,9999-12-31\n"
    ),
    "Opportunity.csv": (
        "Id,Name,StageName,Amount,CurrencyIsoCode,CloseDate,IsClosed,IsWon,CreatedDate\n"
        f"006000000000001AAA,O1,Closed Won,1000,USD,2024-03-15,true,true,2024-01-05{T}\n"
        f"006000000000002AAA,O2,Closed Won,900,EUR,2024-02-10,true,true,2024-01-06{T}\n"
        f"006000000000003AAA,O3,Prospecting,800,EUR,2024-04-30,false,false,2024-01-07{T}\n"
        f"006000000000004AAA,O4,Closed Won,500,GBP,2024-03-20,true,true,2024-01-08{T}\n"
        f"006000000000005AAA,O5,Closed Won,170,EUR,2023-12-01,true,true,2023-11-01{T}\n"
    ),
    "OpportunityHistory.csv": (
        "Id,OpportunityId,CreatedDate,StageName,Amount,CurrencyIsoCode,CloseDate\n"
        f"008000000000001AAA,006000000000003AAA,2024-01-07{T},Prospecting,800,EUR,2024-02-20\n"
        f"008000000000002AAA,006000000000003AAA,2024-03-05{T},Prospecting,800,EUR,2024-04-30\n"
    ),
    "Lead.csv": (
        "Id,CreatedDate,LastName,Company,AnnualRevenue,CurrencyIsoCode\n"
        f"00Q000000000001AAA,2024-01-01{T},A,Acme,850000,EUR\n"
        f"00Q000000000002AAA,2024-01-01{T},B,Globex,100000,USD\n"
    ),
}


@pytest.fixture
def crm(tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return fa.load_org(folder)


def test_amounts_convert_by_dated_rate_of_the_close_date(crm):
    o = crm.opportunities.set_index("name")
    assert o.loc["O1", "amount"] == pytest.approx(1000)
    assert o.loc["O2", "amount"] == pytest.approx(900 / 0.9)
    assert o.loc["O3", "amount"] == pytest.approx(800 / 0.8)
    assert pd.isna(o.loc["O4", "amount"])  # GBP has no rate: never summed raw
    assert o.loc["O5", "amount"] == pytest.approx(170 / 0.85)  # before the first dated range: static rate
    assert o.loc["O2", "amount_original"] == 900 and o.loc["O2", "currency_iso_code"] == "EUR"
    assert crm.currency == "USD" and crm.currency_symbol == "$"


def test_a_record_without_a_rate_is_flagged_and_counted(crm):
    f = crm.flags[crm.flags["rule"] == "currency_without_rate"]
    assert f["record_id"].tolist() == ["006000000000004AAA"]
    assert crm.report.tables["opportunities"]["rules"]["currency_without_rate"] == 1
    assert crm.report.currency["without_rate"] == {"opportunities": 1}


def test_other_objects_use_the_static_rate(crm):
    leads = crm.leads.set_index("lead_id")
    assert leads.loc["00Q000000000001AAA", "annual_revenue"] == pytest.approx(850000 / 0.85)
    assert leads.loc["00Q000000000002AAA", "annual_revenue"] == pytest.approx(100000)


def test_history_rows_convert_by_their_own_close_date(crm):
    # as of 2024-02-25 O3's close date was 2024-02-20: valued at 0.90; from 2024-03-05 at 0.80
    before = crm.as_of("2024-02-25").opportunities.set_index("name")
    after = crm.as_of("2024-03-10").opportunities.set_index("name")
    assert before.loc["O3", "amount"] == pytest.approx(800 / 0.9)
    assert after.loc["O3", "amount"] == pytest.approx(800 / 0.8)
    assert before.loc["O3", "amount_original"] == after.loc["O3", "amount_original"] == 800


def test_money_kpis_by_hand(crm):
    k = report.kpis(crm, as_of="2024-06-30").iloc[0]
    # won in USD: O1 1000 + O2 1000 + O5 200 over 3 deals (O4 has no rate: left out of the sum and the n)
    assert k["avg_won_deal_size"] == pytest.approx(2200 / 3)
    assert k["avg_won_deal_size_n"] == 3
    assert k["open_pipeline_amount"] == pytest.approx(1000)  # O3 at 0.80


def test_a_single_currency_org_is_left_exactly_as_it_was(tiny_export):
    crm = fa.load_org(tiny_export)
    assert "amount_original" not in crm.opportunities.columns
    assert "conversion_rate" not in crm.opportunities.columns
    assert crm.report.currency["source"] == "assumed" and crm.currency == "USD"


def test_a_eur_corporate_org_says_eur(tmp_path):
    folder = tmp_path / "eur"
    folder.mkdir()
    (folder / "CurrencyType.csv").write_text("IsoCode,ConversionRate,IsCorporate\nEUR,1,true\nUSD,1.1,false\n")
    (folder / "Opportunity.csv").write_text(
        "Id,Name,StageName,Amount,CurrencyIsoCode,CloseDate,IsClosed,IsWon,CreatedDate\n"
        f"006000000000001AAA,O1,Closed Won,110,USD,2024-03-15,true,true,2024-01-05{T}\n"
    )
    crm = fa.load_org(folder)
    assert crm.currency == "EUR" and crm.currency_symbol == "€"
    assert crm.opportunities["amount"].iloc[0] == pytest.approx(100)


def test_two_corporate_currencies_are_refused(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "CurrencyType.csv").write_text("IsoCode,ConversionRate,IsCorporate\nEUR,1,true\nUSD,1,true\n")
    (folder / "Opportunity.csv").write_text("Id,Name\n006000000000001AAA,O1\n")
    with pytest.raises(fa.crm.DataLoadError, match="IsCorporate"):
        fa.load_org(folder)


def test_currency_book_without_types_uses_the_one_code_in_the_records():
    book = currency_book(None, None, codes=["EUR", None, "EUR"])
    assert (book.corporate, book.source, book.multi) == ("EUR", "records", False)
    assert currency_book(None, None, codes=["EUR", "USD"]).multi


def test_convert_money_leaves_a_table_without_money_alone():
    book = currency_book(
        pd.DataFrame({"iso_code": ["USD"], "conversion_rate": [1.0], "is_corporate": [True]}), None, codes=[]
    )
    users = pd.DataFrame({"owner_id": ["005"]})
    assert convert_money(users, "users", book=book).converted is users
