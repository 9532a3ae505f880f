"""Shared fixtures: a tiny hand-written Salesforce export, the real datasets, a small sample org."""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parents[1]

# A tiny Salesforce export written by hand. Every expected figure in the tests is
# worked out from these lines, not from the code under test.
# Opportunity rows (0-based data rows):
#   0 006A won, AccountId written as a 15-character ID (must widen and join)
#   1 006B open, stage written " negotiation/review" (case/whitespace variant)
#   2 006C negative amount                      -> quarantine amount_negative
#   3 006D probability 150                      -> quarantine probability_out_of_range
#   4 006B again                                -> quarantine id_duplicate
#   5 (no Id)                                   -> quarantine id_missing
#   6 006E closes before created, no amount     -> flagged close_before_created + amount_missing
#   7 006F CloseDate 2024-02-30                 -> quarantine date_unparseable
#   8 006G Amount "12,5k"                       -> quarantine number_unparseable
#   9 006H US-format CreatedDate, closed lost (reopened once in its history)
TINY = {
    "Account.csv": (
        "\ufeffId,Name,Industry,BillingCountry,Phone\n"
        "001bm00001ZL8U9AAL,Edge Communications Inc.,Electronics,US,(512) 757-6000\n"
        "001bm00001ZL8UAAA1,Burlington Textiles Corp of America,Apparel,United States,336-222-7000\n"
    ),
    "Opportunity.csv": (
        "Id,AccountId,Name,StageName,Amount,Probability,CloseDate,IsClosed,IsWon,CreatedDate,LeadSource\n"
        "006000000000001AAA,001bm00001ZL8U9,Edge deal,Closed Won,1000,100,2024-03-15,true,true,2024-01-10T10:00:00.000+0000,Web\n"
        "006000000000002AAA,001bm00001ZL8UAAA1,Burlington deal, negotiation/review,500,90,2024-06-30,false,false,2024-02-01T09:00:00.000+0000,web \n"
        "006000000000003AAA,001bm00001ZL8UAAA1,Negative,Prospecting,-5,10,2024-06-30,false,false,2024-02-01T09:00:00.000+0000,Web\n"
        "006000000000004AAA,001bm00001ZL8UAAA1,Too likely,Prospecting,10,150,2024-06-30,false,false,2024-02-01T09:00:00.000+0000,Web\n"
        "006000000000002AAA,001bm00001ZL8UAAA1,Repeated id,Prospecting,10,10,2024-06-30,false,false,2024-02-01T09:00:00.000+0000,Web\n"
        ",001bm00001ZL8UAAA1,No id,Prospecting,10,10,2024-06-30,false,false,2024-02-01T09:00:00.000+0000,Web\n"
        "006000000000005AAA,001bm00001ZL8UAAA1,Imported,Prospecting,,10,2023-12-01,false,false,2024-01-05T00:00:00.000+0000,Partner\n"
        "006000000000006AAA,001bm00001ZL8UAAA1,Bad date,Prospecting,10,10,2024-02-30,false,false,2024-02-01T09:00:00.000+0000,Web\n"
        '006000000000007AAA,001bm00001ZL8UAAA1,Bad amount,Prospecting,"12,5k",10,2024-06-30,false,false,2024-02-01T09:00:00.000+0000,Web\n'
        "006000000000008AAA,001bm00001ZL8U9AAL,Reopened,Closed Lost,300,0,2024-05-05,1,,03/15/24 09:30 AM,Web\n"
    ),
    # history: 006A three steps to won; 006B three steps; 006H lost, reopened, lost again;
    # 006E has no history; the last row points at an opportunity that does not exist.
    "OpportunityHistory.csv": (
        "Id,OpportunityId,CreatedDate,StageName,Amount,Probability,CloseDate,ForecastCategory\n"
        "008000000000001AAA,006000000000001AAA,2024-01-10T10:00:00.000+0000,Prospecting,800,10,2024-03-31,Pipeline\n"
        "008000000000002AAA,006000000000001AAA,2024-02-01T12:00:00.000+0000,Negotiation/Review,1000,90,2024-03-31,Commit\n"
        "008000000000003AAA,006000000000001AAA,2024-03-15T16:00:00.000+0000,Closed Won,1000,100,2024-03-15,Closed\n"
        "008000000000004AAA,006000000000002AAA,2024-02-01T09:00:00.000+0000,Prospecting,500,10,2024-06-30,Pipeline\n"
        "008000000000005AAA,006000000000002AAA,2024-04-01T09:00:00.000+0000,Proposal/Price Quote,500,75,2024-06-30,Pipeline\n"
        "008000000000006AAA,006000000000002AAA,2024-05-01T09:00:00.000+0000,Negotiation/Review,500,90,2024-06-30,Commit\n"
        "008000000000007AAA,006000000000008AAA,2024-03-15T09:30:00.000+0000,Prospecting,200,10,2024-05-31,Pipeline\n"
        "008000000000008AAA,006000000000008AAA,2024-04-10T11:00:00.000+0000,Closed Lost,200,0,2024-04-10,Omitted\n"
        "008000000000009AAA,006000000000008AAA,2024-04-20T11:00:00.000+0000,Qualification,300,10,2024-06-30,Pipeline\n"
        "00800000000000AAAA,006000000000008AAA,2024-05-05T11:00:00.000+0000,Closed Lost,300,0,2024-05-05,Omitted\n"
        "00800000000000BAAA,006000000000099AAA,2024-05-05T11:00:00.000+0000,Closed Lost,300,0,2024-05-05,Omitted\n"
    ),
    # leads: L1 converted to 006A on 2024-01-10; L2 email to normalise; L3 bad email;
    # L4 converted before created; L5 unparseable boolean
    "Lead.csv": (
        "Id,CreatedDate,FirstName,LastName,Company,Email,Phone,Country,LeadSource,Status,IsConverted,ConvertedDate,ConvertedOpportunityId\n"
        "00Q000000000001AAA,2024-01-01T08:00:00.000+0000,Rose,Gonzalez,Edge Communications,rose@edge.com,(512) 757-6000,US,Web,Closed - Converted,true,2024-01-10,006000000000001AAA\n"
        "00Q000000000002AAA,2024-01-02T08:00:00.000+0000,John,Doe,ACME GmbH, John.Doe@Example.COM ,030 1234567,Germany,web ,Working - Contacted,false,,\n"
        "00Q000000000003AAA,2024-01-03T08:00:00.000+0000,Wei,Wang,北京华信科技有限公司,bad@@example,,China,Partner,Open - Not Contacted,false,,\n"
        "00Q000000000004AAA,2024-02-03T08:00:00.000+0000,Ann,Lee,Lee Ltd,ann@lee.io,,,Partner,Closed - Converted,true,2024-01-20,\n"
        "00Q000000000005AAA,2024-01-04T08:00:00.000+0000,Bo,Ma,Ma Co,bo@ma.io,,,Web,Open - Not Contacted,maybe,,\n"
    ),
    "Case.csv": "Id,Subject\n500000000000001AAA,not part of the model\n",
}


@pytest.fixture
def tiny_export(tmp_path) -> Path:
    folder = tmp_path / "tiny"
    folder.mkdir()
    for name, text in TINY.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


#: Real datasets committed under tests/data/realdata (permissive licences): always there.
BUNDLED_REALDATA = ROOT / "tests" / "data" / "realdata"
#: Optional suites (what they need is not on every laptop): name -> what ran and what was skipped.
OPTIONAL_SUITES: dict[str, dict] = {}
_SUITE_TAG = "optional suite "


def optional_suite(suite: str, *, missing: str | None = None, how: str = "") -> None:
    """Note that an optional suite can run; or skip the test with one line saying what is missing and
    how to get it, or fail when ``FUNNEL_REQUIRE_<SUITE>=1`` (CI sets it)."""
    state = OPTIONAL_SUITES.setdefault(suite, {"ran": 0, "skipped": set()})
    if missing is None:
        state["ran"] += 1
        return
    flag = f"FUNNEL_REQUIRE_{suite.upper()}"
    message = f"{_SUITE_TAG}{suite}: {missing}; {how}"
    state["skipped"].add(message)
    if os.environ.get(flag) == "1":
        pytest.fail(f"{message} ({flag}=1 makes this suite required)")
    pytest.skip(message)


class RealData:
    """``realdata / name``: the dataset's folder, from tests/data/realdata or the external folder."""

    def __init__(self, external: Path):
        self.external = external

    def __truediv__(self, name: str) -> Path:
        if (BUNDLED_REALDATA / name).is_dir():
            return BUNDLED_REALDATA / name
        if (self.external / name).is_dir():
            optional_suite("realdata")
            return self.external / name
        optional_suite(
            "realdata",
            missing=f"dataset {name} not found in {self.external}",
            how="set FUNNEL_REALDATA to a folder holding it (the project's shared/realdata)",
        )


@pytest.fixture(scope="session")
def realdata() -> RealData:
    """Real datasets: committed ones always; the others from $FUNNEL_REALDATA or ../shared/realdata,
    skipped with one line when missing (a failure with FUNNEL_REQUIRE_REALDATA=1)."""
    return RealData(Path(os.environ.get("FUNNEL_REALDATA", ROOT.parent / "shared" / "realdata")))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """An optional suite's skips are reported at one place, so that pytest folds them into one line
    per missing thing (``SKIPPED [6] tests/conftest.py: optional suite realdata: ...``)."""
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and _SUITE_TAG in str(report.longrepr[2]):
        report.longrepr = (__file__, 1, report.longrepr[2])
    return report


def pytest_sessionfinish(session):
    """Under pytest-xdist a worker hands its optional suites to the controller, which prints the summary
    (``config.workeroutput`` reaches it in ``pytest_testnodedown``)."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["optional_suites"] = {
            suite: {"ran": state["ran"], "skipped": sorted(state["skipped"])}
            for suite, state in OPTIONAL_SUITES.items()
        }


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """The controller merges what each worker's optional suites did (a crashed worker sends nothing)."""
    for suite, state in getattr(node, "workeroutput", {}).get("optional_suites", {}).items():
        merged = OPTIONAL_SUITES.setdefault(suite, {"ran": 0, "skipped": set()})
        merged["ran"] += state["ran"]
        merged["skipped"].update(state["skipped"])


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    """Which optional suites ran and which were skipped, at the end of every run that met one."""
    if not OPTIONAL_SUITES:
        return
    terminalreporter.section("optional suites")
    for suite, state in sorted(OPTIONAL_SUITES.items()):
        if state["skipped"]:
            for message in sorted(state["skipped"]):
                terminalreporter.write_line(f"SKIPPED {message.removeprefix(_SUITE_TAG)}")
        if state["ran"]:
            terminalreporter.write_line(f"ran     {suite}")


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, the files holding slow tests first (each file's own order kept): ``make test``
    hands out whole files in collection order (``--dist loadfile --no-loadscope-reorder``), so the long
    ones start early instead of ending the run on one busy worker while the others wait."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        slow = {item.path for item in items if item.get_closest_marker("slow")}
        items.sort(key=lambda item: item.path not in slow)  # a stable sort: the same order on every worker


def shared_build(tmp_path_factory, name: str, build: Callable[[Path], object]):
    """``build(folder)`` once per test run, into an empty folder, and what it returned.

    Serially that is a session fixture's usual ``tmp_path_factory.mktemp(name)``. Under pytest-xdist
    the workers share one folder beside their own temporary folders (pytest's ``pytest-N``, new for each
    run): the first worker to ask builds it holding a file lock, the others wait and read the result back
    (pickled: a session fixture's value, in the run's own folder). Tests must not modify what it holds.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return build(tmp_path_factory.mktemp(name))
    root = tmp_path_factory.getbasetemp().parent
    folder, result = root / name, root / f"{name}.pickle"
    with FileLock(root / f"{name}.lock"):
        if result.is_file():
            return pickle.loads(result.read_bytes())
        shutil.rmtree(folder, ignore_errors=True)  # another worker's build that failed halfway
        folder.mkdir()
        value = build(folder)
        result.write_bytes(pickle.dumps(value))
        return value


@pytest.fixture(scope="session")
def sample_org(tmp_path_factory):
    """A small generated sample org (scale 0.25) and its truth folder."""
    from funnel_analysis.synth import generate_sample

    def build(folder: Path):
        generate_sample(folder / "org", scale=0.25, seed=7)
        return folder / "org", folder / "org_truth"

    return shared_build(tmp_path_factory, "sample", build)


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory):
    """A tiny generated org (scale 0.1, seed 3) shared by the notebook and report-runner tests."""
    from funnel_analysis.synth import generate_sample

    def build(folder: Path) -> Path:
        generate_sample(folder / "org", scale=0.1, seed=3)
        return folder / "org"

    return shared_build(tmp_path_factory, "small_sample", build)


@pytest.fixture(scope="session")
def tiny_crm(tmp_path_factory):
    """The tiny export, loaded once (tests must not modify it)."""
    import funnel_analysis as fa

    folder = tmp_path_factory.mktemp("tiny_loaded")
    for name, text in TINY.items():
        (folder / name).write_text(text, encoding="utf-8")
    return fa.load_org(folder)


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="session")
def executed(small_sample, tmp_path_factory):
    """Every notebook run once through papermill on ``small_sample``.

    name -> (executed notebook path, error or None); every notebook runs even if one fails. Tests
    of what a notebook computes read its records back with ``funnel_analysis.reporting.notebook.read_records``.
    """
    from concurrent.futures import ThreadPoolExecutor

    import papermill as pm

    def run(nb, out: Path):
        target = out / nb.name
        try:
            pm.execute_notebook(
                str(nb),
                str(target),
                parameters={"data_dir": str(small_sample)},
                kernel_name="python3",
                cwd=str(nb.parent),
                progress_bar=False,
            )
            return nb.stem, (target, None)
        except pm.PapermillExecutionError as exc:
            return nb.stem, (target, f"cell {exc.exec_count}: {exc.ename}: {exc.evalue}")

    def build(out: Path) -> dict:
        # two kernels at a time (the threads only wait on kernel processes), as `funnel report run --jobs 2`
        with ThreadPoolExecutor(max_workers=2) as pool:
            return dict(pool.map(lambda nb: run(nb, out), NOTEBOOKS))

    return shared_build(tmp_path_factory, "executed", build)
