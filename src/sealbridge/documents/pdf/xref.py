"""Rebuilding cross-reference sections in memory from each revision's own bytes.

Real-world signed PDFs sometimes carry cross-reference data that does not match their
bytes (the DSS pades-5 vector has a revision whose table points 20 kB past its objects,
and a final trailer whose ``/Prev`` is 0). Verification must still read them, and must
not change a byte any signature covers, so nothing here rewrites the file: the revisions
are found from their ``startxref … %%EOF`` markers, each section is read where it really
is, and a section whose entries do not point at their objects is rebuilt by scanning the
``N G obj`` headers inside that revision's own byte span.

The rule that keeps repairs from changing what a signer signed:

* A revision no signature covers (the unsigned tail) may be rebuilt freely: at worst the
  repair changes unsigned state, which every later check treats as unsigned anyway.
* A revision covered by a signature is rebuilt only when the result is forced by the
  signed bytes themselves: its section is the only one in its span; the set of objects its
  table declares in use is exactly the set of object headers in its span, each present
  once (so every declared object has one and only one possible definition); and a broken
  ``/Prev`` is replaced only by the revision that immediately precedes it in the file,
  which every byte-range signature covers in full. Anything else is refused with
  ``MalformedInput`` naming the revision and offset, because a guess could show a
  verifier objects the signer never saw.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.rw_common import PdfHandler
from pyhanko.pdf_utils.xref import (
    TrailerDictionary,
    XRefCache,
    XRefEntry,
    XRefSection,
    XRefSectionData,
    XRefSectionMetaInfo,
    XRefSectionType,
    XRefType,
    parse_xref_stream,
    parse_xref_table,
    read_object_header,
)

from sealbridge.errors import MalformedInput

_WS = rb"[\x00\t\n\f\r ]"
_REVISION_END = re.compile(
    rb"startxref" + _WS + rb"*(\d{1,12})" + _WS + rb"*%%EOF[ \t]*(?:\r\n|\r|\n)?"
)
_OBJECT_HEADER = re.compile(
    rb"(?<![0-9A-Za-z.+-])(\d{1,10})" + _WS + rb"+(\d{1,5})" + _WS + rb"+obj(?![A-Za-z0-9])"
)
_HEADER_AT = re.compile(_WS + rb"*(\d{1,10})" + _WS + rb"+(\d{1,5})" + _WS + rb"+obj")
_XREF_TABLE = re.compile(rb"(?<![A-Za-z0-9/])xref" + _WS + rb"+\d+" + _WS + rb"+\d+")
_STREAM_KEYWORD = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_DIRECT_LENGTH = re.compile(rb"/Length" + _WS + rb"+(\d{1,12})(?!" + _WS + rb"+\d+" + _WS + rb"+R)")
_XREF_TYPE = re.compile(rb"/Type" + _WS + rb"*/XRef(?![A-Za-z0-9])")
_NUMBER = _WS + rb"*(\d{1,12})"
_BYTE_RANGE = re.compile(rb"/ByteRange" + _WS + rb"*\[" + _NUMBER * 4 + _WS + rb"*\]")


class RepairRefused(MalformedInput):
    """Cross-references need a repair that could change what a signer signed."""


@dataclass(frozen=True)
class Repair:
    """One change the reader made to its view of the cross-reference data.

    ``signed`` says whether the revision lies (partly) within bytes a signature covers;
    such repairs are made only when the signed bytes leave no other reading.
    """

    revision: int
    offset: int
    signed: bool
    description: str

    def __str__(self) -> str:
        where = "signed" if self.signed else "unsigned"
        return f"revision {self.revision} ({where}) at byte {self.offset}: {self.description}"


@dataclass(frozen=True)
class RebuiltXrefs:
    """Cross-reference data in pyHanko's own form, ready for a reader to use."""

    sections: list[XRefSection]
    trailer: TrailerDictionary
    last_startxref: int
    has_xref_stream: bool
    repairs: tuple[Repair, ...]
    revision_ends: tuple[int, ...]


@dataclass(frozen=True)
class _Span:
    index: int
    start: int
    end: int
    declared_startxref: int
    signed: bool


@dataclass(frozen=True)
class _HeaderHit:
    idnum: int
    generation: int
    offset: int
    is_xref_stream: bool


@dataclass
class _ReadSection:
    section: XRefSection
    trailer: generic.DictionaryObject
    entries: list[XRefEntry]


def signed_extent(data: bytes) -> int:
    """How far from the start of the file signatures reach (0 when nothing is signed).

    Read from every ``/ByteRange`` in the raw bytes, not from parsed signatures, because
    it must be known before the document can be parsed; a stray match only makes the
    repair rule stricter, never looser.
    """
    extent = 0
    for match in _BYTE_RANGE.finditer(data):
        start2, length2 = int(match.group(3)), int(match.group(4))
        extent = max(extent, min(start2 + length2, len(data)))
    return extent


def rebuild(data: bytes, handler: PdfHandler, *, max_objects: int) -> RebuiltXrefs:
    """Read every revision's section from where it really is, repairing what is broken.

    Raises ``MalformedInput`` when a revision cannot be read, or when a repair would be
    needed inside signed bytes that do not force a single reading.
    """
    spans = _spans(data)
    stream = io.BytesIO(data)
    repairs: list[Repair] = []
    read: list[_ReadSection] = []
    total_entries = 0
    for span in spans:
        location = _locate_section(data, span, repairs)
        section = _read_section(stream, data, span, location, handler)
        total_entries += len(section.entries)
        if total_entries > max_objects:
            raise MalformedInput("PDF", f"more than {max_objects} cross-reference entries (limit)")
        section = _repair_entries(data, span, section, repairs)
        if read:
            _check_prev(data, span, section, read[-1], spans[span.index - 1], repairs)
        read.append(section)
    trailer = TrailerDictionary()
    trailer.container_ref = generic.TrailerReference(handler)
    for item in reversed(read):
        trailer.add_trailer_revision(item.trailer)
    return RebuiltXrefs(
        sections=[item.section for item in read],
        trailer=trailer,
        last_startxref=read[-1].section.meta_info.start_location,
        has_xref_stream=any(item.section.meta_info.stream_ref is not None for item in read),
        repairs=tuple(repairs),
        revision_ends=tuple(span.end for span in spans),
    )


def _spans(data: bytes) -> list[_Span]:
    extent = signed_extent(data)
    spans: list[_Span] = []
    start = 0
    for match in _REVISION_END.finditer(data):
        spans.append(
            _Span(len(spans), start, match.end(), int(match.group(1)), signed=start < extent)
        )
        start = match.end()
    if not spans:
        raise MalformedInput("PDF", "no 'startxref … %%EOF' trailer marker found")
    return spans


def _locate_section(data: bytes, span: _Span, repairs: list[Repair]) -> int:
    declared = span.declared_startxref
    if span.start <= declared < span.end and _section_starts_at(data, declared):
        return declared
    candidates = [m.start() for m in _XREF_TABLE.finditer(data, span.start, span.end)]
    candidates += [
        hit.offset for hit in _scan_headers(data, span.start, span.end) if hit.is_xref_stream
    ]
    if not candidates:
        raise MalformedInput(
            "PDF",
            f"revision {span.index} (bytes {span.start}–{span.end}) has no cross-reference "
            f"section; its startxref {declared} points nowhere",
        )
    if span.signed and len(candidates) > 1:
        raise RepairRefused(
            "PDF",
            f"signed revision {span.index}: startxref {declared} is wrong and the revision "
            f"holds {len(candidates)} candidate sections; refusing to guess",
        )
    location = max(candidates)
    repairs.append(
        Repair(
            span.index,
            declared,
            span.signed,
            f"startxref {declared} does not point at a cross-reference section; "
            f"the revision's section is at {location}",
        )
    )
    return location


def _section_starts_at(data: bytes, offset: int) -> bool:
    if _XREF_TABLE.match(data, offset):
        return True
    header = _HEADER_AT.match(data, offset)
    if header is None:
        return False
    return _XREF_TYPE.search(data, header.end(), min(len(data), header.end() + 1024)) is not None


def _read_section(
    stream: io.BytesIO, data: bytes, span: _Span, location: int, handler: PdfHandler
) -> _ReadSection:
    try:
        if _XREF_TABLE.match(data, location):
            return _read_table(stream, span, location, handler)
        return _read_stream(stream, span, location, handler)
    except (MalformedInput, RecursionError):
        raise
    except Exception as exc:  # pyHanko raises many kinds on bad bytes; all mean "unreadable"
        raise MalformedInput(
            "PDF",
            f"revision {span.index}: cross-reference section at {location} is unreadable: "
            f"{exc or type(exc).__name__}",
        ) from exc


def _read_table(
    stream: io.BytesIO, span: _Span, location: int, handler: PdfHandler
) -> _ReadSection:
    stream.seek(location + len(b"xref"))
    entries = list(parse_xref_table(stream, strict=False))
    end = stream.tell()
    trailer = generic.DictionaryObject.read_from_stream(stream, generic.TrailerReference(handler))
    if not isinstance(trailer, generic.DictionaryObject):
        raise MalformedInput("PDF", f"revision {span.index}: trailer is not a dictionary")
    data = XRefSectionData()
    data.process_entries(iter(entries), strict=False)
    kind = XRefSectionType.STANDARD
    stream_ref = None
    if "/XRefStm" in trailer:
        hybrid = _read_stream(stream, span, int(trailer.raw_get("/XRefStm")), handler)
        kind, stream_ref = XRefSectionType.HYBRID_MAIN, hybrid.section.meta_info.stream_ref
        data.hybrid = XRefSection(
            _meta(hybrid.section.meta_info, XRefSectionType.HYBRID_STREAM), hybrid.section.xref_data
        )
    meta = XRefSectionMetaInfo(
        xref_section_type=kind,
        size=int(trailer.raw_get("/Size")),
        declared_startxref=span.declared_startxref,
        start_location=location,
        end_location=end,
        stream_ref=stream_ref,
    )
    return _ReadSection(XRefSection(meta, data), trailer, entries)


def _read_stream(
    stream: io.BytesIO, span: _Span, location: int, handler: PdfHandler
) -> _ReadSection:
    stream.seek(location)
    idnum, generation = read_object_header(stream, strict=False)
    ref = generic.Reference(idnum, generation, pdf=handler)
    obj = generic.read_object(stream, ref)
    if not isinstance(obj, generic.StreamObject) or obj.raw_get("/Type") != "/XRef":
        raise MalformedInput(
            "PDF", f"revision {span.index}: object at {location} is not an XRef stream"
        )
    obj.container_ref = ref
    entries = list(parse_xref_stream(obj, strict=False))
    data = XRefSectionData()
    data.process_entries(iter(entries), strict=False)
    meta = XRefSectionMetaInfo(
        xref_section_type=XRefSectionType.STREAM,
        size=int(obj.raw_get("/Size")),
        declared_startxref=span.declared_startxref,
        start_location=location,
        end_location=stream.tell(),
        stream_ref=ref,
    )
    return _ReadSection(XRefSection(meta, data), obj, entries)


def _meta(meta: XRefSectionMetaInfo, kind: XRefSectionType) -> XRefSectionMetaInfo:
    return XRefSectionMetaInfo(
        xref_section_type=kind,
        size=meta.size,
        declared_startxref=meta.start_location,
        start_location=meta.start_location,
        end_location=meta.end_location,
        stream_ref=meta.stream_ref,
    )


def misplaced_entry(data: bytes, xrefs: XRefCache) -> str | None:
    """The first in-use entry of a parsed file whose offset does not hold its object.

    pyHanko reads objects lazily, so a table pointing at the wrong bytes would otherwise
    surface only later, as objects that silently read as null.
    """
    for revision in range(xrefs.total_revisions):
        for idnum, (generation, offset) in xrefs.get_xref_data(revision).standard_xrefs.items():
            if not _points_at(data, XRefEntry(XRefType.STANDARD, offset, idnum, generation)):
                return f"revision {revision}: object {idnum} {generation} is not at byte {offset}"
    return None


def _points_at(data: bytes, entry: XRefEntry) -> bool:
    location = entry.location
    if not isinstance(location, int) or not 0 <= location < len(data):
        return False
    header = _HEADER_AT.match(data, location)
    return (
        header is not None
        and int(header.group(1)) == entry.idnum
        and int(header.group(2)) == entry.generation
    )


def _repair_entries(
    data: bytes, span: _Span, read: _ReadSection, repairs: list[Repair]
) -> _ReadSection:
    standard = [e for e in read.entries if e.xref_type is XRefType.STANDARD and e.idnum != 0]
    broken = [e for e in standard if not _points_at(data, e)]
    if not broken:
        return read
    body_end = read.section.meta_info.start_location
    own_ref = read.section.meta_info.stream_ref
    hits = [
        hit
        for hit in _scan_headers(data, span.start, body_end)
        if own_ref is None or (hit.idnum, hit.generation) != (own_ref.idnum, own_ref.generation)
    ]
    found: dict[tuple[int, int], list[int]] = {}
    for hit in hits:
        found.setdefault((hit.idnum, hit.generation), []).append(hit.offset)
    if span.signed:
        fixed = _forced_entries(span, read, standard, found)
        what = (
            f"{len(broken)} of {len(standard)} entries did not point at their objects; "
            f"each declared object has exactly one definition in the revision"
            f"{_shift_note(standard, found)}"
        )
    else:
        fixed = [
            XRefEntry(XRefType.STANDARD, offsets[-1], idnum, generation)
            for (idnum, generation), offsets in sorted(found.items())
        ]
        what = (
            f"{len(broken)} of {len(standard)} entries did not point at their objects; "
            f"rebuilt from {len(fixed)} object headers in bytes {span.start}–{body_end}"
        )
    entries = [e for e in read.entries if e.xref_type is not XRefType.STANDARD or e.idnum == 0]
    entries += fixed
    section_data = XRefSectionData()
    section_data.process_entries(iter(entries), strict=False)
    section_data.hybrid = read.section.xref_data.hybrid
    repairs.append(Repair(span.index, read.section.meta_info.start_location, span.signed, what))
    return _ReadSection(XRefSection(read.section.meta_info, section_data), read.trailer, entries)


def _forced_entries(
    span: _Span,
    read: _ReadSection,
    standard: Sequence[XRefEntry],
    found: dict[tuple[int, int], list[int]],
) -> list[XRefEntry]:
    declared = {(e.idnum, e.generation) for e in standard}
    where = read.section.meta_info.start_location
    missing = sorted(declared - found.keys())
    extra = sorted(found.keys() - declared)
    repeated = sorted(key for key, offsets in found.items() if len(offsets) > 1)
    if missing or extra or repeated:
        problems: list[str] = []
        if missing:
            problems.append(f"declared but not defined in the revision: {_refs(missing)}")
        if extra:
            problems.append(f"defined but not declared: {_refs(extra)}")
        if repeated:
            problems.append(f"defined more than once: {_refs(repeated)}")
        raise RepairRefused(
            "PDF",
            f"signed revision {span.index}: cross-reference section at {where} does not match "
            f"its objects and cannot be rebuilt unambiguously ({'; '.join(problems)}); "
            "refusing to guess what the signer saw",
        )
    return [
        XRefEntry(XRefType.STANDARD, found[(e.idnum, e.generation)][0], e.idnum, e.generation)
        for e in standard
    ]


def _shift_note(standard: Sequence[XRefEntry], found: dict[tuple[int, int], list[int]]) -> str:
    shifts = {
        e.location - found[(e.idnum, e.generation)][0]
        for e in standard
        if isinstance(e.location, int)
    }
    if len(shifts) == 1:
        (shift,) = shifts
        return f" (all offsets off by {shift:+d} bytes)"
    return ""


def _refs(keys: Iterable[tuple[int, int]]) -> str:
    listed = [f"{idnum} {generation} R" for idnum, generation in keys]
    return ", ".join(listed[:5]) + (f" and {len(listed) - 5} more" if len(listed) > 5 else "")


def _check_prev(
    data: bytes,
    span: _Span,
    read: _ReadSection,
    previous: _ReadSection,
    previous_span: _Span,
    repairs: list[Repair],
) -> None:
    where = read.section.meta_info.start_location
    expected = previous.section.meta_info.start_location
    raw = read.trailer.raw_get("/Prev") if "/Prev" in read.trailer else None
    if raw is None:
        if span.signed:
            raise RepairRefused(
                "PDF",
                f"signed revision {span.index}: trailer at {where} has no /Prev although "
                "earlier revisions exist; refusing to join them",
            )
        repairs.append(
            Repair(span.index, where, False, f"no /Prev; joined to the section at {expected}")
        )
        return
    prev = raw.get_object() if isinstance(raw, generic.IndirectObject) else raw
    if isinstance(prev, int) and prev in (expected, previous_span.declared_startxref):
        return
    if span.signed and isinstance(prev, int) and _section_starts_at(data, prev):
        raise RepairRefused(
            "PDF",
            f"signed revision {span.index}: /Prev {prev} points at a cross-reference section "
            f"other than the preceding revision's (at {expected}); refusing to choose",
        )
    repairs.append(
        Repair(
            span.index,
            where,
            span.signed,
            f"/Prev {prev} does not point at a cross-reference section; the preceding "
            f"revision's section is at {expected}",
        )
    )


def _scan_headers(data: bytes, start: int, end: int) -> list[_HeaderHit]:
    """Object headers in ``data[start:end]``, skipping stream payloads so binary data
    cannot pass for a header."""
    hits: list[_HeaderHit] = []
    position = start
    while True:
        header = _OBJECT_HEADER.search(data, position, end)
        if header is None:
            return hits
        body = header.end()
        close = data.find(b"endobj", body, end)
        limit = end if close < 0 else close
        keyword = _STREAM_KEYWORD.search(data, body, limit)
        is_xref = _XREF_TYPE.search(data, body, keyword.start() if keyword else limit) is not None
        hits.append(_HeaderHit(int(header.group(1)), int(header.group(2)), header.start(), is_xref))
        if keyword is None:
            position = limit if close < 0 else close + len(b"endobj")
            continue
        position = _after_stream(data, header.end(), keyword.start(), keyword.end(), end)


def _after_stream(data: bytes, dict_start: int, keyword: int, payload: int, end: int) -> int:
    length = _DIRECT_LENGTH.search(data, dict_start, keyword)
    if length is not None:
        candidate = payload + int(length.group(1))
        if candidate <= end and data[candidate : candidate + 20].lstrip().startswith(b"endstream"):
            return candidate
    close = data.find(b"endstream", payload, end)
    return end if close < 0 else close + len(b"endstream")
