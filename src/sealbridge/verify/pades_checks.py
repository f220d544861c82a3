"""One PDF signature's checks, each tied to what it found (ETSI EN 319 102-1 terms).

``verify.pades_status`` answers "is it what its /SubFilter says, is it intact, is the
value valid, is there a trusted path, is the timestamp good"; the change analysis
answers "what happened to the file afterwards". This module turns both into ``Check``
values, so the report says every check made and a validation policy can weigh the ones
tied to a ``Constraint`` (missing revocation data, an expired certificate, a missing
timestamp, later changes) without parsing prose.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import x509
from pyhanko.sign.validation.status import SignatureCoverageLevel

from sealbridge.seals.decode import ASN1_ERRORS
from sealbridge.verify.chain import EXPIRED, MISSING_REVOCATION, NO_CHAIN, ChainOutcome
from sealbridge.verify.changes import ChangeAnalysis, Verdict
from sealbridge.verify.pades_status import Conformance, SignatureStatus
from sealbridge.verify.report.model import Check, Constraint, Indication

_PASSED = Indication.TOTAL_PASSED
_FAILED = Indication.TOTAL_FAILED
_OPEN = Indication.INDETERMINATE


def status_checks(status: SignatureStatus, *, in_pdf: bool = True) -> list[Check]:
    """Integrity, value, coverage (of a PDF's byte range), format (what its /SubFilter
    declares), chain (with revocation) and timestamp, in that order: a broken hash or
    value names the verdict before a format failure does."""
    integrity = status.integrity
    conformance = status.conformance
    checks = [
        _check(
            "integrity",
            integrity.intact,
            "the signed bytes match the digest",
            f"the signed bytes do not match: {integrity.detail}",
            "HASH_FAILURE",
        ),
        _check(
            "signature-value",
            integrity.valid,
            "the signature value is valid",
            f"the signature is invalid: {integrity.detail}",
            "SIG_CRYPTO_FAILURE",
        ),
        *([_coverage(status.coverage)] if in_pdf else []),
        *([] if conformance is None else [_format(conformance)]),
        _chain(status.chain),
    ]
    if not status.document_timestamp:
        checks.append(_timestamp(status))
    return checks


def change_checks(analysis: ChangeAnalysis) -> list[Check]:
    """Later revisions: not allowed fails, suspicious (permitted but visible) warns."""
    worst = analysis.verdict
    if worst is Verdict.NOT_ALLOWED:
        return [
            Check(
                "modification",
                _FAILED,
                "SIG_CONSTRAINTS_FAILURE",
                analysis.summary,
                Constraint.MODIFIED_AFTER_SIGNING,
            )
        ]
    if worst is Verdict.SUSPICIOUS:
        return [
            Check("modification", _PASSED, None, analysis.summary, Constraint.SUSPICIOUS_CHANGES)
        ]
    if analysis.later_revisions:
        return [Check("modification", _PASSED, None, analysis.summary, Constraint.UNSIGNED_CHANGES)]
    return [Check("modification", _PASSED, None, analysis.summary)]


def locked_fields_changed(names: Sequence[str]) -> Check:
    """FieldMDP: the signer locked these fields, and a later revision changed them."""
    return Check(
        "field-lock",
        _FAILED,
        "SIG_CONSTRAINTS_FAILURE",
        f"field(s) {', '.join(names)} locked by this signature changed after signing",
        Constraint.MODIFIED_AFTER_SIGNING,
    )


def unanalysable(reason: str) -> Check:
    """Nothing can be said about later revisions: the signature cannot pass."""
    return Check("modification", _OPEN, "FORMAT_FAILURE", f"later revisions unreadable: {reason}")


def verdict(checks: Sequence[Check]) -> tuple[Indication, str | None]:
    """The worst indication over all checks, named by its first occurrence."""
    for level in (_FAILED, _OPEN):
        first = next((c for c in checks if c.indication is level), None)
        if first is not None:
            return level, first.sub_indication
    return _PASSED, None


def line(check: Check) -> str:
    """The report line, in the same ``step: ok/FAILED — detail [IND/SUB]`` form as seals."""
    if check.indication is _PASSED:
        return f"{check.name}: ok — {check.detail}"
    return (
        f"{check.name}: FAILED — {check.detail} [{check.indication.value}/{check.sub_indication}]"
    )


def public_key_label(certificate: x509.Certificate) -> str:
    """``rsa-2048``, ``ec-secp256r1``, ``sm2``: what the weak-algorithm constraint reads
    (``unreadable`` for a key that cannot be parsed, whose signature failed anyway)."""
    try:
        key = certificate.public_key
        algorithm = key.algorithm
        if algorithm == "rsa":
            return f"rsa-{key.bit_size}"
        if algorithm == "ec":
            curve = key.curve[1]
            return "sm2" if curve == "sm2p256v1" else f"ec-{curve}"
        return str(algorithm)
    except ASN1_ERRORS:
        return "unreadable"


def _check(name: str, ok: bool, good: str, bad: str, sub: str) -> Check:
    return Check(name, _PASSED, None, good) if ok else Check(name, _FAILED, sub, bad)


def _format(conformance: Conformance) -> Check:
    """EN 319 102-1 5.2.2: a signature that is not what it declares fails format checking."""
    detail = conformance.detail
    return _check("format", conformance.conforms, detail, detail, "FORMAT_FAILURE")


def unsupported_format(reason: str) -> Check:
    """A format not checked here: nothing was found wrong, and nothing was verified."""
    return Check("format", _OPEN, "FORMAT_FAILURE", reason)


def _coverage(coverage: SignatureCoverageLevel | None) -> Check:
    if coverage in (SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION):
        return Check("coverage", _PASSED, None, "the byte range covers its whole revision")
    return Check(
        "coverage", _FAILED, "FORMAT_FAILURE", "the byte range does not cover its revision"
    )


def _chain(chain: ChainOutcome) -> Check:
    revoked = chain.revoked
    if revoked is not None:
        who = "a CA certificate in the chain" if revoked.ca else "the signer's certificate"
        return Check(
            "chain",
            _FAILED,
            "REVOKED",
            f"{who} was revoked at {revoked.date.isoformat()} ({revoked.reason})",
        )
    if chain.valid:
        return Check("chain", _PASSED, None, "the chain to a trusted anchor is valid")
    if chain.path is None:
        if chain.problem is None:
            return Check("chain", _OPEN, NO_CHAIN, f"the chain was {chain.detail}")
        return Check("chain", _OPEN, chain.problem, f"no chain to a trusted anchor: {chain.detail}")
    if chain.problem == EXPIRED:
        return Check(
            "chain",
            _OPEN,
            EXPIRED,
            "a certificate in the chain had expired and nothing proves an earlier signing time",
            Constraint.SIGNING_CERTIFICATE_EXPIRED,
        )
    if chain.problem == MISSING_REVOCATION:
        return Check(
            "revocation",
            _OPEN,
            MISSING_REVOCATION,
            "no revocation data for the chain, in the file or from its responders",
            Constraint.REVOCATION_DATA_MISSING,
        )
    return Check(
        "chain",
        _OPEN,
        chain.problem,
        f"a chain to a trusted anchor was found but does not validate: {chain.detail}",
    )


def _timestamp(status: SignatureStatus) -> Check:
    stamp = status.timestamp
    if stamp is None:
        conformance = status.conformance
        level = " (PAdES B-B)" if conformance is None or conformance.pades else ""
        return Check(
            "timestamp",
            _PASSED,
            None,
            f"no signature timestamp{level}: the signing time is the signer's claim",
            Constraint.TIMESTAMP_MISSING,
        )
    if not stamp.identified:
        return Check(
            "timestamp",
            _PASSED,
            None,
            f"the signature timestamp proves no signing time: {stamp.integrity.detail}",
            Constraint.TIMESTAMP_MISSING,
        )
    if not (stamp.integrity.intact and stamp.integrity.valid):
        return Check(
            "timestamp",
            _FAILED,
            "HASH_FAILURE",
            f"the signature timestamp is invalid: {stamp.integrity.detail}",
        )
    if not stamp.proves_time or stamp.time is None:
        # ETSI EN 319 102-1: an unusable timestamp proves nothing, but breaks nothing.
        return Check(
            "timestamp",
            _PASSED,
            None,
            "the signature timestamp's TSA cannot be validated: it proves no signing time",
            Constraint.TIMESTAMP_MISSING,
        )
    return Check(
        "timestamp", _PASSED, None, f"timestamped at {stamp.time.isoformat()} by a trusted TSA"
    )
