"""Everything that happened to a PDF after one signature, in one verdict.

Structural checks always run: byte layout (``layout``), then each later revision's objects
judged by role (``diff``), each revision once per file (``timeline``). The optional
visual check renders the signed revision and the final file and compares the pixels,
masking the boxes of signatures added later.
"""

from __future__ import annotations

import io

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from sealbridge.documents.pdf.limits import PARSE_ERRORS
from sealbridge.errors import MalformedInput
from sealbridge.verify import render
from sealbridge.verify.changes.layout import (
    byte_range_changes,
    chain_changes,
    find_signed_revision,
    trailing_changes,
)
from sealbridge.verify.changes.model import (
    Change,
    ChangeAnalysis,
    ChangeKind,
    ChangePolicy,
    Verdict,
)
from sealbridge.verify.changes.structure import Budget, Structure
from sealbridge.verify.changes.timeline import Timeline

# What is known of a file's revisions, by the ``id`` of the reader that parsed it (the
# timeline holds that reader, so the id is not reused); one dict serves a file's signatures.
StructureCache = dict[int, Timeline]


def analyse_changes(
    data: bytes,
    signature_byte_range_end: int,
    *,
    policy: ChangePolicy | None = None,
    docmdp: int | None = None,
    reader: PdfFileReader | None = None,
    structures: StructureCache | None = None,
) -> ChangeAnalysis:
    """Analyse what the file adds after the revision ending at ``signature_byte_range_end``.

    ``docmdp`` overrides the certification level read from the signed revision (1-3);
    pass ``reader`` to reuse an already parsed file, and the same ``structures`` (and
    reader) for every signature of one file, so each revision is walked and judged once
    per file, not once per signature: the cost then grows with the number of revisions,
    not with its square.
    """
    policy = policy or ChangePolicy()
    budget = Budget(policy.max_objects, policy.time_limit)
    try:
        reader = reader or PdfFileReader(io.BytesIO(data), strict=False)
        cache = structures if structures is not None else {}
        timeline = cache.get(id(reader))
        if timeline is None:
            timeline = cache[id(reader)] = Timeline(reader)
        return _analyse(data, signature_byte_range_end, policy, docmdp, timeline, budget)
    except RecursionError as exc:
        raise MalformedInput("PDF", "objects are nested too deeply to analyse") from exc
    except PARSE_ERRORS as exc:
        raise MalformedInput("PDF", f"cannot analyse later revisions: {exc}") from exc


def analyse_after(
    data: bytes,
    signature: EmbeddedPdfSignature,
    *,
    policy: ChangePolicy | None = None,
    reader: PdfFileReader | None = None,
    structures: StructureCache | None = None,
) -> ChangeAnalysis:
    """The hook for ``verify_pdf``: the signature's byte range says where its revision ends."""
    byte_range = list(signature.byte_range)
    if len(byte_range) != 4:
        raise MalformedInput("PDF", f"signature byte range {byte_range} is not four numbers")
    end = int(byte_range[2]) + int(byte_range[3])
    return analyse_changes(
        data, end, policy=policy, reader=reader or signature.reader, structures=structures
    )


def _analyse(
    data: bytes,
    signed_end: int,
    policy: ChangePolicy,
    docmdp: int | None,
    timeline: Timeline,
    budget: Budget,
) -> ChangeAnalysis:
    reader = timeline.reader
    changes = byte_range_changes(data, signed_end)
    signed = find_signed_revision(reader, data, signed_end)
    changes += chain_changes(reader, signed, signed_end)
    changes += trailing_changes(reader, data)
    total = reader.xrefs.total_revisions
    if signed is None:
        return ChangeAnalysis(None, 0, docmdp, tuple(changes), False)
    later = total - 1 - signed
    if later > policy.max_revisions:
        raise MalformedInput(
            "PDF",
            f"{later} revisions after the signature exceed the limit of {policy.max_revisions}",
        )
    level = docmdp if docmdp is not None else timeline.docmdp_level(signed)
    if later == 0:
        # Nothing was added after this signature: the layout checks above say it all,
        # and walking the document's structure would only re-read what it signed.
        return ChangeAnalysis(signed, 0, level, tuple(changes), False)
    found, before, after = timeline.changes_after(signed, signed_end, level, budget)
    changes += found
    changes += _unsigned_signature_fields(before, after)
    notes: list[str] = []
    visual_checked = False
    if policy.visual:
        visual_checked, visual, note = _visual(data, signed_end, before, after, policy)
        changes += visual
        notes += [note] if note else []
    return ChangeAnalysis(signed, later, level, tuple(changes), visual_checked, tuple(notes))


def _unsigned_signature_fields(before: Structure, after: Structure) -> list[Change]:
    """A visible signature field that no signature fills is an overlay in disguise (the
    "Sneaky Signature" attack on certified PDFs)."""
    return [
        Change(
            ChangeKind.UNSIGNED_SIGNATURE_FIELD,
            Verdict.SUSPICIOUS,
            f"an unsigned signature field with a visible appearance was added on page "
            f"{w.page + 1}: it can cover signed content",
            obj=f"{w.key[0]} {w.key[1]}",
            page=w.page + 1,
        )
        for w in after.signature_widgets
        if w.key is not None and w.key not in before.roles and w.overlay
    ]


def _visual(
    data: bytes, signed_end: int, before: Structure, after: Structure, policy: ChangePolicy
) -> tuple[bool, list[Change], str | None]:
    if not render.pdftoppm_available():
        return False, [], "visual comparison skipped: pdftoppm (poppler-utils) is not installed"
    signed_before = {w.key for w in before.signature_widgets if w.signed}
    masks: dict[int, list[tuple[float, float, float, float]]] = {}
    for widget in after.signature_widgets:
        if widget.signed and widget.key not in signed_before:
            masks.setdefault(widget.page, []).append(widget.rect)
    try:
        differences = render.compare_pdfs(
            data[:signed_end],
            data,
            boxes=after.page_boxes,
            masks=masks,
            dpi=policy.dpi,
            timeout=policy.render_timeout,
            max_pages=policy.max_pages_rendered,
        )
    except render.RenderError as exc:
        return False, [], f"visual comparison skipped: {exc}"
    changes = [
        Change(
            ChangeKind.VISUAL,
            Verdict.SUSPICIOUS,
            d.sentence,
            page=d.page,
        )
        for d in differences
    ]
    return True, changes, None
