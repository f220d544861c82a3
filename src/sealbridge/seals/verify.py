"""Checking seals and stamps with what the bytes alone can prove.

GB/T 38540 verifies a stamp in seven steps. The ones done here need no network and no
trust decisions: parsing, the signer's and the maker's signatures, the signer being
bound to the seal, the seal's validity at signing time, the timestamp (its TSA's
signature and its imprint) and the document hash. Chains, trust anchors and revocation
belong to a trust view (``sealbridge.verify.seal``), so results hand back the maker's
and the signer's certificates for that.

Verifiers never raise on bad input: a result whose parse step failed says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from asn1crypto import algos, cms, keys, x509

from sealbridge.crypto import sm2
from sealbridge.crypto.algorithms import digest, hash_of_signature_algorithm, signature_algorithm
from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import MalformedInput, SealBridgeError, SignatureInvalid
from sealbridge.seals.decode import ASN1_ERRORS, decode_seal, decode_stamp
from sealbridge.seals.model import CertListType, SealView, StampView

# certDigestList entries name their hash in free text (an "ObjType"); these are the
# spellings accepted, compared without case, dashes or underscores, plus the OIDs.
_DIGEST_NAMES: dict[str, str] = {
    "sm3": "sm3",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "1.2.156.10197.1.401": "sm3",
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}


class Step(StrEnum):
    PARSE = "parse"
    SIGNER_SIGNATURE = "signer-signature"
    SIGNER_BOUND = "signer-in-cert-list"
    MAKER_SIGNATURE = "maker-signature"
    SEAL_VALIDITY = "seal-validity"
    TIMESTAMP = "timestamp"
    DATA_HASH = "data-hash"


@dataclass(frozen=True)
class SealCheck:
    step: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class _Outcome:
    checks: tuple[SealCheck, ...]

    @property
    def valid(self) -> bool:
        """True when every check that was run passed (trust is not among them)."""
        return bool(self.checks) and all(check.passed for check in self.checks)

    @property
    def failed_step(self) -> str | None:
        return next((check.step for check in self.checks if not check.passed), None)


@dataclass(frozen=True)
class SealVerification(_Outcome):
    seal: SealView | None

    @property
    def maker_certificate(self) -> x509.Certificate | None:
        return self.seal.maker_certificate if self.seal else None


@dataclass(frozen=True)
class StampVerification(_Outcome):
    stamp: StampView | None

    @property
    def signer_certificate(self) -> x509.Certificate | None:
        return self.stamp.signer_certificate if self.stamp else None

    @property
    def maker_certificate(self) -> x509.Certificate | None:
        return self.stamp.seal.maker_certificate if self.stamp else None


def verify_seal(
    der: bytes, *, at: datetime | None = None, require_timestamp: bool = False
) -> SealVerification:
    """Check a bare seal; with ``at`` (naive means UTC), also that it is valid then."""
    try:
        seal = decode_seal(der)
    except MalformedInput as exc:
        return SealVerification((SealCheck(Step.PARSE, False, str(exc)),), None)
    checks = [
        SealCheck(Step.PARSE, True, f"{seal.standard} seal, version {seal.version}"),
        maker_signature_check(seal),
    ]
    if at is not None:
        checks.append(validity_check(seal, at, "check time"))
    checks.append(
        verify_timestamp(seal.timestamp, seal.signature, "seal", required=require_timestamp).check
    )
    return SealVerification(tuple(checks), seal)


def verify_stamp(
    der: bytes, *, document: bytes | None = None, require_timestamp: bool = False
) -> StampVerification:
    """Check a stamp; with ``document`` (for OFD: Signature.xml's bytes), its dataHash too."""
    try:
        stamp = decode_stamp(der)
    except MalformedInput as exc:
        return StampVerification((SealCheck(Step.PARSE, False, str(exc)),), None)
    checks = [
        SealCheck(Step.PARSE, True, f"{stamp.seal.standard} stamp, version {stamp.version}"),
        signer_signature_check(stamp),
        signer_bound_check(stamp.seal, stamp.signer_certificate),
        maker_signature_check(stamp.seal),
        validity_check(stamp.seal, stamp.signing_time, "signing time"),
        verify_timestamp(
            stamp.timestamp, stamp.signature, "stamp", required=require_timestamp
        ).check,
    ]
    if document is not None:
        checks.append(data_hash_check(stamp, document))
    return StampVerification(tuple(checks), stamp)


def signer_signature_check(stamp: StampView) -> SealCheck:
    return _signature_check(
        Step.SIGNER_SIGNATURE,
        "signer",
        stamp.signer_certificate.public_key,
        stamp.signature_algorithm,
        stamp.signed_bytes,
        stamp.signature,
    )


def maker_signature_check(seal: SealView) -> SealCheck:
    return _signature_check(
        Step.MAKER_SIGNATURE,
        "seal maker",
        seal.maker_certificate.public_key,
        seal.signature_algorithm,
        seal.signed_bytes,
        seal.signature,
    )


def signer_bound_check(seal: SealView, signer: x509.Certificate) -> SealCheck:
    """Whether the seal names ``signer`` among those allowed to apply it."""
    der = signer.dump()
    who = f"signer certificate (serial {signer.serial_number:x})"
    if seal.cert_list_type is CertListType.CERTIFICATES:
        count = len(seal.bound_certificates)
        if any(bound.dump() == der for bound in seal.bound_certificates):
            return SealCheck(Step.SIGNER_BOUND, True, f"{who} is bound to the seal")
        return SealCheck(
            Step.SIGNER_BOUND, False, f"{who} is not among the {count} bound to the seal"
        )
    unknown: list[str] = []
    for bound in seal.bound_digests:
        hash_name = digest_name(bound.algorithm)
        if hash_name is None:
            unknown.append(bound.algorithm)
        elif digest(hash_name, der) == bound.value:
            return SealCheck(
                Step.SIGNER_BOUND, True, f"{who} matches a bound {bound.algorithm} digest"
            )
    detail = f"{who} matches none of the {len(seal.bound_digests)} bound digests"
    if unknown:
        detail += f" (unknown digest types: {', '.join(sorted(set(unknown)))})"
    return SealCheck(Step.SIGNER_BOUND, False, detail)


def digest_name(declared: str) -> str | None:
    """The hash a certDigestList entry's type names, or None if it names none we know."""
    key = declared.strip().lower().replace("-", "").replace("_", "")
    return _DIGEST_NAMES.get(key)


def validity_check(seal: SealView, moment: datetime | None, what: str) -> SealCheck:
    if moment is None:
        return SealCheck(Step.SEAL_VALIDITY, False, f"the {what} could not be read")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    window = f"{seal.valid_from.isoformat()} to {seal.valid_to.isoformat()}"
    if seal.valid_from <= moment <= seal.valid_to:
        return SealCheck(
            Step.SEAL_VALIDITY, True, f"{what} {moment.isoformat()} is within {window}"
        )
    side = "before" if moment < seal.valid_from else "after"
    return SealCheck(
        Step.SEAL_VALIDITY,
        False,
        f"{what} {moment.isoformat()} is {side} the seal's validity ({window})",
    )


def _signature_check(
    step: Step,
    who: str,
    public_key: keys.PublicKeyInfo,
    algorithm: str,
    data: bytes,
    signature: bytes,
) -> SealCheck:
    try:
        if sm2.is_sm2_key(public_key):
            signature = _sm2_der_signature(signature)
        verify_signature(public_key, signature_algorithm(algorithm), data, signature)
    except (SealBridgeError, *ASN1_ERRORS) as exc:
        return SealCheck(step, False, f"{who}'s {algorithm} signature: {exc}")
    return SealCheck(step, True, f"{who}'s {algorithm} signature verifies")


def _sm2_der_signature(signature: bytes) -> bytes:
    # GB/T 35276 encodes SM2 signatures as DER (r, s), but some signing devices emit
    # the bare 64-byte r || s; both carry the same signature.
    try:
        _ = algos.DSASignature.load(signature, strict=True).native
    except ASN1_ERRORS:
        if len(signature) == 64:
            r = int.from_bytes(signature[:32], "big")
            s = int.from_bytes(signature[32:], "big")
            return bytes(algos.DSASignature({"r": r, "s": s}).dump())
    return signature


@dataclass(frozen=True)
class TimestampVerification:
    """An RFC 3161 token over a seal's or stamp's signature value, checked.

    ``time`` and ``tsa_certificate`` are set only when the check passed. Whether that
    TSA is trusted, so that its time proves when the signature existed, is for a trust
    view to say.
    """

    check: SealCheck
    time: datetime | None = None
    tsa_certificate: x509.Certificate | None = None


def verify_timestamp(
    token: bytes | None,
    signature: bytes,
    whose: str,
    *,
    required: bool = False,
    certificates: Sequence[x509.Certificate] = (),
) -> TimestampVerification:
    """Check that ``token`` covers ``signature`` and that its TSA signed it.

    The TSA's certificate is looked up in the token and then in ``certificates`` (a
    token made without ``certReq`` carries none).
    """
    if token is None:
        if required:
            return _timestamp_failed(f"the {whose} has no timestamp")
        return TimestampVerification(
            SealCheck(Step.TIMESTAMP, True, f"the {whose} has no timestamp (none required)")
        )
    try:
        content = cms.ContentInfo.load(token, strict=True)
        if content["content_type"].native != "signed_data":
            raise ValueError("it is not CMS SignedData")
        signed = content["content"]
        encapsulated = signed["encap_content_info"]
        if encapsulated["content_type"].native != "tst_info":
            raise ValueError("it does not hold a TSTInfo")
        tst_info = bytes(encapsulated["content"])
        info = encapsulated["content"].parsed
        imprint = info["message_imprint"]
        expected = imprint["hashed_message"].native
        gen_time: datetime = info["gen_time"].native
        actual = digest(imprint["hash_algorithm"]["algorithm"].native, signature)
    except (SealBridgeError, *ASN1_ERRORS) as exc:
        return _timestamp_failed(f"the {whose}'s timestamp is not a readable token: {exc}")
    if actual != expected:
        return _timestamp_failed(f"the {whose}'s timestamp is for another signature value")
    try:
        tsa = _tsa_signature(signed, tst_info, certificates)
    except (SealBridgeError, *ASN1_ERRORS) as exc:
        return _timestamp_failed(f"the {whose}'s timestamp: {exc}")
    who = tsa.subject.human_friendly
    return TimestampVerification(
        SealCheck(
            Step.TIMESTAMP,
            True,
            f"the {whose}'s signature value was timestamped at {gen_time.isoformat()} "
            f"by {who}, whose signature verifies",
        ),
        gen_time,
        tsa,
    )


def _timestamp_failed(detail: str) -> TimestampVerification:
    return TimestampVerification(SealCheck(Step.TIMESTAMP, False, detail))


def _tsa_signature(
    signed: cms.SignedData, tst_info: bytes, extra: Sequence[x509.Certificate]
) -> x509.Certificate:
    """The TSA certificate whose key signed the token; raise saying why there is none.

    RFC 3161 tokens always sign attributes (content type, message digest, the ESS
    signing certificate), so the signature is over those and they bind the TSTInfo.
    """
    infos = signed["signer_infos"]
    if len(infos) != 1:
        raise SignatureInvalid(f"it has {len(infos)} signers, not the TSA alone")
    signer = infos[0]
    carried = [c.chosen for c in signed["certificates"] or () if c.name == "certificate"]
    certificate = _certificate_for(signer["sid"], [*carried, *extra])
    if certificate is None:
        raise SignatureInvalid("the TSA's certificate is neither in the token nor known")
    attributes = signer["signed_attrs"]
    if not attributes:
        raise SignatureInvalid("the TSA signed no attributes, so nothing binds the TSTInfo")
    values = {a["type"].native: a["values"] for a in attributes}
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if "content_type" not in values or values["content_type"][0].native != "tst_info":
        raise SignatureInvalid("the signed content type is not TSTInfo")
    if "message_digest" not in values or (
        values["message_digest"][0].native != digest(digest_name, tst_info)
    ):
        raise SignatureInvalid("the TSA's signed message digest does not match the TSTInfo")
    value = bytes(signer["signature"].native)
    if sm2.is_sm2_key(certificate.public_key):
        value = _sm2_der_signature(value)
    # RFC 5652 §5.4: the signature covers the attributes encoded as a SET, not as [0].
    covered = b"\x31" + attributes.dump()[1:]
    verify_signature(certificate.public_key, _cms_algorithm(signer, digest_name), covered, value)
    usage = certificate.extended_key_usage_value
    if usage is None or "time_stamping" not in usage.native:
        raise SignatureInvalid(
            f"{certificate.subject.human_friendly} is not a TSA certificate (no timeStamping)"
        )
    return certificate


def _certificate_for(
    sid: cms.SignerIdentifier, candidates: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    if sid.name == "subject_key_identifier":
        wanted = sid.chosen.native
        return next((c for c in candidates if c.key_identifier == wanted), None)
    issuer, serial = sid.chosen["issuer"], sid.chosen["serial_number"].native
    return next((c for c in candidates if c.issuer == issuer and c.serial_number == serial), None)


def _cms_algorithm(signer: cms.SignerInfo, digest_name: str) -> algos.SignedDigestAlgorithm:
    # CMS allows naming only the key's algorithm (rsaEncryption, ecPublicKey-style
    # ecdsa) and leaving the hash to digestAlgorithm; verify_signature wants both.
    algorithm: algos.SignedDigestAlgorithm = signer["signature_algorithm"]
    name = algorithm["algorithm"].native
    if name == "rsassa_pkcs1v15":
        return signature_algorithm(f"{digest_name}_rsa")
    if name == "ecdsa":
        return signature_algorithm(f"{digest_name}_ecdsa")
    return algorithm


def data_hash_check(stamp: StampView, document: bytes) -> SealCheck:
    try:
        hash_name = hash_of_signature_algorithm(signature_algorithm(stamp.signature_algorithm))
        actual = digest(hash_name, document)
    except SealBridgeError as exc:
        return SealCheck(Step.DATA_HASH, False, str(exc))
    if actual == stamp.data_hash:
        return SealCheck(Step.DATA_HASH, True, f"the document's {hash_name} matches dataHash")
    return SealCheck(
        Step.DATA_HASH, False, f"the document's {hash_name} differs from the stamp's dataHash"
    )
