"""What the authority serves, by path: CA certificates, CRLs, OCSP, time-stamps, seal
status lists and published documents.

``Routes`` knows nothing of sockets or processes, so the same mounts serve from a thread
of the caller's process (``AuthorityServer``) or from several worker processes at once
(``AuthorityPool``).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from sealbridge.authority.http import NOT_FOUND, Endpoint, Response
from sealbridge.pki.crl import build_crl
from sealbridge.pki.issuer import AuthorityUrls, CertificateAuthority
from sealbridge.pki.ocsp import OCSPResponder, ResponderCertificate, error_response
from sealbridge.pki.registry import CertificateRegistry
from sealbridge.pki.tsa import rejection

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# Trust lists run to a few hundred kilobytes; anything far larger is not ours to serve.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
_OCSP_REQUEST = "application/ocsp-request"
_OCSP_RESPONSE = "application/ocsp-response"
_TSA_QUERY = "application/timestamp-query"
_TSA_REPLY = "application/timestamp-reply"
_JSON = "application/json"


def utc_now() -> datetime:
    return datetime.now(UTC)


class TimeStampResponder(Protocol):
    """Anything that answers DER TimeStampReq bytes with DER TimeStampResp bytes."""

    def respond(self, request_der: bytes) -> bytes: ...


@runtime_checkable
class ChangeMarked(Protocol):
    """A registry that can tell cheaply whether anything changed since it last said.

    Registries without one have their revocations hashed to decide whether a cached CRL
    still holds, which reads them all.
    """

    def state_marker(self) -> int: ...


def checked_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"identifier {value!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return value


def ca_urls(base_url: str, ca_id: str) -> AuthorityUrls:
    base = f"{base_url}/ca/{checked_id(ca_id)}"
    return AuthorityUrls(ocsp=f"{base}/ocsp", crl=f"{base}/crl", ca_issuers=f"{base}/cert")


class _CaMount:
    """One CA's endpoints, with its CRL cached until its state changes or it ages."""

    def __init__(
        self,
        ca: CertificateAuthority,
        clock: Callable[[], datetime],
        crl_validity: timedelta,
        responder: OCSPResponder,
    ) -> None:
        self.ca = ca
        self.responder = responder
        self._clock = clock
        self._crl_validity = crl_validity
        self._lock = threading.Lock()
        self._crl = b""
        self._crl_number = 0
        self._fingerprint: object = None
        self._refresh_at = datetime.min.replace(tzinfo=UTC)
        certificate = Response(200, ca.certificate.dump(), "application/pkix-cert")
        self.cert = Endpoint("GET", lambda _body: certificate)
        # Building a CRL of many entries takes seconds: not on the event loop.
        self.crl = Endpoint(
            "GET",
            lambda _body: Response(200, self._current_crl(), "application/pkix-crl"),
            blocking=True,
        )
        self.ocsp_failure = Response(200, error_response("internal_error"), _OCSP_RESPONSE)
        self.ocsp = Endpoint(
            "POST",
            lambda body: Response(200, responder.respond(body), _OCSP_RESPONSE),
            accepts=_OCSP_REQUEST,
            failure=self.ocsp_failure,
        )

    def ocsp_get(self, encoded: str) -> Endpoint:
        return Endpoint(
            "GET",
            lambda _body: Response(200, self.responder.respond_get(encoded), _OCSP_RESPONSE),
            failure=self.ocsp_failure,
        )

    def _current_crl(self) -> bytes:
        with self._lock:
            now = self._clock()
            fingerprint = _state_fingerprint(self.ca.registry)
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


def _state_fingerprint(registry: CertificateRegistry) -> object:
    """Changes whenever the set of revocations does."""
    if isinstance(registry, ChangeMarked):
        return registry.state_marker()
    fingerprint = hashlib.sha256()
    for revocation in registry.revocations():
        fingerprint.update(
            f"{revocation.serial:x} {revocation.revoked_at.isoformat()} "
            f"{revocation.reason.value};".encode()
        )
    return fingerprint.digest()


class Routes:
    """The mounted CAs, TSAs, seal status lists and documents, found by request path."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self._clock = clock
        self._cas: dict[str, _CaMount] = {}
        self._tsas: dict[str, Endpoint] = {}
        self._documents: dict[str, Endpoint] = {}
        self._seal_status: dict[str, Endpoint] = {}
        self._folders: dict[str, _Folder] = {}

    def mount_ca(
        self,
        ca_id: str,
        ca: CertificateAuthority,
        *,
        crl_validity: timedelta = timedelta(days=1),
        ocsp_validity: timedelta = timedelta(minutes=10),
        ocsp_delegate: ResponderCertificate | None = None,
    ) -> None:
        """Serve ``ca``'s CRL, OCSP and certificate under ``/ca/{ca_id}/``; replaces any.

        OCSP responses are signed by ``ocsp_delegate`` when given, else by the CA key.
        The OCSP responder consults ``ca.registry`` on the event loop, for every answer
        it has not cached: a database-backed CA should be mounted with a
        ``PolledRegistry``, which remembers answers until the database changes.
        """
        responder = OCSPResponder(ca, self._clock, ocsp_validity, delegate=ocsp_delegate)
        self._cas[checked_id(ca_id)] = _CaMount(ca, self._clock, crl_validity, responder)

    def mount_tsa(self, tsa_id: str, tsa: TimeStampResponder) -> None:
        """Serve ``tsa`` at ``POST /tsa/{tsa_id}``; replaces any TSA mounted there."""
        self._tsas[checked_id(tsa_id)] = Endpoint(
            "POST",
            lambda body: Response(200, tsa.respond(body), _TSA_REPLY),
            accepts=_TSA_QUERY,
            failure=Response(200, rejection("system_failure", "internal error"), _TSA_REPLY),
        )

    def publish(self, path: str, body: bytes, content_type: str) -> None:
        """Serve ``body`` at ``GET path``, e.g. a signed trust list; replaces any document."""
        if not path.startswith("/") or "?" in path or "#" in path:
            raise ValueError(f"document path {path!r} must be an absolute path without a query")
        document = Response(200, body, content_type)
        self._documents[path] = Endpoint("GET", lambda _body: document)

    def mount_folder(self, prefix: str, folder: Path, content_types: Mapping[str, str]) -> None:
        """Serve the files of ``folder`` whose suffix is in ``content_types`` at ``prefix/NAME``.

        Files are read when asked for (and kept until they change), so every worker
        process serves a document replaced on disk at once, and a deleted one no more.
        Only plain names are served: no subfolders, no dot files, nothing outside.
        """
        if not prefix.startswith("/") or prefix.endswith("/"):
            raise ValueError(f"folder prefix {prefix!r} must start and not end with '/'")
        self._folders[prefix] = _Folder(folder, dict(content_types))

    def mount_seal_status(self, maker_id: str, build: Callable[[], bytes]) -> None:
        """Serve a seal maker's signed status list at ``GET /seal-status/{maker_id}``.

        ``build`` runs on every request, so a suspension or revocation shows at once
        instead of when a published copy is next replaced. It runs on a thread: it
        usually asks a database.
        """
        self._seal_status[checked_id(maker_id)] = Endpoint(
            "GET", lambda _body: Response(200, build(), _JSON), blocking=True
        )

    def resolve(self, path: str) -> Endpoint | None:
        document = self._documents.get(path)
        if document is not None:
            return document
        prefix, _, name = path.rpartition("/")
        folder = self._folders.get(prefix)
        if folder is not None and folder.serves(name):
            return Endpoint("GET", lambda _body: folder.read(name), blocking=True)
        match path.split("/", 4):
            case ["", "tsa", tsa_id] if tsa_id in self._tsas:
                return self._tsas[tsa_id]
            case ["", "ca", ca_id, *rest] if ca_id in self._cas:
                return _ca_endpoint(self._cas[ca_id], rest)
            case ["", "seal-status", maker_id] if maker_id in self._seal_status:
                return self._seal_status[maker_id]
        return None


class _Folder:
    """Files of one folder, each cached until its modification time or size changes."""

    def __init__(self, folder: Path, content_types: dict[str, str]) -> None:
        self._folder = folder
        self._types = content_types
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[int, int], bytes]] = {}

    def serves(self, name: str) -> bool:
        return bool(_FILE_NAME.fullmatch(name)) and Path(name).suffix in self._types

    def read(self, name: str) -> Response:
        path = self._folder / name
        try:
            stat = path.stat()
            if not path.is_file() or stat.st_size > MAX_DOCUMENT_BYTES:
                return NOT_FOUND
            stamp = (stat.st_mtime_ns, stat.st_size)
            with self._lock:
                cached = self._cache.get(name)
            if cached is None or cached[0] != stamp:
                cached = (stamp, path.read_bytes())
                with self._lock:
                    self._cache[name] = cached
        except OSError:
            with self._lock:
                self._cache.pop(name, None)
            return NOT_FOUND
        return Response(200, cached[1], self._types[path.suffix])


def _ca_endpoint(mount: _CaMount, rest: list[str]) -> Endpoint | None:
    match rest:
        case ["ocsp"]:
            return mount.ocsp
        case ["crl"]:
            return mount.crl
        case ["cert"]:
            return mount.cert
        case ["ocsp", encoded] if encoded:
            # ``encoded`` is the raw remainder of the path: base64 may contain '/'.
            return mount.ocsp_get(encoded)
    return None
