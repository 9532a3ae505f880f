"""The org profile: a full file read back key by key, each bad key one line, custom fiscal periods, the
currency check against CurrencyType, and a EUR / February profile reaching the notebooks' parameters."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from funnel_analysis.project import init_project
from funnel_analysis.project.profile import (
    BusinessRule,
    FiscalPeriod,
    OrgProfile,
    ProfileError,
    corporate_currency,
    find_project,
    load_profile,
    report_defaults,
)
from funnel_analysis.reporting.config import ReportConfigError, load_report_config, plan_reports

FULL = """\
name: Acme
data_dir: export
instance_url: https://acme.my.salesforce.com
currency: eur
fiscal_year: {start_month: 2}
business_types:
  new_business: {types: [New Business], record_types: [012000000000001AAA]}
  renewal: {types: [Renewal]}
  unlisted: new_business
kpis: {win_rate_basis: amount, exclude_types: [Partner]}
stages:
  Closed Lost - Duplicate: {is_closed: true, is_won: false, forecast_category: Omitted}
lead_statuses:
  Disqualified: {is_closed: true}
calendar:
  timezone: Europe/Berlin
  workdays: [mon, tue, wed, thu]
  hours: "08:30-16:00"
  holidays: [2025-12-25]
"""


def _write(tmp_path: Path, text: str, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_profile_reads_back_every_key(tmp_path):
    p = load_profile(_write(tmp_path, FULL))
    assert p.path == (tmp_path / "profile.yaml").resolve()
    assert (p.name, p.data_dir, p.currency) == ("Acme", (tmp_path / "export").resolve(), "EUR")
    assert (p.fiscal_year_start_month, p.fiscal_periods) == (2, ())
    assert p.business_types["new_business"] == BusinessRule(("New Business",), ("012000000000001AAA",))
    assert p.business_types["renewal"] == BusinessRule(("Renewal",), ())
    assert p.business_types["expansion"] == BusinessRule()  # listed some: the ones left out list none
    assert p.unlisted_business_type == "new_business"
    assert dict(p.kpis) == {"win_rate_basis": "amount", "exclude_types": ["Partner"]}
    assert dict(p.stages["Closed Lost - Duplicate"]) == {
        "is_closed": True,
        "is_won": False,
        "forecast_category": "Omitted",
    }
    assert dict(p.lead_statuses["Disqualified"]) == {"is_closed": True}
    cal = p.calendar
    assert (cal.timezone, cal.workdays, cal.start, cal.end) == ("Europe/Berlin", (0, 1, 2, 3), time(8, 30), time(16))
    assert cal.holidays == (date(2025, 12, 25),)
    assert p.record_url("006A") == "https://acme.my.salesforce.com/006A"


def test_an_empty_profile_is_the_defaults(tmp_path):
    p = load_profile(_write(tmp_path, ""))
    assert (p.currency, p.fiscal_year_start_month, p.instance_url, p.record_url("006A")) == ("", 1, "", "")
    assert p.engine == "" and load_profile(_write(tmp_path, "engine: duckdb\n")).engine == "duckdb"
    assert p.data_dir == (tmp_path / "data" / "salesforce").resolve()
    assert "New Business" in p.business_types["new_business"].types
    assert p.unlisted_business_type == "other"


def test_the_template_funnel_init_writes_is_a_valid_profile(tmp_path):
    folder = init_project(tmp_path / "p")
    assert load_profile(folder / "profile.yaml").fiscal_year_start_month == 1


def test_the_profile_is_frozen(tmp_path):
    p = load_profile(_write(tmp_path, FULL))
    with pytest.raises(AttributeError):
        p.currency = "USD"
    with pytest.raises(TypeError):
        p.kpis["cohort"] = "created"


@pytest.mark.parametrize(
    "text, key, expected",
    [
        ("curency: EUR", "curency", "unknown key"),
        ("fiscal_year: {start: 2}", "fiscal_year.start", "unknown key in fiscal_year"),
        ("fiscal_year: {start_month: 13}", "fiscal_year.start_month", "a whole number from 1 to 12, got 13"),
        ("fiscal_year: {start_month: feb}", "fiscal_year.start_month", "a whole number from 1 to 12, got 'feb'"),
        ("currency: EURO", "currency", "a three-letter ISO code"),
        ("instance_url: acme.my.salesforce.com", "instance_url", "https:// address"),
        ("instance_url: https://acme.my.salesforce.com/lightning", "instance_url", "without a path"),
        ("data_dir: [a, b]", "data_dir", "a valid string"),
        ("business_types: {renewal: {types: Renewal}}", "business_types.renewal.types", "a valid list"),
        (
            "business_types: {unlisted: churn}",
            "business_types.unlisted",
            "'new_business', 'renewal', 'expansion' or 'other'",
        ),
        (
            "business_types: {renewal: {types: [Renewal]}, expansion: {types: [' renewal']}}",
            "business_types.expansion",
            "each Type or RecordTypeId under one business type",
        ),
        ("kpis: {win_rate_basis: revenue}", "kpis.win_rate_basis", "'count' or 'amount'"),
        ("kpis: {new_business_only: yes please}", "kpis.new_business_only", "a valid boolean"),
        ("stages: {Won: {default_probability: 150}}", "stages.Won.default_probability", "less than or equal to 100"),
        ("lead_statuses: {Open: {converted: true}}", "lead_statuses.Open.converted", "unknown key"),
        ("calendar: {timezone: Mars/Olympus}", "calendar.timezone", "an IANA time zone"),
        ("engine: polars", "engine", "duckdb, spark or pandas"),
        ("calendar: {hours: 9-5}", "calendar.hours", "HH:MM-HH:MM"),
        ("calendar: {hours: '17:00-09:00'}", "calendar.hours", "the end after the start"),
        ("calendar: {workdays: [monday]}", "calendar.workdays", "mon, tue, wed"),
        ("calendar: {holidays: [christmas]}", "calendar.holidays", "a list of dates"),
        ("- a list", "profile.yaml", "expected keys"),
        ("currency: [EUR", "profile.yaml", "not valid YAML"),
        ("fiscal_year: {periods: Period.csv}", "fiscal_year.periods", "expected a Period export (Period.csv)"),
    ],
)
def test_each_bad_key_is_one_line_naming_file_key_and_expectation(tmp_path, text, key, expected):
    path = _write(tmp_path, text + "\n")
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(str(path.resolve()))
    assert key in message and expected in message, message


def test_a_missing_profile_says_how_to_make_one(tmp_path):
    with pytest.raises(ProfileError, match=r"no such profile \(funnel init DIR writes one\)"):
        load_profile(tmp_path / "profile.yaml")


PERIODS = """\
Id,FiscalYearSettingsId,Type,StartDate,EndDate,Number,PeriodLabel
0260001,0220001,Year,2025-02-01,2026-01-31,1,FY2026
0260002,0220001,Quarter,2025-02-01,2025-04-30,1,Q1
0260003,0220001,Quarter,2025-05-01,2025-07-31,2,Q2
"""


def test_custom_fiscal_periods_give_the_start_month(tmp_path):
    _write(tmp_path, PERIODS, "Period.csv")
    p = load_profile(_write(tmp_path, "fiscal_year: {periods: Period.csv}\n"))
    assert p.fiscal_year_start_month == 2
    assert p.fiscal_periods[0] == FiscalPeriod("Quarter", date(2025, 2, 1), date(2025, 4, 30), "Q1", "0220001")
    assert [q.type for q in p.fiscal_periods] == ["Quarter", "Year", "Quarter"]  # by start, then type


def test_fiscal_year_settings_give_the_start_month_when_the_export_has_no_year_rows(tmp_path):
    export = tmp_path / "fiscal"
    export.mkdir()
    _write(export, "".join(PERIODS.splitlines(keepends=True)[i] for i in (0, 2, 3)), "Period.csv")
    _write(export, "Id,Name,StartDate,EndDate\n0220001,2026,2025-02-01,2026-01-31\n", "FiscalYearSettings.csv")
    assert load_profile(_write(tmp_path, "fiscal_year: {periods: fiscal}\n")).fiscal_year_start_month == 2


def test_custom_periods_that_disagree_with_start_month_are_refused(tmp_path):
    _write(tmp_path, PERIODS, "Period.csv")
    path = _write(tmp_path, "fiscal_year: {start_month: 1, periods: Period.csv}\n")
    with pytest.raises(ProfileError, match=r"fiscal_year.start_month: 1, but the custom periods start .* month 2"):
        load_profile(path)


def test_a_period_row_without_dates_is_refused_naming_the_line(tmp_path):
    _write(tmp_path, "Type,StartDate,EndDate\nYear,2025-02-01,\n", "Period.csv")
    with pytest.raises(ProfileError, match=r"fiscal_year.periods: .*Period.csv, line 2: expected Type, StartDate"):
        load_profile(_write(tmp_path, "fiscal_year: {periods: Period.csv}\n"))


def test_find_project_walks_up_to_the_nearest_profile(tmp_path):
    (tmp_path / "outer" / "inner" / "deep").mkdir(parents=True)
    _write(tmp_path / "outer", "")
    _write(tmp_path / "outer" / "inner", "")
    assert find_project(tmp_path / "outer" / "inner" / "deep") == (tmp_path / "outer" / "inner").resolve()
    assert find_project(tmp_path / "outer") == (tmp_path / "outer").resolve()
    assert find_project(tmp_path) is None or find_project(tmp_path) != tmp_path  # none at tmp_path itself


def test_corporate_currency_reads_iscorporate(tmp_path):
    _write(
        tmp_path,
        '"IsoCode","ConversionRate","IsCorporate"\n"USD","1.1","false"\n"EUR","1.0","true"\n',
        "CurrencyType.csv",
    )
    assert corporate_currency(tmp_path) == "EUR"
    assert corporate_currency(tmp_path / "nothing") == "" and corporate_currency(None) == ""


def test_report_defaults_check_the_currency_against_currencytype(tmp_path):
    export = tmp_path / "data" / "salesforce"
    export.mkdir(parents=True)
    _write(export, "IsoCode,IsCorporate\nUSD,true\nEUR,false\n", "CurrencyType.csv")
    assert report_defaults(load_profile(_write(tmp_path, "")))["currency"] == "USD"  # the org's own
    assert report_defaults(load_profile(_write(tmp_path, "currency: USD\n")))["currency"] == "USD"
    with pytest.raises(ProfileError) as exc:
        report_defaults(load_profile(_write(tmp_path, "currency: EUR\n")))
    assert "currency: expected the org's corporate currency USD" in str(exc.value)
    assert "CurrencyType.csv" in str(exc.value) and "'EUR'" in str(exc.value)
    assert report_defaults(OrgProfile())["currency"] == ""  # no data, no profile value: the export decides


def test_a_eur_february_profile_reaches_the_notebook_parameters(tmp_path):
    project = init_project(tmp_path / "acme")
    export = project / "data" / "salesforce"
    export.mkdir()
    _write(export, "IsoCode,IsCorporate\nEUR,true\nUSD,false\n", "CurrencyType.csv")
    profile = project / "profile.yaml"
    profile.write_text(
        profile.read_text().replace('currency: ""', "currency: EUR").replace("start_month: 1 ", "start_month: 2 ")
    )
    specs = load_report_config(project / "reports.yaml")
    plan = {p.spec.name: p.parameters for p in plan_reports(specs, None, {}, None)}
    for name in ("funnel", "velocity", "forecasting", "sources"):  # the notebooks that declare both
        assert (plan[name]["currency"], plan[name]["fiscal_year_start_month"]) == ("EUR", 2), name
    for name, params in plan.items():
        assert params["data_dir"] == str(export.resolve()), name
    # an entry's own parameter and a -p override still win
    plan = plan_reports(specs, ["funnel"], {"fiscal_year_start_month": 7}, None)
    assert plan[0].parameters["fiscal_year_start_month"] == 7


def test_a_bad_profile_stops_the_report_config_naming_the_profile(tmp_path):
    project = init_project(tmp_path / "acme")
    (project / "profile.yaml").write_text("fiscal_year: {start_month: 0}\n")
    with pytest.raises(ReportConfigError, match=r"profile.yaml: fiscal_year.start_month: expected a whole number"):
        load_report_config(project / "reports.yaml")
