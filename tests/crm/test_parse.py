import pandas as pd
import pytest

from funnel_analysis.crm.parse import parse_bool, parse_column, parse_date, parse_datetime, parse_number


def test_datetime_formats():
    s = pd.Series(
        [
            "2024-01-19T09:42:24.000+0000",
            "2024-01-19T11:42:24+02:00",
            "02/24/26 02:18 AM",
            "3/1/2017",
            "2024-11-10",
            None,
            "",
        ]
    )
    out, bad = parse_datetime(s)
    assert out[0] == out[1] == pd.Timestamp("2024-01-19 09:42:24", tz="UTC")
    assert out[2] == pd.Timestamp("2026-02-24 02:18", tz="UTC")
    assert out[3] == pd.Timestamp("2017-03-01", tz="UTC")
    assert out[4] == pd.Timestamp("2024-11-10", tz="UTC")
    assert out[5:].isna().all() and not bad.any()


def test_datetime_timezone_of_the_org():
    out, _ = parse_datetime(pd.Series(["2024-01-01 09:00"]), timezone="America/New_York")
    assert out[0] == pd.Timestamp("2024-01-01 14:00", tz="UTC")


@pytest.mark.parametrize("value", ["2023-02-30", "31/31/2023", "not a date", "13/45/2020"])
def test_unparseable_dates_are_reported(value):
    out, bad = parse_date(pd.Series([value, "2024-01-01"]))
    assert bad.tolist() == [True, False] and pd.isna(out[0])


def test_date_keeps_date_part_only():
    out, _ = parse_date(pd.Series(["2024-01-19T23:42:24.000+0000"]))
    assert out[0] == pd.Timestamp("2024-01-19") and out.dt.tz is None


def test_bool_forms():
    out, bad = parse_bool(pd.Series(["true", "FALSE", "1", "", None, "0", "yes", "maybe"]))
    assert out.tolist() == [True, False, True, False, False, False, True, False]
    assert bad.tolist() == [False] * 7 + [True]


def test_numbers():
    out, bad = parse_number(pd.Series(["1000", "1,234.50", "USD 12.5", "-5", "12,5k", None, "abc"]))
    assert out[:4].tolist() == [1000.0, 1234.5, 12.5, -5.0]
    assert bad.tolist() == [False, False, False, False, True, False, True]


def test_parse_column_rejects_unknown_kind_gracefully():
    # unknown kinds are treated as text: trimmed, empty -> missing
    out, bad, n = parse_column(pd.Series([" a ", ""]), "str")
    assert out[0] == "a" and pd.isna(out[1]) and n == 0 and not bad.any()


def test_every_path_returns_a_named_result():
    # the all-ISO fast paths and the slow paths alike: .values and .invalid, or unpacked
    iso = pd.Series(["2024-01-02T03:04:05Z", "2024-02-03T00:00:00Z"])
    mixed = pd.Series(["2024-01-02", "01/15/2024", "nope"])
    for parsed in (parse_datetime(iso), parse_date(iso), parse_datetime(mixed), parse_date(mixed)):
        values, invalid = parsed
        assert values is parsed.values and invalid is parsed.invalid
    assert parse_date(mixed).invalid.tolist() == [False, False, True]


def test_a_subset_keeps_its_index_on_the_fast_paths():
    # a date column mixing ISO dates and timestamps parses the timestamps as a subset (index 0 and 2):
    # every value must land on its own row, not be lost to NaT
    out, bad = parse_date(pd.Series(["2024-02-05T00:00:00Z", None, "2024-02-07T00:00:00Z"]))
    assert out.tolist()[0] == pd.Timestamp("2024-02-05") and out.tolist()[2] == pd.Timestamp("2024-02-07")
    assert pd.isna(out[1]) and not bad.any()
    stamps, _ = parse_datetime(pd.Series(["2024-02-05T00:00:00Z", "2024-02-07T10:00:00Z"], index=[5, 9]))
    assert stamps.index.tolist() == [5, 9] and stamps[9] == pd.Timestamp("2024-02-07 10:00", tz="UTC")


def test_parse_column_types_a_custom_kind_from_describe():
    from funnel_analysis.crm.parse import describe_kind

    values, bad, _ = parse_column(pd.Series(["00501", "1.5"]), describe_kind("double"))
    assert values.tolist() == [501.0, 1.5] and not bad.any()
    values, bad, _ = parse_column(pd.Series(["00501", "x"]), describe_kind("string"))
    assert values.tolist() == ["00501", "x"] and not bad.any()
