"""The seal registry in the store: firms, their people, their seals and who may use them.

Operator actions (registering firms and people, recording a seal the maker issued,
suspending, resuming, revoking, register events) come from the seal maker's and the
business register's side; their callers are authorised before they get here, and the
actor is recorded. Firm-side actions (grants, approvals, uses, reading the usage log)
are checked here: a person acts only for their own firm and only in the role the action
needs. Every change writes its audit event in its own transaction; a refused firm-side
attempt is audited as well, and then raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sealbridge.crypto.keys import KeyHandle
from sealbridge.errors import MalformedInput, NotAuthorised, SealBridgeError
from sealbridge.pki.identifiers import validate_hk_brn, validate_uscc
from sealbridge.seals.decode import decode_seal
from sealbridge.seals.registry import (
    FirmEvent,
    FirmRecord,
    FirmStatus,
    GrantRole,
    IllegalTransition,
    SealGrant,
    SealRecord,
    SealState,
    SealUsage,
    SealUseApproval,
    SealUseRefused,
    apply_firm_event,
    authorise_use,
    holding,
    normalise_document_hash,
    transition,
)
from sealbridge.seals.verify import maker_signature_check
from sealbridge.service import audit
from sealbridge.service.db.models_seals import (
    ApprovalRecord,
    FirmUser,
    GrantRecord,
    RegisteredFirm,
    RegisteredSeal,
    SealUsageRecord,
)
from sealbridge.service.db.store import Store
from sealbridge.service.seal_status import maker_fingerprint, record_state, signed_status_list

T = TypeVar("T")

# Register numbers are checked where the format is known: mainland unified social
# credit codes (check character included) and Hong Kong business registration numbers.
REGISTRATION_CHECKS: Mapping[str, Callable[[str], str]] = {
    "SZ": validate_uscc,
    "BJ": validate_uscc,
    "HK": validate_hk_brn,
}
MAX_ES_ID = 64
MAX_SEAL_NAME = 256
_JURISDICTION = re.compile(r"[A-Z]{2,8}")
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_STATE_ACTIONS = {
    SealState.SUSPENDED: "seal.suspended",
    SealState.ACTIVE: "seal.resumed",
    SealState.REVOKED: "seal.revoked",
}
_LOG_READERS = (GrantRole.CUSTODIAN, GrantRole.AUDITOR)


class UnknownRecord(SealBridgeError):
    """No firm, user, seal, grant or approval by that identifier."""


class AlreadyRegistered(SealBridgeError):
    """A firm, user or seal with that identifier is already in the registry."""


class ForeignFirm(NotAuthorised):
    """Someone tried to act on another firm's seal or for another firm's people."""


@dataclass(frozen=True)
class _Act:
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


class SealRegistry:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- operator side ------------------------------------------------------------

    def register_firm(
        self,
        actor: str,
        registration: str,
        *,
        name: str,
        legal_representative: str,
        jurisdiction: str,
        at: datetime | None = None,
    ) -> None:
        jurisdiction = jurisdiction.strip().upper()
        if not _JURISDICTION.fullmatch(jurisdiction):
            raise MalformedInput("jurisdiction", "must be 2 to 8 letters, such as SZ or HK")
        check = REGISTRATION_CHECKS.get(jurisdiction)
        registration = check(registration) if check else _text(registration, "registration", 64)
        name = _text(name, "firm name", 256)
        person = _text(legal_representative, "legal representative", 128)
        with self._operator(actor, at, unique=f"firm {registration}") as act:
            act.session.add(
                RegisteredFirm(
                    registration=registration,
                    name=name,
                    legal_representative=person,
                    jurisdiction=jurisdiction,
                    status=FirmStatus.REGISTERED.value,
                    status_since=act.when,
                )
            )
            act.session.flush()
            act.audit(
                "firm.registered", f"firm/{registration}", name=name, jurisdiction=jurisdiction
            )

    def add_user(
        self,
        actor: str,
        user: str,
        *,
        display_name: str,
        firm: str,
        at: datetime | None = None,
    ) -> None:
        if not _USER_ID.fullmatch(user):
            raise MalformedInput("user id", "1-64 letters, digits, '.', '_', '@' or '-'")
        display_name = _text(display_name, "display name", 256)
        with self._operator(actor, at, unique=f"user {user}") as act:
            firm_id = _registered_firm(act.session, firm).id
            act.session.add(FirmUser(id=user, display_name=display_name, firm_id=firm_id))
            act.session.flush()
            act.audit("user.added", f"user/{user}", firm=firm, display_name=display_name)

    def record_seal(
        self,
        actor: str,
        firm: str,
        der: bytes,
        *,
        custodians: Sequence[str] = (),
        at: datetime | None = None,
    ) -> SealRecord:
        """Enter a seal the maker has just issued, with the custodians the firm named."""
        seal = decode_seal(der)
        check = maker_signature_check(seal)
        if not check.passed:
            raise MalformedInput("seal", check.detail)
        if len(seal.es_id) > MAX_ES_ID:
            raise MalformedInput("seal", f"its esID is longer than {MAX_ES_ID} characters")
        with self._operator(actor, at, unique=f"seal {seal.es_id}") as act:
            if seal.valid_to <= act.when:
                raise MalformedInput("seal", f"its validity ended {seal.valid_to.isoformat()}")
            holder = _registered_firm(act.session, firm)
            row = RegisteredSeal(
                es_id=seal.es_id,
                firm_id=holder.id,
                type_code=seal.type_code,
                name=seal.name[:MAX_SEAL_NAME],
                maker_sha256=maker_fingerprint(seal.maker_certificate),
                valid_from=seal.valid_from,
                valid_to=seal.valid_to,
                der=seal.der,
                state=SealState.ACTIVE.value,
                state_since=act.when,
            )
            act.session.add(row)
            act.session.flush()
            record_state(act.session, seal.es_id, SealState.ACTIVE, act.when)
            act.audit(
                "seal.issued", f"seal/{seal.es_id}", firm=firm, type=seal.type_code, name=seal.name
            )
            for custodian in custodians:
                _member(act.session, custodian, row)
                _add_grant(act, row, custodian, GrantRole.CUSTODIAN, (act.when, row.valid_to))
            return row.to_record(holder.registration)

    def suspend(self, actor: str, es_id: str, *, at: datetime | None = None) -> SealRecord:
        return self._change_state(actor, es_id, SealState.SUSPENDED, at)

    def resume(self, actor: str, es_id: str, *, at: datetime | None = None) -> SealRecord:
        return self._change_state(actor, es_id, SealState.ACTIVE, at)

    def revoke(
        self, actor: str, es_id: str, *, reason: str = "", at: datetime | None = None
    ) -> SealRecord:
        return self._change_state(actor, es_id, SealState.REVOKED, at, reason)

    def firm_event(
        self,
        actor: str,
        firm: str,
        event: FirmEvent,
        *,
        new_value: str | None = None,
        at: datetime | None = None,
    ) -> tuple[str, ...]:
        """Record a register event for ``firm``; returns the esIDs of the seals it lapsed."""
        if (event is FirmEvent.DEREGISTERED) != (new_value is None):
            raise MalformedInput(
                "firm event", "a new name or representative, and only for those events"
            )
        with self._operator(actor, at) as act:
            row = _firm(act.session, firm, lock=True)
            seals = act.session.execute(
                select(RegisteredSeal).where(RegisteredSeal.firm_id == row.id).with_for_update()
            ).scalars()
            by_id = {seal.es_id: seal for seal in seals}
            outcome = apply_firm_event(
                FirmStatus(row.status),
                event,
                {es_id: SealState(seal.state) for es_id, seal in by_id.items()},
            )
            change: dict[str, str] = {}
            if event is FirmEvent.NAME_CHANGED and new_value is not None:
                change = {"old": row.name, "new": _text(new_value, "firm name", 256)}
                row.name = change["new"]
            elif event is FirmEvent.LEGAL_REPRESENTATIVE_CHANGED and new_value is not None:
                person = _text(new_value, "legal representative", 128)
                change = {"old": row.legal_representative, "new": person}
                row.legal_representative = person
            if outcome.status.value != row.status:
                row.status, row.status_since = outcome.status.value, act.when
            act.audit(f"firm.{event.value}", f"firm/{firm}", lapsed=list(outcome.lapsed), **change)
            for es_id in outcome.lapsed:
                by_id[es_id].state, by_id[es_id].state_since = SealState.LAPSED.value, act.when
                record_state(act.session, es_id, SealState.LAPSED, act.when)
                act.audit("seal.lapsed", f"seal/{es_id}", event=event.value)
            return outcome.lapsed

    # -- firm side ------------------------------------------------------------------

    def grant(
        self,
        custodian: str,
        es_id: str,
        grantee: str,
        role: GrantRole,
        *,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        max_uses: int | None = None,
        at: datetime | None = None,
    ) -> SealGrant:
        def work(act: _Act) -> SealGrant:
            seal = _seal(act.session, es_id, lock=True)
            _custodian(act, seal)
            _member(act.session, grantee, seal)
            if grantee == custodian:
                raise NotAuthorised(f"{custodian} cannot grant seal {es_id} to themselves")
            if SealState(seal.state).final:
                raise IllegalTransition(f"seal {es_id} is {seal.state}; it takes no grants")
            window = (valid_from or act.when, valid_until)
            return _add_grant(act, seal, grantee, role, window, max_uses)

        return self._firm_side(custodian, at, "seal.grant", f"seal/{es_id}", work)

    def withdraw_grant(
        self, custodian: str, grant_id: int, *, at: datetime | None = None
    ) -> SealGrant:
        def work(act: _Act) -> SealGrant:
            row = _get(act.session, GrantRecord, grant_id, "grant", lock=True)
            _custodian(act, _seal(act.session, row.es_id))
            if row.withdrawn_at is not None:
                raise IllegalTransition(f"grant {grant_id} is already withdrawn")
            row.withdrawn_at = act.when
            subject = f"seal/{row.es_id}/grant/{grant_id}"
            act.audit("seal.grant-withdrawn", subject, grantee=row.grantee, role=row.role)
            return row.to_grant()

        return self._firm_side(custodian, at, "seal.grant-withdraw", f"grant/{grant_id}", work)

    def request_use(
        self, user: str, es_id: str, document_hash: str | bytes, *, at: datetime | None = None
    ) -> SealUseApproval:
        """Ask the seal's custodians to let ``user`` stamp one document."""
        digest = normalise_document_hash(document_hash)

        def work(act: _Act) -> SealUseApproval:
            seal = _seal(act.session, es_id)
            _member(act.session, user, seal)
            if SealState(seal.state).final:
                raise IllegalTransition(f"seal {es_id} is {seal.state}; it cannot be used")
            row = ApprovalRecord(
                es_id=es_id, requested_by=user, document_hash=digest, requested_at=act.when
            )
            act.session.add(row)
            act.session.flush()
            act.audit("seal.use-requested", f"seal/{es_id}/approval/{row.id}", document_hash=digest)
            return row.to_approval()

        subject = f"seal/{es_id}"
        return self._firm_side(user, at, "seal.use-request", subject, work, document_hash=digest)

    def approve_use(
        self,
        custodian: str,
        approval_id: int,
        *,
        valid_for: timedelta = timedelta(days=1),
        at: datetime | None = None,
    ) -> SealUseApproval:
        if valid_for <= timedelta(0):
            raise MalformedInput("approval", "it must stay valid for some time")

        def work(act: _Act) -> SealUseApproval:
            row = _get(act.session, ApprovalRecord, approval_id, "approval", lock=True)
            _custodian(act, _seal(act.session, row.es_id))
            if row.requested_by == custodian:
                raise NotAuthorised(f"{custodian} cannot approve their own request")
            if row.approved_by is not None:
                raise IllegalTransition(f"approval {approval_id} was already given")
            row.approved_by, row.approved_at = custodian, act.when
            row.expires = act.when + valid_for
            act.audit(
                "seal.use-approved",
                f"seal/{row.es_id}/approval/{approval_id}",
                requested_by=row.requested_by,
                expires=row.expires.isoformat(),
            )
            return row.to_approval()

        subject = f"approval/{approval_id}"
        return self._firm_side(custodian, at, "seal.use-approve", subject, work)

    def use_seal(
        self, user: str, es_id: str, document_hash: str | bytes, *, at: datetime | None = None
    ) -> SealUsage:
        """Authorise one application of the seal and log it; raise SealUseRefused if not."""
        digest = normalise_document_hash(document_hash)

        def work(act: _Act) -> SealUsage:
            seal = _seal(act.session, es_id, lock=True)
            _member(act.session, user, seal)
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
            usage = SealUsageRecord(es_id=es_id, user_id=user, at=act.when, document_hash=digest)
            if decision.grant is not None:
                grants[decision.grant.id].uses += 1
                usage.grant_id = decision.grant.id
            if decision.approval is not None:
                approvals[decision.approval.id].used_at = act.when
                usage.approval_id = decision.approval.id
            act.session.add(usage)
            act.session.flush()
            act.audit(
                "seal.used",
                f"seal/{es_id}",
                document_hash=digest,
                grant=usage.grant_id,
                approval=usage.approval_id,
            )
            return usage.to_usage()

        return self._firm_side(user, at, "seal.use", f"seal/{es_id}", work, document_hash=digest)

    def usage_log(
        self, user: str, es_id: str, *, at: datetime | None = None
    ) -> tuple[SealUsage, ...]:
        """The seal's uses, oldest first, for its custodians and auditors."""

        def work(act: _Act) -> tuple[SealUsage, ...]:
            seal = _seal(act.session, es_id)
            _member(act.session, user, seal)
            grants = _grants(act.session, es_id)
            if not any(holding(grants, user, role, act.when) for role in _LOG_READERS):
                raise NotAuthorised(f"{user} is neither custodian nor auditor of seal {es_id}")
            rows = act.session.execute(
                select(SealUsageRecord)
                .where(SealUsageRecord.es_id == es_id)
                .order_by(SealUsageRecord.id)
            ).scalars()
            return tuple(row.to_usage() for row in rows)

        return self._firm_side(user, at, "seal.usage-log", f"seal/{es_id}", work)

    # -- reading ------------------------------------------------------------------

    def firm(self, registration: str) -> FirmRecord:
        with self._store.sessions() as session:
            return _firm(session, registration).to_record()

    def seal(self, es_id: str) -> SealRecord:
        with self._store.sessions() as session:
            row = _seal(session, es_id)
            return row.to_record(_registration(session, row.firm_id))

    def status_list(
        self,
        maker_key: KeyHandle,
        maker_certificate: x509.Certificate,
        now: datetime,
        *,
        validity: timedelta = timedelta(days=1),
    ) -> bytes:
        """The maker's signed list of every seal it made, valid from ``now`` for ``validity``.

        Each list takes the maker's next sequence number (see ``seal_status``).
        """
        return signed_status_list(self._store, maker_key, maker_certificate, _moment(now), validity)

    # -- plumbing -----------------------------------------------------------------

    def _change_state(
        self, actor: str, es_id: str, target: SealState, at: datetime | None, reason: str = ""
    ) -> SealRecord:
        with self._operator(actor, at) as act:
            row = _seal(act.session, es_id, lock=True)
            previous = row.state
            row.state = transition(SealState(previous), target).value
            row.state_since = act.when
            record_state(act.session, es_id, target, act.when)
            act.audit(_STATE_ACTIONS[target], f"seal/{es_id}", previous=previous, reason=reason)
            return row.to_record(_registration(act.session, row.firm_id))

    @contextmanager
    def _operator(self, actor: str, at: datetime | None, unique: str = "") -> Iterator[_Act]:
        """A transaction for an operator; with ``unique``, a key clash means it exists."""
        # Operators are named by their callers; the name must fit the audit log.
        act_as, when = _text(actor, "actor", 64), _moment(at)
        try:
            with self._store.transaction() as session:
                yield _Act(session, act_as, when)
        except IntegrityError as exc:
            if not unique:
                raise
            raise AlreadyRegistered(f"{unique} is already registered") from exc

    def _firm_side(
        self,
        user: str,
        at: datetime | None,
        action: str,
        subject: str,
        work: Callable[[_Act], T],
        **details: Any,
    ) -> T:
        """Run ``work`` for ``user``; if it refuses, undo it and audit the refusal instead."""
        when = _moment(at)
        with self._store.transaction() as session:
            act = _Act(session, user, when)
            try:
                with session.begin_nested():
                    return work(act)
            except NotAuthorised as exc:
                refused = exc
                if isinstance(exc, SealUseRefused) and exc.reason is not None:
                    details["refusal"] = exc.reason.value
                act.audit(f"{action}.refused", subject, reason=str(exc)[:500], **details)
        raise refused


def _moment(at: datetime | None) -> datetime:
    # Stored times are UTC to the second, as in the audit log and the status lists.
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise MalformedInput("time", "a time zone is required")
    return moment.astimezone(UTC).replace(microsecond=0)


def _text(value: str, what: str, limit: int) -> str:
    text = " ".join(value.split())
    if not 0 < len(text) <= limit:
        raise MalformedInput(what, f"must be 1 to {limit} characters")
    return text


def _get(session: Session, model: type[T], key: object, what: str, *, lock: bool = False) -> T:
    row = session.get(model, key, with_for_update=lock)
    if row is None:
        raise UnknownRecord(f"no {what} {key}")
    return row


def _firm(session: Session, registration: str, *, lock: bool = False) -> RegisteredFirm:
    query = select(RegisteredFirm).where(RegisteredFirm.registration == registration.strip())
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise UnknownRecord(f"no firm {registration}")
    return row


def _registration(session: Session, firm_id: int) -> str:
    query = select(RegisteredFirm.registration).where(RegisteredFirm.id == firm_id)
    return session.execute(query).scalar_one()


def _registered_firm(session: Session, registration: str) -> RegisteredFirm:
    row = _firm(session, registration)
    if row.status != FirmStatus.REGISTERED.value:
        raise IllegalTransition(f"firm {registration} is {row.status}")
    return row


def _seal(session: Session, es_id: str, *, lock: bool = False) -> RegisteredSeal:
    return _get(session, RegisteredSeal, es_id, "seal", lock=lock)


def _member(session: Session, user: str, seal: RegisteredSeal) -> None:
    """Pass only if ``user`` acts for the firm that holds ``seal``."""
    person = _get(session, FirmUser, user, "user")
    if person.firm_id != seal.firm_id:
        raise ForeignFirm(
            f"{user} acts for firm {_registration(session, person.firm_id)}; "
            f"seal {seal.es_id} belongs to firm {_registration(session, seal.firm_id)}"
        )


def _custodian(act: _Act, seal: RegisteredSeal) -> None:
    _member(act.session, act.actor, seal)
    if holding(_grants(act.session, seal.es_id), act.actor, GrantRole.CUSTODIAN, act.when) is None:
        raise NotAuthorised(f"{act.actor} is not a custodian of seal {seal.es_id}")


def _grants(session: Session, es_id: str) -> list[SealGrant]:
    rows = session.execute(select(GrantRecord).where(GrantRecord.es_id == es_id)).scalars()
    return [row.to_grant() for row in rows]


def _add_grant(
    act: _Act,
    seal: RegisteredSeal,
    grantee: str,
    role: GrantRole,
    window: tuple[datetime, datetime | None],
    max_uses: int | None = None,
) -> SealGrant:
    start, end = _moment(window[0]), _moment(window[1]) if window[1] else None
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
