"""PDF verification: ETSI indications, modification detection, recognition per jurisdiction."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.contract import ContractDocument
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    sign_pdf,
)
from sealbridge.errors import MalformedInput
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import verify_pdf
from sealbridge.verify.report.html import render_html
from sealbridge.verify.report.json import render_json
from sealbridge.verify.report.model import Indication, SignatureKind
from support.contracts import block_stamp, two_party_contract
from support.pki import Signer, enterprise
from support.trust import Operator, agreement

JURISDICTIONS = ["SZ", "HK", "BJ", "MO"]
INTEROP = Path(__file__).resolve().parents[2].parent / "shared" / "interop" / "dss-pades"


@pytest.fixture(scope="module")
def operators() -> dict[str, Operator]:
    return {code: Operator(code) for code in JURISDICTIONS}


@pytest.fixture(scope="module")
def federation(operators: dict[str, Operator]) -> Federation:
    return Federation(
        {code: op.trust_list() for code, op in operators.items()},
        (agreement("SZ", "HK"), agreement("SZ", "BJ")),
    )


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return two_party_contract("V-1")


def _sign(
    pdf: bytes, doc: ContractDocument, index: int, signer: Signer, certify: bool = False
) -> bytes:
    return sign_pdf(
        pdf,
        PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,)),
        block_stamp(doc, index),
        PadesProfile(PadesLevel.B_B, certify=certify),
    )


@pytest.fixture(scope="module")
def sz_hk_signed(operators: dict[str, Operator], contract: ContractDocument) -> bytes:
    sz = enterprise(operators["SZ"].ca, "深圳甲公司", KeyKind.ECDSA_P256)
    hk = enterprise(operators["HK"].ca, "HK B Co", KeyKind.ECDSA_P256)
    return _sign(_sign(contract.pdf, contract, 0, sz, certify=True), contract, 1, hk)


def test_recognition_matrix(sz_hk_signed: bytes, federation: Federation) -> None:
    report = verify_pdf(sz_hk_signed, "c.pdf", federation, JURISDICTIONS)
    sz_sig, hk_sig = report.signatures
    assert [s.indication for s in report.signatures] == [Indication.TOTAL_PASSED] * 2
    assert {j: r.recognised for j, r in sz_sig.recognition.items()} == {
        "SZ": True,
        "HK": True,
        "BJ": True,
        "MO": False,
    }
    assert {j: r.recognised for j, r in hk_sig.recognition.items()} == {
        "SZ": True,
        "HK": True,
        "BJ": False,
        "MO": False,
    }
    assert "no BJ–HK agreement" in hk_sig.recognition["BJ"].rule
    assert "SZ<->HK" in hk_sig.recognition["SZ"].rule
    assert not any(s.modified_after_signing for s in report.signatures)


def test_byte_flip_inside_signed_range_fails(sz_hk_signed: bytes, federation: Federation) -> None:
    marker = sz_hk_signed.index(b"/Title")
    tampered = sz_hk_signed[:marker] + b"/Titlf" + sz_hk_signed[marker + 6 :]
    report = verify_pdf(tampered, "t.pdf", federation, JURISDICTIONS)
    assert all(s.indication is Indication.TOTAL_FAILED for s in report.signatures)
    assert {s.sub_indication for s in report.signatures} == {"HASH_FAILURE"}
    assert all(r.recognised is False for s in report.signatures for r in s.recognition.values())


def test_content_changed_in_later_revision_is_flagged(
    sz_hk_signed: bytes, federation: Federation
) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(sz_hk_signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)  # a visible change no signature allowed
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    report = verify_pdf(out.getvalue(), "m.pdf", federation, JURISDICTIONS)
    assert all(s.modified_after_signing for s in report.signatures)
    assert all(s.indication is not Indication.TOTAL_PASSED for s in report.signatures)


def test_unknown_chain_is_indeterminate(contract: ContractDocument, federation: Federation) -> None:
    stranger = enterprise(Operator("XX").ca, "Stranger Ltd", KeyKind.ECDSA_P256)
    report = verify_pdf(_sign(contract.pdf, contract, 0, stranger), "s.pdf", federation, ["SZ"])
    (sig,) = report.signatures
    assert sig.indication is Indication.INDETERMINATE
    assert sig.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert sig.recognition["SZ"].recognised is False


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.7\n%%EOF", bytes(range(256)) * 4])
def test_garbage_is_malformed_input(data: bytes, federation: Federation) -> None:
    with pytest.raises(MalformedInput, match="malformed PDF"):
        verify_pdf(data, "g.pdf", federation, ["SZ"])


def test_reports_render(sz_hk_signed: bytes, federation: Federation) -> None:
    report = verify_pdf(sz_hk_signed, "c.pdf", federation, JURISDICTIONS)
    doc = json.loads(render_json(report))
    assert doc["schema"] == "sealbridge.report/1"
    assert [s["kind"] for s in doc["signatures"]] == ["pades", "pades"]
    assert doc["signatures"][1]["recognition"]["BJ"]["recognised"] is False
    html = render_html(report)
    assert "不认可 not recognised" in html and "认可 recognised" in html


MANIFEST_INTACT = [
    "Signature-P-HU_MIC-1.pdf",
    "belgian_pki_multiple_ocsps_lt.pdf",
    "doc-firmado-LT.pdf",
]


@pytest.mark.skipif(not INTEROP.is_dir(), reason=f"interop vectors not found at {INTEROP}")
@pytest.mark.parametrize("name", MANIFEST_INTACT)
def test_dss_vectors_intact_but_untrusted(name: str, federation: Federation) -> None:
    report = verify_pdf((INTEROP / name).read_bytes(), name, federation, ["SZ"])
    pades = [s for s in report.signatures if s.kind is SignatureKind.PADES]
    assert len(pades) == 1
    (sig,) = pades
    assert sig.indication is Indication.INDETERMINATE
    assert sig.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert not sig.modified_after_signing


@pytest.mark.skipif(not INTEROP.is_dir(), reason=f"interop vectors not found at {INTEROP}")
def test_dss_modified_after_signature(federation: Federation) -> None:
    name = "modified_after_signature.pdf"
    report = verify_pdf((INTEROP / name).read_bytes(), name, federation, ["SZ"])
    (sig,) = report.signatures
    assert sig.modified_after_signing
    assert sig.indication is not Indication.TOTAL_PASSED
