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
from datetime import UTC, datetime

from asn1crypto import cms, x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel

from sealbridge.errors import MalformedInput
from sealbridge.seals.decode import ASN1_ERRORS
from sealbridge.seals.verify import verify_timestamp
from sealbridge.trust.model import Scope
from sealbridge.trust.view import Federation
from sealbridge.verify.cades import (
    Integrity,
    SignedCms,
    SignerCertificateMissing,
    check_integrity,
    digest_of,
    read_signed_data,
    signature_timestamp,
    signing_time,
)
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
    except SignerCertificateMissing as exc:
        finding = indeterminate("signer-certificate", exc.reason, "NO_SIGNING_CERTIFICATE_FOUND")
        return _report(
            sig_id,
            kind,
            "unknown",
            claimed,
            (*before, finding),
            (),
            federation,
            jurisdictions,
            None,
        )
    except MalformedInput as exc:
        finding = failed("parse", str(exc), "FORMAT_FAILURE")
        return _report(
            sig_id, kind, "unknown", None, (*before, finding), (), federation, jurisdictions, None
        )
    findings: list[Finding] = [*before, passed("parse", _describe(signed))]
    certificate = signed.signer
    subject = certificate.subject
    signer = str(subject.native.get("common_name") or subject.human_friendly)
    findings += [
        _integrity(check_integrity(signed, digest_of(content), "data")),
        _signing_certificate(signed),
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


def _load(container: bytes) -> cms.ContentInfo:
    try:
        info = cms.ContentInfo.load(container)
        if info["content_type"].native != "signed_data":
            raise MalformedInput("CMS signature", "it is not SignedData")
        return info
    except ASN1_ERRORS as exc:
        raise MalformedInput("CMS signature", str(exc) or type(exc).__name__) from exc


def _parse(container: bytes) -> SignedCms:
    """One signer over detached content, with signed attributes (CAdES requires them)."""
    signed = read_signed_data(_load(container), "CMS signature")
    try:
        attached = signed.signed_data["encap_content_info"]["content"].native is not None
        has_attributes = bool(signed.info["signed_attrs"])
    except ASN1_ERRORS as exc:
        raise MalformedInput("CMS signature", str(exc) or type(exc).__name__) from exc
    if attached:
        raise MalformedInput("CMS signature", "content is attached, not detached")
    if not has_attributes:
        raise MalformedInput("CMS signature", "no signed attributes")
    if signed.digest_algorithm not in _DIGESTS:
        raise MalformedInput(
            "CMS signature", f"digest algorithm {signed.digest_algorithm} not allowed"
        )
    return signed


def _describe(signed: SignedCms) -> str:
    algorithm = signed.info["signature_algorithm"]["algorithm"].native
    return f"CMS SignedData, one signer, {signed.digest_algorithm} with {algorithm}"


def _integrity(integrity: Integrity) -> Finding:
    """``verify.cades``'s checks (content type, digest, RFC 6211, value, ESS) as one step."""
    if not integrity.intact:
        return failed("message-digest", integrity.detail, "HASH_FAILURE")
    if not integrity.valid:
        return failed("signature", integrity.detail, "SIG_CRYPTO_FAILURE")
    return passed("signature", integrity.detail)


def _signing_certificate(signed: SignedCms) -> Finding:
    """CAdES requires the ESS signing-certificate-v2 attribute; ``check_integrity`` has
    checked that, when present, it names the signer."""
    step = "signing-certificate"
    values = signed.signed_attribute("signing_certificate_v2")
    if len(values) != 1:
        return indeterminate(
            step, "no signing-certificate-v2 attribute", "NO_SIGNING_CERTIFICATE_FOUND"
        )
    try:
        algorithm = values[0]["values"][0]["certs"][0]["hash_algorithm"]["algorithm"].native
    except ASN1_ERRORS as exc:
        return indeterminate(
            step, f"unreadable signing-certificate-v2: {exc}", "NO_SIGNING_CERTIFICATE_FOUND"
        )
    return passed(step, f"signing-certificate-v2 ({algorithm}) names the signer's certificate")


def _signing_time_attribute(signed: SignedCms) -> datetime | None:
    try:
        return signing_time(signed)
    except MalformedInput:
        return None


def _timestamp(
    signed: SignedCms, anchors: Sequence[x509.Certificate], validated: datetime
) -> tuple[Finding, datetime | None]:
    """The signature timestamp, and its time when a TSA the federation lists vouches."""
    try:
        token = signature_timestamp(signed)
    except MalformedInput as exc:
        return failed("timestamp", exc.reason, "HASH_FAILURE"), None
    result = verify_timestamp(token, signed.signature, "signature", certificates=anchors)
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
