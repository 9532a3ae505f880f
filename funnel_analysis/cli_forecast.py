"""The ``funnel forecast`` command (work in progress: replaced by its owner)."""

import click

__all__ = ["forecast_command"]


@click.command("forecast")
def forecast_command():
    """Not built yet."""
    raise click.ClickException("not built yet")
