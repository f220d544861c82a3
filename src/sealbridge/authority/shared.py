"""CA state shared by responder processes through the store, read the way responders read.

An OCSP responder asks the registry about the same few serials over and over, and most
answers have not changed since the last time. ``PolledRegistry`` remembers them, and
forgets them all whenever the store has changed. It learns of changes by reading one
row, the head of the audit chain, at most every ``interval`` seconds: every change of CA
state is audited in the transaction that makes it, so the head moves exactly when the
state may have. A revocation made by another process therefore shows in this one within
``interval``; one made through this object shows at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sized
from datetime import datetime

from asn1crypto import x509
from sqlalchemy import select

from sealbridge.pki.registry import Revocation, RevocationReason
from sealbridge.service.ca_registry import DatabaseRegistry
from sealbridge.service.db.models import AuditHead
from sealbridge.service.db.store import Store

# Answers remembered at most, so that clients asking about random serials cannot make
# the memory grow without bound: past it, everything is forgotten and asked again.
_MAX_REMEMBERED = 100_000


class PolledRegistry:
    """A ``DatabaseRegistry`` whose answers are remembered until the store changes."""

    def __init__(
        self, store: Store, ca_id: str, *, interval: float = 0.5, actor: str = "system"
    ) -> None:
        self._store = store
        self._registry = DatabaseRegistry(store, ca_id, actor)
        self._interval = interval
        self._lock = threading.Lock()
        self._polled_at = -float("inf")
        self._marker = -1
        # Bumped whenever the memory is wiped, so an answer read from the database
        # before a wipe is not remembered after it.
        self._generation = 0
        self._issued: dict[int, bool] = {}
        self._revoked: dict[int, Revocation | None] = {}

    def record_issued(self, certificate: x509.Certificate) -> None:
        self._registry.record_issued(certificate)
        self._forget()

    def is_issued(self, serial: int) -> bool:
        self._poll()
        known = self._issued.get(serial)
        if known is not None:
            return known
        generation = self._generation
        issued = self._registry.is_issued(serial)
        with self._lock:
            if self._may_remember(generation, self._issued):
                self._issued[serial] = issued
        return issued

    def revoke(self, serial: int, at: datetime, reason: RevocationReason) -> Revocation:
        revocation = self._registry.revoke(serial, at, reason)
        self._forget()
        return revocation

    def revocation(self, serial: int) -> Revocation | None:
        self._poll()
        memory = self._revoked  # a wipe replaces the dict, never empties this one
        if serial in memory:
            return memory[serial]
        generation = self._generation
        revocation = self._registry.revocation(serial)
        with self._lock:
            if self._may_remember(generation, self._revoked):
                self._revoked[serial] = revocation
        return revocation

    def revocations(self) -> Iterator[Revocation]:
        return self._registry.revocations()

    def state_marker(self) -> int:
        """The audit chain head as last polled: it moves whenever the CA state may have."""
        self._poll()
        return self._marker

    def _poll(self) -> None:
        now = time.monotonic()
        if now - self._polled_at < self._interval:
            return
        with self._lock:
            if now - self._polled_at < self._interval:
                return
            with self._store.sessions() as session:
                marker = session.execute(
                    select(AuditHead.last_event_id).where(AuditHead.id == 1)
                ).scalar_one_or_none()
            self._polled_at = now
            if (marker or 0) != self._marker:
                self._marker = marker or 0
                self._wipe()

    def _forget(self) -> None:
        with self._lock:
            self._wipe()

    def _wipe(self) -> None:
        self._generation += 1
        self._issued = {}
        self._revoked = {}

    def _may_remember(self, generation: int, memory: Sized) -> bool:
        """Whether an answer read in ``generation`` may join ``memory``; lock held."""
        if generation != self._generation:
            return False
        if len(memory) >= _MAX_REMEMBERED:
            self._wipe()
            return False
        return True
