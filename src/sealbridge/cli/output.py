"""Console output shared by the commands: wide tables off a terminal, one-line errors."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

PIPE_WIDTH = 160


def console() -> Console:
    """A terminal keeps its width; a pipe or log gets room for the recognition rules."""
    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=PIPE_WIDTH)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one unwrapped line on stderr and exit: errors are read by people and scripts."""
    typer.echo(message, err=True)
    raise typer.Exit(code)
