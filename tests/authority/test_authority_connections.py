"""HTTP/1.1 on the wire: kept-alive and pipelined requests, framing errors, slow handlers."""

from __future__ import annotations

import hashlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from asn1crypto import ocsp, tsp
from cryptography.x509 import ocsp as cocsp

from authority.harness import Site, build_site, fetch
from pki.builders import TSA_POLICY, cached_key
from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind, digest
from sealbridge.crypto.verify import verify_signature
from sealbridge.pki import names, profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.ocsp import ResponderCertificate
from sealbridge.pki.tsa import TimeStampAuthority, TimeStampResponse

OCSP_REQUEST = "application/ocsp-request"


def _ocsp_request(ca: CertificateAuthority, serial: int) -> bytes:
    public_key = bytes(ca.certificate.public_key["public_key"])
    cert_id = {
        "hash_algorithm": {"algorithm": "sha1"},
        "issuer_name_hash": digest("sha1", ca.certificate.subject.dump()),
        "issuer_key_hash": digest("sha1", public_key),
        "serial_number": serial,
    }
    return ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}}).dump()


def _exchange(site: Site, payload: bytes, *, shut: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", site.server.port), timeout=5) as connection:
        connection.sendall(payload)
        if shut:
            connection.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_one_connection_serves_many_requests(site: Site) -> None:
    ca = site.cas["sz-ecdsa"]
    request = _ocsp_request(ca, site.issue("sz-ecdsa", "keep-alive").serial_number)
    connection = http.client.HTTPConnection("127.0.0.1", site.server.port, timeout=5)
    sockets = set()
    try:
        for _ in range(3):
            connection.request(
                "POST", "/ca/sz-ecdsa/ocsp", body=request, headers={"Content-Type": OCSP_REQUEST}
            )
            response = connection.getresponse()
            assert response.status == 200
            assert response.getheader("Connection") is None
            body = response.read()
            status = cocsp.load_der_ocsp_response(body).certificate_status
            assert status is cocsp.OCSPCertStatus.GOOD
            sockets.add(connection.sock)
        connection.request("GET", "/ca/sz-ecdsa/cert")
        assert connection.getresponse().read() == ca.certificate.dump()
        sockets.add(connection.sock)
        assert len(sockets) == 1  # http.client never had to reconnect
    finally:
        connection.close()


def test_pipelined_requests_are_answered_in_order(site: Site) -> None:
    request = (
        b"GET /ca/hk-rsa/cert HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /ca/sz-ecdsa/cert HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    answer = _exchange(site, request, shut=False)
    replies = []
    while answer:
        head, _, rest = answer.partition(b"\r\n\r\n")
        [length] = [
            int(line[15:]) for line in head.split(b"\r\n") if line.startswith(b"Content-Length:")
        ]
        replies.append((head.split(b" ")[1], rest[:length]))
        answer = rest[length:]
    assert replies == [
        (b"200", site.cas["hk-rsa"].certificate.dump()),
        (b"404", b"no such endpoint\n"),
        (b"200", site.cas["sz-ecdsa"].certificate.dump()),
    ]


def test_http_1_0_keep_alive_is_honoured_when_asked(site: Site) -> None:
    request = b"GET /nothing HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
    with socket.create_connection(("127.0.0.1", site.server.port), timeout=5) as connection:
        connection.sendall(request)
        first = connection.recv(65536)
        connection.sendall(request)
        second = connection.recv(65536)
    for answer in (first, second):
        assert answer.startswith(b"HTTP/1.0 404")
        assert b"Connection: keep-alive" in answer


def test_expect_100_continue(site: Site) -> None:
    ca = site.cas["hk-rsa"]
    body = _ocsp_request(ca, site.issue("hk-rsa", "continue").serial_number)
    head = (
        f"POST /ca/hk-rsa/ocsp HTTP/1.1\r\nHost: x\r\nContent-Type: {OCSP_REQUEST}\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", site.server.port), timeout=5) as connection:
        connection.sendall(head)
        assert connection.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.sendall(body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK")
    response = cocsp.load_der_ocsp_response(answer.split(b"\r\n\r\n", 1)[1])
    assert response.certificate_status is cocsp.OCSPCertStatus.GOOD


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GET / HTTP/2.0\r\n\r\n", b"505"),
        (b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n", b"431"),
        (b"POST /tsa/sz-tsa HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"411"),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\n folded: header\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", b"400"),
        (b"get /x y HTTP/1.1\r\n\r\n", b"400"),
    ],
    ids=["http-2", "head-too-long", "chunked", "no-colon", "folded", "two-lengths", "spaces"],
)
def test_requests_that_cannot_be_framed_close_the_connection(
    site: Site, request_bytes: bytes, status: bytes
) -> None:
    answer = _exchange(site, request_bytes, shut=False)
    assert answer.split(b" ", 2)[1] == status
    assert b"Connection: close" in answer


@pytest.fixture
def slow() -> Iterator[tuple[AuthorityServer, threading.Event, Site]]:
    release = threading.Event()
    with AuthorityServer() as server:
        site = build_site(server)

        def build() -> bytes:
            release.wait(10)
            return b"{}"

        server.mount_seal_status("slow", build)
        yield server, release, site
        release.set()


def test_a_slow_handler_does_not_hold_up_other_clients(
    slow: tuple[AuthorityServer, threading.Event, Site],
) -> None:
    server, release, site = slow
    answers: list[int] = []
    waiting = threading.Thread(
        target=lambda: answers.append(fetch(server, "GET", "/seal-status/slow").status)
    )
    waiting.start()
    time.sleep(0.1)
    started = time.monotonic()
    request = _ocsp_request(site.cas["sz-ecdsa"], site.issue("sz-ecdsa").serial_number)
    reply = fetch(server, "POST", "/ca/sz-ecdsa/ocsp", request, OCSP_REQUEST)
    assert cocsp.load_der_ocsp_response(reply.body).certificate_status is (
        cocsp.OCSPCertStatus.GOOD
    )
    assert time.monotonic() - started < 1
    assert answers == []
    release.set()
    waiting.join(5)
    assert answers == [200]


def test_delegated_responder_and_sm2_tsa_over_http(site: Site) -> None:
    ca = site.cas["hk-rsa"]
    key = cached_key(KeyKind.RSA_2048, "hk-ocsp")
    name = names.ca_name("SealBridge Test OCSP hk-rsa", "SealBridge Test", "CN")
    delegate = ResponderCertificate(key, ca.issue(name, key.public_key_info, profiles.OCSP_SIGNER))
    site.server.mount_ca("hk-delegated", ca, ocsp_delegate=delegate)
    request = _ocsp_request(ca, site.issue("hk-rsa", "delegated").serial_number)
    reply = fetch(site.server, "POST", "/ca/hk-delegated/ocsp", request, OCSP_REQUEST)
    response = cocsp.load_der_ocsp_response(reply.body)
    assert response.certificate_status is cocsp.OCSPCertStatus.GOOD
    assert response.responder_key_hash == delegate.certificate.public_key.sha1

    sm2_key = cached_key(KeyKind.SM2, "sm2-tsa")
    sm2_cert = ca.issue(
        names.ca_name("SealBridge Test SM2 TSA", "SealBridge Test", "CN"),
        sm2_key.public_key_info,
        profiles.TSA,
    )
    site.server.mount_tsa(
        "sm2-tsa", TimeStampAuthority(sm2_key, sm2_cert, policy_oid=TSA_POLICY, clock=_now)
    )
    query = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sm3"},
                "hashed_message": hashlib.new("sm3", b"sm2 over http").digest(),
            },
            "nonce": 31,
        }
    ).dump()
    answer = fetch(site.server, "POST", "/tsa/sm2-tsa", query, "application/timestamp-query")
    signed_data = TimeStampResponse.load(answer.body)["time_stamp_token"]["content"]
    [signer_info] = signed_data["signer_infos"]
    assert signer_info["signature_algorithm"]["algorithm"].native == "sm2_sm3"
    verify_signature(
        sm2_cert.public_key,
        signer_info["signature_algorithm"],
        b"\x31" + signer_info["signed_attrs"].dump()[1:],
        signer_info["signature"].native,
    )


def _now() -> datetime:
    return datetime.now(UTC)


def test_undecodable_header_bytes_are_just_wrong(site: Site) -> None:
    request = (
        b"POST /tsa/sz-tsa HTTP/1.1\r\nContent-Type: \xff\xfe/\xc3\r\nContent-Length: 2\r\n"
        b"Connection: close\r\n\r\n\x30\x00"
    )
    assert _exchange(site, request, shut=False).startswith(b"HTTP/1.1 415")
