"""Two worker processes on one port, CA state in a shared SQLite store."""

from __future__ import annotations

import functools
import hashlib
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import tsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp as cocsp

from authority import pool_site
from authority.harness import fetch
from authority.pool_site import Credential
from pki.builders import TSA_POLICY, cached_key
from sealbridge.authority.pool import AuthorityPool
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.pki import names, profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.registry import RevocationReason
from sealbridge.pki.tsa import TimeStampResponse
from sealbridge.service.ca_registry import DatabaseRegistry
from sealbridge.service.db.store import EMBEDDED_FILE, Store

CA_ID = "pool-ca"
# Enough separate connections that both workers get some: the kernel hashes each one.
CONNECTIONS = 16


@dataclass
class PoolSite:
    pool: AuthorityPool
    ca: CertificateAuthority
    delegate: x509.Certificate

    def issue(self, label: str) -> x509.Certificate:
        return self.ca.issue(
            names.enterprise_name(f"深圳池测试 {label}", "NTRCN-91440300TEST00002", "CN"),
            cached_key(KeyKind.ECDSA_P256, "ee").public_key_info,
            profiles.ENTERPRISE_SIGNATURE,
        )

    def ocsp_request(self, certificate: x509.Certificate) -> bytes:
        return (
            cocsp.OCSPRequestBuilder()
            .add_certificate(
                cx509.load_der_x509_certificate(certificate.dump()),
                cx509.load_der_x509_certificate(self.ca.certificate.dump()),
                hashes.SHA1(),
            )
            .build()
            .public_bytes(serialization.Encoding.DER)
        )


def _credentials(tmp: Path) -> tuple[str, CertificateAuthority, dict[str, Credential]]:
    store = Store.embedded(tmp)
    ca = CertificateAuthority.create_root(
        names.ca_name("SealBridge Pool Test CA", "SealBridge Test", "CN"),
        cached_key(KeyKind.ECDSA_P256, "pool-ca"),
    )
    ca.registry = DatabaseRegistry(store, CA_ID)
    credentials = {"ca": Credential.of(ca.certificate, ca.key)}
    for role, profile in (("delegate", profiles.OCSP_SIGNER), ("tsa", profiles.TSA)):
        key = cached_key(KeyKind.ECDSA_P256, f"pool-{role}")
        name = names.ca_name(f"SealBridge Pool Test {role}", "SealBridge Test", "CN")
        credentials[role] = Credential.of(ca.issue(name, key.public_key_info, profile), key)
    return f"sqlite+pysqlite:///{tmp / EMBEDDED_FILE}", ca, credentials


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PoolSite]:
    url, ca, credentials = _credentials(tmp_path_factory.mktemp("pool"))
    build = functools.partial(
        pool_site.build,
        url,
        CA_ID,
        credentials["ca"],
        credentials["delegate"],
        credentials["tsa"],
        TSA_POLICY,
    )
    with AuthorityPool(build, workers=2) as pool:
        yield PoolSite(pool, ca, x509.Certificate.load(credentials["delegate"].certificate))


def _statuses(site: PoolSite, request: bytes) -> set[cocsp.OCSPCertStatus]:
    statuses = set()
    for _ in range(CONNECTIONS):  # each fetch is a new connection
        reply = fetch(site.pool, "POST", f"/ca/{CA_ID}/ocsp", request, "application/ocsp-request")
        response = cocsp.load_der_ocsp_response(reply.body)
        statuses.add(response.certificate_status)
    return statuses


def test_workers_agree_on_good_then_revoked(site: PoolSite) -> None:
    ee = site.issue("revoked")
    request = site.ocsp_request(ee)
    # Issued by the parent after the workers started: they read it from the store.
    assert _statuses(site, request) == {cocsp.OCSPCertStatus.GOOD}
    site.ca.revoke(ee, RevocationReason.KEY_COMPROMISE)
    deadline = time.monotonic() + 5
    while _statuses(site, request) != {cocsp.OCSPCertStatus.REVOKED}:
        assert time.monotonic() < deadline, "a worker kept serving its cached good answer"
        time.sleep(pool_site.POLL_INTERVAL)


def test_responses_come_from_the_delegate(site: PoolSite) -> None:
    ee = site.issue("delegated")
    reply = fetch(
        site.pool,
        "POST",
        f"/ca/{CA_ID}/ocsp",
        site.ocsp_request(ee),
        "application/ocsp-request",
    )
    response = cocsp.load_der_ocsp_response(reply.body)
    delegate = cx509.load_der_x509_certificate(site.delegate.dump())
    assert response.certificates == [delegate]
    assert response.responder_key_hash == site.delegate.public_key.sha1


def test_silent_clients_do_not_stall_the_workers(site: PoolSite) -> None:
    request = site.ocsp_request(site.issue("silent"))
    silent = [socket.create_connection(("127.0.0.1", site.pool.port)) for _ in range(4)]
    try:
        started = time.monotonic()
        assert _statuses(site, request) == {cocsp.OCSPCertStatus.GOOD}
        assert time.monotonic() - started < 2
    finally:
        for connection in silent:
            connection.close()


def test_tsa_answers_from_the_workers(site: PoolSite) -> None:
    query = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(b"pool").digest(),
            },
            "nonce": 7,
        }
    ).dump()
    reply = fetch(site.pool, "POST", "/tsa/tsa", query, "application/timestamp-query")
    response = TimeStampResponse.load(reply.body)
    assert response["status"]["status"].native == "granted"
    info = response["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert info["nonce"].native == 7


def test_a_worker_that_cannot_build_stops_the_pool(tmp_path: Path) -> None:
    _, _, credentials = _credentials(tmp_path)
    build = functools.partial(
        pool_site.build,
        "nosuchdb://x",
        CA_ID,
        credentials["ca"],
        credentials["delegate"],
        credentials["tsa"],
        TSA_POLICY,
    )
    pool = AuthorityPool(build, workers=2)
    with pytest.raises(RuntimeError, match="StoreError"):
        pool.start()
    with pytest.raises(OSError):
        fetch(pool, "GET", "/x")
