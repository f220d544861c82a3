"""Seal status lists: the seal maker's signed word on which of its seals still stand.

A seal carries its maker's signature for ever, so a revoked or lapsed seal still
verifies as bytes. A relying party in another jurisdiction cannot ask the maker's
database; it fetches this list, signed by the maker like trust lists are signed by
their operators, checks signature and freshness against the maker certificate it
already trusts, and looks the seal up by esID.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import x509

from sealbridge.crypto.keys import KeyHandle
from sealbridge.errors import MalformedInput, TrustError
from sealbridge.seals.model import SealView
from sealbridge.seals.registry import SealState
from sealbridge.seals.verify import SealCheck
from sealbridge.trust.signed import sign_document, verify_document

FORMAT_SEAL_STATUS = "sealbridge.seal-status/1"
STATUS_STEP = "seal-status"
# Makers and relying parties keep their own clocks; a list stamped a little ahead of
# the reader's clock is ordinary, one from far in the future is not.
CLOCK_SKEW = timedelta(minutes=5)
_WHAT = "seal status list"


class StatusListError(TrustError):
    """A seal status list is unsigned, malformed, stale or from the future."""


@dataclass(frozen=True)
class SealStatus:
    """One seal's state as the maker last recorded it, and since when."""

    es_id: str
    state: SealState
    since: datetime


@dataclass(frozen=True, eq=False)
class SealStatusList:
    """Every seal a maker has issued, with its state; ``maker_certificate`` signs it."""

    maker: str
    maker_certificate: x509.Certificate
    issued: datetime
    next_update: datetime
    entries: tuple[SealStatus, ...]


def sign_status_list(status_list: SealStatusList, maker_key: KeyHandle) -> bytes:
    """The list as a signed JSON document (see trust.signed)."""
    if maker_key.public_key_info.dump() != status_list.maker_certificate.public_key.dump():
        raise MalformedInput("seal maker", "the key does not belong to the maker certificate")
    if status_list.next_update <= status_list.issued:
        raise MalformedInput(_WHAT, "the next update must come after the issue time")
    payload: dict[str, Any] = {
        "format": FORMAT_SEAL_STATUS,
        "maker": status_list.maker,
        "issued": status_list.issued.isoformat(),
        "next_update": status_list.next_update.isoformat(),
        "entries": [
            {"es_id": e.es_id, "state": e.state.value, "since": e.since.isoformat()}
            for e in status_list.entries
        ],
    }
    return sign_document(payload, [(maker_key, status_list.maker_certificate)])


def load_status_list(
    data: bytes, maker_certificate: x509.Certificate, now: datetime
) -> SealStatusList:
    """Parse a status list once the maker's signature, its shape and freshness check out."""
    try:
        payload = verify_document(data, _WHAT, [maker_certificate])
    except TrustError as exc:
        raise StatusListError(str(exc)) from exc
    try:
        if payload["format"] != FORMAT_SEAL_STATUS:
            raise StatusListError(f"{_WHAT} format {payload['format']!r} is not supported")
        issued = _time(payload["issued"], "issued")
        next_update = _time(payload["next_update"], "next_update")
        entries = tuple(
            SealStatus(str(e["es_id"]), SealState(e["state"]), _time(e["since"], "since"))
            for e in payload["entries"]
        )
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
    if issued > now + CLOCK_SKEW:
        raise StatusListError(f"{_WHAT} of {maker} is issued in the future ({issued.isoformat()})")
    if next_update <= now:
        raise StatusListError(f"{_WHAT} of {maker} expired at {next_update.isoformat()}")
    return SealStatusList(maker, maker_certificate, issued, next_update, entries)


def status_of(status_list: SealStatusList, es_id: str) -> SealStatus | None:
    return next((e for e in status_list.entries if e.es_id == es_id), None)


def status_check(status_lists: Sequence[SealStatusList], seal: SealView, at: datetime) -> SealCheck:
    """Whether the seal stood at ``at`` in its own maker's newest list.

    A state change after ``at`` does not undo a stamp made before it; a seal that no
    list covers is noted but not failed, as there is nothing to hold against it.
    """
    maker = seal.maker_certificate.dump()
    lists = [s for s in status_lists if s.maker_certificate.dump() == maker]
    if not lists:
        return SealCheck(STATUS_STEP, True, "no status list from this seal's maker: unknown")
    newest = max(lists, key=lambda s: s.issued)
    as_of = f"{newest.maker}'s list of {newest.issued.isoformat()}"
    entry = status_of(newest, seal.es_id)
    if entry is None:
        return SealCheck(STATUS_STEP, True, f"seal {seal.es_id} is not on {as_of}: unknown")
    change = f"{entry.state.value} since {entry.since.isoformat()}"
    if entry.state is SealState.ACTIVE:
        return SealCheck(STATUS_STEP, True, f"seal {seal.es_id} is {change} on {as_of}")
    if entry.since <= at:
        return SealCheck(
            STATUS_STEP,
            False,
            f"seal {seal.es_id} is {change}, before {at.isoformat()}, on {as_of}",
        )
    return SealCheck(
        STATUS_STEP,
        True,
        f"seal {seal.es_id} is {change}, after {at.isoformat()}, on {as_of}",
    )


def _time(value: object, what: str) -> datetime:
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"{what} has no time zone")
    return moment
