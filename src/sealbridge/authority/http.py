"""A small HTTP/1.1 server on asyncio, sized for the authority's short DER exchanges.

Relying parties send a request of a few hundred octets and want a few hundred or a few
thousand back, many times a second, often over one kept-alive connection. The standard
library server spent a thread per connection and an email-package header parse per
request, which capped OCSP at about 700 answers a second; an asyncio protocol that reads
only the five headers the authority cares about costs a few microseconds instead.

One event loop serves every connection, so a client that connects and stays silent
costs a buffer and a timer, not a thread, and is dropped after ``client_timeout``.
Handlers run on the loop when they are short (a cached OCSP answer, one signature) and
on a thread pool when they may take long (a large CRL, a database), so a slow one never
holds up the other connections.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

logger = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
# Request line and headers together; relying parties send a handful of short headers.
MAX_HEAD = 16 * 1024

_REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([\x21-\x7e]+) HTTP/(\d)\.(\d)")
_REASONS = {status.value: status.phrase for status in HTTPStatus}


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


def text(status: int, message: str, *headers: tuple[str, str]) -> Response:
    """A plain-text answer: errors are for people reading logs, never HTML."""
    return Response(status, f"{message}\n".encode(), "text/plain; charset=utf-8", headers)


INTERNAL_ERROR = text(500, "internal error")
NOT_FOUND = text(404, "no such endpoint")


@dataclass(frozen=True)
class Endpoint:
    method: str
    handle: Callable[[bytes], Response]
    # POST bodies must be of this type; GET endpoints take no body.
    accepts: str | None = None
    # What the client gets if ``handle`` fails unexpectedly: protocols with their own
    # error statuses (OCSP internalError, TSA systemFailure) say it in their own terms.
    failure: Response = INTERNAL_ERROR
    # Runs on the thread pool: it may take long, and the loop must keep answering.
    blocking: bool = False


Resolve = Callable[[str], Endpoint | None]


class HttpService:
    """Serves the endpoints ``resolve`` finds, on listening sockets of the running loop."""

    def __init__(self, resolve: Resolve, executor: Executor, client_timeout: float) -> None:
        self.resolve = resolve
        self.executor = executor
        self.client_timeout = client_timeout
        self.connections: set[_Connection] = set()
        self._servers: list[asyncio.Server] = []
        self._date_second = 0
        self._date = b""

    async def serve(self, sock: socket.socket) -> None:
        """Start accepting on ``sock``, already bound; it belongs to the service now."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Connection(self), sock=sock, backlog=1024)
        self._servers.append(server)

    async def close(self) -> None:
        """Stop listening and drop every connection, answered or not."""
        for server in self._servers:
            server.close()
        for connection in list(self.connections):
            connection.abort()
        for server in self._servers:
            await server.wait_closed()

    def date(self) -> bytes:
        """The Date header's value, formatted once a second rather than once a request."""
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = formatdate(now, usegmt=True).encode()
        return self._date


class _BadRequest(Exception):
    """The request cannot be framed: answer with ``response`` and close the connection."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.body)
        self.response = response


@dataclass(frozen=True)
class _Head:
    method: str
    path: str
    minor: int  # HTTP/1.minor
    length: int | None
    content_type: str
    keep_alive: bool
    expect_continue: bool
    size: int  # octets up to and including the blank line


class _Connection(asyncio.Protocol):
    """One client connection: requests answered in order, kept alive when asked."""

    def __init__(self, service: HttpService) -> None:
        self._service = service
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head: _Head | None = None
        self._continued = False
        self._waiting = False  # a handler runs on the thread pool
        self._write_paused = False  # the client is not reading its answers
        self._closing = False
        self._eof = False
        self._last_activity = self._loop.time()
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._service.connections.add(self)
        self._timer = self._loop.call_later(self._service.client_timeout, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        self._service.connections.discard(self)
        if self._timer is not None:
            self._timer.cancel()
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._last_activity = self._loop.time()
        self._process()
        if self._transport and len(self._buffer) > MAX_HEAD + MAX_BODY:
            # Only while an answer is pending can this much pile up: wait for it.
            self._transport.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        self._process()
        return True  # half-open: the answers still owed are written before closing

    def pause_writing(self) -> None:
        # The client is not reading its answers: stop making more until it does.
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._transport is not None:
            self._transport.resume_reading()
        self._process()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def _check_idle(self) -> None:
        idle = self._loop.time() - self._last_activity
        timeout = self._service.client_timeout
        transport = self._transport
        if idle >= timeout and not self._waiting and transport is not None:
            # A client that stopped reading would keep close() waiting for the flush.
            if transport.get_write_buffer_size():
                transport.abort()
            else:
                transport.close()
            return
        self._timer = self._loop.call_later(max(timeout - idle, 0.05), self._check_idle)

    def _process(self) -> None:
        """Answer every complete request in the buffer, in order, until one must wait."""
        while not (self._waiting or self._write_paused or self._closing) and self._transport:
            try:
                head = self._head or self._parse_head()
            except _BadRequest as bad:
                self._write(bad.response, minor=0, keep_alive=False)
                return
            if head is None:
                if self._eof:
                    self._transport.close()
                return
            self._head = head
            length = head.length or 0
            if len(self._buffer) < head.size + length:
                if self._eof:
                    message = "request body shorter than Content-Length"
                    self._write(text(400, message), head.minor, keep_alive=False)
                elif head.expect_continue and not self._continued and head.minor == 1:
                    self._continued = True
                    self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return
            body = bytes(self._buffer[head.size : head.size + length])
            del self._buffer[: head.size + length]
            self._head = None
            self._continued = False
            self._dispatch(head, body)

    def _dispatch(self, head: _Head, body: bytes) -> None:
        endpoint = self._service.resolve(head.path)
        if endpoint is None:
            response = NOT_FOUND
        elif head.method != endpoint.method:
            response = text(405, f"use {endpoint.method}", ("Allow", endpoint.method))
        elif endpoint.accepts is not None and head.length is None:
            response = text(411, "Content-Length is required")
        elif endpoint.accepts is not None and head.content_type != endpoint.accepts:
            response = text(415, f"send {endpoint.accepts}")
        elif endpoint.blocking:
            self._waiting = True
            future = self._loop.run_in_executor(self._service.executor, _call, endpoint, body)
            future.add_done_callback(lambda done: self._finish(head, done.result()))
            return
        else:
            response = _call(endpoint, body)
        self._respond(head, response)

    def _finish(self, head: _Head, response: Response) -> None:
        self._waiting = False
        if self._transport is None:
            return
        self._transport.resume_reading()
        self._respond(head, response)
        self._process()

    def _respond(self, head: _Head, response: Response) -> None:
        self._write(response, head.minor, head.keep_alive, head.method)

    def _write(self, response: Response, minor: int, keep_alive: bool, method: str = "") -> None:
        transport = self._transport
        if transport is None:
            return
        lines = [
            f"HTTP/1.{minor} {response.status} {_REASONS.get(response.status, '')}".encode(),
            b"Server: SealBridge-Authority",
            b"Date: " + self._service.date(),
            f"Content-Type: {response.content_type}".encode(),
            f"Content-Length: {len(response.body)}".encode(),
        ]
        lines.extend(f"{name}: {value}".encode() for name, value in response.headers)
        if not keep_alive:
            lines.append(b"Connection: close")
        elif minor == 0:
            lines.append(b"Connection: keep-alive")
        lines.append(b"\r\n")
        payload = b"\r\n".join(lines)
        transport.write(payload + response.body if method != "HEAD" else payload)
        self._last_activity = self._loop.time()
        if not keep_alive:
            self._closing = True
            transport.close()

    def _parse_head(self) -> _Head | None:
        """The next request's head once it is all in, or None while it is still coming."""
        end = self._buffer.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
        if end < 0:
            if len(self._buffer) > MAX_HEAD:
                raise _BadRequest(text(431, f"request head over {MAX_HEAD} octets"))
            return None
        lines = bytes(self._buffer[:end]).split(b"\r\n")
        match = _REQUEST_LINE.fullmatch(lines[0])
        if match is None:
            raise _BadRequest(text(400, "malformed request line"))
        method, target, major, minor = match.groups()
        if major != b"1" or minor not in (b"0", b"1"):
            raise _BadRequest(text(505, "only HTTP/1.0 and HTTP/1.1 are spoken here"))
        fields = _header_fields(lines[1:])
        if b"transfer-encoding" in fields:
            raise _BadRequest(text(411, "Content-Length is required"))
        connection = {token.strip() for token in fields.get(b"connection", b"").split(b",")}
        keep_alive = b"keep-alive" in connection if minor == b"0" else b"close" not in connection
        return _Head(
            method=method.decode("ascii"),
            path=target.decode("ascii").split("?", 1)[0],
            minor=int(minor),
            length=_content_length(fields.get(b"content-length")),
            # The media type alone: parameters such as charset do not change the body.
            content_type=fields.get(b"content-type", b"")
            .partition(b";")[0]
            .strip()
            .decode("latin-1"),
            keep_alive=keep_alive,
            expect_continue=fields.get(b"expect", b"").strip() == b"100-continue",
            size=end + 4,
        )


def _header_fields(lines: list[bytes]) -> dict[bytes, bytes]:
    """The headers by lower-case name; values lower-cased too, as all compared ones are."""
    fields: dict[bytes, bytes] = {}
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or b" " in name:
            raise _BadRequest(text(400, "malformed header line"))
        name = name.lower()
        value = value.strip().lower()
        if name in fields and name == b"content-length" and fields[name] != value:
            raise _BadRequest(text(400, "conflicting Content-Length headers"))
        fields[name] = value
    return fields


def _content_length(value: bytes | None) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise _BadRequest(text(400, "Content-Length is not a number"))
    # Compared as digits first, so a hundred-digit length costs no big-int arithmetic.
    if len(value) > len(str(MAX_BODY)) or int(value) > MAX_BODY:
        raise _BadRequest(text(413, f"request body over {MAX_BODY} bytes"))
    return int(value)


def _call(endpoint: Endpoint, body: bytes) -> Response:
    try:
        return endpoint.handle(body)
    except Exception:
        logger.exception("%s endpoint failed", endpoint.method)
        return endpoint.failure


def listening_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening.

    With ``reuse_port`` several processes can each bind one to the same port and the
    kernel spreads new connections across them (SO_REUSEPORT).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(1024)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
