"""A small trust federation for tests: operators, CAs, lists, agreements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.trust.model import (
    RecognitionAgreement,
    Scope,
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Operator:
    def __init__(self, code: str) -> None:
        self.code = code
        self.key: KeyHandle = generate_key(KeyKind.ECDSA_P256)
        self.certificate = CertificateAuthority.create_root(
            ca_name(f"{code} Demo Trust List Operator", "SealBridge Demo", "CN"), self.key
        ).certificate
        self.ca = CertificateAuthority.create_root(
            ca_name(f"{code} Demo CA", "SealBridge Demo", "CN"),
            generate_key(KeyKind.ECDSA_P256),
            not_before=NOW - timedelta(days=400),
        )

    def signer_path(
        self, profile: profiles.CertificateProfile = profiles.ENTERPRISE_SIGNATURE
    ) -> list[x509.Certificate]:
        """A validated-looking path (listed CA first) to a fresh end-entity certificate."""
        key = generate_key(KeyKind.ECDSA_P256)
        leaf = self.ca.issue(
            enterprise_name(f"{self.code} Firm", "NTRCN-91350100M000100Y43", "CN"),
            key.public_key_info,
            profile,
        )
        return [self.ca.certificate, leaf]

    def trust_list(
        self, sequence: int = 1, history: tuple[StatusChange, ...] | None = None
    ) -> TrustList:
        service = TrustService(
            name=f"{self.code} Demo CA",
            service_type=ServiceType.CA_E_SIGNATURE,
            certificate=self.ca.certificate,
            history=history or (StatusChange(ServiceStatus.GRANTED, NOW - timedelta(days=300)),),
            policy_prefixes=(profiles.MUTUAL_RECOGNITION_POLICY_PREFIX,),
        )
        return TrustList(
            territory=self.code,
            operator=f"{self.code} operator",
            sequence_number=sequence,
            issued=NOW,
            next_update=NOW + timedelta(days=30),
            providers=(TrustServiceProvider(f"{self.code} provider", (service,)),),
        )


def agreement(a: str, b: str, **kwargs: object) -> RecognitionAgreement:
    values: dict[str, object] = {
        "parties": (a, b),
        "scopes": frozenset({Scope.E_SIGNATURE, Scope.E_SEAL}),
        "effective_from": NOW - timedelta(days=200),
    }
    values.update(kwargs)
    return RecognitionAgreement(**values)  # type: ignore[arg-type]
