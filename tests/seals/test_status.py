"""Seal status lists: signed by the maker, checked for signature, shape and freshness."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from sealbridge.errors import MalformedInput
from sealbridge.seals import decode_seal
from sealbridge.seals.registry import SealState
from sealbridge.seals.status import (
    FORMAT_SEAL_STATUS,
    SealStatus,
    SealStatusList,
    StateChange,
    StatusListError,
    StatusListRollback,
    load_status_list,
    sign_status_list,
    status_check,
    status_of,
)
from sealbridge.trust.signed import sign_document


def _list(pki: Any, now: datetime, *entries: SealStatus, sequence: int = 1) -> SealStatusList:
    return SealStatusList(
        maker="Shenzhen Demo Seal Maker",
        maker_certificate=pki.maker.certificate,
        sequence=sequence,
        issued=now,
        next_update=now + timedelta(hours=6),
        entries=entries,
    )


def _payload(data: bytes) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(data)["payload"]
    return payload


def test_round_trip(demo_pki: Any, now: datetime) -> None:
    revoked = SealStatus("E2", SealState.REVOKED, now - timedelta(days=2))
    data = sign_status_list(
        _list(demo_pki, now, SealStatus("E1", SealState.ACTIVE, now - timedelta(days=9)), revoked),
        demo_pki.maker.key,
    )
    loaded = load_status_list(data, demo_pki.maker.certificate, now + timedelta(hours=1))
    assert loaded.maker == "Shenzhen Demo Seal Maker"
    assert loaded.issued == now and loaded.next_update == now + timedelta(hours=6)
    assert [e.es_id for e in loaded.entries] == ["E1", "E2"]
    assert status_of(loaded, "E2") == revoked
    assert status_of(loaded, "E3") is None


def test_tampered_list_is_refused(demo_pki: Any, now: datetime) -> None:
    data = sign_status_list(
        _list(demo_pki, now, SealStatus("E1", SealState.REVOKED, now)), demo_pki.maker.key
    )
    tampered = data.replace(b'"revoked"', b'"active"')
    assert tampered != data
    with pytest.raises(StatusListError, match="does not verify"):
        load_status_list(tampered, demo_pki.maker.certificate, now)


def test_list_of_another_maker_is_refused(demo_pki: Any, now: datetime) -> None:
    data = sign_status_list(_list(demo_pki, now), demo_pki.maker.key)
    with pytest.raises(StatusListError, match="not signed by"):
        load_status_list(data, demo_pki.firm.certificate, now)


@pytest.mark.parametrize(
    ("reader_offset", "message"),
    [
        (timedelta(hours=6), "expired"),
        (timedelta(days=30), "expired"),
        (-timedelta(hours=1), "issued in the future"),
    ],
)
def test_freshness(demo_pki: Any, now: datetime, reader_offset: timedelta, message: str) -> None:
    data = sign_status_list(_list(demo_pki, now), demo_pki.maker.key)
    with pytest.raises(StatusListError, match=message):
        load_status_list(data, demo_pki.maker.certificate, now + reader_offset)


def test_small_clock_skew_is_tolerated(demo_pki: Any, now: datetime) -> None:
    data = sign_status_list(_list(demo_pki, now), demo_pki.maker.key)
    assert load_status_list(data, demo_pki.maker.certificate, now - timedelta(minutes=2))


def _entry(**changes: object) -> dict[str, object]:
    return {
        "es_id": "E1",
        "state": "active",
        "since": "2026-01-01T00:00:00+00:00",
        "history": [],
        **changes,
    }


def _change(state: str, since: str) -> dict[str, str]:
    return {"state": state, "since": f"2026-{since}T00:00:00+00:00"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "sealbridge.seal-status/9"}, "not supported"),
        ({"issued": "yesterday"}, "malformed"),
        ({"issued": "2026-03-01T00:00:00"}, "no time zone"),
        ({"entries": [_entry(state="destroyed")]}, "malformed"),
        ({"entries": [_entry(), _entry()]}, "twice"),
        ({"entries": [_entry(es_id="")]}, "empty"),
        ({"entries": [_entry(since="2026-03-02T00:00:00+00:00")]}, "changed after issue"),
        ({"next_update": "2026-02-01T00:00:00+00:00"}, "next update is not after issue"),
        ({"entries": "E1"}, "malformed"),
        ({"sequence": 0}, "not a positive integer"),
        ({"sequence": "7"}, "not a positive integer"),
        ({"sequence": True}, "not a positive integer"),
        ({"entries": [{k: v for k, v in _entry().items() if k != "history"}]}, "malformed"),
        (
            {
                "entries": [
                    _entry(history=[_change("active", "01-01"), _change("revoked", "01-02")])
                ]
            },
            "does not end in its state",
        ),
        (
            {
                "entries": [
                    _entry(
                        state="suspended",
                        since="2026-01-02T00:00:00+00:00",
                        history=[_change("active", "01-03"), _change("suspended", "01-02")],
                    )
                ]
            },
            "not in time order",
        ),
        (
            {
                "entries": [
                    _entry(
                        history=[
                            _change("active", "01-01"),
                            _change("revoked", "01-01"),
                            _change("active", "01-01"),
                        ]
                    )
                ]
            },
            "impossible",
        ),
    ],
)
def test_malformed_lists_are_refused(
    demo_pki: Any, changes: dict[str, object], message: str
) -> None:
    payload: dict[str, Any] = {
        "format": FORMAT_SEAL_STATUS,
        "maker": "m",
        "sequence": 1,
        "issued": "2026-03-01T00:00:00+00:00",
        "next_update": "2026-03-02T00:00:00+00:00",
        "entries": [_entry()],
        **changes,
    }
    data = sign_document(payload, [(demo_pki.maker.key, demo_pki.maker.certificate)])
    with pytest.raises(StatusListError, match=message):
        load_status_list(
            data, demo_pki.maker.certificate, datetime.fromisoformat("2026-03-01T12:00:00+00:00")
        )


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"payload": 1, "signatures": []}'])
def test_garbage_is_refused(demo_pki: Any, now: datetime, data: bytes) -> None:
    with pytest.raises(StatusListError):
        load_status_list(data, demo_pki.maker.certificate, now)


def test_signing_needs_the_maker_key(demo_pki: Any, now: datetime) -> None:
    with pytest.raises(MalformedInput, match="does not belong"):
        sign_status_list(_list(demo_pki, now), demo_pki.firm.key)


B, A = timedelta(days=1), timedelta(days=-1)  # a change before / after the signing time


@pytest.mark.parametrize(
    ("entry", "passed", "words"),
    [
        (None, True, "not on"),
        ((SealState.ACTIVE, B), True, "active since"),
        ((SealState.REVOKED, B), False, "revoked since"),
        ((SealState.SUSPENDED, B), False, "suspended since"),
        ((SealState.LAPSED, B), False, "lapsed since"),
        ((SealState.REVOKED, A), True, "after"),
        ((SealState.SUSPENDED, A), True, "after"),
    ],
)
def test_status_check(
    demo_pki: Any,
    seal_der: bytes,
    now: datetime,
    entry: tuple[SealState, timedelta] | None,
    passed: bool,
    words: str,
) -> None:
    signing_time = now - timedelta(days=2)
    seal = decode_seal(seal_der)
    entries = () if entry is None else (SealStatus(seal.es_id, entry[0], signing_time - entry[1]),)
    listed = _list(demo_pki, now, *entries)
    check = status_check([listed], seal, signing_time)
    assert check.step == "seal-status"
    assert check.passed is passed and words in check.detail


def test_status_check_without_a_list_from_this_maker(
    demo_pki: Any, seal_der: bytes, now: datetime
) -> None:
    seal = decode_seal(seal_der)
    foreign = SealStatusList(
        "other maker",
        demo_pki.firm.certificate,
        1,
        now,
        now + timedelta(hours=1),
        (SealStatus(seal.es_id, SealState.REVOKED, now - timedelta(days=9)),),
    )
    check = status_check([foreign], seal, now)
    assert check.passed and "no status list from this seal's maker" in check.detail


def test_status_check_reads_the_newest_list(demo_pki: Any, seal_der: bytes, now: datetime) -> None:
    seal = decode_seal(seal_der)
    before = now - timedelta(hours=3)
    old = _list(demo_pki, before, SealStatus(seal.es_id, SealState.ACTIVE, before), sequence=4)
    revoked = SealStatus(seal.es_id, SealState.REVOKED, now - timedelta(hours=2))
    new = _list(demo_pki, now, revoked, sequence=5)
    check = status_check([new, old], seal, now)
    assert not check.passed and "list 5" in check.detail
    # The number decides, not the issue time a maker's clock wrote.
    stale = _list(demo_pki, now + timedelta(minutes=1), revoked, sequence=3)
    assert not status_check([stale, new, old], seal, now).passed
    assert "list 5" in status_check([stale, new, old], seal, now).detail


def test_rollback_to_an_older_list_is_refused(demo_pki: Any, now: datetime) -> None:
    older = sign_status_list(_list(demo_pki, now, sequence=6), demo_pki.maker.key)
    newer = sign_status_list(_list(demo_pki, now, sequence=7), demo_pki.maker.key)
    seen = load_status_list(newer, demo_pki.maker.certificate, now).sequence
    assert seen == 7
    with pytest.raises(StatusListRollback, match="number 6, older than number 7"):
        load_status_list(older, demo_pki.maker.certificate, now, last_sequence=seen)
    # The same list fetched again is not a rollback, nor is a first fetch.
    assert load_status_list(newer, demo_pki.maker.certificate, now, last_sequence=seen)
    assert load_status_list(older, demo_pki.maker.certificate, now).sequence == 6
    assert issubclass(StatusListRollback, StatusListError)


def test_signing_needs_a_positive_sequence(demo_pki: Any, now: datetime) -> None:
    with pytest.raises(MalformedInput, match="sequence"):
        sign_status_list(_list(demo_pki, now, sequence=0), demo_pki.maker.key)


def test_a_list_of_the_first_format_is_refused(demo_pki: Any, now: datetime) -> None:
    # Version 1 lists carry no sequence: accepting them would reopen rollback.
    payload = {
        "format": "sealbridge.seal-status/1",
        "maker": "m",
        "issued": now.isoformat(),
        "next_update": (now + timedelta(hours=1)).isoformat(),
        "entries": [],
    }
    data = sign_document(payload, [(demo_pki.maker.key, demo_pki.maker.certificate)])
    with pytest.raises(StatusListError, match="not supported"):
        load_status_list(data, demo_pki.maker.certificate, now)


def _suspended_and_resumed(es_id: str, now: datetime) -> SealStatus:
    history = (
        StateChange(SealState.ACTIVE, now - timedelta(days=10)),
        StateChange(SealState.SUSPENDED, now - timedelta(days=5)),
        StateChange(SealState.ACTIVE, now - timedelta(days=2)),
    )
    return SealStatus(es_id, SealState.ACTIVE, now - timedelta(days=2), history)


def test_history_round_trips(demo_pki: Any, now: datetime) -> None:
    entry = _suspended_and_resumed("E1", now)
    data = sign_status_list(_list(demo_pki, now, entry), demo_pki.maker.key)
    loaded = load_status_list(data, demo_pki.maker.certificate, now)
    assert loaded.entries == (entry,)
    assert [c["state"] for c in _payload(data)["entries"][0]["history"]] == [
        "active",
        "suspended",
        "active",
    ]


@pytest.mark.parametrize(
    ("days_before", "state"),
    [(11, None), (7, SealState.ACTIVE), (3, SealState.SUSPENDED), (1, SealState.ACTIVE)],
)
def test_state_at_a_past_moment(now: datetime, days_before: int, state: SealState | None) -> None:
    then = _suspended_and_resumed("E1", now).state_at(now - timedelta(days=days_before))
    assert (then.state if then else None) is state


def test_stamp_made_while_suspended_is_flagged_though_resumed(
    demo_pki: Any, seal_der: bytes, now: datetime
) -> None:
    seal = decode_seal(seal_der)
    listed = _list(demo_pki, now, _suspended_and_resumed(seal.es_id, now))
    during = status_check([listed], seal, now - timedelta(days=3))
    assert not during.passed
    assert "was suspended since" in during.detail and "(now active since" in during.detail
    assert status_check([listed], seal, now - timedelta(days=1)).passed
    assert status_check([listed], seal, now - timedelta(days=7)).passed
