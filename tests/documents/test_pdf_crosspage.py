"""The cross-page seal: poppler renders a slice at every page's right edge, the slices
make up the whole seal, and signatures, earlier ones included, stay valid."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.contract import (
    ContractDocument,
    ContractParty,
    SigningPlace,
    build_contract,
)
from sealbridge.documents.pdf.crosspage import (
    PT_PER_MM,
    CrossPageSealError,
    add_cross_page_seal,
    with_cross_page_seal,
)
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.documents.pdf.signer import KeyHandleSigner
from sealbridge.errors import MalformedInput
from sealbridge.seals.picture import SealPicture, render_round_seal
from support.pki import Signer, demo_ca, enterprise

POPPLER = all(shutil.which(tool) for tool in ("pdftoppm", "pdfsig"))
DPI = 50


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    doc = build_contract(
        "跨境采购合同",
        "Cross-border Purchase Contract",
        [
            ContractParty("甲方", "Party A", "深圳市示例科技有限公司", "SZ Demo Tech", "X", "深圳"),
            ContractParty(
                "乙方", "Party B", "香港示範貿易有限公司", "HK Demo Trading", "Y", "香港"
            ),
        ],
        [("甲方按期供货，乙方按期付款。" * 40, "Party A supplies; Party B pays. " * 30)] * 5,
        contract_no="T-3",
        on=date(2026, 11, 25),
    )
    assert _page_count(doc.pdf) == 3
    return doc


@pytest.fixture(scope="module")
def seal() -> SealPicture:
    return render_round_seal("深圳市示例科技有限公司", "合同专用章", diameter_mm=40)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return enterprise(
        demo_ca("SZ", KeyKind.ECDSA_P256), "深圳市示例科技有限公司", KeyKind.ECDSA_P256
    )


def _page_count(pdf: bytes) -> int:
    return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])


def _sign_with_cross_page_seal(
    pdf: bytes, signer: Signer, place: SigningPlace, seal: SealPicture
) -> bytes:
    """What sign_pdf does with the hook: the slices, then the signature, one revision."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    add_cross_page_seal(writer, seal, field_name=f"{place.field_name}CrossPage")
    picture = Image.open(io.BytesIO(seal.png))
    out = io.BytesIO()
    signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=place.field_name, subfilter=fields.SigSeedSubFilter.PADES
        ),
        signer=KeyHandleSigner(signer.key, signer.certificate, (signer.ca.certificate,)),
        stamp_style=StaticStampStyle(background=PdfImage(picture), border_width=0),
        new_field_spec=fields.SigFieldSpec(place.field_name, on_page=place.page, box=place.box),
    ).sign_pdf(writer, output=out)
    return out.getvalue()


def _red_columns_and_rows(png: Path) -> tuple[int, tuple[int, int, int, int] | None]:
    """Page width in pixels and the bounding box of seal-red pixels, if any."""
    image = Image.open(png).convert("RGB")
    red = [
        (x, y)
        for y in range(image.height)
        for x in range(image.width)
        if (pixel := image.getpixel((x, y)))
        and isinstance(pixel, tuple)
        and pixel[0] > 150
        and pixel[1] < 100
        and pixel[2] < 100
    ]
    if not red:
        return image.width, None
    xs, ys = [p[0] for p in red], [p[1] for p in red]
    return image.width, (min(xs), min(ys), max(xs), max(ys))


def _pdfsig(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout


def test_slice_boxes_sit_on_the_right_edges_and_add_up_to_the_seal(
    contract: ContractDocument, seal: SealPicture
) -> None:
    sealed = with_cross_page_seal(contract.pdf, seal)
    reader = PdfFileReader(io.BytesIO(sealed))
    (field,) = [
        f.get_object()
        for f in reader.root["/AcroForm"]["/Fields"]
        if f.get_object()["/T"] == "CrossPageSeal"
    ]
    rects = [[float(v) for v in kid.get_object()["/Rect"]] for kid in field["/Kids"]]
    assert len(rects) == 3
    assert sum(r[2] - r[0] for r in rects) == pytest.approx(seal.width_mm * PT_PER_MM)
    for number, rect in enumerate(rects):
        page = reader.root["/Pages"]["/Kids"][number].get_object()
        media_box = page.get("/MediaBox", reader.root["/Pages"]["/MediaBox"])
        assert rect[2] == pytest.approx(float(media_box[2]))
        assert rect[1:4:2] == rects[0][1:4:2], "every slice at the same height"


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdftoppm) not installed")
def test_every_page_shows_its_slice_at_the_right_edge(
    contract: ContractDocument, seal: SealPicture, tmp_path: Path
) -> None:
    (tmp_path / "sealed.pdf").write_bytes(with_cross_page_seal(contract.pdf, seal))
    subprocess.run(
        ["pdftoppm", "-r", str(DPI), "-png", str(tmp_path / "sealed.pdf"), str(tmp_path / "p")],
        check=True,
    )
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == 3
    seal_px = seal.width_mm / 25.4 * DPI
    extents = []
    for png in pages:
        width, red = _red_columns_and_rows(png)
        assert red is not None, f"{png.name}: no seal-red pixels"
        assert red[2] >= width - 2, f"{png.name}: red ends at x={red[2]} of {width}"
        extents.append(red)
    widths = [r[2] - r[0] + 1 for r in extents]
    for width in widths:
        assert abs(width - seal_px / 3) <= 2, widths
    assert abs(sum(widths) - seal_px) <= 3, (widths, seal_px)
    middle = extents[1]
    assert abs(middle[3] - middle[1] + 1 - seal_px) <= 2, "the middle slice spans the whole ring"
    for red in extents:
        assert middle[1] - 1 <= red[1] and red[3] <= middle[3] + 1, "slices at the same height"


def test_signed_with_cross_page_seal_validates(
    contract: ContractDocument, seal: SealPicture, signer: Signer, tmp_path: Path
) -> None:
    signed = _sign_with_cross_page_seal(contract.pdf, signer, contract.places[0], seal)
    (sig,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[signer.ca.certificate]))
    assert status.intact and status.valid and status.trusted, status.summary()
    assert status.coverage.name == "ENTIRE_FILE", "the slices are inside the signed revision"
    if not POPPLER:
        pytest.skip("poppler-utils (pdfsig) not installed")
    out = _pdfsig(signed, tmp_path)
    assert out.count("Signature Validation: Signature is Valid.") == 1, out
    assert "Signature Field Name: Party1CrossPage" in out


def test_cross_page_seal_on_signed_pdf_keeps_the_first_signature(
    contract: ContractDocument, seal: SealPicture, signer: Signer, tmp_path: Path
) -> None:
    hk = enterprise(demo_ca("HK", KeyKind.RSA_2048), "HK Demo Trading Ltd", KeyKind.RSA_2048)
    place = contract.places[0]
    block = render_round_seal("香港示範貿易有限公司", "合同专用章").png
    first = sign_pdf(
        contract.pdf,
        PdfSignerIdentity(hk.key, hk.certificate, (hk.ca.certificate,)),
        VisibleStamp(contract.places[1], block),
        PadesProfile(PadesLevel.B_B),
    )
    second = _sign_with_cross_page_seal(first, signer, place, seal)
    roots = [hk.ca.certificate, signer.ca.certificate]
    earlier, later = PdfFileReader(io.BytesIO(second)).embedded_signatures
    status = validate_pdf_signature(earlier, ValidationContext(trust_roots=roots))
    assert status.intact and status.valid, status.summary()
    assert status.docmdp_ok, status.summary()
    assert status.modification_level is ModificationLevel.FORM_FILLING
    status = validate_pdf_signature(later, ValidationContext(trust_roots=roots))
    assert status.intact and status.valid and status.docmdp_ok is not False, status.summary()
    if not POPPLER:
        pytest.skip("poppler-utils (pdfsig) not installed")
    out = _pdfsig(second, tmp_path)
    assert out.count("Signature Validation: Signature is Valid.") == 2, out


def test_one_page_has_no_cross_page_seal(seal: SealPicture) -> None:
    single = build_contract(
        "合同",
        "Contract",
        [ContractParty("甲方", "Party A", "甲", "A", "X", "深圳")],
        [("条款", "clause")],
        contract_no="T-4",
        on=date(2026, 11, 25),
    )
    with pytest.raises(CrossPageSealError, match="spans several pages; this PDF has 1 page"):
        with_cross_page_seal(single.pdf, seal)


def test_refusals_are_typed_errors(contract: ContractDocument, seal: SealPicture) -> None:
    tiny = SealPicture(seal.png, 2, 2)
    with pytest.raises(CrossPageSealError, match=r"slices under 1\.0 mm"):
        with_cross_page_seal(contract.pdf, tiny)
    with pytest.raises(CrossPageSealError, match="already has a field named 'Party1'"):
        with_cross_page_seal(contract.pdf, seal, field_name="Party1")
    with pytest.raises(MalformedInput, match="seal picture"):
        with_cross_page_seal(contract.pdf, SealPicture(b"GIF89a-nope", 40, 40))
    with pytest.raises(MalformedInput, match="PDF"):
        with_cross_page_seal(b"%PDF-1.7\nnot really", seal)
