"""Plain-pandas readers of a generated export, for tests that check the notebooks independently.

No package code: rows the truth folder says are quarantined, deleted or merged away are dropped,
references to a merged record are re-pointed as the truth says, 15-character IDs the cleaner widens
are widened from the truth's ``clean_value``, picklists folded by hand, and money is divided by the
rates of ``CurrencyType.csv`` / ``DatedConversionRate.csv`` with plain pandas (dated rates by close
date on opportunities and their history, Salesforce's rule).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

#: canonical column of an id15 defect -> the export header it was written under
_ID_HEADERS = {"opportunity_id": "OpportunityId", "converted_opportunity_id": "ConvertedOpportunityId"}


def fold(s: pd.Series) -> pd.Series:
    """A picklist as the cleaner folds it: trimmed, one space, case-insensitive."""
    return s.str.strip().str.replace(r"\s+", " ", regex=True).str.casefold()


def kept(org: Path, name: str) -> pd.DataFrame:
    """Rows of an export file without the quarantined ones, opportunity IDs widened as the truth says."""
    truth = pd.read_csv(f"{org}_truth/dirty_rows.csv", dtype=str, keep_default_na=False)
    df = pd.read_csv(org / name, dtype=str, keep_default_na=False)
    mine = truth[truth["file"] == name]
    for _, fix in mine[mine["kind"] == "id15"].iterrows():
        if fix["column"] in _ID_HEADERS:
            df.loc[int(fix["row"]), _ID_HEADERS[fix["column"]]] = fix["clean_value"]
    gone = set(mine.loc[mine["expected"] == "quarantine", "row"].astype(int))
    deleted = Path(f"{org}_truth/deleted_records.csv")
    if deleted.exists():  # deleted, merged away, or following a deleted parent: never in a figure
        d = pd.read_csv(deleted, dtype=str, keep_default_na=False)
        gone |= set(d.loc[d["file"] == name, "row"].astype(int))
    repointed = Path(f"{org}_truth/repointed_references.csv")
    if repointed.exists():
        r = pd.read_csv(repointed, dtype=str, keep_default_na=False)
        for _, fix in r[r["file"] == name].iterrows():
            header = _HEADERS.get(fix["column"], fix["column"])
            df.loc[int(fix["row"]), header] = fix["master_id"]
    return df.drop(index=sorted(gone))


#: canonical reference column -> its export header, for re-pointed references
_HEADERS = {
    "lead_id": "LeadId",
    "contact_id": "ContactId",
    "account_id": "AccountId",
    "who_id": "WhoId",
    "what_id": "WhatId",
}


def to_usd(org: Path, df: pd.DataFrame, column: str = "Amount", *, dated: bool = True) -> pd.Series:
    """``df[column]`` (an export's text) in the corporate currency: divided by the record's rate.

    Dated rates (by ``CloseDate``, ``StartDate <= day < NextStartDate``) where ``dated`` and the org
    has them for that currency and day, else the static ``CurrencyType`` rate; the amount itself where
    the export has no currencies. Missing where the currency has no rate.
    """
    value = pd.to_numeric(df[column].replace("", None), errors="coerce")  # unparseable rows are quarantined
    types = Path(org) / "CurrencyType.csv"
    if not types.exists() or "CurrencyIsoCode" not in df:
        return value
    ct = pd.read_csv(types, dtype=str, keep_default_na=False)
    static = dict(zip(ct["IsoCode"], pd.to_numeric(ct["ConversionRate"])))
    code = df["CurrencyIsoCode"].str.strip().str.upper()
    rate = code.map(static)
    dated_file = Path(org) / "DatedConversionRate.csv"
    if dated and dated_file.exists() and "CloseDate" in df:
        dr = pd.read_csv(dated_file, dtype=str, keep_default_na=False)
        close = pd.to_datetime(df["CloseDate"].replace("", None), errors="coerce", format="%Y-%m-%d")
        for _, r in dr.iterrows():
            start, end = pd.Timestamp(r["StartDate"]), r["NextStartDate"]
            inside = (code == r["IsoCode"]) & (close >= start)
            if end and not end.startswith("9999"):
                inside &= close < pd.Timestamp(end)
            rate = rate.mask(inside.fillna(False), float(r["ConversionRate"]))
    return value / rate


def extract_day(org: Path) -> pd.Timestamp:
    """The default report date by hand: the day of the latest SystemModstamp, LastModifiedDate or
    CreatedDate of any kept row of any file (never a close date or an activity date)."""
    latest = []
    for path in sorted(Path(org).glob("*.csv")):
        df = kept(org, path.name)
        for col in ("SystemModstamp", "LastModifiedDate", "CreatedDate"):
            if col in df:
                t = pd.to_datetime(df[col].replace("", None), utc=True, errors="coerce", format="mixed")
                if t.notna().any():
                    latest.append(t.max())
    return max(latest).tz_localize(None).normalize()


def won_by_quarter(org: Path) -> pd.Series:
    """Won amount (corporate currency) by calendar quarter of the close date (a PeriodIndex), from the
    kept opportunities."""
    o = kept(org, "Opportunity.csv")
    won = o[fold(o["IsWon"]).isin(["true", "1"])]
    quarter = pd.PeriodIndex(pd.to_datetime(won["CloseDate"]), freq="Q")
    return to_usd(org, won).fillna(0).groupby(quarter).sum()


def report_as_of(executed) -> pd.Timestamp:
    """The notebooks' report date on the small org: the latest date, as the funnel notebook records it."""
    from funnel_analysis.reporting import read_records

    kpis = read_records(executed["funnel"][0])["kpis"]
    row = kpis[0] if isinstance(kpis, list) else kpis  # a table of one row per segment, or figures
    return pd.Timestamp(row["as_of"]).normalize()


#: Money columns per export file, and whether they convert at the dated rate of the close date.
_MONEY_FILES = {
    "Opportunity.csv": (("Amount", "ExpectedRevenue"), True),
    "OpportunityHistory.csv": (("Amount", "ExpectedRevenue"), True),
    "Lead.csv": (("AnnualRevenue",), False),
    "Account.csv": (("AnnualRevenue",), False),
    "Campaign.csv": (("BudgetedCost", "ActualCost", "ExpectedRevenue"), False),
}


def usd_export(org: Path, out: Path) -> Path:
    """``org`` rewritten as a single-currency export: every money field divided by its rate (plain
    pandas, :func:`to_usd`), no CurrencyIsoCode, no rate files; every other cell as it was.

    A value that is not a number (a quarantine defect) is kept as written.
    """
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(org).glob("*.csv")):
        if path.name in ("CurrencyType.csv", "DatedConversionRate.csv"):
            continue
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "CurrencyIsoCode" in df:
            cols, dated = _MONEY_FILES.get(path.name, ((), False))
            for c in cols:
                if c in df:
                    value = to_usd(org, df, c, dated=dated)
                    df[c] = [repr(float(v)) if pd.notna(v) else raw for v, raw in zip(value, df[c])]
            df = df.drop(columns="CurrencyIsoCode")
        df.to_csv(out / path.name, index=False)
    truth = Path(f"{org}_truth")
    if truth.exists():  # the same org: its truth folder holds
        import shutil

        shutil.copytree(truth, Path(f"{out}_truth"), dirs_exist_ok=True)
    return out
