"""The rules of a seal registry, without storage: lifecycle, grants, approvals, use.

A firm's seal may be applied only while it is in force and only by someone the firm has
authorised: a standing grant to use it, or a custodian's approval for one document. The
service layer loads the facts from its database and asks these functions; keeping the
rules here lets them be tested as a table and reused by any store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sealbridge.errors import MalformedInput, NotAuthorised, SealBridgeError

# Stamps carry SM3 or SHA-2 hashes of the document: 32, 48 or 64 bytes.
DOCUMENT_HASH_BYTES = frozenset({32, 48, 64})
_HEX = re.compile(r"[0-9a-f]+")


class IllegalTransition(SealBridgeError):
    """A seal, firm, grant or approval cannot move from its state to the one asked for."""


class SealState(StrEnum):
    """Where a seal is in its life; revoked and lapsed seals never come back."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    LAPSED = "lapsed"

    @property
    def final(self) -> bool:
        return self in (SealState.REVOKED, SealState.LAPSED)


_NEXT_STATES: dict[SealState, frozenset[SealState]] = {
    SealState.ACTIVE: frozenset({SealState.SUSPENDED, SealState.REVOKED, SealState.LAPSED}),
    SealState.SUSPENDED: frozenset({SealState.ACTIVE, SealState.REVOKED, SealState.LAPSED}),
    SealState.REVOKED: frozenset(),
    SealState.LAPSED: frozenset(),
}


def transition(current: SealState, target: SealState) -> SealState:
    """``target`` if a seal in ``current`` may move there; otherwise IllegalTransition."""
    if target not in _NEXT_STATES[current]:
        if current.final:
            raise IllegalTransition(f"the seal is {current.value}, which is final")
        raise IllegalTransition(f"a {current.value} seal cannot become {target.value}")
    return target


class FirmStatus(StrEnum):
    REGISTERED = "registered"
    DEREGISTERED = "deregistered"


@dataclass(frozen=True)
class FirmRecord:
    """A firm as the business register knows it; ``registration`` is its number there."""

    registration: str
    name: str
    legal_representative: str
    jurisdiction: str
    status: FirmStatus


class FirmEvent(StrEnum):
    """Changes in the business register after which a firm's seals no longer speak for it.

    Shenzhen ties seals to the business licence: a new name or legal representative
    means new seals, and a deregistered firm has none.
    """

    NAME_CHANGED = "name-changed"
    LEGAL_REPRESENTATIVE_CHANGED = "legal-representative-changed"
    DEREGISTERED = "deregistered"


@dataclass(frozen=True)
class FirmEventOutcome:
    status: FirmStatus
    lapsed: tuple[str, ...]


def apply_firm_event(
    status: FirmStatus, event: FirmEvent, seals: Mapping[str, SealState]
) -> FirmEventOutcome:
    """The firm's new status and the seals (by esID) the event lapses.

    Every event lapses every seal not already final; a deregistered firm has no events.
    """
    if status is FirmStatus.DEREGISTERED:
        raise IllegalTransition("the firm is deregistered; nothing more can happen to it")
    after = FirmStatus.DEREGISTERED if event is FirmEvent.DEREGISTERED else status
    return FirmEventOutcome(
        after, tuple(sorted(es_id for es_id, state in seals.items() if not state.final))
    )


@dataclass(frozen=True)
class SealRecord:
    """An issued seal as its registry knows it: the firm holding it and its state."""

    es_id: str
    firm: str
    type_code: int
    name: str
    state: SealState
    state_since: datetime
    valid_from: datetime
    valid_to: datetime
    der: bytes


class GrantRole(StrEnum):
    """What a grant lets its holder do with one seal.

    Custodians manage (grant, withdraw, approve one-off uses) but do not apply the seal
    on their own say-so: a custodian who stamps needs a user grant or an approval from
    another custodian, so no use rests on one person's word alone.
    """

    CUSTODIAN = "custodian"
    USER = "user"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class SealGrant:
    """A standing permission on one seal, bounded in time and, for users, in uses."""

    id: int
    es_id: str
    grantee: str
    role: GrantRole
    valid_from: datetime
    valid_until: datetime | None
    granted_by: str
    max_uses: int | None = None
    uses: int = 0
    withdrawn_at: datetime | None = None

    def __post_init__(self) -> None:
        start, end = _aware(self.valid_from, "grant start"), self.valid_until
        if end is not None and _aware(end, "grant end") <= start:
            raise MalformedInput("seal grant", "it must end after it starts")
        if self.max_uses is not None:
            if self.role is not GrantRole.USER:
                raise MalformedInput("seal grant", "a use limit applies to user grants only")
            if self.max_uses < 1:
                raise MalformedInput("seal grant", "the use limit must be at least 1")
        if self.uses < 0:
            raise MalformedInput("seal grant", "the use count cannot be negative")

    def in_force_at(self, at: datetime) -> bool:
        return (
            (self.withdrawn_at is None or at < self.withdrawn_at)
            and self.valid_from <= at
            and (self.valid_until is None or at < self.valid_until)
        )

    @property
    def exhausted(self) -> bool:
        return self.max_uses is not None and self.uses >= self.max_uses


@dataclass(frozen=True)
class SealUseApproval:
    """A custodian's consent for one person to apply a seal to one document, once."""

    id: int
    es_id: str
    requested_by: str
    document_hash: str
    requested_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    expires: datetime | None = None
    used_at: datetime | None = None

    @property
    def approved(self) -> bool:
        return self.approved_by is not None


@dataclass(frozen=True)
class SealUsage:
    """One application of a seal: who, when, to which document, on whose authority."""

    id: int
    es_id: str
    user: str
    at: datetime
    document_hash: str
    grant_id: int | None
    approval_id: int | None


def holding(
    grants: Iterable[SealGrant], user: str, role: GrantRole, at: datetime
) -> SealGrant | None:
    """A grant of ``role`` that ``user`` holds in force at ``at``, if any."""
    return next(
        (g for g in grants if g.grantee == user and g.role is role and g.in_force_at(at)), None
    )


class Refusal(StrEnum):
    """Why a use was refused, most specific first: the first that applies is reported."""

    SEAL_SUSPENDED = "seal-suspended"
    SEAL_REVOKED = "seal-revoked"
    SEAL_LAPSED = "seal-lapsed"
    SEAL_NOT_VALID = "seal-not-valid"
    APPROVAL_PENDING = "approval-pending"
    APPROVAL_EXPIRED = "approval-expired"
    APPROVAL_USED = "approval-used"
    USE_LIMIT_REACHED = "use-limit-reached"
    GRANT_EXPIRED = "grant-expired"
    GRANT_NOT_YET_VALID = "grant-not-yet-valid"
    GRANT_WITHDRAWN = "grant-withdrawn"
    APPROVAL_FOR_ANOTHER_DOCUMENT = "approval-for-another-document"
    NO_GRANT = "no-grant"


_SEAL_REFUSALS = {
    SealState.SUSPENDED: Refusal.SEAL_SUSPENDED,
    SealState.REVOKED: Refusal.SEAL_REVOKED,
    SealState.LAPSED: Refusal.SEAL_LAPSED,
}
_PRIORITY = {reason: rank for rank, reason in enumerate(Refusal)}


@dataclass(frozen=True)
class UseDecision:
    """Whether a use may go ahead, and on whose authority (a grant or an approval)."""

    allowed: bool
    detail: str
    grant: SealGrant | None = None
    approval: SealUseApproval | None = None
    refusal: Refusal | None = None


class SealUseRefused(NotAuthorised):
    """A seal may not be applied now by this person to this document."""

    def __init__(self, es_id: str, user: str, decision: UseDecision) -> None:
        super().__init__(f"{user} may not apply seal {es_id}: {decision.detail}")
        self.reason = decision.refusal


def authorise_use(
    state: SealState,
    grants: Iterable[SealGrant],
    approvals: Iterable[SealUseApproval],
    user: str,
    document_hash: str,
    at: datetime,
    *,
    window: tuple[datetime, datetime] | None = None,
) -> UseDecision:
    """Decide whether ``user`` may apply the seal to the document hashed ``document_hash``.

    ``window`` is the seal's own validity (from, to) when known. A standing user grant
    is preferred over an approval, so one-off approvals stay available for their
    document; among grants, an unlimited one is spent before a counted one, and then
    the one ending soonest.
    """
    _aware(at, "time of use")
    if state in _SEAL_REFUSALS:
        return _refuse(_SEAL_REFUSALS[state], f"the seal is {state.value}")
    if window is not None and not window[0] <= at <= window[1]:
        return _refuse(
            Refusal.SEAL_NOT_VALID,
            f"the seal is valid from {window[0].isoformat()} to {window[1].isoformat()}",
        )
    reasons: dict[Refusal, str] = {}
    usable: list[SealGrant] = []
    for grant in grants:
        if grant.grantee != user:
            continue
        problem = _grant_problem(grant, at)
        if problem is None:
            usable.append(grant)
        else:
            reasons.setdefault(*problem)
    if usable:
        grant = min(
            usable,
            key=lambda g: (g.max_uses is not None, g.valid_until is None, g.valid_until or at),
        )
        return UseDecision(True, f"user grant {grant.id}", grant=grant)
    for approval in approvals:
        if approval.requested_by != user:
            continue
        problem = _approval_problem(approval, document_hash, at)
        if problem is None:
            return UseDecision(
                True, f"approval {approval.id} by {approval.approved_by}", approval=approval
            )
        reasons.setdefault(*problem)
    if not reasons:
        return _refuse(Refusal.NO_GRANT, f"{user} holds no grant or approval for this seal")
    reason = min(reasons, key=_PRIORITY.__getitem__)
    return _refuse(reason, reasons[reason])


def _grant_problem(grant: SealGrant, at: datetime) -> tuple[Refusal, str] | None:
    where = f"grant {grant.id}"
    if grant.role is not GrantRole.USER:
        return Refusal.NO_GRANT, f"{where} makes them {grant.role.value}, which does not apply"
    if grant.withdrawn_at is not None and grant.withdrawn_at <= at:
        return Refusal.GRANT_WITHDRAWN, f"{where} was withdrawn {grant.withdrawn_at.isoformat()}"
    if at < grant.valid_from:
        return Refusal.GRANT_NOT_YET_VALID, f"{where} starts {grant.valid_from.isoformat()}"
    if grant.valid_until is not None and grant.valid_until <= at:
        return Refusal.GRANT_EXPIRED, f"{where} ended {grant.valid_until.isoformat()}"
    if grant.exhausted:
        return Refusal.USE_LIMIT_REACHED, f"{where} was used all {grant.max_uses} times allowed"
    return None


def _approval_problem(
    approval: SealUseApproval, document_hash: str, at: datetime
) -> tuple[Refusal, str] | None:
    where = f"approval {approval.id}"
    if approval.document_hash != document_hash:
        return (
            Refusal.APPROVAL_FOR_ANOTHER_DOCUMENT,
            f"{where} is for document {approval.document_hash[:16]}…, not this one",
        )
    if approval.used_at is not None:
        return Refusal.APPROVAL_USED, f"{where} was used {approval.used_at.isoformat()}"
    if not approval.approved or approval.expires is None:
        return Refusal.APPROVAL_PENDING, f"{where} awaits a custodian"
    if approval.expires <= at:
        return Refusal.APPROVAL_EXPIRED, f"{where} expired {approval.expires.isoformat()}"
    return None


def _refuse(reason: Refusal, detail: str) -> UseDecision:
    return UseDecision(False, f"{detail} ({reason.value})", refusal=reason)


def normalise_document_hash(value: str | bytes) -> str:
    """Lower-case hex of a document hash given as hex text or raw bytes."""
    if isinstance(value, bytes):
        raw = value
    else:
        text = value.strip().lower()
        if not _HEX.fullmatch(text) or len(text) % 2:
            raise MalformedInput("document hash", "must be hexadecimal digits, two per byte")
        raw = bytes.fromhex(text)
    if len(raw) not in DOCUMENT_HASH_BYTES:
        raise MalformedInput(
            "document hash", f"{len(raw)} bytes; an SM3 or SHA-2 hash has 32, 48 or 64"
        )
    return raw.hex()


def _aware(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None:
        raise MalformedInput(what, "a time zone is required")
    return moment
