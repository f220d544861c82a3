"""Small certificate hierarchies for document tests."""

from __future__ import annotations

from dataclasses import dataclass

from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import AuthorityUrls, CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name


@dataclass(frozen=True)
class Signer:
    key: KeyHandle
    certificate: x509.Certificate
    ca: CertificateAuthority


def demo_ca(name: str, kind: KeyKind, urls: AuthorityUrls | None = None) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        ca_name(f"{name} Demo CA", "SealBridge Test", "CN"), generate_key(kind), urls=urls
    )


def enterprise(ca: CertificateAuthority, legal_name: str, kind: KeyKind) -> Signer:
    key = generate_key(kind)
    cert = ca.issue(
        enterprise_name(legal_name, "NTRCN-91350100M000100Y43", "CN"),
        key.public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    return Signer(key, cert, ca)
