"""Keyword-anchored stamps land where poppler, which we did not write, sees the keyword."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zlib
from datetime import date
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.anchor import (
    PT_PER_MM,
    AmbiguousAnchor,
    AnchorNotFound,
    AnchorSearchTooLarge,
    place_at_anchor,
)
from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.errors import MalformedInput
from sealbridge.seals.picture import render_round_seal
from support.handmade import definition, handmade_pdf
from support.pki import demo_ca, enterprise

POPPLER = shutil.which("pdftotext") is not None and shutil.which("pdfsig") is not None
INTEROP = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop" / "dss-pades"
# Word 2016 output whose text is in CID fonts (Identity-H, with ToUnicode maps).
WORD_PDF = INTEROP / "modified_after_signature.pdf"

Box = tuple[float, float, float, float]


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return build_contract(
        "跨境采购合同",
        "Cross-border Purchase Contract",
        [
            ContractParty("甲方", "Party A", "深圳市示例科技有限公司", "SZ Demo Tech", "X", "深圳"),
            ContractParty(
                "乙方", "Party B", "香港示範貿易有限公司", "HK Demo Trading", "Y", "香港"
            ),
        ],
        [("甲方供货。", "Party A supplies goods.")],
        contract_no="T-1",
        on=date(2026, 11, 25),
    )


def _poppler_words(pdf: bytes, tmp_path: Path) -> list[tuple[str, Box]]:
    """pdftotext -bbox words, turned into PDF user space (origin bottom-left)."""
    path = tmp_path / "in.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    page = re.search(r'<page width="[\d.]+" height="([\d.]+)"', html)
    assert page is not None, html[:300]
    height = float(page.group(1))
    words = []
    for x0, y0, x1, y1, word in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        html,
    ):
        words.append((word, (float(x0), height - float(y1), float(x1), height - float(y0))))
    return words


def _union(words: list[tuple[str, Box]], wanted: list[str]) -> Box:
    """The box of consecutive words ``wanted`` on one line, as poppler reports them."""
    for start in range(len(words) - len(wanted) + 1):
        run = words[start : start + len(wanted)]
        if [w for w, _ in run] == wanted:
            return (
                min(b[0] for _, b in run),
                min(b[1] for _, b in run),
                max(b[2] for _, b in run),
                max(b[3] for _, b in run),
            )
    raise AssertionError(f"poppler did not report {wanted}")


def _assert_centred_over(box: tuple[int, int, int, int], word: Box) -> None:
    centre_x = (box[0] + box[2]) / 2
    centre_y = (box[1] + box[3]) / 2
    assert abs(centre_x - (word[0] + word[2]) / 2) <= 2, (box, word)
    assert word[1] - 2 <= centre_y <= word[3] + 2, (box, word)


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext) not installed")
@pytest.mark.parametrize(
    ("keyword", "poppler_words"),
    [
        ("乙方（盖章/签署）", ["乙方（盖章/签署）"]),
        ("Party B (Seal/Signature)", ["Party", "B", "(Seal/Signature)"]),
    ],
)
def test_box_is_centred_on_the_keyword_poppler_sees(
    contract: ContractDocument, tmp_path: Path, keyword: str, poppler_words: list[str]
) -> None:
    place = place_at_anchor(contract.pdf, keyword, field_name="SealB")
    assert place.field_name == "SealB" and place.page == 0
    size = 40 * PT_PER_MM
    assert abs((place.box[2] - place.box[0]) - size) <= 1
    assert abs((place.box[3] - place.box[1]) - size) <= 1
    _assert_centred_over(place.box, _union(_poppler_words(contract.pdf, tmp_path), poppler_words))


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext) not installed")
def test_box_near_the_margin_is_clamped_inside_the_page(
    contract: ContractDocument, tmp_path: Path
) -> None:
    place = place_at_anchor(contract.pdf, "甲方(盖章/签署)", field_name="SealA", size_mm=60)
    label = _union(_poppler_words(contract.pdf, tmp_path), ["甲方（盖章/签署）"])
    left, bottom, right, top = place.box
    assert left == 0, "a 60 mm seal centred 26 mm from the edge must be pushed in"
    assert left <= label[0] and label[2] <= right and bottom <= label[1] and label[3] <= top


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext) not installed")
def test_offset_moves_the_box_to_the_right(contract: ContractDocument, tmp_path: Path) -> None:
    centred = place_at_anchor(contract.pdf, "Party B (Seal", field_name="S")
    moved = place_at_anchor(contract.pdf, "Party B (Seal", field_name="S", offset_mm=(20, -5))
    assert abs(moved.box[0] - centred.box[0] - 20 * PT_PER_MM) <= 1
    assert abs(moved.box[1] - centred.box[1] + 5 * PT_PER_MM) <= 1


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftotext) not installed")
@pytest.mark.skipif(not WORD_PDF.exists(), reason="interop vectors not present")
def test_finds_text_in_a_word_pdf_with_identity_h_fonts(tmp_path: Path) -> None:
    pdf = WORD_PDF.read_bytes()
    place = place_at_anchor(pdf, "65665-656", field_name="S", size_mm=10)
    _assert_centred_over(place.box, _union(_poppler_words(pdf, tmp_path), ["65665-656"]))


def test_signature_placed_at_the_anchor_validates(
    contract: ContractDocument, tmp_path: Path
) -> None:
    ca = demo_ca("SZ", KeyKind.ECDSA_P256)
    signer = enterprise(ca, "深圳市示例科技有限公司", KeyKind.ECDSA_P256)
    place = place_at_anchor(contract.pdf, "Party B (Seal", field_name="ChopB")
    seal = render_round_seal("香港示範貿易有限公司", "合同专用章")
    signed = sign_pdf(
        contract.pdf,
        PdfSignerIdentity(signer.key, signer.certificate, (ca.certificate,)),
        VisibleStamp(place, seal.png),
        PadesProfile(PadesLevel.B_B),
    )
    (sig,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert sig.field_name == "ChopB"
    field = sig.sig_field
    widget = field["/Kids"][0] if "/Kids" in field else field
    assert [round(float(v)) for v in widget["/Rect"]] == list(place.box)
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[ca.certificate]))
    assert status.intact and status.valid and status.trusted, status.summary()
    if not POPPLER:
        pytest.skip("poppler-utils (pdfsig) not installed")
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    assert "Signature Field Name: ChopB" in out.stdout
    assert out.stdout.count("Signature Validation: Signature is Valid.") == 1


def test_unknown_keyword_is_named(contract: ContractDocument) -> None:
    with pytest.raises(AnchorNotFound, match="丙方（盖章）"):
        place_at_anchor(contract.pdf, "丙方（盖章）", field_name="S")


def test_ambiguous_keyword_lists_pages_and_occurrence_chooses(
    contract: ContractDocument,
) -> None:
    with pytest.raises(AmbiguousAnchor, match=r"occurs 3 times \(page 1: 3\)") as caught:
        place_at_anchor(contract.pdf, "甲方", field_name="S")
    assert caught.value.pages == (0, 0, 0)
    last = place_at_anchor(contract.pdf, "甲方", field_name="S", occurrence=-1)
    label = place_at_anchor(contract.pdf, "甲方（盖章", field_name="S", occurrence=1)
    assert last.box[1] == label.box[1], "the last 甲方 is the one in the signing label"
    with pytest.raises(AnchorNotFound, match="occurs 3 times"):
        place_at_anchor(contract.pdf, "甲方", field_name="S", occurrence=4)


def test_bad_requests_are_typed_errors(contract: ContractDocument) -> None:
    with pytest.raises(MalformedInput, match="PDF"):
        place_at_anchor(b"not a pdf", "甲方", field_name="S")
    with pytest.raises(MalformedInput, match="PDF"):
        place_at_anchor(b"%PDF-1.7\n1 0 obj <<", "甲方", field_name="S")
    with pytest.raises(MalformedInput, match="empty"):
        place_at_anchor(contract.pdf, "  ", field_name="S")
    with pytest.raises(MalformedInput, match="does not fit"):
        place_at_anchor(contract.pdf, "甲方（盖章", field_name="S", size_mm=(400, 40))


def _one_page_pdf(content: bytes) -> bytes:
    """A hand-written PDF whose page content stream is ``content``, deflated."""
    stream = zlib.compress(content, 9)
    bodies = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    return handmade_pdf([definition(number, body) for number, body in enumerate(bodies, 1)])


def test_deflate_bomb_is_refused_not_inflated() -> None:
    bomb = _one_page_pdf(b" " * (40 * 1024 * 1024))
    assert len(bomb) < 100_000
    with pytest.raises(AnchorSearchTooLarge, match="page 1 has a stream over"):
        place_at_anchor(bomb, "甲方", field_name="S")


def test_page_count_is_bounded(contract: ContractDocument) -> None:
    two_pages = build_contract(
        "合同",
        "Contract",
        [ContractParty("甲方", "Party A", "甲", "A", "X", "深圳")],
        [("条款" * 400, "clause " * 300)] * 3,
        contract_no="T-2",
        on=date(2026, 11, 25),
    )
    with pytest.raises(AnchorSearchTooLarge, match="more than 1 pages"):
        place_at_anchor(two_pages.pdf, "甲方（盖章", field_name="S", max_pages=1)
