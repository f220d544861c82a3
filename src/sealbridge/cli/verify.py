"""``sealbridge verify``: is this contract validly signed, and recognised here?

Exit status: 0 when every signature is TOTAL-PASSED and recognised in every requested
jurisdiction, 1 otherwise, 2 for usage errors or unreadable input.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sealbridge.cli.output import console, fail
from sealbridge.errors import SealBridgeError
from sealbridge.trust.directory import load_trust_directory
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.html import render_html
from sealbridge.verify.report.json import report_to_dict
from sealbridge.verify.report.model import Indication, ValidationReport
from sealbridge.verify.revocation import OcspRevocationSource
from sealbridge.verify.seal_attachment import seal_attachment_verifier

MAX_INPUT_BYTES = 512 * 1024 * 1024


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    HTML = "html"


def verify(
    files: Annotated[list[Path], typer.Argument(help="PDF files to verify")],
    trust: Annotated[
        Path,
        typer.Option(
            "--trust",
            help="Trust directory (pinned/, lists/, agreements/), e.g. demo-out/trust",
        ),
    ],
    jurisdictions: Annotated[
        list[str] | None,
        typer.Option("--as", help="Jurisdiction whose eyes to verify in (repeatable)"),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TEXT,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only validation data in the files")
    ] = False,
) -> None:
    """Verify signatures and stamps, and their recognition per jurisdiction."""
    try:
        federation = load_trust_directory(trust, now=datetime.now(UTC))
    except (SealBridgeError, OSError) as exc:
        fail(f"cannot load trust directory: {exc}")
    codes = [c.upper() for c in jurisdictions] if jurisdictions else sorted(federation.trust_lists)
    unknown = [c for c in codes if c not in federation.trust_lists]
    if unknown:
        fail(
            f"unknown jurisdiction {unknown[0]}: the trust directory has "
            f"{', '.join(sorted(federation.trust_lists))}"
        )
    context = federation_context(federation, fetch=not offline)
    attachments = seal_attachment_verifier(
        federation, revocation=None if offline else OcspRevocationSource()
    )
    reports: list[ValidationReport] = []
    for path in files:
        try:
            if path.stat().st_size > MAX_INPUT_BYTES:
                raise SealBridgeError(f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
            data = path.read_bytes()
            reports.append(
                verify_pdf(
                    data,
                    path.name,
                    federation,
                    codes,
                    context=context,
                    attachment_verifier=attachments,
                )
            )
        except (SealBridgeError, OSError) as exc:
            fail(f"{path}: {exc}")
    _print(reports, output, codes)
    if not all(r.all_passed_and_recognised for r in reports):
        raise typer.Exit(1)


def _print(reports: list[ValidationReport], output: OutputFormat, codes: list[str]) -> None:
    if output is OutputFormat.JSON:
        docs = [report_to_dict(r) for r in reports]
        typer.echo(json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False, indent=2))
        return
    if output is OutputFormat.HTML:
        for report in reports:
            typer.echo(render_html(report))
        return
    out = console()
    for report in reports:
        table = Table(title=f"{report.file}  sha256:{report.sha256[:16]}…", header_style="bold")
        for column in ("signature", "signer", "time", "indication", *codes):
            table.add_column(column)
        for sig in report.signatures:
            colour = "green" if sig.indication is Indication.TOTAL_PASSED else "red"
            sub = f"/{sig.sub_indication}" if sig.sub_indication else ""
            table.add_row(
                f"{sig.id} ({sig.kind.value})",
                sig.signer,
                sig.signing_time.strftime("%Y-%m-%d %H:%M:%S") if sig.signing_time else "—",
                f"[{colour}]{sig.indication.value}{sub}[/{colour}]"
                + (" [red]modified[/red]" if sig.modified_after_signing else ""),
                *[
                    {True: "[green]✓[/green]", False: "[red]✗[/red]", None: "[yellow]?[/yellow]"}[
                        sig.recognition[c].recognised
                    ]
                    + f" {sig.recognition[c].rule}"
                    if c in sig.recognition
                    else "—"
                    for c in codes
                ],
            )
        out.print(table)
        if not report.signatures:
            out.print("no signatures found")
