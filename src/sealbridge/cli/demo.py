"""``sealbridge demo``: the whole mission in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sealbridge.cli.output import console as wide_console
from sealbridge.cli.output import fail
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

    console = wide_console()
    try:
        result = run_demo(out, progress=lambda msg: console.print(f"[dim]•[/dim] {msg}"))
    except (SealBridgeError, OSError) as exc:
        fail(f"demo failed: {exc}")
    codes = [j.code for j in JURISDICTIONS]
    table = Table(title="Recognition: signature × jurisdiction", header_style="bold")
    for column in ("#", "file / signature", "signer", "indication", *codes):
        table.add_column(column)
    rules: list[str] = []
    for name, report in result.reports.items():
        for sig in report.signatures:
            row = str(len(rules) // len(codes) + 1) if sig.recognition else ""
            colour = "green" if sig.indication is Indication.TOTAL_PASSED else "red"
            sub = f"/{sig.sub_indication}" if sig.sub_indication else ""
            level = f" {sig.level}" if sig.level else ""
            table.add_row(
                row,
                f"{name}: {sig.id.split('/')[-1][:24]} ({sig.kind.value}{level})",
                sig.signer,
                f"[{colour}]{sig.indication.value}{sub}[/{colour}]",
                *[_cell(sig.recognition.get(code)) for code in codes],
            )
            for code in codes if sig.recognition else ():
                rules.append(f"{row}·{code}: {sig.recognition[code].rule}")
    console.print(table)
    console.print("[bold]Deciding rules[/bold]")
    for rule in rules:
        console.print(f"  {rule}", highlight=False)
    console.print(f"Output in [bold]{result.out_dir.resolve()}[/bold]:")
    for folder in ("signed", "reports", "trust", "certs", "seals"):
        console.print(
            f"  {folder}/  " + ", ".join(sorted(p.name for p in (out / folder).iterdir()))
        )
    console.print(f"Demo finished in {result.seconds:.1f} s")


def _cell(recognition: Recognition | None) -> str:
    if recognition is None:
        return "—"
    colour = _STYLE[recognition.recognised]
    mark = {True: "✓ yes", False: "✗ no", None: "? open"}[recognition.recognised]
    return f"[{colour}]{mark}[/{colour}]"
