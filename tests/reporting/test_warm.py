"""Warm runs: an export folder whose files are those a cache was made from is read from the cache, not parsed
again; any change to its files, or a damaged cache, loads the export again."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

import funnel_analysis.crm.load as load_module
from funnel_analysis.reporting import run_reports


@pytest.fixture
def project(small_sample, tmp_path, monkeypatch):
    data = tmp_path / "org"
    shutil.copytree(small_sample, data)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell('data_dir: str = ""', metadata={"tags": ["parameters"]})]
    )
    nb.cells.append(nbformat.v4.new_code_cell("print(data_dir)"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "one.ipynb")
    (tmp_path / "r.yaml").write_text(
        f"notebooks: .\nreports:\n  - {{name: one, notebook: one.ipynb, parameters: {{data_dir: {str(data)!r}}}}}\n"
    )
    calls = []
    real = load_module.load_org

    def counting(*args, **kwargs):  # the real loader, counted
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(load_module, "load_org", counting)
    return tmp_path / "r.yaml", data, tmp_path / "out", calls


def _fingerprint(result) -> str:
    return json.loads((result.runs[0].run_dir / "manifest.json").read_text())["data_fingerprint"]


@pytest.mark.slow
def test_a_warm_run_reads_the_cache_and_a_changed_file_loads_again(project):
    config, data, out, calls = project
    first = run_reports(config, out_dir=out, progress=False)
    assert first.failed == [] and len(calls) == 1
    index = json.loads((out / ".cache" / ".sources.json").read_text())
    assert index[str(data.resolve())]["fingerprint"] == _fingerprint(first)
    second = run_reports(config, out_dir=out, progress=False)
    assert second.failed == [] and len(calls) == 1  # warm: not parsed again
    assert _fingerprint(second) == _fingerprint(first)
    lead = data / "Lead.csv"
    text = lead.read_text(encoding="utf-8")
    lead.write_text(text.replace("Web", "Weeb", 1), encoding="utf-8")  # same size +1, new content
    third = run_reports(config, out_dir=out, progress=False)
    assert len(calls) == 2 and _fingerprint(third) != _fingerprint(first)
    # a damaged cache: read again from the export, the cache rebuilt
    cache = out / ".cache" / _fingerprint(third)
    victim = next(cache.glob("*.parquet"))
    victim.write_bytes(victim.read_bytes()[:100])
    fourth = run_reports(config, out_dir=out, progress=False)
    assert fourth.failed == [] and len(calls) == 3 and _fingerprint(fourth) == _fingerprint(third)
    # the same size and content, a new modification time: loaded again (the signature is by time too)
    st = lead.stat()
    os.utime(lead, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    run_reports(config, out_dir=out, progress=False)
    assert len(calls) == 4


def test_the_signature_refuses_what_is_not_an_export_folder(tmp_path):
    from funnel_analysis.reporting.runner import _source_signature

    assert _source_signature(tmp_path / "missing") is None
    assert _source_signature("postgresql://u@h/db") is None
    (tmp_path / "crm.json").write_text("{}")
    assert _source_signature(tmp_path) is None  # a Parquet cache is read in place anyway
    other = tmp_path / "x"
    other.mkdir()
    (other / "Lead.csv").write_text("Id\n")
    a = _source_signature(other)
    (other / "Task.csv").write_text("Id\n")
    assert a and _source_signature(other) != a and Path(other).is_dir()
