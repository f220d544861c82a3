"""Our CMS builder: what OpenSSL, pyHanko and poppler make of it, with and without TSA."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from asn1crypto import cms, pem
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind, digest
from sealbridge.documents.pdf import sign
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.cms import sign_detached
from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from support.cms_world import World
from support.pki import demo_ca, enterprise

OPENSSL = shutil.which("openssl") is not None
POPPLER = shutil.which("pdfsig") is not None
CONTENT = b"content signed detached\n" * 100
INTERNATIONAL = [KeyKind.ECDSA_P256, KeyKind.ECDSA_P384, KeyKind.RSA_2048]


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return build_contract(
        "合同",
        "Contract",
        [ContractParty("甲方", "Party A", "深圳甲公司", "SZ A", "X", "深圳")],
        [("条款", "Clause")],
        contract_no="C-1",
        on=date(2026, 11, 25),
    )


@pytest.mark.skipif(not OPENSSL, reason="openssl not installed")
@pytest.mark.parametrize("kind", INTERNATIONAL)
def test_openssl_verifies_detached_signature_and_chain(kind: KeyKind, tmp_path: Path) -> None:
    ca = demo_ca("X", kind)
    signer = enterprise(ca, "Firm Ltd", kind)
    hash_name = "sha384" if kind is KeyKind.ECDSA_P384 else "sha256"
    container = sign_detached(
        digest(hash_name, CONTENT), signer.key, signer.certificate, (ca.certificate,)
    )
    (tmp_path / "sig.p7s").write_bytes(container)
    (tmp_path / "content.bin").write_bytes(CONTENT)
    (tmp_path / "ca.pem").write_bytes(pem.armor("CERTIFICATE", ca.certificate.dump()))
    verify = [
        "openssl", "cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "sig.p7s"),
        "-binary", "-content", str(tmp_path / "content.bin"), "-CAfile", str(tmp_path / "ca.pem"),
        "-purpose", "any", "-out", "/dev/null",
    ]  # fmt: skip
    done = subprocess.run(verify, capture_output=True, text=True)
    assert "Verification successful" in done.stderr, done.stderr
    (tmp_path / "content.bin").write_bytes(CONTENT + b"x")
    assert "Verification failure" in subprocess.run(verify, capture_output=True, text=True).stderr


@pytest.mark.parametrize("kind", [*INTERNATIONAL, KeyKind.SM2])
def test_signed_attributes_are_those_of_pades(kind: KeyKind) -> None:
    ca = demo_ca("X", kind)
    signer = enterprise(ca, "Firm Ltd", kind)
    hash_name = {KeyKind.ECDSA_P384: "sha384", KeyKind.SM2: "sm3"}.get(kind, "sha256")
    container = sign_detached(digest(hash_name, CONTENT), signer.key, signer.certificate)
    info = cms.ContentInfo.load(container, strict=True)
    signed = info["content"]
    (signer_info,) = signed["signer_infos"]
    types = [a["type"].native for a in signer_info["signed_attrs"]]
    assert sorted(types) == ["content_type", "message_digest", "signing_certificate_v2"]
    assert signed["encap_content_info"]["content"].native is None  # detached
    assert signer_info["digest_algorithm"]["algorithm"].native == hash_name
    assert info.dump(force=True) == container  # strictly DER: re-encoding changes nothing


def _identity(world: World, kind: KeyKind) -> PdfSignerIdentity:
    s = world.firm(kind)
    return PdfSignerIdentity(s.key, s.certificate, (s.ca.certificate,))


def _stamp(doc: ContractDocument) -> VisibleStamp:
    box = doc.places[0].box
    return VisibleStamp(
        doc.places[0], render_signature_block(["T"], box[2] - box[0], box[3] - box[1])
    )


@pytest.mark.parametrize("allowance", [sign.TIMESTAMP_ALLOWANCE, 0])
def test_b_t_validates_in_pyhanko(
    world: World,
    contract: ContractDocument,
    allowance: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With no room reserved for the token the placeholder is resized and signed again."""
    monkeypatch.setattr(sign, "TIMESTAMP_ALLOWANCE", allowance)
    signed = sign_pdf(
        contract.pdf,
        _identity(world, KeyKind.ECDSA_P256),
        _stamp(contract),
        PadesProfile(PadesLevel.B_T),
        timestamper=world.timestamper,
    )
    (sig,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    roots = [world.ec_ca.certificate]
    status = validate_pdf_signature(
        sig, ValidationContext(trust_roots=roots), ValidationContext(trust_roots=roots)
    )
    assert status.intact and status.valid and status.trusted, status.summary()
    assert status.timestamp_validity is not None and status.timestamp_validity.valid


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdfsig) not installed")
def test_b_t_validates_in_pdfsig(world: World, contract: ContractDocument, tmp_path: Path) -> None:
    path = tmp_path / "bt.pdf"
    path.write_bytes(
        sign_pdf(
            contract.pdf,
            _identity(world, KeyKind.ECDSA_P256),
            _stamp(contract),
            PadesProfile(PadesLevel.B_T),
            timestamper=world.timestamper,
        )
    )
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Signature Type: ETSI.CAdES.detached" in out
