"""read_salesforce_figures: what a user writes down, and one line naming the file, row and column for a bad file."""

import pytest

from funnel_analysis.reconcile import FiguresError, period_frequency, read_salesforce_figures


def _write(tmp_path, text, name="figures.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_what_a_user_writes(tmp_path):
    path = _write(
        tmp_path,
        "\ufeffFigure, Period ,Value,note\n"
        "win_rate,2025-q3,31%,dashboard\n"
        'won_amount,FY2025-Q3,"$1,792,011",bookings\n'
        "opportunities_won,fy2025,412,\n"
        "lead_conversion_rate,FY2025-M07,0.125,\n"
        "\n",
    )
    f = read_salesforce_figures(path)
    assert f["figure"].tolist() == ["win_rate", "won_amount", "opportunities_won", "lead_conversion_rate"]
    assert f["period"].tolist() == ["FY2025-Q3", "FY2025-Q3", "FY2025", "FY2025-M07"]
    assert f["frequency"].tolist() == ["Q", "Q", "Y", "M"]
    assert f["value"].tolist() == pytest.approx([0.31, 1792011.0, 412.0, 0.125])
    # half the last written digit: 31% is 30.5 - 31.5 %, 0.125 is 0.1245 - 0.1255
    assert f["written_step"].tolist() == pytest.approx([0.005, 0.5, 0.5, 0.0005])
    assert f["note"].tolist() == ["dashboard", "bookings", "", ""] and f["row"].tolist() == [2, 3, 4, 5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("figure,value\nwin_rate,0.3\n", "row 1: has no 'period' column (expected the header figure, period, value)"),
        ("figure,period,value,owner\n", "row 1: column 'owner': is not a column of a figures file"),
        ("figure,period,value\n", "row 2: has no figures"),
        ("figure,period,value\nwinrate,FY2025-Q3,0.3\n", "row 2: column 'figure': 'winrate' is not a figure"),
        ("figure,period,value\nwin_rate,Q3 2025,0.3\n", "row 2: column 'period': 'Q3 2025' is not a fiscal period"),
        ("figure,period,value\nwin_rate,FY2025-Q3,31 pct\n", "row 2: column 'value': '31 pct' is not a number"),
        (
            "figure,period,value\nwin_rate,FY2025-Q3,31\n",
            "row 2: column 'value': '31' is not a rate (expected win_rate as a fraction",
        ),
        ("figure,period,value\nwin_rate,FY2025-Q3\n", "row 2: has 2 cells, the header 3"),
        (
            "figure,period,value\nwin_rate,FY2025-Q3,0.3\nwin_rate,2025-Q3,0.31\n",
            "row 3: column 'period': win_rate FY2025-Q3 is given twice (first in row 2)",
        ),
        ("", "is empty"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_row_and_column(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(FiguresError) as err:
        read_salesforce_figures(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message
    assert err.value.file == str(path)


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(FiguresError, match="does not exist"):
        read_salesforce_figures(tmp_path / "nope.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes("figure,period,value\nwin_rate,FY2025-Q3,0,31 \xe9\n".encode("latin-1"))
    with pytest.raises(FiguresError, match="cannot be read"):
        read_salesforce_figures(path)


def test_a_figures_error_is_a_data_load_error():
    """The CLI's handler of bad input (exit 2, one line) catches it as it catches a bad export."""
    from funnel_analysis.crm import DataLoadError

    assert issubclass(FiguresError, DataLoadError)
    assert FiguresError("f.csv", "x", row=2).row == 2


def test_period_frequency():
    assert [period_frequency(p) for p in ("FY2025-Q1", "fy2025-m12", "2025")] == ["Q", "M", "Y"]
    with pytest.raises(ValueError, match="not a fiscal period"):
        period_frequency("2025-Q5")
