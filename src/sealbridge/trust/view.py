"""TrustView: which services a jurisdiction recognises, for one scope, at one time.

Recognition is decided here and nowhere else: a service counts when it is granted at the
time in question on the jurisdiction's own list, or on a counterparty's list under an
agreement in force that covers the scope. Agreements are never chained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from asn1crypto import x509

from sealbridge.trust.model import (
    SCOPE_SERVICE_TYPES,
    RecognitionAgreement,
    Scope,
    ServiceStatus,
    ServiceType,
    TrustList,
    TrustService,
)
from sealbridge.trust.policy import matches_prefix, path_policies


@dataclass(frozen=True)
class Federation:
    """Every trust list and agreement known to the relying party, by territory."""

    trust_lists: Mapping[str, TrustList]
    agreements: Sequence[RecognitionAgreement]

    def view(self, jurisdiction: str, at: datetime, scope: Scope) -> TrustView:
        return TrustView(self, jurisdiction, at, scope)

    def listing(self, certificate: x509.Certificate) -> list[tuple[str, TrustService]]:
        """Every (territory, service) whose identity is this certificate."""
        return self._by_der.get(certificate.dump(), [])

    @cached_property
    def _by_der(self) -> dict[bytes, list[tuple[str, TrustService]]]:
        """Listings by certificate DER, built once: every recognition decision asks."""
        found: dict[bytes, list[tuple[str, TrustService]]] = {}
        for territory, tl in self.trust_lists.items():
            for service in tl.services():
                found.setdefault(service.certificate.dump(), []).append((territory, service))
        return found

    def all_certificates(self) -> list[x509.Certificate]:
        return [s.certificate for tl in self.trust_lists.values() for s in tl.services()]

    def ca_certificates(self) -> list[x509.Certificate]:
        """Certificates of listed CAs only: roots a relying party outside the federation has."""
        unique = {
            s.certificate.dump(): s.certificate
            for tl in self.trust_lists.values()
            for s in tl.services()
            if s.service_type in (ServiceType.CA_E_SIGNATURE, ServiceType.CA_E_SEAL)
        }
        return list(unique.values())


@dataclass(frozen=True)
class Decision:
    """A recognition verdict and the rule that decided it."""

    recognised: bool | None
    rule: str
    territory: str | None = None
    agreement: str | None = None


@dataclass(frozen=True)
class TrustView:
    federation: Federation
    jurisdiction: str
    at: datetime
    scope: Scope

    def agreement_with(self, territory: str) -> RecognitionAgreement | None:
        for agreement in self.federation.agreements:
            if (
                agreement.counterparty(self.jurisdiction) == territory
                and agreement.in_force(self.at)
                and self.scope in agreement.scopes
            ):
                return agreement
        return None

    def anchors(self) -> list[x509.Certificate]:
        """Certificates of services this jurisdiction recognises for the scope now."""
        found = []
        for territory, tl in self.federation.trust_lists.items():
            if territory != self.jurisdiction and self.agreement_with(territory) is None:
                continue
            for service in tl.services():
                if self._usable(service):
                    found.append(service.certificate)
        return found

    def decide(self, path: Sequence[x509.Certificate]) -> Decision:
        """Decide recognition of a validated chain ``path`` (anchor first, signer last).

        The most specific listing decides first: a seal maker listed by its own
        certificate speaks before the CA that issued that certificate. Required policies
        are checked by RFC 5280 policy processing from the listed certificate down, so
        they must survive every CA in between, not merely appear in the signer's
        certificate.
        """
        listed = [
            (position, territory, service)
            for position in reversed(range(len(path)))
            for territory, service in self.federation.listing(path[position])
            if service.service_type in SCOPE_SERVICE_TYPES[self.scope]
        ]
        if not listed:
            return Decision(
                False,
                f"chain leads to no {self.scope.value} service on any federation trust list",
            )
        reasons = []
        for position, territory, service in listed:
            status = service.status_at(self.at)
            if status is not ServiceStatus.GRANTED:
                reasons.append(
                    f"{service.name} on TL({territory}) is "
                    f"{status.value if status else 'not yet listed'} at {self.at:%Y-%m-%d}"
                )
                continue
            agreement: RecognitionAgreement | None = None
            if territory != self.jurisdiction:
                agreement = self.agreement_with(territory)
                if agreement is None:
                    reasons.append(
                        f"no {self.jurisdiction}–{territory} agreement covering "
                        f"{self.scope.value} in force"
                    )
                    continue
            required = service.policy_prefixes + (agreement.policy_prefixes if agreement else ())
            if required:
                outcome = path_policies(path[position:])
                if outcome.problem is not None:
                    reasons.append(f"certificate policy processing failed: {outcome.problem}")
                    continue
                missing = [p for p in required if not matches_prefix(p, outcome.policies)]
                if missing:
                    reasons.append(
                        f"policy {missing[0]}.* required, but the certification path "
                        f"from {service.name} does not carry it (RFC 5280 policy processing)"
                    )
                    continue
            if agreement is None:
                return Decision(True, f"{service.name} is granted on TL({territory})", territory)
            return Decision(
                True,
                f"{service.name} is granted on TL({territory}); agreement {agreement.label} "
                f"covers {self.scope.value}",
                territory,
                agreement.label,
            )
        return Decision(False, "; ".join(dict.fromkeys(reasons)), listed[0][1])

    def _usable(self, service: TrustService) -> bool:
        return (
            service.service_type in SCOPE_SERVICE_TYPES[self.scope]
            and service.status_at(self.at) is ServiceStatus.GRANTED
        )
