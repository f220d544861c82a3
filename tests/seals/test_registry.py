"""The pure registry rules: lifecycle, firm events, grants, approvals and use decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sealbridge.errors import MalformedInput
from sealbridge.seals.registry import (
    FirmEvent,
    FirmStatus,
    GrantRole,
    IllegalTransition,
    Refusal,
    SealGrant,
    SealState,
    SealUseApproval,
    apply_firm_event,
    authorise_use,
    holding,
    normalise_document_hash,
    transition,
)

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
DOC = "ab" * 32
OTHER_DOC = "cd" * 32
A, S, R, L = SealState.ACTIVE, SealState.SUSPENDED, SealState.REVOKED, SealState.LAPSED


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (A, S, True),
        (A, R, True),
        (A, L, True),
        (A, A, False),
        (S, A, True),
        (S, R, True),
        (S, L, True),
        (S, S, False),
        (R, A, False),
        (R, S, False),
        (R, L, False),
        (L, A, False),
        (L, R, False),
    ],
)
def test_transitions(current: SealState, target: SealState, allowed: bool) -> None:
    if allowed:
        assert transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            transition(current, target)


def test_final_states_say_so() -> None:
    with pytest.raises(IllegalTransition, match="revoked, which is final"):
        transition(R, A)


@pytest.mark.parametrize("event", list(FirmEvent))
def test_every_firm_event_lapses_the_seals_still_standing(event: FirmEvent) -> None:
    outcome = apply_firm_event(FirmStatus.REGISTERED, event, {"s1": A, "s2": S, "s3": R, "s4": L})
    assert outcome.lapsed == ("s1", "s2")
    expected = FirmStatus.DEREGISTERED if event is FirmEvent.DEREGISTERED else FirmStatus.REGISTERED
    assert outcome.status is expected


def test_deregistered_firm_has_no_more_events() -> None:
    with pytest.raises(IllegalTransition, match="deregistered"):
        apply_firm_event(FirmStatus.DEREGISTERED, FirmEvent.NAME_CHANGED, {})


def _grant(**changes: object) -> SealGrant:
    base = SealGrant(
        id=1,
        es_id="E1",
        grantee="bob",
        role=GrantRole.USER,
        valid_from=T0,
        valid_until=T0 + timedelta(days=30),
        granted_by="carol",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _approval(**changes: object) -> SealUseApproval:
    base = SealUseApproval(
        id=7,
        es_id="E1",
        requested_by="bob",
        document_hash=DOC,
        requested_at=T0,
        approved_by="carol",
        approved_at=T0,
        expires=T0 + timedelta(days=1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


AT = T0 + timedelta(hours=1)
DAY = timedelta(days=1)
G, P = _grant, _approval
OTHER = {"document_hash": OTHER_DOC}
PENDING = {"approved_by": None, "expires": None}
OK_GRANT, OK_APPROVAL = "grant", "approval"
ANOTHER_DOC = Refusal.APPROVAL_FOR_ANOTHER_DOCUMENT
Outcome = str | Refusal

CASES: list[tuple[str, SealState, list[SealGrant], list[SealUseApproval], datetime, Outcome]] = [
    ("user grant", A, [G()], [], AT, OK_GRANT),
    ("suspended", S, [G()], [], AT, Refusal.SEAL_SUSPENDED),
    ("revoked", R, [G()], [P()], AT, Refusal.SEAL_REVOKED),
    ("lapsed", L, [G()], [], AT, Refusal.SEAL_LAPSED),
    ("nothing", A, [], [], AT, Refusal.NO_GRANT),
    ("someone else's", A, [G(grantee="dan")], [], AT, Refusal.NO_GRANT),
    ("custodian only", A, [G(role=GrantRole.CUSTODIAN)], [], AT, Refusal.NO_GRANT),
    ("auditor only", A, [G(role=GrantRole.AUDITOR)], [], AT, Refusal.NO_GRANT),
    ("expired", A, [G()], [], T0 + 30 * DAY, Refusal.GRANT_EXPIRED),
    ("too early", A, [G()], [], T0 - DAY, Refusal.GRANT_NOT_YET_VALID),
    ("withdrawn", A, [G(withdrawn_at=T0)], [], AT, Refusal.GRANT_WITHDRAWN),
    ("withdrawn later", A, [G(withdrawn_at=AT + DAY)], [], AT, OK_GRANT),
    ("limit left", A, [G(max_uses=2, uses=1)], [], AT, OK_GRANT),
    ("limit reached", A, [G(max_uses=2, uses=2)], [], AT, Refusal.USE_LIMIT_REACHED),
    ("open-ended", A, [G(valid_until=None)], [], T0 + 900 * DAY, OK_GRANT),
    ("approval", A, [], [P()], AT, OK_APPROVAL),
    ("approval, other doc", A, [], [P(**OTHER)], AT, ANOTHER_DOC),
    ("approval pending", A, [], [P(**PENDING)], AT, Refusal.APPROVAL_PENDING),
    ("approval expired", A, [], [P()], T0 + DAY, Refusal.APPROVAL_EXPIRED),
    ("approval used", A, [], [P(used_at=AT)], AT, Refusal.APPROVAL_USED),
    ("someone else's approval", A, [], [P(requested_by="dan")], AT, Refusal.NO_GRANT),
    ("expired grant, approval", A, [G(valid_until=AT)], [P()], AT, OK_APPROVAL),
    ("pending first", A, [G(valid_until=AT)], [P(**PENDING)], AT, Refusal.APPROVAL_PENDING),
    ("limit first", A, [G(max_uses=1, uses=1)], [P(**OTHER)], AT, Refusal.USE_LIMIT_REACHED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "grants", "approvals", "at", "outcome"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_authorise_use(
    state: SealState,
    grants: list[SealGrant],
    approvals: list[SealUseApproval],
    at: datetime,
    outcome: Outcome,
) -> None:
    decision = authorise_use(state, grants, approvals, "bob", DOC, at)
    assert decision.allowed is (outcome in (OK_GRANT, OK_APPROVAL))
    assert (decision.grant is not None) is (outcome == OK_GRANT)
    assert (decision.approval is not None) is (outcome == OK_APPROVAL)
    if isinstance(outcome, Refusal):
        assert decision.refusal is outcome and outcome.value in decision.detail
    else:
        assert decision.refusal is None


def test_unlimited_grant_is_spent_before_a_counted_one() -> None:
    counted = _grant(id=1, max_uses=5)
    unlimited = _grant(id=2)
    decision = authorise_use(A, [counted, unlimited], [], "bob", DOC, AT)
    assert decision.grant == unlimited


def test_grant_is_preferred_to_approval() -> None:
    decision = authorise_use(A, [_grant()], [_approval()], "bob", DOC, AT)
    assert decision.grant is not None and decision.approval is None


def test_seal_validity_window() -> None:
    window = (T0, T0 + timedelta(days=2))
    late = T0 + timedelta(days=3)
    decision = authorise_use(A, [_grant(valid_until=None)], [], "bob", DOC, late, window=window)
    assert decision.refusal is Refusal.SEAL_NOT_VALID


def test_holding() -> None:
    custodian = _grant(role=GrantRole.CUSTODIAN, grantee="carol")
    assert holding([custodian], "carol", GrantRole.CUSTODIAN, AT) == custodian
    assert holding([custodian], "carol", GrantRole.AUDITOR, AT) is None
    assert holding([custodian], "carol", GrantRole.CUSTODIAN, T0 + timedelta(days=31)) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"valid_until": T0}, "end after it starts"),
        ({"max_uses": 0}, "at least 1"),
        ({"max_uses": 3, "role": GrantRole.CUSTODIAN}, "user grants only"),
        ({"uses": -1}, "negative"),
        ({"valid_from": datetime(2026, 1, 1)}, "time zone"),
    ],
)
def test_bad_grants_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(MalformedInput, match=message):
        _grant(**changes)


def test_naive_time_of_use_is_refused() -> None:
    with pytest.raises(MalformedInput, match="time zone"):
        authorise_use(A, [], [], "bob", DOC, datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("AB" * 32, "ab" * 32),
        (" " + "0f" * 48 + "\n", "0f" * 48),
        (b"\x01" * 64, "01" * 64),
    ],
)
def test_document_hash_forms(value: str | bytes, expected: str) -> None:
    assert normalise_document_hash(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("zz" * 32, "hexadecimal"),
        ("abc", "hexadecimal"),
        ("ab" * 20, "20 bytes"),
        (b"", "0 bytes"),
    ],
)
def test_bad_document_hashes(value: str | bytes, message: str) -> None:
    with pytest.raises(MalformedInput, match=message):
        normalise_document_hash(value)
