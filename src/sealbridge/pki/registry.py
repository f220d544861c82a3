"""What a CA has issued and revoked: the state OCSP and CRL answer from.

``CertificateRegistry`` is the interface; the in-memory one serves a single process and
the tests; a database-backed one lets several responder processes serve one CA.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from asn1crypto import x509


class RevocationReason(StrEnum):
    """RFC 5280 CRLReason names, as asn1crypto spells them."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "key_compromise"
    CA_COMPROMISE = "ca_compromise"
    AFFILIATION_CHANGED = "affiliation_changed"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessation_of_operation"
    CERTIFICATE_HOLD = "certificate_hold"
    PRIVILEGE_WITHDRAWN = "privilege_withdrawn"


@dataclass(frozen=True)
class Revocation:
    serial: int
    revoked_at: datetime
    reason: RevocationReason


class CertificateRegistry(Protocol):
    def record_issued(self, certificate: x509.Certificate) -> None: ...

    def is_issued(self, serial: int) -> bool: ...

    def revoke(self, serial: int, at: datetime, reason: RevocationReason) -> Revocation: ...

    def revocation(self, serial: int) -> Revocation | None: ...

    def revocations(self) -> Iterator[Revocation]: ...


class UnknownCertificate(LookupError):
    """The serial was never issued by this CA."""


class InMemoryRegistry:
    """Thread-safe registry for one process."""

    def __init__(self) -> None:
        self._issued: set[int] = set()
        self._revoked: dict[int, Revocation] = {}
        self._lock = threading.Lock()

    def record_issued(self, certificate: x509.Certificate) -> None:
        with self._lock:
            self._issued.add(certificate.serial_number)

    def is_issued(self, serial: int) -> bool:
        return serial in self._issued

    def revoke(self, serial: int, at: datetime, reason: RevocationReason) -> Revocation:
        with self._lock:
            if serial not in self._issued:
                raise UnknownCertificate(f"serial {serial:x} was not issued by this CA")
            existing = self._revoked.get(serial)
            if existing is not None:
                return existing
            entry = Revocation(serial, at, reason)
            self._revoked[serial] = entry
            return entry

    def revocation(self, serial: int) -> Revocation | None:
        return self._revoked.get(serial)

    def revocations(self) -> Iterator[Revocation]:
        with self._lock:
            entries = list(self._revoked.values())
        return iter(sorted(entries, key=lambda r: r.serial))
