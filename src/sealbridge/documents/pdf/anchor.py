"""Keyword-anchored stamps: put the seal where the document says "盖章" or "(Seal)".

Chinese signing platforms let the contract author write a label such as "甲方（盖章）"
or "Party B (Seal)" and stamp over it, so that the chop covers the label as a paper
chop does. We do the same: the box is centred on the keyword (the platforms' default;
``offset_mm`` moves it, e.g. to the right of the label), then clamped inside the
visible page.

Finding the keyword needs the text *with positions*, including in PDFs we did not
make (Word and fpdf2 write CID fonts with Identity-H encoding, readable only through
their ToUnicode maps). pyHanko has no text extraction, so this module uses
pdfminer.six, which decodes those fonts and gives each glyph's box. Layout analysis
is skipped: a label is written as one run of text, so content order suffices, and
skipping it keeps the work linear in the size of the page.

A hostile PDF cannot make the search hang or exhaust memory: the file size, page
count, inflated size of every stream the text interpreter reads and the number of
glyphs are all bounded, and exceeding a bound is a typed error.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from pdfminer.cmapdb import CMapBase, FileUnicodeMap
from pdfminer.converter import PDFLayoutAnalyzer
from pdfminer.layout import LTChar, LTLayoutContainer, LTPage
from pdfminer.pdfcolor import PDFColorSpace
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdffont import PDFCIDFont, PDFFont
from pdfminer.pdfinterp import PDFGraphicState, PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import LITERALS_FLATE_DECODE, PDFStream, resolve1
from pdfminer.psexceptions import PSException
from pdfminer.psparser import PSLiteral
from pdfminer.utils import Matrix, PathSegment

from sealbridge.documents.pdf.contract import SigningPlace
from sealbridge.errors import MalformedInput, SealBridgeError

PT_PER_MM = 72 / 25.4
MAX_PDF_BYTES = 100 * 1024 * 1024
MAX_PAGES = 500
MAX_STREAM_BYTES = 32 * 1024 * 1024
MAX_GLYPHS = 2_000_000
DEFAULT_SIZE_MM = 40.0  # the usual diameter of a Chinese company seal

_WHAT = "PDF"
_MAX_RESOURCE_DEPTH = 8
# pdfminer raises its own PSException family for syntax, and plain builtins from deep
# inside font and stream decoding when the bytes lie about their structure.
_PARSE_ERRORS = (
    PSException,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    AssertionError,
    ZeroDivisionError,
    OverflowError,
    RecursionError,
    zlib.error,
)


class AnchorError(SealBridgeError):
    """The keyword could not be turned into one place on one page."""


class AnchorNotFound(AnchorError):
    def __init__(self, keyword: str, detail: str = "") -> None:
        super().__init__(f"keyword {keyword!r} not found in the PDF text{detail}")
        self.keyword = keyword


class AmbiguousAnchor(AnchorError):
    def __init__(self, keyword: str, pages: Sequence[int]) -> None:
        counts = Counter(page + 1 for page in pages)
        listed = ", ".join(f"page {page}: {count}" for page, count in sorted(counts.items()))
        super().__init__(
            f"keyword {keyword!r} occurs {len(pages)} times ({listed}); "
            "pass occurrence= to choose one"
        )
        self.keyword = keyword
        self.pages = tuple(pages)


class AnchorSearchTooLarge(AnchorError):
    """The PDF exceeds a bound that keeps the search finite; the message names it."""


@dataclass(frozen=True)
class AnchorHit:
    """One occurrence of the keyword: 0-based page and its box in PDF user space."""

    page: int
    box: tuple[float, float, float, float]

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


@dataclass(frozen=True)
class _Glyph:
    text: str
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class _Page:
    glyphs: tuple[_Glyph, ...]
    crop: tuple[float, float, float, float]


def place_at_anchor(
    pdf: bytes,
    text: str,
    *,
    field_name: str,
    size_mm: float | tuple[float, float] = DEFAULT_SIZE_MM,
    occurrence: int | None = None,
    offset_mm: tuple[float, float] = (0.0, 0.0),
    max_pages: int = MAX_PAGES,
) -> SigningPlace:
    """A signing place of ``size_mm`` centred on ``text``, moved by ``offset_mm``.

    ``occurrence`` counts hits in reading order from 1 (negative counts from the end,
    -1 being the last, as platforms sign at the final "(Seal)"); without it the keyword
    must occur exactly once. The offset is in millimetres, x to the right, y upwards.
    """
    width_mm, height_mm = size_mm if isinstance(size_mm, tuple) else (size_mm, size_mm)
    if not (width_mm > 0 and height_mm > 0):
        raise MalformedInput("anchor size", f"{size_mm!r} mm is not a positive size")
    pages = _read_pages(pdf, max_pages)
    hits = _hits(pages, text)
    hit = _choose(hits, text, occurrence)
    width, height = width_mm * PT_PER_MM, height_mm * PT_PER_MM
    centre_x, centre_y = hit.centre
    left = centre_x + offset_mm[0] * PT_PER_MM - width / 2
    bottom = centre_y + offset_mm[1] * PT_PER_MM - height / 2
    crop = pages[hit.page].crop
    if width > crop[2] - crop[0] or height > crop[3] - crop[1]:
        raise MalformedInput(
            "anchor size", f"{width_mm:g}x{height_mm:g} mm does not fit on page {hit.page + 1}"
        )
    left = min(max(left, crop[0]), crop[2] - width)
    bottom = min(max(bottom, crop[1]), crop[3] - height)
    box = (round(left), round(bottom), round(left + width), round(bottom + height))
    return SigningPlace(field_name, hit.page, box)


def find_anchors(pdf: bytes, text: str, *, max_pages: int = MAX_PAGES) -> tuple[AnchorHit, ...]:
    """Every occurrence of ``text`` in reading order, for callers that choose themselves."""
    return _hits(_read_pages(pdf, max_pages), text)


def _choose(hits: Sequence[AnchorHit], text: str, occurrence: int | None) -> AnchorHit:
    if not hits:
        raise AnchorNotFound(text)
    if occurrence is None:
        if len(hits) > 1:
            raise AmbiguousAnchor(text, [hit.page for hit in hits])
        return hits[0]
    if occurrence == 0:
        raise MalformedInput("anchor occurrence", "counts from 1 (or from -1 at the end), not 0")
    index = occurrence - 1 if occurrence > 0 else occurrence
    if not -len(hits) <= index < len(hits):
        raise AnchorNotFound(text, f" as occurrence {occurrence}: it occurs {len(hits)} times")
    return hits[index]


def _hits(pages: Sequence[_Page], text: str) -> tuple[AnchorHit, ...]:
    needle = "".join(_normalise(ch) for ch in text)
    if not needle:
        raise MalformedInput("anchor keyword", "is empty once whitespace is ignored")
    found: list[AnchorHit] = []
    for number, page in enumerate(pages):
        on_page = [AnchorHit(number, box) for box in _matches(page.glyphs, needle)]
        on_page.sort(key=lambda hit: (-round(hit.box[3]), hit.box[0]))
        found.extend(on_page)
    return tuple(found)


def _matches(glyphs: Sequence[_Glyph], needle: str) -> Iterator[tuple[float, float, float, float]]:
    """Boxes where ``needle`` is written on one line, each position reported once.

    Whitespace is ignored and compatibility forms folded (NFKC), so "甲方(盖章)" finds
    "甲方（盖章）" and a label whose spaces are mere glyph gaps. Text drawn twice at the
    same place (how Word fakes bold) counts once.
    """
    haystack: list[str] = []
    owner: list[int] = []
    for index, glyph in enumerate(glyphs):
        for ch in _normalise(glyph.text):
            haystack.append(ch)
            owner.append(index)
    joined = "".join(haystack)
    seen: list[tuple[float, float, float, float]] = []
    start = joined.find(needle)
    while start >= 0:
        boxes = [glyphs[i].box for i in sorted(set(owner[start : start + len(needle)]))]
        box = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        if _one_line(boxes) and not any(_same_place(box, other) for other in seen):
            seen.append(box)
            yield box
        start = joined.find(needle, start + len(needle))


def _normalise(text: str) -> str:
    if text.startswith("(cid:"):
        return "\ufffd"  # a glyph without Unicode must not match anything
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if not ch.isspace())


def _one_line(boxes: Sequence[tuple[float, float, float, float]]) -> bool:
    """Glyphs adjacent in the content stream but on different lines are no match."""
    height = max(b[3] - b[1] for b in boxes)
    middles = [(b[1] + b[3]) / 2 for b in boxes]
    return max(middles) - min(middles) <= height / 2


def _same_place(
    one: tuple[float, float, float, float], other: tuple[float, float, float, float]
) -> bool:
    return all(abs(a - b) <= 2.0 for a, b in zip(one, other, strict=True))


def _read_pages(pdf: bytes, max_pages: int) -> tuple[_Page, ...]:
    if len(pdf) > MAX_PDF_BYTES:
        raise AnchorSearchTooLarge(
            f"PDF of {len(pdf)} bytes exceeds the {MAX_PDF_BYTES} bytes searched for anchors"
        )
    if not pdf.lstrip()[:5] == b"%PDF-":
        raise MalformedInput(_WHAT, "does not start with %PDF-")
    try:
        document = PDFDocument(PDFParser(io.BytesIO(pdf)))
        resources = _FontMender()
        device = _GlyphCollector(resources)
        interpreter = PDFPageInterpreter(resources, device)
        pages: list[_Page] = []
        for page in PDFPage.create_pages(document):
            if len(pages) == max_pages:
                raise AnchorSearchTooLarge(
                    f"PDF has more than {max_pages} pages; anchors are searched in at most "
                    f"{max_pages}"
                )
            _check_streams(page, len(pages))
            interpreter.process_page(page)
            crop = tuple(float(v) for v in page.cropbox)
            pages.append(_Page(device.take(), (crop[0], crop[1], crop[2], crop[3])))
    except SealBridgeError:
        raise
    except _PARSE_ERRORS as exc:
        raise MalformedInput(_WHAT, f"cannot read its text: {exc!r}") from exc
    if not pages:
        raise MalformedInput(_WHAT, "has no pages")
    return tuple(pages)


def _check_streams(page: PDFPage, number: int) -> None:
    """Refuse a page whose content, forms or fonts would inflate past the bound.

    pdfminer inflates streams whole, so a few kilobytes of deflate bomb would otherwise
    become gigabytes. Images are skipped: they are never decoded for text.
    """
    seen: set[int] = set()
    pending: list[tuple[object, int]] = [(page.resources, 0)]
    pending.extend((content, 0) for content in page.contents)
    while pending:
        item, depth = pending.pop()
        value = resolve1(item)
        if id(value) in seen or depth > _MAX_RESOURCE_DEPTH:
            continue
        seen.add(id(value))
        if isinstance(value, PDFStream):
            subtype = resolve1(value.get("Subtype"))
            if isinstance(subtype, PSLiteral) and subtype.name == "Image":
                continue
            _check_stream(value, number)
            pending.append((value.attrs, depth + 1))
        elif isinstance(value, dict):
            pending.extend((child, depth + 1) for key, child in value.items() if key != "Parent")
        elif isinstance(value, list):
            pending.extend((child, depth + 1) for child in value)


def _check_stream(stream: PDFStream, number: int) -> None:
    raw = stream.rawdata if stream.rawdata is not None else stream.data
    if raw is None:
        return
    size = len(raw)
    filters = stream.get_filters()
    if filters and filters[0][0] in LITERALS_FLATE_DECODE:
        inflater = zlib.decompressobj()
        try:
            size = len(inflater.decompress(raw, MAX_STREAM_BYTES + 1))
        except zlib.error:
            return  # pdfminer recovers what it can from a corrupt stream, all of it small
    if size > MAX_STREAM_BYTES:
        raise AnchorSearchTooLarge(
            f"page {number + 1} has a stream over {MAX_STREAM_BYTES} bytes once inflated"
        )


class _FontMender(PDFResourceManager):
    """Reads CID fonts whose encoding is a CMap embedded in the file, as fpdf2 writes.

    pdfminer looks such a CMap up by name in its own database and, not finding
    "Adobe-Identity-UCS" there, decodes every string to nothing; its CMap parser reads
    only ToUnicode maps. So the embedded CMap is read here, and since the ToUnicode map
    is keyed by code while pdfminer keys Unicode by CID, that map is re-keyed too.
    """

    def __init__(self) -> None:
        super().__init__(caching=True)
        self._mended: set[PDFCIDFont] = set()

    def get_font(self, objid: object, spec: Mapping[str, object]) -> PDFFont:
        font = super().get_font(objid, spec)
        encoding = resolve1(spec.get("Encoding"))
        if (
            isinstance(font, PDFCIDFont)
            and isinstance(encoding, PDFStream)
            and font not in self._mended
        ):
            self._mended.add(font)
            cmap = _EmbeddedCMap(encoding.get_data())
            font.cmap = cmap
            if isinstance(font.unicode_map, FileUnicodeMap):
                by_cid = FileUnicodeMap()
                for code, text in font.unicode_map.cid2unichr.items():
                    cid = cmap.cid(code)
                    if cid is not None:
                        by_cid.cid2unichr[cid] = text
                font.unicode_map = by_cid
        return font


_HEX = rb"<([0-9A-Fa-f\s]*)>"


class _EmbeddedCMap(CMapBase):
    """The code-to-CID part of a CMap: codespace ranges, cidchar and cidrange entries.

    Ranges are kept as ranges, so a hostile ``<00000000> <FFFFFFFF>`` costs nothing.
    """

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._spaces = [
            (bytes.fromhex(low.decode()), bytes.fromhex(high.decode()))
            for block in _blocks(data, b"codespacerange")
            for low, high in re.findall(_HEX + rb"\s*" + _HEX, block)
        ]
        self._chars = {
            int(code, 16) if code.strip() else 0: int(cid)
            for block in _blocks(data, b"cidchar")
            for code, cid in re.findall(_HEX + rb"\s*(\d+)", block)
        }
        self._ranges = [
            (int(low, 16), int(high, 16), int(cid))
            for block in _blocks(data, b"cidrange")
            for low, high, cid in re.findall(_HEX + rb"\s*" + _HEX + rb"\s*(\d+)", block)
        ]

    def cid(self, code: int) -> int | None:
        if code in self._chars:
            return self._chars[code]
        for low, high, first in self._ranges:
            if low <= code <= high:
                return first + code - low
        return None

    def decode(self, code: bytes) -> Iterator[int]:
        position = 0
        while position < len(code):
            length = self._length(code, position)
            cid = self.cid(int.from_bytes(code[position : position + length], "big"))
            yield 0 if cid is None else cid
            position += length

    def _length(self, code: bytes, position: int) -> int:
        for low, high in self._spaces:
            part = code[position : position + len(low)]
            if len(part) == len(low) and all(
                a <= b <= c for a, b, c in zip(low, part, high, strict=True)
            ):
                return len(low)
        return 1


def _blocks(data: bytes, name: bytes) -> list[bytes]:
    return re.findall(rb"begin" + name + rb"(.*?)end" + name, data, re.DOTALL)


class _GlyphCollector(PDFLayoutAnalyzer):
    """Keeps only glyphs, mapped back from pdfminer's display space to PDF user space.

    pdfminer turns rotated pages upright and moves the media box to the origin; a
    signature field's /Rect is in unrotated user space, so every box is mapped back
    through the inverse of the page matrix.
    """

    def __init__(self, resources: PDFResourceManager) -> None:
        super().__init__(resources, laparams=None)
        self._inverse: Matrix = (1, 0, 0, 1, 0, 0)
        self._page: LTPage | None = None
        self._count = 0

    def begin_page(self, page: PDFPage, ctm: Matrix) -> None:
        super().begin_page(page, ctm)
        self._inverse = _invert(ctm)

    def receive_layout(self, ltpage: LTPage) -> None:
        self._page = ltpage

    def render_char(
        self,
        matrix: Matrix,
        font: PDFFont,
        fontsize: float,
        scaling: float,
        rise: float,
        cid: int,
        ncs: PDFColorSpace,
        graphicstate: PDFGraphicState,
    ) -> float:
        self._count += 1
        if self._count > MAX_GLYPHS:
            raise AnchorSearchTooLarge(f"PDF draws more than {MAX_GLYPHS} glyphs")
        return super().render_char(matrix, font, fontsize, scaling, rise, cid, ncs, graphicstate)

    def paint_path(
        self,
        gstate: PDFGraphicState,
        stroke: bool,
        fill: bool,
        evenodd: bool,
        path: Sequence[PathSegment],
    ) -> None:
        """Drawings carry no text; not recording them saves time and memory."""

    def render_image(self, name: str, stream: PDFStream) -> None:
        """Images carry no text; not recording them saves time and memory."""

    def take(self) -> tuple[_Glyph, ...]:
        page, self._page = self._page, None
        if page is None:
            return ()
        return tuple(self._glyphs(page))

    def _glyphs(self, container: LTLayoutContainer) -> Iterator[_Glyph]:
        for item in container:
            if isinstance(item, LTChar):
                yield _Glyph(item.get_text(), _map_box(self._inverse, item.bbox))
            elif isinstance(item, LTLayoutContainer):
                yield from self._glyphs(item)


def _invert(m: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    det = a * d - b * c
    if det == 0:
        raise MalformedInput(_WHAT, "has a page matrix that cannot be inverted")
    return (d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det)


def _map_box(
    m: Matrix, box: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    a, b, c, d, e, f = m
    xs, ys = [], []
    for x, y in ((box[0], box[1]), (box[2], box[3]), (box[0], box[3]), (box[2], box[1])):
        xs.append(a * x + c * y + e)
        ys.append(b * x + d * y + f)
    return (min(xs), min(ys), max(xs), max(ys))
