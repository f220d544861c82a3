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
from datetime import datetime, timedelta
from typing import Any, TypeVar

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from sealbridge.crypto.keys import KeyHandle
from sealbridge.errors import MalformedInput, NotAuthorised
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
    holding,
    normalise_document_hash,
    transition,
)
from sealbridge.seals.verify import maker_signature_check
from sealbridge.service.db.models_seals import (
    ApprovalRecord,
    FirmUser,
    GrantRecord,
    RegisteredFirm,
    RegisteredSeal,
    SealUsageRecord,
)
from sealbridge.service.db.store import Store
from sealbridge.service.seal_rows import (
    Act,
    AlreadyRegistered,
    DecidedUse,
    ForeignFirm,
    UnknownRecord,
    add_grant,
    clean_text,
    firm_row,
    get_row,
    grants_of,
    moment,
    registered_firm,
    registration_of,
    require_custodian,
    require_member,
    seal_row,
)
from sealbridge.service.seal_status import maker_fingerprint, record_state, signed_status_list

# The errors callers catch live with the rows that raise them; they are part of this API.
__all__ = ["AlreadyRegistered", "ForeignFirm", "SealRegistry", "UnknownRecord"]

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
        registration = (
            check(registration) if check else clean_text(registration, "registration", 64)
        )
        name = clean_text(name, "firm name", 256)
        person = clean_text(legal_representative, "legal representative", 128)
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
        display_name = clean_text(display_name, "display name", 256)
        with self._operator(actor, at, unique=f"user {user}") as act:
            firm_id = registered_firm(act.session, firm).id
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
            holder = registered_firm(act.session, firm)
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
                require_member(act.session, custodian, row)
                add_grant(act, row, custodian, GrantRole.CUSTODIAN, (act.when, row.valid_to))
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
            row = firm_row(act.session, firm, lock=True)
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
                change = {"old": row.name, "new": clean_text(new_value, "firm name", 256)}
                row.name = change["new"]
            elif event is FirmEvent.LEGAL_REPRESENTATIVE_CHANGED and new_value is not None:
                person = clean_text(new_value, "legal representative", 128)
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
        def work(act: Act) -> SealGrant:
            seal = seal_row(act.session, es_id, lock=True)
            require_custodian(act, seal)
            require_member(act.session, grantee, seal)
            if grantee == custodian:
                raise NotAuthorised(f"{custodian} cannot grant seal {es_id} to themselves")
            if SealState(seal.state).final:
                raise IllegalTransition(f"seal {es_id} is {seal.state}; it takes no grants")
            window = (valid_from or act.when, valid_until)
            return add_grant(act, seal, grantee, role, window, max_uses)

        return self._firm_side(custodian, at, "seal.grant", f"seal/{es_id}", work)

    def withdraw_grant(
        self, custodian: str, grant_id: int, *, at: datetime | None = None
    ) -> SealGrant:
        def work(act: Act) -> SealGrant:
            row = get_row(act.session, GrantRecord, grant_id, "grant", lock=True)
            require_custodian(act, seal_row(act.session, row.es_id))
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

        def work(act: Act) -> SealUseApproval:
            seal = seal_row(act.session, es_id)
            require_member(act.session, user, seal)
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

        def work(act: Act) -> SealUseApproval:
            row = get_row(act.session, ApprovalRecord, approval_id, "approval", lock=True)
            require_custodian(act, seal_row(act.session, row.es_id))
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

    def check_use(
        self, user: str, es_id: str, document_hash: str | bytes, *, at: datetime | None = None
    ) -> None:
        """Refuse now (audited) what ``use_seal`` would refuse, recording no use.

        A signing tool asks this before it signs and calls ``use_seal`` once the signed
        document exists, so a signature that fails (a TSA down) leaves no phantom use.
        """
        digest = normalise_document_hash(document_hash)

        def work(act: Act) -> None:
            DecidedUse.of(act, user, es_id, digest)

        self._firm_side(user, at, "seal.use", f"seal/{es_id}", work, document_hash=digest)

    def use_seal(
        self, user: str, es_id: str, document_hash: str | bytes, *, at: datetime | None = None
    ) -> SealUsage:
        """Authorise one application of the seal and log it; raise SealUseRefused if not."""
        digest = normalise_document_hash(document_hash)

        def work(act: Act) -> SealUsage:
            decided = DecidedUse.of(act, user, es_id, digest)
            decision = decided.decision
            usage = SealUsageRecord(es_id=es_id, user_id=user, at=act.when, document_hash=digest)
            if decision.grant is not None:
                decided.grants[decision.grant.id].uses += 1
                usage.grant_id = decision.grant.id
            if decision.approval is not None:
                decided.approvals[decision.approval.id].used_at = act.when
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

        def work(act: Act) -> tuple[SealUsage, ...]:
            seal = seal_row(act.session, es_id)
            require_member(act.session, user, seal)
            grants = grants_of(act.session, es_id)
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
            return firm_row(session, registration).to_record()

    def seal(self, es_id: str) -> SealRecord:
        with self._store.sessions() as session:
            row = seal_row(session, es_id)
            return row.to_record(registration_of(session, row.firm_id))

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
        return signed_status_list(self._store, maker_key, maker_certificate, moment(now), validity)

    # -- plumbing -----------------------------------------------------------------

    def _change_state(
        self, actor: str, es_id: str, target: SealState, at: datetime | None, reason: str = ""
    ) -> SealRecord:
        with self._operator(actor, at) as act:
            row = seal_row(act.session, es_id, lock=True)
            previous = row.state
            row.state = transition(SealState(previous), target).value
            row.state_since = act.when
            record_state(act.session, es_id, target, act.when)
            act.audit(_STATE_ACTIONS[target], f"seal/{es_id}", previous=previous, reason=reason)
            return row.to_record(registration_of(act.session, row.firm_id))

    @contextmanager
    def _operator(self, actor: str, at: datetime | None, unique: str = "") -> Iterator[Act]:
        """A transaction for an operator; with ``unique``, a key clash means it exists."""
        # Operators are named by their callers; the name must fit the audit log.
        act_as, when = clean_text(actor, "actor", 64), moment(at)
        try:
            with self._store.transaction() as session:
                yield Act(session, act_as, when)
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
        work: Callable[[Act], T],
        **details: Any,
    ) -> T:
        """Run ``work`` for ``user``; if it refuses, undo it and audit the refusal instead."""
        when = moment(at)
        with self._store.transaction() as session:
            act = Act(session, user, when)
            try:
                with session.begin_nested():
                    return work(act)
            except NotAuthorised as exc:
                refused = exc
                if isinstance(exc, SealUseRefused) and exc.reason is not None:
                    details["refusal"] = exc.reason.value
                act.audit(f"{action}.refused", subject, reason=str(exc)[:500], **details)
        raise refused
