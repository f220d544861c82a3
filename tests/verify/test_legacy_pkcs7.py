"""CMS signatures without signed attributes (RFC 5652 5.4), as old adbe.pkcs7.detached
signers make them: the key signs the content itself, so the value is checked over the
content's digest (RSA's DigestInfo, ECDSA's digest, PSS's padded digest) or, for SM2,
over Z_A and the content.

Nothing signed then names the signer's certificate or a time. For adbe.pkcs7.detached
that is allowed and the report says so; ETSI.CAdES.detached requires signed attributes,
so the same CMS declared as PAdES fails format checking. Every forgery has an honest
twin that passes, and the PDF cases pyHanko supports are put to its validator as well.
"""

from __future__ import annotations

import pytest
from asn1crypto import algos, cms
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import SoftwareKey
from sealbridge.documents.pdf.contract import ContractDocument
from sealbridge.verify.cades import check_integrity, digest_of, read_signed_data
from sealbridge.verify.cms import verify_detached_cms
from sealbridge.verify.pades_status import CADES, PKCS7
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Check, Indication, SignatureKind, SignatureReport
from support.cms_world import World, pyhanko_status
from support.contracts import two_party_contract
from support.pki import Signer
from verify import subfilters

CONTENT = "跨境合同 cross-border contract, signed the old way\n".encode() * 20
EDITED = CONTENT.replace(b"contract", b"contrast", 1)
NAME = "深圳市前海示例科技有限公司"
UNBOUND = "neither the signer's certificate nor a signing time is bound"


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return two_party_contract("C-PKCS7")


def _signer(world: World, kind: KeyKind) -> Signer:
    """A signer whose chain the world validates: SM2 under the SM2 CA, the rest under
    the ECDSA CA (which certifies RSA keys as readily)."""
    return world.issue(world.sm2_ca if kind is KeyKind.SM2 else world.ec_ca, kind, NAME)


KINDS = [
    pytest.param(KeyKind.RSA_2048, id="RSA PKCS#1 v1.5"),
    pytest.param(KeyKind.ECDSA_P256, id="ECDSA"),
    pytest.param(KeyKind.SM2, id="SM2"),
]


def _check(sig: SignatureReport, name: str) -> Check:
    return next(c for c in sig.checks if c.name == name)


def _verify(world: World, data: bytes) -> SignatureReport:
    context = federation_context(world.federation)
    (sig,) = verify_pdf(data, "x.pdf", world.federation, ["SZ"], context=context).signatures
    return sig


def _pyhanko(world: World, data: bytes) -> tuple[bool, bool, bool]:
    """pyHanko's intact / valid / trusted, with a context from the same factory as ours."""
    status = pyhanko_status(world, data)
    return status.intact, status.valid, status.trusted


def _pss(signer: Signer, content: bytes) -> bytes:
    """``without_attributes`` signed with RSASSA-PSS: our keys sign PKCS#1 v1.5 only, so
    the private key signs through ``cryptography`` here."""
    assert isinstance(signer.key, SoftwareKey)
    private = serialization.load_pem_private_key(signer.key.private_key_pem(b"k"), b"k")
    assert isinstance(private, rsa.RSAPrivateKey)
    pss = padding.PSS(padding.MGF1(hashes.SHA256()), 32)
    container = cms.ContentInfo.load(subfilters.without_attributes(signer, content))
    info = container["content"]["signer_infos"][0]
    info["signature_algorithm"] = algos.SignedDigestAlgorithm(
        {
            "algorithm": "rsassa_pss",
            "parameters": {
                "hash_algorithm": {"algorithm": "sha256"},
                "mask_gen_algorithm": {
                    "algorithm": "mgf1",
                    "parameters": {"algorithm": "sha256"},
                },
                "salt_length": 32,
            },
        }
    )
    info["signature"] = private.sign(content, pss, hashes.SHA256())
    return bytes(container.dump(force=True))


# --- the value over the content, checked directly ---------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_value_over_the_content_is_verified(world: World, kind: KeyKind) -> None:
    """The honest signature is intact and valid, and says it had no signed attributes;
    the same CMS over edited content fails both, as pyHanko reports it (without a
    message digest a changed byte and a wrong value cannot be told apart)."""
    signer = _signer(world, kind)
    signed = read_signed_data(
        cms.ContentInfo.load(subfilters.without_attributes(signer, CONTENT)), "test"
    )
    honest = check_integrity(signed, digest_of((CONTENT,)), "data")
    assert (honest.intact, honest.valid) == (True, True), honest.detail
    assert "over the content itself (no signed attributes)" in honest.detail
    edited = check_integrity(signed, digest_of((EDITED,)), "data")
    assert (edited.intact, edited.valid) == (False, False)
    assert "the signature value over the content does not verify" in edited.detail


def test_rsa_pss_value_over_the_content_is_verified(world: World) -> None:
    """RSASSA-PSS signs the padded digest: the honest value verifies, the edited
    content does not."""
    signer = _signer(world, KeyKind.RSA_2048)
    signed = read_signed_data(cms.ContentInfo.load(_pss(signer, CONTENT)), "test")
    honest = check_integrity(signed, digest_of((CONTENT,)), "data")
    assert (honest.intact, honest.valid) == (True, True), honest.detail
    edited = check_integrity(signed, digest_of((EDITED,)), "data")
    assert (edited.intact, edited.valid) == (False, False)


def test_rsa_encryption_as_the_signature_algorithm_is_verified(world: World) -> None:
    """Old signers name rsaEncryption as the signature algorithm (RFC 3370 allows it),
    the digest algorithm being the signer info's own: the same value verifies."""
    signer = _signer(world, KeyKind.RSA_2048)
    container = cms.ContentInfo.load(subfilters.without_attributes(signer, CONTENT))
    info = container["content"]["signer_infos"][0]
    info["signature_algorithm"] = algos.SignedDigestAlgorithm({"algorithm": "rsassa_pkcs1v15"})
    signed = read_signed_data(cms.ContentInfo.load(container.dump(force=True)), "test")
    honest = check_integrity(signed, digest_of((CONTENT,)), "data")
    assert (honest.intact, honest.valid) == (True, True), honest.detail
    edited = check_integrity(signed, digest_of((EDITED,)), "data")
    assert (edited.intact, edited.valid) == (False, False)


@pytest.mark.parametrize("kind", KINDS)
def test_value_made_by_another_key_fails(world: World, kind: KeyKind) -> None:
    """A forger signs the content with their own key and ships the victim's
    certificate: with no signed attributes only the value can expose it, and does."""
    victim, forger = _signer(world, kind), _signer(world, kind)
    forged = subfilters.without_attributes(forger, CONTENT, certificate=victim.certificate)
    signed = read_signed_data(cms.ContentInfo.load(forged), "test")
    assert signed.signer.dump() == victim.certificate.dump()
    integrity = check_integrity(signed, digest_of((CONTENT,)), "data")
    assert (integrity.intact, integrity.valid) == (False, False)
    assert "does not verify" in integrity.detail


def test_a_timestamp_token_still_needs_signed_attributes(world: World) -> None:
    """RFC 5652 5.3: only id-data may be signed without signed attributes, so a CMS
    checked as a TSTInfo signature (a timestamp token) is refused before its value."""
    signer = _signer(world, KeyKind.ECDSA_P256)
    signed = read_signed_data(
        cms.ContentInfo.load(subfilters.without_attributes(signer, CONTENT)), "test"
    )
    integrity = check_integrity(signed, digest_of((CONTENT,)), "tst_info")
    assert (integrity.intact, integrity.valid) == (False, False)
    assert "has no signed attributes" in integrity.detail


# --- in a PDF ---------------------------------------------------------------------------


def _legacy_pdf(contract: ContractDocument, signer: Signer, subfilter: str) -> bytes:
    revision = subfilters.revision(contract.pdf, signer, subfilter)
    return revision.embed(subfilters.without_attributes(signer, revision.signed))


@pytest.mark.parametrize("kind", KINDS)
def test_adbe_pkcs7_detached_without_signed_attributes_passes_and_says_what_is_unbound(
    world: World, contract: ContractDocument, kind: KeyKind
) -> None:
    """The old signer's PDF signature is intact, valid and trusted: TOTAL-PASSED, with a
    format check saying the signature binds neither certificate nor time, no PAdES
    level, and no signing time; pyHanko agrees on intact, valid and trusted. (pyHanko
    hands a value without signed attributes the digest alone, which SM2, hashing Z_A
    before the content, cannot use: it calls the SM2 case invalid, so that one is ours
    alone.)"""
    data = _legacy_pdf(contract, _signer(world, kind), PKCS7)
    sig = _verify(world, data)
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None), sig.details
    assert sig.kind is SignatureKind.CMS  # adbe.pkcs7.detached is CMS, not PAdES
    fmt = _check(sig, "format")
    assert fmt.indication is Indication.TOTAL_PASSED
    assert UNBOUND in fmt.detail
    assert sig.level is None and sig.signing_time is None
    assert sig.recognition["SZ"].recognised is True
    if kind is not KeyKind.SM2:
        assert _pyhanko(world, data) == (True, True, True)


@pytest.mark.parametrize("kind", KINDS)
def test_adbe_pkcs7_detached_without_signed_attributes_over_edited_bytes_fails(
    world: World, contract: ContractDocument, kind: KeyKind
) -> None:
    """The twin above with one signed byte changed: TOTAL-FAILED / HASH_FAILURE, and
    pyHanko finds it neither intact nor valid."""
    data = _legacy_pdf(contract, _signer(world, kind), PKCS7)
    index = data.index(b"/Title")
    edited = data[:index] + b"/Titlf" + data[index + 6 :]
    sig = _verify(world, edited)
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")
    assert "over the content does not verify" in _check(sig, "integrity").detail
    if kind is not KeyKind.SM2:
        assert _pyhanko(world, edited)[:2] == (False, False)


def test_pades_subfilter_without_signed_attributes_is_a_format_failure(
    world: World, contract: ContractDocument
) -> None:
    """The same CMS declared ETSI.CAdES.detached: the value still verifies, but a PAdES
    signature must have signed attributes (EN 319 142-1), so it is TOTAL-FAILED /
    FORMAT_FAILURE and recognised nowhere. (pyHanko does not check this and calls it
    valid.)"""
    sig = _verify(world, _legacy_pdf(contract, _signer(world, KeyKind.ECDSA_P256), CADES))
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "FORMAT_FAILURE")
    assert _check(sig, "signature-value").indication is Indication.TOTAL_PASSED
    fmt = _check(sig, "format")
    assert (
        fmt.detail == "/SubFilter ETSI.CAdES.detached requires signed attributes; the CMS has none"
    )
    assert sig.recognition["SZ"].recognised is False


# --- a detached .p7s --------------------------------------------------------------------


def test_detached_signature_file_without_signed_attributes(world: World) -> None:
    """A .p7s of an old signer meets the same value check: intact and valid, but CAdES
    requires the signing-certificate-v2 attribute, so it stays INDETERMINATE /
    NO_SIGNING_CERTIFICATE_FOUND; over edited content it fails the hash."""
    signer = _signer(world, KeyKind.ECDSA_P256)
    container = subfilters.without_attributes(signer, CONTENT)
    (sig,) = verify_detached_cms(container, CONTENT, "c.p7s", world.federation, ["SZ"]).signatures
    assert (sig.indication, sig.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_SIGNING_CERTIFICATE_FOUND",
    ), sig.details
    assert _check(sig, "integrity").indication is Indication.TOTAL_PASSED
    assert _check(sig, "signature-value").indication is Indication.TOTAL_PASSED
    assert "signing-certificate-v2" in _check(sig, "signing-certificate").detail
    (edited,) = verify_detached_cms(container, EDITED, "c.p7s", world.federation, ["SZ"]).signatures
    assert (edited.indication, edited.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")
