"""A small PKI per test: a root CA, an end-entity certificate and a TSA certificate.

Keys are cached for the session (RSA generation is the slow part); CAs, and so their
registries, are fresh for every test because tests revoke certificates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.pki import names, profiles
from sealbridge.pki.issuer import CertificateAuthority

NOW = datetime.now(UTC).replace(microsecond=0)
TSA_POLICY = "1.3.6.1.4.1.61234.1.3161"


@functools.cache
def cached_key(kind: KeyKind, role: str) -> KeyHandle:
    return generate_key(kind)


@dataclass
class Pki:
    ca: CertificateAuthority
    ee: x509.Certificate
    tsa_key: KeyHandle
    tsa_cert: x509.Certificate


def build_pki(kind: KeyKind, label: str = "root") -> Pki:
    ca = CertificateAuthority.create_root(
        names.ca_name(f"SealBridge Test {label} {kind.value}", "SealBridge Test", "CN"),
        cached_key(kind, f"{label}-ca"),
    )
    ee = ca.issue(
        names.enterprise_name("深圳测试有限公司", "NTRCN-91440300TEST00001", "CN"),
        cached_key(KeyKind.ECDSA_P256, "ee").public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    tsa_key = cached_key(kind, f"{label}-tsa")
    tsa_cert = ca.issue(
        names.ca_name(f"SealBridge Test TSA {kind.value}", "SealBridge Test", "CN"),
        tsa_key.public_key_info,
        profiles.TSA,
    )
    return Pki(ca=ca, ee=ee, tsa_key=tsa_key, tsa_cert=tsa_cert)
