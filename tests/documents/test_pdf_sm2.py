"""SM2-with-SM3 signatures in PDFs, and dual (ECDSA + SM2) signing.

OpenSSL parses the CMS and checks the SM2 signature and the SM3 digest on its own;
poppler's pdfsig checks the ECDSA signature of a dual-signed file; our verifier both.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, pem
from pyhanko.pdf_utils.reader import PdfFileReader

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
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
from sealbridge.documents.pdf.sm2 import dual_sign_pdf
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Indication, SignatureKind
from support.cms_world import World
from support.pki import Signer

OPENSSL = shutil.which("openssl") is not None
POPPLER = shutil.which("pdfsig") is not None
JURISDICTIONS = ["SZ", "HK", "MO"]
B_B = PadesProfile(PadesLevel.B_B)


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return build_contract(
        "跨境采购合同",
        "Cross-border Purchase Contract",
        [
            ContractParty("甲方", "Party A", "深圳市前海示例科技有限公司", "SZ Demo", "X", "深圳"),
            ContractParty("乙方", "Party B", "香港示範貿易有限公司", "HK Demo", "Y", "香港"),
        ],
        [("甲方供货。", "Party A supplies goods.")],
        contract_no="SM2-1",
        on=date(2026, 11, 25),
    )


def _identity(s: Signer) -> PdfSignerIdentity:
    return PdfSignerIdentity(s.key, s.certificate, (s.ca.certificate,))


def _stamp(doc: ContractDocument) -> VisibleStamp:
    box = doc.places[0].box
    picture = render_signature_block(["签署 Signed"], box[2] - box[0], box[3] - box[1])
    return VisibleStamp(doc.places[0], picture)


@pytest.fixture(scope="module")
def sm2_signed(world: World, contract: ContractDocument) -> bytes:
    return sign_pdf(contract.pdf, _identity(world.firm(KeyKind.SM2)), _stamp(contract), B_B)


def _last_signature(pdf: bytes) -> tuple[cms.SignerInfo, bytes, list[int]]:
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[-1]
    container = cms.ContentInfo.load(bytes(sig.pkcs7_content))  # zero padding ignored
    return container["content"]["signer_infos"][0], container.dump(), list(sig.byte_range)


@pytest.mark.skipif(not OPENSSL, reason="openssl not installed")
def test_openssl_parses_the_cms(sm2_signed: bytes, tmp_path: Path) -> None:
    _, der, _ = _last_signature(sm2_signed)
    (tmp_path / "sig.der").write_bytes(der)
    out = subprocess.run(
        ["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", str(tmp_path / "sig.der")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "contentType: pkcs7-signedData (1.2.840.113549.1.7.2)" in out
    assert "algorithm: sm3 (1.2.156.10197.1.401)" in out
    assert "algorithm: SM2-with-SM3 (1.2.156.10197.1.501)" in out
    assert "id-smime-aa-signingCertificateV2" in out
    assert "signingTime" not in out


@pytest.mark.skipif(not OPENSSL, reason="openssl not installed")
def test_openssl_checks_the_sm3_digest_and_sm2_signature(
    sm2_signed: bytes, world: World, tmp_path: Path
) -> None:
    info, _, byte_range = _last_signature(sm2_signed)
    a, b, c, d = byte_range
    (tmp_path / "signed.bin").write_bytes(sm2_signed[a : a + b] + sm2_signed[c : c + d])
    digest = subprocess.run(
        ["openssl", "dgst", "-sm3", "-binary", str(tmp_path / "signed.bin")],
        capture_output=True,
        check=True,
    ).stdout
    attrs = {a["type"].native: a["values"][0] for a in info["signed_attrs"]}
    assert attrs["message_digest"].native == digest

    certificate = PdfFileReader(io.BytesIO(sm2_signed)).embedded_signatures[0].signer_cert
    (tmp_path / "cert.pem").write_bytes(pem.armor("CERTIFICATE", certificate.dump()))
    public = subprocess.run(
        ["openssl", "x509", "-in", str(tmp_path / "cert.pem"), "-pubkey", "-noout"],
        capture_output=True,
        check=True,
    ).stdout
    (tmp_path / "pub.pem").write_bytes(public)
    (tmp_path / "attrs.der").write_bytes(b"\x31" + info["signed_attrs"].dump()[1:])
    (tmp_path / "sig.bin").write_bytes(info["signature"].native)
    check = [
        "openssl", "dgst", "-sm3", "-verify", str(tmp_path / "pub.pem"),
        "-sigopt", "distid:1234567812345678", "-signature", str(tmp_path / "sig.bin"),
    ]  # fmt: skip
    ok = subprocess.run([*check, str(tmp_path / "attrs.der")], capture_output=True, text=True)
    assert ok.stdout.strip() == "Verified OK", ok.stderr
    (tmp_path / "attrs.der").write_bytes(b"\x31" + info["signed_attrs"].dump()[1:-1] + b"\x00")
    bad = subprocess.run([*check, str(tmp_path / "attrs.der")], capture_output=True, text=True)
    assert "Verified OK" not in bad.stdout


def test_our_verifier_passes_and_recognises(sm2_signed: bytes, world: World) -> None:
    report = verify_pdf(sm2_signed, "sm2.pdf", world.federation, JURISDICTIONS)
    (sig,) = report.signatures
    assert sig.kind is SignatureKind.CMS
    assert sig.indication is Indication.TOTAL_PASSED, sig.details
    assert sig.id == "Party1" and not sig.modified_after_signing
    assert {j: r.recognised for j, r in sig.recognition.items()} == {
        "SZ": True,
        "HK": True,
        "MO": False,
    }
    coverage = next(c for c in sig.checks if c.name == "coverage")
    assert coverage.indication is Indication.TOTAL_PASSED, coverage.detail


def test_tampering_fails(sm2_signed: bytes, world: World) -> None:
    marker = sm2_signed.index(b"/Title")
    tampered = sm2_signed[:marker] + b"/Titlf" + sm2_signed[marker + 6 :]
    (sig,) = verify_pdf(tampered, "t.pdf", world.federation, JURISDICTIONS).signatures
    assert sig.indication is Indication.TOTAL_FAILED
    assert sig.sub_indication == "HASH_FAILURE"
    assert all(r.recognised is False for r in sig.recognition.values())


def test_sm2_b_t_is_timestamped(world: World, contract: ContractDocument) -> None:
    signed = sign_pdf(
        contract.pdf,
        _identity(world.firm(KeyKind.SM2)),
        _stamp(contract),
        PadesProfile(PadesLevel.B_T),
        timestamper=world.timestamper,
    )
    (sig,) = verify_pdf(signed, "t.pdf", world.federation, JURISDICTIONS).signatures
    assert sig.indication is Indication.TOTAL_PASSED, sig.details
    assert sig.level == "B-T"


@pytest.fixture(scope="module")
def dual_signed(world: World, contract: ContractDocument) -> bytes:
    return dual_sign_pdf(
        contract.pdf,
        _identity(world.firm(KeyKind.ECDSA_P256)),
        _identity(world.firm(KeyKind.SM2)),
        _stamp(contract),
        PadesProfile(PadesLevel.B_B, certify=True),
    )


def test_dual_signed_both_pass_in_our_verifier(dual_signed: bytes, world: World) -> None:
    report = verify_pdf(dual_signed, "dual.pdf", world.federation, JURISDICTIONS)
    ecdsa, sm2 = report.signatures
    assert (ecdsa.id, ecdsa.kind) == ("Party1", SignatureKind.PADES)
    assert (sm2.id, sm2.kind) == ("Party1-SM2", SignatureKind.CMS)
    for sig in (ecdsa, sm2):
        assert sig.indication is Indication.TOTAL_PASSED, sig.details
        assert not sig.modified_after_signing
        assert sig.recognition["SZ"].recognised is True


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdfsig) not installed")
def test_dual_signed_first_is_valid_in_pdfsig(dual_signed: bytes, tmp_path: Path) -> None:
    path = tmp_path / "dual.pdf"
    path.write_bytes(dual_signed)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    first, second = out.split("Signature #2:")
    assert "Signature Field Name: Party1" in first
    assert "Signature Validation: Signature is Valid." in first
    assert "Signature Field Name: Party1-SM2" in second
    assert "Total document signed" in second


def test_dual_signing_needs_one_party_and_the_right_keys(
    world: World, contract: ContractDocument
) -> None:
    ecdsa = _identity(world.firm(KeyKind.ECDSA_P256))
    sm2 = _identity(world.firm(KeyKind.SM2))
    other = _identity(world.firm(KeyKind.SM2, "深圳市另一家公司", "NTRCN-91440300MA5G000002"))
    with pytest.raises(PdfSigningError, match="different parties"):
        dual_sign_pdf(contract.pdf, ecdsa, other, _stamp(contract), B_B)
    with pytest.raises(PdfSigningError, match="needs an SM2 key"):
        dual_sign_pdf(contract.pdf, ecdsa, ecdsa, _stamp(contract), B_B)
    with pytest.raises(PdfSigningError, match="RSA or ECDSA"):
        dual_sign_pdf(contract.pdf, sm2, sm2, _stamp(contract), B_B)


def test_sm2_signer_under_an_issuing_ca_chains_to_the_listed_root(
    world: World, contract: ContractDocument
) -> None:
    """The mainland's CAs issue from a subordinate CA under the root a trust list names.
    The SM2 path goes through the same RFC 5280 validation as RSA and ECDSA (SM2 checked
    by our signature validator inside pyhanko-certvalidator), so the issuing CA carried
    in the signature links the signer to the listed root, its SM2-signed revocation
    data is checked, and a chain broken by a wrong SM2 signature is refused."""
    root = world.sm2_ca
    issuing_key = generate_key(KeyKind.SM2)
    issuing = CertificateAuthority(
        certificate=root.issue(
            ca_name("SZ Issuing SM2 CA", "SealBridge Test", "CN"),
            issuing_key.public_key_info,
            profiles.SUB_CA,
            not_before=world.now - timedelta(days=60),
        ),
        key=issuing_key,
    )
    signer = world.issue(issuing, KeyKind.SM2, "深圳市二级签发示例有限公司")
    identity = PdfSignerIdentity(signer.key, signer.certificate, (issuing.certificate,))
    signed = sign_pdf(contract.pdf, identity, _stamp(contract), B_B)
    # The issuing CA names the root's OCSP responder: its status is fetched, SM2-signed.
    context = federation_context(world.federation)
    (sig,) = verify_pdf(
        signed, "sub.pdf", world.federation, JURISDICTIONS, context=context
    ).signatures
    assert sig.kind is SignatureKind.CMS
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None), sig.details
    assert len(sig.chain) == 3 and "SZ Issuing SM2 CA" in sig.chain[1]
    assert sig.recognition["SZ"].recognised is True

    impostor_key = generate_key(KeyKind.SM2)
    impostor = CertificateAuthority(certificate=issuing.certificate, key=impostor_key)
    forged = world.issue(impostor, KeyKind.SM2, "深圳市冒名示例有限公司")
    identity = PdfSignerIdentity(forged.key, forged.certificate, (issuing.certificate,))
    signed = sign_pdf(contract.pdf, identity, _stamp(contract), B_B)
    (sig,) = verify_pdf(
        signed, "forged.pdf", world.federation, JURISDICTIONS, context=context
    ).signatures
    assert sig.indication is not Indication.TOTAL_PASSED
    assert sig.recognition["SZ"].recognised is not True
