"""The ``funnel dedup`` command (work in progress: replaced by its owner)."""

import click

__all__ = ["dedup_command"]


@click.command("dedup")
def dedup_command():
    """Not built yet."""
    raise click.ClickException("not built yet")
