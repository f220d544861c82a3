"""Contracts we generate and sign open and verify in pyHanko and poppler."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    PdfSigningError,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.errors import MalformedInput
from support.pki import Signer, demo_ca, enterprise

POPPLER = shutil.which("pdfsig") is not None and shutil.which("pdftotext") is not None
B_B = PadesProfile(PadesLevel.B_B)


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


@pytest.fixture(scope="module")
def signers() -> tuple[Signer, Signer]:
    sz = enterprise(demo_ca("SZ", KeyKind.ECDSA_P256), "深圳市示例科技有限公司", KeyKind.ECDSA_P256)
    hk = enterprise(demo_ca("HK", KeyKind.RSA_2048), "HK Demo Trading Ltd", KeyKind.RSA_2048)
    return sz, hk


def _identity(s: Signer) -> PdfSignerIdentity:
    return PdfSignerIdentity(s.key, s.certificate, (s.ca.certificate,))


def _block(doc: ContractDocument, index: int) -> VisibleStamp:
    box = doc.places[index].box
    picture = render_signature_block(["签署 Signed", "Test"], box[2] - box[0], box[3] - box[1])
    return VisibleStamp(doc.places[index], picture)


def _two_signatures(doc: ContractDocument, signers: tuple[Signer, Signer]) -> bytes:
    sz, hk = signers
    first = sign_pdf(
        doc.pdf, _identity(sz), _block(doc, 0), PadesProfile(PadesLevel.B_B, certify=True)
    )
    return sign_pdf(first, _identity(hk), _block(doc, 1), B_B)


def test_contract_has_both_languages_and_places(contract: ContractDocument, tmp_path: Path) -> None:
    assert [p.field_name for p in contract.places] == ["Party1", "Party2"]
    left, bottom, right, top = contract.places[0].box
    assert 0 < left < right < 595 and 0 < bottom < top < 842
    if not POPPLER:
        pytest.skip("poppler-utils not installed: cannot extract text")
    path = tmp_path / "c.pdf"
    path.write_bytes(contract.pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "跨境采购合同" in text and "Cross-border Purchase Contract" in text


def test_two_parties_validate_in_pyhanko(
    contract: ContractDocument, signers: tuple[Signer, Signer]
) -> None:
    signed = _two_signatures(contract, signers)
    reader = PdfFileReader(io.BytesIO(signed))
    roots = [s.ca.certificate for s in signers]
    sigs = reader.embedded_signatures
    assert [s.field_name for s in sigs] == ["Party1", "Party2"]
    for sig in sigs:
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=roots))
        assert status.intact and status.valid and status.trusted, status.summary()
        assert status.docmdp_ok is not False
    assert sigs[0].docmdp_level is not None


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdfsig) not installed")
def test_two_parties_validate_in_pdfsig(
    contract: ContractDocument, signers: tuple[Signer, Signer], tmp_path: Path
) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(_two_signatures(contract, signers))
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2
    assert "Signature Type: ETSI.CAdES.detached" in out


def test_b_t_without_tsa_is_refused(
    contract: ContractDocument, signers: tuple[Signer, Signer]
) -> None:
    with pytest.raises(PdfSigningError, match="timestamp authority"):
        sign_pdf(contract.pdf, _identity(signers[0]), _block(contract, 0), PadesProfile())


def test_not_a_pdf_is_a_clear_error(
    contract: ContractDocument, signers: tuple[Signer, Signer]
) -> None:
    with pytest.raises(MalformedInput, match="malformed PDF"):
        sign_pdf(b"%PDF-1.7\nnot really", _identity(signers[0]), _block(contract, 0), B_B)


def test_picture_must_be_an_image(
    contract: ContractDocument, signers: tuple[Signer, Signer]
) -> None:
    stamp = VisibleStamp(contract.places[0], b"GIF89a-nope")
    with pytest.raises(PdfSigningError, match="not a readable image"):
        sign_pdf(contract.pdf, _identity(signers[0]), stamp, B_B)
