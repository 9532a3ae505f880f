"""The wheel, installed in a fresh virtual environment outside the clone, is a working ``funnel``.

Built offline (``pip wheel --no-deps --no-build-isolation``) and installed with ``--no-index``: the
dependencies come from the test's own environment through a ``.pth`` line (what
``venv --system-site-packages`` would give if they lived in the base interpreter), the package itself
only from the wheel. Then, in a temporary folder: ``funnel init``, a EUR / February profile, ``funnel
sample`` (small), and ``funnel report run`` of two notebooks (funnel, data_quality: the others take
minutes); the front page and both reports come out, in EUR, with the fiscal year the profile gives.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REPORTS = ("funnel", "data_quality")


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
    profile.write_text(text)
    # an export that does not name its currency: the profile's EUR is the money's
    _run([funnel, "sample", "--scale", "0.05", "--no-currencies"], project, env)
    run = _run([funnel, "report", "run", *(a for r in REPORTS for a in ("--only", r))], project, env, timeout=600)
    assert "index:" in run.stdout

    reports = project / "reports"
    assert (reports / "index.html").is_file()
    for name in REPORTS:
        (page,) = (reports / name).glob("*/*.html")
        assert "€" in page.read_text(encoding="utf-8") or name == "data_quality"
        (executed,) = (reports / name).glob("*/*.ipynb")
        injected = next(
            "".join(c["source"])
            for c in json.loads(executed.read_text(encoding="utf-8"))["cells"]
            if "injected-parameters" in c["metadata"].get("tags", [])
        )
        assert f'data_dir = "{project}' in injected  # the profile's data_dir (or the runner's cache of it)
        if name == "funnel":
            assert 'currency = "EUR"' in injected and "fiscal_year_start_month = 2" in injected
