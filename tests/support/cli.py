"""Running ``sealbridge`` commands in tests and checking what a user would see."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from typer.testing import CliRunner, Result

from sealbridge.cli.app import app


def invoke(env: Mapping[str, str | None], *args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=dict(env))


def ok(result: Result) -> str:
    """The command succeeded; its standard output."""
    assert result.exit_code == 0, result.output
    return result.stdout


def one_error_line(result: Result, *words: str) -> None:
    """Exit 2 with exactly one line on stderr naming the problem, and no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]
