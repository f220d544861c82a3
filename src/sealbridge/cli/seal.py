"""``sealbridge seal``: make, inspect, verify and administer electronic seals.

``show`` and ``verify`` read a seal file and need nothing else; ``verify --trust`` adds
a trust directory and asks the maker's OCSP responder. The other commands work on a
data directory (``--data``): the embedded store holding the seal registry, and the
demo seal maker that ``init-maker`` creates, its SM2 key in the data directory's encrypted
key store (``keys/``, passphrase from ``--passphrase-file`` or the environment). Exit
status: 0 done (``verify``: valid, and with ``--trust`` recognised everywhere asked),
1 invalid or not recognised (``verify``), 2 bad input or refused, with one line on
stderr naming the problem.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from asn1crypto import pem, x509
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from sealbridge.cli.ca import PassphraseFile, open_key_store
from sealbridge.cli.output import console, fail
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.errors import KeyStoreError, MalformedInput, SealBridgeError
from sealbridge.files import write_atomically
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.seals.decode import ASN1_ERRORS, decode_seal
from sealbridge.seals.issue import issue_seal
from sealbridge.seals.model import SealType, SealView
from sealbridge.seals.picture import render_name_seal, render_round_seal
from sealbridge.seals.registry import GrantRole
from sealbridge.seals.status import load_status_list, status_check
from sealbridge.seals.verify import SealCheck, verify_seal
from sealbridge.service.db.store import Store
from sealbridge.service.seal_registry import SealRegistry
from sealbridge.trust.directory import load_trust_directory
from sealbridge.trust.view import Federation
from sealbridge.verify.report.json import render_json
from sealbridge.verify.report.model import ValidationReport
from sealbridge.verify.revocation import OcspRevocationSource
from sealbridge.verify.seal import verify_seal_file

MAKER_DIR = "seal-maker"
MAKER_KEY_LABEL = "seal-maker"
MAKER_CERT = "maker.pem"
MAKER_ROOT = "root.pem"
MAX_SEAL_FILE = 4 * 1024 * 1024

seal_app = typer.Typer(
    name="seal",
    help="Electronic seals (GB/T 38540): issue, show, verify, revoke, grant.",
    no_args_is_help=True,
)

Data = Annotated[
    Path, typer.Option("--data", help="Data directory: registry store and seal maker files")
]
DEFAULT_DATA = Path("sealbridge-data")


class SealKind(StrEnum):
    COMPANY = "company"
    FINANCE = "finance"
    INVOICE = "invoice"
    CONTRACT = "contract"
    LEGAL_REPRESENTATIVE = "legal-representative"

    @property
    def seal_type(self) -> SealType:
        return SealType[self.name]


@contextmanager
def _reported() -> Iterator[None]:
    """Turn every expected failure into one line on stderr and exit status 2."""
    try:
        yield
    except (SealBridgeError, OSError, SQLAlchemyError) as exc:
        fail(f"{type(exc).__name__}: {' '.join(str(exc).split())}")


@contextmanager
def _registry(data: Path) -> Iterator[SealRegistry]:
    store = Store.embedded(data)
    try:
        yield SealRegistry(store)
    finally:
        store.close()


@seal_app.command("init-maker")
def init_maker(
    name: Annotated[str, typer.Option("--name", help="The seal maker's name")],
    data: Data = DEFAULT_DATA,
    country: Annotated[str, typer.Option("--country")] = "CN",
    passphrase_file: PassphraseFile = None,
) -> None:
    """Create a demo SM2 seal maker: a self-signed root and the maker's certificate."""
    with _reported():
        folder = data / MAKER_DIR
        if (folder / MAKER_CERT).exists():
            raise KeyStoreError(f"a seal maker already exists in {folder}")
        name = " ".join(name.split())
        if not 0 < len(name) <= 64:
            raise MalformedInput("seal maker name", "must be 1 to 64 characters")
        country = country.strip().upper()
        if not (len(country) == 2 and country.isascii() and country.isalpha()):
            raise MalformedInput("country", "an ISO 3166 two-letter code, such as CN or HK")
        # The root's key is used once, here, and never stored: this root certifies
        # nothing but this maker.
        root = CertificateAuthority.create_root(
            ca_name(f"{name} Root", name, country), generate_key(KeyKind.SM2)
        )
        key = open_key_store(data, passphrase_file).generate(KeyKind.SM2, MAKER_KEY_LABEL)
        certificate = root.issue(
            ca_name(name, name, country), key.public_key_info, profiles.SEAL_MAKER
        )
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(
            folder / MAKER_ROOT, pem.armor("CERTIFICATE", root.certificate.dump()), 0o644
        )
        # Written last: a certificate means a complete maker.
        write_atomically(folder / MAKER_CERT, pem.armor("CERTIFICATE", certificate.dump()), 0o644)
    typer.echo(f"seal maker {name!r} created in {folder}")


@seal_app.command("register-firm")
def register_firm(
    registration: Annotated[str, typer.Argument(help="USCC (SZ, BJ), BR number (HK), ...")],
    name: Annotated[str, typer.Option("--name")],
    legal_representative: Annotated[str, typer.Option("--legal-representative")],
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="SZ, HK, BJ, MO, ...")],
    data: Data = DEFAULT_DATA,
    by: Annotated[str, typer.Option("--by", help="Who records this")] = "registrar",
) -> None:
    """Enter a firm from the business register."""
    with _reported(), _registry(data) as registry:
        registry.register_firm(
            by,
            registration,
            name=name,
            legal_representative=legal_representative,
            jurisdiction=jurisdiction,
        )
    typer.echo(f"firm {registration.strip()} registered")


@seal_app.command("add-user")
def add_user(
    user: Annotated[str, typer.Argument(help="Login id")],
    firm: Annotated[str, typer.Option("--firm", help="The firm's registration number")],
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    data: Data = DEFAULT_DATA,
    by: Annotated[str, typer.Option("--by", help="Who records this")] = "registrar",
) -> None:
    """Enter a person who acts for a firm."""
    with _reported(), _registry(data) as registry:
        registry.add_user(by, user, display_name=display_name or user, firm=firm)
    typer.echo(f"user {user} added to firm {firm}")


@seal_app.command("issue")
def issue(
    firm: Annotated[str, typer.Option("--firm", help="The firm's registration number")],
    es_id: Annotated[str, typer.Option("--es-id", help="Seal code assigned by the maker")],
    signer_certs: Annotated[
        list[Path], typer.Option("--signer-cert", help="Certificate allowed to apply it")
    ],
    kind: Annotated[SealKind, typer.Option("--type")] = SealKind.CONTRACT,
    custodians: Annotated[
        list[str] | None, typer.Option("--custodian", help="User who will manage the seal")
    ] = None,
    valid_days: Annotated[int, typer.Option("--valid-days", min=1, max=3650)] = 730,
    out: Annotated[Path | None, typer.Option("--out", help="Seal file to write")] = None,
    data: Data = DEFAULT_DATA,
    by: Annotated[str, typer.Option("--by", help="Who records this")] = "seal-maker",
    passphrase_file: PassphraseFile = None,
) -> None:
    """Make a seal for a registered firm with the data directory's seal maker."""
    with _reported():
        maker_key, maker_certificate = _maker(data, passphrase_file)
        bound = [_certificate(path) for path in signer_certs]
        with _registry(data) as registry:
            record = registry.firm(firm)
            seal_type = kind.seal_type
            if seal_type is SealType.LEGAL_REPRESENTATIVE:
                picture = render_name_seal(record.legal_representative)
            else:
                picture = render_round_seal(record.name, seal_type.chop_text, code=es_id)
            now = datetime.now(UTC)
            der = issue_seal(
                maker_key,
                maker_certificate,
                es_id=es_id,
                seal_type=seal_type,
                name=f"{record.name}{seal_type.label_zh}",
                bound_certificates=bound,
                picture=picture,
                valid_from=now,
                valid_to=now + timedelta(days=valid_days),
            )
            registry.record_seal(by, record.registration, der, custodians=custodians or ())
        target = out or data / "seals" / f"{es_id}.esl"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, der, 0o644)
    typer.echo(f"seal {es_id} issued to firm {record.registration}: {target}")


@seal_app.command("show")
def show(
    file: Annotated[Path, typer.Argument(help="Seal file (.esl)")],
    picture: Annotated[Path | None, typer.Option("--picture", help="Write the image here")] = None,
) -> None:
    """Print a seal's fields; optionally save its picture."""
    with _reported():
        seal = decode_seal(_read(file))
        if picture is not None:
            write_atomically(picture, seal.picture.data, 0o644)
    table = Table(title=str(file), show_header=False)
    table.add_column(style="bold")
    table.add_column()
    for field, value in _fields(seal):
        table.add_row(field, Text(value))
    console().print(table)
    if picture is not None:
        typer.echo(f"picture ({seal.picture.kind}) written to {picture}")


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@seal_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="Seal file (.esl)")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="ISO 8601 time to check it at (default now; UTC if no zone)"),
    ] = None,
    status_lists: Annotated[
        list[Path] | None,
        typer.Option("--status-list", help="The maker's signed status list (repeatable)"),
    ] = None,
    trust: Annotated[
        Path | None,
        typer.Option(
            "--trust", help="Trust directory: also check chain, revocation and recognition"
        ),
    ] = None,
    jurisdictions: Annotated[
        list[str] | None,
        typer.Option("--as", help="Jurisdiction whose eyes to verify in (repeatable; --trust)"),
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.TEXT,
) -> None:
    """Check a seal: its maker's signature, validity at a time, and its status if given.

    With --trust, also the maker's chain to a listed CA and its revocation (asked of
    the OCSP responder it names), and recognition in each jurisdiction: exit 0 only if
    the seal is TOTAL-PASSED and recognised in every one asked about.
    """
    with _reported():
        moment = _time(at, "--at") if at else datetime.now(UTC).replace(microsecond=0)
        data = _read(file)
        try:
            seal = decode_seal(data)
        except MalformedInput as exc:
            raise MalformedInput(f"seal in {file}", exc.reason) from exc
        lists = [
            load_status_list(_read(path), seal.maker_certificate, datetime.now(UTC))
            for path in status_lists or ()
        ]
        if trust is None:
            if jurisdictions:
                raise MalformedInput("--as", "recognition needs a trust directory (--trust)")
            checks = list(verify_seal(data, at=moment).checks)
            if lists:
                checks.append(status_check(lists, seal, moment))
        else:
            federation = load_trust_directory(trust, now=datetime.now(UTC))
            codes = _jurisdictions(federation, jurisdictions)
            report = verify_seal_file(
                data,
                file.name,
                federation,
                codes,
                at=moment,
                status_lists=lists,
                revocation=OcspRevocationSource(),
            )
    if trust is None:
        _print_integrity(seal, checks, output)
    else:
        _print_report(report, codes, output)


def _jurisdictions(federation: Federation, asked: list[str] | None) -> list[str]:
    known = sorted(federation.trust_lists)
    codes = [code.strip().upper() for code in asked] if asked else known
    unknown = [code for code in codes if code not in federation.trust_lists]
    if unknown:
        raise MalformedInput(
            "--as", f"{unknown[0]} is not in the trust directory, which has {', '.join(known)}"
        )
    return codes


def _print_integrity(seal: SealView, checks: list[SealCheck], output: OutputFormat) -> None:
    failed = next((c.step for c in checks if not c.passed), None)
    if output is OutputFormat.JSON:
        document = {
            "es_id": seal.es_id,
            "valid": failed is None,
            "failed_step": failed,
            "checks": [{"step": c.step, "passed": c.passed, "detail": c.detail} for c in checks],
        }
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for check in checks:
            typer.echo(f"{'ok' if check.passed else 'FAILED':6} {check.step}: {check.detail}")
        verdict = "is valid" if failed is None else f"is INVALID (failed at {failed})"
        typer.echo(f"seal {seal.es_id} {verdict}")
    if failed is not None:
        raise typer.Exit(1)


def _print_report(report: ValidationReport, codes: list[str], output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        typer.echo(render_json(report))
    else:
        for signature in report.signatures:
            for line in signature.details:
                typer.echo(line)
            sub = f"/{signature.sub_indication}" if signature.sub_indication else ""
            typer.echo(f"seal {signature.id}: {signature.indication.value}{sub}")
            for code in codes:
                recognition = signature.recognition[code]
                typer.echo(f"{code}: {recognition.label} — {recognition.rule}")
    if not report.all_passed_and_recognised:
        raise typer.Exit(1)


@seal_app.command("revoke")
def revoke(
    es_id: Annotated[str, typer.Argument(help="Seal code")],
    reason: Annotated[str, typer.Option("--reason")] = "",
    data: Data = DEFAULT_DATA,
    by: Annotated[str, typer.Option("--by", help="Who revokes it")] = "seal-maker",
) -> None:
    """Revoke a seal for good; status lists published from now on say so."""
    with _reported(), _registry(data) as registry:
        record = registry.revoke(by, es_id, reason=reason)
    typer.echo(f"seal {es_id} revoked at {record.state_since.isoformat()}")


@seal_app.command("grant")
def grant(
    es_id: Annotated[str, typer.Argument(help="Seal code")],
    by: Annotated[str, typer.Option("--by", help="A custodian of the seal")],
    to: Annotated[str, typer.Option("--to", help="User of the same firm")],
    role: Annotated[GrantRole, typer.Option("--role")] = GrantRole.USER,
    until: Annotated[str | None, typer.Option("--until", help="ISO 8601 end")] = None,
    max_uses: Annotated[int | None, typer.Option("--max-uses", min=1)] = None,
    data: Data = DEFAULT_DATA,
) -> None:
    """Let a user of the firm use, manage or audit a seal."""
    with _reported(), _registry(data) as registry:
        end = _time(until, "--until") if until else None
        given = registry.grant(by, es_id, to, role, valid_until=end, max_uses=max_uses)
    limits = [f"until {given.valid_until.isoformat()}"] if given.valid_until else []
    limits += [f"at most {given.max_uses} uses"] if given.max_uses else []
    typer.echo(
        f"grant {given.id}: {to} is {role.value} of seal {es_id}"
        + (f" ({', '.join(limits)})" if limits else "")
    )


@seal_app.command("status-list")
def status_list(
    out: Annotated[Path, typer.Option("--out", help="Where to write the signed list")],
    valid_hours: Annotated[int, typer.Option("--valid-hours", min=1, max=24 * 31)] = 24,
    data: Data = DEFAULT_DATA,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Publish the maker's signed list of its seals and their states."""
    with _reported():
        maker_key, maker_certificate = _maker(data, passphrase_file)
        with _registry(data) as registry:
            signed = registry.status_list(
                maker_key,
                maker_certificate,
                datetime.now(UTC),
                validity=timedelta(hours=valid_hours),
            )
        write_atomically(out, signed, 0o644)
    typer.echo(f"status list written to {out}")


def _fields(seal: SealView) -> list[tuple[str, str]]:
    kind = seal.seal_type
    bound = [c.subject.human_friendly for c in seal.bound_certificates] + [
        f"{d.algorithm} digest {d.value.hex()}" for d in seal.bound_digests
    ]
    return [
        ("standard", f"{seal.standard} (version {seal.version}, vendor {seal.vid})"),
        ("esID", seal.es_id),
        ("type", f"{seal.type_code} {kind.label_en if kind else '(not a known type)'}"),
        ("name", seal.name),
        ("bound certificates", "\n".join(bound)),
        ("created", seal.created.isoformat()),
        ("valid", f"{seal.valid_from.isoformat()} to {seal.valid_to.isoformat()}"),
        (
            "picture",
            f"{seal.picture.kind}, {seal.picture.width_mm}x{seal.picture.height_mm} mm, "
            f"{len(seal.picture.data)} bytes",
        ),
        ("maker", seal.maker_certificate.subject.human_friendly),
        ("signature", seal.signature_algorithm),
        ("timestamp", "present" if seal.timestamp else "none"),
        ("extensions", ", ".join(e.oid for e in seal.extensions) or "none"),
    ]


def _maker(data: Path, passphrase_file: Path | None) -> tuple[KeyHandle, x509.Certificate]:
    folder = data / MAKER_DIR
    if not (folder / MAKER_CERT).is_file():
        raise KeyStoreError(
            f"no seal maker in {data}: run `sealbridge seal init-maker --data {data}` first"
        )
    key = open_key_store(data, passphrase_file).load(MAKER_KEY_LABEL)
    certificate = _certificate(folder / MAKER_CERT)
    if key.public_key_info.dump() != certificate.public_key.dump():
        raise KeyStoreError(f"the key in {folder} does not belong to its maker certificate")
    return key, certificate


def _certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    try:
        if pem.detect(data):
            data = pem.unarmor(data)[2]
        certificate = x509.Certificate.load(data, strict=True)
        _ = certificate.native
    except ASN1_ERRORS as exc:
        raise MalformedInput(f"certificate {path}", "neither PEM nor DER X.509") from exc
    return certificate


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_SEAL_FILE:
        raise MalformedInput(str(path), f"larger than {MAX_SEAL_FILE} bytes")
    return path.read_bytes()


def _time(text: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise MalformedInput(what, f"{text!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
