"""PolledRegistry: answers remembered until the store changes, whoever changed it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pki.builders import cached_key
from sealbridge.authority import shared
from sealbridge.authority.shared import PolledRegistry
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.pki import names, profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.registry import RevocationReason
from sealbridge.service.ca_registry import DatabaseRegistry
from sealbridge.service.db.store import Store

INTERVAL = 0.2


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.embedded(tmp_path)


def _ca(store: Store) -> CertificateAuthority:
    ca = CertificateAuthority.create_root(
        names.ca_name("Polled CA", "SealBridge Test", "CN"), cached_key(KeyKind.ECDSA_P256, "ca")
    )
    ca.registry = DatabaseRegistry(store, "polled")
    return ca


def _issue(ca: CertificateAuthority, label: str) -> int:
    certificate = ca.issue(
        names.ca_name(label, "SealBridge Test", "CN"),
        cached_key(KeyKind.ECDSA_P256, "ee").public_key_info,
        profiles.INDIVIDUAL,
    )
    return certificate.serial_number


def test_another_writer_is_seen_after_the_interval(store: Store) -> None:
    writer = _ca(store)  # stands for another process: its own registry over the store
    serial = _issue(writer, "watched")
    reader = PolledRegistry(store, "polled", interval=INTERVAL)
    assert reader.is_issued(serial) and reader.revocation(serial) is None
    marker = reader.state_marker()

    writer.registry.revoke(serial, writer.certificate.not_valid_before, RevocationReason.SUPERSEDED)
    assert reader.revocation(serial) is None  # remembered: the store is not asked yet
    time.sleep(INTERVAL)
    revocation = reader.revocation(serial)
    assert revocation is not None and revocation.reason is RevocationReason.SUPERSEDED
    assert reader.state_marker() > marker


def test_own_changes_are_seen_at_once(store: Store) -> None:
    ca = _ca(store)
    reader = PolledRegistry(store, "polled", interval=3600)
    ca.registry = reader
    serial = _issue(ca, "own")
    assert reader.is_issued(serial)
    assert reader.revocation(serial) is None
    reader.revoke(serial, ca.certificate.not_valid_before, RevocationReason.KEY_COMPROMISE)
    assert reader.revocation(serial) is not None
    assert [entry.serial for entry in reader.revocations()] == [serial]


def test_memory_is_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared, "_MAX_REMEMBERED", 3)
    reader = PolledRegistry(store, "polled", interval=3600)
    for serial in range(10):
        assert not reader.is_issued(serial)
        assert len(reader._issued) <= 3
