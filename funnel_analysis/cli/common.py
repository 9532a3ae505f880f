"""What every ``funnel`` command shares: the one-line error exit, the ``--mapping`` and ``--json``
options, and loading an org folder.

A command that cannot use its input prints ``error: <file, column and rule>`` on stderr and exits
with status 2, never with a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from ..crm.read import DataLoadError

if TYPE_CHECKING:
    from ..crm.model import CrmData

__all__ = [
    "DATA_ERRORS",
    "ENGINES",
    "engine_option",
    "require_engine",
    "ORG",
    "OrgLocation",
    "fail",
    "json_option",
    "load_or_fail",
    "mapping_option",
    "source_option",
    "schema_option",
]

#: Errors about the input that end a command with one line and exit 2.
DATA_ERRORS = (DataLoadError, ValueError, KeyError)


def fail(message) -> None:
    """Print ``error: message`` on stderr and exit 2.

    Parameters
    ----------
    message : object
        What went wrong, one line (an exception prints its message).
    """
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def mapping_option(help: str = "Mapping file, or a built-in mapping name (maven_crm, x_education).") -> Callable:
    """The ``--mapping`` option: how a non-Salesforce export becomes the canonical model.

    Parameters
    ----------
    help : str
        The option's help text.

    Returns
    -------
    Callable
        The click decorator that adds the option.
    """
    return click.option("--mapping", default=None, help=help)


def json_option(help: str = "Print one JSON object.") -> Callable:
    """The ``--json`` flag (parameter ``as_json``): machine-readable output on stdout.

    Parameters
    ----------
    help : str
        The flag's help text.

    Returns
    -------
    Callable
        The click decorator that adds the flag.
    """
    return click.option("--json", "as_json", is_flag=True, help=help)


class OrgLocation(click.ParamType):
    """An org to read: an existing folder (export or Parquet cache) or a database URL.

    A URL (``postgresql://user@host/db``, ``duckdb:///file.duckdb``) is passed on as given; a URL
    that carries a password is refused by the loader (one line, exit 2). Anything else must be an
    existing folder, as ``click.Path(exists=True, file_okay=False)`` checks it.
    """

    name = "FOLDER|URL"

    def convert(self, value, param, ctx) -> str:
        """The folder or URL, checked.

        Parameters
        ----------
        value : str
            What was given.
        param : click.Parameter or None
            The parameter.
        ctx : click.Context or None
            The context.

        Returns
        -------
        str
            The value as given.
        """
        from ..crm.warehouse import is_database_url

        if is_database_url(value):
            return value
        return click.Path(exists=True, file_okay=False).convert(value, param, ctx)


#: The ``FOLDER`` argument of the commands that read an org: a folder or a database URL.
ORG = OrgLocation()


#: The engines a command that reads an org runs on (``--engine``); DuckDB is the default.
ENGINES = ("duckdb", "spark", "pandas")


def engine_option() -> Callable:
    """The ``--engine`` option: where the analyses with an engine path run (#19).

    ``duckdb`` (the default) or ``spark`` register the org's tables in that engine
    (:func:`~funnel_analysis.crm.load_org` with ``engine=``); ``pandas`` is the reference. An
    analysis without an engine path runs the pandas reference on the same org.

    Returns
    -------
    Callable
        The click decorator that adds the option.
    """
    return click.option(
        "--engine",
        default="duckdb",
        show_default=True,
        envvar="FUNNEL_ENGINE",
        type=click.Choice(ENGINES),
        help="Where the reductions run: duckdb (embedded, out of core), spark, or the pandas reference.",
    )


def require_engine(engine: str) -> None:
    """One line and exit 2 when ``engine`` cannot run here (``spark`` without pyspark or Java).

    Parameters
    ----------
    engine : str
        A name of :data:`ENGINES`.
    """
    import importlib.util
    import shutil

    if engine == "spark" and importlib.util.find_spec("pyspark") is None:
        fail("--engine spark: pyspark is not installed (pip install 'funnel-analysis[spark]')")
    if engine == "spark" and shutil.which("java") is None:
        fail("--engine spark: no java on the PATH (Spark needs a Java 17+ runtime: .ci/install-java)")


def source_option() -> Callable:
    """The ``--source`` option: how a connector laid the org out in a database URL.

    Returns
    -------
    Callable
        The click decorator that adds the option.
    """
    return click.option(
        "--source",
        default=None,
        type=click.Choice(["auto", "fivetran", "airbyte", "api"]),
        help="For a database URL: the connector's layout (default: the profile's, else detected).",
    )


def schema_option() -> Callable:
    """The ``--schema`` option: the database schema a connector writes to.

    Returns
    -------
    Callable
        The click decorator that adds the option.
    """
    return click.option(
        "--schema",
        default=None,
        help="For a database URL: the schema (default: the profile's, else salesforce for Fivetran, public).",
    )


def load_or_fail(folder, mapping=None, *, source=None, schema=None, **options) -> CrmData:
    """:func:`~funnel_analysis.crm.load_org`, or one error line and exit 2 when a file cannot be used.

    Parameters
    ----------
    folder : str or Path
        The export folder, Parquet cache or database URL.
    mapping : str or Path, optional
        A mapping file or the name of a built-in mapping.
    source : str, optional
        For a database URL: ``fivetran``, ``airbyte``, ``api`` or ``auto`` (the default).
    schema : str, optional
        For a database URL: the schema to read.
    **options
        Passed on to :func:`~funnel_analysis.crm.load_org` (``engine=`` among them: ``spark``
        where it cannot run is one line and exit 2).

    Returns
    -------
    CrmData
        The loaded org.
    """
    from ..crm.load import load_org
    from ..crm.warehouse import is_database_url

    require_engine(options.get("engine", "pandas"))
    if is_database_url(str(folder)) or source is not None or schema is not None:
        options |= {"source": source, "schema": schema}  # for a folder: one line, they are for a URL
    try:
        return load_org(folder, mapping=mapping, **options)
    except (DataLoadError, ValueError) as exc:  # an engine's EngineError is a ValueError too
        fail(exc)
