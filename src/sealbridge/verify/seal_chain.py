"""The certificates behind a seal or a stamp: chained to the federation, valid, not revoked.

Seals carry no intermediate certificates, and trust lists name the issuing CAs
themselves (DOMAIN.md: "the root and issuing CA certificates"), so a path here is the
certificate and the listed CA whose key signed it; a certificate that is itself listed
(a seal maker's, say) is an anchor of its own, and its issuer is still looked for so
that its revocation can be asked about. Each step's outcome is a ``Finding``: the line
for the report and the ETSI EN 319 102-1 indication it stands for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509

from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import SealBridgeError
from sealbridge.seals.verify import SealCheck
from sealbridge.verify.report.model import Indication
from sealbridge.verify.revocation import RevocationSource, RevocationState

NO_CHAIN = "NO_CERTIFICATE_CHAIN_FOUND"
_SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation"})


@dataclass(frozen=True)
class Finding:
    """One verification step: its check, and the indication it leads to if it failed."""

    check: SealCheck
    indication: Indication = Indication.TOTAL_PASSED
    sub_indication: str | None = None

    @property
    def line(self) -> str:
        """The report line: ``step: ok/FAILED — detail``, a failure with its indication."""
        check = self.check
        if check.passed:
            return f"{check.step}: ok — {check.detail}"
        return (
            f"{check.step}: FAILED — {check.detail} [{self.indication.value}/{self.sub_indication}]"
        )


def passed(step: str, detail: str) -> Finding:
    return Finding(SealCheck(step, True, detail))


def failed(step: str, detail: str, sub_indication: str) -> Finding:
    return Finding(SealCheck(step, False, detail), Indication.TOTAL_FAILED, sub_indication)


def indeterminate(step: str, detail: str, sub_indication: str) -> Finding:
    return Finding(SealCheck(step, False, detail), Indication.INDETERMINATE, sub_indication)


def verdict(findings: Iterable[Finding]) -> tuple[Indication, str | None, Finding | None]:
    """The overall indication: any TOTAL-FAILED, else any INDETERMINATE, first one named."""
    listed = list(findings)
    for level in (Indication.TOTAL_FAILED, Indication.INDETERMINATE):
        first = next((f for f in listed if not f.check.passed and f.indication is level), None)
        if first is not None:
            return level, first.sub_indication, first
    return Indication.TOTAL_PASSED, None, None


@dataclass(frozen=True)
class Moment:
    """The time a certificate must hold at, and whether that time is proven.

    ``at`` is proven when a trusted timestamp vouches for it, or when it is the very
    time a relying party asks about (a bare seal "at" some time). A stamp's own signing
    time is only claimed by its signer, so a certificate expired at it, or expired by
    ``validation``, is OUT_OF_BOUNDS_NO_POE rather than EXPIRED, and one revoked after
    it is REVOKED_NO_POE rather than good (ETSI EN 319 102-1's "no proof of existence").
    """

    at: datetime
    proven: bool
    validation: datetime
    label: str


@dataclass(frozen=True)
class Chain:
    """``path`` runs anchor first, certificate last; empty when no usable anchor was found."""

    finding: Finding
    path: tuple[x509.Certificate, ...]


def build_chain(
    certificate: x509.Certificate,
    anchors: Sequence[x509.Certificate],
    moment: Moment,
    *,
    step: str,
    who: str,
) -> Chain:
    """Chain ``certificate`` to a federation certificate and check the path at ``moment``."""
    own_listing = any(anchor.dump() == certificate.dump() for anchor in anchors)
    issuer, problem, sub = _issuer(certificate, anchors, who)
    if issuer is None and not own_listing:
        if sub == NO_CHAIN:
            return Chain(indeterminate(step, f"no trusted anchor: {problem}", sub), ())
        return Chain(indeterminate(step, problem, sub), ())
    path = (certificate,) if issuer is None else (issuer, certificate)
    usage = certificate.key_usage_value
    if usage is not None and not _SIGNING_USAGES & set(usage.native):
        detail = f"the {who}'s key usage ({', '.join(sorted(usage.native))}) is not for signing"
        return Chain(indeterminate(step, detail, "CHAIN_CONSTRAINTS_FAILURE"), path)
    roles = (f"the {who}", f"the issuer of the {who}")
    for member, role in zip(reversed(path), roles[: len(path)], strict=True):
        outside = _validity(member, moment, step, role)
        if outside is not None:
            return Chain(outside, path)
    subject = certificate.subject.human_friendly
    if issuer is None:
        detail = f"the {who} ({subject}) is itself on a federation trust list"
    else:
        detail = f"the {who} ({subject}) was issued by {issuer.subject.human_friendly}"
        detail += "; both are listed" if own_listing else ", which is listed"
    return Chain(
        passed(step, f"{detail}; valid at the {moment.label} {moment.at.isoformat()}"), path
    )


def revocation_finding(
    chain: Chain,
    source: RevocationSource | None,
    moment: Moment,
    *,
    step: str,
    who: str,
) -> Finding:
    """Whether the certificate at the end of ``chain`` was revoked at ``moment``."""
    if not chain.path:
        return indeterminate(step, f"not checked: the {who} chains to no trusted anchor", NO_CHAIN)
    if len(chain.path) == 1:
        return passed(
            step,
            f"the {who} is itself a trust anchor; its trust-list status stands for revocation",
        )
    issuer, certificate = chain.path
    if not certificate.ocsp_urls and not certificate.crl_distribution_points:
        # As pyHanko treats PDF signers: a certificate that names no revocation service
        # has none to ask; its issuer's listing is what stands for it.
        return passed(step, f"the {who} names no revocation service; none applies")
    if source is None:
        return indeterminate(step, f"not checked: no revocation source for the {who}", "TRY_LATER")
    try:
        status = source.status(certificate, issuer, moment.at)
    except SealBridgeError as exc:
        return indeterminate(step, f"the {who}'s status is unknown: {exc}", "TRY_LATER")
    serial = f"the {who} (serial {certificate.serial_number:x})"
    if status.state is RevocationState.GOOD:
        return passed(step, f"{serial} is good per {status.source}")
    if status.state is RevocationState.UNKNOWN or status.revoked_at is None:
        return indeterminate(step, f"{serial} has unknown status: {status.source}", "TRY_LATER")
    revoked = f"{serial} was revoked at {status.revoked_at.isoformat()} ({status.reason})"
    when = f"the {moment.label} {moment.at.isoformat()}"
    if status.revoked_at <= moment.at:
        return failed(step, f"{revoked}, before {when}, per {status.source}", "REVOKED")
    if moment.proven:
        return passed(step, f"{revoked}, after {when}, per {status.source}")
    return indeterminate(
        step,
        f"{revoked}, after {when}, but nothing proves the signature is older than that",
        "REVOKED_NO_POE",
    )


def _issuer(
    certificate: x509.Certificate, anchors: Sequence[x509.Certificate], who: str
) -> tuple[x509.Certificate | None, str, str]:
    """The listed CA whose key signed ``certificate``, else why none (and its sub-indication)."""
    issuer_name = certificate.issuer.human_friendly
    if certificate.self_issued:
        return None, f"the {who} is self-issued and not listed", NO_CHAIN
    named = [
        a for a in anchors if a.subject == certificate.issuer and a.dump() != certificate.dump()
    ]
    if not named:
        return (
            None,
            f"{issuer_name}, which issued the {who}, is on no federation trust list",
            NO_CHAIN,
        )
    for candidate in named:
        try:
            verify_signature(
                candidate.public_key,
                certificate["signature_algorithm"],
                certificate["tbs_certificate"].dump(),
                bytes(certificate["signature_value"]),
            )
        except SealBridgeError:
            continue
        usage = candidate.key_usage_value
        if not candidate.ca or (usage is not None and "key_cert_sign" not in usage.native):
            detail = f"{issuer_name} signed the {who} but is not a CA allowed to sign certificates"
            return None, detail, "CHAIN_CONSTRAINTS_FAILURE"
        return candidate, "", ""
    detail = f"the {who} names {issuer_name} as issuer, but no listed key of that name signed it"
    return None, detail, NO_CHAIN


def _validity(
    certificate: x509.Certificate, moment: Moment, step: str, role: str
) -> Finding | None:
    start, end = certificate.not_valid_before, certificate.not_valid_after
    when = f"the {moment.label} {moment.at.isoformat()}"
    window = f"valid {start.isoformat()} to {end.isoformat()}"
    if moment.at < start:
        return failed(step, f"{role} is not yet valid at {when} ({window})", "NOT_YET_VALID")
    if moment.at > end:
        if moment.proven:
            return failed(step, f"{role} had expired at {when} ({window})", "EXPIRED")
        return indeterminate(
            step,
            f"{role} had expired at {when} ({window}), and no timestamp proves an earlier time",
            "OUT_OF_BOUNDS_NO_POE",
        )
    if not moment.proven and moment.validation > end:
        return indeterminate(
            step,
            f"{role} expired at {end.isoformat()}, before this validation, and no timestamp "
            f"proves the signature was made while it was valid",
            "OUT_OF_BOUNDS_NO_POE",
        )
    return None
