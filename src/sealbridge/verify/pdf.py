"""PAdES verification: pyHanko checks each signature's bytes, value, chain and timestamp;
SealBridge adds what happened to the file afterwards, ETSI indications per check, and
recognition per jurisdiction.

Each signature is validated once against the whole federation's anchors; recognition in
each jurisdiction is then decided from the validated path by ``TrustView``. Later
revisions are judged by ``verify.changes`` (each revision walked once per file, so the
cost grows with the number of signatures, not its square), not by pyHanko's difference
analysis, which re-reads every revision for every signature and misses appended bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import DocumentTimestampStatus, PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from sealbridge.documents.pdf.reader import OpenedPdf, open_pdf
from sealbridge.errors import MalformedInput
from sealbridge.trust.model import Scope
from sealbridge.trust.view import Federation
from sealbridge.verify import pades_checks
from sealbridge.verify.changes import ChangePolicy, analyse_after
from sealbridge.verify.changes.analyse import StructureCache
from sealbridge.verify.cms import is_national, verify_pdf_cms
from sealbridge.verify.field_locks import changed_locked_fields
from sealbridge.verify.recognition import recognition_by_jurisdiction
from sealbridge.verify.report.model import (
    Check,
    Indication,
    Recognition,
    SignatureKind,
    SignatureReport,
    ValidationReport,
)
from sealbridge.verify.revocation import OcspRevocationSource, RevocationSource


@dataclass(frozen=True)
class DssContent:
    """A document's DSS, parsed once per file and shared by every signature's context."""

    certificates: tuple[x509.Certificate, ...]
    ocsps: tuple[asn1_ocsp.OCSPResponse, ...]
    crls: tuple[asn1_crl.CertificateList, ...]

    @classmethod
    def read(cls, reader: PdfFileReader) -> DssContent | None:
        if "/DSS" not in reader.root:
            return None
        try:
            dss = DocumentSecurityStore.read_dss(reader)
            return cls(
                tuple(dss.load_certs()),
                tuple(asn1_ocsp.OCSPResponse.load(r.get_object().data) for r in dss.ocsps),
                tuple(asn1_crl.CertificateList.load(r.get_object().data) for r in dss.crls),
            )
        except (PdfError, ValueError, KeyError, TypeError) as exc:
            raise MalformedInput("PDF", f"unreadable document security store: {exc}") from exc


class ContextFactory(Protocol):
    """Makes a fresh validation context (pyHanko's cannot outlive an event loop)."""

    def __call__(
        self,
        dss: DssContent | None,
        *,
        revocation_mode: str = "hard-fail",
        embedded_only: bool = False,
    ) -> ValidationContext: ...


# Signatures on attached seals are checked by a plug-in so the PDF path stays one idea.
AttachmentVerifier = Callable[
    [PdfFileReader, EmbeddedPdfSignature, SignatureReport], Sequence[SignatureReport]
]


def federation_context(
    federation: Federation, *, fetch: bool = True, at: datetime | None = None
) -> ContextFactory:
    """Validation contexts trusting every service on every federation trust list.

    Validation data embedded in the document (its DSS) is used first, so B-LT and B-LTA
    files verify offline; with ``fetch`` the responders named in certificates are asked
    too, unless ``embedded_only`` asks for the document's own data alone. ``at``
    validates as of that time instead of now.
    """
    anchors = federation.all_certificates()

    def make(
        dss: DssContent | None,
        *,
        revocation_mode: str = "hard-fail",
        embedded_only: bool = False,
    ) -> ValidationContext:
        return ValidationContext(
            trust_roots=anchors,
            other_certs=list(dss.certificates) if dss else [],
            ocsps=list(dss.ocsps) if dss else [],
            crls=list(dss.crls) if dss else [],
            allow_fetching=fetch and not embedded_only,
            revocation_mode=revocation_mode,
            moment=at,
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
    password: str | None = None,
    changes: ChangePolicy | None = None,
) -> ValidationReport:
    """Every signature of ``data``; SM2 ones, which pyHanko cannot check, by ``verify.cms``.

    ``revocation`` answers for those SM2 signatures (default: the OCSP responders their
    certificates name); pyHanko's own path fetches what ``context`` allows. Files whose
    cross-reference data is broken are read through ``documents.pdf.reader``, which
    repairs only what no signature covers or what the bytes leave no doubt about; the
    repairs are listed in the report's notes.
    """
    # Objects are parsed as they are read (not all up front, which cost a third of a
    # one-signature verification); a hostile nesting met on the way is a typed error.
    try:
        return _verify_all(
            data,
            name,
            federation,
            jurisdictions,
            open_pdf(data, password=password, scan=False),
            _Options(context, attachment_verifier, revocation, changes or ChangePolicy()),
        )
    except RecursionError as exc:
        raise MalformedInput("PDF", "objects are nested too deeply to read") from exc


@dataclass(frozen=True)
class _Options:
    context: ContextFactory | None
    attachment_verifier: AttachmentVerifier | None
    revocation: RevocationSource | None
    changes: ChangePolicy


def _verify_all(
    data: bytes,
    name: str,
    federation: Federation,
    jurisdictions: Sequence[str],
    opened: OpenedPdf,
    options: _Options,
) -> ValidationReport:
    reader, embedded = opened.reader, list(opened.signatures)
    make_context = options.context or federation_context(federation)
    dss = DssContent.read(reader)
    structures: StructureCache = {}
    reports: list[SignatureReport] = []
    last_doc_ts = max(
        (i for i, s in enumerate(embedded) if s.sig_object_type == "/DocTimeStamp"), default=-1
    )
    revocation = options.revocation
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
            later = _later_changes(data, sig, options.changes, structures)
            report = _verify_one(
                sig, index, federation, jurisdictions, _Contexts(make_context, dss), later
            )
        if report.kind is SignatureKind.PADES and report.level == "B-T" and dss is not None:
            report = replace(report, level="B-LTA" if last_doc_ts > index else "B-LT")
        reports.append(report)
        if options.attachment_verifier is not None and report.kind is SignatureKind.PADES:
            reports.extend(options.attachment_verifier(reader, sig, report))
    return ValidationReport(
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        validated_at=datetime.now(UTC),
        signatures=tuple(reports),
        notes=tuple(f"repaired: {repair}" for repair in opened.repairs),
    )


@dataclass(frozen=True)
class _Contexts:
    make: ContextFactory
    dss: DssContent | None

    def strict(self) -> ValidationContext:
        return self.make(self.dss)

    def embedded(self) -> ValidationContext:
        """The document's own validation data (B-LT and up): what long-term validation is
        for, and what still holds when the responders are gone."""
        return self.make(self.dss, embedded_only=True)

    def tolerant(self) -> ValidationContext:
        """Missing revocation data tolerated: tells that cause apart from the others."""
        return self.make(self.dss, revocation_mode="soft-fail")


@dataclass(frozen=True)
class _Later:
    """What later revisions did, as checks, with the lines and flag the report shows."""

    checks: tuple[Check, ...]
    lines: tuple[str, ...]
    modified: bool


def _later_changes(
    data: bytes, sig: EmbeddedPdfSignature, policy: ChangePolicy, structures: StructureCache
) -> _Later:
    try:
        analysis = analyse_after(data, sig, policy=policy, structures=structures)
        locked = changed_locked_fields(sig.reader, sig)
    except MalformedInput as exc:
        check = pades_checks.unanalysable(exc.reason)
        return _Later((check,), (check.detail,), False)
    checks = pades_checks.change_checks(analysis)
    lines = analysis.lines
    if locked:
        lock = pades_checks.locked_fields_changed(locked)
        checks.append(lock)
        lines = (*lines, f"not allowed: {lock.detail}")
    return _Later(tuple(checks), lines, analysis.modified_after_signing or bool(locked))


def _verify_one(
    sig: EmbeddedPdfSignature,
    index: int,
    federation: Federation,
    jurisdictions: Sequence[str],
    contexts: _Contexts,
    later: _Later,
) -> SignatureReport:
    is_doc_ts = sig.sig_object_type == "/DocTimeStamp"
    kind = SignatureKind.DOC_TIMESTAMP if is_doc_ts else SignatureKind.PADES
    sig_id = sig.field_name or f"signature-{index + 1}"
    signer = _signer_name(sig)
    try:
        status = _validate_with_best_data(sig, contexts)
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        return SignatureReport(
            id=sig_id,
            kind=kind,
            signer=signer,
            signing_time=None,
            indication=Indication.TOTAL_FAILED,
            sub_indication="FORMAT_FAILURE",
            modified_after_signing=later.modified,
            changes=later.lines,
            details=(f"cannot validate: {exc}",),
            recognition={
                j: Recognition(False, "signature cannot be validated") for j in jurisdictions
            },
        )

    def revocation_only_problem() -> bool:
        tolerant = _validate(sig, contexts.tolerant)
        return tolerant.validation_path is not None and tolerant.trust_problem_indic is None

    checks = pades_checks.status_checks(status, revocation_only_problem=revocation_only_problem)
    checks += later.checks
    indication, sub = pades_checks.verdict(checks)
    when = _best_signature_time(status)
    path: list[x509.Certificate] = (
        list(status.validation_path.iter_certs(include_root=True))
        if status.validation_path is not None
        else []
    )
    level = None
    if isinstance(status, PdfSignatureStatus):
        level = "B-T" if status.timestamp_validity is not None else "B-B"
    worst = next((c for c in checks if c.indication is indication), None)
    recognition = {}
    if kind is SignatureKind.PADES:
        reason = f": {worst.detail}" if worst else ""
        recognition = recognition_by_jurisdiction(
            federation,
            jurisdictions,
            path=path,
            at=when or datetime.now(UTC),
            scope=Scope.E_SIGNATURE,
            outcome=(indication, sub),
            failed=f"signature is {indication.value}/{sub}{reason}",
            unchained=(
                Recognition(False, "no chain to any service on a federation trust list")
                if sub == "NO_CERTIFICATE_CHAIN_FOUND"
                else Recognition(None, f"chain could not be validated: {sub}")
            ),
            what="signature",
        )
    return SignatureReport(
        id=sig_id,
        kind=kind,
        signer=signer,
        signing_time=when,
        indication=indication,
        sub_indication=sub,
        modified_after_signing=later.modified,
        changes=later.lines,
        level=level,
        chain=tuple(c.subject.human_friendly for c in path),
        details=tuple(pades_checks.line(c) for c in checks),
        recognition=recognition,
        checks=tuple(checks),
        digest_algorithm=str(sig.md_algorithm),
        public_key=pades_checks.public_key_label(sig.signer_cert.public_key),
    )


def _validate_with_best_data(
    sig: EmbeddedPdfSignature, contexts: _Contexts
) -> PdfSignatureStatus | DocumentTimestampStatus:
    """The DSS alone first when there is one; the responders only if it does not suffice.

    With fetching on, a responder that is down made pyHanko give up on a chain the
    document's own OCSP responses prove good.
    """
    if contexts.dss is not None:
        status = _validate(sig, contexts.embedded)
        if status.validation_path is not None and status.trust_problem_indic is None:
            return status
    return _validate(sig, contexts.strict)


def _validate(
    sig: EmbeddedPdfSignature, make: Callable[[], ValidationContext]
) -> PdfSignatureStatus | DocumentTimestampStatus:
    """pyHanko's checks of the signature itself; later revisions are ``verify.changes``'s."""
    if sig.sig_object_type == "/DocTimeStamp":
        return validate_pdf_timestamp(sig, validation_context=make(), skip_diff=True)
    return validate_pdf_signature(
        sig,
        signer_validation_context=make(),
        ts_validation_context=make(),
        skip_diff=True,
    )


def _signer_name(sig: EmbeddedPdfSignature) -> str:
    try:
        subject = sig.signer_cert.subject
        return str(subject.native.get("common_name") or subject.human_friendly)
    except (ValueError, KeyError, AttributeError):
        return "unknown"


def _best_signature_time(status: PdfSignatureStatus | DocumentTimestampStatus) -> datetime | None:
    if isinstance(status, DocumentTimestampStatus):
        return status.timestamp
    if status.timestamp_validity is not None and status.timestamp_validity.valid:
        return status.timestamp_validity.timestamp
    return status.signer_reported_dt
