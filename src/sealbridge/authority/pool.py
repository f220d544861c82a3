"""The authority's endpoints served by several worker processes on one port.

One Python process signs and encodes on one core at a time. Each worker here builds its
own ``Routes`` (loading keys, opening the store) and binds its own socket to the shared
port with SO_REUSEPORT, so the kernel spreads connections across the workers and no
process hands requests to another. The workers share nothing in memory: CA state must
come from the store (``PolledRegistry``), which is how they agree on revocations.

Workers are started with the spawn method: a fresh interpreter runs ``build``, so
nothing half-initialised in the parent (threads, open database connections) is copied
into them. ``build`` must therefore be picklable: a module-level function, or a
``functools.partial`` of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType

from sealbridge.authority.http import HttpService, listening_socket
from sealbridge.authority.routes import Routes, ca_urls, checked_id
from sealbridge.pki.issuer import AuthorityUrls

_READY = "ready"


class AuthorityPool:
    """``workers`` processes answering the ``Routes`` that ``build`` returns in each.

    The port is reserved at construction (a bound socket that never listens), so URLs
    can be handed out before the workers start.
    """

    def __init__(
        self,
        build: Callable[[], Routes],
        *,
        workers: int = 2,
        port: int = 0,
        host: str = "127.0.0.1",
        client_timeout: float = 5.0,
        start_timeout: float = 60.0,
    ) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self._build = build
        self._workers = workers
        self._host = host
        self._client_timeout = client_timeout
        self._start_timeout = start_timeout
        self._reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            self._reservation.bind((host, port))
        except OSError:
            self._reservation.close()
            raise
        self.port: int = self._reservation.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self._processes: list[BaseProcess] = []

    def start(self) -> None:
        """Start the workers and return once every one of them is accepting."""
        if self._processes:
            return
        context = multiprocessing.get_context("spawn")
        pipes: list[Connection] = []
        for number in range(self._workers):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_work,
                args=(self._build, self._host, self.port, self._client_timeout, sender),
                name=f"authority-worker-{number}",
                daemon=True,
            )
            process.start()
            sender.close()
            self._processes.append(process)
            pipes.append(receiver)
        try:
            for worker, pipe in zip(self._processes, pipes, strict=True):
                message = pipe.recv() if pipe.poll(self._start_timeout) else "no answer"
                if message != _READY:
                    raise RuntimeError(f"{worker.name} did not start: {message}")
        except (EOFError, RuntimeError) as exc:
            self.stop()
            raise RuntimeError(f"the authority pool did not start: {exc}") from exc
        finally:
            for pipe in pipes:
                pipe.close()

    def stop(self) -> None:
        """Ask every worker to finish, wait a little, then insist; release the port."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
        self._processes = []
        self._reservation.close()

    def __enter__(self) -> AuthorityPool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def ca_urls(self, ca_id: str) -> AuthorityUrls:
        return ca_urls(self.base_url, ca_id)

    def tsa_url(self, tsa_id: str) -> str:
        return f"{self.base_url}/tsa/{checked_id(tsa_id)}"


def _work(
    build: Callable[[], Routes],
    host: str,
    port: int,
    client_timeout: float,
    ready: Connection,
) -> None:
    """A worker's life: build the routes, bind, say so, serve until told to stop."""
    # Ctrl-C reaches the whole process group; the parent decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        routes = build()
        sock = listening_socket(host, port, reuse_port=True)
    except Exception as exc:
        ready.send(f"{type(exc).__name__}: {exc}")
        ready.close()
        return
    asyncio.run(_serve(routes, sock, client_timeout, ready))


async def _serve(
    routes: Routes, sock: socket.socket, client_timeout: float, ready: Connection
) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    parent = os.getppid()

    def watch_parent() -> None:
        # A parent killed outright cannot stop its workers: they notice and leave.
        if os.getppid() != parent:
            stopping.set()
        else:
            loop.call_later(1.0, watch_parent)

    watch_parent()
    with ThreadPoolExecutor(4, thread_name_prefix="authority") as executor:
        service = HttpService(routes.resolve, executor, client_timeout)
        await service.serve(sock)
        with contextlib.suppress(OSError):
            ready.send(_READY)
        ready.close()
        await stopping.wait()
        await service.close()
