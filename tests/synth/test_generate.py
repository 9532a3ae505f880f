"""Tests of the sample-org generator (funnel_analysis.synth).

Expected values come from the truth folder the generator writes or are
recomputed here from the CSV files; nothing is copied from a run.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv
import pytest
from scipy import stats

from funnel_analysis.crm import TABLES, to_18
from funnel_analysis.crm.schema import snake_case
from funnel_analysis.synth import (
    GENERATOR_VERSION,
    ORG_SHAPES,
    ORG_SHAPES_DEFAULT,
    SAMPLE_FILES,
    SAMPLE_OPTIONS,
    SHAPE_FILES,
    generate_sample,
)

FILE_TABLE = {
    "Lead.csv": "leads",
    "Opportunity.csv": "opportunities",
    "OpportunityHistory.csv": "opportunity_history",
    "OpportunityStage.csv": "stages",
    "Account.csv": "accounts",
    "Contact.csv": "contacts",
    "Task.csv": "activities",
    "Event.csv": "activities",
    "Campaign.csv": "campaigns",
    "CampaignMember.csv": "campaign_members",
    "User.csv": "users",
}
#: the org shapes' files (issue 16), written with the shapes on
SHAPE_TABLE = {
    "LeadStatus.csv": "lead_statuses",
    "Group.csv": "groups",
    "GroupMember.csv": "group_members",
    "LeadHistory.csv": "lead_history",
    "OpportunityFieldHistory.csv": "opportunity_field_history",
    "OpportunityContactRole.csv": "contact_roles",
    "BusinessHours.csv": "business_hours",
    "Holiday.csv": "holidays",
}
#: the Salesforce default lead statuses, the ones written with the shapes off
DEFAULT_LEAD_STATUSES = {
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
}
NO_SHAPES = dict.fromkeys(ORG_SHAPES, False)
PREFIX = {
    "Lead.csv": "00Q",
    "Opportunity.csv": "006",
    "OpportunityHistory.csv": "008",
    "Account.csv": "001",
    "Contact.csv": "003",
    "Task.csv": "00T",
    "Event.csv": "00U",
    "Campaign.csv": "701",
    "CampaignMember.csv": "00v",
    "User.csv": "005",
    "OpportunityStage.csv": "01J",
}
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.000%z"
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def canon_of_header(table: str, header: str) -> str | None:
    """The canonical column a header loads into (schema name/alias, else snake_case)."""
    spec = TABLES[table]
    rename = spec.sf_rename()
    if header in rename:
        return rename[header]
    name = snake_case(header)
    return name if spec.column(name) is not None else None


def header_of(table: str, df: pd.DataFrame, column: str) -> str:
    matches = [h for h in df.columns if canon_of_header(table, h) == column]
    assert len(matches) == 1, (table, column, list(df.columns))
    return matches[0]


def describe_types(folder: Path, name: str) -> dict[str, str] | None:
    """``{field: type}`` of the custom fields in the describe file beside ``name`` (None: no such file)."""
    path = folder / name.replace(".csv", ".describe.json")
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["name"] == name.removesuffix(".csv")
    # one field per column of the CSV, in its order
    assert [f["name"] for f in doc["fields"]] == list(read(folder, name).columns), name
    return {f["name"]: f["type"] for f in doc["fields"] if f["custom"]}


def make_org(folder: Path, shapes: bool, **kwargs) -> SimpleNamespace:
    """Generate an org into ``folder``; ``shapes`` says whether the org shapes are on in ``kwargs``."""
    summary = generate_sample(folder / "sample", **kwargs)
    out, truth = folder / "sample", folder / "sample_truth"
    files = {name: read(out, name) for name in SAMPLE_FILES}
    dirty = pd.read_csv(truth / "dirty_rows.csv", dtype=str, keep_default_na=False)
    dirty["row"] = dirty["row"].astype(int)
    deleted = pd.read_csv(truth / "deleted_records.csv", dtype=str, keep_default_na=False)
    deleted["row"] = deleted["row"].astype(int)
    return SimpleNamespace(
        out=out,
        truth=truth,
        summary=summary,
        shapes=shapes,
        files=files,
        dirty=dirty,
        deleted=deleted,
        pairs=pd.read_csv(truth / "merged_pairs.csv", dtype=str, keep_default_na=False),
        clusters=pd.read_csv(truth / "duplicate_clusters.csv", dtype=str, keep_default_na=False),
        rates=pd.read_csv(truth / "source_rates.csv"),
        info=json.loads((truth / "truth.json").read_text(encoding="utf-8")),
    )


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """The sample users get: the default options (deleted and merged rows, three currencies, modstamps, and
    the org shapes since GENERATOR_VERSION 1.2)."""
    return make_org(tmp_path_factory.mktemp("org"), ORG_SHAPES_DEFAULT, scale=0.2, seed=11)


@pytest.fixture(scope="module")
def org_off(tmp_path_factory):
    """The same org with the org shapes off (the real-org options still on): the 1.1 sample."""
    return make_org(tmp_path_factory.mktemp("org_off"), False, scale=0.2, seed=11, **NO_SHAPES)


@pytest.fixture(params=["shapes_on", "shapes_off"])
def any_org(request):
    """The default org (shapes on), then the org with the shapes off."""
    org = request.getfixturevalue("org" if request.param == "shapes_on" else "org_off")
    assert org.shapes == (request.param == "shapes_on")
    return org


def lead_statuses(org) -> pd.DataFrame:
    """LeadStatus.csv with the shapes on; with them off, the default statuses (no file is written)."""
    path = org.out / "LeadStatus.csv"
    assert path.exists() == org.shapes
    if org.shapes:
        return read(org.out, "LeadStatus.csv")
    labels = sorted(DEFAULT_LEAD_STATUSES)
    return pd.DataFrame(
        {"MasterLabel": labels, "IsConverted": ["true" if s == "Closed - Converted" else "false" for s in labels]}
    )


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("det")
    a = generate_sample(base / "a", scale=0.05, seed=5)
    b = generate_sample(base / "b", scale=0.05, seed=5)
    c = generate_sample(base / "c", scale=0.05, seed=6)
    return SimpleNamespace(base=base, a=a, b=b, c=c)


def dirty_rows(org, name: str, expected: str | None = None) -> set[int]:
    d = org.dirty[org.dirty["file"] == name]
    if expected is not None:
        d = d[d["expected"] == expected]
    return set(d["row"])


def deleted_rows(org, name: str) -> set[int]:
    """The extra IsDeleted rows (deleted, child_of_deleted, merged) of a file, from the file itself."""
    flags = org.files[name].get("IsDeleted")
    rows = set() if flags is None else set(np.flatnonzero(flags.to_numpy() == "true").tolist())
    # the truth lists the same rows
    assert rows == set(org.deleted.loc[org.deleted["file"] == name, "row"]), name
    return rows


def clean_frame(org, name: str) -> pd.DataFrame:
    """The org's own rows with no recorded defect (no dirty row, no IsDeleted row)."""
    df = org.files[name]
    return df.drop(index=sorted(dirty_rows(org, name) | deleted_rows(org, name)))


def survivors(org) -> dict[str, str]:
    """Merged-away Id -> its final survivor, following MasterRecordId in the files by hand."""
    master = {}
    for name in ("Lead.csv", "Contact.csv", "Account.csv"):
        df = org.files[name]
        m = df[df["MasterRecordId"] != ""]
        master.update(zip(m["Id"], m["MasterRecordId"]))
    out = {}
    for rid in master:
        cur = rid
        while cur in master:
            cur = master[cur]
        out[rid] = cur
    return out


def without_quarantine(org, name: str) -> pd.DataFrame:
    """The org's own rows as a loader should keep them: no quarantine row, no IsDeleted row, the
    cleaner's fixes applied and references to merged-away records re-pointed to their survivor,
    all independently of the generator."""
    drop = dirty_rows(org, name, "quarantine") | deleted_rows(org, name)
    df = org.files[name].drop(index=sorted(drop)).copy()
    table = FILE_TABLE[name]
    survivor = survivors(org)
    for h in df.columns:
        canon = canon_of_header(table, h)
        kind = TABLES[table].column(canon).kind if canon else None
        if kind == "id":
            df[h] = df[h].map(lambda v: to_18(v) if len(v) == 15 else v)
            if h != "Id":
                df[h] = df[h].map(lambda v: survivor.get(v, v))
        elif kind == "picklist":
            df[h] = df[h].map(lambda v: " ".join(v.split()))
    return df


def picklist_canon(values) -> dict[str, str]:
    return {norm(v): v for v in values}


# ---------------------------------------------------------------------------
# files, headers, determinism, scale
# ---------------------------------------------------------------------------


def test_files_headers_and_summary(any_org):
    org = any_org
    described = set()
    for name in SAMPLE_FILES:
        assert (org.out / name).exists()
        df = org.files[name]
        table = FILE_TABLE[name]
        assert df.columns[0] == "Id"
        # a custom field the schema does not know is typed in the describe file beside the CSV
        custom = describe_types(org.out, name)
        if custom is not None:
            described.add(name)
            assert set(custom) == {h for h in df.columns if h.endswith("__c")}, name
        for h in df.columns:
            if name == "OpportunityStage.csv" and h == "Id":
                continue
            if canon_of_header(table, h) is None and (name, h) != ("Opportunity.csv", "NextStep"):
                # (NextStep: a standard field the routing's stage criteria read; the schema may not list it yet)
                assert h.endswith("__c") and h in (custom or {}), (name, h)
        assert len(df) == org.summary["rows"][name] == org.info["rows_written"][name]
        assert org.summary["bytes"][name] == (org.out / name).stat().st_size
    # the shapes' custom fields and files, and none of them with the shapes off
    lead_custom = {"Zip__c", "Lead_Score__c"}
    opp_custom = {"Budget_Confirmed__c", "Discount__c", "ARR__c"}
    assert described == ({"Lead.csv", "Opportunity.csv"} if org.shapes else set())
    for name, fields in (("Lead.csv", lead_custom), ("Opportunity.csv", opp_custom)):
        assert fields & set(org.files[name].columns) == (fields if org.shapes else set()), name
    assert (org.out / "joined_source").is_dir() == org.shapes
    for name in SHAPE_FILES:
        assert (org.out / name).exists() == org.shapes, name
        if not org.shapes:
            assert name not in org.summary["rows"] and name not in org.info["rows_written"], name
            continue
        df = read(org.out, name)
        assert df.columns[0] == "Id", name
        assert all(canon_of_header(SHAPE_TABLE[name], h) is not None for h in df.columns), name
        assert len(df) == org.summary["rows"][name] == org.info["rows_written"][name], name
        assert org.summary["bytes"][name] == (org.out / name).stat().st_size, name
    assert "Region__c" in org.files["Account.csv"] and "Region__c" in org.files["User.csv"]
    assert "Role__c" in org.files["User.csv"]
    expected = {
        "Lead.csv": [
            "Status",
            "Company",
            "Email",
            "Phone",
            "Country",
            "Industry",
            "OwnerId",
            "CreatedDate",
            "LeadSource",
            "IsConverted",
            "ConvertedDate",
            "ConvertedAccountId",
            "ConvertedContactId",
            "ConvertedOpportunityId",
        ],
        "Opportunity.csv": [
            "AccountId",
            "Name",
            "StageName",
            "Amount",
            "Probability",
            "CloseDate",
            "IsClosed",
            "IsWon",
            "ForecastCategory",
            "LeadSource",
            "Type",
            "OwnerId",
            "CampaignId",
            "CreatedDate",
        ],
        "OpportunityHistory.csv": [
            "OpportunityId",
            "CreatedDate",
            "StageName",
            "Amount",
            "Probability",
            "CloseDate",
            "ForecastCategory",
            "CreatedById",
        ],
        "OpportunityStage.csv": [
            "MasterLabel",
            "SortOrder",
            "DefaultProbability",
            "IsClosed",
            "IsWon",
            "ForecastCategoryName",
            "IsActive",
        ],
        "Task.csv": [
            "WhoId",
            "WhatId",
            "Subject",
            "ActivityDate",
            "Status",
            "Priority",
            "Type",
            "OwnerId",
            "CreatedDate",
            "IsClosed",
        ],
        "Event.csv": [
            "WhoId",
            "WhatId",
            "Subject",
            "ActivityDate",
            "Type",
            "DurationInMinutes",
            "OwnerId",
            "CreatedDate",
        ],
        "CampaignMember.csv": [
            "CampaignId",
            "LeadId",
            "ContactId",
            "Status",
            "HasResponded",
            "FirstRespondedDate",
            "CreatedDate",
        ],
        "Campaign.csv": ["Name", "Type", "Status", "StartDate", "EndDate", "BudgetedCost", "ActualCost", "IsActive"],
    }
    # the default options: export all (IsDeleted, MasterRecordId), currencies, modstamps
    for name in expected:
        expected[name] = expected[name] + ["SystemModstamp"]
        if name != "OpportunityStage.csv":
            expected[name].append("IsDeleted")
        if name not in ("OpportunityHistory.csv", "OpportunityStage.csv"):
            expected[name].append("LastModifiedDate")
        if name in ("Lead.csv", "Opportunity.csv", "OpportunityHistory.csv", "Campaign.csv"):
            expected[name].append("CurrencyIsoCode")
        if name == "Lead.csv":
            expected[name].append("MasterRecordId")
    expected["Account.csv"] = ["IsDeleted", "MasterRecordId", "CurrencyIsoCode", "LastModifiedDate", "SystemModstamp"]
    expected["Contact.csv"] = expected["Account.csv"]
    expected["User.csv"] = ["LastModifiedDate", "SystemModstamp"]
    for name, cols in expected.items():
        assert set(cols) <= set(org.files[name].columns), name
    assert "IsDeleted" not in org.files["User.csv"] and "IsDeleted" not in org.files["OpportunityStage.csv"]
    for name in ("CurrencyType.csv", "DatedConversionRate.csv"):
        assert (org.out / name).exists()
        assert len(read(org.out, name)) == org.summary["rows"][name] == org.info["rows_written"][name]
    assert sorted(read(org.out, "CurrencyType.csv")["IsoCode"]) == ["EUR", "GBP", "USD"]
    assert org.info["seed"] == 11 and org.info["scale"] == 0.2
    assert set(org.summary) >= {"out_dir", "truth_dir", "rows", "bytes", "seconds"}


def test_default_truth_dir_is_a_sibling(org):
    assert org.truth == org.out.with_name("sample_truth")
    assert Path(org.summary["truth_dir"]) == org.truth


def test_csv_reads_back_with_pyarrow(org):
    for name in SAMPLE_FILES:
        table = pacsv.read_csv(org.out / name)
        assert table.num_rows == len(org.files[name])
        assert table.column_names == list(org.files[name].columns)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder``, sub-folders included, by its path relative to ``folder``."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_deterministic_for_a_seed(small_runs):
    base = small_runs.base
    for suffix in ("", "_truth"):  # the export and its truth folder
        a, b = tree(base / f"a{suffix}"), tree(base / f"b{suffix}")
        assert a and sorted(a) == sorted(b)
        for name in a:
            assert a[name] == b[name], name
    # the comparison reaches into the sub-folder (the joined source, with the shapes on by default)
    assert {"joined_source/leads.csv", "joined_source/deals.csv"} <= set(tree(base / "a")) or not ORG_SHAPES_DEFAULT
    assert (base / "a" / "Lead.csv").read_bytes() != (base / "c" / "Lead.csv").read_bytes()
    assert (base / "a" / "Opportunity.csv").read_bytes() != (base / "c" / "Opportunity.csv").read_bytes()


#: sha256 of every file of ``generate_sample(out, scale=0.02, seed=7)`` with every option off
#: (deleted, merged, currencies, modstamps), taken at GENERATOR_VERSION "1.0" before the options existed;
#: truth.json updated at "1.1" (the defaults turned on: its "version" is the only change, the rest is
#: the 1.0 output), and still the output at "1.2" (the org shapes on by default: with them off, too, nothing
#: changes). A change on purpose updates these hashes and bumps GENERATOR_VERSION, in the same commit.
GOLDEN_OPTIONS_OFF = {
    "org/Account.csv": "e20c7d550f6ffa74cbf67cb554893481aa6ee537599e64c130c4741dc0f9c3b8",
    "org/Campaign.csv": "07acb288d762aa58515e53684e56b9f34e966d7664386970465d23ff91f448d0",
    "org/CampaignMember.csv": "cc45307c29c9f505003f76a934a3b9fbb7efa9faa373a3d79706c86f6ab38770",
    "org/Contact.csv": "3a1adc56b910041d589967ff21e2e751f65bb711b0b829528a05d85ed4b0353c",
    "org/Event.csv": "f4ad4295609383823942f1dfc90895478597acc975f050acd54d440da48c28cd",
    "org/Lead.csv": "a272a3c66bd65b4bd0f7557381e3959bcc5e3e78ccf1024455e3304b0c511896",
    "org/Opportunity.csv": "8ef21ad9956e63e2b1c5824708ec4208a07f6963aa52ef79d1a7229b67911602",
    "org/OpportunityHistory.csv": "f7fc2e1bd71e89bd5ad0b7731b04accf489c7a0d03138219db61a1d7c5db1a4b",
    "org/OpportunityStage.csv": "214d9e6bf4fec740c4d1fac967bdc86a2d9853b1b6293f5340af3a9bb9c14f9a",
    "org/Task.csv": "3023ca924b35a3aeeaec7f8d997f747bcd64aec6f7aa9df5bbcc902c09d45220",
    "org/User.csv": "b60733aa8cef57d83f374ff7c8c72d11228d3a991f676a02a7319d02d6b6e60d",
    "org_truth/dirty_rows.csv": "122eeb06a0e4af24a8a9e953c60296d277a1665599b990837cc9c90891a76f15",
    "org_truth/duplicate_clusters.csv": "864c8c0dd64a6830ccbce05f0b2828f4051e4f2e07a80b036183110618743fa4",
    "org_truth/lead_probabilities.csv": "c2dacbd0c0ac2175911472f6e6261d0f16a6932f9365b96a66b0f9681d9c6e2b",
    "org_truth/source_rates.csv": "a2e0d425c649e178104b8956760c4be04b477e3280a93b3419327db92d8e505c",
    "org_truth/truth.json": "0be161fb08a747988aacb24d8ceb0d64a154f8cf01c85f4235915423907165f6",
}


def test_options_off_output_is_pinned(tmp_path):
    """With the options off, the output for a seed is the generator's from before the options.

    The hashes were taken on Linux x86-64 (numpy's float functions could differ in the last bit
    elsewhere).
    """
    off = dict.fromkeys(SAMPLE_OPTIONS, False)
    generate_sample(tmp_path / "org", scale=0.02, seed=7, **off)
    got = {
        f"{d}/{k}": hashlib.sha256(v).hexdigest() for d in ("org", "org_truth") for k, v in tree(tmp_path / d).items()
    }
    # truth.json is pinned at version 1.1: a later version (the org shapes on by default) is its only change
    info = json.loads((tmp_path / "org_truth" / "truth.json").read_text(encoding="utf-8"))
    assert info["version"] == GENERATOR_VERSION
    text = json.dumps(dict(info, version="1.1"), indent=2, ensure_ascii=False) + "\n"
    got["org_truth/truth.json"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    changed = sorted(k for k in GOLDEN_OPTIONS_OFF if got.get(k) != GOLDEN_OPTIONS_OFF[k])
    assert set(got) == set(GOLDEN_OPTIONS_OFF) and not changed, (
        f"output with the options off changed (GENERATOR_VERSION {GENERATOR_VERSION}): {changed}"
    )


#: sha256 of every file of ``generate_sample(out, scale=0.02, seed=7)`` with the default options, sub-folder
#: included, taken at GENERATOR_VERSION "1.2" (the org shapes on by default). A change of the default output
#: on purpose updates these hashes and bumps GENERATOR_VERSION, in the same commit.
GOLDEN_DEFAULTS = {
    "org/Account.csv": "7cb3ea4008fa9be5a1d244b31ee8082a385fdecb24740d9593c599a76f9fe126",
    "org/Campaign.csv": "376a842be6f113d6b4b8006f5304dc872ed16dc582614fe44d97935c100c8bb6",
    "org/CampaignMember.csv": "9ec2aebcf25773761aa4cfdc6517083cdc1005295632fffa85c84ac8df936d3a",
    "org/Contact.csv": "af67e027bf0624a3bf8fd146806a5e319754dd805888ea47ad5f56d33838c06b",
    "org/CurrencyType.csv": "0e2ff1867a7074663e92b77eb69202719965e79b9ae02030d81d28f1336e4cc4",
    "org/DatedConversionRate.csv": "b975aa0831c05d94998a08981d4bb1ad82b09154eabaeb18b369065e50349ee9",
    "org/Event.csv": "ff014b13ba442bc22e1c65c16b5776b6c5aeea12fe2436f0db1d8c7df010b83e",
    "org/Group.csv": "960891cd60ba0c65df4be96ee1cafdd43d18999ab24dbb0a47d3e550b4ba6865",
    "org/GroupMember.csv": "f19aef0d758138056d56d47bf766237d49a02400c5d1f5e333edaa64a66a25cf",
    "org/Lead.csv": "04df34c29731786382d06abf6a385264e9362d29fae84f0ab7841983bf56c474",
    "org/Lead.describe.json": "c25cfa6d92f8e19dc6bd5b490fccced3868e705781d3955c8811b83ed42265ff",
    "org/LeadHistory.csv": "f81e379110841dede4624e79778ff161188df70e2c67292fddf9c7feec2fc078",
    "org/LeadStatus.csv": "de6bd8d1954b24b004b1b2812422ef9c88d4213c5f0d89a40f9ea4492dbb98ae",
    "org/Opportunity.csv": "eb81d9a3874bf19a8c6f7f5e134ca0bc257fa39185f01881157775c887ab8149",
    "org/Opportunity.describe.json": "913f145e5b75a37f5a3cde88d8503eb5bb82dd9cf8596926aff1e7a302129c08",
    "org/OpportunityContactRole.csv": "c748714215631d3535645c8557a085910e2473d42f5bcfaf1e5b14a46c97377a",
    "org/OpportunityFieldHistory.csv": "d10f610fb6c4f04cabbdc36e5130c099abef736b81b5c2b600c6536c53ba1917",
    "org/OpportunityHistory.csv": "dba2ddeac1483b8ed30dc9166aeb830a6d86173f7a725534fc6d140e3e8f1bc4",
    "org/OpportunityStage.csv": "e604913dda77d458ed60339e731456d80276ec0ab3932423eee7d5aa0670b828",
    "org/Task.csv": "d5cee1e17de248f9b0b5fc893b27ac526147a48200b3251a5e47e6cfa8e95129",
    "org/User.csv": "1342404750730c96e1230019976f92943764a20d4b7c7c6be6a713dd8ff91340",
    "org/joined_source/deals.csv": "03af512ee462d9ce49663543a9edb33ee1772c0f4f84435c049bae1eebb37add",
    "org/joined_source/leads.csv": "43e26494647930fd99ed0f90011a349e64bb35c2e7e61c4828b64efbac69a8f4",
    "org_truth/bookings_corporate.csv": "d66c71c46cc4805e10711207cd4c5cfb2fa87089dfc44592b046213e4fc046f8",
    "org_truth/close_date_pushes.csv": "f4ef59a57d14dcb111c740c6ea6d8d9de0508e2185c48c0cf3811bfb3699b4ca",
    "org_truth/deleted_records.csv": "dc7a6774a7b3133c18a8eb551d3ed0e79533de4a094b848c5db30c3822077354",
    "org_truth/dirty_rows.csv": "5e602dca71f893f2e095e53af5f4ca0c7906b6226a8481e7761e49f3e99c3424",
    "org_truth/duplicate_clusters.csv": "864c8c0dd64a6830ccbce05f0b2828f4051e4f2e07a80b036183110618743fa4",
    "org_truth/joined_converted_leads.csv": "ab3a1080da6072b26ec48ad4150954af90454b3070b636254639ecbec2e1b824",
    "org_truth/lead_probabilities.csv": "c2dacbd0c0ac2175911472f6e6261d0f16a6932f9365b96a66b0f9681d9c6e2b",
    "org_truth/lead_status_on_dates.csv": "b7d90da9b41d73d9dccfd4200e5caeadbe7865334ab7305fb4eeeb6f3bd70e5a",
    "org_truth/merged_pairs.csv": "b3ad289a0a18500cf3ba1003d8890d813dbbd455f4bfab18d01da42b8f28651b",
    "org_truth/open_pipeline.csv": "2edaa9d209a98a62fe632353566f5ff44fa0adb5db3ea8e3649322ddb07acf19",
    "org_truth/queue_time.csv": "7598a77cd08deef61e66f760d6c738a06388433abfba07db9adbd1c31f27f9aa",
    "org_truth/repointed_references.csv": "b63a3b72ef015cbbb52cc11365cb2c054c2b950db0db44f41eaa0ee14f685c7b",
    "org_truth/source_rates.csv": "a2e0d425c649e178104b8956760c4be04b477e3280a93b3419327db92d8e505c",
    "org_truth/truth.json": "652376a7557149b4389d1161870197148d6f019b96a6c7660d3404a7f7ed68d1",
}


def test_default_output_without_routing_is_the_one_of_1_2(tmp_path):
    """With routing off (GENERATOR_VERSION 1.3's one new option) the output is byte for byte 1.2's."""
    generate_sample(tmp_path / "org", scale=0.02, seed=7, routing=False)
    got = {
        f"{d}/{k}": hashlib.sha256(v).hexdigest() for d in ("org", "org_truth") for k, v in tree(tmp_path / d).items()
    }
    # truth.json differs by its version and the routing option only
    got.pop("org_truth/truth.json")
    info = json.loads((tmp_path / "org_truth" / "truth.json").read_text(encoding="utf-8"))
    assert info["version"] == GENERATOR_VERSION == "1.3"
    golden = {k: v for k, v in GOLDEN_DEFAULTS.items() if k != "org_truth/truth.json"}
    changed = sorted(k for k in golden if got.get(k) != golden[k])
    assert set(got) == set(golden) and not changed, changed or sorted(set(got) ^ set(golden))


def test_row_counts_scale_linearly(org, small_runs):
    big, small = org.summary["rows"], small_runs.a["rows"]
    ratio = 0.2 / 0.05
    for name, tol in (
        ("Lead.csv", 0.05),
        ("Opportunity.csv", 0.2),
        ("OpportunityHistory.csv", 0.25),
        ("Task.csv", 0.25),
        ("Contact.csv", 0.25),
    ):
        assert abs(big[name] / small[name] / ratio - 1) < tol, name
    # the lead volume is the documented rate times the window and the scale
    per_year = org.info["lead_model"]["leads_per_year_at_scale_1"]
    assert org.rates["n_leads"].sum() == pytest.approx(per_year * org.info["years"] * 0.2, rel=0.01)
    assert (
        org.rates["n_leads"].sum()
        == len(org.files["Lead.csv"])
        - len(dirty_rows(org, "Lead.csv", "quarantine"))
        - len(deleted_rows(org, "Lead.csv"))
        - (org.clusters[(org.clusters["table"] == "leads")]["is_original"] == "false").sum()
    )


def test_years_lengthen_the_history(small_runs):
    one = generate_sample(small_runs.base / "one_year", scale=0.05, seed=5, start="2021-07-01", years=1)
    ratio = one["rows"]["Lead.csv"] / small_runs.a["rows"]["Lead.csv"]
    assert ratio == pytest.approx(1 / 3, rel=0.1)
    leads = read(small_runs.base / "one_year", "Lead.csv")
    created = pd.to_datetime(leads["CreatedDate"], format=TS_FORMAT, errors="coerce").dropna()
    assert created.min() >= pd.Timestamp("2021-07-01", tz="UTC")
    assert created.max() < pd.Timestamp("2022-07-01", tz="UTC")


# ---------------------------------------------------------------------------
# IDs and clean rows
# ---------------------------------------------------------------------------


def test_ids_are_valid_18_char(org):
    for name in SAMPLE_FILES:
        df = org.files[name]
        table = FILE_TABLE[name]
        exempt = org.dirty[(org.dirty["file"] == name) & org.dirty["kind"].isin(["id15", "missing_id"])]
        exempt = set(zip(exempt["row"], exempt["column"]))
        id_cols = ["Id"] + [
            h
            for h in df.columns
            if canon_of_header(table, h) and TABLES[table].column(canon_of_header(table, h)).kind == "id" and h != "Id"
        ]
        for h in id_cols:
            canon = canon_of_header(table, h) or "Id"
            for i, v in enumerate(df[h].tolist()):
                if v == "" or (i, canon) in exempt or (h == "Id" and (i, TABLES[table].key) in exempt):
                    continue
                assert len(v) == 18 and to_18(v[:15]) == v, (name, h, i, v)
        ids = df["Id"][df["Id"] != ""]
        assert ids.str.startswith(PREFIX[name]).all(), name


#: how a custom field of each describe type is written (a boolean ``true``/``false``, numbers ``>= 0``)
DESCRIBE_KIND = {"string": "text", "double": "float", "percent": "float", "currency": "float", "boolean": "bool"}


def test_clean_rows_have_no_unrecorded_defects(any_org):
    """Rows not in dirty_rows.csv parse, are canonical, and obey the flag rules.

    Duplicate records may spell their e-mail differently (that is how they
    differ from the original), so the e-mail case check skips them. A custom
    field the schema does not know is checked against its describe type.
    """
    org = any_org
    dups = set(org.clusters.loc[org.clusters["is_original"] == "false", "record_id"])
    for name in SAMPLE_FILES:
        df = clean_frame(org, name)
        table = FILE_TABLE[name]
        is_dup = df["Id"].isin(dups)
        assert not df["Id"].duplicated().any(), name
        assert (df["Id"] != "").all(), name
        custom = describe_types(org.out, name) or {}
        for h in df.columns:
            canon = canon_of_header(table, h)
            if name == "OpportunityStage.csv" and h == "Id":
                continue  # not a canonical column (the stages are keyed by their label)
            if (name, h) == ("Opportunity.csv", "NextStep"):
                kind = "str"  # a standard text field (routing's stage criteria), maybe not in the schema yet
            elif canon is None:
                kind = DESCRIBE_KIND[custom[h]]  # a KeyError: an unknown header or describe type
            else:
                kind = TABLES[table].column(canon).kind
            v = df[h][df[h] != ""]
            if kind == "datetime":
                assert pd.to_datetime(v, format=TS_FORMAT, errors="coerce").notna().all(), (name, h)
            elif kind == "date":
                assert pd.to_datetime(v, format="%Y-%m-%d", errors="coerce").notna().all(), (name, h)
            elif kind in ("float", "int"):
                num = pd.to_numeric(v, errors="coerce")
                assert num.notna().all() and (num >= 0).all(), (name, h)
            elif kind == "bool":
                assert v.isin(["true", "false"]).all(), (name, h)
            elif kind == "email":
                assert v.map(lambda e: bool(EMAIL.fullmatch(e))).all(), (name, h)
                assert (v == v.str.strip().str.lower())[~is_dup].all(), (name, h)
            elif kind == "phone":
                assert v.str.fullmatch(r"\+\d{8,15}").all(), (name, h)
            elif kind == "picklist":
                assert (v == v.map(lambda x: " ".join(x.split()))).all(), (name, h)
                # no two spellings of one value among clean rows
                assert v.map(norm).nunique() == v.nunique(), (name, h)
    opp = clean_frame(org, "Opportunity.csv")
    assert (opp["Amount"] != "").all()
    assert (pd.to_numeric(opp["Amount"]) > 0).all()
    assert pd.to_numeric(opp["Probability"]).between(0, 100).all()
    assert (opp["CloseDate"] >= opp["CreatedDate"].str[:10]).all()
    hist = clean_frame(org, "OpportunityHistory.csv")
    assert pd.to_numeric(hist["Probability"]).between(0, 100).all()
    leads = clean_frame(org, "Lead.csv")
    conv = leads[leads["IsConverted"] == "true"]
    assert (conv["ConvertedDate"] >= conv["CreatedDate"].str[:10]).all()
    assert set(clean_frame(org, "Lead.csv")["LeadSource"]) <= set(org.rates["lead_source"])
    stages = org.files["OpportunityStage.csv"]
    assert set(opp["StageName"]) <= set(stages["MasterLabel"])
    # the org's lead statuses: LeadStatus.csv with the shapes on, the default four with them off
    statuses = lead_statuses(org)
    assert set(leads["Status"]) <= set(statuses["MasterLabel"])
    assert set(leads["Status"]).isdisjoint(DEFAULT_LEAD_STATUSES) == org.shapes
    if org.shapes:
        st = read(org.out, "LeadStatus.csv")
        assert (st["MasterLabel"] == st["ApiName"]).all() and not st["MasterLabel"].duplicated().any()
        assert (st["IsDefault"] == "true").sum() == 1 and (st["IsConverted"] == "true").sum() == 1
        assert st["SortOrder"].astype(int).is_monotonic_increasing


def test_phones_are_valid_numbers(org):
    phonenumbers = pytest.importorskip("phonenumbers")
    for name, country_col in (
        ("Lead.csv", "Country"),
        ("Account.csv", "BillingCountry"),
        ("Contact.csv", "MailingCountry"),
    ):
        df = clean_frame(org, name)
        df = df[df["Phone"] != ""].sample(n=300, random_state=0, replace=True)
        iso = {c["name"]: c["iso"] for c in org.info["countries"]}
        for phone, country in zip(df["Phone"], df[country_col]):
            num = phonenumbers.parse(phone, None)
            assert phonenumbers.is_valid_number(num), phone
            assert phonenumbers.region_code_for_number(num) == iso[country], (phone, country)
        # merged-away rows may show a national phone: a valid number of their country too
        full = org.files[name]
        merged = full[(full["MasterRecordId"] != "") & (full["Phone"] != "")]
        assert len(merged) and not merged["Phone"].str.startswith("+").all(), name
        for phone, country in zip(merged["Phone"], merged[country_col]):
            num = phonenumbers.parse(phone, iso[country])
            assert phonenumbers.is_valid_number(num), (phone, country)
            assert phonenumbers.region_code_for_number(num) == iso[country], (phone, country)


# ---------------------------------------------------------------------------
# the business model
# ---------------------------------------------------------------------------


def test_opportunity_state_equals_last_history_row(org):
    opp = without_quarantine(org, "Opportunity.csv").set_index("Id")
    hist = without_quarantine(org, "OpportunityHistory.csv")
    hist = hist.assign(ts=pd.to_datetime(hist["CreatedDate"], format=TS_FORMAT))
    assert not hist.duplicated(["OpportunityId", "ts"]).any()
    last = hist.sort_values("ts").groupby("OpportunityId").tail(1).set_index("OpportunityId")
    assert set(last.index) == set(opp.index)
    last = last.loc[opp.index]
    for col in ("Amount", "Probability", "CloseDate"):
        assert (opp[col] == last[col]).all(), col
    for col in ("StageName", "ForecastCategory"):
        assert (opp[col].map(norm) == last[col].map(norm)).all(), col
    # history starts at the opportunity's creation
    first = hist.sort_values("ts").groupby("OpportunityId").head(1).set_index("OpportunityId").loc[opp.index]
    assert (first["CreatedDate"] == opp["CreatedDate"]).all()


def test_closed_and_won_follow_the_stage_table(org):
    stages = org.files["OpportunityStage.csv"].set_index("MasterLabel")
    canon = picklist_canon(stages.index)
    opp = without_quarantine(org, "Opportunity.csv")
    label = opp["StageName"].map(lambda v: canon[norm(v)])
    assert (opp["IsClosed"].values == stages.loc[label, "IsClosed"].values).all()
    assert (opp["IsWon"].values == stages.loc[label, "IsWon"].values).all()
    assert (
        pd.to_numeric(opp["Probability"]).values == pd.to_numeric(stages.loc[label, "DefaultProbability"]).values
    ).all()
    # the stage table is consistent with itself
    assert stages.loc[stages["IsWon"] == "true", "IsClosed"].eq("true").all()
    assert stages["SortOrder"].astype(int).is_monotonic_increasing


def test_history_has_realistic_paths(org):
    stages = org.files["OpportunityStage.csv"]
    order = dict(zip(stages["MasterLabel"].map(norm), stages["SortOrder"].astype(int)))
    hist = without_quarantine(org, "OpportunityHistory.csv")
    hist = hist.assign(
        ts=pd.to_datetime(hist["CreatedDate"], format=TS_FORMAT), so=hist["StageName"].map(lambda v: order[norm(v)])
    ).sort_values(["OpportunityId", "ts"])
    prev = hist.groupby("OpportunityId")["so"].shift()
    prev_close = hist.groupby("OpportunityId")["CloseDate"].shift()
    prev_amount = hist.groupby("OpportunityId")["Amount"].shift()
    stage_change = prev.notna() & (hist["so"] != prev)
    assert ((hist["so"] - prev) == 2).any(), "some deals skip a stage"
    assert ((hist["so"] - prev == -1) & (hist["so"] <= 5)).any(), "some deals move back"
    assert ((prev == 7) & (hist["so"] <= 5)).any(), "some deals are reopened"
    assert (prev.notna() & ~stage_change & (hist["CloseDate"] > prev_close)).any(), "close date pushes"
    assert (prev.notna() & ~stage_change & (hist["Amount"] != prev_amount)).any(), "amount changes"
    # closes bunch in the last two weeks of a quarter
    won = without_quarantine(org, "Opportunity.csv")
    won = pd.to_datetime(won.loc[won["IsWon"] == "true", "CloseDate"])
    q_end = won + pd.offsets.QuarterEnd(0)
    share_last_two_weeks = ((q_end - won).dt.days < 14).mean()
    assert share_last_two_weeks > 0.25  # uniform would be about 0.15
    # open deals remain at the export date
    opp = without_quarantine(org, "Opportunity.csv")
    assert (opp["IsClosed"] == "false").sum() > 0


def test_converted_leads_point_at_their_opportunity(any_org):
    org = any_org
    leads = without_quarantine(org, "Lead.csv")
    opp = without_quarantine(org, "Opportunity.csv").set_index("Id")
    accounts = set(without_quarantine(org, "Account.csv")["Id"])
    contacts = set(without_quarantine(org, "Contact.csv")["Id"])
    conv = leads[leads["IsConverted"] == "true"]
    assert len(conv) > 100
    assert conv["ConvertedOpportunityId"].isin(opp.index).all()
    assert conv["ConvertedAccountId"].isin(accounts).all()
    assert conv["ConvertedContactId"].isin(contacts).all()
    o = opp.loc[conv["ConvertedOpportunityId"]]
    assert (o["CreatedDate"].str[:10].values == conv["ConvertedDate"].values).all()
    assert (o["AccountId"].values == conv["ConvertedAccountId"].values).all()
    assert (leads.loc[leads["IsConverted"] == "false", "ConvertedOpportunityId"] == "").all()
    # status follows conversion: the one status with IsConverted true (LeadStatus.csv with the shapes on)
    statuses = lead_statuses(org)
    converted = statuses.loc[statuses["IsConverted"] == "true", "MasterLabel"].tolist()
    assert converted == (["Converted"] if org.shapes else ["Closed - Converted"])
    assert (conv["Status"].map(norm) == norm(converted[0])).all()
    assert (leads.loc[leads["IsConverted"] == "false", "Status"].map(norm) != norm(converted[0])).all()


def test_realised_conversion_matches_true_rates(org):
    leads = without_quarantine(org, "Lead.csv")
    dups = set(org.clusters.loc[org.clusters["is_original"] == "false", "record_id"])
    leads = leads[~leads["Id"].isin(dups)]
    canon = picklist_canon(org.rates["lead_source"])
    leads = leads.assign(source=leads["LeadSource"].map(lambda v: canon[norm(v)]))
    # all simulated leads: counts match the truth
    counts = leads.groupby("source").size()
    converted = leads[leads["IsConverted"] == "true"].groupby("source").size()
    rates = org.rates.set_index("lead_source")
    assert (counts.reindex(rates.index) == rates["n_leads"]).all()
    assert (converted.reindex(rates.index) == rates["n_converted"]).all()
    # mature leads had their full chance: a binomial 99.9% interval around the true rate
    cut = org.info["mature_leads_created_before"]
    flagged = set(org.files["Lead.csv"].loc[sorted(dirty_rows(org, "Lead.csv", "flag")), "Id"])
    mature = leads[(leads["CreatedDate"] < cut) & ~leads["Id"].isin(flagged)]
    for source, g in mature.groupby("source"):
        n, k = len(g), int((g["IsConverted"] == "true").sum())
        p = rates.loc[source, "true_conversion_rate"]
        lo, hi = stats.binom.ppf(0.0005, n, p), stats.binom.ppf(0.9995, n, p)
        assert lo <= k <= hi, (source, n, k, p)
    # and the sources really differ
    realised = mature.groupby("source")["IsConverted"].apply(lambda s: (s == "true").mean())
    assert realised["Referral"] > 3 * realised["Cold Call"]


def test_campaign_sources_have_memberships(org):
    leads = without_quarantine(org, "Lead.csv")
    members = without_quarantine(org, "CampaignMember.csv")
    camps = without_quarantine(org, "Campaign.csv").set_index("Id")
    resp = members[(members["Status"].map(norm) == "responded") & (members["LeadId"] != "")]
    resp = resp.assign(ctype=camps.loc[resp["CampaignId"], "Type"].map(norm).values)
    canon = picklist_canon(org.rates["lead_source"])
    ctype = {r.lead_source: r.campaign_type for r in org.rates.itertuples() if isinstance(r.campaign_type, str)}
    dups = set(org.clusters.loc[org.clusters["is_original"] == "false", "record_id"])
    for source, camp_type in ctype.items():
        ids = leads.loc[(leads["LeadSource"].map(lambda v: canon[norm(v)]) == source) & ~leads["Id"].isin(dups), "Id"]
        matched = set(resp.loc[resp["ctype"] == norm(camp_type), "LeadId"])
        assert ids.isin(matched).mean() > 0.8, source
    # members reference existing records
    assert members["CampaignId"].isin(camps.index).all()
    lead_ids = set(leads["Id"])
    assert members.loc[members["LeadId"] != "", "LeadId"].isin(lead_ids).all()
    assert ((members["LeadId"] != "") ^ (members["ContactId"] != "")).all()


def test_activities_carry_signal_and_fall_within_record_life(org):
    tasks = without_quarantine(org, "Task.csv")
    events = without_quarantine(org, "Event.csv")
    opp = without_quarantine(org, "Opportunity.csv").set_index("Id")
    leads = without_quarantine(org, "Lead.csv").set_index("Id")
    end = org.info["window_end"][:10]
    acts = pd.concat([tasks, events])
    on_opp = acts[acts["WhatId"] != ""]
    assert on_opp["WhatId"].isin(opp.index).all()
    o = opp.loc[on_opp["WhatId"]]
    assert (on_opp["ActivityDate"].values >= o["CreatedDate"].str[:10].values).all()
    assert (on_opp["ActivityDate"] < end).all()
    per_opp = on_opp.groupby("WhatId").size().reindex(opp.index, fill_value=0)
    closed = opp["IsClosed"] == "true"
    assert per_opp[closed & (opp["IsWon"] == "true")].mean() > 1.5 * per_opp[closed & (opp["IsWon"] == "false")].mean()
    on_lead = tasks[tasks["WhoId"].str.startswith("00Q")]
    flagged = set(org.files["Lead.csv"].loc[sorted(dirty_rows(org, "Lead.csv", "flag")), "Id"])
    on_lead = on_lead[~on_lead["WhoId"].isin(flagged)]
    assert on_lead["WhoId"].isin(leads.index).all()
    lead = leads.loc[on_lead["WhoId"]]
    assert (on_lead["ActivityDate"].values >= lead["CreatedDate"].str[:10].values).all()
    conv = lead["IsConverted"].values == "true"
    assert (on_lead["ActivityDate"].values[conv] <= lead["ConvertedDate"].values[conv]).all()
    assert set(tasks["Type"].map(norm)) == {"call", "email"}
    assert set(events["Type"].map(norm)) == {"meeting"}


def test_share_of_chinese_names_and_legal_suffixes(org):
    leads = clean_frame(org, "Lead.csv")
    han = leads["Name"].str.contains(r"[\u4e00-\u9fff]")
    assert 0.05 < han.mean() < 0.2
    accounts = clean_frame(org, "Account.csv")["Name"]
    for suffix in ("Inc", "LLC", "Ltd", "GmbH", "Corp.", "有限公司"):
        assert accounts.str.contains(suffix, regex=False).any(), suffix


# ---------------------------------------------------------------------------
# the truth files
# ---------------------------------------------------------------------------


def test_every_dirty_row_holds_its_defect(org):
    phonenumbers = pytest.importorskip("phonenumbers")
    d = org.dirty
    assert not d.duplicated(["file", "row"]).any(), "one defect per row"
    assert set(d["expected"]) == {"quarantine", "flag", "clean"}
    kinds = set(d["kind"])
    assert kinds >= {
        "missing_id",
        "duplicate_id",
        "unparseable_date",
        "unparseable_amount",
        "negative_amount",
        "probability_out_of_range",
        "orphan_history",
        "orphan_campaign_member",
        "missing_amount",
        "bad_email",
        "close_before_created",
        "converted_before_created",
        "picklist_variant",
        "id15",
        "email_case",
        "phone_format",
    }
    iso = {c["name"]: c["iso"] for c in org.info["countries"]}
    opp_ids = set(org.files["Opportunity.csv"]["Id"])
    camp_ids = set(org.files["Campaign.csv"]["Id"])
    canonical_sets: dict = {}
    for r in d.itertuples():
        df = org.files[r.file]
        row = df.iloc[r.row]
        assert row["Id"] == r.record_id
        h = header_of(r.table, df, r.column) if r.kind not in ("missing_id", "duplicate_id") else "Id"
        v = row[h]
        assert v == r.written_value, (r.file, r.row, r.kind)
        if r.kind == "missing_id":
            assert v == ""
        elif r.kind == "duplicate_id":
            assert v != "" and v in set(df["Id"].iloc[: r.row])
        elif r.kind == "unparseable_date":
            assert pd.isna(pd.to_datetime(v, format="ISO8601", errors="coerce"))
            assert pd.isna(pd.to_datetime(v, format="mixed", errors="coerce"))
        elif r.kind == "unparseable_amount":
            with pytest.raises(ValueError):
                float(v)
        elif r.kind == "negative_amount":
            assert float(v) < 0
        elif r.kind == "probability_out_of_range":
            assert not 0 <= float(v) <= 100
        elif r.kind == "orphan_history":
            assert to_18(v) not in opp_ids and len(v) == 18
        elif r.kind == "orphan_campaign_member":
            assert to_18(v) not in camp_ids and len(v) == 18
        elif r.kind == "missing_amount":
            assert v == ""
        elif r.kind == "bad_email":
            assert not EMAIL.fullmatch(v)
        elif r.kind == "close_before_created":
            assert row["CloseDate"] < row["CreatedDate"][:10]
        elif r.kind == "converted_before_created":
            assert row["ConvertedDate"] < row["CreatedDate"][:10]
        elif r.kind == "picklist_variant":
            assert v != r.clean_value and norm(v) == norm(r.clean_value)
            if (r.file, h) not in canonical_sets:
                canonical_sets[(r.file, h)] = set(clean_frame(org, r.file)[h])
            canonical = canonical_sets[(r.file, h)]
            assert v not in canonical and r.clean_value in canonical
        elif r.kind == "id15":
            assert len(v) == 15 and to_18(v) == r.clean_value
        elif r.kind == "email_case":
            assert v != r.clean_value and v.strip().lower() == r.clean_value and EMAIL.fullmatch(r.clean_value)
        elif r.kind == "phone_format":
            country = row[[c for c in ("Country", "BillingCountry", "MailingCountry") if c in df.columns][0]]
            parsed = phonenumbers.parse(v, iso[country])
            assert v != r.clean_value
            assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == r.clean_value
        else:  # pragma: no cover
            pytest.fail(f"unknown kind {r.kind}")
        assert r.expected == org.info["dirty_rows"]["expected_by_kind"][r.kind]


def test_dirty_share_is_a_few_percent(org):
    for name in (
        "Lead.csv",
        "Opportunity.csv",
        "OpportunityHistory.csv",
        "Contact.csv",
        "Account.csv",
        "Task.csv",
        "CampaignMember.csv",
    ):
        share = len(dirty_rows(org, name)) / len(org.files[name])
        assert 0.005 < share < 0.08, (name, share)


def test_quarantine_leaves_the_simulated_org(org):
    """Removing the quarantine rows and the IsDeleted rows leaves the simulated org's rows."""
    for name in SAMPLE_FILES:
        quarantine, deleted = dirty_rows(org, name, "quarantine"), deleted_rows(org, name)
        assert not quarantine & deleted, name
        kept = len(org.files[name]) - len(quarantine) - len(deleted)
        assert kept == org.info["rows_simulated"][name], name
        assert len(deleted) == org.info["rows_deleted"].get(name, 0), name
    for name in ("Lead.csv", "Opportunity.csv", "Task.csv", "Account.csv", "Contact.csv"):
        assert deleted_rows(org, name), name  # the default sample has deleted rows


def test_duplicate_clusters(org):
    c = org.clusters
    assert set(c["table"]) == {"leads", "contacts", "accounts"}
    file_of = {"leads": "Lead.csv", "contacts": "Contact.csv", "accounts": "Account.csv"}
    for table, g in c.groupby("table"):
        df = org.files[file_of[table]]
        ids = set(df["Id"])
        assert g["record_id"].isin(ids).all(), table
        assert not g["record_id"].duplicated().any(), table
        sizes = g.groupby("cluster_id").size()
        assert (sizes >= 2).all()
        assert (g.groupby("cluster_id")["is_original"].apply(lambda s: (s == "true").sum()) == 1).all()
        # valid rows: none of them is in dirty_rows.csv
        dirty_ids = set(org.dirty.loc[org.dirty["file"] == file_of[table], "record_id"])
        assert not g["record_id"].isin(dirty_ids).any()
        share = (g["is_original"] == "false").sum() / len(df)
        assert 0.015 < share < 0.05, (table, share)
        # duplicates differ from their original (they are not copies)
        name = df.set_index("Id")["Name"]
        orig = g[g["is_original"] == "true"].set_index("cluster_id")["record_id"]
        dup = g[g["is_original"] == "false"]
        differs = [name[r] != name[orig[k]] or table != "accounts" for k, r in zip(dup["cluster_id"], dup["record_id"])]
        assert np.mean(differs) > 0.95
    dup_leads = c[(c["table"] == "leads") & (c["is_original"] == "false")]["record_id"]
    leads = org.files["Lead.csv"].set_index("Id")
    assert (leads.loc[dup_leads, "IsConverted"] == "false").all()


def test_no_unrecorded_duplicates(org):
    """Outside the clusters, no two records share an e-mail, a company name or a website."""
    dups = set(org.clusters.loc[org.clusters["is_original"] == "false", "record_id"])
    for name, cols in (("Lead.csv", ["Email"]), ("Contact.csv", ["Email"]), ("Account.csv", ["Name", "Website"])):
        df = clean_frame(org, name)
        df = df[~df["Id"].isin(dups)]
        for col in cols:
            v = df[col][df[col] != ""].str.strip().str.casefold()
            assert not v.duplicated().any(), (name, col, v[v.duplicated()].head().tolist())
    # and no two leads of one company carry the same name
    leads = clean_frame(org, "Lead.csv")
    leads = leads[~leads["Id"].isin(dups)]
    domain = leads["Email"].str.split("@").str[1]
    known = domain.notna() & (leads["Email"] != "")
    assert not leads[known].assign(d=domain[known]).duplicated(["d", "Name"]).any()
    # the IsDeleted rows repeat kept records on purpose: a deleted record is a copy, a merged-away one a
    # near-duplicate recorded in merged_pairs.csv (not in duplicate_clusters.csv: it is no longer in the
    # org, so a deduplicator of the kept records must not find it); nothing else repeats
    merged = set(org.pairs["merged_id"])
    for name, cols in (("Lead.csv", ["Email"]), ("Contact.csv", ["Email"]), ("Account.csv", ["Name", "Website"])):
        df = org.files[name].drop(index=sorted(dirty_rows(org, name)))
        df = df[~df["Id"].isin(dups)]
        flagged = df["IsDeleted"] == "true"
        assert set(df.loc[df["MasterRecordId"] != "", "Id"]) == merged & set(org.files[name]["Id"]), name
        seen = False
        for col in cols:
            v = df[col].str.strip().str.casefold()
            repeated = v.duplicated(keep=False) & (v != "")
            # every repeated value has one kept row at most: the rest are IsDeleted rows
            assert not v[repeated & ~flagged].duplicated().any(), (name, col)
            seen |= (repeated & flagged).any()
        assert seen, name  # the check bites: IsDeleted rows do repeat kept ones


def test_source_rates_truth(org):
    r = org.rates
    assert list(r.columns[:3]) == ["lead_source", "true_conversion_rate", "true_win_rate"]
    assert r["true_conversion_rate"].nunique() == len(r) and r["true_win_rate"].nunique() == len(r)
    assert {"Web", "Referral", "Partner", "Trade Show", "Paid Search", "Cold Call", "Webinar", "Email Campaign"} <= set(
        r["lead_source"]
    )
    assert (
        r.set_index("lead_source").loc["Referral", "true_conversion_rate"]
        > r.set_index("lead_source").loc["Cold Call", "true_conversion_rate"]
    )
    # the mean conversion probability of mature leads equals the true rate
    assert np.allclose(r["mean_p_convert_mature"], r["true_conversion_rate"])
    for key in ("stage_duration_days", "transitions", "stages", "lead_sources", "rows_written"):
        assert key in org.info
