"""Seals and stamps in the eyes of a jurisdiction: the seven steps of GB/T 38540.

``seals.verify`` proves what the bytes alone can. This adds what needs a trust view: the
maker's and the signer's certificates chained to a federation CA and asked about
revocation, the timestamp's TSA trusted as proof of time, the maker's seal status list,
and recognition per jurisdiction under the e-seal scope. Every step is one line of the
report, so a failure names its step; the indication follows ETSI EN 319 102-1, and
recognition is decided on the maker's path by ``TrustView``, as for PDF seals.

Times: a bare seal is judged at ``at`` (default now), the moment the relying party asks
about. A stamp is judged at its signing time: the time of a timestamp whose TSA chains
to the federation, else the time the signer wrote, which proves nothing on its own
(see ``Moment``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import x509

from sealbridge.seals.decode import decode_seal, decode_stamp
from sealbridge.seals.model import SealView, StampView
from sealbridge.seals.status import SealStatusList, status_check
from sealbridge.seals.verify import (
    SealCheck,
    Step,
    TimestampVerification,
    data_hash_check,
    maker_signature_check,
    signer_bound_check,
    signer_signature_check,
    validity_check,
    verify_timestamp,
)
from sealbridge.trust.model import Scope
from sealbridge.trust.view import Federation
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
    indeterminate,
    passed,
    revocation_finding,
    verdict,
)

MAKER_CHAIN = "maker-chain"
MAKER_REVOCATION = "maker-revocation"
SIGNER_CHAIN = "signer-chain"
SIGNER_REVOCATION = "signer-revocation"
MAKER = "seal maker certificate"
SIGNER = "signer certificate"


@dataclass(frozen=True)
class _Verified:
    """What the report needs from either kind of object once its steps are done."""

    kind: SignatureKind
    id: str
    signer: str
    signing_time: datetime | None
    findings: tuple[Finding, ...]
    path: tuple[x509.Certificate, ...]
    recognised_at: datetime
    what: str


def verify_seal_file(
    data: bytes,
    name: str,
    federation: Federation,
    jurisdictions: Sequence[str],
    *,
    at: datetime | None = None,
    status_lists: Sequence[SealStatusList] = (),
    revocation: RevocationSource | None = None,
) -> ValidationReport:
    """A bare seal (an ``.esl`` file) as it stands at ``at``: default now, naive is UTC.

    ``status_lists`` are taken as given (load them with ``load_status_list``); without
    a ``revocation`` source the maker's revocation stays unknown, so the seal cannot
    pass. Raises ``MalformedInput`` when ``data`` is no seal.
    """
    validated = _aware(at)
    seal = decode_seal(data)
    anchors = federation.all_certificates()
    moment = Moment(validated, proven=True, validation=validated, label="check time")
    chain = build_chain(seal.maker_certificate, anchors, moment, step=MAKER_CHAIN, who=MAKER)
    timestamp, _ = _timestamp(
        verify_timestamp(seal.timestamp, seal.signature, "seal", certificates=anchors),
        anchors,
        validated,
    )
    findings = (
        passed(Step.PARSE, f"{seal.standard} seal, version {seal.version}"),
        _finding(maker_signature_check(seal), "SIG_CRYPTO_FAILURE"),
        chain.finding,
        revocation_finding(chain, revocation, moment, step=MAKER_REVOCATION, who=MAKER),
        _seal_validity(seal, moment),
        timestamp,
        _finding(status_check(status_lists, seal, moment.at), "REVOKED"),
    )
    verified = _Verified(
        kind=SignatureKind.SEAL,
        id=seal.es_id,
        signer=f"{seal.name} ({seal.es_id})",
        signing_time=seal.created,
        findings=findings,
        path=chain.path,
        recognised_at=validated,
        what="seal",
    )
    return _report(data, name, validated, verified, federation, jurisdictions)


def verify_stamp_file(
    data: bytes,
    name: str,
    federation: Federation,
    jurisdictions: Sequence[str],
    *,
    document: bytes | None = None,
    at: datetime | None = None,
    status_lists: Sequence[SealStatusList] = (),
    revocation: RevocationSource | None = None,
) -> ValidationReport:
    """A bare stamp (SES_Signature, an OFD ``SignedValue.dat``), validated at ``at``.

    ``document`` is what the stamp's dataHash covers (for OFD, Signature.xml's bytes);
    without it that step stays open (INDETERMINATE/SIGNED_DATA_NOT_FOUND). ``at`` is
    the validation time, default now. Raises ``MalformedInput`` when ``data`` is no stamp.
    """
    validated = _aware(at)
    stamp = decode_stamp(data)
    seal = stamp.seal
    anchors = federation.all_certificates()
    timestamp, proof = _timestamp(
        verify_timestamp(stamp.timestamp, stamp.signature, "stamp", certificates=anchors),
        anchors,
        validated,
    )
    if proof is not None:
        moment = Moment(proof, proven=True, validation=validated, label="timestamp time")
    elif stamp.signing_time is not None:
        moment = Moment(stamp.signing_time, False, validated, "signing time")
    else:
        moment = Moment(validated, False, validated, "validation time")
    maker = build_chain(seal.maker_certificate, anchors, moment, step=MAKER_CHAIN, who=MAKER)
    signer = build_chain(stamp.signer_certificate, anchors, moment, step=SIGNER_CHAIN, who=SIGNER)
    readable = proof is not None or stamp.signing_time is not None
    findings = (
        passed(Step.PARSE, f"{seal.standard} stamp, version {stamp.version}"),
        _finding(signer_signature_check(stamp), "SIG_CRYPTO_FAILURE"),
        _finding(signer_bound_check(seal, stamp.signer_certificate), "SIG_CONSTRAINTS_FAILURE"),
        _finding(maker_signature_check(seal), "SIG_CRYPTO_FAILURE"),
        maker.finding,
        revocation_finding(maker, revocation, moment, step=MAKER_REVOCATION, who=MAKER),
        _seal_validity(seal, moment if readable else None),
        signer.finding,
        revocation_finding(signer, revocation, moment, step=SIGNER_REVOCATION, who=SIGNER),
        timestamp,
        _finding(status_check(status_lists, seal, moment.at), "REVOKED"),
        _data_hash(stamp, document),
    )
    subject = stamp.signer_certificate.subject
    who = str(subject.native.get("common_name") or subject.human_friendly)
    verified = _Verified(
        kind=SignatureKind.OFD_SEAL,
        id=f"{seal.es_id}/stamp",
        signer=f"{who} with {seal.name} ({seal.es_id})",
        signing_time=moment.at if readable else None,
        findings=findings,
        path=maker.path,
        recognised_at=moment.at,
        what="stamp",
    )
    return _report(data, name, validated, verified, federation, jurisdictions)


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _finding(check: SealCheck, sub_indication: str) -> Finding:
    """A check of the bytes: when it fails, nothing later can mend it (TOTAL-FAILED)."""
    if check.passed:
        return Finding(check)
    return Finding(check, Indication.TOTAL_FAILED, sub_indication)


def _timestamp(
    result: TimestampVerification, anchors: Sequence[x509.Certificate], validated: datetime
) -> tuple[Finding, datetime | None]:
    """The timestamp step, and its time when a TSA the federation knows vouches for it."""
    check = result.check
    if not check.passed:
        return Finding(check, Indication.TOTAL_FAILED, "HASH_FAILURE"), None
    if result.time is None or result.tsa_certificate is None:
        return Finding(check), None
    moment = Moment(result.time, proven=True, validation=validated, label="timestamp time")
    tsa = build_chain(
        result.tsa_certificate, anchors, moment, step=Step.TIMESTAMP, who="TSA certificate"
    )
    if tsa.finding.check.passed:
        trusted = passed(check.step, f"{check.detail}; its TSA is trusted, so this time counts")
        return trusted, result.time
    detail = f"{check.detail}; its time proves nothing here: {tsa.finding.check.detail}"
    return passed(check.step, detail), None


def _seal_validity(seal: SealView, moment: Moment | None) -> Finding:
    if moment is None:
        return _finding(validity_check(seal, None, "signing time"), "FORMAT_FAILURE")
    check = validity_check(seal, moment.at, moment.label)
    if check.passed:
        return Finding(check)
    if moment.at < seal.valid_from:
        return Finding(check, Indication.TOTAL_FAILED, "NOT_YET_VALID")
    if moment.proven:
        return Finding(check, Indication.TOTAL_FAILED, "EXPIRED")
    return Finding(check, Indication.INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")


def _data_hash(stamp: StampView, document: bytes | None) -> Finding:
    if document is None:
        return indeterminate(
            Step.DATA_HASH,
            "not checked: the stamped document was not given",
            "SIGNED_DATA_NOT_FOUND",
        )
    return _finding(data_hash_check(stamp, document), "HASH_FAILURE")


def _report(
    data: bytes,
    name: str,
    validated: datetime,
    verified: _Verified,
    federation: Federation,
    jurisdictions: Sequence[str],
) -> ValidationReport:
    indication, sub, worst = verdict(verified.findings)
    step = worst.check.step if worst is not None else "?"
    recognition = recognition_by_jurisdiction(
        federation,
        jurisdictions,
        path=verified.path,
        at=verified.recognised_at,
        scope=Scope.E_SEAL,
        outcome=(indication, sub),
        failed=f"the {verified.what} is TOTAL-FAILED/{sub} at {step}",
        unchained=Recognition(
            False, "the seal maker chains to no service on a federation trust list"
        ),
        what=f"the {verified.what}",
    )
    report = SignatureReport(
        id=verified.id,
        kind=verified.kind,
        signer=verified.signer,
        signing_time=verified.signing_time,
        indication=indication,
        sub_indication=sub,
        modified_after_signing=False,
        chain=tuple(c.subject.human_friendly for c in verified.path),
        details=tuple(f.line for f in verified.findings),
        recognition=recognition,
    )
    return ValidationReport(
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        validated_at=validated,
        signatures=(report,),
    )
