"""The seal registry on a real store: lifecycle, grants, approvals, uses and their audit."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from asn1crypto import x509
from sqlalchemy import select

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.errors import MalformedInput, NotAuthorised
from sealbridge.pki import profiles
from sealbridge.pki.identifiers import uscc_check_character
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.seals import SealPicture, SealType, issue_seal, render_round_seal
from sealbridge.seals.registry import (
    FirmEvent,
    GrantRole,
    IllegalTransition,
    Refusal,
    SealState,
    SealUseRefused,
)
from sealbridge.seals.status import load_status_list, status_of
from sealbridge.service import audit
from sealbridge.service.db.base import Base
from sealbridge.service.db.models import AuditEvent
from sealbridge.service.db.store import Store
from sealbridge.service.seal_registry import (
    AlreadyRegistered,
    ForeignFirm,
    SealRegistry,
    UnknownRecord,
)

NOW = datetime.now(UTC).replace(microsecond=0)
FIRM_A = "91440300MA5G0AAA1" + uscc_check_character("91440300MA5G0AAA1")
FIRM_B = "71234568"
DOC = "11" * 32
OTHER_DOC = "22" * 32
HOUR = timedelta(hours=1)
SEAL_TABLES = {
    "firms",
    "firm_users",
    "seals",
    "seal_grants",
    "seal_use_approvals",
    "seal_usages",
    "seal_state_changes",
    "seal_status_sequences",
}


@dataclass(frozen=True)
class Maker:
    key: KeyHandle
    certificate: x509.Certificate
    bound: x509.Certificate
    picture: SealPicture

    def seal(self, es_id: str, *, days: int = 365) -> bytes:
        return issue_seal(
            self.key,
            self.certificate,
            es_id=es_id,
            seal_type=SealType.CONTRACT,
            name=f"合同专用章 {es_id}",
            bound_certificates=[self.bound],
            picture=self.picture,
            valid_from=NOW - timedelta(days=1),
            valid_to=NOW + timedelta(days=days),
        )


def _maker(name: str) -> Maker:
    root = CertificateAuthority.create_root(
        ca_name(f"{name} Root", "SealBridge Test", "CN"), generate_key(KeyKind.SM2)
    )
    key = generate_key(KeyKind.SM2)
    certificate = root.issue(
        ca_name(name, "SealBridge Test", "CN"), key.public_key_info, profiles.SEAL_MAKER
    )
    bound = root.issue(
        enterprise_name("深圳甲公司", f"NTRCN-{FIRM_A}", "CN"),
        generate_key(KeyKind.SM2).public_key_info,
        profiles.ENTERPRISE_SEAL,
    )
    return Maker(key, certificate, bound, render_round_seal("深圳甲公司", "合同专用章"))


@pytest.fixture(scope="module")
def maker() -> Maker:
    return _maker("Registry Test Seal Maker")


@pytest.fixture
def registry(store: Store, maker: Maker) -> SealRegistry:
    """Firm A (Shenzhen) with custodian carol, user bob, auditor dave and erin without
    grants; firm B (Hong Kong) with custodian mallory. Each firm has one seal."""
    reg = SealRegistry(store)
    reg.register_firm(
        "regulator",
        FIRM_A,
        name="深圳甲公司",
        legal_representative="张三",
        jurisdiction="SZ",
        at=NOW - HOUR,
    )
    reg.register_firm(
        "regulator",
        FIRM_B,
        name="HK B Co",
        legal_representative="Chan Tai Man",
        jurisdiction="hk",
        at=NOW - HOUR,
    )
    for user, firm in (("carol", FIRM_A), ("bob", FIRM_A), ("dave", FIRM_A), ("erin", FIRM_A)):
        reg.add_user("regulator", user, display_name=user.title(), firm=firm, at=NOW - HOUR)
    reg.add_user("regulator", "mallory", display_name="Mallory", firm=FIRM_B, at=NOW - HOUR)
    reg.record_seal("maker", FIRM_A, maker.seal("A1"), custodians=["carol"], at=NOW - HOUR)
    reg.record_seal("maker", FIRM_B, maker.seal("B1"), custodians=["mallory"], at=NOW - HOUR)
    return reg


def _actions(store: Store) -> list[str]:
    with store.sessions() as session:
        return list(session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars())


def _refused(registry: SealRegistry, user: str, doc: str, at: datetime) -> Refusal | None:
    with pytest.raises(SealUseRefused) as caught:
        registry.use_seal(user, "A1", doc, at=at)
    return caught.value.reason


def test_a_day_in_the_life_is_audited_and_chained(registry: SealRegistry, store: Store) -> None:
    grant = registry.grant("carol", "A1", "bob", GrantRole.USER, at=NOW)
    registry.grant("carol", "A1", "dave", GrantRole.AUDITOR, at=NOW)
    first = registry.use_seal("bob", "A1", DOC, at=NOW + HOUR)
    assert first.grant_id == grant.id and first.approval_id is None
    registry.suspend("maker", "A1", at=NOW + 2 * HOUR)
    assert _refused(registry, "bob", DOC, NOW + 3 * HOUR) is Refusal.SEAL_SUSPENDED
    registry.resume("maker", "A1", at=NOW + 4 * HOUR)
    registry.use_seal("bob", "A1", OTHER_DOC, at=NOW + 5 * HOUR)
    log = registry.usage_log("dave", "A1", at=NOW + 6 * HOUR)
    assert [(u.user, u.document_hash) for u in log] == [("bob", DOC), ("bob", OTHER_DOC)]
    registry.revoke("maker", "A1", reason="key compromise", at=NOW + 7 * HOUR)
    assert registry.seal("A1").state is SealState.REVOKED
    with pytest.raises(IllegalTransition, match="final"):
        registry.resume("maker", "A1", at=NOW + 8 * HOUR)

    actions = _actions(store)
    assert actions[-8:] == [
        "seal.granted",
        "seal.granted",
        "seal.used",
        "seal.suspended",
        "seal.use.refused",
        "seal.resumed",
        "seal.used",
        "seal.revoked",
    ]
    assert actions[:2] == ["firm.registered", "firm.registered"]
    assert actions.count("seal.issued") == 2 and actions.count("user.added") == 5
    with store.sessions() as session:
        check = audit.verify_chain(session)
    assert check.intact and check.events == len(actions)


def test_a_custodian_cannot_act_for_another_firm(registry: SealRegistry, store: Store) -> None:
    with pytest.raises(ForeignFirm, match=f"mallory acts for firm {FIRM_B}"):
        registry.grant("mallory", "A1", "mallory", GrantRole.USER, at=NOW)
    with pytest.raises(ForeignFirm, match="seal A1 belongs to firm"):
        registry.grant("carol", "A1", "mallory", GrantRole.USER, at=NOW)
    with pytest.raises(ForeignFirm):
        registry.grant("carol", "B1", "bob", GrantRole.USER, at=NOW)
    with pytest.raises(ForeignFirm):
        registry.use_seal("mallory", "A1", DOC, at=NOW)
    with pytest.raises(ForeignFirm):
        registry.usage_log("mallory", "A1", at=NOW)
    approval = registry.request_use("erin", "A1", DOC, at=NOW)
    with pytest.raises(ForeignFirm):
        registry.approve_use("mallory", approval.id, at=NOW)
    assert _actions(store).count("seal.grant.refused") == 3
    assert "seal.use-approve.refused" in _actions(store)
    with store.sessions() as session:
        grants = session.execute(select(AuditEvent).where(AuditEvent.action == "seal.granted"))
        assert len(grants.all()) == 2  # only the custodians named at issuance


def test_only_custodians_manage_and_never_for_themselves(registry: SealRegistry) -> None:
    with pytest.raises(NotAuthorised, match="bob is not a custodian"):
        registry.grant("bob", "A1", "erin", GrantRole.USER, at=NOW)
    with pytest.raises(NotAuthorised, match="to themselves"):
        registry.grant("carol", "A1", "carol", GrantRole.USER, at=NOW)
    with pytest.raises(NotAuthorised, match="neither custodian nor auditor"):
        registry.usage_log("bob", "A1", at=NOW)
    assert registry.usage_log("carol", "A1", at=NOW) == ()


def test_use_limit(registry: SealRegistry) -> None:
    registry.grant("carol", "A1", "bob", GrantRole.USER, max_uses=2, at=NOW)
    registry.use_seal("bob", "A1", DOC, at=NOW + HOUR)
    registry.use_seal("bob", "A1", DOC, at=NOW + HOUR)
    assert _refused(registry, "bob", DOC, NOW + HOUR) is Refusal.USE_LIMIT_REACHED
    assert len(registry.usage_log("carol", "A1", at=NOW + HOUR)) == 2


def test_checking_a_use_records_none_and_refuses_as_a_use_would(
    registry: SealRegistry, store: Store
) -> None:
    registry.grant("carol", "A1", "bob", GrantRole.USER, max_uses=1, at=NOW)
    registry.check_use("bob", "A1", DOC, at=NOW + HOUR)
    registry.check_use("bob", "A1", DOC, at=NOW + HOUR)  # the one use is not spent
    assert registry.usage_log("carol", "A1", at=NOW + HOUR) == ()
    with pytest.raises(SealUseRefused):
        registry.check_use("erin", "A1", DOC, at=NOW + HOUR)
    assert _actions(store)[-1] == "seal.use.refused"
    registry.use_seal("bob", "A1", DOC, at=NOW + HOUR)
    with pytest.raises(SealUseRefused) as caught:
        registry.check_use("bob", "A1", DOC, at=NOW + HOUR)
    assert caught.value.reason is Refusal.USE_LIMIT_REACHED


def test_grant_expiry_and_withdrawal(registry: SealRegistry) -> None:
    timed = registry.grant(
        "carol", "A1", "bob", GrantRole.USER, valid_from=NOW, valid_until=NOW + HOUR, at=NOW
    )
    assert _refused(registry, "bob", DOC, NOW - HOUR) is Refusal.GRANT_NOT_YET_VALID
    registry.use_seal("bob", "A1", DOC, at=NOW + HOUR / 2)
    assert _refused(registry, "bob", DOC, NOW + HOUR) is Refusal.GRANT_EXPIRED
    open_ended = registry.grant("carol", "A1", "erin", GrantRole.USER, at=NOW)
    withdrawn = registry.withdraw_grant("carol", open_ended.id, at=NOW + HOUR)
    assert withdrawn.withdrawn_at == NOW + HOUR
    with pytest.raises(SealUseRefused) as caught:
        registry.use_seal("erin", "A1", DOC, at=NOW + 2 * HOUR)
    assert caught.value.reason is Refusal.GRANT_WITHDRAWN
    with pytest.raises(IllegalTransition, match="already withdrawn"):
        registry.withdraw_grant("carol", open_ended.id, at=NOW + 2 * HOUR)
    assert timed.valid_until == NOW + HOUR


def test_approval_flow(registry: SealRegistry, store: Store) -> None:
    assert _refused(registry, "erin", DOC, NOW) is Refusal.NO_GRANT
    approval = registry.request_use("erin", "A1", DOC.upper(), at=NOW)
    assert approval.document_hash == DOC and not approval.approved
    assert _refused(registry, "erin", DOC, NOW) is Refusal.APPROVAL_PENDING
    with pytest.raises(NotAuthorised, match="not a custodian"):
        registry.approve_use("bob", approval.id, at=NOW)
    approved = registry.approve_use("carol", approval.id, valid_for=HOUR, at=NOW)
    assert approved.approved_by == "carol" and approved.expires == NOW + HOUR
    with pytest.raises(IllegalTransition, match="already given"):
        registry.approve_use("carol", approval.id, at=NOW)
    assert _refused(registry, "erin", OTHER_DOC, NOW) is Refusal.APPROVAL_FOR_ANOTHER_DOCUMENT
    usage = registry.use_seal("erin", "A1", DOC, at=NOW + HOUR / 2)
    assert usage.approval_id == approval.id and usage.grant_id is None
    assert _refused(registry, "erin", DOC, NOW + HOUR / 2) is Refusal.APPROVAL_USED

    late = registry.request_use("erin", "A1", OTHER_DOC, at=NOW)
    registry.approve_use("carol", late.id, valid_for=HOUR, at=NOW)
    assert _refused(registry, "erin", OTHER_DOC, NOW + 2 * HOUR) is Refusal.APPROVAL_EXPIRED
    actions = _actions(store)
    assert actions.count("seal.use-requested") == 2 and actions.count("seal.use-approved") == 2
    assert actions.count("seal.use.refused") == 5


def test_nobody_approves_their_own_request(registry: SealRegistry) -> None:
    mine = registry.request_use("carol", "A1", DOC, at=NOW)
    with pytest.raises(NotAuthorised, match="their own request"):
        registry.approve_use("carol", mine.id, at=NOW)


def test_refusal_is_audited_with_its_reason(registry: SealRegistry, store: Store) -> None:
    _refused(registry, "erin", DOC, NOW)
    with store.sessions() as session:
        event = session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert event is not None and event.action == "seal.use.refused"
    assert event.actor == "erin" and event.subject == "seal/A1"
    assert event.details["refusal"] == "no-grant" and event.details["document_hash"] == DOC


@pytest.mark.parametrize(
    ("event", "new_value"),
    [
        (FirmEvent.NAME_CHANGED, "深圳乙公司"),
        (FirmEvent.LEGAL_REPRESENTATIVE_CHANGED, "李四"),
        (FirmEvent.DEREGISTERED, None),
    ],
)
def test_firm_events_lapse_the_firms_seals(
    registry: SealRegistry, store: Store, maker: Maker, event: FirmEvent, new_value: str | None
) -> None:
    registry.record_seal("maker", FIRM_A, maker.seal("A2"), at=NOW)
    registry.record_seal("maker", FIRM_A, maker.seal("A3"), at=NOW)
    registry.suspend("maker", "A2", at=NOW)
    registry.revoke("maker", "A3", at=NOW)
    registry.grant("carol", "A1", "bob", GrantRole.USER, at=NOW)
    lapsed = registry.firm_event("registry", FIRM_A, event, new_value=new_value, at=NOW + HOUR)
    assert lapsed == ("A1", "A2")
    assert registry.seal("A1").state is SealState.LAPSED
    assert registry.seal("A1").state_since == NOW + HOUR
    assert registry.seal("A3").state is SealState.REVOKED
    assert registry.seal("B1").state is SealState.ACTIVE
    assert _actions(store)[-3:] == [f"firm.{event.value}", "seal.lapsed", "seal.lapsed"]
    assert _refused(registry, "bob", DOC, NOW + 2 * HOUR) is Refusal.SEAL_LAPSED
    if event is FirmEvent.DEREGISTERED:
        with pytest.raises(IllegalTransition, match="deregistered"):
            registry.record_seal("maker", FIRM_A, maker.seal("A4"), at=NOW + 2 * HOUR)
        with pytest.raises(IllegalTransition, match="deregistered"):
            registry.firm_event("registry", FIRM_A, FirmEvent.NAME_CHANGED, new_value="x")
    else:
        # The firm is issued new seals under its new particulars.
        fresh = registry.record_seal("maker", FIRM_A, maker.seal("A4"), at=NOW + 2 * HOUR)
        assert fresh.state is SealState.ACTIVE


def test_firm_event_needs_the_new_particulars(registry: SealRegistry) -> None:
    for event, new_value in ((FirmEvent.NAME_CHANGED, None), (FirmEvent.DEREGISTERED, "x")):
        with pytest.raises(MalformedInput, match="firm event"):
            registry.firm_event("registry", FIRM_A, event, new_value=new_value)


def test_status_list_from_the_registry(registry: SealRegistry, maker: Maker) -> None:
    other = _maker("Another Seal Maker")
    registry.record_seal("other-maker", FIRM_A, other.seal("X1"), at=NOW)
    registry.revoke("maker", "B1", at=NOW)
    data = registry.status_list(maker.key, maker.certificate, NOW + HOUR)
    loaded = load_status_list(data, maker.certificate, NOW + 2 * HOUR)
    assert [e.es_id for e in loaded.entries] == ["A1", "B1"]
    b1 = status_of(loaded, "B1")
    assert b1 is not None and b1.state is SealState.REVOKED and b1.since == NOW
    assert loaded.next_update == NOW + HOUR + timedelta(days=1)


def test_concurrent_uses_respect_the_limit(registry: SealRegistry) -> None:
    registry.grant("carol", "A1", "bob", GrantRole.USER, max_uses=2, at=NOW)
    outcomes: list[str] = []

    def use() -> None:
        try:
            registry.use_seal("bob", "A1", DOC, at=NOW + HOUR)
            outcomes.append("used")
        except SealUseRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=use) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["used"] * 2


def test_bad_firm_registrations(store: Store) -> None:
    for registration, jurisdiction, message in (
        ("91440300MA5G0AAA10", "SZ", "check character"),
        ("1234567", "HK", "8 digits"),
        ("MO-1", "M0", "2 to 8 letters"),
        ("", "MO", "1 to 64"),
    ):
        with pytest.raises(MalformedInput, match=message):
            SealRegistry(store).register_firm(
                "r", registration, name="n", legal_representative="l", jurisdiction=jurisdiction
            )


def test_bad_input_is_named(registry: SealRegistry, maker: Maker) -> None:
    with pytest.raises(AlreadyRegistered, match=f"firm {FIRM_A}"):
        registry.register_firm("r", FIRM_A, name="n", legal_representative="l", jurisdiction="SZ")
    with pytest.raises(AlreadyRegistered, match="user bob"):
        registry.add_user("r", "bob", display_name="Bob", firm=FIRM_A)
    with pytest.raises(AlreadyRegistered, match="seal A1"):
        registry.record_seal("maker", FIRM_A, maker.seal("A1"))
    with pytest.raises(MalformedInput, match="user id"):
        registry.add_user("r", "bob smith", display_name="Bob", firm=FIRM_A)
    with pytest.raises(UnknownRecord, match="no firm 99999999"):
        registry.add_user("r", "zoe", display_name="Zoe", firm="99999999")
    with pytest.raises(UnknownRecord, match="no seal A9"):
        registry.use_seal("bob", "A9", DOC)
    with pytest.raises(UnknownRecord, match="no user nobody"):
        registry.use_seal("nobody", "A1", DOC)
    with pytest.raises(UnknownRecord, match="no approval 999"):
        registry.approve_use("carol", 999)
    with pytest.raises(MalformedInput, match="document hash"):
        registry.use_seal("bob", "A1", "not-a-hash")
    with pytest.raises(MalformedInput, match="time zone"):
        registry.use_seal("bob", "A1", DOC, at=datetime(2026, 1, 1))
    with pytest.raises(MalformedInput, match="electronic seal"):
        registry.record_seal("maker", FIRM_A, b"\x30\x03\x02\x01\x04")
    with pytest.raises(MalformedInput, match="user grants only"):
        registry.grant("carol", "A1", "bob", GrantRole.AUDITOR, max_uses=3)
    with pytest.raises(ForeignFirm):
        registry.record_seal("maker", FIRM_A, maker.seal("A5"), custodians=["mallory"])
    assert registry.seal("A1").state is SealState.ACTIVE
    with pytest.raises(UnknownRecord):
        registry.seal("A5")  # the refused custodian undid the whole record


def test_forged_seal_is_not_recorded(registry: SealRegistry, maker: Maker) -> None:
    genuine = bytearray(maker.seal("A6"))
    genuine[-5] ^= 0x01  # inside the maker's signature value
    with pytest.raises(MalformedInput, match="signature"):
        registry.record_seal("maker", FIRM_A, bytes(genuine))


def test_migration_matches_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    # Other components' tables are theirs to check; a difference naming ours is not.
    ours = [d for d in diff if SEAL_TABLES & set(re.findall(r"\w+", repr(d)))]
    assert ours == []
