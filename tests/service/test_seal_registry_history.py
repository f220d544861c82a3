"""The registry keeps every state change of a seal and numbers every status list it signs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.pki import profiles
from sealbridge.pki.identifiers import uscc_check_character
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.seals import SealType, decode_seal, issue_seal, render_name_seal
from sealbridge.seals.registry import FirmEvent, SealState
from sealbridge.seals.status import (
    StateChange,
    StatusListRollback,
    load_status_list,
    status_check,
    status_of,
)
from sealbridge.service.db.store import MIGRATIONS, Store
from sealbridge.service.seal_registry import SealRegistry

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
FIRM = "91440300MA5G0HH01" + uscc_check_character("91440300MA5G0HH01")


class Maker:
    def __init__(self, name: str) -> None:
        root = CertificateAuthority.create_root(
            ca_name(f"{name} Root", "SealBridge Test", "CN"), generate_key(KeyKind.SM2)
        )
        self.key: KeyHandle = generate_key(KeyKind.SM2)
        self.certificate = root.issue(
            ca_name(name, "SealBridge Test", "CN"), self.key.public_key_info, profiles.SEAL_MAKER
        )

    def seal(self, es_id: str) -> bytes:
        return issue_seal(
            self.key,
            self.certificate,
            es_id=es_id,
            seal_type=SealType.LEGAL_REPRESENTATIVE,
            name=f"张三印 {es_id}",
            bound_certificates=[self.certificate],
            picture=render_name_seal("张三"),
            valid_from=NOW - 30 * DAY,
            valid_to=NOW + 365 * DAY,
        )

    def status_list(self, registry: SealRegistry, at: datetime = NOW) -> bytes:
        return registry.status_list(self.key, self.certificate, at)


@pytest.fixture(scope="module")
def maker() -> Maker:
    return Maker("History Test Seal Maker")


@pytest.fixture
def registry(store: Store) -> SealRegistry:
    registry = SealRegistry(store)
    registry.register_firm(
        "registrar", FIRM, name="深圳乙公司", legal_representative="张三", jurisdiction="SZ"
    )
    return registry


def test_every_list_outnumbers_the_last(registry: SealRegistry, maker: Maker) -> None:
    registry.record_seal("maker", FIRM, maker.seal("H1"), at=NOW - 5 * DAY)
    first, second = maker.status_list(registry), maker.status_list(registry)
    seen = load_status_list(second, maker.certificate, NOW).sequence
    assert load_status_list(first, maker.certificate, NOW).sequence == seen - 1
    with pytest.raises(StatusListRollback, match="older than"):
        load_status_list(first, maker.certificate, NOW, last_sequence=seen)
    # Each maker counts for itself.
    other = Maker("Another History Seal Maker")
    assert load_status_list(other.status_list(registry), other.certificate, NOW).sequence == 1
    assert load_status_list(maker.status_list(registry), maker.certificate, NOW).sequence == 3


def test_lists_signed_at_once_never_share_a_number(registry: SealRegistry, maker: Maker) -> None:
    numbers: list[int] = []

    def publish() -> None:
        signed = maker.status_list(registry)
        numbers.append(load_status_list(signed, maker.certificate, NOW).sequence)

    threads = [threading.Thread(target=publish) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]


def test_history_tells_the_state_at_any_time(registry: SealRegistry, maker: Maker) -> None:
    registry.record_seal("maker", FIRM, maker.seal("H2"), at=NOW - 5 * DAY)
    registry.suspend("maker", "H2", at=NOW - 3 * DAY)
    registry.resume("maker", "H2", at=NOW - DAY)
    listed = load_status_list(maker.status_list(registry), maker.certificate, NOW)
    entry = status_of(listed, "H2")
    assert entry is not None and entry.state is SealState.ACTIVE
    assert entry.history == (
        StateChange(SealState.ACTIVE, NOW - 5 * DAY),
        StateChange(SealState.SUSPENDED, NOW - 3 * DAY),
        StateChange(SealState.ACTIVE, NOW - DAY),
    )
    seal = decode_seal(registry.seal("H2").der)
    during = status_check([listed], seal, NOW - 2 * DAY)
    assert not during.passed and "was suspended since" in during.detail
    assert status_check([listed], seal, NOW - 4 * DAY).passed
    assert status_check([listed], seal, NOW).passed


def test_lapse_and_revocation_are_history_too(registry: SealRegistry, maker: Maker) -> None:
    registry.record_seal("maker", FIRM, maker.seal("H3"), at=NOW - 5 * DAY)
    registry.record_seal("maker", FIRM, maker.seal("H4"), at=NOW - 5 * DAY)
    registry.revoke("maker", "H4", reason="lost", at=NOW - 4 * DAY)
    registry.firm_event("registrar", FIRM, FirmEvent.DEREGISTERED, at=NOW - 2 * DAY)
    listed = load_status_list(maker.status_list(registry), maker.certificate, NOW)
    lapsed, revoked = status_of(listed, "H3"), status_of(listed, "H4")
    assert lapsed is not None and [c.state for c in lapsed.history] == [
        SealState.ACTIVE,
        SealState.LAPSED,
    ]
    assert revoked is not None and [c.state for c in revoked.history] == [
        SealState.ACTIVE,
        SealState.REVOKED,
    ]


def test_migration_gives_old_seals_a_history_of_their_state(tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.execute(
            text(
                "INSERT INTO firms (id, registration, name, legal_representative, jurisdiction,"
                " status, status_since) VALUES (1, :firm, 'x', 'y', 'SZ', 'registered', :at)"
            ),
            {"firm": FIRM, "at": NOW - 9 * DAY},
        )
        connection.execute(
            text(
                "INSERT INTO seals (es_id, firm_id, type_code, name, maker_sha256, valid_from,"
                " valid_to, der, state, state_since) VALUES ('OLD1', 1, 5, 'n', 'f', :start,"
                " :end, x'30', 'suspended', :at)"
            ),
            {"start": NOW - 9 * DAY, "end": NOW + 9 * DAY, "at": NOW - 2 * DAY},
        )
    engine.dispose()
    store = Store.open(url)
    try:
        with store.sessions() as session:
            rows = session.execute(
                text("SELECT es_id, state FROM seal_state_changes ORDER BY id")
            ).all()
    finally:
        store.close()
    assert [tuple(row) for row in rows] == [("OLD1", "suspended")]
