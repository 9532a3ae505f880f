"""The getting-started notebook: it runs on the small org (the ``executed`` fixture runs every notebook),
and its date cut and team filter agree with plain pandas on the export's CSV files."""

import pandas as pd

from funnel_analysis.reporting import read_records
from tests.export_csv import fold, kept


def test_getting_started_runs_and_filters_by_team(executed, small_sample):
    path, error = executed["getting_started"]
    assert error is None, error
    rec = read_records(path)
    leads = kept(small_sample, "Lead.csv")
    users = kept(small_sample, "User.csv")
    # the team parameter's default: owner.region in ('EMEA') (regions compared as the loader cleans them)
    # IDs compared on their 15 case-sensitive characters: a dirty export has some in the short form
    emea = {i[:15] for i in users.loc[fold(users["Region__c"]) == "emea", "Id"]}
    (now,), (team,) = rec["kpis_now"], rec["kpis_team"]
    assert now["leads"] == len(leads)
    assert team["leads"] == int(leads["OwnerId"].str[:15].isin(emea).sum()) < now["leads"]
    # an earlier cut counts only the leads created by its day
    (earlier,) = rec["kpis_earlier"]
    created = pd.to_datetime(leads["CreatedDate"], utc=True, format="ISO8601")
    assert earlier["leads"] == int((created < pd.Timestamp("2025-07-01", tz="UTC")).sum())
    # the data-quality table accounts for every row read
    tables = pd.DataFrame(rec["tables"])
    assert (tables["rows_read"] >= tables["rows_kept"]).all()
