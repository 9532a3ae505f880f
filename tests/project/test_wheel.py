"""The wheel, installed in a fresh virtual environment outside the clone, is a working ``funnel``.

Built offline (``pip wheel --no-deps --no-build-isolation``) and installed with ``--no-index``: the
dependencies come from the test's own environment through a ``.pth`` line (what
``venv --system-site-packages`` would give if they lived in the base interpreter), the package itself
only from the wheel. Then, in a temporary folder: ``funnel init``, a EUR / February profile, ``funnel
sample`` (small), and ``funnel report run --jobs 2`` of every report: the front page and every report
come out; every page that shows money shows it in EUR (never in dollars), and every fiscal quarter a
page records is the org's own: the profile's custom fiscal periods (a 4-4-5 calendar whose years start
on the first Sunday of February, written here by hand), each quarter starting in February, May, August
or November. The funnel, velocity and forecasting pages show their headline
figures for new business beside the other types, and velocity and forecasting their definitions.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
#: Every report of the packaged config (a config may add more: they must come out too).
REPORTS = (
    "data_quality",
    "funnel",
    "sources",
    "velocity",
    "forecasting",
    "reconciliation",
    "duplicates",
    "lead_scoring",
)
#: The reports whose pages show money, and those whose records hold fiscal quarters.
MONEY = ("funnel", "sources", "velocity", "forecasting", "reconciliation")
QUARTERS = ("funnel", "sources", "velocity", "forecasting", "reconciliation")
#: Headline figures shown for new business with the other types beside it (records), per report.
BY_BUSINESS_TYPE = {
    "funnel": ("kpis_by_business_type",),
    "velocity": ("cycle_length_by_business_type", "sales_velocity_by_business_type"),
    "forecasting": ("weighted_pipeline_by_business_type",),
}
#: Definitions written beside their figures (the line under each table), per report.
DEFINED = {
    "velocity": ("Definitions: sales cycle", "Definitions: days in a stage"),
    "forecasting": (
        "Definitions: next-quarter forecast",
        "Definitions: weighted pipeline",
        "Definitions: backtest error",
    ),
}


def _first_sunday_of_february(year: int):
    day = pd.Timestamp(year, 2, 1)
    return day + pd.Timedelta(days=(6 - day.weekday()) % 7)


def _custom_quarters() -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """A 4-4-5 retail calendar written by hand: fiscal years from the first Sunday of February (52 or 53
    weeks), named by the calendar year they end in; quarters of 13 weeks, the fourth taking the rest."""
    out = []
    for year in range(2019, 2029):
        start, end = _first_sunday_of_february(year), _first_sunday_of_february(year + 1) - pd.Timedelta(days=1)
        for q in range(4):
            first = start + pd.Timedelta(weeks=13 * q)
            last = first + pd.Timedelta(weeks=13, days=-1) if q < 3 else end
            out.append((f"FY{end.year}-Q{q + 1}", first, last))
    return out


def _period_csv(quarters) -> str:
    lines = ["Type,StartDate,EndDate"]
    years = {}
    for label, first, last in quarters:
        years.setdefault(label[:6], []).append((first, last))
        lines.append(f"Quarter,{first.date()},{last.date()}")
        four, eight = first + pd.Timedelta(weeks=4), first + pd.Timedelta(weeks=8)  # months of 4, 4 and 5 weeks
        lines += [
            f"Month,{first.date()},{(four - pd.Timedelta(days=1)).date()}",
            f"Month,{four.date()},{(eight - pd.Timedelta(days=1)).date()}",
            f"Month,{eight.date()},{last.date()}",
        ]
    lines += [f"Year,{min(f for f, _ in q).date()},{max(la for _, la in q).date()}" for q in years.values()]
    return "\n".join(lines) + "\n"


def _quarters(records) -> list[tuple[str, str]]:
    """(label, first day) of every recorded row that names a fiscal quarter."""
    out = []
    for rows in records.values():
        for r in rows if isinstance(rows, list) else []:
            if not isinstance(r, dict):
                continue
            label = r.get("fiscal_period") or r.get("period")
            if not (isinstance(label, str) and re.fullmatch(r"FY\d{4}-Q[1-4]", label)):
                continue
            if r.get("period_start"):
                out.append((label, r["period_start"][:10]))
            elif r.get("start_date"):  # the waterfall: from the day before the quarter
                out.append((label, str((pd.Timestamp(r["start_date"][:10]) + pd.Timedelta(days=1)).date())))
    return out


def _run(args, cwd, env, timeout=300) -> subprocess.CompletedProcess:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{args}: exit {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_init_sample_and_reports(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FUNNEL_PROJECT", "VIRTUAL_ENV")}
    wheels = tmp_path / "wheels"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(wheels),
        ],
        tmp_path,
        env,
    )
    (wheel,) = wheels.glob("funnel_analysis-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for nb in ("funnel", "data_quality", "forecasting", "velocity", "sources", "duplicates", "lead_scoring"):
        assert f"funnel_analysis/notebooks/{nb}.ipynb" in names
    assert "funnel_analysis/project/profile.yaml" in names and "funnel_analysis/reporting/reports.yaml" in names

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, env)
    py, site = venv / "bin" / "python", Path(sysconfig.get_paths(vars={"base": str(venv)})["purelib"])
    (site / "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
        tmp_path,
        env,
    )
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # the dependencies' data files (nbconvert's HTML templates) sit under their own prefix, as a
    # --system-site-packages venv would find them under the base interpreter's
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    work = tmp_path / "work"
    work.mkdir()
    where = _run([str(py), "-c", "import funnel_analysis; print(funnel_analysis.__file__)"], work, env).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's package, not the clone's
    funnel = str(venv / "bin" / "funnel")

    _run([funnel, "init", "acme"], work, env)
    project = work / "acme"
    profile = project / "profile.yaml"
    text = profile.read_text()
    text = text.replace('currency: ""', "currency: EUR").replace("start_month: 1 ", "start_month: 2 ")
    # the org's custom fiscal periods (Salesforce's Period export), years starting in February
    quarters = _custom_quarters()
    (project / "Period.csv").write_text(_period_csv(quarters))
    text = text.replace('  periods: ""', "  periods: Period.csv")
    assert "periods: Period.csv" in text
    profile.write_text(text)
    starts = {label: str(first.date()) for label, first, _ in quarters}
    # an export that does not name its currency: the profile's EUR is the money's
    _run([funnel, "sample", "--scale", "0.05", "--no-currencies"], project, env)
    run = _run([funnel, "report", "run", "--jobs", "2"], project, env, timeout=900)
    assert "index:" in run.stdout and "failed" not in run.stdout, run.stdout[-3000:]
    ran = set(re.findall(r"^\S+Z\s+(\w+)\s+as_of \S+\s+ok\b", run.stdout, flags=re.M))
    assert set(REPORTS) <= ran, run.stdout[-3000:]

    from funnel_analysis.reporting import read_records  # the test's own package reads the executed notebooks

    reports = project / "reports"
    front = (reports / "index.html").read_text(encoding="utf-8")
    as_of = None
    for name in sorted(ran):
        (page,) = (reports / name).glob("*/*.html")
        html = page.read_text(encoding="utf-8")
        assert not re.search(r">-?(US)?\$\s?\d", html), f"{name}: an amount in dollars"
        if name in MONEY:
            assert re.search(r">-?€\d", html), f"{name}: no amount in EUR"
        (executed,) = (reports / name).glob("*/*.ipynb")
        injected = next(
            "".join(c["source"])
            for c in json.loads(executed.read_text(encoding="utf-8"))["cells"]
            if "injected-parameters" in c["metadata"].get("tags", [])
        )
        assert f'data_dir = "{project}' in injected  # the profile's data_dir (or the runner's cache of it)
        if "fiscal_year_start_month" in injected:
            assert "fiscal_year_start_month = 2" in injected and 'currency = "EUR"' in injected
        records = read_records(executed)
        if name in QUARTERS:
            assert _quarters(records), f"{name}: no fiscal quarter recorded"
        for label, first in _quarters(records):
            assert first == starts[label], f"{name}: {label} starts {first}, the Period export says {starts[label]}"
            assert int(first[5:7]) == 2 + 3 * (int(label[-1]) - 1), f"{name}: {label} starts {first}"
        for figures in BY_BUSINESS_TYPE.get(name, ()):
            types = {row["business_type"] for row in records[figures]}
            assert "new_business" in types and len(types) >= 2, (name, figures, types)
        for text in DEFINED.get(name, ()):
            assert text in html, f"{name}: no {text!r}"
        if name == "funnel":
            as_of = pd.Timestamp(records["kpis"][0]["as_of"][:10])
    # the front page: EUR, and the next quarter's forecast named in the February year (hand-derived)
    assert re.search(r">-?€\d", front)
    assert not re.search(r">-?(US)?\$\s?\d", front)
    ((label, _, end),) = [q for q in quarters if q[1] <= as_of <= q[2]]
    ((next_label, _, _),) = [q for q in quarters if q[1] == end + pd.Timedelta(days=1)]
    assert label in front or next_label in front, (label, next_label)
