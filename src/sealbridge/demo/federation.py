"""The demo federation: four jurisdictions, their demo CAs, TSAs, operators and lists.

Everything is declared as data (``JURISDICTIONS``, ``AGREEMENTS``) and built with the
same services a real operator would run; names say "Demo" so nothing poses as a real CA.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from asn1crypto import x509

from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.pki.registry import CertificateRegistry
from sealbridge.pki.tsa import TimeStampAuthority
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
from sealbridge.trust.signed import agreement_payload, sign_document, trust_list_payload

Clock = Callable[[], datetime]

# A UUID-derived OID (ITU-T X.667): SealBridge's demo TSA policy, owned by nobody else.
DEMO_TSA_POLICY = "2.25.255289190467622542939262318457383467321"

TRUST_LIST_SIGNER = profiles.CertificateProfile(
    name="trust-list-signer",
    validity=timedelta(days=1095),
    key_usage=frozenset({"digital_signature", "non_repudiation"}),
    revocation_pointers=False,
)


@dataclass(frozen=True)
class JurisdictionSpec:
    code: str
    name_zh: str
    name_en: str
    country: str
    ca_keys: tuple[KeyKind, ...]


JURISDICTIONS = (
    JurisdictionSpec("SZ", "深圳", "Shenzhen", "CN", (KeyKind.ECDSA_P256, KeyKind.SM2)),
    JurisdictionSpec("HK", "香港", "Hong Kong", "HK", (KeyKind.RSA_2048,)),
    JurisdictionSpec("BJ", "北京", "Beijing", "CN", (KeyKind.SM2, KeyKind.ECDSA_P256)),
    JurisdictionSpec("MO", "澳门", "Macao", "MO", (KeyKind.ECDSA_P256,)),
)

AGREEMENTS = (
    ("SZ", "HK", "Shenzhen–Hong Kong mutual recognition of e-signatures and e-seals (demo)"),
    ("SZ", "BJ", "Shenzhen–Beijing mutual recognition of e-signatures and e-seals (demo)"),
)


@dataclass
class Jurisdiction:
    spec: JurisdictionSpec
    cas: dict[KeyKind, CertificateAuthority]
    tsa: TimeStampAuthority
    tsa_certificate: x509.Certificate
    tsa_url: str
    operator_key: KeyHandle
    operator_certificate: x509.Certificate
    extra_services: list[TrustService] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.spec.code

    def ca(self, kind: KeyKind) -> CertificateAuthority:
        return self.cas[kind]

    def ca_id(self, kind: KeyKind) -> str:
        return f"{self.code.lower()}-{kind.value}"


def build_jurisdiction(
    spec: JurisdictionSpec,
    server: AuthorityServer,
    now: datetime,
    clock: Clock,
    registry_for: Callable[[str], CertificateRegistry],
) -> Jurisdiction:
    """Create the jurisdiction's CAs and TSA and mount them on the authority server.

    ``registry_for(ca_id)`` gives each CA the place its issued and revoked state lives.
    """
    cas: dict[KeyKind, CertificateAuthority] = {}
    for kind in spec.ca_keys:
        ca_id = f"{spec.code.lower()}-{kind.value}"
        family = "SM2" if kind is KeyKind.SM2 else kind.value.split("-")[0].upper()
        ca = CertificateAuthority.create_root(
            ca_name(
                f"{spec.name_en} Demo CA ({family})",
                f"SealBridge Demo {spec.name_en}",
                spec.country,
            ),
            generate_key(kind),
            urls=server.ca_urls(ca_id),
            not_before=now - timedelta(days=400),
        )
        ca.registry = registry_for(ca_id)
        server.mount_ca(ca_id, ca)
        cas[kind] = ca
    tsa_kind = next(k for k in spec.ca_keys if k is not KeyKind.SM2)
    tsa_key = generate_key(tsa_kind)
    tsa_cert = cas[tsa_kind].issue(
        ca_name(f"{spec.name_en} Demo TSA", f"SealBridge Demo {spec.name_en}", spec.country),
        tsa_key.public_key_info,
        profiles.TSA,
        not_before=now - timedelta(days=30),
    )
    tsa = TimeStampAuthority(
        tsa_key,
        tsa_cert,
        policy_oid=DEMO_TSA_POLICY,
        clock=clock,
        chain=(cas[tsa_kind].certificate,),
    )
    tsa_id = spec.code.lower()
    server.mount_tsa(tsa_id, tsa)
    operator_key = generate_key(KeyKind.ECDSA_P256)
    operator = CertificateAuthority.create_root(
        ca_name(
            f"{spec.name_en} Demo Trust List Operator",
            f"SealBridge Demo {spec.name_en}",
            spec.country,
        ),
        operator_key,
        profile=TRUST_LIST_SIGNER,
    )
    return Jurisdiction(
        spec, cas, tsa, tsa_cert, server.tsa_url(tsa_id), operator_key, operator.certificate
    )


def trust_list_of(j: Jurisdiction, now: datetime, sequence_number: int = 1) -> TrustList:
    """The jurisdiction's own list: its CAs (for signatures and seals), TSA, seal makers."""
    services: list[TrustService] = []
    for kind, ca in j.cas.items():
        since = ca.certificate.not_valid_before
        family = "SM2" if kind is KeyKind.SM2 else kind.value.upper()
        for service_type in (ServiceType.CA_E_SIGNATURE, ServiceType.CA_E_SEAL):
            services.append(
                TrustService(
                    name=f"{j.spec.name_en} Demo CA ({family})",
                    service_type=service_type,
                    certificate=ca.certificate,
                    history=(StatusChange(ServiceStatus.GRANTED, since),),
                    policy_prefixes=(profiles.MUTUAL_RECOGNITION_POLICY_PREFIX,),
                    supply_points=tuple(u for u in (ca.urls.ocsp, ca.urls.crl) if u),
                )
            )
    services.append(
        TrustService(
            name=f"{j.spec.name_en} Demo TSA",
            service_type=ServiceType.TSA,
            certificate=j.tsa_certificate,
            history=(StatusChange(ServiceStatus.GRANTED, j.tsa_certificate.not_valid_before),),
            supply_points=(j.tsa_url,),
        )
    )
    services.extend(j.extra_services)
    return TrustList(
        territory=j.code,
        operator=f"{j.spec.name_en} Demo Trust List Operator",
        sequence_number=sequence_number,
        issued=now,
        next_update=now + timedelta(days=30),
        providers=(TrustServiceProvider(f"SealBridge Demo {j.spec.name_en}", tuple(services)),),
    )


def publish_trust_list(j: Jurisdiction, server: AuthorityServer, now: datetime) -> bytes:
    body = sign_document(
        trust_list_payload(trust_list_of(j, now)), [(j.operator_key, j.operator_certificate)]
    )
    server.publish(f"/trust/{j.code}.json", body, "application/json")
    return body


def publish_agreement(
    a: Jurisdiction, b: Jurisdiction, title: str, server: AuthorityServer, now: datetime
) -> tuple[str, bytes]:
    agreement = RecognitionAgreement(
        parties=(a.code, b.code),
        scopes=frozenset({Scope.E_SIGNATURE, Scope.E_SEAL}),
        effective_from=now - timedelta(days=365),
        policy_prefixes=(profiles.MUTUAL_RECOGNITION_POLICY_PREFIX,),
        title=title,
    )
    body = sign_document(
        agreement_payload(agreement),
        [(a.operator_key, a.operator_certificate), (b.operator_key, b.operator_certificate)],
    )
    path = f"/trust/agreements/{a.code}-{b.code}.json"
    server.publish(path, body, "application/json")
    return server.base_url + path, body
