"""Byte-level checks: does the signed range end a revision, and is every byte after it a
proper incremental update chained to it?

These are the incremental-saving and signature-wrapping attacks of "1 Trillion Dollar
Refund" (Mladenov et al., CCS 2019): viewers repair files, so bytes that no cross-reference
section accounts for can still be displayed, and a byte range that stops short of a
revision's ``%%EOF`` signs less than the signer's revision.
"""

from __future__ import annotations

import re

from pyhanko.pdf_utils.reader import PdfFileReader

from sealbridge.verify.changes.model import Change, ChangeKind, Verdict

_PADDING = b"\r\n\t\f\x00 "
_STARTXREF = re.compile(rb"startxref\s+(\d{1,15})")


def signed_startxref(data: bytes, signed_end: int) -> int | None:
    """The ``startxref`` value closest before the end of the signed bytes."""
    at = data.rfind(b"startxref", 0, signed_end)
    if at < 0:
        return None
    match = _STARTXREF.match(data, at, signed_end)
    return int(match.group(1)) if match else None


def byte_range_changes(data: bytes, signed_end: int) -> list[Change]:
    if signed_end <= 0 or signed_end > len(data):
        return [
            Change(
                ChangeKind.BYTE_RANGE_NOT_AT_EOF,
                Verdict.NOT_ALLOWED,
                f"the signed byte range ends at {signed_end}, outside the {len(data)}-byte file",
            )
        ]
    end = signed_end
    while end > 0 and data[end - 1] in _PADDING:
        end -= 1
    # Looked at in place: a copy of the signed bytes per signature cost n^2 in all.
    if data.endswith(b"%%EOF", 0, end):
        return []
    return [
        Change(
            ChangeKind.BYTE_RANGE_NOT_AT_EOF,
            Verdict.NOT_ALLOWED,
            f"the signed byte range ends at byte {signed_end}, not at the end (%%EOF) of a "
            "revision: the signature covers only part of the signer's revision",
        )
    ]


def find_signed_revision(reader: PdfFileReader, data: bytes, signed_end: int) -> int | None:
    """pyHanko's index of the revision whose ``startxref`` closes the signed bytes."""
    declared = signed_startxref(data, signed_end)
    if declared is None:
        return None
    xrefs = reader.xrefs
    for revision in range(xrefs.total_revisions):
        if xrefs.get_startxref_for_revision(revision) == declared:
            return int(revision)
    return None


def chain_changes(
    reader: PdfFileReader, signed_revision: int | None, signed_end: int
) -> list[Change]:
    """A later update must hang off the signed revision through ``/Prev`` and must keep its
    own cross-reference data outside the signed bytes."""
    if signed_revision is None:
        return [
            Change(
                ChangeKind.BROKEN_REVISION_CHAIN,
                Verdict.NOT_ALLOWED,
                "the revision the signature covers is not in the file's chain of "
                "cross-reference sections: a later update replaced the whole document "
                "instead of extending it",
            )
        ]
    xrefs = reader.xrefs
    found: list[Change] = []
    for revision in range(signed_revision + 1, xrefs.total_revisions):
        meta = xrefs.get_xref_container_info(revision)
        if meta.start_location < signed_end:
            found.append(
                Change(
                    ChangeKind.XREF_OVERRIDE,
                    Verdict.NOT_ALLOWED,
                    f"revision {revision} uses a cross-reference section hidden inside the "
                    f"signed bytes (at offset {meta.start_location}): content staged before "
                    "signing is swapped in afterwards",
                    revision=revision,
                )
            )
    return found


def trailing_changes(reader: PdfFileReader, data: bytes) -> list[Change]:
    """Bytes after the final revision's ``%%EOF`` belong to no revision."""
    xrefs = reader.xrefs
    last = xrefs.total_revisions - 1
    meta = xrefs.get_xref_container_info(last)
    eof = data.find(b"%%EOF", meta.end_location)
    if eof < 0:
        return []
    tail = data[eof + 5 :]
    if not tail.strip(_PADDING):
        return []
    has_objects = re.search(rb"\d+\s+\d+\s+obj\b", tail) is not None
    what = "object definitions" if has_objects else "data"
    return [
        Change(
            ChangeKind.TRAILING_BYTES,
            Verdict.NOT_ALLOWED,
            f"{len(tail)} bytes of {what} follow the last %%EOF without a cross-reference "
            "section or trailer: an incremental update that viewers may repair and display",
        )
    ]
