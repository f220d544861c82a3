"""CMS signatures checked by SealBridge itself: SM2 ones in PDFs, and detached CMS files.

pyHanko and pyhanko-certvalidator cannot check SM2 (``cryptography`` has no SM2), so a
PDF signature made with SM2 and SM3 is verified here, step by step, the way
``verify.seal`` verifies a stamp: the /ByteRange covers its revision, the message-digest
attribute is the SM3 digest of those bytes, the SM2 signature (Z_A with the default
signer ID) covers the signed attributes, signing-certificate-v2 names the certificate
that signed, the certificate chains to a federation CA (``seal_chain.build_chain``) and
was not revoked; recognition is then decided by ``TrustView`` under the e-signature
scope. The same steps serve a detached CMS file (``.p7s``) over given content with RSA,
ECDSA or SM2, so one report vocabulary covers both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms, x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from sealbridge.crypto.algorithms import digest, signature_algorithm
from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import MalformedInput, SealBridgeError
from sealbridge.seals.decode import ASN1_ERRORS
from sealbridge.seals.verify import verify_timestamp
from sealbridge.trust.model import Scope
from sealbridge.trust.view import Federation
from sealbridge.verify.later import LaterRevisions
from sealbridge.verify.pades_status import signed_ranges
from sealbridge.verify.recognition import recognition_by_jurisdiction
from sealbridge.verify.report.model import (
    Check,
    Indication,
    Recognition,
    SignatureKind,
    SignatureReport,
    ValidationReport,
)
from sealbridge.verify.revocation import RevocationSource
from sealbridge.verify.seal_chain import (
    Finding,
    Moment,
    build_chain,
    failed,
    indeterminate,
    passed,
    revocation_finding,
    verdict,
)

SIGNER = "signer certificate"
_NATIONAL = frozenset({"sm3", "sm2", "sm2_sm3"})
_DIGESTS = frozenset({"sha256", "sha384", "sha512", "sm3"})
_RSA_NAMES = frozenset({"rsa", "rsassa_pkcs1v15"})


def is_national(sig: EmbeddedPdfSignature) -> bool:
    """Whether a PDF signature uses SM2/SM3, which only this module can check."""
    try:
        info = sig.signer_info
        names = {
            info["digest_algorithm"]["algorithm"].native,
            info["signature_algorithm"]["algorithm"].native,
        }
    except ASN1_ERRORS:
        return False
    return bool(names & _NATIONAL)


@dataclass(frozen=True)
class _Signed:
    """The parts of a SignedData with one signer that the checks need."""

    info: cms.SignerInfo
    certificates: tuple[x509.Certificate, ...]
    digest_algorithm: str
    attributes: bytes
    signature: bytes


def verify_pdf_cms(
    sig: EmbeddedPdfSignature,
    index: int,
    federation: Federation,
    jurisdictions: Sequence[str],
    later: LaterRevisions,
    *,
    revocation: RevocationSource | None = None,
    at: datetime | None = None,
) -> SignatureReport:
    """One signature of a PDF (typically SM2), checked without pyHanko's crypto; what
    later revisions did is judged by ``verify.changes`` as for every other signature."""
    validated = _aware(at)
    # A plain str: pyHanko's string objects keep a reference to the whole document,
    # which made every report a worker sent back carry the PDF with it.
    sig_id = str(sig.field_name) if sig.field_name else f"signature-{index + 1}"
    coverage = _coverage(sig)
    ranges = signed_ranges(sig)
    claimed = _claimed_time(sig)
    extra = [coverage, *(_finding(check) for check in later.checks)]
    report = _verify(
        bytes(sig.pkcs7_content),  # zero padding after the DER is ignored when parsed
        ranges,
        federation,
        jurisdictions,
        revocation=revocation,
        validated=validated,
        claimed=claimed,
        kind=SignatureKind.CMS,
        sig_id=sig_id,
        before=tuple(extra),
    )
    return SignatureReport(
        id=report.id,
        kind=report.kind,
        signer=report.signer,
        signing_time=report.signing_time,
        indication=report.indication,
        sub_indication=report.sub_indication,
        modified_after_signing=later.modified,
        changes=later.lines,
        level=report.level,
        chain=report.chain,
        details=report.details,
        recognition=report.recognition,
    )


def verify_detached_cms(
    container: bytes,
    content: bytes,
    name: str,
    federation: Federation,
    jurisdictions: Sequence[str],
    *,
    revocation: RevocationSource | None = None,
    at: datetime | None = None,
) -> ValidationReport:
    """A detached CMS signature file over ``content`` (RSA, ECDSA or SM2).

    Raises ``MalformedInput`` when ``container`` is no CMS SignedData at all; anything
    wrong past that is a finding in the report.
    """
    validated = _aware(at)
    _load(container)
    report = _verify(
        container,
        (memoryview(content),),
        federation,
        jurisdictions,
        revocation=revocation,
        validated=validated,
        claimed=None,
        kind=SignatureKind.CMS,
        sig_id=name,
        before=(),
    )
    return ValidationReport(
        file=name,
        sha256=hashlib.sha256(container).hexdigest(),
        validated_at=validated,
        signatures=(report,),
    )


def _verify(
    container: bytes,
    content: Sequence[memoryview | bytes],
    federation: Federation,
    jurisdictions: Sequence[str],
    *,
    revocation: RevocationSource | None,
    validated: datetime,
    claimed: datetime | None,
    kind: SignatureKind,
    sig_id: str,
    before: tuple[Finding, ...],
) -> SignatureReport:
    try:
        signed = _parse(container)
    except MalformedInput as exc:
        finding = failed("parse", str(exc), "FORMAT_FAILURE")
        return _report(
            sig_id, kind, "unknown", None, (*before, finding), (), federation, jurisdictions, None
        )
    findings: list[Finding] = [*before, passed("parse", _describe(signed))]
    certificate = _signer_certificate(signed)
    if certificate is None:
        findings.append(
            indeterminate(
                "signer-certificate",
                "the SignerInfo names no certificate carried in the signature",
                "NO_SIGNING_CERTIFICATE_FOUND",
            )
        )
        return _report(
            sig_id, kind, "unknown", claimed, tuple(findings), (), federation, jurisdictions, None
        )
    subject = certificate.subject
    signer = str(subject.native.get("common_name") or subject.human_friendly)
    findings += [
        _content_type(signed),
        _message_digest(signed, content),
        _signature(signed, certificate),
        _signing_certificate(signed, certificate),
    ]
    anchors = federation.all_certificates()
    timestamp, proof = _timestamp(signed, anchors, validated)
    findings.append(timestamp)
    if proof is not None:
        moment = Moment(proof, True, validated, "timestamp time")
    elif claimed is not None or (claimed := _signing_time_attribute(signed)) is not None:
        moment = Moment(claimed, False, validated, "claimed signing time")
    else:
        moment = Moment(validated, False, validated, "validation time")
    chain = build_chain(certificate, anchors, moment, step="signer-chain", who=SIGNER)
    findings.append(chain.finding)
    findings.append(
        revocation_finding(chain, revocation, moment, step="signer-revocation", who=SIGNER)
    )
    level = "B-T" if proof is not None else "B-B"
    return _report(
        sig_id,
        kind,
        signer,
        moment.at,
        tuple(findings),
        chain.path,
        federation,
        jurisdictions,
        level,
    )


def _report(
    sig_id: str,
    kind: SignatureKind,
    signer: str,
    when: datetime | None,
    findings: tuple[Finding, ...],
    path: tuple[x509.Certificate, ...],
    federation: Federation,
    jurisdictions: Sequence[str],
    level: str | None,
) -> SignatureReport:
    indication, sub, worst = verdict(findings)
    step = worst.check.step if worst is not None else "?"
    recognition = recognition_by_jurisdiction(
        federation,
        jurisdictions,
        path=path,
        at=when or datetime.now(UTC),
        scope=Scope.E_SIGNATURE,
        outcome=(indication, sub),
        failed=f"the signature is TOTAL-FAILED/{sub} at {step}",
        unchained=Recognition(False, "no chain to any service on a federation trust list"),
        what="signature",
    )
    return SignatureReport(
        id=sig_id,
        kind=kind,
        signer=signer,
        signing_time=when,
        indication=indication,
        sub_indication=sub,
        modified_after_signing=False,
        level=level,
        chain=tuple(c.subject.human_friendly for c in path),
        details=tuple(f.line for f in findings),
        recognition=recognition,
    )


def _load(container: bytes) -> cms.SignedData:
    try:
        info = cms.ContentInfo.load(container)
        if info["content_type"].native != "signed_data":
            raise MalformedInput("CMS signature", "it is not SignedData")
        return info["content"]
    except ASN1_ERRORS as exc:
        raise MalformedInput("CMS signature", str(exc) or type(exc).__name__) from exc


def _parse(container: bytes) -> _Signed:
    signed_data = _load(container)
    try:
        infos = list(signed_data["signer_infos"])
        if len(infos) != 1:
            raise MalformedInput("CMS signature", f"{len(infos)} signers, expected exactly 1")
        if signed_data["encap_content_info"]["content"].native is not None:
            raise MalformedInput("CMS signature", "content is attached, not detached")
        info = infos[0]
        if not info["signed_attrs"]:
            raise MalformedInput("CMS signature", "no signed attributes")
        certificates = tuple(
            c.chosen for c in signed_data["certificates"] or () if c.name == "certificate"
        )
        digest_algorithm = info["digest_algorithm"]["algorithm"].native
        attributes = b"\x31" + info["signed_attrs"].dump()[1:]
        signature = bytes(info["signature"].native)
    except ASN1_ERRORS as exc:
        raise MalformedInput("CMS signature", str(exc) or type(exc).__name__) from exc
    if digest_algorithm not in _DIGESTS:
        raise MalformedInput("CMS signature", f"digest algorithm {digest_algorithm} not allowed")
    return _Signed(info, certificates, digest_algorithm, attributes, signature)


def _describe(signed: _Signed) -> str:
    algorithm = signed.info["signature_algorithm"]["algorithm"].native
    return f"CMS SignedData, one signer, {signed.digest_algorithm} with {algorithm}"


def _signer_certificate(signed: _Signed) -> x509.Certificate | None:
    sid = signed.info["sid"]
    for certificate in signed.certificates:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                certificate.serial_number == wanted["serial_number"].native
                and certificate.issuer == wanted["issuer"]
            ):
                return certificate
        elif certificate.key_identifier == sid.chosen.native:
            return certificate
    return None


def _attribute(signed: _Signed, name: str) -> list[object]:
    return [a["values"] for a in signed.info["signed_attrs"] if a["type"].native == name]


def _content_type(signed: _Signed) -> Finding:
    values = _attribute(signed, "content_type")
    if len(values) != 1:
        return failed("content-type", "no single content-type attribute", "FORMAT_FAILURE")
    value = values[0][0].native  # type: ignore[index]
    if value != "data":
        return failed(
            "content-type", f"signed content type is {value}, not id-data", "FORMAT_FAILURE"
        )
    return passed("content-type", "id-data")


def _message_digest(signed: _Signed, content: Sequence[memoryview | bytes]) -> Finding:
    values = _attribute(signed, "message_digest")
    if len(values) != 1:
        return failed("message-digest", "no single message-digest attribute", "FORMAT_FAILURE")
    expected = values[0][0].native  # type: ignore[index]
    hasher = hashlib.new(signed.digest_algorithm)
    for chunk in content:
        hasher.update(chunk)
    if hasher.digest() != expected:
        return failed(
            "message-digest",
            f"the {signed.digest_algorithm} digest of the signed bytes does not match",
            "HASH_FAILURE",
        )
    return passed("message-digest", f"{signed.digest_algorithm} digest of the signed bytes matches")


def _signature(signed: _Signed, certificate: x509.Certificate) -> Finding:
    algorithm = signed.info["signature_algorithm"]
    name = algorithm["algorithm"].native
    if name in _RSA_NAMES:
        algorithm = signature_algorithm(f"{signed.digest_algorithm}_rsa")
    elif name == "ecdsa":
        algorithm = signature_algorithm(f"{signed.digest_algorithm}_ecdsa")
    elif name in ("sm2", "sm2_sm3"):
        if signed.digest_algorithm != "sm3":
            return failed(
                "signature", f"SM2 with {signed.digest_algorithm}, not SM3", "SIG_CRYPTO_FAILURE"
            )
        algorithm = signature_algorithm("sm2_sm3")
    try:
        verify_signature(certificate.public_key, algorithm, signed.attributes, signed.signature)
    except SealBridgeError as exc:
        return failed("signature", f"over the signed attributes: {exc}", "SIG_CRYPTO_FAILURE")
    what = "SM2 (Z_A with the default signer ID)" if name in ("sm2", "sm2_sm3") else name
    return passed("signature", f"{what} signature over the signed attributes verifies")


def _signing_certificate(signed: _Signed, certificate: x509.Certificate) -> Finding:
    step = "signing-certificate"
    values = _attribute(signed, "signing_certificate_v2")
    if len(values) != 1:
        return indeterminate(
            step, "no signing-certificate-v2 attribute", "NO_SIGNING_CERTIFICATE_FOUND"
        )
    try:
        cert_id = values[0][0]["certs"][0]  # type: ignore[index]
        algorithm = cert_id["hash_algorithm"]["algorithm"].native
        matches = digest(algorithm, certificate.dump()) == cert_id["cert_hash"].native
        issuer_serial = cert_id["issuer_serial"]
        if matches and issuer_serial.native is not None:
            names = [n.chosen for n in issuer_serial["issuer"] if n.name == "directory_name"]
            matches = issuer_serial["serial_number"].native == certificate.serial_number and (
                not names or names[0] == certificate.issuer
            )
    except (SealBridgeError, *ASN1_ERRORS) as exc:
        return indeterminate(
            step, f"unreadable signing-certificate-v2: {exc}", "NO_SIGNING_CERTIFICATE_FOUND"
        )
    if not matches:
        return indeterminate(
            step,
            "signing-certificate-v2 names another certificate than the one that signed",
            "NO_SIGNING_CERTIFICATE_FOUND",
        )
    return passed(step, f"signing-certificate-v2 ({algorithm}) names the signer's certificate")


def _signing_time_attribute(signed: _Signed) -> datetime | None:
    values = _attribute(signed, "signing_time")
    if len(values) != 1:
        return None
    value: datetime = values[0][0].native  # type: ignore[index]
    return value


def _timestamp(
    signed: _Signed, anchors: Sequence[x509.Certificate], validated: datetime
) -> tuple[Finding, datetime | None]:
    """The signature timestamp, and its time when a TSA the federation lists vouches."""
    attributes = signed.info["unsigned_attrs"]
    tokens = [
        a["values"][0].dump()
        for a in (attributes if attributes.native is not None else ())
        if a["type"].native == "signature_time_stamp_token"
    ]
    result = verify_timestamp(
        tokens[0] if tokens else None, signed.signature, "signature", certificates=anchors
    )
    check = result.check
    if not check.passed:
        return Finding(check, Indication.TOTAL_FAILED, "HASH_FAILURE"), None
    if result.time is None or result.tsa_certificate is None:
        return Finding(check), None
    moment = Moment(result.time, True, validated, "timestamp time")
    tsa = build_chain(
        result.tsa_certificate, anchors, moment, step=check.step, who="TSA certificate"
    )
    if tsa.finding.check.passed:
        return passed(check.step, f"{check.detail}; its TSA is trusted"), result.time
    detail = f"{check.detail}; its time proves nothing here: {tsa.finding.check.detail}"
    return passed(check.step, detail), None


def _coverage(sig: EmbeddedPdfSignature) -> Finding:
    try:
        coverage = sig.evaluate_signature_coverage()
        # Kept on the signature, where pyHanko's modification analysis looks for it.
        sig.coverage = coverage  # type: ignore[assignment]  # pyHanko declares it None
    except (PdfError, *ASN1_ERRORS) as exc:
        return failed("coverage", f"byte range cannot be evaluated: {exc}", "FORMAT_FAILURE")
    if coverage is SignatureCoverageLevel.ENTIRE_FILE:
        return passed("coverage", "the byte range covers the whole file")
    if coverage is SignatureCoverageLevel.ENTIRE_REVISION:
        return passed("coverage", "the byte range covers the whole file up to its revision")
    level = coverage.name if coverage is not None else "unknown"
    return failed(
        "coverage",
        f"the byte range does not cover the revision ({level})",
        "FORMAT_FAILURE",
    )


def _claimed_time(sig: EmbeddedPdfSignature) -> datetime | None:
    try:
        return sig.self_reported_timestamp
    except (PdfError, *ASN1_ERRORS):
        return None


def _finding(check: Check) -> Finding:
    if check.indication is Indication.TOTAL_FAILED:
        return failed(check.name, check.detail, check.sub_indication or "SIG_CONSTRAINTS_FAILURE")
    if check.indication is Indication.INDETERMINATE:
        return indeterminate(check.name, check.detail, check.sub_indication or "FORMAT_FAILURE")
    return passed(check.name, check.detail)


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)
