"""Field history (LeadHistory, OpportunityFieldHistory) on hand-built orgs, every figure counted by hand.

Fixtures are Salesforce-shaped frames (API column names) loaded with ``load_frames``, so the loader,
its flags and the as-of cut are exercised too.
"""

import hashlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnel_analysis.crm import load_frames, load_org
from funnel_analysis.crm.field_history import (
    amount_changes,
    close_date_pushes,
    field_as_of,
    field_changes,
    history_coverage,
    history_note,
    history_value_issues,
    queue_time,
)


def lead(i):
    return f"00Q{i:012d}AAA"


def deal(i):
    return f"006{i:012d}AAA"


def user(i):
    return f"005{i:012d}AAA"


def queue(i):
    return f"00G{i:012d}AAA"


def hid(i):
    return f"017{i:012d}AAA"


def history(rows, key):
    """History rows ``(id, record, field, old, new, data_type, created)`` as a Salesforce frame."""
    cols = ["Id", key, "Field", "OldValue", "NewValue", "DataType", "CreatedDate"]
    return pd.DataFrame(rows, columns=cols)


def stamp(day, time="10:00:00"):
    return f"{day}T{time}.000+0000"


# ---- tracking switched on after creation --------------------------------------------------------
@pytest.fixture(scope="module")
def tracked_late():
    leads = pd.DataFrame(
        {
            "Id": [lead(1), lead(2), lead(3)],
            "Status": ["Qualified", "Working", "Open"],
            "CreatedDate": [stamp("2023-06-01"), stamp("2023-06-01"), stamp("2024-02-01")],
        }
    )
    # Status tracking switched on by 2024-01-10 (the earliest row); lead 1's first change is 03-01
    rows = [
        (hid(1), lead(2), "Status", "Open", "Working", "Text", stamp("2024-01-10")),
        (hid(2), lead(1), "Status", "Working", "Qualified", "Text", stamp("2024-03-01")),
    ]
    return load_frames({"Lead": leads, "LeadHistory": history(rows, "LeadId")})


def test_value_before_the_first_row_is_its_old_value_not_the_current_one(tracked_late):
    got = field_as_of(tracked_late, table="lead_history", field="Status", as_of="2024-02-15").set_index("lead_id")
    # lead 1: its only change (03-01) is later: its old value, Working (the export says Qualified)
    assert got.loc[lead(1), ["status", "source"]].tolist() == ["Working", "first_change_old_value"]
    # lead 2: changed 01-10 to Working; lead 3: created after the history starts, never changed
    assert got.loc[lead(2), ["status", "source"]].tolist() == ["Working", "history"]
    assert got.loc[lead(3), ["status", "source"]].tolist() == ["Open", "no_change"]
    assert got.loc[lead(2), "changed_at"] == pd.Timestamp("2024-01-10 10:00", tz="UTC")
    on_the_day = field_as_of(tracked_late, table="LeadHistory", field="status", as_of="2024-03-01")
    assert on_the_day.set_index("lead_id").loc[lead(1), "status"] == "Qualified"


def test_a_day_before_the_history_starts_is_unknown_for_older_records(tracked_late):
    got = field_as_of(tracked_late, table="lead_history", field="Status", as_of="2023-12-31")
    # leads 1 and 2 exist (created 2023-06-01), lead 3 not yet; nothing is known before 2024-01-10
    assert got["lead_id"].tolist() == [lead(1), lead(2)]
    assert got["source"].tolist() == ["unknown", "unknown"] and got["status"].isna().all()


def test_the_cut_carries_status_as_of_the_day_and_says_where_it_came_from(tracked_late):
    cut = tracked_late.as_of("2024-02-15").leads.set_index("lead_id")
    assert cut["status"].tolist() == ["Working", "Working", "Open"]
    assert cut["status_source"].tolist() == ["first_change_old_value", "history", "no_change"]
    early = tracked_late.as_of("2023-12-31").leads.set_index("lead_id")
    # unknown on the day: the exported value is kept, and marked
    assert early["status"].tolist() == ["Qualified", "Working"]
    assert early["status_source"].tolist() == ["as_exported", "as_exported"]
    assert "owner_source" not in early  # the history has no Owner rows
    assert tracked_late.leads["status"].tolist() == ["Qualified", "Working", "Open"]  # the org is unchanged


def test_history_note_says_how_far_back_the_lead_history_reaches(tracked_late):
    assert history_note(tracked_late, table="lead_history") == (
        "LeadHistory starts 2024-01-10: the status of 2 leads created earlier is unknown before then"
    )
    no_history = load_frames({"Lead": tracked_late.leads.rename(columns={"lead_id": "Id"})[["Id"]]})
    assert history_note(no_history, table="LeadHistory") == (
        "LeadHistory is absent: lead status and owner are as exported, not as of the report date"
    )
    assert history_note(no_history, table="opportunity_field_history").startswith("OpportunityFieldHistory is absent")
    # nothing is invented: no change, no value, no column on the cut
    assert field_changes(no_history, table="lead_history", field="status").empty
    assert (
        field_as_of(no_history, table="lead_history", field="status", as_of="2024-01-01")["source"].eq("unknown").all()
    )
    assert history_coverage(no_history).empty
    assert "status_source" not in no_history.as_of("2024-01-01").leads


# ---- an 18-month cut: push counts of older deals are unknown -------------------------------------
@pytest.fixture(scope="module")
def retention_cut():
    opps = pd.DataFrame(
        {
            "Id": [deal(1), deal(2), deal(3), deal(4)],
            "StageName": ["Prospecting"] * 4,
            "CloseDate": ["2024-09-30", "2024-01-15", "2024-03-31", "2024-05-31"],
            "CreatedDate": [stamp("2022-01-10"), stamp("2023-07-01"), stamp("2022-02-01"), stamp("2022-03-01")],
        }
    )
    rows = [
        # deal 1, created before the history starts (2023-06-15): two pushes seen, 91 + 92 days
        (hid(1), deal(1), "CloseDate", "2024-03-31", "2024-06-30", "Date", stamp("2023-06-15")),
        (hid(2), deal(1), "CloseDate", "2024-06-30", "2024-09-30", "Date", stamp("2023-07-01")),
        # deal 2, created after the start: a push of 31 days, then a pull-in
        (hid(3), deal(2), "CloseDate", "2023-12-31", "2024-01-31", "Date", stamp("2023-08-01")),
        (hid(4), deal(2), "CloseDate", "2024-01-31", "2024-01-15", "Date", stamp("2023-09-01")),
        # deal 3: older, no row at all. deal 4: older, with a created row from before the CloseDate history
        # starts: that proves nothing for CloseDate (its tracking may have been switched on later)
        (hid(5), deal(4), "created", None, None, None, stamp("2022-03-01")),
        (hid(6), deal(4), "CloseDate", "2024-04-30", "2024-05-31", "Date", stamp("2023-10-01")),
    ]
    return load_frames({"Opportunity": opps, "OpportunityFieldHistory": history(rows, "OpportunityId")})


def test_push_counts_of_deals_created_before_the_history_are_unknown_not_zero(retention_cut):
    got = close_date_pushes(retention_cut).set_index("opportunity_id")
    assert got["history_complete"].tolist() == [False, True, False, False]
    assert got["pushes"].tolist() == [pd.NA, 1, pd.NA, pd.NA]
    assert got["pushes_seen"].tolist() == [2, 1, 0, 1]
    assert got["days_pushed"].tolist() == [pd.NA, 31, pd.NA, pd.NA]
    assert got["days_pushed_seen"].tolist() == [91 + 92, 31, 0, 31]
    assert got["pull_ins"].tolist() == [pd.NA, 1, pd.NA, pd.NA]
    assert got["pull_ins_seen"].tolist() == [0, 1, 0, 0]
    first = pd.to_datetime(["2024-03-31", "2023-12-31", "2024-03-31", "2024-04-30"]).tolist()
    assert got["first_close_date"].tolist() == first
    assert (got["history_start"] == pd.Timestamp("2023-06-15 10:00")).all()


def test_push_counts_as_of_a_day_count_only_earlier_changes(retention_cut):
    got = close_date_pushes(retention_cut, as_of="2023-06-30").set_index("opportunity_id")
    # deal 2 does not exist yet; deal 1 has one push before the end of 06-30
    assert got.index.tolist() == [deal(1), deal(3), deal(4)]
    assert got["pushes_seen"].tolist() == [1, 0, 0]
    assert got["pushes"].tolist() == [pd.NA, pd.NA, pd.NA]


def test_the_cut_says_which_deals_slipped_before(retention_cut):
    cut = retention_cut.as_of("2023-06-30").opportunities.set_index("opportunity_id")
    assert cut["close_date_pushes"].tolist() == [pd.NA, pd.NA, pd.NA]
    # deal 1: a push is seen, so it slipped even though the count is unknown; deals 3 and 4: unknown
    assert cut["slipped_before"].tolist() == [True, pd.NA, pd.NA]
    later = retention_cut.as_of("2023-12-31").opportunities.set_index("opportunity_id")
    assert later.loc[[deal(2), deal(4)], "close_date_pushes"].tolist() == [1, pd.NA]
    assert later.loc[[deal(2), deal(4)], "slipped_before"].tolist() == [True, True]
    # deal 2, created after the history starts: complete, so "did not slip" is known before its push
    aug = retention_cut.as_of("2023-07-15").opportunities.set_index("opportunity_id")
    assert aug.loc[deal(2), ["close_date_pushes", "slipped_before"]].tolist() == [0, False]
    assert str(later["close_date_pushes"].dtype) == "Int64" and str(later["slipped_before"].dtype) == "boolean"


def test_history_note_counts_the_deals_whose_pushes_are_unknown(retention_cut):
    assert history_note(retention_cut, table="OpportunityFieldHistory") == (
        "OpportunityFieldHistory starts 2023-06-15: close-date pushes of 3 deals created earlier are unknown"
    )


# ---- paired owner rows, queues ---------------------------------------------------------------
def _queue_org(with_groups=True, data_type=True):
    leads = pd.DataFrame(
        {
            "Id": [lead(1), lead(2), lead(3)],
            "OwnerId": [user(1), queue(2), user(3)],
            "CreatedDate": [stamp("2024-03-01", "08:00:00"), stamp("2024-03-02", "09:00:00"), stamp("2024-01-15")],
        }
    )
    rows = [
        # the Owner history starts here, before leads 1 and 2 were created: theirs is complete
        (hid(0), lead(3), "Owner", user(4), user(3), "EntityId", stamp("2024-02-01")),
        (hid(1), lead(1), "created", None, None, None, stamp("2024-03-01", "08:00:00")),
        # one owner change written twice: IDs, then names
        (hid(2), lead(1), "Owner", queue(1), user(1), "EntityId", stamp("2024-03-01", "14:30:00")),
        (hid(3), lead(1), "Owner", "Inbound", "Ann Lee", "Text", stamp("2024-03-01", "14:30:00")),
        (hid(4), lead(2), "created", None, None, None, stamp("2024-03-02", "09:00:00")),
        (hid(5), lead(2), "Owner", user(2), queue(2), "EntityId", stamp("2024-03-02", "10:00:00")),
        (hid(6), lead(2), "Owner", "Bo Chen", "Partners", "Text", stamp("2024-03-02", "10:00:00")),
    ]
    frame = history(rows, "LeadId")
    if not data_type:
        frame = frame.drop(columns="DataType")
    frames = {"Lead": leads, "LeadHistory": frame}
    if with_groups:
        frames["Group"] = pd.DataFrame(
            {"Id": [queue(1), queue(2)], "Name": ["Inbound Queue", "Partner Queue"], "Type": ["Queue", "Queue"]}
        )
    return load_frames(frames)


@pytest.mark.parametrize("data_type", [True, False], ids=["with DataType", "IDs told by their shape"])
def test_an_owner_change_written_as_two_rows_counts_once(data_type):
    crm = _queue_org(data_type=data_type)
    got = field_changes(crm, table="lead_history", field="Owner")
    assert got[["lead_id", "old_value", "new_value", "old_name", "new_name"]].fillna("-").values.tolist() == [
        [lead(3), user(4), user(3), "-", "-"],
        [lead(1), queue(1), user(1), "Inbound", "Ann Lee"],
        [lead(2), user(2), queue(2), "Bo Chen", "Partners"],
    ]
    assert got["lead_history_id"].tolist() == [hid(0), hid(2), hid(5)]  # the ID rows
    cov = history_coverage(crm).set_index("field")
    assert cov.loc["Owner", ["rows", "records", "rows_paired_names", "rows_unparseable"]].tolist() == [5, 3, 2, 0]
    assert cov.loc["created", ["kind", "rows"]].tolist() == ["event", 2]


def test_owner_as_of_a_day_and_on_the_cut():
    crm = _queue_org()
    noon = field_as_of(crm, table="lead_history", field="owner_id", as_of="2024-03-01")
    assert noon[["lead_id", "owner_id", "source"]].values.tolist() == [
        [lead(1), user(1), "history"],
        [lead(3), user(3), "history"],
    ]
    cut = crm.as_of("2024-03-02").leads.set_index("lead_id")
    assert cut["owner_id"].tolist() == [user(1), queue(2), user(3)]
    assert cut["owner_source"].tolist() == ["history", "history", "history"]
    # before the Owner history starts (02-01), lead 3's owner is unknown: the export's is kept
    jan = crm.as_of("2024-01-31").leads.set_index("lead_id")
    assert jan["owner_id"].tolist() == [user(3)] and jan["owner_source"].tolist() == ["as_exported"]


def test_queue_time_from_creation_and_from_a_change_censored_at_the_cut():
    got = queue_time(_queue_org(), as_of="2024-03-02")
    assert got["lead_id"].tolist() == [lead(1), lead(2)]
    assert got["queue_id"].tolist() == [queue(1), queue(2)]
    assert got["queue_name"].tolist() == ["Inbound Queue", "Partner Queue"]  # from Group.csv
    assert got["entered_by"].tolist() == ["creation", "change"]
    # lead 1: in the queue from its creation (08:00) until Ann picked it up at 14:30
    assert got.loc[0, "picked_up_by"] == user(1)
    assert got.loc[0, "picked_up_at"] == pd.Timestamp("2024-03-01 14:30", tz="UTC")
    # lead 2: moved to the queue at 10:00 on 03-02, still there at the end of the day: 14 hours, censored
    assert got["hours_in_queue"].tolist() == [6.5, 14.0]
    assert got["still_in_queue"].tolist() == [False, True]
    assert pd.isna(got.loc[1, "picked_up_at"]) and pd.isna(got.loc[1, "picked_up_by"])


def test_queue_names_come_from_the_history_without_groups():
    got = queue_time(_queue_org(with_groups=False), as_of="2024-03-02")
    assert got["queue_name"].tolist() == ["Inbound", "Partners"]


# ---- ties, orphans and unparseable values ----------------------------------------------------------
def test_changes_in_the_same_second_are_ordered_by_id():
    leads = pd.DataFrame({"Id": [lead(1)], "Status": ["Nurture"], "CreatedDate": [stamp("2024-01-01")]})
    same = stamp("2024-02-01")
    # the file lists the later change first; Ids say Open -> Working (…1) came before Working -> Nurture (…2)
    rows = [
        (hid(2), lead(1), "Status", "Working", "Nurture", "Text", same),
        (hid(1), lead(1), "Status", "Open", "Working", "Text", same),
        (hid(0), lead(1), "created", None, None, None, stamp("2024-01-01")),
    ]
    crm = load_frames({"Lead": leads, "LeadHistory": history(rows, "LeadId")})
    got = field_changes(crm, table="lead_history", field="status")
    assert got["lead_history_id"].tolist() == [hid(1), hid(2)]
    assert field_as_of(crm, table="lead_history", field="status", as_of="2024-02-01")["status"].tolist() == ["Nurture"]
    # the created row (01-01) predates the Status history (02-01): January is unknown
    assert field_as_of(crm, table="lead_history", field="status", as_of="2024-01-31")["source"].tolist() == ["unknown"]


@pytest.fixture(scope="module")
def messy():
    leads = pd.DataFrame({"Id": [lead(1)], "Status": ["Working"], "CreatedDate": [stamp("2024-01-01")]})
    lead_rows = [
        (hid(1), lead(1), "Status", "Open", "Working", "Text", stamp("2024-01-05")),
        (hid(2), lead(9), "Status", "Open", "Working", "Text", stamp("2024-01-06")),  # no such lead
    ]
    opps = pd.DataFrame(
        {
            "Id": [deal(1)],
            "StageName": ["Prospecting"],
            "CloseDate": ["2024-06-30"],
            "CreatedDate": [stamp("2024-01-01")],
        }
    )
    deal_rows = [
        (hid(3), deal(1), "created", None, None, None, stamp("2024-01-01")),
        (hid(4), deal(1), "CloseDate", "2024-03-31", "next quarter", "Date", stamp("2024-02-01")),  # not a date
        (hid(5), deal(1), "CloseDate", "2024-03-31", "2024-06-30", "Date", stamp("2024-02-02")),
    ]
    return load_frames(
        {
            "Lead": leads,
            "LeadHistory": history(lead_rows, "LeadId"),
            "Opportunity": opps,
            "OpportunityFieldHistory": history(deal_rows, "OpportunityId"),
        }
    )


def test_a_row_of_a_lead_that_does_not_exist_is_flagged_counted_and_left_out(messy):
    flags = messy.flags[messy.flags["table"] == "lead_history"]
    assert flags[["record_id", "rule", "value"]].values.tolist() == [[hid(2), "reference_unresolved", lead(9)]]
    assert messy.report.tables["lead_history"]["rules"] == {"reference_unresolved": 1}
    assert field_changes(messy, table="lead_history", field="status")["lead_id"].tolist() == [lead(1)]
    cov = history_coverage(messy).set_index(["table", "field"])
    assert cov.loc[("lead_history", "Status"), ["rows", "rows_unknown_record"]].tolist() == [2, 1]


def test_an_unparseable_value_is_flagged_counted_and_left_out(messy):
    flags = messy.flags[messy.flags["table"] == "opportunity_field_history"]
    assert flags[["record_id", "column", "rule", "value"]].values.tolist() == [
        [hid(4), "new_value", "history_value_unparseable", "next quarter"]
    ]
    assert messy.report.tables["opportunity_field_history"]["rows_kept"] == 3  # flagged, not quarantined
    changes = field_changes(messy, table="opportunity_field_history", field="close_date")
    assert changes["field_history_id"].tolist() == [hid(5)]
    cov = history_coverage(messy).set_index(["table", "field"])
    assert cov.loc[("opportunity_field_history", "CloseDate"), "rows_unparseable"] == 1
    # the bad row still dates the CloseDate history's start (02-01), after the deal's creation
    assert close_date_pushes(messy)[["pushes", "pushes_seen", "days_pushed_seen"]].values.tolist() == [[pd.NA, 1, 91]]
    assert history_note(messy, table="opportunity_field_history").endswith("; 1 rows left out: 1 unparseable")


def test_history_value_issues_names_the_value_that_does_not_parse():
    rows = pd.DataFrame(
        {
            "field_history_id": [hid(1), hid(2)],
            "opportunity_id": [deal(1)] * 2,
            "field": ["Amount", "Amount"],
            "old_value": ["ten", "10"],
            "new_value": ["20", "30"],
            "created_date": pd.to_datetime(["2024-01-02", "2024-01-03"], utc=True),
        }
    )
    got = history_value_issues(rows, "opportunity_field_history")
    assert got[["row", "column", "rule", "value"]].values.tolist() == [
        [0, "old_value", "history_value_unparseable", "ten"]
    ]
    # failure case: a table that is not a field history has no such issue
    assert history_value_issues(rows, "opportunities").empty


# ---- amounts in the corporate currency ---------------------------------------------------------
def test_amount_changes_convert_with_the_deals_rate():
    opps = pd.DataFrame(
        {
            "Id": [deal(1), deal(2), deal(3)],
            "StageName": ["Prospecting"] * 3,
            "Amount": ["1200", "500", "90"],
            "CurrencyIsoCode": ["EUR", "USD", "USD"],
            "CloseDate": ["2024-06-30"] * 3,
            "CreatedDate": [stamp("2024-01-01"), stamp("2024-01-01"), stamp("2023-12-01")],
        }
    )
    rates = pd.DataFrame({"IsoCode": ["USD", "EUR"], "ConversionRate": ["1", "0.8"], "IsCorporate": ["true", "false"]})
    rows = [
        (hid(1), deal(1), "created", None, None, None, stamp("2024-01-01")),
        (hid(2), deal(1), "Amount", "1000", "1200", "Currency", stamp("2024-02-01")),
        (hid(3), deal(3), "Amount", "80", "90", "Currency", stamp("2023-12-15")),  # the Amount history starts
    ]
    crm = load_frames(
        {"Opportunity": opps, "CurrencyType": rates, "OpportunityFieldHistory": history(rows, "OpportunityId")}
    )
    got = amount_changes(crm).set_index("opportunity_id")
    # deal 1 in EUR at 0.8 EUR per USD: 1000 / 0.8 = 1250 -> 1200 / 0.8 = 1500; deal 2 never changed
    assert got.loc[deal(1), ["changes", "first_amount", "last_amount", "net_change"]].tolist() == [1, 1250, 1500, 250]
    assert got.loc[deal(2), ["changes", "first_amount", "last_amount", "net_change"]].tolist() == [0, 500, 500, 0]
    assert got.loc[deal(1), "last_amount"] == crm.opportunities.set_index("opportunity_id").loc[deal(1), "amount"]
    early = amount_changes(crm, as_of="2024-01-15").set_index("opportunity_id")
    assert early.loc[deal(1), ["changes", "last_amount"]].tolist() == [0, 1250]


# ---- the same result whatever the file order ------------------------------------------------------
def _digest(crm) -> str:
    h = hashlib.blake2b(digest_size=16)
    parts = [
        field_changes(crm, table="lead_history", field="status"),
        field_changes(crm, table="lead_history", field="owner_id"),
        field_as_of(crm, table="lead_history", field="status", as_of="2024-03-01"),
        field_as_of(crm, table="opportunity_field_history", field="close_date", as_of="2023-08-15"),
        close_date_pushes(crm),
        close_date_pushes(crm, as_of="2023-08-15"),
        amount_changes(crm),
        queue_time(crm, as_of="2024-03-02"),
        history_coverage(crm),
        crm.as_of("2024-03-01").leads,
        crm.as_of("2023-08-15").opportunities,
    ]
    for frame in parts:
        h.update(pd.util.hash_pandas_object(frame.astype("str"), index=False).to_numpy().tobytes())
    return h.hexdigest()


def test_shuffling_the_history_files_changes_nothing(tmp_path, retention_cut):
    leads = pd.DataFrame(
        {
            "Id": [lead(1), lead(2)],
            "Status": ["Nurture", "Working"],
            "OwnerId": [user(1), queue(2)],
            "CreatedDate": [stamp("2024-01-01"), stamp("2024-03-02", "09:00:00")],
        }
    )
    same = stamp("2024-02-01")
    lead_rows = [
        (hid(10), lead(1), "created", None, None, None, stamp("2024-01-01")),
        (hid(12), lead(1), "Status", "Working", "Nurture", "Text", same),
        (hid(11), lead(1), "Status", "Open", "Working", "Text", same),
        (hid(13), lead(1), "Owner", queue(1), user(1), "EntityId", same),
        (hid(14), lead(1), "Owner", "Inbound", "Ann Lee", "Text", same),
        (hid(15), lead(2), "Owner", user(2), queue(2), "EntityId", stamp("2024-03-02", "10:00:00")),
        (hid(16), lead(2), "Owner", "Bo Chen", "Partners", "Text", stamp("2024-03-02", "10:00:00")),
        (hid(17), lead(2), "Status", "Open", "Working", "Text", stamp("2024-03-02", "10:00:00")),
    ]
    folder = tmp_path / "org"
    folder.mkdir()
    leads.to_csv(folder / "Lead.csv", index=False)
    opps = retention_cut.opportunities
    pd.DataFrame(
        {
            "Id": opps["opportunity_id"],
            "StageName": opps["stage_name"],
            "CloseDate": opps["close_date"].dt.strftime("%Y-%m-%d"),
            "Amount": ["100", "200", "300", "400"],
            "CreatedDate": opps["created_date"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ).to_csv(folder / "Opportunity.csv", index=False)
    deal_rows = history(
        [
            (hid(1), deal(1), "CloseDate", "2024-03-31", "2024-06-30", "Date", stamp("2023-06-15")),
            (hid(2), deal(1), "CloseDate", "2024-06-30", "2024-09-30", "Date", stamp("2023-07-01")),
            (hid(4), deal(2), "CloseDate", "2024-01-31", "2024-01-15", "Date", stamp("2023-08-01")),
            (hid(3), deal(2), "CloseDate", "2023-12-31", "2024-01-31", "Date", stamp("2023-08-01")),
            (hid(5), deal(4), "created", None, None, None, stamp("2022-03-01")),
            (hid(6), deal(4), "Amount", "300", "400", "Currency", stamp("2023-10-01")),
            (hid(7), deal(4), "CloseDate", "2024-04-30", "next quarter", "Date", stamp("2023-10-01")),
        ],
        "OpportunityId",
    )
    lead_frame = history(lead_rows, "LeadId")
    digests = set()
    for seed in range(10):
        rng = np.random.default_rng(seed)
        lead_frame.iloc[rng.permutation(len(lead_frame))].to_csv(folder / "LeadHistory.csv", index=False)
        deal_rows.iloc[rng.permutation(len(deal_rows))].to_csv(folder / "OpportunityFieldHistory.csv", index=False)
        digests.add(_digest(load_org(folder)))
    assert len(digests) == 1


# ---- one clear line for a bad call ------------------------------------------------------------
def test_an_unknown_table_is_one_value_error_naming_it(tracked_late):
    for call in (
        lambda: field_changes(tracked_late, table="LeadHistoryX", field="status"),
        lambda: field_as_of(tracked_late, table="leads", field="status", as_of="2024-01-01"),
        lambda: history_note(tracked_late, table="OpportunityHistory"),
    ):
        with pytest.raises(ValueError, match="unknown field-history table '(LeadHistoryX|leads|OpportunityHistory)'"):
            call()


def test_an_unknown_field_is_one_value_error_naming_it(tracked_late):
    with pytest.raises(ValueError, match="field 'Colour' is not a field of Lead"):
        field_changes(tracked_late, table="lead_history", field="Colour")
    with pytest.raises(ValueError, match="field 'created' is an event row"):
        field_as_of(tracked_late, table="lead_history", field="created", as_of="2024-01-01")


def test_a_bad_day_is_one_value_error_naming_as_of(retention_cut, tracked_late):
    for call in (close_date_pushes, amount_changes, queue_time):
        with pytest.raises(ValueError, match="as_of='someday' is not a date"):
            call(retention_cut if call is not queue_time else tracked_late, as_of="someday")
    with pytest.raises(ValueError, match="as_of='2024-13-01' is not a date"):
        field_as_of(tracked_late, table="lead_history", field="status", as_of="2024-13-01")


def test_an_org_that_is_not_one_is_refused():
    with pytest.raises(TypeError, match="crm must be a CrmData"):
        history_coverage(pd.DataFrame())


# ---- invariants -------------------------------------------------------------------------------
_STATUSES = ["Open", "Working", "Nurture", "Qualified"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 40), st.sampled_from(_STATUSES), st.sampled_from(_STATUSES)),
        min_size=1,
        max_size=8,
    )
)
def test_value_after_the_last_change_is_its_new_value_and_before_the_first_its_old_value(changes):
    leads = pd.DataFrame(
        {
            "Id": [lead(1), lead(2), lead(3)],
            "Status": ["Open", "Open", "Open"],
            "CreatedDate": [stamp("2024-01-05")] * 2 + [stamp("2023-12-01")],
        }
    )
    # lead 3's change starts the Status history before leads 1 and 2 exist: theirs is complete
    rows = [(hid(100), lead(3), "Status", "New", "Open", "Text", stamp("2024-01-01"))]
    day0 = pd.Timestamp("2024-01-06")
    rows += [
        (hid(i), lead(1 + r), "Status", old, new, "Text", stamp(f"{day0 + pd.Timedelta(days=d):%Y-%m-%d}"))
        for i, (r, d, old, new) in enumerate(changes)
    ]
    crm = load_frames({"Lead": leads, "LeadHistory": history(rows, "LeadId")})
    # by plain pandas: the changes in time then Id order, per lead
    frame = pd.DataFrame(changes, columns=["r", "d", "old", "new"]).assign(i=range(len(changes)))
    frame = frame.sort_values(["d", "i"])
    after = field_as_of(crm, table="lead_history", field="status", as_of="2024-03-01").set_index("lead_id")
    before = field_as_of(crm, table="lead_history", field="status", as_of="2024-01-05").set_index("lead_id")
    for r, own in frame.groupby("r"):
        assert after.loc[lead(1 + r), "status"] == own["new"].iloc[-1]
        assert before.loc[lead(1 + r), "status"] == own["old"].iloc[0]
    pushes = close_date_pushes(crm)  # no deals: an empty, typed frame
    assert pushes.empty and "pushes" in pushes
