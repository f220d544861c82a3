"""A trust directory on disk: what a relying party pinned and what it downloaded.

Layout: ``pinned/<CODE>.pem`` (each operator's certificate, pinned out of band),
``lists/<CODE>.json`` or ``lists/<CODE>.xml`` (signed trust lists, SealBridge JSON or
ETSI TS 119 612 XML) and ``agreements/*.json`` (agreements signed by both operators).
Everything is verified on load, exactly as lists fetched over HTTP.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from asn1crypto import pem, x509

from sealbridge.errors import TrustError
from sealbridge.trust.loader import parse_trust_list
from sealbridge.trust.signed import agreement_parties, load_agreement
from sealbridge.trust.view import Federation

MAX_FILE_BYTES = 8 * 1024 * 1024


def load_trust_directory(root: Path, *, now: datetime) -> Federation:
    pinned = {path.stem: _certificate(path) for path in sorted((root / "pinned").glob("*.pem"))}
    if not pinned:
        raise TrustError(f"{root}: no pinned operator certificates in {root / 'pinned'}")
    lists = {}
    for code, certificate in pinned.items():
        path = _list_file(root / "lists", code)
        try:
            tl = parse_trust_list(_read(path), certificate, now=now)
        except TrustError as exc:
            raise TrustError(f"{path}: {exc}") from exc
        if tl.territory != code:
            raise TrustError(f"{path} is the list of {tl.territory}, not {code}")
        lists[code] = tl
    agreements = []
    for path in sorted((root / "agreements").glob("*.json")):
        body = _read(path)
        try:
            parties = agreement_parties(body)
            unknown = [p for p in parties if p not in pinned]
            if unknown:
                raise TrustError(f"names {unknown[0]}, whose operator is not pinned")
            agreements.append(load_agreement(body, [pinned[p] for p in parties]))
        except TrustError as exc:
            raise TrustError(f"{path}: {exc}") from exc
    return Federation(lists, tuple(agreements))


def _list_file(folder: Path, code: str) -> Path:
    """``<CODE>.json`` or ``<CODE>.xml``; both at once would leave it unclear which counts."""
    found = [path for path in (folder / f"{code}.json", folder / f"{code}.xml") if path.is_file()]
    if not found:
        raise TrustError(
            f"{folder / code}.json (or .xml): the trust list of pinned jurisdiction "
            f"{code} is missing"
        )
    if len(found) > 1:
        raise TrustError(f"{found[0]} and {found[1]}: two lists of {code}; keep one")
    return found[0]


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_FILE_BYTES:
        raise TrustError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    return path.read_bytes()


def _certificate(path: Path) -> x509.Certificate:
    data = _read(path)
    try:
        der = pem.unarmor(data)[2] if pem.detect(data) else data
        certificate = x509.Certificate.load(der)
        certificate.subject.native  # noqa: B018 - parse now so a bad file fails here
    except (ValueError, TypeError, KeyError) as exc:
        raise TrustError(f"{path}: not a certificate ({exc})") from exc
    return certificate
