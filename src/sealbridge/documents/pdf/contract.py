"""A bilingual (Chinese/English) contract PDF with a signing place for each party.

The generator knows where it put each signing place, so signers get exact rectangles
instead of guessing from rendered text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fpdf import FPDF
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields

from sealbridge.fonts import cjk_font

_PT_PER_MM = 72 / 25.4
_PAGE_HEIGHT_MM = 297.0
# The label line above each signing box, as tall as the cell that writes it and a gap.
_LABEL_MM = 7.0


@dataclass(frozen=True)
class ContractParty:
    role_zh: str
    role_en: str
    name_zh: str
    name_en: str
    registration: str
    jurisdiction: str


@dataclass(frozen=True)
class SigningPlace:
    """Where one party signs: the field name, page and box in PDF points."""

    field_name: str
    page: int
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class ContractDocument:
    pdf: bytes
    places: tuple[SigningPlace, ...]


def _box_points(x_mm: float, y_mm: float, w_mm: float, h_mm: float) -> tuple[int, int, int, int]:
    """fpdf2 measures from the top-left in mm; PDF boxes are points from the bottom-left."""
    left = round(x_mm * _PT_PER_MM)
    bottom = round((_PAGE_HEIGHT_MM - y_mm - h_mm) * _PT_PER_MM)
    return (left, bottom, left + round(w_mm * _PT_PER_MM), bottom + round(h_mm * _PT_PER_MM))


def build_contract(
    title_zh: str,
    title_en: str,
    parties: Sequence[ContractParty],
    clauses: Sequence[tuple[str, str]],
    *,
    contract_no: str,
    on: date,
) -> ContractDocument:
    """Lay out the contract and a 50 mm signing box per party, two boxes a row; rows
    that do not fit on a page flow onto the next (each box whole, with its label)."""
    font = cjk_font()
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creator("SealBridge")
    pdf.set_title(f"{title_zh} / {title_en}")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_font("cjk", fname=str(font.path), collection_font_number=font.index)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    pdf.set_font("cjk", size=18)
    pdf.multi_cell(width, 9, title_zh, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=13)
    pdf.multi_cell(width, 7, title_en, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(
        width,
        6,
        f"合同编号 Contract No.: {contract_no}    日期 Date: {on.isoformat()}",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(4)

    pdf.set_font("cjk", size=10.5)
    for party in parties:
        pdf.multi_cell(
            width,
            6,
            f"{party.role_zh}：{party.name_zh}（{party.registration}，{party.jurisdiction}）\n"
            f"{party.role_en}: {party.name_en} ({party.registration}, {party.jurisdiction})",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.ln(1)
    pdf.ln(3)
    for number, (zh, en) in enumerate(clauses, start=1):
        pdf.set_font("cjk", size=10.5)
        pdf.multi_cell(width, 6, f"第{number}条  {zh}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9.5)
        pdf.multi_cell(width, 5, f"Article {number}. {en}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    places = []
    box_w, box_h, gap = 60.0, 50.0, 10.0
    rows = (len(parties) + 1) // 2
    if pdf.get_y() + rows * (box_h + 12) > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(4)
    for row in range(rows):
        top = pdf.get_y()
        if top + _LABEL_MM + box_h > pdf.h - pdf.b_margin:
            pdf.add_page()
            top = pdf.get_y()
        for col, party in enumerate(parties[row * 2 : row * 2 + 2]):
            x = pdf.l_margin + col * (box_w + gap + 20)
            pdf.set_xy(x, top)
            pdf.set_font("cjk", size=10)
            pdf.cell(box_w, 6, f"{party.role_zh}（盖章/签署） {party.role_en} (Seal/Signature)")
            pdf.set_draw_color(180, 180, 180)
            pdf.rect(x, top + _LABEL_MM, box_w, box_h)
            index = row * 2 + col
            places.append(
                SigningPlace(
                    f"Party{index + 1}", pdf.page - 1, _box_points(x, top + _LABEL_MM, box_w, box_h)
                )
            )
        pdf.set_xy(pdf.l_margin, top + box_h + 12)
    return ContractDocument(_with_signature_fields(bytes(pdf.output()), places), tuple(places))


def _with_signature_fields(pdf: bytes, places: Sequence[SigningPlace]) -> bytes:
    """Add every party's empty signature field before anyone signs.

    After a certification signature only existing fields may be filled; a visible field
    added later would count as a disallowed change, so all fields exist from the start.
    """
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for place in places:
        fields.append_signature_field(
            writer,
            fields.SigFieldSpec(sig_field_name=place.field_name, on_page=place.page, box=place.box),
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
