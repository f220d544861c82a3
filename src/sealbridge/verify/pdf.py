"""PAdES verification: each signature's bytes, value, chain and timestamp
(``verify.pades_status``), what happened to the file afterwards (``verify.changes``),
ETSI indications per check, and recognition per jurisdiction.

Each signature is validated once against the whole federation's anchors; recognition in
each jurisdiction is then decided from the validated path by ``TrustView``. pyHanko
reads the file and pyhanko-certvalidator validates certificate paths; the CMS checks are
ours, so RSA, ECDSA and SM2 meet the same ones. Later revisions are judged by
``verify.changes`` (each revision walked once per file, so the cost grows with the
number of signatures, not its square), not by pyHanko's difference analysis, which
re-reads every revision for every signature and misses appended bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from sealbridge.documents.pdf.reader import OpenedPdf, open_pdf
from sealbridge.documents.pdf.signature_fields import UnlistedSignature
from sealbridge.errors import MalformedInput
from sealbridge.trust.view import Federation
from sealbridge.verify import pades_checks
from sealbridge.verify.chain import (
    CertificatePool,
    ChainOutcome,
    Runner,
    Usage,
    online_context,
    run_to_completion,
    validate_chain,
)
from sealbridge.verify.changes import ChangePolicy
from sealbridge.verify.changes.analyse import StructureCache
from sealbridge.verify.collector import collection_paused
from sealbridge.verify.later import (
    NOTHING_LATER,
    LaterRevisions,
    later_revisions,
    later_revisions_after,
)
from sealbridge.verify.outcome import signature_report, unverifiable_report
from sealbridge.verify.pades_status import (
    CADES,
    FormatFailure,
    check_pdf_signature,
    is_national,
    unsupported_reason,
)
from sealbridge.verify.prefixes import FilePrefixes
from sealbridge.verify.report.model import (
    SignatureKind,
    SignatureReport,
    ValidationReport,
)


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
        self, dss: DssContent | None, *, embedded_only: bool = False
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

    def make(dss: DssContent | None, *, embedded_only: bool = False) -> ValidationContext:
        return online_context(
            anchors,
            fetch=fetch and not embedded_only,
            at=at,
            others=dss.certificates if dss else (),
            ocsps=dss.ocsps if dss else (),
            crls=dss.crls if dss else (),
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
    password: str | None = None,
    changes: ChangePolicy | None = None,
) -> ValidationReport:
    """Every signature of ``data``, RSA, ECDSA and SM2 alike, and those in formats not
    checked here as undecided; revocation data is the document's own and what
    ``context`` allows fetching. Files whose cross-reference data is broken are read
    through ``documents.pdf.reader``, which repairs only what no signature covers or
    what the bytes leave no doubt about; the repairs are listed in the report's notes.
    """
    # Objects are parsed as they are read (not all up front, which cost a third of a
    # one-signature verification); a hostile nesting met on the way is a typed error.
    options = _Options(context, attachment_verifier, changes or ChangePolicy())
    try:
        with collection_paused():
            return _verify_file(data, name, federation, jurisdictions, password, options)
    except RecursionError as exc:
        raise MalformedInput("PDF", "objects are nested too deeply to read") from exc


def _verify_file(
    data: bytes,
    name: str,
    federation: Federation,
    jurisdictions: Sequence[str],
    password: str | None,
    options: _Options,
) -> ValidationReport:
    """The file opened, verified and let go before the collector is back: what dies
    with this call is freed as it dies, and the collector then meets little more than
    the report (objects still held when it resumed cost it a traversal each, 4-7% of a
    verification)."""
    opened = open_pdf(data, password=password, scan=False)
    try:
        return _verify_all(data, name, federation, jurisdictions, opened, options)
    finally:
        opened.release_objects()


@dataclass(frozen=True)
class _Options:
    context: ContextFactory | None
    attachment_verifier: AttachmentVerifier | None
    changes: ChangePolicy


def _verify_all(
    data: bytes,
    name: str,
    federation: Federation,
    jurisdictions: Sequence[str],
    opened: OpenedPdf,
    options: _Options,
) -> ValidationReport:
    dss = DssContent.read(opened.reader)
    chains = _Chains(
        options.context or federation_context(federation),
        dss,
        run_to_completion,
        federation.all_certificates(),
    )
    try:
        document = _Document(data, opened, dss, chains, FilePrefixes(data))
        reports = _reports(document, federation, jurisdictions, options)
    finally:
        chains.close()
    return ValidationReport(
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        validated_at=datetime.now(UTC),
        signatures=tuple(reports),
        notes=tuple(f"repaired: {repair}" for repair in opened.repairs),
    )


@dataclass(frozen=True)
class _Document:
    data: bytes
    opened: OpenedPdf
    dss: DssContent | None
    chains: _Chains
    prefixes: FilePrefixes


def _reports(
    document: _Document, federation: Federation, jurisdictions: Sequence[str], options: _Options
) -> list[SignatureReport]:
    data, dss = document.data, document.dss
    reader, entries = document.opened.reader, document.opened.entries
    structures: StructureCache = {}
    reports: list[SignatureReport] = []
    last_doc_ts = max((i for i, s in enumerate(entries) if _is_doc_timestamp(s)), default=-1)
    for index, entry in enumerate(entries):
        if isinstance(entry, UnlistedSignature):
            after = (
                later_revisions_after(data, reader, entry.signed_end, options.changes, structures)
                if entry.signed_end is not None
                else NOTHING_LATER
            )
            reports.append(_unlisted_report(entry, index, jurisdictions, after))
            continue
        later = later_revisions(data, entry, options.changes, structures)
        report = _verify_one(entry, index, federation, jurisdictions, document, later)
        if report.kind is SignatureKind.PADES and report.level == "B-T" and dss is not None:
            report = replace(report, level="B-LTA" if last_doc_ts > index else "B-LT")
        reports.append(report)
        # Seals are looked for beside every signature, whatever its kind: a Shenzhen
        # firm's seal goes with its SM2 signature as with an ECDSA or adbe.pkcs7 one.
        signer = report.kind is not SignatureKind.DOC_TIMESTAMP
        if options.attachment_verifier is not None and signer:
            reports.extend(options.attachment_verifier(reader, entry, report))
    return reports


def _is_doc_timestamp(entry: EmbeddedPdfSignature | UnlistedSignature) -> bool:
    """A document timestamp that can prove the time of what it covers: one that is listed."""
    return isinstance(entry, EmbeddedPdfSignature) and entry.sig_object_type == "/DocTimeStamp"


class _Chains:
    """Validates paths with the document's own data first (B-LT and up: what long-term
    validation is for, and what still holds when the responders are gone), and asks the
    responders only when that does not suffice.

    One file's signatures share its two contexts, so a CA certificate or revocation
    response checked for one signer is not checked again for the next.
    """

    def __init__(
        self,
        make: ContextFactory,
        dss: DssContent | None,
        run: Runner,
        anchors: Sequence[x509.Certificate],
    ) -> None:
        self._make = make
        self._dss = dss
        self._run = run
        self._contexts: dict[bool, ValidationContext] = {}
        # Where a certificate a CMS names but does not carry may be (a TSA asked
        # without certReq): the document's DSS, then the trust lists.
        self.known = (*(dss.certificates if dss else ()), *anchors)
        self._pool = CertificatePool(self.known)

    def close(self) -> None:
        """Ends the responders' HTTP sessions the contexts opened."""
        for context in self._contexts.values():
            self._run(context.aclose())

    def _context(self, embedded_only: bool) -> ValidationContext:
        if embedded_only not in self._contexts:
            self._contexts[embedded_only] = self._make(self._dss, embedded_only=embedded_only)
        return self._contexts[embedded_only]

    def __call__(
        self, certificate: x509.Certificate, others: Iterable[x509.Certificate], usage: Usage
    ) -> ChainOutcome:
        others = tuple(others)
        if self._dss is not None:
            outcome = validate_chain(
                certificate, others, usage, self._context(True), self._run, self._pool
            )
            if outcome.valid:
                return outcome
        return validate_chain(
            certificate, others, usage, self._context(False), self._run, self._pool
        )


def _verify_one(
    sig: EmbeddedPdfSignature,
    index: int,
    federation: Federation,
    jurisdictions: Sequence[str],
    document: _Document,
    later: LaterRevisions,
) -> SignatureReport:
    declared = sig.sig_object.get("/SubFilter")
    kind = _kind(sig.sig_object_type == "/DocTimeStamp", declared == f"/{CADES}", is_national(sig))
    # A plain str: pyHanko's string objects keep a reference to the whole document,
    # which made every report a worker sent back carry the PDF with it.
    sig_id = str(sig.field_name) if sig.field_name else f"signature-{index + 1}"
    try:
        chains = document.chains
        status = check_pdf_signature(sig, chains, chains.known, document.prefixes)
    except MalformedInput as exc:
        return unverifiable_report(sig_id, kind, exc, jurisdictions, later)
    checks = pades_checks.status_checks(status) + list(later.checks)
    return signature_report(sig_id, kind, status, checks, federation, jurisdictions, later)


def _unlisted_report(
    entry: UnlistedSignature, index: int, jurisdictions: Sequence[str], later: LaterRevisions
) -> SignatureReport:
    """A signature pyHanko does not list: nothing in it can be checked, which leaves it
    undecided (EN 319 102-1's INDETERMINATE / FORMAT_FAILURE: a signature the
    verification cannot process), never passed and never dropped from the report; what
    the file gained after its byte range is still reported."""
    reason = entry.problem or unsupported_reason(entry.subfilter)
    sig_id = entry.field_name or f"signature-{index + 1}"
    kind = _kind(entry.timestamp, entry.subfilter == CADES, national=False)
    return unverifiable_report(
        sig_id, kind, FormatFailure("PDF signature", reason), jurisdictions, later
    )


def _kind(timestamp: bool, declares_pades: bool, national: bool) -> SignatureKind:
    """PAdES is what declares ETSI.CAdES.detached (EN 319 142-1), save SM2 with SM3,
    which is outside the PAdES baseline's algorithms; adbe.pkcs7.detached and the legacy
    formats are plain CMS. What it declares, not what it is, so that a signature failing
    PAdES's format rules is reported as the PAdES signature it claims to be."""
    if timestamp:
        return SignatureKind.DOC_TIMESTAMP
    return SignatureKind.PADES if declares_pades and not national else SignatureKind.CMS
