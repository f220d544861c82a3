"""Detached CMS signature files (``.p7s``) over given content, RSA, ECDSA or SM2.

The CMS itself meets ``verify.cades``'s checks, as a PDF signature does; CAdES also
requires the signing-certificate-v2 attribute. The certificate then chains to a
federation CA (``seal_chain.build_chain``, the steps a stamp's signer goes through) and
was not revoked; recognition is decided by ``TrustView`` under the e-signature scope.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from asn1crypto import cms, x509

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
from sealbridge.verify.recognition import recognition_by_jurisdiction
from sealbridge.verify.report.model import (
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
_DIGESTS = frozenset({"sha256", "sha384", "sha512", "sm3"})


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
        sig_id=name,
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
    sig_id: str,
) -> SignatureReport:
    try:
        signed = _parse(container)
    except SignerCertificateMissing as exc:
        finding = indeterminate("signer-certificate", exc.reason, "NO_SIGNING_CERTIFICATE_FOUND")
        return _report(sig_id, "unknown", None, (finding,), (), federation, jurisdictions, None)
    except MalformedInput as exc:
        finding = failed("parse", str(exc), "FORMAT_FAILURE")
        return _report(sig_id, "unknown", None, (finding,), (), federation, jurisdictions, None)
    findings: list[Finding] = [passed("parse", _describe(signed))]
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
    elif (claimed := _signing_time_attribute(signed)) is not None:
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
        kind=SignatureKind.CMS,
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


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)
