"""The seal registry's rows: lookups, membership checks and the one decision on a use.

``seal_registry`` is the operations (one transaction each, audited); this module is
what they share underneath, so each operation reads as what it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from sealbridge.errors import MalformedInput, NotAuthorised, SealBridgeError
from sealbridge.seals.registry import (
    FirmStatus,
    GrantRole,
    IllegalTransition,
    SealGrant,
    SealState,
    SealUseRefused,
    UseDecision,
    authorise_use,
    holding,
)
from sealbridge.service import audit
from sealbridge.service.db.models_seals import (
    ApprovalRecord,
    FirmUser,
    GrantRecord,
    RegisteredFirm,
    RegisteredSeal,
)

T = TypeVar("T")


class UnknownRecord(SealBridgeError):
    """No firm, user, seal, grant or approval by that identifier."""


class AlreadyRegistered(SealBridgeError):
    """A firm, user or seal with that identifier is already in the registry."""


class ForeignFirm(NotAuthorised):
    """Someone tried to act on another firm's seal or for another firm's people."""


@dataclass(frozen=True)
class Act:
    """One operation: its transaction, who acts and when, so each event is one line."""

    session: Session
    actor: str
    when: datetime

    def audit(self, action: str, subject: str, **details: Any) -> None:
        audit.record(
            self.session,
            actor=self.actor,
            action=action,
            subject=subject,
            details=details,
            at=self.when,
        )


def moment(at: datetime | None) -> datetime:
    # Stored times are UTC to the second, as in the audit log and the status lists.
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise MalformedInput("time", "a time zone is required")
    return moment.astimezone(UTC).replace(microsecond=0)


def clean_text(value: str, what: str, limit: int) -> str:
    text = " ".join(value.split())
    if not 0 < len(text) <= limit:
        raise MalformedInput(what, f"must be 1 to {limit} characters")
    return text


def get_row(session: Session, model: type[T], key: object, what: str, *, lock: bool = False) -> T:
    row = session.get(model, key, with_for_update=lock)
    if row is None:
        raise UnknownRecord(f"no {what} {key}")
    return row


def firm_row(session: Session, registration: str, *, lock: bool = False) -> RegisteredFirm:
    query = select(RegisteredFirm).where(RegisteredFirm.registration == registration.strip())
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise UnknownRecord(f"no firm {registration}")
    return row


def registration_of(session: Session, firm_id: int) -> str:
    query = select(RegisteredFirm.registration).where(RegisteredFirm.id == firm_id)
    return session.execute(query).scalar_one()


def registered_firm(session: Session, registration: str) -> RegisteredFirm:
    row = firm_row(session, registration)
    if row.status != FirmStatus.REGISTERED.value:
        raise IllegalTransition(f"firm {registration} is {row.status}")
    return row


def seal_row(session: Session, es_id: str, *, lock: bool = False) -> RegisteredSeal:
    return get_row(session, RegisteredSeal, es_id, "seal", lock=lock)


def require_member(session: Session, user: str, seal: RegisteredSeal) -> None:
    """Pass only if ``user`` acts for the firm that holds ``seal``."""
    person = get_row(session, FirmUser, user, "user")
    if person.firm_id != seal.firm_id:
        raise ForeignFirm(
            f"{user} acts for firm {registration_of(session, person.firm_id)}; "
            f"seal {seal.es_id} belongs to firm {registration_of(session, seal.firm_id)}"
        )


def require_custodian(act: Act, seal: RegisteredSeal) -> None:
    require_member(act.session, act.actor, seal)
    if (
        holding(grants_of(act.session, seal.es_id), act.actor, GrantRole.CUSTODIAN, act.when)
        is None
    ):
        raise NotAuthorised(f"{act.actor} is not a custodian of seal {seal.es_id}")


def grants_of(session: Session, es_id: str) -> list[SealGrant]:
    rows = session.execute(select(GrantRecord).where(GrantRecord.es_id == es_id)).scalars()
    return [row.to_grant() for row in rows]


def add_grant(
    act: Act,
    seal: RegisteredSeal,
    grantee: str,
    role: GrantRole,
    window: tuple[datetime, datetime | None],
    max_uses: int | None = None,
) -> SealGrant:
    start, end = moment(window[0]), moment(window[1]) if window[1] else None
    # Building the grant checks it before anything is stored.
    SealGrant(0, seal.es_id, grantee, GrantRole(role), start, end, act.actor, max_uses)
    row = GrantRecord(
        es_id=seal.es_id,
        grantee=grantee,
        role=GrantRole(role).value,
        valid_from=start,
        valid_until=end,
        max_uses=max_uses,
        uses=0,
        granted_by=act.actor,
        granted_at=act.when,
    )
    act.session.add(row)
    act.session.flush()
    act.audit(
        "seal.granted",
        f"seal/{seal.es_id}/grant/{row.id}",
        grantee=grantee,
        role=row.role,
        valid_from=start.isoformat(),
        valid_until=end.isoformat() if end else None,
        max_uses=max_uses,
    )
    return row.to_grant()


@dataclass(frozen=True)
class DecidedUse:
    """An allowed use of a seal, with the locked grant and approval rows it draws on."""

    decision: UseDecision
    grants: dict[int, GrantRecord]
    approvals: dict[int, ApprovalRecord]

    @classmethod
    def of(cls, act: Act, user: str, es_id: str, digest: str) -> DecidedUse:
        seal = seal_row(act.session, es_id, lock=True)
        require_member(act.session, user, seal)
        grants = {
            row.id: row
            for row in act.session.execute(
                select(GrantRecord)
                .where(GrantRecord.es_id == es_id, GrantRecord.grantee == user)
                .with_for_update()
            ).scalars()
        }
        approvals = {
            row.id: row
            for row in act.session.execute(
                select(ApprovalRecord)
                .where(ApprovalRecord.es_id == es_id, ApprovalRecord.requested_by == user)
                .with_for_update()
            ).scalars()
        }
        decision = authorise_use(
            SealState(seal.state),
            [row.to_grant() for row in grants.values()],
            [row.to_approval() for row in approvals.values()],
            user,
            digest,
            act.when,
            window=(seal.valid_from, seal.valid_to),
        )
        if not decision.allowed:
            raise SealUseRefused(es_id, user, decision)
        return cls(decision, grants, approvals)
