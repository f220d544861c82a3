"""Many files at once: directories walked, one verifier per kind, a pool of workers.

Each worker loads the trust directory once, when it starts, and keeps the federation,
the PDF validation contexts and the revocation source for every file it is given, so
a thousand files cost one load per worker, not one per file.

A file that cannot be read or parsed is a result of its own (``FileResult.error``):
one broken file among a thousand must not hide the other results. Results come back
sorted by path, whatever order the workers finished in.

Kinds are chosen by suffix in ``VERIFIERS``; a verifier for another kind plugs in with
one line there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sealbridge.errors import MalformedInput, SealBridgeError
from sealbridge.trust.directory import load_trust_directory
from sealbridge.trust.view import Federation
from sealbridge.verify.cms import verify_detached_cms
from sealbridge.verify.ofd import verify_ofd
from sealbridge.verify.pdf import AttachmentVerifier, ContextFactory, federation_context, verify_pdf
from sealbridge.verify.policy import ValidationPolicy, apply_policy
from sealbridge.verify.report.model import ValidationReport
from sealbridge.verify.revocation import OcspRevocationSource, RevocationSource
from sealbridge.verify.seal import verify_seal_file, verify_stamp_file
from sealbridge.verify.seal_attachment import seal_attachment_verifier

MAX_INPUT_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Options:
    """Everything a worker needs to set itself up; small enough to send to a process."""

    trust: Path
    jurisdictions: tuple[str, ...]
    policy: ValidationPolicy
    at: datetime | None = None
    offline: bool = False


@dataclass(frozen=True)
class Verifiers:
    """What one process builds once and reuses for every file."""

    federation: Federation
    jurisdictions: tuple[str, ...]
    at: datetime | None
    pdf_context: ContextFactory
    attachments: AttachmentVerifier
    revocation: RevocationSource | None

    @classmethod
    def build(cls, options: Options, federation: Federation | None = None) -> Verifiers:
        if federation is None:
            federation = load_trust_directory(options.trust, now=datetime.now(UTC))
        revocation = None if options.offline else OcspRevocationSource()
        return cls(
            federation=federation,
            jurisdictions=options.jurisdictions,
            at=options.at,
            pdf_context=federation_context(federation, fetch=not options.offline, at=options.at),
            attachments=seal_attachment_verifier(federation, revocation=revocation),
            revocation=revocation,
        )


Verifier = Callable[[bytes, str, Verifiers], ValidationReport]


def _pdf(data: bytes, name: str, v: Verifiers) -> ValidationReport:
    return verify_pdf(
        data,
        name,
        v.federation,
        v.jurisdictions,
        context=v.pdf_context,
        attachment_verifier=v.attachments,
    )


def _seal(data: bytes, name: str, v: Verifiers) -> ValidationReport:
    return verify_seal_file(
        data, name, v.federation, v.jurisdictions, at=v.at, revocation=v.revocation
    )


def _stamp(data: bytes, name: str, v: Verifiers) -> ValidationReport:
    return verify_stamp_file(
        data, name, v.federation, v.jurisdictions, at=v.at, revocation=v.revocation
    )


# Suffix (lower case) -> verifier. OFD packages and detached CMS join here when their
# verifiers exist, e.g. ".ofd": _ofd and ".p7s": _cms.
def _ofd(data: bytes, name: str, v: Verifiers) -> ValidationReport:
    return verify_ofd(data, name, v.federation, v.jurisdictions, at=v.at, revocation=v.revocation)


def _cms(data: bytes, name: str, v: Verifiers) -> ValidationReport:
    """``contract.pdf.p7s`` signs ``contract.pdf`` beside it, as detached signatures travel."""
    content = Path(name).with_suffix("")
    if content == Path(name) or not content.is_file():
        raise MalformedInput(
            "detached CMS", f"its content file {content.name} is not beside {Path(name).name}"
        )
    if content.stat().st_size > MAX_INPUT_BYTES:
        raise MalformedInput("input", f"{content.name} is larger than {MAX_INPUT_BYTES >> 20} MiB")
    return verify_detached_cms(
        data,
        content.read_bytes(),
        name,
        v.federation,
        v.jurisdictions,
        context=v.pdf_context,
    )


VERIFIERS: dict[str, Verifier] = {
    ".pdf": _pdf,
    ".ofd": _ofd,
    ".p7s": _cms,
    ".esl": _seal,
    ".dat": _stamp,
    ".sig": _stamp,
}


@dataclass(frozen=True)
class Input:
    """A file to verify; ``named`` when the user gave it by name, not found in a folder."""

    path: Path
    named: bool


@dataclass(frozen=True)
class FileResult:
    path: Path
    named: bool
    report: ValidationReport | None = None
    error: str | None = None


def collect(paths: Iterable[Path]) -> list[Input]:
    """Named files as given, and every file of a known kind under named folders.

    Raises ``MalformedInput`` for a path that does not exist: that is a typo, not a
    result. Hidden files and folders are skipped (editors and atomic writes leave them).
    """
    found: dict[Path, Input] = {}
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                hidden = any(part.startswith(".") for part in relative)
                if child.is_file() and not hidden and child.suffix.lower() in VERIFIERS:
                    found.setdefault(child.resolve(), Input(child, named=False))
        elif path.exists():
            found[path.resolve()] = Input(path, named=True)
        else:
            raise MalformedInput("input", f"{path}: no such file or directory")
    return sorted(found.values(), key=lambda i: i.path)


def verify_one(item: Input, verifiers: Verifiers, policy: ValidationPolicy) -> FileResult:
    """One file, its failure kept as its result so the rest of a batch carries on."""
    path = item.path
    try:
        verifier = _verifier_for(path)
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise MalformedInput("input", f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB")
        report = verifier(path.read_bytes(), str(path), verifiers)
        return FileResult(path, item.named, report=apply_policy(report, policy))
    except OSError as exc:
        return FileResult(path, item.named, error=f"cannot read: {exc.strerror or exc}")
    except SealBridgeError as exc:
        return FileResult(path, item.named, error=str(exc))
    except Exception as exc:  # a verifier bug must cost one file, not the batch
        return FileResult(path, item.named, error=f"internal error: {type(exc).__name__}: {exc}")


def _verifier_for(path: Path) -> Verifier:
    verifier = VERIFIERS.get(path.suffix.lower())
    if verifier is not None:
        return verifier
    with path.open("rb") as stream:
        if stream.read(1024).lstrip().startswith(b"%PDF"):
            return VERIFIERS[".pdf"]
    kinds = ", ".join(sorted(VERIFIERS))
    raise MalformedInput("input", f"no verifier for {path.suffix or 'this'} files (known: {kinds})")


def verify_all(
    inputs: Sequence[Input],
    options: Options,
    *,
    workers: int,
    verifiers: Verifiers | None = None,
    done: Callable[[FileResult], None] = lambda _: None,
) -> list[FileResult]:
    """Every input's result, sorted by path; ``done`` is told as each file finishes.

    With one worker (or one file) the work stays in this process and reuses
    ``verifiers`` when given; otherwise each worker process builds its own.
    """
    results: list[FileResult] = []
    if workers <= 1 or len(inputs) <= 1:
        local = verifiers or Verifiers.build(options)
        for item in inputs:
            results.append(verify_one(item, local, options.policy))
            done(results[-1])
    else:
        workers = min(workers, len(inputs))
        # Chunks keep the workers busy between round trips; small enough that the
        # progress bar still moves and the last chunk does not leave a worker idle long.
        chunk = max(1, min(16, len(inputs) // (workers * 8)))
        with ProcessPoolExecutor(
            max_workers=workers, initializer=_start_worker, initargs=(options,)
        ) as pool:
            for result in pool.map(_work, inputs, chunksize=chunk):
                results.append(result)
                done(result)
    return sorted(results, key=lambda r: r.path)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_worker: tuple[Verifiers, ValidationPolicy] | None = None


def _start_worker(options: Options) -> None:
    global _worker
    _worker = (Verifiers.build(options), options.policy)


def _work(item: Input) -> FileResult:
    if _worker is None:
        raise RuntimeError("worker process was not initialised")
    verifiers, policy = _worker
    return verify_one(item, verifiers, policy)
