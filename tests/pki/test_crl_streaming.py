"""CRLs of many entries, encoded from the registry's iterator one entry at a time."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from asn1crypto import crl as asn1_crl
from cryptography import x509 as cx509

from pki.builders import NOW, Pki
from sealbridge.pki.crl import build_crl
from sealbridge.pki.registry import InMemoryRegistry, Revocation, RevocationReason

REASONS = list(RevocationReason)


class _StreamingRegistry(InMemoryRegistry):
    """Hands out revocations from a generator, as a database cursor would."""

    def __init__(self, entries: list[Revocation]) -> None:
        super().__init__()
        self.entries = entries

    def revocations(self) -> Iterator[Revocation]:
        yield from self.entries


def _entries(count: int) -> list[Revocation]:
    rng = random.Random(count)
    return [
        Revocation(
            rng.getrandbits(159) if number % 7 else number,  # 20-octet and tiny serials
            NOW - timedelta(seconds=number * 37, microseconds=number),
            REASONS[number % len(REASONS)],
        )
        for number in range(count)
    ]


def _build(pki: Pki, entries: list[Revocation]) -> bytes:
    pki.ca.registry = _StreamingRegistry(entries)
    return build_crl(pki.ca, this_update=NOW, next_update=NOW + timedelta(days=1), crl_number=9)


def test_many_entries_parse_verify_and_match(pki: Pki) -> None:
    entries = _entries(20_000)
    der = _build(pki, entries)
    parsed = cx509.load_der_x509_crl(der)
    issuer = cx509.load_der_x509_certificate(pki.ca.certificate.dump())
    assert parsed.is_signature_valid(issuer.public_key())
    assert len(parsed) == len(entries)
    for entry, revoked in zip(entries, parsed, strict=True):
        assert revoked.serial_number == entry.serial
        assert revoked.revocation_date_utc == entry.revoked_at.replace(microsecond=0)
        reasons = [e.value.reason.name for e in revoked.extensions]
        assert reasons == ([] if entry.reason is RevocationReason.UNSPECIFIED else [entry.reason])


def test_hand_encoded_entries_are_der(pki: Pki) -> None:
    der = _build(pki, _entries(300))
    assert asn1_crl.CertificateList.load(der).dump(force=True) == der


def test_times_are_utc_and_switch_to_generalized_time_in_2050(pki: Pki) -> None:
    hong_kong = timezone(timedelta(hours=8))
    entries = [
        Revocation(1, datetime(2026, 1, 1, 7, 0, tzinfo=hong_kong), RevocationReason.SUPERSEDED),
        Revocation(2, datetime(2050, 1, 1, tzinfo=UTC), RevocationReason.UNSPECIFIED),
    ]
    tbs = asn1_crl.CertificateList.load(_build(pki, entries))["tbs_cert_list"]
    first, second = tbs["revoked_certificates"]
    assert first["revocation_date"].name == "utc_time"
    assert first["revocation_date"].native == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert second["revocation_date"].name == "general_time"
    assert second["revocation_date"].native == datetime(2050, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "entry",
    [
        Revocation(1 << 159, NOW, RevocationReason.UNSPECIFIED),
        Revocation(-5, NOW, RevocationReason.UNSPECIFIED),
        Revocation(5, NOW.replace(tzinfo=None), RevocationReason.UNSPECIFIED),
    ],
    ids=["serial-over-20-octets", "negative-serial", "naive-time"],
)
def test_impossible_entries_are_refused(pki: Pki, entry: Revocation) -> None:
    with pytest.raises(ValueError):
        _build(pki, [entry])
