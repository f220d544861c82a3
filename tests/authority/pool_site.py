"""What each worker of a test ``AuthorityPool`` builds: a CA over a shared SQLite store.

Workers are fresh interpreters, so everything reaches them as bytes and a store URL,
the way a deployment would hand them key files and a database address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sealbridge.authority.routes import Routes
from sealbridge.authority.shared import PolledRegistry
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, SoftwareKey
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.ocsp import ResponderCertificate
from sealbridge.pki.tsa import TimeStampAuthority
from sealbridge.service.db.store import Store

PASSWORD = b"pool-test"
POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class Credential:
    """A certificate and its key, as a worker receives them."""

    certificate: bytes
    key_pem: bytes
    kind: KeyKind

    @classmethod
    def of(cls, certificate: x509.Certificate, key: KeyHandle) -> Credential:
        assert isinstance(key, SoftwareKey)
        return cls(certificate.dump(), key.private_key_pem(PASSWORD), key.kind)

    def load(self) -> tuple[x509.Certificate, KeyHandle]:
        private = serialization.load_pem_private_key(self.key_pem, PASSWORD)
        assert isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return x509.Certificate.load(self.certificate), SoftwareKey(private, self.kind)


def build(
    store_url: str,
    ca_id: str,
    ca: Credential,
    delegate: Credential,
    tsa: Credential,
    tsa_policy: str,
) -> Routes:
    certificate, key = ca.load()
    authority = CertificateAuthority(
        certificate,
        key,
        registry=PolledRegistry(Store.open(store_url), ca_id, interval=POLL_INTERVAL),
    )
    routes = Routes()
    delegate_certificate, delegate_key = delegate.load()
    routes.mount_ca(
        ca_id, authority, ocsp_delegate=ResponderCertificate(delegate_key, delegate_certificate)
    )
    tsa_certificate, tsa_key = tsa.load()
    routes.mount_tsa(
        "tsa",
        TimeStampAuthority(
            tsa_key, tsa_certificate, policy_oid=tsa_policy, clock=lambda: datetime.now(UTC)
        ),
    )
    return routes
