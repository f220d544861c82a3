"""One signature's report entry from what was found: the verdict over its checks, its
best signature time, and its recognition in each jurisdiction.

A PDF signature, a document timestamp and a detached CMS file end the same way once
their checks are made; this is that ending, in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sealbridge.errors import MalformedInput
from sealbridge.trust.model import Scope
from sealbridge.trust.view import Federation
from sealbridge.verify import pades_checks
from sealbridge.verify.cades import SignerCertificateMissing
from sealbridge.verify.chain import NO_CHAIN
from sealbridge.verify.later import NOTHING_LATER, LaterRevisions
from sealbridge.verify.pades_status import FormatFailure, SignatureStatus
from sealbridge.verify.recognition import recognition_by_jurisdiction
from sealbridge.verify.report.model import (
    Check,
    Indication,
    Recognition,
    SignatureKind,
    SignatureReport,
)


def signature_report(
    sig_id: str,
    kind: SignatureKind,
    status: SignatureStatus,
    checks: Sequence[Check],
    federation: Federation,
    jurisdictions: Sequence[str],
    later: LaterRevisions = NOTHING_LATER,
) -> SignatureReport:
    """The entry for a signature whose ``checks`` (status checks, then any others) are
    made; document timestamps are not recognised, they only prove time."""
    indication, sub = pades_checks.verdict(checks)
    when = status.best_signature_time
    path = list(status.chain.path or ())
    level = None
    # The PAdES levels are a PAdES signature's (or a detached CAdES one's), not those of
    # an adbe.pkcs7.detached signature or of one that is not what it declares.
    conformance = status.conformance
    if not status.document_timestamp and (conformance is None or conformance.pades):
        level = "B-T" if status.timestamp is not None else "B-B"
    worst = next((c for c in checks if c.indication is indication), None)
    recognition = {}
    if kind is not SignatureKind.DOC_TIMESTAMP:
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
                if sub == NO_CHAIN
                else Recognition(None, f"chain could not be validated: {sub}")
            ),
            what="signature",
        )
    return SignatureReport(
        id=sig_id,
        kind=kind,
        signer=_signer_name(status),
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
        digest_algorithm=status.digest_algorithm,
        public_key=pades_checks.public_key_label(status.signer),
    )


def unverifiable_report(
    sig_id: str,
    kind: SignatureKind,
    problem: MalformedInput,
    jurisdictions: Sequence[str],
    later: LaterRevisions = NOTHING_LATER,
) -> SignatureReport:
    """A signature whose CMS cannot be checked at all. EN 319 102-1: a signer
    certificate that cannot be found leaves it undecided; a CMS that cannot be read
    fails it. A signature that cannot be processed in its format leaves it undecided
    too, with the check that says so. What ``later`` found after it is in the changes
    and the details either way."""
    missing = isinstance(problem, SignerCertificateMissing)
    unsupported = isinstance(problem, FormatFailure)
    undecided = missing or unsupported
    return SignatureReport(
        id=sig_id,
        kind=kind,
        signer="unknown",
        signing_time=None,
        indication=Indication.INDETERMINATE if undecided else Indication.TOTAL_FAILED,
        sub_indication="NO_SIGNING_CERTIFICATE_FOUND" if missing else "FORMAT_FAILURE",
        modified_after_signing=later.modified,
        changes=later.lines,
        # What the file gained afterwards is known even when the signature is not: said
        # as an observation, without an indication of its own.
        details=(
            f"cannot validate: {problem.reason}",
            *(f"{check.name}: {check.detail}" for check in later.checks),
        ),
        recognition={
            j: Recognition(None if undecided else False, "signature cannot be validated")
            for j in jurisdictions
        },
        checks=(pades_checks.unsupported_format(problem.reason),) if unsupported else (),
    )


def _signer_name(status: SignatureStatus) -> str:
    try:
        subject = status.signer.subject
        return str(subject.native.get("common_name") or subject.human_friendly)
    except (ValueError, KeyError, AttributeError):
        return "unknown"
