"""A real Postgres for the warehouse tests, started by the test session and stopped at its end.

The server: Debian's (or any) PostgreSQL found on PATH or in /usr/lib/postgresql/*/bin; a temporary
data folder; 127.0.0.1 on a free port; no Unix socket; password authentication (scram-sha-256) for
every connection. initdb refuses to run as root, so as root the server runs as the ``postgres`` user
(or ``nobody``) through ``runuser``. Under pytest-xdist every worker starts its own server (its own
port and folder), so nothing assumes one process. Without PostgreSQL the tests skip with one line
(``optional suite postgres``); CI sets ``FUNNEL_REQUIRE_POSTGRES=1``, which makes that a failure.

Fixtures (all session-scoped):

- ``postgres``: the :class:`PgServer` (``url(dbname)``, ``env``, ``admin()``, ``create_role()``).
- ``pg_url`` / ``pg_env``: the reader role's URL without a password (database ``seeds``) and a copy
  of ``os.environ`` with ``PGPASSWORD`` (and ``FUNNEL_DB_PASSWORD``) set to its password.
- ``fivetran_seeds``, ``sample_fivetran``, ``sample_airbyte``: a :class:`LoadedSchema` each.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import BUNDLED_REALDATA, optional_suite
from tests.warehouse import shapes

SEEDS = BUNDLED_REALDATA / "fivetran_dbt_salesforce_seeds"
READER = "funnel_reader"
ADMIN = "funnel_admin"
HOW = "apt install postgresql (or .ci/install-postgres); CI sets FUNNEL_REQUIRE_POSTGRES=1"


def find_pg_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: PATH first, then the newest /usr/lib/postgresql/*/bin."""
    on_path = [shutil.which(tool) for tool in ("initdb", "pg_ctl", "postgres")]
    if all(on_path):
        return Path(on_path[0]).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: _version_key(Path(p).parts[-3]))
    for initdb in reversed(found):
        folder = Path(initdb).parent
        if (folder / "pg_ctl").exists() and (folder / "postgres").exists():
            return folder
    return None


def _version_key(version: str) -> tuple[int, ...]:
    """``"15"`` -> (15,), ``"9.6"`` -> (9, 6); a folder name without digits sorts first."""
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (-1,)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PgServer:
    """A running test server. ``password`` is the reader role's; ``admin_password`` the superuser's."""

    bin: Path
    folder: Path
    port: int
    run_as: list[str]
    password: str = field(repr=False)
    admin_password: str = field(repr=False)
    host: str = "127.0.0.1"
    user: str = READER
    running: bool = False

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, dbname: str = "seeds", *, user: str | None = None) -> str:
        """``postgresql://user@127.0.0.1:port/dbname``: never a password."""
        return f"postgresql://{user or self.user}@{self.host}:{self.port}/{dbname}"

    def env_for(self, password: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(PGPASSWORD=password, FUNNEL_DB_PASSWORD=password)
        return env

    @property
    def env(self) -> dict[str, str]:
        """``os.environ`` plus ``PGPASSWORD`` (libpq's, which psycopg reads) for the reader role."""
        return self.env_for(self.password)

    def admin(self, dbname: str = "postgres"):
        """A psycopg connection as the superuser (autocommit off)."""
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, dbname=dbname, user=ADMIN, password=self.admin_password)

    def create_role(self, dbname: str, schemas: list[str]) -> tuple[str, str]:
        """A new login role with its own random password, allowed to read ``schemas`` of ``dbname``
        (for tests that revoke or terminate it without touching the shared reader role)."""
        from psycopg import sql

        name = f"funnel_t_{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(18)
        with self.admin(dbname) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
            )
            _grant(conn, name, dbname, schemas)
        return name, password

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.run_as, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
            cwd=self.folder,
        )

    def stop(self) -> None:
        if self.running:
            self._pg_ctl("-m", "immediate", "stop", check=False)
            self.running = False

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _grant(conn, role: str, dbname: str, schemas: list[str]) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(role)))
    for schema in schemas:
        ident = sql.Identifier(schema)
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(ident, sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(ident, sql.Identifier(role)))


def _server_user() -> tuple[list[str], int | None, int | None]:
    """How to run the server: as ourselves when not root; else as postgres (or nobody) via runuser."""
    if os.geteuid() != 0:
        return [], None, None
    runuser = shutil.which("runuser")
    if runuser is None:
        return None, None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return [runuser, "-u", name, "--"], entry.pw_uid, entry.pw_gid
    return None, None, None


def start_server() -> PgServer:
    """initdb a fresh cluster in a temporary folder and start it on a free local port."""
    import psycopg

    pg_bin = find_pg_bin()
    if pg_bin is None:
        optional_suite("postgres", missing="PostgreSQL (initdb, pg_ctl, postgres) not found", how=HOW)
    run_as, uid, gid = _server_user()
    if run_as is None:
        optional_suite("postgres", missing="running as root without runuser or an unprivileged user", how=HOW)
    # not under pytest's tmp folder: that one is 0700 and the server's user could not enter it
    folder = Path(tempfile.mkdtemp(prefix="funnel-pg-"))
    admin_password = secrets.token_urlsafe(18)
    server = PgServer(pg_bin, folder, 0, run_as, password=secrets.token_urlsafe(18), admin_password=admin_password)
    pwfile = folder / "pwfile"
    pwfile.write_text(admin_password + "\n")
    if uid is not None:
        os.chown(folder, uid, gid)
        os.chown(pwfile, uid, gid)
    pwfile.chmod(0o600)
    try:
        subprocess.run(
            [
                *run_as,
                str(pg_bin / "initdb"),
                "-D",
                str(server.data),
                "-U",
                ADMIN,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            cwd=folder,
        )
        pwfile.unlink()
        with open(server.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# funnel-analysis tests\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 32MB\n"
                "max_connections = 40\nlog_min_messages = warning\n"
            )
        last_error = ""
        for _attempt in range(5):  # another worker may take the port between picking and binding it
            server.port = _free_port()
            done = server._pg_ctl(
                "-w", "-t", "30", "-l", str(folder / "server.log"), "-o", f"-p {server.port}", "start", check=False
            )
            if done.returncode == 0:
                server.running = True
                break
            last_error = (done.stderr or done.stdout).strip()
            time.sleep(0.2)
        else:
            raise RuntimeError(
                f"postgres did not start: {last_error}; log: {(folder / 'server.log').read_text()[-2000:]}"
            )
        with psycopg.connect(
            host=server.host, port=server.port, dbname="postgres", user=ADMIN, password=admin_password, autocommit=True
        ) as conn:
            from psycopg import sql

            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(READER), sql.Literal(server.password))
            )
            for dbname in ("seeds", "sample"):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    except BaseException:
        server.cleanup()
        raise
    return server


@pytest.fixture(scope="session")
def postgres(request) -> PgServer:
    """A running Postgres for this session (one per xdist worker), stopped and deleted at the end."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        optional_suite(
            "postgres", missing="psycopg is not installed", how="pip install -e '.[warehouse]' (make install)"
        )
    server = start_server()
    atexit.register(server.cleanup)  # a session that dies before its finalizers still stops the server
    request.addfinalizer(server.cleanup)
    optional_suite("postgres")
    return server


@pytest.fixture(scope="session")
def pg_url(postgres) -> str:
    """The reader role's URL of database ``seeds`` (no password in it)."""
    return postgres.url("seeds")


@pytest.fixture(scope="session")
def pg_env(postgres) -> dict[str, str]:
    """``os.environ`` with ``PGPASSWORD`` / ``FUNNEL_DB_PASSWORD`` for the reader role: pass as ``env=``."""
    return postgres.env


@dataclass
class LoadedSchema:
    """One loaded layout: ``url`` (no password) and ``schema`` to read, ``source`` profile, ``env``
    with the password; ``tables``: (schema, table) -> rows loaded; ``folder``: the CSVs it came from."""

    url: str
    schema: str
    source: str
    env: dict[str, str] = field(repr=False)
    tables: dict[tuple[str, str], int]
    folder: Path
    history_schema: str | None = None
    server: PgServer | None = field(default=None, repr=False)


def _load(postgres: PgServer, dbname: str, tables: list[shapes.Table]) -> dict[tuple[str, str], int]:
    with postgres.admin(dbname) as conn:
        counts = shapes.copy_tables(conn, tables)
        _grant(conn, READER, dbname, sorted({t.schema for t in tables}))
        conn.commit()
    return counts


@pytest.fixture(scope="session")
def fivetran_seeds(postgres) -> LoadedSchema:
    """Fivetran's dbt_salesforce seeds in database ``seeds``: schema ``salesforce`` (``opportunity``,
    ``account``, ``user``, ``user_role``, ``lead``, ``contact``, ``task``, ``event``, ``order``,
    ``product_2``, ``opportunity_line_item``) and ``salesforce_history`` (history mode: ``account``,
    ``contact``, ``opportunity``). Also schema ``salesforce_empty``: an ``account`` table only (no
    ``opportunity``), for the missing-table test."""
    tables = shapes.seed_tables(SEEDS)
    empty = next(t for t in tables if (t.schema, t.name) == ("salesforce", "account"))
    tables.append(shapes.Table("salesforce_empty", "account", empty.columns, empty.rows))
    counts = _load(postgres, "seeds", tables)
    return LoadedSchema(
        postgres.url("seeds"),
        "salesforce",
        "fivetran",
        postgres.env,
        counts,
        SEEDS,
        history_schema="salesforce_history",
        server=postgres,
    )


@pytest.fixture(scope="session")
def warehouse_sample(small_sample) -> Path:
    """The export folder both sample shapes are made from (conftest's ``small_sample``: scale 0.1, seed 3)."""
    return small_sample


@pytest.fixture(scope="session")
def sample_fivetran(postgres, warehouse_sample) -> LoadedSchema:
    """The sample org in Fivetran shape in database ``sample``: schema ``salesforce`` (every CSV of the
    export, snake_case, formula fields dropped, plus one hard-deleted Opportunity and Lead with
    ``_fivetran_deleted = true`` that the export does not have) and ``salesforce_history.opportunity``
    (history mode, SCD2 versions)."""
    tables = shapes.fivetran_tables(warehouse_sample) + [shapes.fivetran_history_mode(warehouse_sample)]
    counts = _load(postgres, "sample", tables)
    return LoadedSchema(
        postgres.url("sample"),
        "salesforce",
        "fivetran",
        postgres.env,
        counts,
        warehouse_sample,
        history_schema="salesforce_history",
        server=postgres,
    )


@pytest.fixture(scope="session")
def sample_airbyte(postgres, warehouse_sample) -> LoadedSchema:
    """The sample org in Airbyte shape in database ``sample``, schema ``airbyte_salesforce``: tables
    and columns named as the API names them (``"Opportunity"."StageName"``), plus ``_airbyte_*``."""
    counts = _load(postgres, "sample", shapes.airbyte_tables(warehouse_sample))
    return LoadedSchema(
        postgres.url("sample"), "airbyte_salesforce", "airbyte", postgres.env, counts, warehouse_sample, server=postgres
    )
