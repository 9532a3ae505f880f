"""Business minutes, counted by hand on a calendar written out here."""

import pandas as pd
import pytest

from funnel_analysis.crm import load_frames
from funnel_analysis.routing import Calendar, CalendarError, business_minutes, calendar_from_tables, org_calendar

WEEK = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
NY = "America/New_York"


def minutes(start, end, cal):
    s = pd.Series([pd.Timestamp(x, tz=cal.time_zone) if x else pd.NaT for x in start])
    e = pd.Series([pd.Timestamp(x, tz=cal.time_zone) if x else pd.NaT for x in end])
    return business_minutes(s, e, cal).tolist()


def test_friday_afternoon_to_monday_across_a_monday_holiday():
    # Friday 2025-01-17 16:30 -> Monday 2025-01-20 09:15 (Martin Luther King Day, a holiday here):
    #   Friday 16:30-17:00 = 30, Saturday and Sunday closed, Monday closed all day = 0   -> 30
    # without the holiday Monday 09:00-09:15 counts too                                   -> 45
    # to Tuesday 09:15 across the holiday: 30 + Tuesday 09:00-09:15 = 15                 -> 45
    holiday = Calendar(time_zone=NY, hours=WEEK, holidays=["2025-01-20"])
    plain = Calendar(time_zone=NY, hours=WEEK)
    assert minutes(["2025-01-17 16:30"], ["2025-01-20 09:15"], holiday) == [30.0]
    assert minutes(["2025-01-17 16:30"], ["2025-01-20 09:15"], plain) == [45.0]
    assert minutes(["2025-01-17 16:30"], ["2025-01-21 09:15"], holiday) == [45.0]


def test_a_part_day_holiday_closes_only_its_minutes():
    # Wednesday 2025-01-22 closed 12:00-14:00 (minutes 720-840): 09:00-17:00 leaves 480 - 120 = 360
    cal = Calendar(time_zone=NY, hours=WEEK, holidays=[("2025-01-22", 720, 840)])
    assert minutes(["2025-01-22 08:00"], ["2025-01-22 18:00"], cal) == [360.0]
    assert minutes(["2025-01-22 12:30"], ["2025-01-22 14:30"], cal) == [30.0]


def test_daylight_saving_time():
    # clocks go forward on Sunday 2025-03-09 in New York: Friday 16:00 -> Monday 10:00 local is 60 + 60 business
    # minutes although 3 days 17 hours pass on the UTC clock (not 18)
    cal = Calendar(time_zone=NY, hours=WEEK)
    assert minutes(["2025-03-07 16:00"], ["2025-03-10 10:00"], cal) == [120.0]
    # open around the clock: Saturday noon to Sunday noon is 23 hours of real time that day
    always_open = Calendar(time_zone=NY, hours={d: "00:00-00:00" for d in ("sat", "sun")})
    assert minutes(["2025-03-08 12:00"], ["2025-03-09 12:00"], always_open) == [23 * 60.0]
    # and in November 25 hours
    assert minutes(["2025-11-01 12:00"], ["2025-11-02 12:00"], always_open) == [25 * 60.0]


def test_start_outside_hours_end_before_start_and_missing():
    cal = Calendar(time_zone=NY, hours=WEEK)
    # Saturday 10:00 -> Monday 09:30: only Monday 09:00-09:30
    # Monday 07:00 -> Monday 08:00: before opening, 0
    # end before start: the negative of the other way round
    # a missing end: missing
    got = minutes(
        ["2025-01-18 10:00", "2025-01-20 07:00", "2025-01-21 10:00", "2025-01-21 10:00"],
        ["2025-01-20 09:30", "2025-01-20 08:00", "2025-01-20 16:00", None],
        cal,
    )
    assert got[:3] == [30.0, 0.0, -(60.0 + 60.0)]
    assert pd.isna(got[3])


def test_24x7_is_wall_clock_and_the_index_is_kept():
    s = pd.Series(pd.to_datetime(["2025-01-01 00:00", "2025-01-01 00:00"], utc=True), index=[7, 9])
    e = pd.Series(pd.to_datetime(["2025-01-02 01:30", "2024-12-31 23:00"], utc=True), index=[7, 9])
    got = business_minutes(s, e, None)
    assert got.index.tolist() == [7, 9] and got.tolist() == [1530.0, -60.0]
    assert Calendar.always().is_24x7


def test_bad_calendars_are_one_clear_error():
    with pytest.raises(CalendarError, match="unknown time zone 'Mars/Olympus'"):
        Calendar(time_zone="Mars/Olympus")
    with pytest.raises(CalendarError, match=r"hours.mon: opening hours are 'HH:MM-HH:MM'"):
        Calendar(hours={"mon": "9 to 5"})
    with pytest.raises(CalendarError, match="unknown weekday 'funday'"):
        Calendar(hours={"funday": "09:00-17:00"})
    with pytest.raises(CalendarError, match="must start before they end"):
        Calendar(hours={"mon": "17:00-09:00"})


def test_business_hours_and_holiday_exports_win():
    bh = pd.DataFrame(
        {
            "Id": ["01m000000000001AAA", "01m000000000002AAA"],
            "Name": ["Other", "Default"],
            "IsDefault": ["false", "true"],
            "IsActive": ["true", "true"],
            "TimeZoneSidKey": ["UTC", "Europe/Berlin"],
            **{f"{d}StartTime": ["09:00:00.000Z", "08:00:00.000Z"] for d in ("Monday", "Tuesday")},
            **{f"{d}EndTime": ["17:00:00.000Z", "12:00:00.000Z"] for d in ("Monday", "Tuesday")},
        }
    )
    hol = pd.DataFrame(
        {
            "Id": ["0C0000000000001AAA"],
            "Name": ["New Year"],
            "ActivityDate": ["2024-01-01"],
            "IsAllDay": ["true"],
            "IsRecurrence": ["true"],
            "RecurrenceType": ["RecursYearly"],
        }
    )
    lead = pd.DataFrame({"Id": ["00Q000000000001AAA"]})
    crm = load_frames({"Lead": lead, "BusinessHours": bh, "Holiday": hol})
    cal = org_calendar(crm, fallback=Calendar(time_zone="UTC", hours=WEEK))
    assert cal.time_zone == "Europe/Berlin" and cal.spans[:3] == ((480, 720), (480, 720), None)
    # Monday 2029-01-01 is the yearly holiday; Tuesday 08:00-12:00 Berlin = 07:00-11:00 UTC: 4 hours
    s = pd.Series(pd.to_datetime(["2028-12-31 12:00"], utc=True))
    e = pd.Series(pd.to_datetime(["2029-01-03 00:00"], utc=True))
    assert business_minutes(s, e, cal).tolist() == [240.0]
    # no export: the rules file's calendar, else 24x7 with its note
    bare = load_frames({"Lead": lead})
    assert org_calendar(bare, fallback=Calendar(hours=WEEK)).spans[0] == (540, 1020)
    assert "wall-clock" in org_calendar(bare).note()


def test_an_unknown_holiday_recurrence_is_refused():
    bh = pd.DataFrame(
        {"business_hours_id": ["b"], "monday_start_time": ["09:00:00.000Z"], "monday_end_time": ["17:00:00.000Z"]}
    )
    hol = pd.DataFrame(
        {
            "name": ["Easter"],
            "activity_date": [pd.Timestamp("2025-04-20")],
            "is_all_day": [True],
            "is_recurrence": [True],
            "recurrence_type": ["RecursYearlyNth"],
        }
    )
    with pytest.raises(CalendarError, match="Holiday.csv 'Easter': recurrence 'RecursYearlyNth' is not understood"):
        calendar_from_tables(bh, hol)
