"""The report runner: parameter checks before anything runs, papermill execution into dated run
folders, code-free self-contained HTML, manifests, the index page, failing notebooks, the CLI.

One run of the default config on a small generated org is shared by the module (kernel starts
dominate the time); the checks that need no kernel run without one.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner

import funnel_analysis as fa
from funnel_analysis.cli.report import parse_params, report_command
from funnel_analysis.reporting import (
    ReportConfigError,
    load_report_config,
    plan_reports,
    run_due,
    run_reports,
    write_index,
)
from funnel_analysis.reporting.html import TABLE_JS
from tests.conftest import shared_build

ROOT = Path(__file__).resolve().parents[2]
MANIFEST_KEYS = {
    "report",
    "notebook",
    "as_of",
    "parameters",
    "relative_parameters",
    "trigger",
    "scheduled_for",
    "data_fingerprint",
    "data_cache",
    "data_freshness",
    "for_each",
    "package_version",
    "versions",
    "started_at",
    "duration_s",
    "status",
    "error",
    "error_cell_index",
    "ipynb",
    "html",
}
#: What web-to-lead forms may put in a CRM: it must show as text in every report, never run.
XSS = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>")


def _plan(specs, only, overrides, data_dir):
    return [(s, p) for s, p, _ in plan_reports(specs, only, overrides, data_dir)]


def xss_org(small_sample: Path, target: Path) -> Path:
    """A copy of the small org whose user-entered text holds script: lead sources (so it reaches every
    segment table and chart label), campaign, account and company names, and one e-mail (a flagged value)."""
    target.mkdir(parents=True)
    for f in small_sample.glob("*.csv"):
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        if f.name == "Lead.csv":
            df.loc[df.index % 7 == 0, "LeadSource"] = XSS[0]
            df.loc[df.index % 7 == 1, "LeadSource"] = XSS[1]
            df.loc[:3, "Company"] = XSS[0]
            df.loc[2, "Email"] = XSS[1]  # an invalid e-mail: listed with its value in the data-quality flags
        elif f.name == "Opportunity.csv":
            df.loc[df.index % 7 == 0, "LeadSource"] = XSS[0]
        elif f.name in ("Campaign.csv", "Account.csv"):
            df.loc[0, "Name"], df.loc[1, "Name"] = XSS
        df.to_csv(target / f.name, index=False)
    return target


_XSS_RUN = {}


def xss_reports(small_sample, tmp_path_factory):
    """Every default report run once (two at once, as `make report`) on :func:`xss_org`; shared by this
    module and tests/reporting/test_browser.py, so the kernels start once per session (once per run
    under pytest-xdist: :func:`tests.conftest.shared_build`)."""

    def build(base: Path):
        org = xss_org(small_sample, base / "org")
        # the org's routing rules beside it, where a generated sample keeps them (routing.org_rules_file)
        (base / "org_truth").mkdir(exist_ok=True)
        shutil.copy(Path(f"{small_sample}_truth") / "routing_rules.yaml", base / "org_truth" / "routing_rules.yaml")
        out = base / "reports"
        return run_reports(data_dir=org, out_dir=out, progress=False, jobs=2), out, org

    if "run" not in _XSS_RUN:
        _XSS_RUN["run"] = shared_build(tmp_path_factory, "xss_runs", build)
    return _XSS_RUN["run"]


@pytest.fixture(scope="module")
def default_run(small_sample, tmp_path_factory):
    res, out, _ = xss_reports(small_sample, tmp_path_factory)
    return res, out


@pytest.fixture(scope="module")
def run_org(small_sample, tmp_path_factory):
    return xss_reports(small_sample, tmp_path_factory)[2]


def _latest_created_day(folder: Path) -> str:
    """The last creation day in the export, read with plain pandas (unparseable dates skipped)."""
    days = []
    for f in folder.glob("*.csv"):
        df = pd.read_csv(f, dtype=str)
        if "CreatedDate" in df:
            days.append(pd.to_datetime(df["CreatedDate"], utc=True, errors="coerce", format="ISO8601").max())
    return str(max(d for d in days if not pd.isna(d)).date())


# ---- with kernels: one shared run of the default config --------------------------------------
@pytest.mark.slow
def test_every_default_report_ran(default_run):
    res, out = default_run
    assert [r.name for r in res.runs] == [s.name for s in load_report_config()]
    assert {"data_quality", "funnel", "sources", "velocity", "forecasting"} <= {r.name for r in res.runs}
    assert res.failed == [], [(r.name, r.error) for r in res.runs]
    for r in res.runs:
        assert r.run_dir == out / r.name / r.as_of
        assert r.ipynb == r.run_dir / f"{r.name}.ipynb" and r.ipynb.is_file()


@pytest.mark.slow
def test_html_is_code_free_and_self_contained(default_run):
    res, _ = default_run
    for r in res.runs:
        page = r.html.read_text(encoding="utf-8")
        assert r.html == r.run_dir / f"{r.name}.html"
        assert "In [" not in page and "In&nbsp;[" not in page
        assert "hl-ipython3" not in page and "notebook_setup()" not in page  # no code cell input
        assert "data:image/png;base64," in page  # charts embedded, not linked
        assert '<script src="http' not in page  # nothing fetched from a CDN
        assert f"{r.as_of}" in page and "status <strong>ok</strong>" in page  # the run note


@pytest.mark.slow
def test_manifest_records_the_run(default_run, run_org):
    res, _ = default_run
    fingerprint = fa.load_org(run_org).meta["fingerprint"]
    latest = _latest_created_day(run_org)
    for r in res.runs:
        m = json.loads((r.run_dir / "manifest.json").read_text(encoding="utf-8"))
        assert set(m) == MANIFEST_KEYS
        assert m["status"] == "ok" and m["error"] is None and m["error_cell_index"] is None
        assert m["report"] == r.name and m["notebook"] == str(ROOT / "notebooks" / f"{r.name}.ipynb")
        assert m["parameters"]["data_dir"] == str(run_org.resolve())  # absolute, as the notebook got it
        assert m["trigger"] == "run" and m["scheduled_for"] is None and m["relative_parameters"] == {}
        assert m["parameters"]["as_of"] == m["as_of"] == latest  # "" resolved to the data's last day
        assert m["data_fingerprint"] == fingerprint
        assert m["package_version"] == fa.__version__
        assert set(m["versions"]) >= {
            "python",
            "pandas",
            "numpy",
            "scikit-learn",
            "statsmodels",
            "papermill",
            "nbconvert",
            "matplotlib",
        }
        assert datetime.fromisoformat(m["started_at"]).utcoffset() == UTC.utcoffset(None)
        assert m["duration_s"] > 0 and (m["ipynb"], m["html"]) == (f"{r.name}.ipynb", f"{r.name}.html")
    funnel = next(r for r in res.runs if r.name == "funnel")
    params = json.loads((funnel.run_dir / "manifest.json").read_text())["parameters"]
    assert params["segment"] == "lead_source" and params["fiscal_year_start_month"] == 1  # defaults kept too


@pytest.mark.slow
def test_user_entered_script_is_escaped_and_tables_formatted(default_run):
    res, _ = default_run
    pages = {r.name: r.html.read_text(encoding="utf-8") for r in res.runs}
    for name, page in pages.items():
        assert "<script>alert" not in page and "<img src=x" not in page, name
        # sanitised: no script but the page template's own (long tables' search and sort), which is exactly ours
        assert page.count("<script") == 1 and f"<script>{TABLE_JS}</script>" in page, name
    for name in ("funnel", "sources"):  # the injected lead sources head rows of their segment tables
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[name], name
        assert "&lt;img src=x onerror=alert(2)&gt;" in pages[name], name
    assert "&lt;img src=x onerror=alert(2)&gt;" in pages["data_quality"]  # the flagged e-mail value
    assert re.search(r">\$\d{1,3}(,\d{3})+<", pages["funnel"])  # money: currency and thousands separators
    assert re.search(r">\d{1,3}(,\d{3})+<", pages["data_quality"])  # counts: thousands separators
    assert re.search(r">\d+\.\d %", pages["funnel"])  # rates in percent


@pytest.mark.slow
def test_index_links_every_run(default_run):
    res, out = default_run
    assert res.index_html == out / "index.html"
    page = res.index_html.read_text(encoding="utf-8")
    for r in res.runs:
        assert f'href="{r.name}/{r.as_of}/{r.name}.html"' in page
        assert (out / r.name / r.as_of / f"{r.name}.html").is_file()


@pytest.mark.slow
def test_failing_notebook_is_kept_reported_and_the_others_run(tmp_path):
    def notebook(path, *cells):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {path.stem}")])
        nb.cells.append(nbformat.v4.new_code_cell("x: int = 1  # a parameter", metadata={"tags": ["parameters"]}))
        nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)

    notebook(tmp_path / "boom.ipynb", "y = x + 1\nprint('before', y)", "1 / 0", "print('never')")
    notebook(tmp_path / "fine.ipynb", "print('fine', x)")
    (tmp_path / "reports.yaml").write_text(
        "notebooks: .\nreports:\n  - {name: boom, notebook: boom.ipynb}\n"
        "  - {name: fine, notebook: fine.ipynb, parameters: {x: 2}}\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(report_command, ["run", "--config", str(tmp_path / "reports.yaml"), "--out", str(out)])
    assert result.exit_code == 1, result.output
    day = str(datetime.now(UTC).date())  # no as_of parameter: dated by the run
    partial = out / "boom" / day / "boom.ipynb"
    assert "FAILED boom" in result.output and str(partial) in result.output
    assert "ZeroDivisionError" in result.output

    boom = json.loads((out / "boom" / day / "manifest.json").read_text())
    assert boom["status"] == "failed" and boom["error"].startswith("ZeroDivisionError")
    assert boom["error_cell_index"] == 3  # title, parameters, y = ..., 1 / 0: in the report's own notebook
    cells = [c for c in nbformat.read(partial, as_version=4).cells if c.cell_type == "code"]
    assert "before 2" in "".join(o.get("text", "") for c in cells for o in c.outputs)
    assert any(o.get("ename") == "ZeroDivisionError" for c in cells for o in c.outputs)
    assert cells[-1].source == "print('never')" and cells[-1].execution_count is None  # stopped there
    assert "ZeroDivisionError" in (out / "boom" / day / "boom.html").read_text(encoding="utf-8")

    fine = json.loads((out / "fine" / day / "manifest.json").read_text())
    assert fine["status"] == "ok" and fine["parameters"] == {"x": 2} and fine["data_fingerprint"] is None
    index = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="boom/{day}/boom.html"' in index and f'href="fine/{day}/fine.html"' in index
    assert '<tr class="failed">' in index and "ZeroDivisionError" in index


@pytest.mark.slow
def test_reports_share_a_kernel_each_with_a_clean_namespace_and_a_dead_one_is_replaced(tmp_path):
    """One kernel runs report after report (its pid printed by each); a name one report defined is gone
    in the next, whose cells count from 1 again; a report that kills its kernel fails alone, and the next
    report gets a new kernel. Each kernel's warm-up imports are out of the garbage collector's sight (frozen)."""

    def notebook(path, *cells):
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell("x: int = 1", metadata={"tags": ["parameters"]})]
        )
        nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, path)

    pid = "import os\nprint('pid', os.getpid())"
    notebook(tmp_path / "a.ipynb", pid, "left_behind = 42")
    notebook(
        tmp_path / "b.ipynb",
        pid,
        "print('left_behind' in dir(), 'os' in dir())",
        "import gc, sys\nprint('frozen', gc.get_freeze_count() > 10_000, 'pandas' in sys.modules)",
    )
    notebook(tmp_path / "kill.ipynb", "import os\nos._exit(1)")
    reports = "".join(
        f"  - {{name: {n}, notebook: {f}.ipynb}}\n" for n, f in (("a", "a"), ("b", "b"), ("k", "kill"), ("c", "b"))
    )
    (tmp_path / "reports.yaml").write_text("notebooks: .\nreports:\n" + reports)
    result = run_reports(tmp_path / "reports.yaml", out_dir=tmp_path / "out", progress=False)
    assert result.failed == ["k"] and "DeadKernelError" in result.runs[2].error, result.runs

    def printed(run):
        cells = [c for c in nbformat.read(run.ipynb, as_version=4).cells if c.cell_type == "code"]
        return [o.get("text", "") for c in cells for o in c.outputs], [c.execution_count for c in cells]

    (a, a_counts), (b, b_counts), (c, _) = (printed(r) for r in (result.runs[0], result.runs[1], result.runs[3]))
    assert a[0] == b[0] and a[0].startswith("pid")  # the same kernel
    assert b[1] == "False True\n"  # a's name is gone; b's own import is there
    assert b[2] == c[2] == "frozen True True\n"  # the warm-up's modules frozen, in the new kernel too
    assert a_counts == [1, 2, 3, 4] and b_counts == [1, 2, 3, 4, 5]  # parameters, injected ones, cells: from 1
    assert c[0] != a[0] and c[1] == "False True\n"  # after the dead kernel: a new one


@pytest.mark.slow
@pytest.mark.parametrize("every", [None, 0])
def test_the_running_notebook_is_written_when_due_and_always_at_the_end(tmp_path, monkeypatch, every):
    """Papermill wrote the whole notebook before and after every cell; the runner's engine writes it once at the
    end (every cell's outputs, times and status in it, as before), and while cells run only when the last
    write is older than the autosave interval (0 here: every time, as papermill did)."""
    import papermill.engines

    from funnel_analysis.reporting import runner

    if every is not None:
        monkeypatch.setattr(runner, "_SAVE_EVERY_S", every)
    writes = []
    real = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: (writes.append(path), real(nb, path)))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x: int = 1", metadata={"tags": ["parameters"]})])
    nb.cells += [nbformat.v4.new_code_cell(f"print({i} * x)") for i in range(4)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "n.ipynb")
    (tmp_path / "reports.yaml").write_text(
        "notebooks: .\nreports:\n  - {name: n, notebook: n.ipynb, parameters: {x: 3}}\n"
    )
    result = run_reports(tmp_path / "reports.yaml", out_dir=tmp_path / "out", progress=False)
    assert result.failed == []
    cells = nbformat.read(result.runs[0].ipynb, as_version=4).cells  # parameters, injected ones, four prints
    assert [o["text"] for c in cells[2:] for o in c.outputs] == ["0\n", "3\n", "6\n", "9\n"]
    assert all(c.metadata.papermill["status"] == "completed" and c.metadata.papermill["end_time"] for c in cells)
    # the notebook's start, then before and after each of its 6 cells, then its end: 14 writes when always due
    assert len(writes) == (14 if every == 0 else 1)


# ---- without kernels ----------------------------------------------------------------------------
def test_default_config_runs_every_notebook_on_the_sample():
    specs = load_report_config()
    # every report notebook is in the default config, and nothing else (getting_started is a tour, not a report)
    reports = {p for p in (ROOT / "notebooks").glob("*.ipynb") if p.stem != "getting_started"}
    assert {s.notebook for s in specs} == reports
    for s in specs:
        # no data_dir: each notebook's own default (../data/sample beside it), or the profile's in a project
        assert "data_dir" not in s.parameters and s.parameters["as_of"] == ""


def test_unknown_parameter_is_rejected_before_anything_runs(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ReportConfigError, match=r"report 'funnel': unknown parameter\(s\) 'top_n'"):
        run_reports(overrides={"funnel.top_n": 5}, out_dir=out)
    with pytest.raises(ReportConfigError) as err:  # for every report: each one is named
        run_reports(overrides={"regoin": "EMEA"}, out_dir=out)
    assert "'data_quality'" in str(err.value) and "'funnel'" in str(err.value) and "'regoin'" in str(err.value)
    with pytest.raises(ReportConfigError, match="must be int"):
        run_reports(overrides={"fiscal_year_start_month": "April"}, out_dir=out)
    with pytest.raises(ReportConfigError, match="not a date"):
        run_reports(overrides={"as_of": "2025-13-45"}, out_dir=out)
    with pytest.raises(ReportConfigError, match="no report named 'funel'"):
        run_reports(only=["funel"], out_dir=out)
    assert not out.exists()  # nothing ran, nothing was written


def test_cli_rejects_unknown_parameter_with_exit_2(tmp_path):
    result = CliRunner().invoke(report_command, ["run", "-p", "top_n=5", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "unknown parameter(s) 'top_n'" in result.output
    assert not (tmp_path / "out").exists()


def test_parameters_merge_and_resolve(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = dict(
        (s.name, p)
        for s, p in _plan(
            load_report_config(),
            None,
            {
                "as_of": "2025-03-31",
                "funnel.segment": "industry",
                "funnel.fiscal_year_start_month": 4,
                "data_quality.mapping": "my_mapping.yaml",
            },
            data_dir="org",
        )
    )
    assert plan["funnel"]["segment"] == "industry" and plan["funnel"]["fiscal_year_start_month"] == 4
    assert plan["data_quality"]["as_of"] == plan["funnel"]["as_of"] == "2025-03-31"
    assert plan["funnel"]["data_dir"] == str(tmp_path / "org")  # run_reports' paths start at the cwd
    assert plan["data_quality"]["mapping"] == str(tmp_path / "my_mapping.yaml")  # a file: resolved
    assert plan["funnel"]["mapping"] == ""  # a notebook default is kept as it is
    plan = dict((s.name, p) for s, p in _plan(load_report_config(), ["funnel"], {"mapping": "maven_crm"}, None))
    assert list(plan) == ["funnel"] and plan["funnel"]["mapping"] == "maven_crm"  # a built-in name: not a path


def test_config_paths_start_at_its_root(tmp_path):
    (tmp_path / "nbs").mkdir()
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "r.yaml").write_text(
        "root: ..\nnotebooks: nbs\nreports:\n"
        "  - {name: a, notebook: a.ipynb, parameters: {data_dir: data/x, as_of: 2025-03-31, mapping: maven_crm}}\n"
    )
    (spec,) = load_report_config(tmp_path / "conf" / "r.yaml")
    assert spec.notebook == tmp_path / "nbs" / "a.ipynb"
    assert spec.parameters == {
        "data_dir": str(tmp_path / "data" / "x"),
        "as_of": "2025-03-31",
        "mapping": "maven_crm",
    }  # YAML date -> text; a built-in mapping name stays
    (tmp_path / "bad.yaml").write_text("reports:\n  - {name: a}\n  - {name: a}\n")
    with pytest.raises(ReportConfigError, match="unique name"):
        load_report_config(tmp_path / "bad.yaml")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("top_n=5", ("top_n", 5)),
        ("as_of=2025-03-31", ("as_of", "2025-03-31")),
        ("segment=industry", ("segment", "industry")),
        ("flag=true", ("flag", True)),
        ("share=0.5", ("share", 0.5)),
        ("mapping=", ("mapping", "")),
        ("name=a=b", ("name", "a=b")),
        ("segment='1'", ("segment", "1")),
    ],
)
def test_cli_parameters_are_yaml_scalars(text, expected):
    assert parse_params([text]) == dict([expected])


def test_index_escapes_every_text(tmp_path):
    run = tmp_path / "x" / "2025-01-01"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(
        json.dumps(
            {
                "report": "<b>x</b>",
                "as_of": "2025-01-01",
                "status": "failed",
                "duration_s": 1.0,
                "started_at": "2025-01-01T00:00:00+00:00",
                "error": "ValueError: <script>alert(1)</script>",
                "error_cell_index": 2,
                "ipynb": "x.ipynb",
                "html": None,
            }
        )
    )
    page = write_index(tmp_path).read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert 'href="x/2025-01-01/x.ipynb"' in page  # no HTML: the partial notebook is linked


# ---- freshness: "data as of" on every page, stale data marked, pull first -------------------------
#: The tiny export's latest change: deal B's SystemModstamp (the other stamps are earlier).
EXPORT_CHANGED = "2024-02-12T11:20:45Z"
OPPORTUNITIES = (
    "Id,Name,StageName,CreatedDate,CloseDate,Amount,IsDeleted,SystemModstamp\n"
    "0065g00000AbCdEAAV,A,Prospecting,2024-01-08T14:03:11.000Z,2024-03-29,24000,false,2024-02-01T09:30:00.000Z\n"
    "0065g00000AbCdFAAV,B,Closed Won,2023-11-20T08:00:00.000Z,2024-01-31,125000,false,2024-02-12T11:20:45.000Z\n"
)


def freshness_project(folder: Path, data_dir: Path, head: str = "") -> Path:
    """A one-cell report scheduled Mondays 06:00 UTC on ``data_dir``, with the config's top-level keys in ``head``."""
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Weekly")])
    nb.cells.append(nbformat.v4.new_code_cell('data_dir: str = ""\nas_of: str = ""', metadata={"tags": ["parameters"]}))
    nb.cells.append(nbformat.v4.new_code_cell("print('weekly on', as_of)"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "weekly.ipynb")
    (folder / "reports.yaml").write_text(
        f"notebooks: .\n{head}reports:\n"
        f"  - {{name: weekly, notebook: weekly.ipynb, schedule: '0 6 * * 1', parameters: {{data_dir: {str(data_dir)!r}}}}}\n"
    )
    return folder / "reports.yaml"


def manifest_of(run) -> dict:
    return json.loads((run.run_dir / "manifest.json").read_text(encoding="utf-8"))


@pytest.mark.slow
def test_a_monday_report_on_a_three_week_old_export_reads_as_stale(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "Opportunity.csv").write_text(OPPORTUNITIES)
    monday = datetime(2024, 3, 4, 6, 30, tzinfo=UTC)
    res = run_due(freshness_project(tmp_path / "proj", export), out_dir=tmp_path / "out", now=monday)
    assert res.failed == [], [r.error for r in res.runs]
    fresh = manifest_of(res.runs[0])["data_freshness"]
    # 2024-02-12 11:20:45 to 2024-03-04 06:30: 20 days 19 h 9 min 15 s = 20.798 days
    assert fresh == {
        "as_of": EXPORT_CHANGED,
        "as_of_from": "extract_time",
        "extract_time": EXPORT_CHANGED,
        "extract_field": "opportunities.system_modstamp",
        "pulled_at": None,
        "age_days": 20.8,
        "stale_after_days": 7.0,
        "stale": True,
        "pull": None,
        "pull_error": None,
    }
    page = res.runs[0].html.read_text(encoding="utf-8")
    assert (
        '<p class="data-as-of data-stale"><strong>Stale data.</strong> Data as of <strong>2024-02-12 11:20 UTC' in page
    )
    assert "21 days before this run: older than 7 days" in page
    assert ".data-as-of.data-stale{" in page  # the warning style is in the page itself
    index = res.index_html.read_text(encoding="utf-8")
    assert '<td class="stale">2024-02-12 11:20 UTC (stale, 21 days old)</td>' in index
    assert "Latest run (weekly, " in index and "data-stale" in index


@pytest.mark.slow
def test_data_within_stale_after_days_read_as_current(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "Opportunity.csv").write_text(OPPORTUNITIES)
    config = freshness_project(tmp_path / "proj", export, head="stale_after_days: 30\n")
    monday = datetime(2024, 2, 26, 6, 30, tzinfo=UTC)  # 13 days 19 h 9 min 15 s = 13.798 days after the change
    res = run_due(config, out_dir=tmp_path / "out", now=monday)
    fresh = manifest_of(res.runs[0])["data_freshness"]
    assert (fresh["as_of"], fresh["age_days"], fresh["stale_after_days"], fresh["stale"]) == (
        EXPORT_CHANGED,
        13.8,
        30.0,
        False,
    )
    page = res.runs[0].html.read_text(encoding="utf-8")
    assert (
        '<p class="data-as-of">Data as of <strong>2024-02-12 11:20 UTC</strong> (the latest change in the data' in page
    )
    assert "14 days before this run." in page and "Stale" not in page
    assert '<td class="stale">' not in res.index_html.read_text(encoding="utf-8")


def _pulled_store(tmp_path, monkeypatch):
    """A store after the first recorded pull, credentials in the environment."""
    responses = pytest.importorskip("responses")
    pytest.importorskip("simple_salesforce")
    from funnel_analysis.crm.store import pull_salesforce
    from tests import sfapi_recorded as rec

    rec.env(monkeypatch)
    store = tmp_path / "proj" / "data"
    with responses.RequestsMock() as rsps:
        rec.record_first_pull(rsps)
        pull_salesforce(store, objects=rec.OBJECTS, progress=False)
    return store, rec, responses


@pytest.mark.slow
def test_pull_true_refreshes_the_data_before_the_run(tmp_path, monkeypatch):
    store, rec, responses = _pulled_store(tmp_path, monkeypatch)
    monkeypatch.setattr("funnel_analysis.crm.salesforce.DEFAULT_OBJECTS", tuple(rec.OBJECTS))
    config = freshness_project(tmp_path / "proj", store, head="pull: true\n")
    lines = []
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rec.record_incremental_pull(rsps)
        res = run_due(config, out_dir=tmp_path / "out", log=lines.append)
    assert res.failed == [], [r.error for r in res.runs]
    pulled = [line for line in lines if " pull " in line]
    assert len(pulled) == 1 and f"{store}: ok, 4 rows fetched, 2 objects" in pulled[0]  # 2 deals + 2 history rows
    fresh = manifest_of(res.runs[0])["data_freshness"]
    assert (fresh["pull"], fresh["as_of_from"], fresh["stale"]) == ("ok", "pull", False)
    assert fresh["extract_time"] == "2024-02-20T10:00:00Z"  # deal E lost; the deleted deal G is in no figure
    page = res.runs[0].html.read_text(encoding="utf-8")
    assert "(the last <code>funnel pull</code>)" in page and "latest change in the data 2024-02-20 10:00 UTC" in page
    text = "".join(p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert rec.TOKEN not in text


@pytest.mark.slow
def test_a_failed_pull_keeps_the_data_fails_the_run_and_says_stale(tmp_path, monkeypatch):
    store, rec, responses = _pulled_store(tmp_path, monkeypatch)
    monkeypatch.setattr("funnel_analysis.crm.salesforce.DEFAULT_OBJECTS", tuple(rec.OBJECTS))
    before = {p.name: p.read_bytes() for p in store.iterdir()}
    config = freshness_project(tmp_path / "proj", store, head="pull: true\n")
    lines = []
    with responses.RequestsMock() as rsps:
        rec.record_refused_session(rsps)
        res = run_due(config, out_dir=tmp_path / "out", log=lines.append)
    assert {p.name: p.read_bytes() for p in store.iterdir()} == before
    failed = [line for line in lines if "FAILED" in line and " pull " in line]
    assert len(failed) == 1 and "SalesforceExpiredSession" in failed[0] and "previous data are kept" in failed[0]
    assert res.failed == ["weekly"]
    run = res.runs[0]
    assert run.error.startswith("pull failed: SalesforceExpiredSession") and "shows the previous data" in run.error
    fresh = manifest_of(run)["data_freshness"]
    assert (fresh["pull"], fresh["stale"], fresh["as_of_from"]) == ("failed", True, "pull")
    page = run.html.read_text(encoding="utf-8")
    assert "data-stale" in page and "the pull before this run failed (SalesforceExpiredSession" in page
    assert rec.TOKEN not in page + "".join(lines)


def test_pull_and_stale_after_days_of_the_wrong_type_are_refused_before_anything_runs(tmp_path):
    for head, key in [("pull: sometimes\n", "pull"), ("stale_after_days: 0\n", "stale_after_days")]:
        config = freshness_project(tmp_path / key, tmp_path, head=head)
        with pytest.raises(ReportConfigError, match=rf"reports\.yaml: key '{key}': expected"):
            run_reports(config, out_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()
