"""A bilingual (简体中文 / English) PDF report: what a court clerk files with the contract.

Every label is given in both languages, since the same report is read on both sides of
the border; values (names, rules, sub-indications) appear as the verifier wrote them.
The project's CJK font draws both scripts and is embedded as a subset, so the text can
be searched and extracted (``pdftotext``) as well as printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from sealbridge.fonts import cjk_font
from sealbridge.verify.report.model import (
    Indication,
    Recognition,
    SignatureReport,
    ValidationReport,
)

INDICATION_ZH = {
    Indication.TOTAL_PASSED: "通过",
    Indication.TOTAL_FAILED: "失败",
    Indication.INDETERMINATE: "待定",
}
RECOGNITION_ZH = {"recognised": "认可", "not recognised": "不认可", "indeterminate": "待定"}
_COLOUR = {
    Indication.TOTAL_PASSED: (23, 106, 26),
    Indication.TOTAL_FAILED: (176, 0, 32),
    Indication.INDETERMINATE: (138, 90, 0),
}
_BLACK = (34, 34, 34)
_GREY = (90, 90, 90)
_LABEL_WIDTH = 42.0


def render_pdf(
    reports: Sequence[ValidationReport], errors: Sequence[tuple[str, str]] = ()
) -> bytes:
    """One document for every file verified; ``errors`` are (file, why) for the rest."""
    font = cjk_font()
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creator("SealBridge")
    pdf.set_title("验证报告 Validation report")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("cjk", fname=str(font.path), collection_font_number=font.index)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    _line(pdf, "电子签名与电子印章验证报告", height=8)
    pdf.set_font("cjk", size=12)
    _line(pdf, "Validation report for electronic signatures and seals", height=7)
    pdf.ln(3)
    for report in reports:
        _file(pdf, report)
    for name, why in errors:
        _heading(pdf, f"文件 File: {name}")
        _field(pdf, "无法验证 Not verified", why, colour=_COLOUR[Indication.TOTAL_FAILED])
        pdf.ln(3)
    return bytes(pdf.output())


def _file(pdf: FPDF, report: ValidationReport) -> None:
    _heading(pdf, f"文件 File: {report.file}")
    _field(pdf, "SHA-256", report.sha256)
    _field(pdf, "验证时间 Validated at", _time(report.validated_at))
    if report.policy is not None:
        _field(pdf, "验证策略 Policy", report.policy)
    if report.accepted is not None:
        verdict = "通过 accepted" if report.accepted else "不通过 not accepted"
        colour = _COLOUR[Indication.TOTAL_PASSED if report.accepted else Indication.TOTAL_FAILED]
        _field(pdf, "结论 Verdict", verdict, colour=colour)
    if not report.signatures:
        _field(pdf, "签名 Signatures", "未发现签名 No signatures found")
    for signature in report.signatures:
        _signature(pdf, signature)
    pdf.ln(3)


def _signature(pdf: FPDF, s: SignatureReport) -> None:
    pdf.ln(2)
    pdf.set_font("cjk", size=11)
    _line(pdf, f"签名 Signature: {s.id} ({s.kind.value})", height=6)
    _field(pdf, "签署人 Signer", s.signer)
    _field(pdf, "签署时间 Signing time", _time(s.signing_time) if s.signing_time else "—")
    if s.level:
        _field(pdf, "级别 Level", s.level)
    sub = f" / {s.sub_indication}" if s.sub_indication else ""
    _field(
        pdf,
        "结论 Indication",
        f"{INDICATION_ZH[s.indication]} {s.indication.value}{sub}",
        colour=_COLOUR[s.indication],
    )
    if s.modified_after_signing:
        failed = _COLOUR[Indication.TOTAL_FAILED]
        _field(pdf, "签署后被修改", "modified after signing", colour=failed)
    if s.changes:
        _field(pdf, "后续修订 Changes", "\n".join(s.changes))
    if s.warnings:
        warned = _COLOUR[Indication.INDETERMINATE]
        _field(pdf, "警告 Warnings", "\n".join(s.warnings), colour=warned)
    if s.infos:
        _field(pdf, "提示 Notes", "\n".join(s.infos))
    if s.chain:
        _field(pdf, "证书链 Chain", "\n→ ".join(s.chain))
    if s.recognition:
        _recognition(pdf, s.recognition)
    if s.details:
        pdf.set_font("cjk", size=8)
        pdf.set_text_color(*_GREY)
        _line(pdf, "检查 Checks:", height=4)
        for detail in s.details:
            _line(pdf, f"• {detail}", height=4)
        pdf.set_text_color(*_BLACK)


def _recognition(pdf: FPDF, recognition: dict[str, Recognition]) -> None:
    pdf.ln(1)
    pdf.set_font("cjk", size=9)
    with pdf.table(
        col_widths=(30, 38, 112),
        text_align="LEFT",
        line_height=5,
        wrapmode=WrapMode.WORD,
        headings_style=FontFace(emphasis="", fill_color=(235, 235, 235)),
    ) as table:
        header = table.row()
        for title in ("法域 Jurisdiction", "认可 Recognition", "规则 Rule"):
            header.cell(title)
        for code, r in sorted(recognition.items()):
            row = table.row()
            row.cell(code)
            row.cell(f"{RECOGNITION_ZH[r.label]} {r.label}")
            row.cell(r.rule)
    pdf.ln(1)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.set_font("cjk", size=12)
    pdf.set_fill_color(235, 235, 235)
    pdf.multi_cell(
        0, 7, text, fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.WORD
    )


def _field(pdf: FPDF, label: str, value: str, *, colour: tuple[int, int, int] = _BLACK) -> None:
    pdf.set_font("cjk", size=9)
    pdf.set_text_color(*_GREY)
    lines = pdf.multi_cell(_LABEL_WIDTH, 5, label, dry_run=True, output=MethodReturnValue.LINES)
    label_bottom = pdf.get_y() + 5 * (len(lines) if isinstance(lines, list) else 1)
    pdf.multi_cell(_LABEL_WIDTH, 5, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.set_text_color(*colour)
    pdf.multi_cell(0, 5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.WORD)
    pdf.set_text_color(*_BLACK)
    pdf.set_y(max(pdf.get_y(), label_bottom))


def _line(pdf: FPDF, text: str, *, height: float) -> None:
    pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=WrapMode.WORD)


def _time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
