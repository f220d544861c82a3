"""A bilingual (Chinese/English) contract as an OFD document, with a sealing place per party.

The package holds what GB/T 33190 requires and an OFD reader needs to lay text out:
OFD.xml (DocInfo, DocRoot), Document.xml (page area, pages), PublicRes.xml with one font
(宋体 by name, not embedded: readers substitute a system CJK font), and one Content.xml
per page of TextObjects whose glyph advances (DeltaX) are given, so no reader has to
guess the spacing. Like the PDF contract, the generator returns where it put each
sealing place, so stampers get exact boxes in millimetres instead of guessing.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from lxml import etree

from sealbridge.documents.ofd.container import OfdPackage, write_package
from sealbridge.documents.ofd.markup import child, new_root, serialize
from sealbridge.documents.pdf.contract import ContractParty
from sealbridge.errors import MalformedInput

PAGE_WIDTH_MM = 210.0
PAGE_HEIGHT_MM = 297.0
MARGIN_MM = 20.0
FONT_NAME = "宋体"
CREATOR = "SealBridge"
CREATOR_VERSION = "0.1.0"
_SEAL_BOX = (60.0, 50.0)
_LINE_SPACING = 1.5
_MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True)
class SealPlace:
    """Where one party's seal goes: a page index and a box in mm from the page's top left."""

    role: str
    page: int
    boundary_mm: tuple[float, float, float, float]


@dataclass(frozen=True)
class OfdContract:
    ofd: bytes
    places: tuple[SealPlace, ...]


@dataclass
class _Page:
    objects: list[etree._Element] = field(default_factory=list)


class _Layout:
    """Pages filled top to bottom; every object gets the next document-wide unit ID."""

    def __init__(self) -> None:
        self.pages: list[_Page] = [_Page()]
        self.y = MARGIN_MM
        self.last_id = 0

    def next_id(self) -> str:
        self.last_id += 1
        return str(self.last_id)

    def room_for(self, height: float) -> None:
        if self.y + height > PAGE_HEIGHT_MM - MARGIN_MM:
            self.pages.append(_Page())
            self.y = MARGIN_MM

    def paragraph(self, text: str, size: float, font_id: str, *, centred: bool = False) -> None:
        width = PAGE_WIDTH_MM - 2 * MARGIN_MM
        for line in _wrap(text, size, width):
            height = size * _LINE_SPACING
            self.room_for(height)
            advances = [_advance(char, size) for char in line]
            used = sum(advances)
            x = MARGIN_MM + ((width - used) / 2 if centred else 0.0)
            self.text(line, x, self.y, used, height, size, font_id, advances)
            self.y += height

    def text(
        self,
        line: str,
        x: float,
        y: float,
        width: float,
        height: float,
        size: float,
        font_id: str,
        advances: Sequence[float],
    ) -> None:
        text_object = new_root(
            "TextObject",
            ID=self.next_id(),
            Boundary=_box(x, y, max(width, size), height),
            Font=font_id,
            Size=_mm(size),
        )
        code = child(text_object, "TextCode", line, X="0", Y=_mm(size * 1.1))
        if len(advances) > 1:
            code.set("DeltaX", " ".join(_mm(a) for a in advances[:-1]))
        self.pages[-1].objects.append(text_object)

    def box(self, x: float, y: float, width: float, height: float) -> None:
        path = new_root("PathObject", ID=self.next_id(), Boundary=_box(x, y, width, height))
        path.set("LineWidth", "0.25")
        child(path, "StrokeColor", Value="180 180 180")
        corner = f"{_mm(width)} {_mm(height)}"
        child(
            path,
            "AbstractData",
            f"M 0 0 L {_mm(width)} 0 L {corner} L 0 {_mm(height)} C",
        )
        self.pages[-1].objects.append(path)


def build_ofd_contract(
    title_zh: str,
    title_en: str,
    parties: Sequence[ContractParty],
    clauses: Sequence[tuple[str, str]],
    *,
    contract_no: str,
    on: date,
    doc_id: str | None = None,
) -> OfdContract:
    """Lay the contract out on A4 pages, with a 60 × 50 mm sealing box per party."""
    if not parties:
        raise MalformedInput("contract", "it has no parties")
    texts = [title_zh, title_en, contract_no, *(c for pair in clauses for c in pair)]
    if not all(t.strip() for t in (title_zh, title_en, contract_no)):
        raise MalformedInput("contract", "the titles and the contract number must not be empty")
    if sum(len(t) for t in texts) > _MAX_TEXT_CHARS:
        raise MalformedInput("contract", f"more than {_MAX_TEXT_CHARS} characters of text")
    if any(_unprintable(t) for t in texts):
        raise MalformedInput("contract", "its text has control characters")

    layout = _Layout()
    font_id = layout.next_id()
    layout.paragraph(title_zh, 6.0, font_id, centred=True)
    layout.paragraph(title_en, 4.5, font_id, centred=True)
    layout.paragraph(
        f"合同编号 Contract No.: {contract_no}    日期 Date: {on.isoformat()}",
        3.2,
        font_id,
        centred=True,
    )
    layout.y += 4
    for party in parties:
        layout.paragraph(
            f"{party.role_zh}：{party.name_zh}（{party.registration}，{party.jurisdiction}）",
            3.7,
            font_id,
        )
        layout.paragraph(
            f"{party.role_en}: {party.name_en} ({party.registration}, {party.jurisdiction})",
            3.4,
            font_id,
        )
        layout.y += 1
    layout.y += 3
    for number, (zh, en) in enumerate(clauses, start=1):
        layout.paragraph(f"第{number}条  {zh}", 3.7, font_id)
        layout.paragraph(f"Article {number}. {en}", 3.4, font_id)
        layout.y += 2
    places = tuple(_seal_places(layout, parties, font_id))

    document_id = doc_id or uuid.uuid4().hex
    page_ids = [(layout.next_id(), layout.next_id()) for _ in layout.pages]
    files = {
        "OFD.xml": _ofd_xml(document_id, f"{title_zh} / {title_en}", on),
        "Doc_0/Document.xml": _document_xml([page for page, _ in page_ids], layout.last_id),
        "Doc_0/PublicRes.xml": _public_res_xml(font_id),
    }
    for index, (page, (_, layer_id)) in enumerate(zip(layout.pages, page_ids, strict=True)):
        files[f"Doc_0/Pages/Page_{index}/Content.xml"] = _content_xml(page, layer_id)
    created = datetime(on.year, on.month, on.day, tzinfo=UTC)
    return OfdContract(write_package(OfdPackage(files), modified=created), places)


def _seal_places(
    layout: _Layout, parties: Sequence[ContractParty], font_id: str
) -> Iterator[SealPlace]:
    width, height = _SEAL_BOX
    label = 3.0
    rows = [parties[i : i + 2] for i in range(0, len(parties), 2)]
    layout.y += 4
    for row in rows:
        layout.room_for(label * _LINE_SPACING + 1 + height)
        top = layout.y
        for column, party in enumerate(row):
            x = MARGIN_MM + column * (width + 30)
            caption = f"{party.role_zh}（盖章） {party.role_en} (Seal)"
            advances = [_advance(char, label) for char in caption]
            layout.text(
                caption, x, top, sum(advances), label * _LINE_SPACING, label, font_id, advances
            )
            box_top = top + label * _LINE_SPACING + 1
            layout.box(x, box_top, width, height)
            boundary = (round(x, 3), round(box_top, 3), width, height)
            yield SealPlace(party.role_en, len(layout.pages) - 1, boundary)
        layout.y = top + label * _LINE_SPACING + 1 + height + 8


def _ofd_xml(document_id: str, title: str, on: date) -> bytes:
    root = new_root("OFD", Version="1.0", DocType="OFD")
    body = child(root, "DocBody")
    info = child(body, "DocInfo")
    child(info, "DocID", document_id)
    child(info, "Title", title)
    child(info, "CreationDate", on.isoformat())
    child(info, "Creator", CREATOR)
    child(info, "CreatorVersion", CREATOR_VERSION)
    child(body, "DocRoot", "Doc_0/Document.xml")
    return serialize(root)


def _document_xml(page_ids: Sequence[str], max_unit_id: int) -> bytes:
    root = new_root("Document")
    common = child(root, "CommonData")
    child(common, "MaxUnitID", str(max_unit_id))
    area = child(common, "PageArea")
    child(area, "PhysicalBox", _box(0, 0, PAGE_WIDTH_MM, PAGE_HEIGHT_MM))
    child(common, "PublicRes", "PublicRes.xml")
    pages = child(root, "Pages")
    for index, page_id in enumerate(page_ids):
        child(pages, "Page", ID=page_id, BaseLoc=f"Pages/Page_{index}/Content.xml")
    return serialize(root)


def _public_res_xml(font_id: str) -> bytes:
    root = new_root("Res", BaseLoc="Res")
    fonts = child(root, "Fonts")
    child(fonts, "Font", ID=font_id, FontName=FONT_NAME, FamilyName=FONT_NAME)
    return serialize(root)


def _content_xml(page: _Page, layer_id: str) -> bytes:
    root = new_root("Page")
    content = child(root, "Content")
    layer = child(content, "Layer", ID=layer_id)
    layer.extend(page.objects)
    return serialize(root)


def _wrap(text: str, size: float, width: float) -> Iterator[str]:
    """Greedy lines no wider than ``width``; English breaks at spaces, Chinese anywhere."""
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in _tokens(paragraph):
            candidate = line + word
            if line and sum(_advance(c, size) for c in candidate.rstrip()) > width:
                yield line.rstrip()
                line = word.lstrip()
            else:
                line = candidate
            while sum(_advance(c, size) for c in line) > width:
                cut = _fitting(line, size, width)
                yield line[:cut]
                line = line[cut:]
        if line.strip():
            yield line.rstrip()


def _tokens(text: str) -> Iterator[str]:
    word = ""
    for char in text:
        if _wide(char):
            if word:
                yield word
                word = ""
            yield char
        elif char == " ":
            yield word + char
            word = ""
        else:
            word += char
    if word:
        yield word


def _fitting(line: str, size: float, width: float) -> int:
    total = 0.0
    for index, char in enumerate(line):
        total += _advance(char, size)
        if total > width:
            return max(index, 1)
    return len(line)


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _advance(char: str, size: float) -> float:
    """Full-width CJK glyphs take one em; others are given half, as a monospace Latin."""
    return size if _wide(char) else size / 2


def _unprintable(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c != "\n" for c in text)


def _mm(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") or "0"


def _box(x: float, y: float, width: float, height: float) -> str:
    return " ".join(_mm(v) for v in (x, y, width, height))
