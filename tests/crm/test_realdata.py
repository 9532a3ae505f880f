"""Real exports that nobody here wrote: they load, and every row is accounted for.

Expected row counts are counted here with Python's csv module, independently of the loader.
"""

import csv

import pandas as pd
import pytest

import funnel_analysis as fa

pytestmark = pytest.mark.realdata


def csv_rows(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


@pytest.mark.parametrize(
    "name", ["salesforce_devorg_export_earthfink1982", "salesforce_data_cloud_workshop_sfdc_assets"]
)
def test_salesforce_exports_load_with_every_row_accounted(realdata, name):
    folder = realdata / name
    crm = fa.load_org(folder)
    stems = {
        "Lead": "leads",
        "Opportunity": "opportunities",
        "OpportunityHistory": "opportunity_history",
        "Account": "accounts",
        "Contact": "contacts",
        "Campaign": "campaigns",
        "CampaignMember": "campaign_members",
        "Task": "activities",
    }
    for stem, table in stems.items():
        path = folder / f"{stem}.csv"
        if not path.exists():
            assert table not in crm.report.tables
            continue
        d = crm.report.tables[table]
        assert d["rows_read"] == csv_rows(path), table
        assert d["rows_read"] == d["rows_kept"] + d["rows_quarantined"]
        assert len(crm.tables[table]) == d["rows_kept"]
    assert "Case.csv" in crm.report.ignored_files or name.endswith("1982")


def test_devorg_ids_join_and_history_rebuilds(realdata):
    crm = fa.load_org(realdata / "salesforce_devorg_export_earthfink1982")
    opps, hist = crm.opportunities, crm.opportunity_history
    assert opps["opportunity_id"].str.len().eq(18).all()
    # every history row belongs to a loaded opportunity
    assert hist["opportunity_id"].isin(opps["opportunity_id"]).all()
    # imported deals closed before they were created are kept and flagged, not quarantined
    flagged = crm.flags.query("table == 'opportunities' and rule == 'close_before_created'")
    raw = pd.read_csv(realdata / "salesforce_devorg_export_earthfink1982" / "Opportunity.csv", dtype=str)
    created = pd.to_datetime(raw["CreatedDate"], format="%m/%d/%y").dt.normalize()
    closed = pd.to_datetime(raw["CloseDate"], format="%m/%d/%y")
    assert len(flagged) == int((closed < created).sum()) > 0
    assert crm.report.tables["opportunities"]["rows_quarantined"] == 0
    # the org's state today equals its current records for the stage
    now = crm.as_of("2030-01-01").opportunities.set_index("opportunity_id")
    cur = opps.set_index("opportunity_id")
    assert (now["stage_name"] == cur["stage_name"]).all()


def test_workshop_booleans_and_timestamps(realdata):
    crm = fa.load_org(realdata / "salesforce_data_cloud_workshop_sfdc_assets")
    raw = pd.read_csv(
        realdata / "salesforce_data_cloud_workshop_sfdc_assets" / "Opportunity.csv", dtype=str, encoding="utf-8-sig"
    )
    # IsWon is "1" or empty in this export
    assert int(crm.opportunities["is_won"].sum()) == int((raw["IsWon"] == "1").sum())
    assert str(crm.opportunities["created_date"].dtype) == "datetime64[us, UTC]"
    assert crm.opportunities["created_date"].notna().all()
    # contacts point at accounts that were loaded (or at none)
    c = crm.contacts
    assert c["account_id"].dropna().isin(crm.accounts["account_id"]).all()


def test_maven_mapping(realdata):
    folder = realdata / "maven_crm_sales_opportunities"
    crm = fa.load_org(folder, mapping="maven_crm")
    raw = pd.read_csv(folder / "sales_pipeline.csv", dtype=str)
    assert crm.report.rows_read("opportunities") == len(raw) == 8800
    o = crm.opportunities
    assert int(o["is_won"].sum()) == int((raw["deal_stage"] == "Won").sum())
    assert int(o["is_closed"].sum()) == int(raw["deal_stage"].isin(["Won", "Lost"]).sum())
    assert crm.stage_order == ["Prospecting", "Engaging", "Won", "Lost"]
    # open deals have no close value: flagged, never quarantined
    assert crm.report.tables["opportunities"]["rules"]["amount_missing"] == int(raw["close_value"].isna().sum())
    assert crm.report.rows_read("accounts") == 85 and crm.report.rows_read("users") == 35


def test_maven_us_dates_variant_parses_to_the_same_dates(realdata, tmp_path):
    folder = realdata / "maven_crm_sales_opportunities"
    iso = fa.load_org(folder, mapping="maven_crm").opportunities.set_index("opportunity_id")
    work = tmp_path / "mdy"
    work.mkdir()
    for name in ("accounts.csv", "sales_teams.csv"):
        (work / name).write_bytes((folder / name).read_bytes())
    (work / "sales_pipeline.csv").write_bytes(
        (folder / "variants" / "sales_pipeline_kisaraF_root_MDY_dates.csv").read_bytes()
    )
    mdy = fa.load_org(work, mapping="maven_crm").opportunities.set_index("opportunity_id")
    pd.testing.assert_series_equal(mdy["close_date"], iso.loc[mdy.index, "close_date"])
    pd.testing.assert_series_equal(mdy["created_date"], iso.loc[mdy.index, "created_date"])


def test_x_education_mapping(realdata):
    folder = realdata / "x_education_leads"
    crm = fa.load_org(folder, mapping="x_education")
    raw = pd.read_csv(folder / "Leads.csv", dtype=str)
    assert crm.report.rows_read("leads") == 9240
    leads = crm.leads
    assert int(leads["is_converted"].sum()) == int((raw["Converted"] == "1").sum())
    # "Select" is a placeholder meaning missing
    assert not (leads["specialization"] == "Select").any()
    assert (
        leads["specialization"].isna().sum()
        == raw["Specialization"].isin(["Select"]).sum() + raw["Specialization"].isna().sum()
    )
    # custom columns carried through, named in snake_case
    assert {"tags", "lead_quality", "lead_origin", "total_visits"} <= set(leads.columns)


def test_x_education_without_mapping_is_a_clear_error(realdata):
    with pytest.raises(fa.DataLoadError, match=r"Leads.csv.*lead_id.*'Id'"):
        fa.load_org(realdata / "x_education_leads")
