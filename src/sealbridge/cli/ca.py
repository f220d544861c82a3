"""``sealbridge ca``: run a certification authority from a data directory.

The data directory (``--data``, default ./sealbridge-data) holds::

    keys/                  every private key, in a FileKeyStore under one passphrase
    sealbridge.db          the embedded store: issued and revoked certificates, audit log
    ca/<id>/ca.pem         the CA certificate
    ca/<id>/ca.json        its settings (key label, URL base, last CRL number); written
                           last, so it marks a complete CA
    ca/<id>/issued/<serial>.pem   issued certificates, unless ``--out`` names a file

The passphrase comes from ``--passphrase-file`` or ``SEALBRIDGE_KEY_PASSPHRASE``, never
from an option value, which every user of the machine could read in the process list.
Every file is replaced atomically. Exit status: 0 done, 2 bad input or refused, with one
line on stderr naming the problem.

``trust`` and ``serve`` share this module's data-directory helpers, so the three command
groups agree on where keys, CAs and certificates live.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from asn1crypto import pem, x509
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from sealbridge.cli.output import console, fail
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle
from sealbridge.crypto.keystore import FileKeyStore
from sealbridge.errors import KeyStoreError, MalformedInput, SealBridgeError
from sealbridge.files import write_atomically
from sealbridge.pki import profiles
from sealbridge.pki.crl import build_crl
from sealbridge.pki.csr import load_csr
from sealbridge.pki.identifiers import validate_hk_brn, validate_uscc
from sealbridge.pki.issuer import AuthorityUrls, CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.pki.registry import RevocationReason, UnknownCertificate
from sealbridge.service import audit
from sealbridge.service.ca_registry import DatabaseRegistry
from sealbridge.service.db.models import CertificateRevocation, IssuedCertificate
from sealbridge.service.db.store import Store

PASSPHRASE_ENV = "SEALBRIDGE_KEY_PASSPHRASE"
DEFAULT_DATA = Path("sealbridge-data")
MAX_INPUT_BYTES = 8 * 1024 * 1024
ACTOR = "sealbridge-cli"
CA_FORMAT = "sealbridge.ca/1"

Data = Annotated[Path, typer.Option("--data", help="Data directory: key store, database, CA files")]
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        help=f"File holding the key store passphrase (else ${PASSPHRASE_ENV})",
    ),
]

# The authority server's identifier rule: an id becomes a URL path segment and a folder.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_HEX_SERIAL = re.compile(r"[0-9a-f]{1,40}")

KEY_KINDS = {kind.value: kind for kind in KeyKind}
PROFILES = {
    p.name: p
    for p in (
        profiles.ENTERPRISE_SIGNATURE,
        profiles.ENTERPRISE_SEAL,
        profiles.INDIVIDUAL,
        profiles.TSA,
        profiles.OCSP_SIGNER,
        profiles.SEAL_MAKER,
    )
}
REASONS = {reason.value.replace("_", "-"): reason for reason in RevocationReason}

ca_app = typer.Typer(
    name="ca",
    help="Certification authority: create, issue, revoke, publish CRLs.",
    no_args_is_help=True,
)


# ----------------------------------------------------------------- shared helpers


@contextmanager
def reported() -> Iterator[None]:
    """Turn every expected failure into one line on stderr and exit status 2."""
    try:
        yield
    except (SealBridgeError, OSError, SQLAlchemyError, UnknownCertificate) as exc:
        fail(f"{type(exc).__name__}: {' '.join(str(exc).split())}")


def choice(value: str, choices: dict[str, Any], option: str) -> Any:
    """Look ``value`` up, or refuse it naming the choices (one line, unlike a usage error)."""
    try:
        return choices[value.strip().lower()]
    except KeyError:
        raise MalformedInput(option, f"{value!r} is not one of {', '.join(choices)}") from None


def open_key_store(data: Path, passphrase_file: Path | None) -> FileKeyStore:
    if passphrase_file is not None:
        passphrase = read_input(passphrase_file).decode("utf-8").rstrip("\r\n")
    elif os.environ.get(PASSPHRASE_ENV):
        passphrase = os.environ[PASSPHRASE_ENV]
    else:
        raise KeyStoreError(
            f"no key store passphrase: use --passphrase-file FILE or set {PASSPHRASE_ENV}"
        )
    return FileKeyStore(data / "keys", passphrase)


@contextmanager
def open_store(data: Path) -> Iterator[Store]:
    store = Store.embedded(data)
    try:
        yield store
    finally:
        store.close()


def read_input(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    if path.stat().st_size > limit:
        raise MalformedInput(str(path), f"larger than {limit} bytes")
    return path.read_bytes()


def read_certificate(path: Path) -> x509.Certificate:
    data = read_input(path)
    try:
        der = pem.unarmor(data)[2] if pem.detect(data) else data
        certificate = x509.Certificate.load(der, strict=True)
        certificate.native  # noqa: B018 - parse fully now so a bad file fails here
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise MalformedInput(f"certificate {path}", "neither PEM nor DER X.509") from exc
    return certificate


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return pem.armor("CERTIFICATE", certificate.dump())


def matching_key(key: KeyHandle, certificate: x509.Certificate, label: str) -> KeyHandle:
    if key.public_key_info.dump() != certificate.public_key.dump():
        raise KeyStoreError(f"key {label!r} is not the key of {certificate.subject.human_friendly}")
    return key


def parse_time(text: str, option: str) -> datetime:
    """ISO 8601 date or time; UTC when no zone is given (a date means its midnight UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise MalformedInput(option, f"{text!r} is not an ISO 8601 date or time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def checked_name(value: str, what: str) -> str:
    """X.520 caps common and organisation names at 64 characters."""
    value = " ".join(value.split())
    if not 0 < len(value) <= 64:
        raise MalformedInput(what, "must be 1 to 64 characters")
    return value


def checked_country(value: str) -> str:
    value = value.strip().upper()
    if not _COUNTRY.fullmatch(value):
        raise MalformedInput("country", f"{value!r} is not an ISO 3166 two-letter code")
    return value


# ----------------------------------------------------------------- the CA on disk


@dataclass(frozen=True)
class CaSettings:
    ca_id: str
    key_label: str
    url_base: str | None
    crl_number: int

    def urls(self) -> AuthorityUrls:
        """The authority server's layout: ``{base}/ca/{id}/ocsp``, ``/crl``, ``/cert``."""
        if self.url_base is None:
            return AuthorityUrls()
        base = f"{self.url_base}/ca/{self.ca_id}"
        return AuthorityUrls(ocsp=f"{base}/ocsp", crl=f"{base}/crl", ca_issuers=f"{base}/cert")


def ca_folder(data: Path, ca_id: str) -> Path:
    if not _ID.fullmatch(ca_id):
        raise MalformedInput("CA id", f"{ca_id!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return data / "ca" / ca_id


def ca_ids(data: Path) -> list[str]:
    """Every complete CA in the data directory."""
    return sorted(
        p.parent.name for p in (data / "ca").glob("*/ca.json") if _ID.fullmatch(p.parent.name)
    )


def read_settings(data: Path, ca_id: str) -> CaSettings:
    path = ca_folder(data, ca_id) / "ca.json"
    if not path.is_file():
        raise KeyStoreError(
            f"no CA {ca_id!r} in {data}: run `sealbridge ca init {ca_id} --data {data}` first"
        )
    try:
        raw = json.loads(read_input(path))
        if raw["format"] != CA_FORMAT or raw["id"] != ca_id:
            raise ValueError(f"not the settings of CA {ca_id} in format {CA_FORMAT}")
        url_base = raw["url_base"]
        return CaSettings(
            ca_id,
            str(raw["key_label"]),
            str(url_base) if url_base is not None else None,
            int(raw["crl_number"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise MalformedInput(str(path), str(exc)) from exc


def write_settings(data: Path, settings: CaSettings) -> None:
    body = {
        "format": CA_FORMAT,
        "id": settings.ca_id,
        "key_label": settings.key_label,
        "url_base": settings.url_base,
        "crl_number": settings.crl_number,
    }
    write_atomically(
        ca_folder(data, settings.ca_id) / "ca.json", json.dumps(body, indent=1).encode()
    )


def load_authority(
    data: Path, ca_id: str, store: Store, keys: FileKeyStore
) -> tuple[CertificateAuthority, CaSettings]:
    """The CA with its key from the key store and its state in the database."""
    settings = read_settings(data, ca_id)
    certificate = read_certificate(ca_folder(data, ca_id) / "ca.pem")
    key = matching_key(keys.load(settings.key_label), certificate, settings.key_label)
    return (
        CertificateAuthority(
            certificate, key, settings.urls(), DatabaseRegistry(store, ca_id, ACTOR)
        ),
        settings,
    )


def _url_base(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MalformedInput("--url-base", f"{text!r} is not an http(s)://host[:port] URL")
    if parts.query or parts.fragment:
        raise MalformedInput("--url-base", "must not have a query or fragment")
    return text.strip().rstrip("/")


def _serial(text: str) -> int:
    """Hex as people paste it: ``0x1F``, ``1f``, ``1F:2A`` or openssl's ``serial=1F2A``."""
    cleaned = text.strip().lower().removeprefix("serial=").removeprefix("0x").replace(":", "")
    if not _HEX_SERIAL.fullmatch(cleaned) or int(cleaned, 16) == 0:
        raise MalformedInput("--serial", f"{text!r} is not a positive hexadecimal serial")
    return int(cleaned, 16)


def _check_identifiers(subject: x509.Name) -> None:
    """A requested organisation identifier must carry a valid USCC or HK BR number."""
    value = subject.native.get("organization_identifier")
    if isinstance(value, str) and value.startswith("NTRCN-"):
        validate_uscc(value.removeprefix("NTRCN-"))
    elif isinstance(value, str) and value.startswith("NTRHK-"):
        validate_hk_brn(value.removeprefix("NTRHK-"))


# ----------------------------------------------------------------- commands


@ca_app.command("init")
def init(
    ca_id: Annotated[str, typer.Argument(help="CA id: folder name and URL segment")],
    name: Annotated[str, typer.Option("--name", help="The CA's common name")],
    country: Annotated[str, typer.Option("--country")] = "CN",
    organisation: Annotated[
        str | None, typer.Option("--org", help="Organisation (default: the name)")
    ] = None,
    key: Annotated[str, typer.Option("--key", help="ecdsa-p256, rsa2048, sm2, ...")] = "ecdsa-p256",
    url_base: Annotated[
        str | None,
        typer.Option("--url-base", help="Where `serve authority` runs, e.g. http://host:8080"),
    ] = None,
    data: Data = DEFAULT_DATA,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Create a self-signed root CA; an existing CA is never replaced."""
    with reported():
        folder = ca_folder(data, ca_id)
        if (folder / "ca.json").exists():
            raise KeyStoreError(f"CA {ca_id!r} already exists in {folder}")
        kind: KeyKind = choice(key, KEY_KINDS, "--key")
        cn = checked_name(name, "--name")
        subject = ca_name(cn, checked_name(organisation or cn, "--org"), checked_country(country))
        base = _url_base(url_base) if url_base is not None else None
        keys = open_key_store(data, passphrase_file)
        settings = CaSettings(ca_id, f"ca-{ca_id}", base, 0)
        with open_store(data) as store:
            ca = CertificateAuthority.create_root(subject, keys.generate(kind, settings.key_label))
            write_atomically(folder / "ca.pem", certificate_pem(ca.certificate))
            with store.transaction() as session:
                audit.record(
                    session,
                    actor=ACTOR,
                    action="ca.created",
                    subject=ca_id,
                    details={
                        "subject": subject.human_friendly,
                        "sha256": ca.certificate.sha256.hex(),
                    },
                )
            write_settings(data, settings)
    typer.echo(f"CA {ca_id} created: {subject.human_friendly}")
    typer.echo(f"  certificate {folder / 'ca.pem'} (sha256 {ca.certificate.sha256.hex()})")
    if base is not None:
        urls = settings.urls()
        typer.echo(f"  certificates it issues point at OCSP {urls.ocsp} and CRL {urls.crl}")


@ca_app.command("issue")
def issue(
    ca_id: Annotated[str, typer.Argument(help="The issuing CA")],
    profile: Annotated[str, typer.Option("--profile", help=", ".join(PROFILES))] = (
        "enterprise-signature"
    ),
    csr: Annotated[Path | None, typer.Option("--csr", help="PKCS#10 request (PEM or DER)")] = None,
    generate: Annotated[
        str | None, typer.Option("--generate", help="Make the key here: ecdsa-p256, sm2, ...")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Key store label of a generated key")
    ] = None,
    subject_cn: Annotated[str | None, typer.Option("--subject-cn")] = None,
    organisation: Annotated[str | None, typer.Option("--org")] = None,
    uscc: Annotated[str | None, typer.Option("--uscc", help="Unified social credit code")] = None,
    hk_brn: Annotated[str | None, typer.Option("--hk-brn", help="HK business reg. no.")] = None,
    country: Annotated[
        str | None, typer.Option("--country", help="Default CN, or HK with --hk-brn")
    ] = None,
    valid_days: Annotated[int | None, typer.Option("--valid-days", min=1, max=3650)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Certificate file (PEM)")] = None,
    data: Data = DEFAULT_DATA,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Issue a certificate from a PKCS#10 request, or for a key generated in the key store."""
    with reported():
        # Every input is checked before the CA key is decrypted or a key is generated.
        read_settings(data, ca_id)
        chosen = choice(profile, PROFILES, "--profile")
        if (csr is None) == (generate is None):
            raise MalformedInput("options", "give exactly one of --csr FILE or --generate KIND")
        to_generate: tuple[KeyKind, str] | None = None
        if csr is not None:
            request = load_csr(read_input(csr))
            _check_identifiers(request.subject)
            subject = request.subject
        else:
            kind: KeyKind = choice(generate or "", KEY_KINDS, "--generate")
            subject = _subject(subject_cn, organisation, uscc, hk_brn, country)
            if label is None:
                raise MalformedInput("--label", "a generated key needs a key store label")
            to_generate = (kind, label)
        keys = open_key_store(data, passphrase_file)
        with open_store(data) as store:
            ca, _ = load_authority(data, ca_id, store, keys)
            if to_generate is None:
                public_key = request.public_key
            else:
                public_key = keys.generate(*to_generate).public_key_info
            validity = timedelta(days=valid_days) if valid_days else None
            certificate = ca.issue(subject, public_key, chosen, validity=validity)
        serial = f"{certificate.serial_number:x}"
        target = out or ca_folder(data, ca_id) / "issued" / f"{serial}.pem"
        write_atomically(target, certificate_pem(certificate))
    typer.echo(f"issued serial {serial} ({chosen.name}) to {subject.human_friendly}: {target}")


def _subject(
    cn: str | None,
    organisation: str | None,
    uscc: str | None,
    hk_brn: str | None,
    country: str | None,
) -> x509.Name:
    if cn is None:
        raise MalformedInput("--subject-cn", "a generated key's certificate needs a subject")
    if uscc is not None and hk_brn is not None:
        raise MalformedInput("options", "give --uscc or --hk-brn, not both")
    fields = {"country_name": checked_country(country or ("HK" if hk_brn else "CN"))}
    if organisation is not None:
        fields["organization_name"] = checked_name(organisation, "--org")
    if uscc is not None:
        fields["organization_identifier"] = f"NTRCN-{validate_uscc(uscc)}"
    if hk_brn is not None:
        fields["organization_identifier"] = f"NTRHK-{validate_hk_brn(hk_brn)}"
    fields["common_name"] = checked_name(cn, "--subject-cn")
    return x509.Name.build(fields, use_printable=False)


@ca_app.command("revoke")
def revoke(
    ca_id: Annotated[str, typer.Argument(help="The issuing CA")],
    serial: Annotated[str, typer.Option("--serial", help="Serial number in hex")],
    reason: Annotated[str, typer.Option("--reason", help=", ".join(REASONS))] = "unspecified",
    data: Data = DEFAULT_DATA,
) -> None:
    """Revoke a certificate this CA issued; OCSP answers and CRLs say so from now on."""
    with reported():
        number = _serial(serial)
        why: RevocationReason = choice(reason, REASONS, "--reason")
        read_settings(data, ca_id)
        with open_store(data) as store:
            registry = DatabaseRegistry(store, ca_id, ACTOR)
            earlier = registry.revocation(number)
            entry = earlier or registry.revoke(number, datetime.now(UTC), why)
    done = "was already revoked" if earlier else "revoked"
    typer.echo(
        f"serial {number:x} {done} at {entry.revoked_at.isoformat()} "
        f"({entry.reason.value.replace('_', '-')})"
    )


@ca_app.command("crl")
def crl(
    ca_id: Annotated[str, typer.Argument(help="The issuing CA")],
    out: Annotated[Path, typer.Option("--out", help="CRL file (PEM)")],
    valid_hours: Annotated[int, typer.Option("--valid-hours", min=1, max=24 * 366)] = 24 * 7,
    data: Data = DEFAULT_DATA,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Sign a CRL of every revocation, numbered above any this CA issued before."""
    with reported():
        keys = open_key_store(data, passphrase_file)
        with open_store(data) as store:
            ca, settings = load_authority(data, ca_id, store, keys)
            now = datetime.now(UTC)
            # Seconds since the epoch, like the authority server's CRLs, so numbers keep
            # rising whichever of the two issued the last one.
            number = max(settings.crl_number + 1, int(now.timestamp()))
            der = build_crl(
                ca,
                this_update=now,
                next_update=now + timedelta(hours=valid_hours),
                crl_number=number,
            )
            count = sum(1 for _ in ca.registry.revocations())
        write_settings(data, CaSettings(ca_id, settings.key_label, settings.url_base, number))
        write_atomically(out, pem.armor("X509 CRL", der))
    typer.echo(f"CRL number {number} of CA {ca_id} lists {count} revoked certificate(s): {out}")


@ca_app.command("list")
def list_certificates(
    ca_id: Annotated[str, typer.Argument(help="The issuing CA")],
    data: Data = DEFAULT_DATA,
) -> None:
    """Every certificate the CA issued, with its state: valid, expired or revoked."""
    with reported():
        read_settings(data, ca_id)
        with open_store(data) as store, store.sessions() as session:
            rows = session.execute(
                select(IssuedCertificate, CertificateRevocation)
                .outerjoin(CertificateRevocation)
                .where(IssuedCertificate.ca_id == ca_id)
                .order_by(IssuedCertificate.id)
            ).all()
    now = datetime.now(UTC)
    table = Table(title=f"CA {ca_id}: {len(rows)} certificate(s)", header_style="bold")
    for column in ("serial", "subject", "not after", "state"):
        table.add_column(column)
    for issued, revocation in rows:
        not_after = _utc(issued.not_after)
        if revocation is not None:
            state = (
                f"revoked {_utc(revocation.revoked_at):%Y-%m-%d %H:%M}Z "
                f"({revocation.reason.replace('_', '-')})"
            )
        else:
            state = "expired" if not_after <= now else "valid"
        table.add_row(issued.serial_hex, Text(issued.subject), f"{not_after:%Y-%m-%d}", state)
    console().print(table)


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
