"""The registry's half of seal status lists: seal state histories and list numbers.

Every change of a seal's state is kept as a row, so a list can tell a relying party
what the state was at any past time, not only now. Every list a maker signs takes the
next number from a counter in the same database, so numbers only grow whichever
process signs, and a relying party can refuse a list older than one it has seen.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from asn1crypto import x509
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sealbridge.crypto.keys import KeyHandle
from sealbridge.seals.registry import SealState
from sealbridge.seals.status import SealStatus, SealStatusList, StateChange, sign_status_list
from sealbridge.service.db.models_seals import RegisteredSeal, SealStateChange, SealStatusSequence
from sealbridge.service.db.store import Store

# Two processes signing a maker's very first list race to create its counter; the loser
# retries and finds it.
_COUNTER_ATTEMPTS = 3


def signed_status_list(
    store: Store,
    maker_key: KeyHandle,
    maker_certificate: x509.Certificate,
    issued: datetime,
    validity: timedelta,
) -> bytes:
    """The maker's list, numbered after every list it signed before, signed by its key.

    The seals are read after the number is taken, in the same transaction, so a higher
    number never shows an older state.
    """
    maker = maker_fingerprint(maker_certificate)
    for attempt in range(_COUNTER_ATTEMPTS):
        try:
            with store.transaction() as session:
                sequence = next_sequence(session, maker)
                entries = status_entries(session, maker)
            break
        except IntegrityError:
            if attempt == _COUNTER_ATTEMPTS - 1:
                raise
    names = maker_certificate.subject.native
    status_list = SealStatusList(
        maker=str(names.get("common_name") or maker_certificate.subject.human_friendly),
        maker_certificate=maker_certificate,
        sequence=sequence,
        issued=issued,
        next_update=issued + validity,
        entries=entries,
    )
    return sign_status_list(status_list, maker_key)


def maker_fingerprint(certificate: x509.Certificate) -> str:
    """How seals and counters name their maker: SHA-256 of its certificate, in hex."""
    return hashlib.sha256(certificate.dump()).hexdigest()


def record_state(session: Session, es_id: str, state: SealState, when: datetime) -> None:
    """Add a change to the seal's history; call it wherever ``seals.state`` changes."""
    session.add(SealStateChange(es_id=es_id, state=state.value, at=when))


def next_sequence(session: Session, maker_sha256: str) -> int:
    """Take the maker's next status list number, holding its counter until commit.

    The first list of a maker inserts the counter; two processes doing that at once
    make one of them fail with an IntegrityError, and the caller tries again.
    """
    counter = session.get(SealStatusSequence, maker_sha256, with_for_update=True)
    if counter is None:
        counter = SealStatusSequence(maker_sha256=maker_sha256, sequence=0)
        session.add(counter)
    counter.sequence += 1
    session.flush()
    return counter.sequence


def status_entries(session: Session, maker_sha256: str) -> tuple[SealStatus, ...]:
    """Each seal of the maker, by esID, with its state and its whole history."""
    seals = session.execute(
        select(RegisteredSeal.es_id, RegisteredSeal.state, RegisteredSeal.state_since)
        .where(RegisteredSeal.maker_sha256 == maker_sha256)
        .order_by(RegisteredSeal.es_id)
    ).all()
    changes = session.execute(
        select(SealStateChange.es_id, SealStateChange.state, SealStateChange.at)
        .join(RegisteredSeal, RegisteredSeal.es_id == SealStateChange.es_id)
        .where(RegisteredSeal.maker_sha256 == maker_sha256)
        .order_by(SealStateChange.at, SealStateChange.id)
    ).all()
    histories: dict[str, list[StateChange]] = {}
    for es_id, state, at in changes:
        histories.setdefault(es_id, []).append(StateChange(SealState(state), at))
    return tuple(
        SealStatus(es_id, SealState(state), since, tuple(histories.get(es_id, ())))
        for es_id, state, since in seals
    )
