"""``sealbridge verify``: is this contract validly signed, and recognised here?

FILE arguments are PDF files, bare seals (``.esl``), bare stamps (``.dat``, ``.sig``)
or folders, walked for files of those kinds. Each file is verified under a validation
policy (``--policy``, default ``verify.policy.DEFAULT_POLICY``).

Exit status:

- 0: every file verified, and every signature accepted under the policy (TOTAL-PASSED
  and recognised in every requested jurisdiction, unless the policy rates
  ``not-recognised`` below FAIL);
- 1: some signature was not accepted, a file has no signature, or a file found in a
  folder could not be read or parsed (it is reported with the others, not instead);
- 2: a usage error (bad option, policy, time, trust directory or jurisdiction, a path
  that does not exist) or a file named on the command line that could not be read or
  parsed. Every other file is still verified and reported first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sealbridge.cli.output import console, fail
from sealbridge.errors import SealBridgeError
from sealbridge.files import write_atomically
from sealbridge.trust.directory import load_trust_directory
from sealbridge.verify.batch import (
    VERIFIERS,
    FileResult,
    Options,
    Verifiers,
    collect,
    default_workers,
    verify_all,
)
from sealbridge.verify.policy import DEFAULT_POLICY, ValidationPolicy, load_policy
from sealbridge.verify.report.html import render_html, render_html_many
from sealbridge.verify.report.json import error_to_dict, report_to_dict
from sealbridge.verify.report.model import Indication, ValidationReport
from sealbridge.verify.report.pdf import render_pdf


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    HTML = "html"
    PDF = "pdf"


def verify(
    files: Annotated[
        list[Path], typer.Argument(help="PDF, .esl seal, .dat/.sig stamp files, or folders")
    ],
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
    at: Annotated[
        str | None,
        typer.Option("--at", help="Validation time, ISO 8601 (default now; naive is UTC)"),
    ] = None,
    policy_file: Annotated[
        Path | None, typer.Option("--policy", help="Validation policy (TOML)")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TEXT,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the json, html or pdf report here")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Parallel worker processes (default: CPUs)"),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use only validation data in the files")
    ] = False,
) -> None:
    """Verify signatures and stamps, and their recognition per jurisdiction."""
    when = _parse_time(at)
    policy = _policy(policy_file)
    if out is None and output is OutputFormat.PDF:
        fail("--format pdf needs --out FILE: a PDF report does not go to a terminal")
    if out is not None and output is OutputFormat.TEXT:
        fail("--out needs --format json, html or pdf")
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
    missing = next((p for p in files if not p.exists()), None)
    if missing is not None:
        fail(f"{missing}: no such file or directory")
    try:
        inputs = collect(files)
    except SealBridgeError as exc:
        fail(str(exc))
    if not inputs:
        kinds = ", ".join(sorted(VERIFIERS))
        fail(f"nothing to verify in {', '.join(map(str, files))}: no files of kinds {kinds}")
    if output is OutputFormat.HTML and out is None and len(inputs) > 1:
        fail("--format html with several files needs --out FILE")
    options = Options(trust, tuple(codes), policy, at=when, offline=offline)
    try:
        with _progress(len(inputs)) as done:
            results = verify_all(
                inputs,
                options,
                workers=workers or default_workers(),
                verifiers=Verifiers.build(options, federation),
                done=done,
            )
    except BrokenProcessPool as exc:
        fail(f"a verification worker stopped unexpectedly: {exc}")
    for result in results:
        if result.error is not None:
            typer.echo(f"{result.path}: {result.error}", err=True)
    _emit(results, output, out, codes)
    if any(r.error is not None and r.named for r in results):
        raise typer.Exit(2)
    if not all(r.report is not None and r.report.accepted for r in results):
        raise typer.Exit(1)


def _parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--at {text!r} is not an ISO 8601 time (e.g. 2026-06-01T12:00:00+08:00)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _policy(path: Path | None) -> ValidationPolicy:
    if path is None:
        return DEFAULT_POLICY
    try:
        return load_policy(path)
    except SealBridgeError as exc:
        fail(str(exc))


@contextmanager
def _progress(total: int) -> Iterator[Callable[[FileResult], None]]:
    """A progress bar on stderr when it is a terminal; silence for pipes, logs and tests."""
    terminal = Console(stderr=True)
    if total < 2 or not terminal.is_terminal:
        yield lambda _: None
        return
    with Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=terminal,
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=total)
        yield lambda _: bar.advance(task)


def _emit(
    results: Sequence[FileResult], output: OutputFormat, out: Path | None, codes: list[str]
) -> None:
    reports = [r.report for r in results if r.report is not None]
    errors = [(str(r.path), r.error) for r in results if r.error is not None]
    if output is OutputFormat.TEXT:
        _print_text(results, codes)
        return
    data: bytes
    if output is OutputFormat.JSON:
        docs = [
            report_to_dict(r.report)
            if r.report is not None
            else error_to_dict(str(r.path), r.error or "")
            for r in results
        ]
        text = json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False, indent=2)
        data = (text + "\n").encode()
    elif output is OutputFormat.HTML:
        single = len(results) == 1 and not errors
        data = (render_html(reports[0]) if single else render_html_many(reports, errors)).encode()
    else:
        data = render_pdf(reports, errors)
    if out is None:
        typer.echo(data.decode(), nl=False)
        return
    try:
        write_atomically(out, data)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")


def _print_text(results: Sequence[FileResult], codes: list[str]) -> None:
    out = console()
    for result in results:
        if result.report is None:
            out.print(f"[red]{result.path}: not verified: {result.error}[/red]", highlight=False)
            continue
        _print_report(out, result.report, codes)
    if len(results) > 1:
        accepted = sum(1 for r in results if r.report is not None and r.report.accepted)
        broken = sum(1 for r in results if r.error is not None)
        signatures = sum(len(r.report.signatures) for r in results if r.report is not None)
        out.print(
            f"{len(results)} files, {signatures} signatures: {accepted} files accepted, "
            f"{len(results) - accepted - broken} not accepted, {broken} not verified",
            highlight=False,
        )


def _print_report(out: Console, report: ValidationReport, codes: list[str]) -> None:
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
    for sig in report.signatures:
        for line in sig.warnings:
            out.print(f"[yellow]warning[/yellow] {sig.id}: {line}", highlight=False)
        for line in sig.infos:
            out.print(f"note {sig.id}: {line}", highlight=False)
    verdict = "[green]accepted[/green]" if report.accepted else "[red]not accepted[/red]"
    out.print(f"{report.file}: {verdict} under policy {report.policy}", highlight=False)
