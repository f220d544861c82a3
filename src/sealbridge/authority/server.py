"""The authority's public HTTP face in one process: CRLs, OCSP, RFC 3161 time-stamps,
seal status lists and static documents, served from a background thread.

This is the server the demo and tests start next to their own code: mounts can change
while it runs, and CA state may live in memory. ``AuthorityPool`` serves the same
``Routes`` from several processes when one core is not enough.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from types import TracebackType

from sealbridge.authority.http import MAX_BODY, HttpService, listening_socket
from sealbridge.authority.routes import Routes, TimeStampResponder, ca_urls, checked_id, utc_now
from sealbridge.pki.issuer import AuthorityUrls, CertificateAuthority
from sealbridge.pki.ocsp import ResponderCertificate

__all__ = ["MAX_BODY", "AuthorityServer"]


class AuthorityServer:
    """CRL, OCSP, TSA and document endpoints, served by one event loop on a thread.

    The socket is bound at construction, so ``base_url`` and the URL builders can be
    used to issue certificates that point at this server before it starts serving.
    """

    def __init__(
        self,
        port: int = 0,
        *,
        host: str = "127.0.0.1",
        routes: Routes | None = None,
        clock: Callable[[], datetime] = utc_now,
        client_timeout: float = 5.0,
    ) -> None:
        self.routes = routes if routes is not None else Routes(clock)
        self._client_timeout = client_timeout
        self._socket = listening_socket(host, port)
        self.port: int = self._socket.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []
        self._loop = loop
        self._thread = threading.Thread(
            target=self._run, args=(loop, started, failure), name=f"authority-{self.port}"
        )
        self._thread.daemon = True
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def stop(self) -> None:
        if self._thread is not None and self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join()
            self._thread = None
        self._socket.close()

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
        ocsp_validity: timedelta = timedelta(minutes=10),
        ocsp_delegate: ResponderCertificate | None = None,
    ) -> None:
        """Serve ``ca``'s CRL, OCSP and certificate under ``/ca/{ca_id}/``; replaces any.

        OCSP responses are signed by ``ocsp_delegate`` when given, else by the CA key.
        """
        self.routes.mount_ca(
            ca_id,
            ca,
            crl_validity=crl_validity,
            ocsp_validity=ocsp_validity,
            ocsp_delegate=ocsp_delegate,
        )

    def mount_tsa(self, tsa_id: str, tsa: TimeStampResponder) -> None:
        """Serve ``tsa`` at ``POST /tsa/{tsa_id}``; replaces any TSA mounted there."""
        self.routes.mount_tsa(tsa_id, tsa)

    def publish(self, path: str, body: bytes, content_type: str) -> None:
        """Serve ``body`` at ``GET path``, e.g. a signed trust list; replaces any document."""
        self.routes.publish(path, body, content_type)

    def mount_seal_status(self, maker_id: str, build: Callable[[], bytes]) -> None:
        """Serve a seal maker's signed status list at ``GET /seal-status/{maker_id}``.

        ``build`` runs on every request, so a suspension or revocation shows at once
        instead of when a published copy is next replaced.
        """
        self.routes.mount_seal_status(maker_id, build)

    def seal_status_url(self, maker_id: str) -> str:
        return f"{self.base_url}/seal-status/{checked_id(maker_id)}"

    def ca_urls(self, ca_id: str) -> AuthorityUrls:
        return ca_urls(self.base_url, ca_id)

    def tsa_url(self, tsa_id: str) -> str:
        return f"{self.base_url}/tsa/{checked_id(tsa_id)}"

    def _run(
        self,
        loop: asyncio.AbstractEventLoop,
        started: threading.Event,
        failure: list[BaseException],
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve(started, failure))
        finally:
            loop.close()

    async def _serve(self, started: threading.Event, failure: list[BaseException]) -> None:
        self._stopping = asyncio.Event()
        with ThreadPoolExecutor(4, thread_name_prefix=f"authority-{self.port}") as executor:
            service = HttpService(self.routes.resolve, executor, self._client_timeout)
            try:
                await service.serve(self._socket)
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            await self._stopping.wait()
            await service.close()
