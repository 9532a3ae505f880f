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

__all__ = ["DATA_ERRORS", "fail", "json_option", "load_or_fail", "mapping_option"]

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


def load_or_fail(folder, mapping=None, **options) -> CrmData:
    """:func:`~funnel_analysis.crm.load_org`, or one error line and exit 2 when a file cannot be used.

    Parameters
    ----------
    folder : str or Path
        The export folder or Parquet cache.
    mapping : str or Path, optional
        A mapping file or the name of a built-in mapping.
    **options
        Passed on to :func:`~funnel_analysis.crm.load_org`.

    Returns
    -------
    CrmData
        The loaded org.
    """
    from ..crm.load import load_org

    try:
        return load_org(folder, mapping=mapping, **options)
    except DataLoadError as exc:
        fail(exc)
