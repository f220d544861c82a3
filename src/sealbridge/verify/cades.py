"""The CMS checks of a PDF signature and of a timestamp token (CAdES, RFC 5652/3161).

What pyHanko's ``validate_pdf_signature`` checks at the CMS level, done once per
signature with the parsed structures it already has: the signer's certificate found
from the SignerInfo, the signed content type, the message digest of the signed bytes,
CMS algorithm protection (RFC 6211), the signature value over the signed attributes,
the ESS signing-certificate attribute, and for timestamps the message imprint. The path
of each certificate is left to a ``ChainValidator``. Doing this ourselves made a
one-signature verification twice as fast as pyHanko's (bench/verify_scaling.py), and
puts RSA, ECDSA and SM2 through one set of checks. A signer without signed attributes
(RFC 5652 5.4) is checked as pyHanko checks it, by its value over the content itself:
over the digest already computed, except for SM2, which needs the bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from asn1crypto import algos, cms, core, parser, tsp, x509

from sealbridge.crypto import sm2
from sealbridge.crypto.algorithms import digest, signature_algorithm
from sealbridge.crypto.verify import verify_digest, verify_signature
from sealbridge.errors import MalformedInput, SealBridgeError
from sealbridge.seals.decode import ASN1_ERRORS
from sealbridge.verify.chain import ChainOutcome, ChainValidator, Usage

# Digests a signature may be made with; weak ones (SHA-1) are the policy's to judge.
_DIGESTS = frozenset(
    {"sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "sm3"}
)
_RSA_NAMES = frozenset({"rsa", "rsassa_pkcs1v15"})


class SignerCertificateMissing(MalformedInput):
    """The SignerInfo names a certificate neither the CMS nor the caller holds."""


class SignedContent(Protocol):
    """What a signature signs: its digest by algorithm, computed once each, and the bytes
    themselves for the one check that cannot do with a digest (SM2 without signed
    attributes hashes Z_A before the content)."""

    def __call__(self, algorithm: str) -> bytes: ...

    def read(self) -> bytes: ...


@dataclass(frozen=True)
class SignedCms:
    """A SignedData with its one signer, as the checks need it."""

    signed_data: cms.SignedData
    info: cms.SignerInfo
    certificates: tuple[x509.Certificate, ...]
    signer: x509.Certificate
    digest_algorithm: str
    signature: bytes

    @property
    def has_signed_attributes(self) -> bool:
        return not isinstance(self.info["signed_attrs"], core.Void)

    def signed_attribute(self, name: str) -> list[cms.CMSAttribute]:
        attributes = self.info["signed_attrs"]
        return [a for a in attributes if a["type"].native == name]


@dataclass(frozen=True)
class Integrity:
    """``intact``: the signed bytes match; ``valid``: the signature and its attributes
    hold. ``detail`` names the first thing wrong, or what was checked."""

    intact: bool
    valid: bool
    detail: str


@dataclass(frozen=True)
class TokenOutcome:
    """A timestamp token: its own integrity, its time, and its TSA's chain.

    ``identified`` is false when no certificate at hand is the TSA's (a token requested
    without certReq carries none): nothing is wrong with it, and nothing proven by it.
    """

    integrity: Integrity
    time: datetime | None
    chain: ChainOutcome | None
    identified: bool = True
    signed: SignedCms | None = None

    @property
    def proves_time(self) -> bool:
        """ETSI EN 319 102-1: only a good token from a trusted TSA proves existence."""
        return (
            self.identified
            and self.integrity.intact
            and self.integrity.valid
            and self.chain is not None
            and self.chain.valid
        )


def read_signed_data(
    content: cms.ContentInfo | cms.SignedData, what: str, known: Sequence[x509.Certificate] = ()
) -> SignedCms:
    """The SignedData of ``content`` (or ``content`` itself, as pyHanko has already
    parsed it for a PDF signature) and its signer, whose certificate is looked for in the
    CMS and then in ``known``; ``MalformedInput`` says what is missing when it is not a
    CMS signature with exactly one signer we can identify."""
    try:
        if isinstance(content, cms.SignedData):
            signed_data = content
        elif content["content_type"].native != "signed_data":
            raise MalformedInput(what, "it is not CMS SignedData")
        else:
            signed_data = content["content"]
        infos = list(signed_data["signer_infos"])
        if len(infos) != 1:
            raise MalformedInput(what, f"{len(infos)} signers, expected exactly 1")
        info = infos[0]
        certificates = tuple(
            c.chosen for c in signed_data["certificates"] or () if c.name == "certificate"
        )
        digest_algorithm = str(info["digest_algorithm"]["algorithm"].native)
        signature = bytes(info["signature"].native)
        signer = _signer_certificate(info["sid"], (*certificates, *known))
    except ASN1_ERRORS as exc:
        raise MalformedInput(what, f"unreadable CMS: {exc}") from exc
    if signer is None:
        raise SignerCertificateMissing(
            what, "the SignerInfo names no certificate the signature carries"
        )
    if digest_algorithm not in _DIGESTS:
        raise MalformedInput(what, f"digest algorithm {digest_algorithm} is not supported")
    return SignedCms(signed_data, info, certificates, signer, digest_algorithm, signature)


def check_integrity(signed: SignedCms, content: SignedContent, content_type: str) -> Integrity:
    """The checks that need no certificate path, in the order a forger would fail them."""
    try:
        if not signed.has_signed_attributes:
            return _without_signed_attributes(signed, content, content_type)
        if not signed.info["signed_attrs"]:
            return Integrity(False, False, "the signed attributes are empty")
        types = signed.signed_attribute("content_type")
        if len(types) != 1 or types[0]["values"][0].native != content_type:
            return Integrity(True, False, f"the signed content type is not {content_type}")
        digests = signed.signed_attribute("message_digest")
        if len(digests) != 1:
            return Integrity(False, False, "there is no single message-digest attribute")
        if digests[0]["values"][0].native != content(signed.digest_algorithm):
            return Integrity(
                False,
                False,
                f"the {signed.digest_algorithm} digest of the signed bytes does not match",
            )
        algorithm = _signature_algorithm(signed)
        protection = _algorithm_protection(signed, algorithm)
        if protection is not None:
            return Integrity(True, False, protection)
        attributes = b"\x31" + signed.info["signed_attrs"].dump()[1:]
        verify_signature(signed.signer.public_key, algorithm, attributes, signed.signature)
        ess = _signing_certificate(signed)
    except (SealBridgeError, *ASN1_ERRORS) as exc:
        return Integrity(True, False, f"the signature value does not verify: {exc}")
    if ess is not None:
        return Integrity(True, False, ess)
    name = algorithm["algorithm"].native
    return Integrity(True, True, f"{signed.digest_algorithm} digest and {name} value verify")


def check_token(
    token: cms.ContentInfo | cms.SignedData | bytes,
    imprint_of: Callable[[str], bytes],
    chains: ChainValidator,
    what: str,
    known: Sequence[x509.Certificate] = (),
) -> TokenOutcome:
    """An RFC 3161 token over what ``imprint_of(algorithm)`` digests; its TSA's
    certificate is looked for in the token, then in ``known``."""
    try:
        content = cms.ContentInfo.load(token) if isinstance(token, bytes) else token
        signed = read_signed_data(content, what, known)
        encapsulated = signed.signed_data["encap_content_info"]
        if encapsulated["content_type"].native != "tst_info":
            raise MalformedInput(what, "it does not hold a TSTInfo")
        tst_bytes = bytes(encapsulated["content"])
        tst_info = tsp.TSTInfo.load(tst_bytes)
        imprint = tst_info["message_imprint"]
        expected = imprint["hashed_message"].native
        imprint_algorithm = str(imprint["hash_algorithm"]["algorithm"].native)
        time: datetime = tst_info["gen_time"].native
    except SignerCertificateMissing as exc:
        missing = ChainOutcome(None, "NO_SIGNING_CERTIFICATE_FOUND", exc.reason)
        return TokenOutcome(Integrity(True, True, exc.reason), None, missing, identified=False)
    except MalformedInput as exc:
        return TokenOutcome(Integrity(False, False, exc.reason), None, None)
    except ASN1_ERRORS as exc:
        return TokenOutcome(Integrity(False, False, f"{what} is unreadable: {exc}"), None, None)
    try:
        matches = imprint_of(imprint_algorithm) == expected
    except SealBridgeError as exc:
        return TokenOutcome(Integrity(False, False, f"{what}: {exc}"), None, None, signed=signed)
    if not matches:
        failure = Integrity(False, False, f"{what} is for other bytes")
        return TokenOutcome(failure, time, None, signed=signed)
    integrity = check_integrity(signed, digest_of((tst_bytes,)), "tst_info")
    if not (integrity.intact and integrity.valid):
        return TokenOutcome(integrity, time, None, signed=signed)
    chain = chains(signed.signer, signed.certificates, Usage.TIME_STAMPING)
    return TokenOutcome(integrity, time, chain, signed=signed)


def signature_timestamp(signed: SignedCms) -> bytes | None:
    """The DER of the signature-time-stamp-token attribute's value, when there is one.

    Unsigned attributes are outside the signature: anyone can put anything there, so
    the value is handed over unparsed, for ``check_token`` to judge.
    """
    try:
        attributes = signed.info["unsigned_attrs"]
        # Absent, not ``.native is None``: that parsed every attribute whole, the
        # token's certificates included, before this looked at one.
        if isinstance(attributes, core.Void):
            return None
        for attribute in attributes:
            if attribute["type"].native == "signature_time_stamp_token":
                first = parser.parse(attribute["values"].contents)
                return first[3] + first[4] + first[5]
    except ASN1_ERRORS as exc:
        reason = f"unreadable unsigned attributes: {exc}"
        raise MalformedInput("signature timestamp", reason) from exc
    return None


def signing_time(signed: SignedCms) -> datetime | None:
    """The signer's claim (the signing-time attribute): proves nothing, reported as such.
    ``MalformedInput`` when it is there but not a time."""
    try:
        values = signed.signed_attribute("signing_time")
        if len(values) != 1:
            return None
        claimed: datetime = values[0]["values"][0].native
    except ASN1_ERRORS as exc:
        reason = f"unreadable signing-time attribute: {exc}"
        raise MalformedInput("PDF signature", reason) from exc
    return claimed


def digest_of(chunks: Sequence[memoryview | bytes]) -> SignedContent:
    """``chunks`` as signed content, each digest computed once per algorithm asked for."""
    return _Chunks(tuple(chunks), {})


@dataclass(frozen=True)
class _Chunks:
    chunks: tuple[memoryview | bytes, ...]
    done: dict[str, bytes]

    def __call__(self, algorithm: str) -> bytes:
        if algorithm not in self.done:
            try:
                hasher = hashlib.new(algorithm)
            except ValueError as exc:
                raise SealBridgeError(f"digest algorithm {algorithm} is not supported") from exc
            for chunk in self.chunks:
                hasher.update(chunk)
            self.done[algorithm] = hasher.digest()
        return self.done[algorithm]

    def read(self) -> bytes:
        return b"".join(self.chunks)


def _without_signed_attributes(
    signed: SignedCms, content: SignedContent, content_type: str
) -> Integrity:
    """RFC 5652 5.3 and 5.4: only id-data may be signed without signed attributes, and
    then the value signs the content itself. Nothing signed names the signer's
    certificate or a time: the caller's format check says what that means."""
    try:
        declared = signed.signed_data["encap_content_info"]["content_type"].native
        if content_type != "data" or declared != "data":
            return Integrity(False, False, f"the signature has no signed attributes ({declared})")
        algorithm = _signature_algorithm(signed)
        key = signed.signer.public_key
        if sm2.is_sm2_key(key) or algorithm["algorithm"].native in ("sm2", "sm2_sm3"):
            # SM2 hashes the signer's Z_A with the data: its digest alone will not do.
            verify_signature(key, algorithm, content.read(), signed.signature)
        else:
            verify_digest(key, algorithm, content, signed.signature)
    except (SealBridgeError, *ASN1_ERRORS) as exc:
        # Without a message digest, a wrong value and changed bytes look the same.
        reason = f"the signature value over the content does not verify: {exc}"
        return Integrity(False, False, reason)
    name = algorithm["algorithm"].native
    return Integrity(
        True,
        True,
        f"{signed.digest_algorithm} digest and {name} value verify over the content itself "
        "(no signed attributes)",
    )


def _signer_certificate(
    sid: cms.SignerIdentifier, certificates: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    if sid.name == "issuer_and_serial_number":
        serial = sid.chosen["serial_number"].native
        issuer = sid.chosen["issuer"]
        issuer_der = issuer.dump()
        for certificate in certificates:
            # Byte equality first: asn1crypto's normalising name comparison is slow.
            if certificate.serial_number == serial and (
                certificate.issuer.dump() == issuer_der or certificate.issuer == issuer
            ):
                return certificate
        return None
    key_id = sid.chosen.native
    return next((c for c in certificates if c.key_identifier == key_id), None)


def _signature_algorithm(signed: SignedCms) -> algos.SignedDigestAlgorithm:
    algorithm: algos.SignedDigestAlgorithm = signed.info["signature_algorithm"]
    name = algorithm["algorithm"].native
    if name in _RSA_NAMES:
        return signature_algorithm(f"{signed.digest_algorithm}_rsa")
    if name == "ecdsa":
        return signature_algorithm(f"{signed.digest_algorithm}_ecdsa")
    if name in ("sm2", "sm2_sm3"):
        if signed.digest_algorithm != "sm3":
            raise SealBridgeError(f"SM2 with {signed.digest_algorithm}, not SM3")
        return signature_algorithm("sm2_sm3")
    if name != "rsassa_pss" and algorithm.hash_algo != signed.digest_algorithm:
        raise SealBridgeError(
            f"{name} does not go with the {signed.digest_algorithm} message digest"
        )
    return algorithm


def _algorithm_protection(signed: SignedCms, algorithm: algos.SignedDigestAlgorithm) -> str | None:
    """RFC 6211: when present, the protected algorithms must be the ones used."""
    values = signed.signed_attribute("cms_algorithm_protection")
    if not values:
        return None
    if len(values) != 1 or len(values[0]["values"]) != 1:
        return "more than one CMS algorithm protection attribute"
    protection = values[0]["values"][0]
    if protection["digest_algorithm"]["algorithm"].native != signed.digest_algorithm:
        return "CMS algorithm protection names another digest algorithm"
    protected = protection["signature_algorithm"]
    if protected.native is None:
        return "CMS algorithm protection names no signature algorithm (RFC 6211 requires one)"
    if protected["algorithm"].native not in (
        signed.info["signature_algorithm"]["algorithm"].native,
        algorithm["algorithm"].native,
    ):
        return "CMS algorithm protection names another signature algorithm"
    return None


def _signing_certificate(signed: SignedCms) -> str | None:
    """ESS signing-certificate(-v2): each one present must name the signer's certificate
    (TSAs following RFC 5816 carry both)."""
    for name, v2 in (("signing_certificate_v2", True), ("signing_certificate", False)):
        values = signed.signed_attribute(name)
        if len(values) > 1:
            return f"more than one {name.replace('_', '-')} attribute"
        if values:
            problem = _names_signer(signed, values[0]["values"][0]["certs"][0], v2)
            if problem is not None:
                return problem
    return None


def _names_signer(
    signed: SignedCms, cert_id: cms.ESSCertIDv2 | cms.ESSCertID, v2: bool
) -> str | None:
    algorithm = cert_id["hash_algorithm"]["algorithm"].native if v2 else "sha1"
    if digest(algorithm, signed.signer.dump()) != cert_id["cert_hash"].native:
        return "the signing-certificate attribute names another certificate than the signer's"
    issuer_serial = cert_id["issuer_serial"]
    # Absent, not ``.native is None``: that made the whole issuer name native (its
    # strings decoded into dictionaries) in every signature, to compare its DER.
    if isinstance(issuer_serial, core.Void):
        return None
    if issuer_serial["serial_number"].native != signed.signer.serial_number:
        return "the signing-certificate attribute names another serial number"
    issuer = signed.signer.issuer
    for name in issuer_serial["issuer"]:
        # Contents, not dump(): the directoryName's DER carries its explicit [4] tag.
        if name.name == "directory_name" and not (
            name.chosen.contents == issuer.contents or name.chosen == issuer
        ):
            return "the signing-certificate attribute names another issuer"
    return None
