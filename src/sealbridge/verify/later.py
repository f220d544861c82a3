"""What a signature's later revisions did, as the report's checks and lines.

The change analysis (``verify.changes``) and the FieldMDP locks (``verify.field_locks``)
judge every signature of a PDF the same way, whatever its algorithm: a signature checked
by ``verify.cms`` (SM2) meets the same judgement as one checked by ``verify.cades``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from sealbridge.errors import MalformedInput
from sealbridge.verify import pades_checks
from sealbridge.verify.changes import ChangePolicy, analyse_after
from sealbridge.verify.changes.analyse import StructureCache, analyse_changes
from sealbridge.verify.changes.model import ChangeAnalysis
from sealbridge.verify.field_locks import changed_locked_fields
from sealbridge.verify.report.model import Check


@dataclass(frozen=True)
class LaterRevisions:
    """What later revisions did, as checks, with the lines and flag the report shows."""

    checks: tuple[Check, ...]
    lines: tuple[str, ...]
    modified: bool


# Nothing known of later revisions: a signature whose signed bytes cannot be located.
NOTHING_LATER = LaterRevisions((), (), False)


def later_revisions(
    data: bytes, sig: EmbeddedPdfSignature, policy: ChangePolicy, structures: StructureCache
) -> LaterRevisions:
    """Judge what was added after ``sig``; ``structures`` is shared by a file's
    signatures so each revision is walked once."""
    try:
        analysis = analyse_after(data, sig, policy=policy, structures=structures)
        locked = changed_locked_fields(sig.reader, sig)
    except MalformedInput as exc:
        return _unanalysable(exc)
    return _judged(analysis, locked)


def later_revisions_after(
    data: bytes,
    reader: PdfFileReader,
    signed_end: int,
    policy: ChangePolicy,
    structures: StructureCache,
) -> LaterRevisions:
    """Judge what was added after the signed bytes ending at ``signed_end``: for a
    signature in a format not checked here, whose modifications a relying party still
    needs to see (its own FieldMDP locks are not read: nothing of it is trusted)."""
    try:
        analysis = analyse_changes(
            data, signed_end, policy=policy, reader=reader, structures=structures
        )
    except MalformedInput as exc:
        return _unanalysable(exc)
    return _judged(analysis, [])


def _unanalysable(exc: MalformedInput) -> LaterRevisions:
    check = pades_checks.unanalysable(exc.reason)
    return LaterRevisions((check,), (check.detail,), False)


def _judged(analysis: ChangeAnalysis, locked: list[str]) -> LaterRevisions:
    checks = pades_checks.change_checks(analysis)
    lines = analysis.lines
    if locked:
        lock = pades_checks.locked_fields_changed(locked)
        checks.append(lock)
        lines = (*lines, f"not allowed: {lock.detail}")
    return LaterRevisions(tuple(checks), lines, analysis.modified_after_signing or bool(locked))
