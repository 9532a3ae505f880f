"""The merged export folder loads again with the same rows and values."""

from __future__ import annotations

import pandas as pd
import pytest

import funnel_analysis as fa
from funnel_analysis.dedupe.export import to_salesforce_frames, write_export_folder


def test_round_trip_through_an_export_folder(tiny_crm, tmp_path):
    write_export_folder(tiny_crm.tables, tmp_path / "out", columns_present=tiny_crm.meta["columns_present"])
    again = fa.load_org(tmp_path / "out")
    for name, df in tiny_crm.tables.items():
        if name == "stages":
            continue
        pd.testing.assert_frame_equal(again.tables[name], df, check_like=True)


def test_api_names_and_text_values():
    leads = pd.DataFrame(
        {
            "lead_id": ["00Q000000000001AAA"],
            "is_converted": [True],
            "number_of_employees": [12.0],
            "created_date": pd.to_datetime(["2024-01-02 03:04:05"], utc=True),
            "converted_date": pd.to_datetime(["2024-02-01"]),
        }
    )
    frame = to_salesforce_frames({"leads": leads})["Lead"]
    assert frame.iloc[0].to_dict() == {
        "Id": "00Q000000000001AAA",
        "CreatedDate": "2024-01-02T03:04:05.000+0000",
        "NumberOfEmployees": "12",
        "IsConverted": "true",
        "ConvertedDate": "2024-02-01",
    }


def test_failure_without_key():
    with pytest.raises(ValueError, match="key column"):
        to_salesforce_frames({"leads": pd.DataFrame({"email": ["a@b.io"]})})


def test_the_export_holds_one_table_text_at_a_time(tiny_crm, tmp_path, monkeypatch):
    # issue 19: the text of every table at once was gigabytes at a million leads; each table's text is
    # made when its file is written and let go before the next (weak references to every text frame)
    import gc
    import weakref

    from funnel_analysis.dedupe import export

    made, alive_at_each = [], []
    real = export._text_frame

    def tracked(df, cols):
        gc.collect()
        alive_at_each.append(sum(r() is not None for r in made))
        frame = real(df, cols)
        made.append(weakref.ref(frame))
        return frame

    monkeypatch.setattr(export, "_text_frame", tracked)
    paths = write_export_folder(tiny_crm.tables, tmp_path / "out", columns_present=tiny_crm.meta["columns_present"])
    assert len(made) == len(paths) > 3
    assert alive_at_each == [0] * len(made)
    # the same files as the frames of to_salesforce_frames, written with pandas (an independent writer)
    frames = to_salesforce_frames(tiny_crm.tables, columns_present=tiny_crm.meta["columns_present"])
    assert sorted(p.stem for p in paths) == sorted(frames)
    for obj, frame in frames.items():
        again = pd.read_csv(tmp_path / "out" / f"{obj}.csv", dtype=str, keep_default_na=False)
        expected = frame.astype(object).where(frame.notna(), "").astype(str)
        pd.testing.assert_frame_equal(again, expected.reset_index(drop=True), check_dtype=False)
