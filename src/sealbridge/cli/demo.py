"""``sealbridge demo``: the whole mission in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sealbridge.demo.federation import JURISDICTIONS
from sealbridge.errors import SealBridgeError
from sealbridge.verify.report.model import Indication, Recognition

_STYLE = {True: "green", False: "red", None: "yellow"}


def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for signed PDFs, reports, trust lists, certs")
    ] = Path("demo-out"),
) -> None:
    """Run the end-to-end cross-border signing demo on 127.0.0.1."""
    from sealbridge.demo.scenario import run_demo

    console = Console()
    try:
        result = run_demo(out, progress=lambda msg: console.print(f"[dim]•[/dim] {msg}"))
    except (SealBridgeError, OSError) as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        raise typer.Exit(2) from exc
    codes = [j.code for j in JURISDICTIONS]
    table = Table(title="Recognition: signature × jurisdiction", show_lines=True)
    table.add_column("file")
    table.add_column("signature")
    table.add_column("signer")
    table.add_column("indication")
    for code in codes:
        table.add_column(code)
    for name, report in result.reports.items():
        for sig in report.signatures:
            cells = [_cell(sig.recognition.get(code)) for code in codes]
            indication = sig.indication.value + (
                f"/{sig.sub_indication}" if sig.sub_indication else ""
            )
            colour = "green" if sig.indication is Indication.TOTAL_PASSED else "red"
            table.add_row(
                name,
                f"{sig.id} ({sig.kind.value}{', ' + sig.level if sig.level else ''})",
                sig.signer,
                f"[{colour}]{indication}[/{colour}]",
                *cells,
            )
    console.print(table)
    console.print(f"Output in [bold]{result.out_dir.resolve()}[/bold]:")
    for folder in ("signed", "reports", "trust", "certs", "seals"):
        console.print(f"  {folder}/  " + ", ".join(sorted(p.name for p in (out / folder).iterdir())))
    console.print(f"Demo finished in {result.seconds:.1f} s")


def _cell(recognition: Recognition | None) -> str:
    if recognition is None:
        return "—"
    colour = _STYLE[recognition.recognised]
    return f"[{colour}]{recognition.label}[/{colour}]\n[dim]{recognition.rule}[/dim]"
