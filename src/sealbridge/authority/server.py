"""The authority's public HTTP face: CRLs, OCSP, RFC 3161 time-stamps, seal status lists
and static documents.

The standard library server is enough here: every answer is a small DER document built
by the pure pki modules, and relying parties (openssl, pyHanko, browsers) only need plain
HTTP/1.0. Each connection gets its own daemon thread and a socket timeout, so a client
that connects and stays silent holds only its own thread, and only for a few seconds.
"""

from __future__ import annotations

import hashlib
import logging
import re
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from sealbridge.pki.crl import build_crl
from sealbridge.pki.issuer import AuthorityUrls, CertificateAuthority
from sealbridge.pki.ocsp import OCSPResponder, error_response
from sealbridge.pki.registry import CertificateRegistry
from sealbridge.pki.tsa import TimeStampAuthority, rejection

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_OCSP_RESPONSE = "application/ocsp-response"
_TSA_REPLY = "application/timestamp-reply"
_JSON = "application/json"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def _text(status: int, message: str, *headers: tuple[str, str]) -> _Response:
    return _Response(status, f"{message}\n".encode(), "text/plain; charset=utf-8", headers)


_INTERNAL_ERROR = _text(500, "internal error")


@dataclass(frozen=True)
class _Endpoint:
    method: str
    handle: Callable[[bytes], _Response]
    # POST bodies must be of this type; GET endpoints take no body.
    accepts: str | None = None
    # What the client gets if ``handle`` fails unexpectedly: protocols with their own
    # error statuses (OCSP internalError, TSA systemFailure) say it in their own terms.
    failure: _Response = _INTERNAL_ERROR


class _CaMount:
    """One CA's endpoints, with its CRL cached until revocations change or it ages."""

    def __init__(
        self, ca: CertificateAuthority, clock: Callable[[], datetime], crl_validity: timedelta
    ) -> None:
        self.ca = ca
        self.responder = OCSPResponder(ca, clock)
        self.certificate = ca.certificate.dump()
        self._clock = clock
        self._crl_validity = crl_validity
        self._lock = threading.Lock()
        self._crl = b""
        self._crl_number = 0
        self._fingerprint = b""
        self._refresh_at = datetime.min.replace(tzinfo=UTC)

    def crl(self) -> bytes:
        with self._lock:
            now = self._clock()
            fingerprint = _revocations_fingerprint(self.ca.registry)
            if fingerprint != self._fingerprint or now >= self._refresh_at:
                # Seconds since the epoch keep the number increasing across restarts,
                # as RFC 5280 §5.2.3 requires; +1 covers several rebuilds in one second.
                self._crl_number = max(self._crl_number + 1, int(now.timestamp()))
                self._crl = build_crl(
                    self.ca,
                    this_update=now,
                    next_update=now + self._crl_validity,
                    crl_number=self._crl_number,
                )
                self._fingerprint = fingerprint
                # Reissue at half-life so clients never fetch a CRL about to expire.
                self._refresh_at = now + self._crl_validity / 2
            return self._crl


def _revocations_fingerprint(registry: CertificateRegistry) -> bytes:
    """Changes whenever the set of revocations does, without keeping a copy of it."""
    fingerprint = hashlib.sha256()
    for revocation in registry.revocations():
        fingerprint.update(
            f"{revocation.serial:x} {revocation.revoked_at.isoformat()} "
            f"{revocation.reason.value};".encode()
        )
    return fingerprint.digest()


class AuthorityServer:
    """CRL, OCSP, TSA and document endpoints on 127.0.0.1, one daemon thread per client.

    The socket is bound at construction, so ``base_url`` and the URL builders can be
    used to issue certificates that point at this server before it starts serving.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        clock: Callable[[], datetime] = _utc_now,
        client_timeout: float = 5.0,
    ) -> None:
        self._clock = clock
        self._cas: dict[str, _CaMount] = {}
        self._tsas: dict[str, TimeStampAuthority] = {}
        self._documents: dict[str, _Response] = {}
        self._seal_status: dict[str, Callable[[], bytes]] = {}
        self._httpd = _HTTPServer(port, self, client_timeout)
        self._thread: threading.Thread | None = None
        self.port: int = self._httpd.server_port
        self.base_url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"authority-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> AuthorityServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def mount_ca(
        self,
        ca_id: str,
        ca: CertificateAuthority,
        *,
        crl_validity: timedelta = timedelta(days=1),
    ) -> None:
        """Serve ``ca``'s CRL, OCSP and certificate under ``/ca/{ca_id}/``; replaces any."""
        self._cas[_checked_id(ca_id)] = _CaMount(ca, self._clock, crl_validity)

    def mount_tsa(self, tsa_id: str, tsa: TimeStampAuthority) -> None:
        """Serve ``tsa`` at ``POST /tsa/{tsa_id}``; replaces any TSA mounted there."""
        self._tsas[_checked_id(tsa_id)] = tsa

    def publish(self, path: str, body: bytes, content_type: str) -> None:
        """Serve ``body`` at ``GET path``, e.g. a signed trust list; replaces any document."""
        if not path.startswith("/") or "?" in path or "#" in path:
            raise ValueError(f"document path {path!r} must be an absolute path without a query")
        self._documents[path] = _Response(200, body, content_type)

    def mount_seal_status(self, maker_id: str, build: Callable[[], bytes]) -> None:
        """Serve a seal maker's signed status list at ``GET /seal-status/{maker_id}``.

        ``build`` runs on every request, so a suspension or revocation shows at once
        instead of when a published copy is next replaced.
        """
        self._seal_status[_checked_id(maker_id)] = build

    def seal_status_url(self, maker_id: str) -> str:
        return f"{self.base_url}/seal-status/{_checked_id(maker_id)}"

    def ca_urls(self, ca_id: str) -> AuthorityUrls:
        base = f"{self.base_url}/ca/{_checked_id(ca_id)}"
        return AuthorityUrls(ocsp=f"{base}/ocsp", crl=f"{base}/crl", ca_issuers=f"{base}/cert")

    def tsa_url(self, tsa_id: str) -> str:
        return f"{self.base_url}/tsa/{_checked_id(tsa_id)}"

    def _resolve(self, path: str) -> _Endpoint | None:
        document = self._documents.get(path)
        if document is not None:
            return _Endpoint("GET", lambda _body: document)
        match path.split("/", 4):
            case ["", "tsa", tsa_id] if tsa_id in self._tsas:
                return _tsa_endpoint(self._tsas[tsa_id])
            case ["", "ca", ca_id, *rest] if ca_id in self._cas:
                return _ca_endpoint(self._cas[ca_id], rest)
            case ["", "seal-status", maker_id] if maker_id in self._seal_status:
                build = self._seal_status[maker_id]
                return _Endpoint("GET", lambda _body: _Response(200, build(), _JSON))
        return None


def _tsa_endpoint(tsa: TimeStampAuthority) -> _Endpoint:
    return _Endpoint(
        "POST",
        lambda body: _Response(200, tsa.respond(body), _TSA_REPLY),
        accepts="application/timestamp-query",
        failure=_Response(200, rejection("system_failure", "internal error"), _TSA_REPLY),
    )


def _ca_endpoint(mount: _CaMount, rest: list[str]) -> _Endpoint | None:
    ocsp_failure = _Response(200, error_response("internal_error"), _OCSP_RESPONSE)
    match rest:
        case ["crl"]:
            return _Endpoint("GET", lambda _: _Response(200, mount.crl(), "application/pkix-crl"))
        case ["cert"]:
            return _Endpoint(
                "GET", lambda _: _Response(200, mount.certificate, "application/pkix-cert")
            )
        case ["ocsp"]:
            return _Endpoint(
                "POST",
                lambda body: _Response(200, mount.responder.respond(body), _OCSP_RESPONSE),
                accepts="application/ocsp-request",
                failure=ocsp_failure,
            )
        case ["ocsp", encoded] if encoded:
            # ``encoded`` is the raw remainder of the path: base64 may contain '/'.
            return _Endpoint(
                "GET",
                lambda _: _Response(200, mount.responder.respond_get(encoded), _OCSP_RESPONSE),
                failure=ocsp_failure,
            )
    return None


def _checked_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"identifier {value!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return value


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, authority: AuthorityServer, client_timeout: float) -> None:
        self.authority = authority
        self.client_timeout = client_timeout
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name, which can stall on a machine
        # without working DNS; a loopback server does not need it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.socket.getsockname()[:2]
        self.server_name = host
        self.server_port = port

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish mid-answer are routine for a public responder, not news.
        logger.debug("connection from %s ended abnormally", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "SealBridge-Authority"
    sys_version = ""
    # http.server's own errors (bad request line, unsupported method) as plain text too.
    error_message_format = "%(code)d %(message)s\n"
    error_content_type = "text/plain; charset=utf-8"

    def setup(self) -> None:
        super().setup()
        # A client that stays silent this long is dropped, freeing its thread.
        self.connection.settimeout(self.server.client_timeout)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        path = self.path.split("?", 1)[0]
        endpoint = self.server.authority._resolve(path)
        if endpoint is None:
            self._send(_text(404, "no such endpoint"))
            return
        if self.command != endpoint.method:
            self._send(_text(405, f"use {endpoint.method}", ("Allow", endpoint.method)))
            return
        body = self._body(endpoint.accepts) if endpoint.accepts is not None else b""
        if body is None:
            return
        if isinstance(body, _Response):
            self._send(body)
            return
        try:
            response = endpoint.handle(body)
        except Exception:
            logger.exception("%s %s failed", self.command, path)
            response = endpoint.failure
        self._send(response)

    def _body(self, content_type: str) -> bytes | _Response | None:
        """The request body, or the error to answer with, or None if nobody is listening."""
        declared = self.headers.get("Content-Length")
        if declared is None:
            return _text(411, "Content-Length is required")
        if not (declared.isascii() and declared.isdigit()):
            return _text(400, "Content-Length is not a number")
        length = int(declared)
        if length > MAX_BODY:
            return _text(413, f"request body over {MAX_BODY} bytes")
        if self.headers.get_content_type() != content_type:
            return _text(415, f"send {content_type}")
        try:
            body = self.rfile.read(length)
        except OSError:  # stalled past the client timeout, or gone
            return None
        if len(body) != length:
            return _text(400, "request body shorter than Content-Length")
        return body

    def _send(self, response: _Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
