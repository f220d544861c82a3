"""``sealbridge serve authority``: answer OCSP, CRL and certificate requests for the CAs of
a data directory, and publish its trust lists and agreements, until stopped.

Revocation state comes from the database (polled, so ``sealbridge ca revoke`` run by
another process shows within a second in OCSP answers and CRLs). Trust documents are
served from ``--trust`` (default ``DATA/trust``: ``lists/*.xml|json`` at ``/trust/NAME``,
``agreements/*.json`` at ``/trust/agreements/NAME``) as the files are when asked for, so
``trust build --out DATA/trust/lists/SZ.xml`` is served at once and a deleted file no
more. The documents are served as they are: verifying them is the relying parties' job
(``trust verify``, ``TrustListCache``).

With ``--workers N`` (N > 1) N processes share the port (SO_REUSEPORT), each with its
own keys, database connection and caches; one process signs on one core at a time.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from sealbridge.authority.pool import AuthorityPool
from sealbridge.authority.routes import Routes
from sealbridge.authority.server import AuthorityServer
from sealbridge.authority.shared import PolledRegistry
from sealbridge.cli.ca import (
    DEFAULT_DATA,
    Data,
    PassphraseFile,
    ca_folder,
    ca_ids,
    load_authority,
    open_key_store,
    read_certificate,
    read_settings,
    reported,
)
from sealbridge.crypto.keystore import FileKeyStore
from sealbridge.errors import KeyStoreError, MalformedInput
from sealbridge.service.db.store import Store

# ETSI TS 119 612 annex (MIME type of XML trust lists).
_CONTENT_TYPES = {".xml": "application/vnd.etsi.tsl+xml", ".json": "application/json"}
_AGREEMENT_TYPES = {".json": "application/json"}

serve_app = typer.Typer(
    name="serve", help="Run SealBridge's network services.", no_args_is_help=True
)


def _trust_files(trust: Path) -> Iterator[tuple[str, Path]]:
    """(URL path, file) of every document served now, as the demo lays them out."""
    for path in sorted((trust / "lists").glob("*")):
        if path.suffix in _CONTENT_TYPES and path.is_file():
            yield f"/trust/{path.name}", path
    for path in sorted((trust / "agreements").glob("*.json")):
        if path.is_file():
            yield f"/trust/agreements/{path.name}", path


def build_site(data: Path, trust: Path, keys: FileKeyStore | None) -> Routes:
    """Everything one serving process answers; runs in every worker (a fresh interpreter).

    The store stays open for the life of the process: the CAs' registries poll it.
    """
    routes = Routes()
    found = ca_ids(data)
    if found:
        if keys is None:
            raise KeyStoreError("the data directory has CAs but no key store passphrase")
        store = Store.embedded(data)
        for ca_id in found:
            ca, _ = load_authority(data, ca_id, store, keys)
            ca.registry = PolledRegistry(store, ca_id)
            routes.mount_ca(ca_id, ca)
    routes.mount_folder("/trust", trust / "lists", _CONTENT_TYPES)
    routes.mount_folder("/trust/agreements", trust / "agreements", _AGREEMENT_TYPES)
    return routes


@serve_app.command("authority")
def authority(
    data: Data = DEFAULT_DATA,
    trust: Annotated[
        Path | None, typer.Option("--trust", help="Trust documents to publish (DATA/trust)")
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Listen address (0.0.0.0 for every interface)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8080,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Processes sharing the port")
    ] = 1,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Serve the data directory's CAs (OCSP, CRL, certificate) and trust documents."""
    with reported():
        found = ca_ids(data)
        trust_dir = trust if trust is not None else data / "trust"
        if not found and not any(_trust_files(trust_dir)):
            raise MalformedInput(
                str(data), f"no CA in {data / 'ca'} and no documents in {trust_dir}"
            )
        keys = open_key_store(data, passphrase_file) if found else None
        # Built here even for workers, so a bad key or database fails as one line now.
        routes = build_site(data, trust_dir, keys)
        try:
            if workers == 1:
                server: AuthorityServer | AuthorityPool = AuthorityServer(
                    port, host=host, routes=routes
                )
            else:
                server = AuthorityPool(
                    functools.partial(build_site, data, trust_dir, keys),
                    workers=workers,
                    port=port,
                    host=host,
                )
        except OSError as exc:
            raise MalformedInput(
                "--host/--port", f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from exc
        try:
            for ca_id in found:
                settings = read_settings(data, ca_id)
                urls = server.ca_urls(ca_id)
                certificate = read_certificate(ca_folder(data, ca_id) / "ca.pem")
                typer.echo(f"CA {ca_id}: {certificate.subject.human_friendly}")
                typer.echo(f"  OCSP  {urls.ocsp}\n  CRL   {urls.crl}\n  cert  {urls.ca_issuers}")
                if settings.url_base not in (None, server.base_url):
                    typer.echo(f"  note: its certificates point at {settings.url_base} instead")
            for url_path, _ in _trust_files(trust_dir):
                typer.echo(f"published {server.base_url}{url_path}")
            _serve_until_stopped(server, workers)
        finally:
            server.stop()
    typer.echo("stopped")


def _serve_until_stopped(server: AuthorityServer | AuthorityPool, workers: int) -> None:
    """Serve until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        server.start()
    except RuntimeError as exc:
        raise MalformedInput("--workers", str(exc)) from exc
    processes = f" with {workers} worker processes" if workers > 1 else ""
    typer.echo(f"serving on {server.base_url}{processes} until Ctrl-C")
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
