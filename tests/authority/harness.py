"""A running authority site for tests: two CAs and two TSAs behind one real HTTP server."""

from __future__ import annotations

import http.client
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from asn1crypto import x509

from pki.builders import TSA_POLICY, cached_key
from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.pki import names, profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.tsa import TimeStampAuthority

# ca_id -> (key kind, tsa_id)
LAYOUT = {"sz-ecdsa": (KeyKind.ECDSA_P256, "sz-tsa"), "hk-rsa": (KeyKind.RSA_2048, "hk-tsa")}


@dataclass
class Site:
    server: AuthorityServer
    cas: dict[str, CertificateAuthority]
    tsa_certs: dict[str, x509.Certificate]

    def issue(self, ca_id: str, label: str = "ee") -> x509.Certificate:
        """A fresh end-entity certificate, so tests that revoke do not disturb others."""
        return self.cas[ca_id].issue(
            names.enterprise_name(f"香港測試有限公司 {label}", "NTRHK-12345678", "HK"),
            cached_key(KeyKind.ECDSA_P256, "ee").public_key_info,
            profiles.ENTERPRISE_SIGNATURE,
        )


def build_site(server: AuthorityServer) -> Site:
    cas: dict[str, CertificateAuthority] = {}
    tsa_certs: dict[str, x509.Certificate] = {}
    for ca_id, (kind, tsa_id) in LAYOUT.items():
        ca = CertificateAuthority.create_root(
            names.ca_name(f"SealBridge Test {ca_id}", "SealBridge Test", "CN"),
            cached_key(kind, ca_id),
            urls=server.ca_urls(ca_id),
        )
        server.mount_ca(ca_id, ca)
        tsa_key = cached_key(kind, tsa_id)
        tsa_cert = ca.issue(
            names.ca_name(f"SealBridge Test TSA {tsa_id}", "SealBridge Test", "CN"),
            tsa_key.public_key_info,
            profiles.TSA,
        )
        server.mount_tsa(
            tsa_id,
            TimeStampAuthority(
                tsa_key, tsa_cert, policy_oid=TSA_POLICY, clock=lambda: datetime.now(UTC)
            ),
        )
        cas[ca_id] = ca
        tsa_certs[tsa_id] = tsa_cert
    return Site(server=server, cas=cas, tsa_certs=tsa_certs)


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: http.client.HTTPMessage


class Listening(Protocol):
    """An ``AuthorityServer`` or an ``AuthorityPool``: anything with a loopback port."""

    port: int


def fetch(
    server: Listening,
    method: str,
    path: str,
    body: bytes | None = None,
    content_type: str | None = None,
) -> Reply:
    # http.client rather than urllib: no proxy from the environment, no redirects, raw status.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Reply(
            response.status,
            response.getheader("Content-Type", ""),
            response.read(),
            response.headers,
        )
    finally:
        connection.close()


def openssl_env() -> dict[str, str]:
    """The environment without proxies: openssl would send loopback requests through one."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["no_proxy"] = "127.0.0.1"
    return env
