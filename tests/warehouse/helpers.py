"""Running the ``funnel`` command for the warehouse tests, and reading what a run left behind."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.strip()]


def funnel(args: list[str], env: dict[str, str | None]) -> CliResult:
    """``funnel ARGS`` in this process with ``env`` as the environment (a None value unsets a variable)."""
    from funnel_analysis.cli import main

    result = CliRunner().invoke(main, args, env=env, catch_exceptions=True)
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return CliResult(result.exit_code, result.stdout, result.stderr, exception)


def files_holding(folder: Path, secret: str) -> list[Path]:
    """Every file under ``folder`` whose bytes contain ``secret`` (HTML, notebooks, logs, Parquet...)."""
    needle = secret.encode()
    return [p for p in Path(folder).rglob("*") if p.is_file() and needle in p.read_bytes()]


def differences(got: dict, expected: dict, *, rel: float = 1e-9) -> dict:
    """Fields whose values differ (floats within ``rel``; None and NaN equal each other): field -> (got, expected)."""

    def same(a, b) -> bool:
        if isinstance(a, float) or isinstance(b, float):
            if a is None or b is None:
                return a is b or (a is None and math.isnan(b)) or (b is None and math.isnan(a))
            if math.isnan(a) or math.isnan(b):
                return math.isnan(a) and math.isnan(b)
            return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
        return a == b

    keys = sorted(set(got) | set(expected))
    return {
        k: (got.get(k, "<missing>"), expected.get(k, "<missing>"))
        for k in keys
        if not same(got.get(k), expected.get(k))
    }
