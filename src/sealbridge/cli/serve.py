"""``sealbridge serve authority``: answer OCSP, CRL and certificate requests for the CAs of
a data directory, and publish its trust lists and agreements, until stopped.

Revocation state is read from the database on every request, so ``sealbridge ca revoke``
run by another process shows in the next OCSP answer and CRL. Trust documents are read
from ``--trust`` (default ``DATA/trust``: ``lists/*.xml|json``, ``agreements/*.json``) and
republished when a file changes, so ``trust build --out DATA/trust/lists/SZ.xml`` is
served without a restart; a deleted file stays served until the next start, since the
server only replaces documents. The documents are served as they are: verifying them is
the relying parties' job (``trust verify``, ``TrustListCache``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from sealbridge.authority.server import AuthorityServer
from sealbridge.cli.ca import (
    DEFAULT_DATA,
    Data,
    PassphraseFile,
    ca_ids,
    load_authority,
    open_key_store,
    open_store,
    read_input,
    reported,
)
from sealbridge.errors import MalformedInput

# ETSI TS 119 612 annex (MIME type of XML trust lists).
_CONTENT_TYPES = {".xml": "application/vnd.etsi.tsl+xml", ".json": "application/json"}
_LOOPBACK = ("127.0.0.1", "localhost")
_POLL_SECONDS = 1.0

serve_app = typer.Typer(
    name="serve", help="Run SealBridge's network services.", no_args_is_help=True
)


def _trust_files(trust: Path) -> Iterator[tuple[str, Path]]:
    """(URL path, file) of every document to publish, as the demo lays them out."""
    for path in sorted((trust / "lists").glob("*")):
        if path.suffix in _CONTENT_TYPES and path.is_file():
            yield f"/trust/{path.name}", path
    for path in sorted((trust / "agreements").glob("*.json")):
        if path.is_file():
            yield f"/trust/agreements/{path.name}", path


class _Publisher:
    """Keeps the server's copies of the trust documents in step with the files."""

    def __init__(self, server: AuthorityServer, trust: Path) -> None:
        self._server = server
        self._trust = trust
        self._seen: dict[str, tuple[int, int]] = {}

    def sync(self) -> list[str]:
        """Publish new and changed files; return their URL paths."""
        published = []
        for url_path, path in _trust_files(self._trust):
            try:
                stat = path.stat()
                stamp = (stat.st_mtime_ns, stat.st_size)
                if self._seen.get(url_path) == stamp:
                    continue
                body = read_input(path)
            except (OSError, MalformedInput):
                continue  # being replaced right now, or too large: try again next time
            self._server.publish(url_path, body, _CONTENT_TYPES[path.suffix])
            self._seen[url_path] = stamp
            published.append(url_path)
        return published


@serve_app.command("authority")
def authority(
    data: Data = DEFAULT_DATA,
    trust: Annotated[
        Path | None, typer.Option("--trust", help="Trust documents to publish (DATA/trust)")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Listen address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8080,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Serve the data directory's CAs (OCSP, CRL, certificate) and trust documents."""
    with reported():
        if host not in _LOOPBACK:
            raise MalformedInput(
                "--host", "the authority server listens on 127.0.0.1; put a reverse proxy in front"
            )
        found = ca_ids(data)
        trust_dir = trust if trust is not None else data / "trust"
        if not found and not any(_trust_files(trust_dir)):
            raise MalformedInput(
                str(data), f"no CA in {data / 'ca'} and no documents in {trust_dir}"
            )
    with reported(), open_store(data) as store:
        authorities = []
        if found:
            keys = open_key_store(data, passphrase_file)
            authorities = [(ca_id, *load_authority(data, ca_id, store, keys)) for ca_id in found]
        server = AuthorityServer(port)
        try:
            for ca_id, ca, settings in authorities:
                server.mount_ca(ca_id, ca)
                urls = server.ca_urls(ca_id)
                typer.echo(f"CA {ca_id}: {ca.certificate.subject.human_friendly}")
                typer.echo(f"  OCSP  {urls.ocsp}\n  CRL   {urls.crl}\n  cert  {urls.ca_issuers}")
                if settings.url_base not in (None, server.base_url):
                    typer.echo(f"  note: its certificates point at {settings.url_base} instead")
            publisher = _Publisher(server, trust_dir)
            for url_path in publisher.sync():
                typer.echo(f"published {server.base_url}{url_path}")
            _serve_until_stopped(server, publisher)
        finally:
            server.stop()
    typer.echo("stopped")


def _serve_until_stopped(server: AuthorityServer, publisher: _Publisher) -> None:
    """Serve until Ctrl-C or SIGTERM, republishing trust files as they change."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    typer.echo(f"serving on {server.base_url} until Ctrl-C")
    try:
        while not stop.wait(_POLL_SECONDS):
            for url_path in publisher.sync():
                typer.echo(f"republished {server.base_url}{url_path}")
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
