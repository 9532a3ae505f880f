"""Bad connections: one clear line and exit 2 each, and the password never shown anywhere.

Every case runs ``funnel check URL --source fivetran --json`` against the session's real Postgres:
nothing listening on the port, a wrong password, a schema without an ``opportunity`` table, a
schema that does not exist, and a URL that carries the password (refused before connecting). A
report run whose ``data_dir`` carries the password is refused the same way, and leaves no file that
holds it.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.warehouse.helpers import files_holding, funnel


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _check(url: str, env: dict, *extra: str):
    return funnel(["check", url, "--source", "fivetran", *extra, "--json"], env)


def _one_line(result, *secrets_: str) -> str:
    """The single line a bad connection gives, checked: exit 2, no traceback, no secret in it."""
    assert result.exit_code == 2, result.output
    assert result.exception is None, repr(result.exception)
    assert "Traceback" not in result.output
    for secret in secrets_:
        assert secret not in result.output
    assert len(result.lines) == 1, result.output
    return result.lines[0]


def test_unreachable_port(fivetran_seeds):
    server = fivetran_seeds.server
    port = _closed_port()
    url = f"postgresql://{server.user}@127.0.0.1:{port}/seeds"
    line = _one_line(_check(url, fivetran_seeds.env), server.password)
    assert f"127.0.0.1:{port}/seeds" in line


def test_wrong_password(fivetran_seeds):
    server = fivetran_seeds.server
    wrong = "wrong-" + secrets.token_urlsafe(12)
    env = fivetran_seeds.env | {"PGPASSWORD": wrong, "FUNNEL_DB_PASSWORD": wrong}
    line = _one_line(_check(fivetran_seeds.url, env), wrong, server.password)
    assert fivetran_seeds.url.removeprefix("postgresql://") in line
    assert "password" in line.lower() or "authentication" in line.lower()


def test_schema_without_the_opportunity_table(fivetran_seeds):
    """``salesforce_empty`` holds only ``account``: the line names the schema and the missing table."""
    line = _one_line(
        _check(fivetran_seeds.url, fivetran_seeds.env, "--schema", "salesforce_empty"), fivetran_seeds.server.password
    )
    assert "salesforce_empty" in line and "opportunity" in line.lower()
    assert fivetran_seeds.url.removeprefix("postgresql://") in line


def test_schema_that_does_not_exist(fivetran_seeds):
    line = _one_line(
        _check(fivetran_seeds.url, fivetran_seeds.env, "--schema", "no_such_schema"), fivetran_seeds.server.password
    )
    assert "no_such_schema" in line


def test_password_in_the_url_is_refused(fivetran_seeds):
    """Even the right password is refused in a URL (it would end up in shell history, logs, manifests)."""
    server = fivetran_seeds.server
    url = f"postgresql://{server.user}:{server.password}@127.0.0.1:{server.port}/seeds"
    env = fivetran_seeds.env | {"PGPASSWORD": None, "FUNNEL_DB_PASSWORD": None}
    line = _one_line(_check(url, env), server.password)
    assert f"127.0.0.1:{server.port}/seeds" in line and "password" in line.lower()
    line = _one_line(funnel(["kpis", url, "--source", "fivetran", "--json"], env), server.password)
    assert "password" in line.lower()


def test_report_with_a_password_in_its_data_dir_is_refused(fivetran_seeds, tmp_path):
    """``data_dir: postgresql://user:PASSWORD@...`` in a report config: exit 2 before anything runs, and no
    file of the run folder (nor the output) holds the password."""
    server = fivetran_seeds.server
    url = f"postgresql://{server.user}:{server.password}@127.0.0.1:{server.port}/seeds"
    config = tmp_path / "reports.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "notebooks": "packaged",
                "reports": [{"name": "funnel", "notebook": "funnel.ipynb", "parameters": {"data_dir": url}}],
            }
        )
    )
    out = tmp_path / "out"
    result = funnel(["report", "run", "--config", str(config), "--out", str(out)], fivetran_seeds.env)
    assert result.exit_code == 2, result.output
    assert server.password not in result.output
    assert "password" in result.output.lower()
    if out.exists():
        assert files_holding(out, server.password) == []
        assert list(out.rglob("manifest.json")) == []  # refused before anything ran


def _cut_while_reading(server, role: str, command: list[str], env: dict, *, nologin: bool):
    """Run ``command`` while the superuser holds ``salesforce.opportunity`` locked; once the role's backend
    waits on that lock (the read is under way), kill the role's connections (and, with ``nologin``, forbid
    it to log in again), release the lock, and return (exit code, output)."""
    from psycopg import sql

    with server.admin("seeds") as lock:  # ACCESS EXCLUSIVE until the rollback below
        lock.execute("LOCK TABLE salesforce.opportunity IN ACCESS EXCLUSIVE MODE")
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            waiting = []
            deadline = time.monotonic() + 60
            with server.admin("seeds") as admin:
                admin.autocommit = True
                while not waiting and time.monotonic() < deadline and run.poll() is None:
                    waiting = admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE usename = %s AND wait_event_type = 'Lock'", (role,)
                    ).fetchall()
                    time.sleep(0.05)
                assert waiting, "the command never reached the locked table"
                if nologin:
                    admin.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role)))
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
        finally:
            lock.rollback()
        stdout, stderr = run.communicate(timeout=300)
    return run.returncode, stdout + stderr


FUNNEL = str(Path(sys.executable).with_name("funnel"))


@pytest.mark.slow
def test_connection_lost_while_reading_is_one_line(fivetran_seeds):
    """``funnel check`` whose connection is killed in the middle of its read: exit 2, one line naming the
    URL (no password) and the lost connection, no traceback."""
    server = fivetran_seeds.server
    role, password = server.create_role("seeds", ["salesforce", "salesforce_history"])
    url = server.url("seeds", user=role)
    code, output = _cut_while_reading(
        server, role, [FUNNEL, "check", url, "--source", "fivetran", "--json"], server.env_for(password), nologin=False
    )
    lines = [line for line in output.splitlines() if line.strip()]
    assert code == 2, output
    assert len(lines) == 1 and "Traceback" not in output, output
    assert url.removeprefix("postgresql://") in lines[0] and password not in output
    assert any(word in lines[0].lower() for word in ("connection", "terminat", "lost")), lines[0]


@pytest.mark.slow
def test_connection_lost_in_the_middle_of_a_report_run(fivetran_seeds, tmp_path):
    """The run's read is held on a table lock, then its connection is killed and its role may no longer
    log in: the run fails (exit 1) with the reason on one line, and nothing that looks finished is
    published (no run with status ok, no data cache, no staging folder left), the password nowhere.

    A failed run may be recorded (manifest status ``failed``, its error page), as the runner does for
    any failed notebook; what must not happen is a cache or a report made of half the data."""
    server = fivetran_seeds.server
    role, password = server.create_role("seeds", ["salesforce", "salesforce_history"])
    url = server.url("seeds", user=role)
    config = tmp_path / "reports.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "notebooks": "packaged",
                "reports": [{"name": "funnel", "notebook": "funnel.ipynb", "parameters": {"data_dir": url}}],
            }
        )
    )
    out = tmp_path / "out"
    command = [FUNNEL, "report", "run", "--config", str(config), "--out", str(out)]
    code, output = _cut_while_reading(server, role, command, server.env_for(password), nologin=True)
    assert code == 1, output
    assert "Traceback" not in output
    assert password not in output and files_holding(out, password) == []
    manifests = [json.loads(p.read_text()) for p in out.rglob("manifest.json")]
    assert all(m["status"] == "failed" for m in manifests), manifests
    reasons = (output + " ".join(m["error"] or "" for m in manifests)).lower()
    assert any(word in reasons for word in ("connection", "terminat", "log in")), reasons
    cache = out / ".cache"
    assert not cache.exists() or [p.name for p in cache.iterdir() if not p.name.startswith(".")] == []
    staging = out / ".tmp"
    assert not staging.exists() or [p for p in staging.rglob("*") if p.is_file()] == []
