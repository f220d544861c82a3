"""PAdES verification: pyHanko checks each signature; SealBridge adds ETSI indications,
the modification verdict and recognition per jurisdiction.

Each signature is validated once against the whole federation's anchors; recognition in
each jurisdiction is then decided from the validated path by ``TrustView``.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import (
    DocumentTimestampStatus,
    PdfSignatureStatus,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import ValidationContext

from sealbridge.errors import MalformedInput
from sealbridge.trust.model import Scope
from sealbridge.trust.view import Federation
from sealbridge.verify.cms import is_national, verify_pdf_cms
from sealbridge.verify.report.model import (
    Indication,
    Recognition,
    SignatureKind,
    SignatureReport,
    ValidationReport,
)
from sealbridge.verify.revocation import OcspRevocationSource, RevocationSource

# Makes a fresh validation context, seeded with the document's DSS when it has one.
ContextFactory = Callable[[DocumentSecurityStore | None], ValidationContext]

# Signatures on attached seals are checked by a plug-in so the PDF path stays one idea.
AttachmentVerifier = Callable[
    [PdfFileReader, EmbeddedPdfSignature, SignatureReport], Sequence[SignatureReport]
]


def federation_context(federation: Federation, *, fetch: bool = True) -> ContextFactory:
    """Validation contexts trusting every service on every federation trust list.

    Validation data embedded in the document (its DSS) is used first, so B-LT and B-LTA
    files verify offline; with ``fetch`` the responders named in certificates are asked
    too (soft-fail: unreachable responders leave revocation open, never crash).
    """
    anchors = federation.all_certificates()

    def make(dss: DocumentSecurityStore | None) -> ValidationContext:
        if dss is not None:
            return dss.as_validation_context(
                {"trust_roots": anchors, "allow_fetching": fetch, "revocation_mode": "hard-fail"}
            )
        return ValidationContext(
            trust_roots=anchors,
            allow_fetching=fetch,
            revocation_mode="hard-fail",
            ocsps=[],
            crls=[],
        )

    return make


def verify_pdf(
    data: bytes,
    name: str,
    federation: Federation,
    jurisdictions: Sequence[str],
    *,
    context: ContextFactory | None = None,
    attachment_verifier: AttachmentVerifier | None = None,
    revocation: RevocationSource | None = None,
) -> ValidationReport:
    """Every signature of ``data``; SM2 ones, which pyHanko cannot check, by ``verify.cms``.

    ``revocation`` answers for those SM2 signatures (default: the OCSP responders their
    certificates name); pyHanko's own path fetches what ``context`` allows.
    """
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise MalformedInput("PDF", str(exc) or type(exc).__name__) from exc
    make_context = context or federation_context(federation)
    has_dss = "/DSS" in reader.root
    try:
        dss = DocumentSecurityStore.read_dss(reader) if has_dss else None
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise MalformedInput("PDF", f"unreadable document security store: {exc}") from exc
    reports: list[SignatureReport] = []
    last_doc_ts = max(
        (i for i, s in enumerate(embedded) if s.sig_object_type == "/DocTimeStamp"), default=-1
    )
    for index, sig in enumerate(embedded):
        if is_national(sig):
            report = verify_pdf_cms(
                sig,
                index,
                federation,
                jurisdictions,
                revocation=revocation if revocation is not None else OcspRevocationSource(),
            )
        else:
            report = _verify_one(sig, index, federation, jurisdictions, lambda: make_context(dss))
        if report.kind is SignatureKind.PADES and report.level == "B-T" and has_dss:
            report = _with_level(report, "B-LTA" if last_doc_ts > index else "B-LT")
        reports.append(report)
        if attachment_verifier is not None and report.kind is SignatureKind.PADES:
            reports.extend(attachment_verifier(reader, sig, report))
    return ValidationReport(
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        validated_at=datetime.now(UTC),
        signatures=tuple(reports),
    )


def _verify_one(
    sig: EmbeddedPdfSignature,
    index: int,
    federation: Federation,
    jurisdictions: Sequence[str],
    make_context: Callable[[], ValidationContext],
) -> SignatureReport:
    is_doc_ts = sig.sig_object_type == "/DocTimeStamp"
    kind = SignatureKind.DOC_TIMESTAMP if is_doc_ts else SignatureKind.PADES
    sig_id = sig.field_name or f"signature-{index + 1}"
    try:
        subject = sig.signer_cert.subject
        signer = str(subject.native.get("common_name") or subject.human_friendly)
    except (ValueError, KeyError, AttributeError):
        signer = "unknown"
    try:
        status: PdfSignatureStatus | DocumentTimestampStatus
        if is_doc_ts:
            status = validate_pdf_timestamp(sig, validation_context=make_context())
        else:
            status = validate_pdf_signature(
                sig,
                signer_validation_context=make_context(),
                ts_validation_context=make_context(),
            )
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        return SignatureReport(
            id=sig_id,
            kind=kind,
            signer=signer,
            signing_time=None,
            indication=Indication.TOTAL_FAILED,
            sub_indication="FORMAT_FAILURE",
            modified_after_signing=False,
            details=(f"cannot validate: {exc}",),
            recognition={
                j: Recognition(False, "signature cannot be validated") for j in jurisdictions
            },
        )
    indication, sub, details = _indication(status)
    modified, changes = _modifications(status)
    if modified and indication is Indication.TOTAL_PASSED:
        indication, sub = Indication.TOTAL_FAILED, "SIG_CONSTRAINTS_FAILURE"
    when = _best_signature_time(status)
    path: list[x509.Certificate] = (
        list(status.validation_path.iter_certs(include_root=True))
        if status.validation_path is not None
        else []
    )
    level = None
    if isinstance(status, PdfSignatureStatus):
        level = "B-T" if status.timestamp_validity is not None else "B-B"
    recognition = {}
    if kind is SignatureKind.PADES:
        for j in jurisdictions:
            recognition[j] = _recognise(
                federation, j, when, (indication, sub, details), path, Scope.E_SIGNATURE
            )
    return SignatureReport(
        id=sig_id,
        kind=kind,
        signer=signer,
        signing_time=when,
        indication=indication,
        sub_indication=sub,
        modified_after_signing=modified,
        changes=changes,
        level=level,
        chain=tuple(c.subject.human_friendly for c in path),
        details=details,
        recognition=recognition,
    )


def _indication(
    status: PdfSignatureStatus | DocumentTimestampStatus,
) -> tuple[Indication, str | None, tuple[str, ...]]:
    if not status.intact:
        return Indication.TOTAL_FAILED, "HASH_FAILURE", ("signed bytes do not match the digest",)
    if not status.valid:
        return Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE", ("signature value is invalid",)
    if status.revocation_details is not None:
        rev = status.revocation_details
        who = "a CA certificate in the chain" if rev.ca_revoked else "the signer's certificate"
        return (
            Indication.TOTAL_FAILED,
            "REVOKED",
            (
                f"{who} was revoked at {rev.revocation_date.isoformat()} "
                f"({rev.revocation_reason.native})",
            ),
        )
    if status.trust_problem_indic is not None or status.validation_path is None:
        problem = status.trust_problem_indic
        sub = str(problem.standard_name) if problem else "NO_CERTIFICATE_CHAIN_FOUND"
        if status.validation_path is None:
            return Indication.INDETERMINATE, sub, ("no chain to a trusted anchor",)
        return (
            Indication.INDETERMINATE,
            sub,
            ("chain to a trusted anchor found, but not validated (e.g. revocation unknown)",),
        )
    coverage = status.coverage
    if coverage not in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION):
        return (
            Indication.TOTAL_FAILED,
            "FORMAT_FAILURE",
            ("byte range does not cover the revision",),
        )
    if isinstance(status, PdfSignatureStatus) and status.timestamp_validity is not None:
        ts = status.timestamp_validity
        if not (ts.intact and ts.valid):
            return Indication.TOTAL_FAILED, "HASH_FAILURE", ("signature timestamp is invalid",)
    return Indication.TOTAL_PASSED, None, ()


def _modifications(
    status: PdfSignatureStatus | DocumentTimestampStatus,
) -> tuple[bool, tuple[str, ...]]:
    level = status.modification_level
    changes: list[str] = []
    if level is not None and level is not ModificationLevel.NONE:
        changes.append(f"later revisions: {level.name.lower().replace('_', ' ')}")
    modified = level is ModificationLevel.OTHER or status.docmdp_ok is False
    if status.docmdp_ok is False:
        changes.append("later revisions exceed the certification (DocMDP) permissions")
    return modified, tuple(changes)


def _best_signature_time(status: PdfSignatureStatus | DocumentTimestampStatus) -> datetime | None:
    if isinstance(status, DocumentTimestampStatus):
        return status.timestamp
    if status.timestamp_validity is not None and status.timestamp_validity.valid:
        return status.timestamp_validity.timestamp
    return status.signer_reported_dt


def _recognise(
    federation: Federation,
    jurisdiction: str,
    when: datetime | None,
    outcome: tuple[Indication, str | None, tuple[str, ...]],
    path: Sequence[x509.Certificate],
    scope: Scope,
) -> Recognition:
    indication, sub, details = outcome
    if indication is Indication.TOTAL_FAILED:
        reason = f": {details[0]}" if details else ""
        return Recognition(False, f"signature is {indication.value}/{sub}{reason}")
    if not path:
        if sub == "NO_CERTIFICATE_CHAIN_FOUND":
            return Recognition(False, "no chain to any service on a federation trust list")
        return Recognition(None, f"chain could not be validated: {sub}")
    view = federation.view(jurisdiction, when or datetime.now(UTC), scope)
    decision = view.decide(path)
    if decision.recognised and indication is Indication.INDETERMINATE:
        return Recognition(None, f"{decision.rule}, but signature is INDETERMINATE/{sub}")
    return Recognition(decision.recognised, decision.rule)


def _with_level(report: SignatureReport, level: str) -> SignatureReport:
    return replace(report, level=level)
