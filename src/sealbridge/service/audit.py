"""The hash-chained audit log: every state change, in the transaction that made it.

Each event's hash covers its fields and the previous event's hash, so editing, removing
or reordering a stored event breaks the chain at that point. Appends lock the single
``audit_head`` row, so concurrent writers on PostgreSQL cannot fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sealbridge.service.db.models import AuditEvent, AuditHead

GENESIS = b"\0" * 32


def _event_hash(
    prev_hash: bytes, at: datetime, actor: str, action: str, subject: str, details: Any
) -> bytes:
    if at.tzinfo is None:  # SQLite hands back naive datetimes; we store UTC
        at = at.replace(tzinfo=UTC)
    body = json.dumps(
        {
            "at": at.astimezone(UTC).isoformat(),
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": details,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return hashlib.sha256(prev_hash + body).digest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append an event inside the caller's transaction."""
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one()
    when = (at or datetime.now(UTC)).replace(microsecond=0)
    payload = dict(details or {})
    digest = _event_hash(head.last_hash, when, actor, action, subject, payload)
    event = AuditEvent(
        at=when,
        actor=actor,
        action=action,
        subject=subject,
        details=payload,
        prev_hash=head.last_hash,
        hash=digest,
    )
    session.add(event)
    session.flush()
    head.last_event_id = event.id
    head.last_hash = digest
    return event


@dataclass(frozen=True)
class ChainCheck:
    events: int
    intact: bool
    problem: str | None = None
    event_id: int | None = None


def verify_chain(session: Session) -> ChainCheck:
    """Walk the log from the start; report the first event that breaks the chain."""
    previous = GENESIS
    count = 0
    for event in session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars():
        count += 1
        if event.prev_hash != previous:
            return ChainCheck(count, False, "event does not follow the one before it", event.id)
        expected = _event_hash(
            previous, event.at, event.actor, event.action, event.subject, event.details
        )
        if event.hash != expected:
            return ChainCheck(count, False, "event content was changed", event.id)
        previous = event.hash
    head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
    if head.last_hash != previous:
        return ChainCheck(count, False, "events after the last stored one were removed", None)
    return ChainCheck(count, True)
