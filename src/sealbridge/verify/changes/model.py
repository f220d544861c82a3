"""What changed in a PDF after a signature, and how much it matters.

A relying party must not have to read object numbers: every change carries a verdict and a
sentence. The verdict vocabulary follows the shadow-attack literature (Mainka, Mladenov,
Rohlmann, NDSS 2021): a change is *allowed* when it cannot alter what the signer saw (later
signatures, validation data), *suspicious* when the certification permits it but a page may
now look different, and *not allowed* when it alters signed content or the file structure
in a way no legitimate signing workflow produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Verdict(IntEnum):
    """Ordered so that the worst verdict of a set is its ``max``."""

    ALLOWED = 0
    SUSPICIOUS = 1
    NOT_ALLOWED = 2

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", " ")


class ChangeKind(StrEnum):
    PAGE_CONTENT = "page-content"
    PAGE_CHANGED = "page-changed"
    PAGE_TREE = "page-tree"
    CATALOG = "catalog"
    ANNOTATION_ADDED = "annotation-added"
    ANNOTATION_CHANGED = "annotation-changed"
    ANNOTATION_REMOVED = "annotation-removed"
    FORM_FIELD_ADDED = "form-field-added"
    FORM_FIELD_VALUE = "form-field-value"
    FORM_FIELD_APPEARANCE = "form-field-appearance"
    SIGNATURE_ADDED = "signature-added"
    UNSIGNED_SIGNATURE_FIELD = "unsigned-signature-field"
    SIGNATURE_CHANGED = "signature-changed"
    VALIDATION_DATA = "validation-data"
    METADATA = "metadata"
    OBJECT_CHANGED = "object-changed"
    OBJECT_FREED = "object-freed"
    XREF_OVERRIDE = "xref-override-into-signed-bytes"
    STAGED_OBJECT = "staged-object-activated"
    TRAILING_BYTES = "trailing-bytes"
    BYTE_RANGE_NOT_AT_EOF = "byte-range-not-at-eof"
    BROKEN_REVISION_CHAIN = "broken-revision-chain"
    VISUAL = "visual-change"


@dataclass(frozen=True)
class Change:
    """One finding. ``revision`` is pyHanko's index (0 = original file), or ``None`` for
    findings about bytes that belong to no revision; ``obj`` is ``"12 0"`` style."""

    kind: ChangeKind
    verdict: Verdict
    sentence: str
    revision: int | None = None
    obj: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class ChangePolicy:
    """Bounds and options; the defaults suit interactive verification of contracts."""

    visual: bool = False
    dpi: int = 30
    render_timeout: float = 30.0
    max_pages_rendered: int = 50
    max_objects: int = 200_000
    max_revisions: int = 256
    time_limit: float = 60.0


@dataclass(frozen=True)
class ChangeAnalysis:
    signed_revision: int | None
    later_revisions: int
    docmdp: int | None
    changes: tuple[Change, ...]
    visual_checked: bool
    notes: tuple[str, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return max((c.verdict for c in self.changes), default=Verdict.ALLOWED)

    @property
    def modified_after_signing(self) -> bool:
        return self.verdict is Verdict.NOT_ALLOWED

    def of_kind(self, *kinds: ChangeKind) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind in kinds)

    def at_least(self, verdict: Verdict) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.verdict >= verdict)

    @property
    def lines(self) -> tuple[str, ...]:
        """One line per finding worth a reader's attention, for ``SignatureReport.changes``."""
        return (
            tuple(
                f"{c.verdict.label}: {c.sentence}"
                for c in self.changes
                if c.verdict > Verdict.ALLOWED
            )
            + self.notes
        )

    @property
    def summary(self) -> str:
        worst = self.at_least(Verdict.SUSPICIOUS)
        if not self.later_revisions and not worst:
            return "nothing was added to the file after this signature"
        if not worst:
            return (
                f"{self.later_revisions} later revision(s) add only signatures, validation "
                "data or metadata"
            )
        return f"{self.verdict.label}: {worst[0].sentence}" + (
            f" (and {len(worst) - 1} more)" if len(worst) > 1 else ""
        )
