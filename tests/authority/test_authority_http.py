"""The authority server over real HTTP on 127.0.0.1: routing, limits, bad input, caching."""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from asn1crypto import algos, crl, keys, ocsp, tsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp as cocsp

from authority.harness import Site, fetch
from pki.builders import TSA_POLICY, cached_key
from sealbridge.authority.server import MAX_BODY, AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle
from sealbridge.pki.issuer import AuthorityUrls, CertificateAuthority
from sealbridge.pki.registry import RevocationReason
from sealbridge.pki.tsa import TimeStampAuthority, TimeStampResponse

OCSP_REQUEST = "application/ocsp-request"
TS_QUERY = "application/timestamp-query"


def _ocsp_request(site: Site, ca_id: str, cert: x509.Certificate) -> bytes:
    return (
        cocsp.OCSPRequestBuilder()
        .add_certificate(
            cx509.load_der_x509_certificate(cert.dump()),
            cx509.load_der_x509_certificate(site.cas[ca_id].certificate.dump()),
            hashes.SHA256(),
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )


def _ts_query(algorithm: str, imprint: bytes) -> bytes:
    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": algorithm},
                "hashed_message": imprint,
            },
            "cert_req": True,
        }
    ).dump()


def _ts_status(body: bytes) -> tuple[str, set[str] | None]:
    status = TimeStampResponse.load(body)["status"]
    return status["status"].native, status["fail_info"].native


def test_urls_point_at_the_server(site: Site) -> None:
    base = site.server.base_url
    assert base == f"http://127.0.0.1:{site.server.port}"
    assert site.server.ca_urls("sz-ecdsa") == AuthorityUrls(
        ocsp=f"{base}/ca/sz-ecdsa/ocsp",
        crl=f"{base}/ca/sz-ecdsa/crl",
        ca_issuers=f"{base}/ca/sz-ecdsa/cert",
    )
    assert site.server.tsa_url("sz-tsa") == f"{base}/tsa/sz-tsa"
    ee = site.issue("sz-ecdsa")
    assert ee.ocsp_urls == [f"{base}/ca/sz-ecdsa/ocsp"]
    assert ee.crl_distribution_points[0]["distribution_point"].native == [f"{base}/ca/sz-ecdsa/crl"]


@pytest.mark.parametrize("bad", ["", "a/b", "../x", "x y", "-lead", "é", "x" * 65])
def test_identifiers_are_checked(site: Site, bad: str) -> None:
    with pytest.raises(ValueError):
        site.server.ca_urls(bad)
    with pytest.raises(ValueError):
        site.server.tsa_url(bad)


def test_ca_certificate_is_served(site: Site) -> None:
    reply = fetch(site.server, "GET", "/ca/hk-rsa/cert")
    assert (reply.status, reply.content_type) == (200, "application/pkix-cert")
    assert reply.body == site.cas["hk-rsa"].certificate.dump()


def test_ocsp_post_and_get(site: Site) -> None:
    ee = site.issue("sz-ecdsa")
    request = _ocsp_request(site, "sz-ecdsa", ee)
    post = fetch(site.server, "POST", "/ca/sz-ecdsa/ocsp", request, OCSP_REQUEST)
    assert (post.status, post.content_type) == (200, "application/ocsp-response")
    assert cocsp.load_der_ocsp_response(post.body).certificate_status is cocsp.OCSPCertStatus.GOOD

    site.cas["sz-ecdsa"].revoke(ee, RevocationReason.CESSATION_OF_OPERATION)
    segment = quote(base64.b64encode(request).decode(), safe="")
    get = fetch(site.server, "GET", f"/ca/sz-ecdsa/ocsp/{segment}")
    assert (get.status, get.content_type) == (200, "application/ocsp-response")
    response = cocsp.load_der_ocsp_response(get.body)
    assert response.certificate_status is cocsp.OCSPCertStatus.REVOKED
    assert response.revocation_reason is cx509.ReasonFlags.cessation_of_operation
    # An unencoded '/' inside the base64 is part of the request, not another path step.
    raw = fetch(site.server, "GET", f"/ca/sz-ecdsa/ocsp/{base64.b64encode(request).decode()}")
    assert cocsp.load_der_ocsp_response(raw.body).serial_number == ee.serial_number


def test_ocsp_for_another_cas_certificate_is_unauthorized(site: Site) -> None:
    # RFC 5019 §2.2.3: a responder that cannot speak for the issuer says so.
    ee = site.issue("hk-rsa")
    request = _ocsp_request(site, "hk-rsa", ee)
    reply = fetch(site.server, "POST", "/ca/sz-ecdsa/ocsp", request, OCSP_REQUEST)
    status = cocsp.load_der_ocsp_response(reply.body).response_status
    assert status is cocsp.OCSPResponseStatus.UNAUTHORIZED


@pytest.mark.parametrize("body", [b"\x00" * 40, b"\x30\x82\xff\xff", bytes(range(256)) * 4])
def test_malformed_ocsp_gets_malformed_request(site: Site, body: bytes) -> None:
    reply = fetch(site.server, "POST", "/ca/hk-rsa/ocsp", body, OCSP_REQUEST)
    assert (reply.status, reply.content_type) == (200, "application/ocsp-response")
    assert ocsp.OCSPResponse.load(reply.body)["response_status"].native == "malformed_request"
    get = fetch(site.server, "GET", "/ca/hk-rsa/ocsp/%%%not-base64")
    assert ocsp.OCSPResponse.load(get.body)["response_status"].native == "malformed_request"


def test_crl_is_cached_until_a_revocation(site: Site) -> None:
    first = fetch(site.server, "GET", "/ca/hk-rsa/crl")
    assert (first.status, first.content_type) == (200, "application/pkix-crl")
    assert fetch(site.server, "GET", "/ca/hk-rsa/crl").body == first.body

    ee = site.issue("hk-rsa")
    site.cas["hk-rsa"].revoke(ee, RevocationReason.PRIVILEGE_WITHDRAWN)
    second = crl.CertificateList.load(fetch(site.server, "GET", "/ca/hk-rsa/crl").body)
    assert ee.serial_number in {
        entry["user_certificate"].native
        for entry in second["tbs_cert_list"]["revoked_certificates"]
    }
    before = crl.CertificateList.load(first.body).crl_number_value.native
    assert second.crl_number_value.native > before


class _Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def test_crl_is_reissued_at_half_life() -> None:
    clock = _Clock()
    with AuthorityServer(clock=clock) as server:
        ca = CertificateAuthority.create_root(
            x509.Name.build({"common_name": "half-life"}), cached_key(KeyKind.ECDSA_P256, "hl")
        )
        server.mount_ca("half-life", ca, crl_validity=timedelta(hours=2))

        def number() -> int:
            body = fetch(server, "GET", "/ca/half-life/crl").body
            value: int = crl.CertificateList.load(body).crl_number_value.native
            return value

        first = number()
        clock.now += timedelta(minutes=59)
        assert number() == first
        clock.now += timedelta(minutes=2)
        listing = crl.CertificateList.load(fetch(server, "GET", "/ca/half-life/crl").body)
        assert listing.crl_number_value.native > first
        assert listing["tbs_cert_list"]["this_update"].native == clock.now
        assert listing["tbs_cert_list"]["next_update"].native == clock.now + timedelta(hours=2)


def test_tsa_answers_and_rejects(site: Site) -> None:
    good = fetch(
        site.server,
        "POST",
        "/tsa/sz-tsa",
        _ts_query("sha256", hashlib.sha256(b"doc").digest()),
        TS_QUERY,
    )
    assert (good.status, good.content_type) == (200, "application/timestamp-reply")
    assert _ts_status(good.body) == ("granted", None)

    for query, failure in [
        (bytes(range(97)), "bad_data_format"),
        (_ts_query("sha1", hashlib.sha1(b"doc").digest()), "bad_alg"),
        (_ts_query("1.3.6.1.4.1.61234.7", b"\x00" * 32), "bad_alg"),
        (_ts_query("sha256", b"\x00" * 31), "bad_data_format"),
    ]:
        reply = fetch(site.server, "POST", "/tsa/hk-tsa", query, TS_QUERY)
        assert (reply.status, reply.content_type) == (200, "application/timestamp-reply")
        assert _ts_status(reply.body) == ("rejection", {failure})


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/nothing",
        "/ca",
        "/ca/",
        "/ca/nobody/crl",
        "/ca/sz-ecdsa",
        "/ca/sz-ecdsa/crl/x",
        "/ca/sz-ecdsa/key",
        "/ca/sz-ecdsa/ocsp/",
        "/tsa",
        "/tsa/nobody",
        "/tsa/sz-tsa/x",
    ],
)
def test_unknown_paths_are_404_in_plain_text(site: Site, path: str) -> None:
    reply = fetch(site.server, "GET", path)
    assert reply.status == 404
    assert reply.content_type.startswith("text/plain")
    assert reply.body == b"no such endpoint\n"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/tsa/sz-tsa", "POST"),
        ("GET", "/ca/sz-ecdsa/ocsp", "POST"),
        ("POST", "/ca/sz-ecdsa/crl", "GET"),
        ("PUT", "/ca/sz-ecdsa/cert", "GET"),
        ("DELETE", "/ca/sz-ecdsa/crl", "GET"),
        ("POST", "/trust/lists/demo.xml", "GET"),
    ],
)
def test_wrong_method_is_405(site: Site, method: str, path: str, allowed: str) -> None:
    site.server.publish("/trust/lists/demo.xml", b"<TrustServiceStatusList/>", "application/xml")
    reply = fetch(site.server, method, path, b"" if method != "GET" else None)
    assert reply.status == 405
    assert reply.headers["Allow"] == allowed
    assert reply.content_type.startswith("text/plain")


def test_head_has_headers_but_no_body(site: Site) -> None:
    reply = fetch(site.server, "HEAD", "/ca/sz-ecdsa/crl")
    assert (reply.status, reply.body) == (405, b"")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/ca/sz-ecdsa/ocsp", "text/plain"),
        ("/ca/sz-ecdsa/ocsp", TS_QUERY),
        ("/ca/sz-ecdsa/ocsp", None),
        ("/tsa/sz-tsa", OCSP_REQUEST),
        ("/tsa/sz-tsa", "application/octet-stream"),
    ],
)
def test_wrong_content_type_is_415(site: Site, path: str, content_type: str | None) -> None:
    reply = fetch(site.server, "POST", path, b"\x30\x00", content_type)
    assert reply.status == 415
    assert reply.content_type.startswith("text/plain")


def test_content_type_parameters_and_case_are_accepted(site: Site) -> None:
    reply = fetch(
        site.server, "POST", "/ca/sz-ecdsa/ocsp", b"junk", "Application/OCSP-Request; charset=x"
    )
    assert reply.status == 200


def _raw_exchange(server: AuthorityServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (f"Content-Length: {MAX_BODY + 1}\r\n", b"413"),
        ("Content-Length: 99999999999999999999\r\n", b"413"),
        ("", b"411"),
        ("Content-Length: -1\r\n", b"400"),
        ("Content-Length: 0x10\r\n", b"400"),
    ],
)
def test_body_length_limits(site: Site, headers: str, status: bytes) -> None:
    request = (
        f"POST /ca/sz-ecdsa/ocsp HTTP/1.0\r\nContent-Type: {OCSP_REQUEST}\r\n{headers}\r\n"
    ).encode()
    answer = _raw_exchange(site.server, request)
    assert answer.split(b" ", 2)[1] == status
    assert b"Traceback" not in answer


def test_body_at_the_limit_is_read(site: Site) -> None:
    reply = fetch(site.server, "POST", "/ca/sz-ecdsa/ocsp", b"\x00" * MAX_BODY, OCSP_REQUEST)
    assert ocsp.OCSPResponse.load(reply.body)["response_status"].native == "malformed_request"


def test_short_body_is_400(site: Site) -> None:
    request = (
        f"POST /tsa/sz-tsa HTTP/1.0\r\nContent-Type: {TS_QUERY}\r\nContent-Length: 100\r\n\r\nshort"
    ).encode()
    with socket.create_connection(("127.0.0.1", site.server.port), timeout=5) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.0 400")


def test_garbage_request_line_is_plain_text_400(site: Site) -> None:
    answer = _raw_exchange(site.server, b"GET / \x16\x03\x01 HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 400")
    assert b"Content-Type: text/plain" in answer
    assert b"<html" not in answer.lower()


def test_published_document(site: Site) -> None:
    site.server.publish("/trust/sz.xml", "<列表/>".encode(), "application/vnd.etsi.tsl+xml")
    reply = fetch(site.server, "GET", "/trust/sz.xml?fresh=1")
    assert (reply.status, reply.content_type) == (200, "application/vnd.etsi.tsl+xml")
    assert reply.body == "<列表/>".encode()
    site.server.publish("/trust/sz.xml", b"<v2/>", "application/vnd.etsi.tsl+xml")
    assert fetch(site.server, "GET", "/trust/sz.xml").body == b"<v2/>"
    with pytest.raises(ValueError):
        site.server.publish("relative.xml", b"", "text/plain")


def test_silent_client_does_not_block_others(site: Site) -> None:
    ee = site.issue("sz-ecdsa", "silent")
    request = _ocsp_request(site, "sz-ecdsa", ee)
    silent = socket.create_connection(("127.0.0.1", site.server.port))
    half_spoken = socket.create_connection(("127.0.0.1", site.server.port))
    try:
        half_spoken.sendall(b"POST /ca/sz-ecdsa/ocsp HTTP/1.0\r\nContent-Length: 10")
        started = time.monotonic()
        reply = fetch(site.server, "POST", "/ca/sz-ecdsa/ocsp", request, OCSP_REQUEST)
        assert time.monotonic() - started < 2
        status = cocsp.load_der_ocsp_response(reply.body).certificate_status
        assert status is cocsp.OCSPCertStatus.GOOD
    finally:
        silent.close()
        half_spoken.close()


def test_silent_client_is_disconnected_after_the_timeout() -> None:
    with (
        AuthorityServer(client_timeout=0.3) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as silent,
    ):
        started = time.monotonic()
        assert silent.recv(1024) == b""
        assert time.monotonic() - started < 3


class _BrokenKey:
    """Signs nothing: stands for a token that fell over mid-request."""

    def __init__(self, key: KeyHandle) -> None:
        self._key = key
        self.kind = key.kind

    @property
    def public_key_info(self) -> keys.PublicKeyInfo:
        return self._key.public_key_info

    def default_signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        return self._key.default_signature_algorithm()

    def sign(self, data: bytes, algorithm: algos.SignedDigestAlgorithm) -> bytes:
        raise RuntimeError("token unplugged")


@pytest.fixture
def broken(site: Site) -> Iterator[None]:
    ca = site.cas["sz-ecdsa"]
    tsa_cert = site.tsa_certs["sz-tsa"]
    broken_ca = CertificateAuthority(ca.certificate, _BrokenKey(ca.key), registry=ca.registry)
    site.server.mount_ca("broken", broken_ca)
    site.server.mount_tsa(
        "broken",
        TimeStampAuthority(
            _BrokenKey(cached_key(KeyKind.ECDSA_P256, "sz-tsa")),
            tsa_cert,
            policy_oid=TSA_POLICY,
            clock=lambda: datetime.now(UTC),
        ),
    )
    yield


@pytest.mark.usefixtures("broken")
def test_internal_errors_never_reach_the_client_as_tracebacks(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    ee = site.issue("sz-ecdsa", "broken")
    with caplog.at_level(logging.ERROR, logger="sealbridge.authority"):
        ocsp_reply = fetch(
            site.server,
            "POST",
            "/ca/broken/ocsp",
            _ocsp_request(site, "sz-ecdsa", ee),
            OCSP_REQUEST,
        )
        crl_reply = fetch(site.server, "GET", "/ca/broken/crl")
        tsa_reply = fetch(
            site.server, "POST", "/tsa/broken", _ts_query("sha256", b"\x01" * 32), TS_QUERY
        )
    assert ocsp.OCSPResponse.load(ocsp_reply.body)["response_status"].native == "internal_error"
    assert (crl_reply.status, crl_reply.body) == (500, b"internal error\n")
    assert _ts_status(tsa_reply.body) == ("rejection", {"system_failure"})
    for reply in (ocsp_reply, crl_reply, tsa_reply):
        assert b"Traceback" not in reply.body and b"unplugged" not in reply.body
    assert sum("token unplugged" in (r.exc_text or "") for r in caplog.records) == 3


def test_server_is_quiet(site: Site, capfd: pytest.CaptureFixture[str]) -> None:
    fetch(site.server, "GET", "/nothing")
    fetch(site.server, "GET", "/ca/sz-ecdsa/crl")
    _raw_exchange(site.server, b"BREW /pot HTTP/1.0\r\n\r\n")
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_lifecycle() -> None:
    server = AuthorityServer()
    assert server.port != 0
    server.stop()  # never started: just releases the socket
    with AuthorityServer() as running:
        assert fetch(running, "GET", "/x").status == 404
        running.start()  # already running: no second thread
    with pytest.raises(OSError):
        fetch(running, "GET", "/x")
