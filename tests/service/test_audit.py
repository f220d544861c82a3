"""The audit log notices an edited, removed or reordered event."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from sealbridge.service import audit
from sealbridge.service.db.models import AuditEvent
from sealbridge.service.db.store import Store


def _three_events(store: Store) -> None:
    for n in range(3):
        with store.transaction() as session:
            audit.record(
                session,
                actor="alice",
                action="seal.granted",
                subject=f"seal/{n}",
                details={"to": "bob", "n": n, "名称": "合同专用章"},
            )


def test_intact_chain(store: Store) -> None:
    _three_events(store)
    with store.sessions() as session:
        check = audit.verify_chain(session)
    assert check.intact and check.events == 3


def test_edited_event_is_detected(store: Store) -> None:
    _three_events(store)
    with store.transaction() as session:
        second = session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars().all()[1]
        session.execute(update(AuditEvent).where(AuditEvent.id == second).values(actor="mallory"))
    with store.sessions() as session:
        check = audit.verify_chain(session)
    assert not check.intact and check.event_id == second
    assert check.problem == "event content was changed"


def test_removed_event_is_detected(store: Store) -> None:
    _three_events(store)
    with store.transaction() as session:
        ids = session.execute(select(AuditEvent.id).order_by(AuditEvent.id)).scalars().all()
        session.execute(delete(AuditEvent).where(AuditEvent.id == ids[1]))
    with store.sessions() as session:
        check = audit.verify_chain(session)
    assert not check.intact and check.event_id == ids[2]


def test_truncated_tail_is_detected(store: Store) -> None:
    _three_events(store)
    with store.transaction() as session:
        last = (
            session.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc())).scalars().first()
        )
        session.execute(delete(AuditEvent).where(AuditEvent.id == last))
    with store.sessions() as session:
        check = audit.verify_chain(session)
    assert not check.intact and "removed" in (check.problem or "")


def test_rolled_back_change_leaves_no_event(store: Store) -> None:
    try:
        with store.transaction() as session:
            audit.record(session, actor="alice", action="x", subject="y")
            raise RuntimeError("the state change failed")
    except RuntimeError:
        pass
    with store.sessions() as session:
        assert audit.verify_chain(session).events == 0
