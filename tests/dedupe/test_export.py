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
