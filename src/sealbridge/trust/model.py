"""The trust federation's data: services on trust lists, and agreements between operators.

Kept as plain frozen data so that serialisation (JSON now, ETSI TS 119 612 XML later)
and the decisions of ``TrustView`` stay separate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from asn1crypto import x509


class Scope(StrEnum):
    """What a recognition covers."""

    E_SIGNATURE = "e-signature"
    E_SEAL = "e-seal"


class ServiceType(StrEnum):
    """Trust service types, after ETSI TS 119 612's CA/QC, TSA/QTST and friends."""

    CA_E_SIGNATURE = "ca-esig"
    CA_E_SEAL = "ca-eseal"
    TSA = "tsa"
    SEAL_MAKER = "seal-maker"
    OCSP = "ocsp"


SCOPE_SERVICE_TYPES: dict[Scope, frozenset[ServiceType]] = {
    Scope.E_SIGNATURE: frozenset({ServiceType.CA_E_SIGNATURE}),
    Scope.E_SEAL: frozenset({ServiceType.CA_E_SEAL, ServiceType.SEAL_MAKER}),
}


class ServiceStatus(StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class StatusChange:
    status: ServiceStatus
    since: datetime


@dataclass(frozen=True)
class TrustService:
    """One service: its identity certificate, type, status history and required policies."""

    name: str
    service_type: ServiceType
    certificate: x509.Certificate
    history: tuple[StatusChange, ...]
    policy_prefixes: tuple[str, ...] = ()
    supply_points: tuple[str, ...] = ()

    def status_at(self, when: datetime) -> ServiceStatus | None:
        """Status in force at ``when``; None before the service was first listed."""
        current: ServiceStatus | None = None
        for change in sorted(self.history, key=lambda c: c.since):
            if change.since <= when:
                current = change.status
        return current


@dataclass(frozen=True)
class TrustServiceProvider:
    name: str
    services: tuple[TrustService, ...]


@dataclass(frozen=True)
class TrustList:
    """A jurisdiction's list of the trust services it recognises itself."""

    territory: str
    operator: str
    sequence_number: int
    issued: datetime
    next_update: datetime
    providers: tuple[TrustServiceProvider, ...]

    def services(self) -> tuple[TrustService, ...]:
        return tuple(s for p in self.providers for s in p.services)


@dataclass(frozen=True)
class RecognitionAgreement:
    """A bilateral, non-transitive agreement between two jurisdictions."""

    parties: tuple[str, str]
    scopes: frozenset[Scope]
    effective_from: datetime
    repealed_at: datetime | None = None
    policy_prefixes: tuple[str, ...] = ()
    title: str = field(default="")

    @property
    def label(self) -> str:
        a, b = self.parties
        return f"{a}<->{b}"

    def in_force(self, when: datetime) -> bool:
        return self.effective_from <= when and (self.repealed_at is None or when < self.repealed_at)

    def counterparty(self, jurisdiction: str) -> str | None:
        a, b = self.parties
        if jurisdiction == a:
            return b
        if jurisdiction == b:
            return a
        return None
