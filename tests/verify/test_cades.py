"""The CMS checks of a PAdES signature (``verify.cades``), as a forger or a sloppy signer
would exercise them, through ``verify_pdf`` and, where the function is pure, directly.

Each forged signature is made the way an attacker with the signer's key (or with a
legitimately signed file) would make it: signed attributes chosen freely and signed with
the real key, then sometimes altered after signing. Every check is also run on an honest
twin, so a failure is due to the one thing changed. The last tests compare our verdicts
with pyHanko's ``validate_pdf_signature``, an independent implementation of the same
checks, on a small matrix of documents.

The world (``support.cms_world``) serves OCSP for its ECDSA CA and an RFC 3161 TSA on
127.0.0.1, so chains are validated with real revocation data.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import cms, core, keys, tsp, x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import PdfSignatureStatus

from sealbridge.crypto.algorithms import KeyKind, digest
from sealbridge.crypto.keys import SoftwareKey, generate_key
from sealbridge.documents.pdf import cms as cms_builder
from sealbridge.documents.pdf.contract import ContractDocument
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    run_async,
    sign_pdf,
)
from sealbridge.errors import MalformedInput
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.pki.tsa import TimeStampAuthority, TimeStampResponse
from sealbridge.verify.cades import (
    TokenOutcome,
    check_integrity,
    check_token,
    digest_of,
    read_signed_data,
)
from sealbridge.verify.chain import ChainOutcome, Usage, validate_chain
from sealbridge.verify.cms import verify_detached_cms
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Check, Constraint, Indication, SignatureReport
from support.cms_world import World, pyhanko_status
from support.contracts import two_party_contract
from support.pki import Signer
from verify import subfilters

CONTENT = "跨境合同 cross-border contract\n".encode() * 20
EDITED_CONTENT = CONTENT.replace(b"contract", b"contrast", 1)
FIELD = "Signature1"
TSA_POLICY = "1.3.6.1.4.1.61234.1.3161"
# A signer certificate without nonRepudiation: fine for authentication, not for signing.
DIGITAL_SIGNATURE_ONLY = replace(
    profiles.ENTERPRISE_SIGNATURE,
    name="digital-signature-only",
    key_usage=frozenset({"digital_signature"}),
)
# A TSA certificate without the timeStamping extended key usage.
TSA_WITHOUT_EKU = replace(profiles.TSA, name="tsa-without-eku", extended_key_usage=())


# --- the world -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return two_party_contract("C-CADES")


@pytest.fixture(scope="module")
def unlisted_ca() -> CertificateAuthority:
    """An ECDSA CA on no trust list: what it issues chains to nothing trusted."""
    return CertificateAuthority.create_root(
        ca_name("Unlisted ECDSA Test CA", "SealBridge Test", "CN"),
        generate_key(KeyKind.ECDSA_P256),
    )


def _firm(
    world: World,
    ca: CertificateAuthority | None = None,
    profile: profiles.CertificateProfile = profiles.ENTERPRISE_SIGNATURE,
) -> Signer:
    """A fresh ECDSA signer (by default under the listed ECDSA CA, with OCSP)."""
    issuer = ca or world.ec_ca
    key = generate_key(KeyKind.ECDSA_P256)
    certificate = issuer.issue(
        enterprise_name("深圳市前海示例科技有限公司", "NTRCN-91440300MA5G000001", "CN"),
        key.public_key_info,
        profile,
        not_before=world.now - timedelta(days=30),
    )
    return Signer(key, certificate, issuer)


# --- timestamp authorities -------------------------------------------------------------


class InProcessTimeStamper(TimeStamper):
    """pyHanko's client side, answered by our TSA without HTTP."""

    def __init__(self, tsa: TimeStampAuthority) -> None:
        super().__init__()
        self.tsa = tsa

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return TimeStampResponse.load(self.tsa.respond(req.dump()))


def _unlisted_tsa(world: World, ca: CertificateAuthority) -> TimeStamper:
    """A well-formed TSA whose certificate chains to no trusted anchor."""
    key = generate_key(KeyKind.ECDSA_P256)
    certificate = ca.issue(
        ca_name("Unlisted Test TSA", "SealBridge Test", "CN"),
        key.public_key_info,
        profiles.TSA,
        not_before=world.now - timedelta(days=30),
    )
    tsa = TimeStampAuthority(
        key, certificate, policy_oid=TSA_POLICY, clock=lambda: datetime.now(UTC)
    )
    return InProcessTimeStamper(tsa)


def _tsa_without_eku(world: World) -> TimeStamper:
    """A trusted CA's certificate lacking the timeStamping EKU, used as a TSA anyway.

    Our ``TimeStampAuthority`` refuses such a certificate, so pyHanko's in-process TSA
    (RSA only) signs the tokens: an independent token encoder besides.
    """
    key = generate_key(KeyKind.RSA_2048)
    assert isinstance(key, SoftwareKey)
    private = serialization.load_pem_private_key(key.private_key_pem(b"tsa"), b"tsa")
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    certificate = world.ec_ca.issue(
        ca_name("SZ Test TSA without EKU", "SealBridge Test", "CN"),
        key.public_key_info,
        TSA_WITHOUT_EKU,
        not_before=world.now - timedelta(days=30),
    )
    return DummyTimeStamper(tsa_cert=certificate, tsa_key=keys.PrivateKeyInfo.load(der))


def _token(timestamper: TimeStamper, data: bytes) -> bytes:
    """An RFC 3161 token (DER ContentInfo) over the SHA-256 of ``data``."""
    token = run_async(timestamper.async_timestamp(digest("sha256", data), "sha256"))
    return bytes(token.dump())


# --- forging signed attributes ---------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a recipe builds signed attributes from.

    ``signed_digest`` is the digest of the bytes the signer saw, ``shipped_digest`` that
    of the bytes delivered (they differ when the forger edits the document).
    """

    signed_digest: bytes
    shipped_digest: bytes
    signer: x509.Certificate
    other: x509.Certificate
    claim: datetime


Attributes = Callable[[Facts], list[bytes]]


@dataclass(frozen=True)
class Recipe:
    """The attributes the signer's key signs, and the ones shipped when they differ."""

    signed: Attributes
    shipped: Attributes | None = None
    edit: bool = False


def _attribute(kind: str, value: object) -> bytes:
    return bytes(cms.CMSAttribute({"type": kind, "values": [value]}).dump())


def _ess_v2(certificate: x509.Certificate) -> tsp.SigningCertificateV2:
    """What our signer writes (``documents.pdf.cms``), naming ``certificate``."""
    return tsp.SigningCertificateV2.load(cms_builder.signing_certificate_v2(certificate, "sha256"))


def _ess_v2_serial(certificate: x509.Certificate, serial: int) -> tsp.SigningCertificateV2:
    """The right hash of ``certificate`` with another issuer serial number."""
    return tsp.SigningCertificateV2(
        {
            "certs": [
                {
                    "cert_hash": hashlib.sha256(certificate.dump()).digest(),
                    "issuer_serial": {
                        "issuer": [
                            x509.GeneralName(name="directory_name", value=certificate.issuer)
                        ],
                        "serial_number": serial,
                    },
                }
            ]
        }
    )


def _ess_v1(certificate: x509.Certificate) -> tsp.SigningCertificate:
    return tsp.SigningCertificate(
        {"certs": [{"cert_hash": hashlib.sha1(certificate.dump()).digest()}]}
    )


def _protection(digest_algorithm: str, signature_algorithm: str) -> bytes:
    """RFC 6211 cmsAlgorithmProtection naming these two algorithms."""
    return _attribute(
        "cms_algorithm_protection",
        cms.CMSAlgorithmProtection(
            {
                "digest_algorithm": {"algorithm": digest_algorithm},
                "signature_algorithm": {"algorithm": signature_algorithm},
            }
        ),
    )


def _signing_time(when: datetime) -> bytes:
    return _attribute("signing_time", cms.Time(name="utc_time", value=when))


def _base(
    f: Facts, *, message_digest: bytes | None = None, ess: object = None, content: str = "data"
) -> list[bytes]:
    """content-type, message-digest, signing-certificate-v2 (PAdES B-B) and the claim."""
    return [
        _attribute("content_type", content),
        _attribute("message_digest", message_digest or f.signed_digest),
        _attribute("signing_certificate_v2", ess if ess is not None else _ess_v2(f.signer)),
        _signing_time(f.claim),
    ]


def _set(attributes: list[bytes]) -> bytes:
    """DER SET OF, sorted as X.690 wants: the bytes the key signs."""
    return cms_builder.tlv(0x31, b"".join(sorted(attributes)))


HONEST = Recipe(lambda f: [*_base(f), _protection("sha256", "sha256_ecdsa")])

# (id, recipe, a fragment of the reason it must fail, or None for an honest signature)
RECIPES: list[tuple[str, Recipe, str | None]] = [
    ("honest, with algorithm protection and a claimed time", HONEST, None),
    (
        "honest, ESS v1 and v2 both naming the signer",
        Recipe(lambda f: [*_base(f), _attribute("signing_certificate", _ess_v1(f.signer))]),
        None,
    ),
    (
        "ESS v2 hashes another certificate",
        Recipe(lambda f: _base(f, ess=_ess_v2(f.other))),
        "names another certificate than the signer's",
    ),
    (
        "ESS v1 hashes another certificate",
        Recipe(lambda f: [*_base(f)[:2], _attribute("signing_certificate", _ess_v1(f.other))]),
        "names another certificate than the signer's",
    ),
    (
        "ESS v2 hashes the signer but names another serial",
        Recipe(lambda f: _base(f, ess=_ess_v2_serial(f.signer, f.other.serial_number))),
        "names another serial number",
    ),
    (
        "algorithm protection names SHA-512",
        Recipe(lambda f: [*_base(f), _protection("sha512", "sha256_ecdsa")]),
        "names another digest algorithm",
    ),
    (
        "algorithm protection names RSA",
        Recipe(lambda f: [*_base(f), _protection("sha256", "sha256_rsa")]),
        "names another signature algorithm",
    ),
    (
        "signing time changed after signing",
        Recipe(
            HONEST.signed,
            shipped=lambda f: HONEST.signed(replace(f, claim=f.claim - timedelta(days=365))),
        ),
        "the signature value does not verify",
    ),
    (
        "document edited, message digest rewritten to match",
        Recipe(
            HONEST.signed,
            shipped=lambda f: [
                *_base(f, message_digest=f.shipped_digest),
                _protection("sha256", "sha256_ecdsa"),
            ],
            edit=True,
        ),
        "the signature value does not verify",
    ),
    (
        "content type changed after signing",
        Recipe(
            HONEST.signed,
            shipped=lambda f: [
                *_base(f, content="tst_info"),
                _protection("sha256", "sha256_ecdsa"),
            ],
        ),
        "the signed content type is not data",
    ),
]

Mutation = Callable[[cms.ContentInfo], None]


def _container(
    facts: Facts,
    recipe: Recipe,
    signer: Signer,
    *,
    stamp: Callable[[bytes], bytes] | None = None,
    mutate: Mutation | None = None,
) -> bytes:
    """The CMS a forger ships: ``recipe.signed`` signed by the real key, then
    ``recipe.shipped`` put in their place; ``stamp`` makes the timestamp token from the
    signature value; ``mutate`` edits the finished structure."""
    spec = cms_builder.SignatureSpec.for_key(signer.key)
    signature = signer.key.sign(_set(recipe.signed(facts)), spec.asn1)
    shipped = recipe.shipped or recipe.signed
    container = cms_builder.signed_data(
        attributes=_set(shipped(facts)),
        signature=signature,
        certificate=signer.certificate,
        chain=(signer.ca.certificate,),
        spec=spec,
        timestamp_token=stamp(signature) if stamp is not None else None,
    )
    if mutate is None:
        return container
    content = cms.ContentInfo.load(container)
    mutate(content)
    return bytes(content.dump(force=True))


def _edited(data: bytes) -> bytes:
    """One byte of the signed revision changed: the binary comment of the header, so the
    file still reads the same."""
    index = data.index(b"\n%") + 2
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


def _forged_pdf(
    contract: ContractDocument,
    signer: Signer,
    other: Signer,
    claim: datetime,
    recipe: Recipe,
    *,
    stamp: Callable[[bytes], bytes] | None = None,
    mutate: Mutation | None = None,
) -> bytes:
    """The contract signed by ``signer`` through ``recipe`` (a PAdES revision of ours,
    only the CMS in it forged)."""
    prepared = subfilters.prepared_revision(contract.pdf, signer)
    shipped = prepared
    if recipe.edit:
        shipped = replace(prepared, pdf=_edited(prepared.pdf))
    start, end = prepared.contents
    shipped_digest = hashlib.sha256(shipped.pdf[:start] + shipped.pdf[end:]).digest()
    if not recipe.edit:
        assert shipped_digest == prepared.document_digest  # the /ByteRange is understood
    facts = Facts(
        prepared.document_digest, shipped_digest, signer.certificate, other.certificate, claim
    )
    return shipped.embed(_container(facts, recipe, signer, stamp=stamp, mutate=mutate))


def _detached(
    signer: Signer,
    other: Signer,
    claim: datetime,
    recipe: Recipe,
    *,
    stamp: Callable[[bytes], bytes] | None = None,
) -> tuple[bytes, bytes]:
    """The same forgery over plain ``CONTENT``: (container, content shipped)."""
    shipped = EDITED_CONTENT if recipe.edit else CONTENT
    facts = Facts(
        digest("sha256", CONTENT),
        digest("sha256", shipped),
        signer.certificate,
        other.certificate,
        claim,
    )
    return _container(facts, recipe, signer, stamp=stamp), shipped


# --- verifying -------------------------------------------------------------------------


def _verify(world: World, data: bytes) -> SignatureReport:
    context = federation_context(world.federation)
    (sig,) = verify_pdf(data, "x.pdf", world.federation, ["SZ"], context=context).signatures
    return sig


def _check(sig: SignatureReport, name: str) -> Check:
    return next(c for c in sig.checks if c.name == name)


def _chain_check(sig: SignatureReport) -> Check:
    """The chain's verdict: ``chain``, or ``revocation`` when that is what stopped it."""
    return next(c for c in sig.checks if c.name in ("chain", "revocation"))


@pytest.fixture(scope="module")
def signer(world: World) -> Signer:
    return _firm(world)


@pytest.fixture(scope="module")
def other(world: World) -> Signer:
    """Another firm of the same CA: the certificate a forger would substitute."""
    return _firm(world)


@pytest.fixture(scope="module")
def claim(world: World) -> datetime:
    """The signer's claimed signing time: three days ago, unlike any token's time."""
    return world.now - timedelta(days=3)


# --- 1-3: signed attributes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipe", "reason"), [pytest.param(r, why, id=name) for name, r, why in RECIPES]
)
def test_signed_attributes_checked_directly(
    signer: Signer, other: Signer, claim: datetime, recipe: Recipe, reason: str | None
) -> None:
    """check_integrity is pure: a forgery fails it for the reason named while the bytes
    shipped still match the message digest shipped (``intact``); its honest twin passes."""
    container, shipped = _detached(signer, other, claim, recipe)
    signed = read_signed_data(cms.ContentInfo.load(container), "test signature")
    assert signed.signer.dump() == signer.certificate.dump()
    integrity = check_integrity(signed, digest_of((shipped,)), "data")
    if reason is None:
        assert (integrity.intact, integrity.valid) == (True, True), integrity.detail
        return
    assert integrity.intact is True, integrity.detail
    assert integrity.valid is False
    assert reason in integrity.detail


@pytest.mark.parametrize(
    ("recipe", "reason"), [pytest.param(r, why, id=name) for name, r, why in RECIPES]
)
def test_signed_attributes_through_verify_pdf(
    world: World,
    contract: ContractDocument,
    signer: Signer,
    other: Signer,
    claim: datetime,
    recipe: Recipe,
    reason: str | None,
) -> None:
    """A relying party sees the forgery as TOTAL-FAILED / SIG_CRYPTO_FAILURE on the
    signature-value check (the signed bytes themselves match), and recognises it nowhere;
    the honest twin passes and its only time is the signer's claim."""
    sig = _verify(world, _forged_pdf(contract, signer, other, claim, recipe))
    assert _check(sig, "integrity").indication is Indication.TOTAL_PASSED
    value = _check(sig, "signature-value")
    if reason is None:
        assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None), sig.details
        assert value.indication is Indication.TOTAL_PASSED
        assert sig.signing_time == claim
        assert sig.recognition["SZ"].recognised is True
        return
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE")
    assert (value.indication, value.sub_indication) == (
        Indication.TOTAL_FAILED,
        "SIG_CRYPTO_FAILURE",
    )
    assert reason in value.detail
    assert sig.recognition["SZ"].recognised is False


@pytest.mark.parametrize(
    ("recipe", "reason"), [pytest.param(r, why, id=name) for name, r, why in RECIPES]
)
def test_signed_attributes_through_a_detached_signature_file(
    world: World, signer: Signer, other: Signer, claim: datetime, recipe: Recipe, reason: str | None
) -> None:
    """A detached .p7s (and an SM2 signature in a PDF, which takes the same path) meets
    the same CMS checks as a PAdES signature: the same forgeries fail for the same
    reasons, the honest twins pass."""
    container, shipped = _detached(signer, other, claim, recipe)
    (sig,) = verify_detached_cms(container, shipped, "c.p7s", world.federation, ["SZ"]).signatures
    if reason is None:
        assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None), sig.details
        return
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE")
    assert any(reason in line for line in sig.details), sig.details


# --- 4: the signer's certificate is not in the CMS -------------------------------------


def _only_the_ca(content: cms.ContentInfo) -> None:
    signed_data = content["content"]
    kept = [c for c in signed_data["certificates"] if c.chosen.ca]
    signed_data["certificates"] = kept


def _no_certificates(content: cms.ContentInfo) -> None:
    signed_data = content["content"]
    content["content"] = cms.SignedData(
        {
            name: signed_data[name]
            for name in ("version", "digest_algorithms", "encap_content_info", "signer_infos")
        }
    )


def _named_by_another_key(content: cms.ContentInfo) -> None:
    """The SignerInfo names a subject key identifier that no carried certificate has."""
    info = content["content"]["signer_infos"][0]
    info["sid"] = cms.SignerIdentifier(
        name="subject_key_identifier", value=hashlib.sha1(b"no such key").digest()
    )


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_only_the_ca, id="only the CA certificate carried"),
        pytest.param(_no_certificates, id="no certificates at all"),
        pytest.param(_named_by_another_key, id="signer named by an unknown key identifier"),
    ],
)
def test_signer_certificate_missing_leaves_the_signature_undecided(
    world: World,
    contract: ContractDocument,
    signer: Signer,
    other: Signer,
    claim: datetime,
    mutate: Mutation,
) -> None:
    """Without the signer's certificate nothing can be checked: EN 319 102-1 makes it
    INDETERMINATE / NO_SIGNING_CERTIFICATE_FOUND, with one line saying why, not an
    exception; recognition is held back, not refused."""
    data = _forged_pdf(contract, signer, other, claim, HONEST, mutate=mutate)
    sig = _verify(world, data)
    assert (sig.indication, sig.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_SIGNING_CERTIFICATE_FOUND",
    )
    assert sig.details == (
        "cannot validate: the SignerInfo names no certificate the signature carries",
        "modification: nothing was added to the file after this signature",
    )
    assert all(r.recognised is None for r in sig.recognition.values())
    container, _ = _detached(signer, other, claim, HONEST)
    content = cms.ContentInfo.load(container)
    mutate(content)
    with pytest.raises(MalformedInput, match="names no certificate"):
        read_signed_data(cms.ContentInfo.load(content.dump(force=True)), "PDF signature")


def test_signer_named_by_its_key_identifier_is_found(
    world: World, contract: ContractDocument, signer: Signer, other: Signer, claim: datetime
) -> None:
    """The honest twin of the key-identifier case: a SignerInfo (v3) naming the signer
    by its subject key identifier is matched to the carried certificate and passes."""

    def by_key_identifier(content: cms.ContentInfo) -> None:
        info = content["content"]["signer_infos"][0]
        info["version"] = "v3"
        info["sid"] = cms.SignerIdentifier(
            name="subject_key_identifier", value=signer.certificate.key_identifier
        )

    data = _forged_pdf(contract, signer, other, claim, HONEST, mutate=by_key_identifier)
    sig = _verify(world, data)
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None), sig.details


def _malformed_signing_time(f: Facts) -> list[bytes]:
    """A sloppy signer's signing-time: a UTCTime that is not a time, signed all the same."""
    value = cms_builder.tlv(0x17, b"notatime")
    oid = bytes(core.ObjectIdentifier("1.2.840.113549.1.9.5").dump())
    return [*_base(f)[:3], cms_builder.tlv(0x30, oid + cms_builder.tlv(0x31, value))]


def test_undecodable_signing_time_is_a_format_failure_not_a_crash(
    world: World, contract: ContractDocument, signer: Signer, other: Signer, claim: datetime
) -> None:
    """The attribute is validly signed, so only format checking can catch it; a relying
    party must get a verdict, not a traceback."""
    data = _forged_pdf(contract, signer, other, claim, Recipe(_malformed_signing_time))
    sig = _verify(world, data)
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "FORMAT_FAILURE")


# --- 5 and 6: the signature timestamp --------------------------------------------------


def _no_chain(certificate: x509.Certificate, others: object, usage: Usage) -> ChainOutcome:
    raise AssertionError("the chain of a token that failed its own checks was validated")


def _check_token(world: World, token: bytes, signature: bytes) -> TokenOutcome:
    """check_token over ``signature``, the TSA's chain validated as verify_pdf does."""
    make = federation_context(world.federation)
    with asyncio.Runner() as runner:
        context = make(None)
        try:
            return check_token(
                cms.ContentInfo.load(token),
                digest_of((signature,)),
                lambda c, o, u: validate_chain(c, o, u, context, runner.run),
                "the signature timestamp",
            )
        finally:
            runner.run(context.aclose())


def _signature_value(container: bytes) -> bytes:
    info = cms.ContentInfo.load(container)["content"]["signer_infos"][0]
    return bytes(info["signature"].native)


def test_timestamp_over_other_bytes_fails(
    world: World, contract: ContractDocument, signer: Signer, other: Signer, claim: datetime
) -> None:
    """A genuine token from the trusted TSA, lifted onto a signature it was not made for:
    the imprint does not match, the timestamp check fails (and its TSA is not even asked
    about), though the signature itself is sound."""
    lifted = _token(world.timestamper, b"the signature value of another document")
    container, _ = _detached(signer, other, claim, HONEST, stamp=lambda _: lifted)
    outcome = check_token(
        cms.ContentInfo.load(lifted),
        digest_of((_signature_value(container),)),
        _no_chain,
        "the signature timestamp",
    )
    assert (outcome.integrity.intact, outcome.integrity.valid) == (False, False)
    assert "is for other bytes" in outcome.integrity.detail
    assert outcome.proves_time is False

    sig = _verify(
        world, _forged_pdf(contract, signer, other, claim, HONEST, stamp=lambda _: lifted)
    )
    assert _check(sig, "signature-value").indication is Indication.TOTAL_PASSED
    timestamp = _check(sig, "timestamp")
    assert (timestamp.indication, timestamp.sub_indication) == (
        Indication.TOTAL_FAILED,
        "HASH_FAILURE",
    )
    assert "is for other bytes" in timestamp.detail
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            cms_builder.tlv(0x30, cms_builder.tlv(0x06, b"\x2a\x86")),
            id="a SEQUENCE with a truncated OID",
        ),
        pytest.param(
            cms_builder.tlv(0x04, b"garbage"),
            id="an OCTET STRING",
        ),
    ],
)
def test_unreadable_timestamp_token_is_reported_not_raised(
    world: World,
    contract: ContractDocument,
    signer: Signer,
    other: Signer,
    claim: datetime,
    token: bytes,
) -> None:
    """The token is an unsigned attribute, outside the /ByteRange and the signature:
    anyone can replace it in a signed file. Whatever is put there, the verifier must
    answer with a verdict that does not pass and names the timestamp."""
    data = _forged_pdf(contract, signer, other, claim, HONEST, stamp=lambda _: token)
    sig = _verify(world, data)
    assert sig.indication is not Indication.TOTAL_PASSED
    failing = [c for c in sig.checks if c.indication is not Indication.TOTAL_PASSED]
    assert any("timestamp" in c.detail for c in failing), sig.details


def _token_without_certificates(world: World, data: bytes) -> bytes:
    """A token from the trusted TSA asked with certReq false (RFC 3161 2.4.1): legal,
    and then the TSA's certificate is not in the token."""
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": digest("sha256", data),
            },
            "cert_req": False,
        }
    )
    reply = run_async(world.timestamper.async_request_tsa_response(request))
    return bytes(reply["time_stamp_token"].dump())


def test_token_without_tsa_certificate_does_not_fail_the_signature(
    world: World, contract: ContractDocument, signer: Signer, other: Signer, claim: datetime
) -> None:
    """A genuine token over the signature, only without the TSA's certificate: the
    verifier cannot tie it to a TSA, so it proves no time; no hash mismatched."""
    data = _forged_pdf(
        contract,
        signer,
        other,
        claim,
        HONEST,
        stamp=lambda signature: _token_without_certificates(world, signature),
    )
    sig = _verify(world, data)
    timestamp = _check(sig, "timestamp")
    assert timestamp.sub_indication != "HASH_FAILURE", timestamp.detail
    assert sig.indication is not Indication.TOTAL_FAILED
    assert sig.signing_time == claim


@pytest.mark.parametrize(
    ("tsa", "problem"),
    [
        pytest.param("unlisted", "NO_CERTIFICATE_CHAIN_FOUND", id="TSA on no trust list"),
        pytest.param("no-eku", "CHAIN_CONSTRAINTS_FAILURE", id="TSA without timeStamping EKU"),
    ],
)
def test_timestamp_from_an_unusable_tsa_proves_no_time(
    world: World,
    contract: ContractDocument,
    signer: Signer,
    other: Signer,
    claim: datetime,
    unlisted_ca: CertificateAuthority,
    tsa: str,
    problem: str,
) -> None:
    """A well-formed token whose TSA cannot be trusted breaks nothing but proves nothing
    (EN 319 102-1): the signature passes, the timestamp check says so under the
    timestamp-missing constraint, and the best signature time is the signer's claim."""
    timestamper = (
        _unlisted_tsa(world, unlisted_ca) if tsa == "unlisted" else _tsa_without_eku(world)
    )
    tokens: list[bytes] = []

    def stamp(signature: bytes) -> bytes:
        tokens.append(_token(timestamper, signature))
        return tokens[-1]

    container, _ = _detached(signer, other, claim, HONEST, stamp=stamp)
    outcome = _check_token(world, tokens[-1], _signature_value(container))
    assert (outcome.integrity.intact, outcome.integrity.valid) == (True, True)
    assert outcome.chain is not None and outcome.chain.problem == problem
    assert outcome.time is not None and outcome.proves_time is False

    sig = _verify(world, _forged_pdf(contract, signer, other, claim, HONEST, stamp=stamp))
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None), sig.details
    assert sig.level == "B-T"
    timestamp = _check(sig, "timestamp")
    assert timestamp.indication is Indication.TOTAL_PASSED
    assert timestamp.constraint is Constraint.TIMESTAMP_MISSING
    assert "proves no signing time" in timestamp.detail
    assert sig.signing_time == claim


def test_timestamp_from_the_trusted_tsa_proves_its_time(
    world: World, contract: ContractDocument, signer: Signer, other: Signer, claim: datetime
) -> None:
    """The honest twin of the two tests above: the token's time, not the claim, is the
    best signature time."""
    tokens: list[bytes] = []

    def stamp(signature: bytes) -> bytes:
        tokens.append(_token(world.timestamper, signature))
        return tokens[-1]

    sig = _verify(world, _forged_pdf(contract, signer, other, claim, HONEST, stamp=stamp))
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None), sig.details
    assert _check(sig, "timestamp").constraint is None
    tst_info = cms.ContentInfo.load(tokens[-1])["content"]["encap_content_info"]["content"]
    assert sig.signing_time == tst_info.parsed["gen_time"].native
    assert sig.signing_time != claim


def test_signer_without_non_repudiation_is_a_chain_constraints_failure(
    world: World, contract: ContractDocument
) -> None:
    """A certificate whose key usage is digitalSignature only is not one to sign
    documents with: the chain is found and valid, the key usage constraint is not met."""
    signer = _firm(world, profile=DIGITAL_SIGNATURE_ONLY)
    data = sign_pdf(
        contract.pdf,
        PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,)),
        None,
        PadesProfile(PadesLevel.B_B),
        field_name=FIELD,
    )
    sig = _verify(world, data)
    assert (sig.indication, sig.sub_indication) == (
        Indication.INDETERMINATE,
        "CHAIN_CONSTRAINTS_FAILURE",
    )
    chain = _check(sig, "chain")
    assert chain.sub_indication == "CHAIN_CONSTRAINTS_FAILURE"
    assert "non repudiation" in chain.detail
    assert _check(sig, "signature-value").indication is Indication.TOTAL_PASSED
    assert sig.recognition["SZ"].recognised is not True


# --- 7: differential against pyHanko ---------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """What both verifiers can be asked: the four facts pyHanko's status reports."""

    intact: bool
    valid: bool
    trusted: bool
    revoked: bool


def _ours(sig: SignatureReport) -> Verdict:
    chain = _chain_check(sig)
    return Verdict(
        _check(sig, "integrity").indication is Indication.TOTAL_PASSED,
        _check(sig, "signature-value").indication is Indication.TOTAL_PASSED,
        chain.indication is Indication.TOTAL_PASSED,
        chain.sub_indication == "REVOKED",
    )


def _pyhanko(world: World, data: bytes) -> Verdict:
    """pyHanko's verdict, with a context from the same factory as ours: same anchors,
    same revocation mode, same fetching.

    pyHanko's ``valid`` is the signature value over the signed attributes alone; ours
    (``Integrity.valid``) is that the signature *and its attributes* hold, message digest
    included, so a pyHanko signature counts as valid here only when it is also intact.
    """

    status = pyhanko_status(world, data)
    assert isinstance(status, PdfSignatureStatus)
    return Verdict(status.intact, status.intact and status.valid, status.trusted, status.revoked)


def _signed(world: World, contract: ContractDocument, signer: Signer, level: PadesLevel) -> bytes:
    return sign_pdf(
        contract.pdf,
        PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,)),
        None,
        PadesProfile(level),
        timestamper=world.timestamper,
        field_name=FIELD,
    )


def _valid_b_b(world: World, contract: ContractDocument, unlisted: CertificateAuthority) -> bytes:
    return _signed(world, contract, _firm(world), PadesLevel.B_B)


def _valid_b_t(world: World, contract: ContractDocument, unlisted: CertificateAuthority) -> bytes:
    return _signed(world, contract, _firm(world), PadesLevel.B_T)


def _revoked(world: World, contract: ContractDocument, unlisted: CertificateAuthority) -> bytes:
    signer = _firm(world)
    world.ec_ca.revoke(signer.certificate, at=world.now - timedelta(days=1))
    return _signed(world, contract, signer, PadesLevel.B_B)


def _untrusted_root(
    world: World, contract: ContractDocument, unlisted: CertificateAuthority
) -> bytes:
    return _signed(world, contract, _firm(world, unlisted), PadesLevel.B_B)


def _tampered(world: World, contract: ContractDocument, unlisted: CertificateAuthority) -> bytes:
    return _edited(_signed(world, contract, _firm(world), PadesLevel.B_B))


def _wrong_key_usage(
    world: World, contract: ContractDocument, unlisted: CertificateAuthority
) -> bytes:
    return _signed(world, contract, _firm(world, profile=DIGITAL_SIGNATURE_ONLY), PadesLevel.B_B)


Document = Callable[[World, ContractDocument, CertificateAuthority], bytes]

# (document, what a relying party must conclude: intact, valid, trusted, revoked)
MATRIX: list[tuple[str, Document, Verdict]] = [
    ("valid B-B", _valid_b_b, Verdict(True, True, True, False)),
    ("valid B-T", _valid_b_t, Verdict(True, True, True, False)),
    ("signer revoked", _revoked, Verdict(True, True, False, True)),
    ("untrusted root", _untrusted_root, Verdict(True, True, False, False)),
    ("bytes tampered after signing", _tampered, Verdict(False, False, False, False)),
    ("signer without nonRepudiation", _wrong_key_usage, Verdict(True, True, False, False)),
]


@pytest.mark.parametrize(
    ("document", "expected"), [pytest.param(d, e, id=name) for name, d, e in MATRIX]
)
def test_agrees_with_pyhanko(
    world: World,
    contract: ContractDocument,
    unlisted_ca: CertificateAuthority,
    document: Document,
    expected: Verdict,
) -> None:
    """Our CMS checks replaced pyHanko's: on each document both must reach the same
    intact / valid / trusted / revoked facts, and those must be the right ones."""
    data = document(world, contract, unlisted_ca)
    ours = _ours(_verify(world, data))
    theirs = _pyhanko(world, data)
    assert ours == theirs
    assert ours == expected


@pytest.mark.parametrize(
    ("recipe", "reason"), [pytest.param(r, why, id=name) for name, r, why in RECIPES]
)
def test_refuses_the_forgeries_pyhanko_refuses(
    world: World,
    contract: ContractDocument,
    signer: Signer,
    other: Signer,
    claim: datetime,
    recipe: Recipe,
    reason: str | None,
) -> None:
    """pyHanko rejects a forged signed attribute either with a not-valid status or with a
    ``SignatureValidationError``; either way neither verifier may call it valid, and both
    accept the honest twins."""
    data = _forged_pdf(contract, signer, other, claim, recipe)
    ours = _ours(_verify(world, data))
    try:
        theirs_valid = _pyhanko(world, data).valid
    except SignatureValidationError:
        theirs_valid = False
    assert ours.valid is theirs_valid is (reason is None)
