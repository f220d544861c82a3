"""Seal status lists: the seal maker's signed word on which of its seals still stand.

A seal carries its maker's signature for ever, so a revoked or lapsed seal still
verifies as bytes. A relying party in another jurisdiction cannot ask the maker's
database; it fetches this list, signed by the maker like trust lists are signed by
their operators, checks signature and freshness against the maker certificate it
already trusts, and looks the seal up by esID.

Two things make the list hold up over time. Each list carries a sequence number the
maker never reuses, so a relying party that remembers the last one it saw refuses an
older list replayed while still fresh (a rollback hiding a revocation). And each entry
carries the seal's whole state history, so a stamp made while a seal was suspended is
caught even after the seal was resumed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import x509

from sealbridge.crypto.keys import KeyHandle
from sealbridge.errors import MalformedInput, TrustError
from sealbridge.seals.model import SealView
from sealbridge.seals.registry import IllegalTransition, SealState, transition
from sealbridge.seals.verify import SealCheck
from sealbridge.trust.signed import sign_document, verify_document

# Version 2 added the sequence number and the state histories; a version 1 list has
# neither, so accepting one would reopen the rollback it exists to stop.
FORMAT_SEAL_STATUS = "sealbridge.seal-status/2"
STATUS_STEP = "seal-status"
# Makers and relying parties keep their own clocks; a list stamped a little ahead of
# the reader's clock is ordinary, one from far in the future is not.
CLOCK_SKEW = timedelta(minutes=5)
_WHAT = "seal status list"


class StatusListError(TrustError):
    """A seal status list is unsigned, malformed, stale or from the future."""


class StatusListRollback(StatusListError):
    """A seal status list older than one already seen from the same maker."""


@dataclass(frozen=True)
class StateChange:
    state: SealState
    since: datetime


@dataclass(frozen=True)
class SealStatus:
    """One seal's state as the maker last recorded it, since when, and how it got there.

    ``history`` holds every change, oldest first, ending with (``state``, ``since``);
    empty means only the current state is known.
    """

    es_id: str
    state: SealState
    since: datetime
    history: tuple[StateChange, ...] = ()

    def state_at(self, moment: datetime) -> StateChange | None:
        """The state the seal was in at ``moment``; None if no change that early is known."""
        changes = self.history or (StateChange(self.state, self.since),)
        return next((c for c in reversed(changes) if c.since <= moment), None)


@dataclass(frozen=True, eq=False)
class SealStatusList:
    """Every seal a maker has issued, with its state; ``maker_certificate`` signs it.

    ``sequence`` grows with every list the maker signs.
    """

    maker: str
    maker_certificate: x509.Certificate
    sequence: int
    issued: datetime
    next_update: datetime
    entries: tuple[SealStatus, ...]


def sign_status_list(status_list: SealStatusList, maker_key: KeyHandle) -> bytes:
    """The list as a signed JSON document (see trust.signed)."""
    if maker_key.public_key_info.dump() != status_list.maker_certificate.public_key.dump():
        raise MalformedInput("seal maker", "the key does not belong to the maker certificate")
    if status_list.next_update <= status_list.issued:
        raise MalformedInput(_WHAT, "the next update must come after the issue time")
    if status_list.sequence < 1:
        raise MalformedInput(_WHAT, "the sequence number must be positive")
    payload: dict[str, Any] = {
        "format": FORMAT_SEAL_STATUS,
        "maker": status_list.maker,
        "sequence": status_list.sequence,
        "issued": status_list.issued.isoformat(),
        "next_update": status_list.next_update.isoformat(),
        "entries": [
            {
                "es_id": e.es_id,
                "state": e.state.value,
                "since": e.since.isoformat(),
                "history": [
                    {"state": c.state.value, "since": c.since.isoformat()} for c in e.history
                ],
            }
            for e in status_list.entries
        ],
    }
    return sign_document(payload, [(maker_key, status_list.maker_certificate)])


def load_status_list(
    data: bytes,
    maker_certificate: x509.Certificate,
    now: datetime,
    *,
    last_sequence: int | None = None,
) -> SealStatusList:
    """Parse a status list once the maker's signature, its shape and freshness check out.

    With ``last_sequence`` (the highest number seen from this maker), an older list is
    refused with ``StatusListRollback``; the same number again is the same list.
    """
    try:
        payload = verify_document(data, _WHAT, [maker_certificate])
    except TrustError as exc:
        raise StatusListError(str(exc)) from exc
    try:
        if payload["format"] != FORMAT_SEAL_STATUS:
            raise StatusListError(f"{_WHAT} format {payload['format']!r} is not supported")
        sequence = payload["sequence"]
        if type(sequence) is not int or sequence < 1:
            raise ValueError(f"sequence {sequence!r} is not a positive integer")
        issued = _time(payload["issued"], "issued")
        next_update = _time(payload["next_update"], "next_update")
        entries = tuple(_entry(e) for e in payload["entries"])
        maker = str(payload["maker"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StatusListError(f"{_WHAT} is malformed: {exc}") from exc
    seen: set[str] = set()
    for entry in entries:
        if not entry.es_id or entry.es_id in seen:
            raise StatusListError(f"{_WHAT} is malformed: esID {entry.es_id!r} is empty or twice")
        if entry.since > issued:
            raise StatusListError(f"{_WHAT} is malformed: seal {entry.es_id} changed after issue")
        seen.add(entry.es_id)
    if next_update <= issued:
        raise StatusListError(f"{_WHAT} is malformed: next update is not after issue")
    if last_sequence is not None and sequence < last_sequence:
        raise StatusListRollback(
            f"{_WHAT} of {maker} is number {sequence}, older than number {last_sequence} "
            "already seen"
        )
    if issued > now + CLOCK_SKEW:
        raise StatusListError(f"{_WHAT} of {maker} is issued in the future ({issued.isoformat()})")
    if next_update <= now:
        raise StatusListError(f"{_WHAT} of {maker} expired at {next_update.isoformat()}")
    return SealStatusList(maker, maker_certificate, sequence, issued, next_update, entries)


def status_of(status_list: SealStatusList, es_id: str) -> SealStatus | None:
    return next((e for e in status_list.entries if e.es_id == es_id), None)


def status_check(status_lists: Sequence[SealStatusList], seal: SealView, at: datetime) -> SealCheck:
    """Whether the seal stood at ``at`` in its own maker's newest list.

    The state that counts is the one at ``at``, read from the entry's history: a change
    after ``at`` does not undo a stamp made before it, and a resumption does not excuse
    a stamp made while the seal was suspended. A seal that no list covers is noted but
    not failed, as there is nothing to hold against it.
    """
    maker = seal.maker_certificate.dump()
    lists = [s for s in status_lists if s.maker_certificate.dump() == maker]
    if not lists:
        return SealCheck(STATUS_STEP, True, "no status list from this seal's maker: unknown")
    newest = max(lists, key=lambda s: (s.sequence, s.issued))
    as_of = f"{newest.maker}'s list {newest.sequence} of {newest.issued.isoformat()}"
    entry = status_of(newest, seal.es_id)
    if entry is None:
        return SealCheck(STATUS_STEP, True, f"seal {seal.es_id} is not on {as_of}: unknown")
    current = f"{entry.state.value} since {entry.since.isoformat()}"
    then = entry.state_at(at)
    if then is None:
        return SealCheck(
            STATUS_STEP, True, f"seal {seal.es_id} is {current}, after {at.isoformat()}, on {as_of}"
        )
    was = f"{then.state.value} since {then.since.isoformat()}"
    now = "" if then == StateChange(entry.state, entry.since) else f" (now {current})"
    if then.state is SealState.ACTIVE:
        return SealCheck(
            STATUS_STEP, True, f"seal {seal.es_id} was {was} at {at.isoformat()}{now} on {as_of}"
        )
    return SealCheck(
        STATUS_STEP,
        False,
        f"seal {seal.es_id} was {was}, before {at.isoformat()}{now}, on {as_of}",
    )


def _entry(raw: dict[str, Any]) -> SealStatus:
    """One entry; its history must be in time order, legal, and end in its state."""
    es_id = str(raw["es_id"])
    current = StateChange(SealState(raw["state"]), _time(raw["since"], "since"))
    history = tuple(
        StateChange(SealState(c["state"]), _time(c["since"], "since")) for c in raw["history"]
    )
    if history:
        if history[-1] != current:
            raise ValueError(f"seal {es_id}'s history does not end in its state")
        for before, after in itertools.pairwise(history):
            if after.since < before.since:
                raise ValueError(f"seal {es_id}'s history is not in time order")
            try:
                transition(before.state, after.state)
            except IllegalTransition as exc:
                raise ValueError(f"seal {es_id}'s history is impossible: {exc}") from exc
    return SealStatus(es_id, current.state, current.since, history)


def _time(value: object, what: str) -> datetime:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"{what} has no time zone")
    return moment
