"""The ``funnel score`` command (work in progress: replaced by its owner)."""

import click

__all__ = ["score_command"]


@click.group("score")
def score_command():
    """Not built yet."""
    raise click.ClickException("not built yet")
