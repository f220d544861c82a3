"""``sealbridge trust``: build, sign, show and verify trust lists and agreements.

An operator's key lives in the data directory's key store (see ``sealbridge ca``) and its
certificate in ``operators/<label>.pem``; ``init-operator`` makes both. That certificate
is what relying parties pin, out of band, as ``pinned/<CODE>.pem``.

``build`` reads the services from a small JSON file, certificate paths relative to it::

    {"operator": "Shenzhen Trust List Operator",          (optional; default the cert's CN)
     "providers": [{"name": "Shenzhen Demo CA Co.",
                    "services": [{"name": "Shenzhen Demo CA",
                                  "type": "ca-esig",       (ca-esig, ca-eseal, tsa, ...)
                                  "certificate": "ca.pem",
                                  "history": [{"status": "granted",
                                               "since": "2026-01-01T00:00:00+08:00"}],
                                  "policy_prefixes": ["2.16.344.8.2.2008.810.2"],
                                  "supply_points": ["http://127.0.0.1:8080/ca/sz/ocsp"]}]}]}

and writes ETSI TS 119 612 XML (``--out *.xml``) or SealBridge JSON (``--out *.json``).

Exit status of ``verify`` (and ``show``): 0 valid, 1 rejected with the reason on stdout,
2 unreadable input or a usage error with one line on stderr.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from asn1crypto import x509
from lxml import etree
from rich.table import Table
from rich.text import Text

from sealbridge.cli.ca import (
    DEFAULT_DATA,
    KEY_KINDS,
    Data,
    PassphraseFile,
    certificate_pem,
    checked_country,
    checked_name,
    choice,
    matching_key,
    open_key_store,
    parse_time,
    read_certificate,
    read_input,
    reported,
)
from sealbridge.cli.output import console
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle
from sealbridge.errors import KeyStoreError, MalformedInput, TrustError
from sealbridge.files import write_atomically
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.pki.profiles import CertificateProfile
from sealbridge.trust.loader import parse_trust_list
from sealbridge.trust.model import (
    RecognitionAgreement,
    Scope,
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)
from sealbridge.trust.signed import (
    FORMAT_AGREEMENT,
    FORMAT_TRUST_LIST,
    agreement_parties,
    agreement_payload,
    load_agreement,
    load_trust_list,
    sign_document,
    trust_list_payload,
)
from sealbridge.trust.xml import to_xml, trust_list_json, verify_trust_list_xml
from sealbridge.trust.xml_codec import DS_NS

# A pinned anchor, not a CA: it signs lists and agreements and certifies nothing.
OPERATOR_PROFILE = CertificateProfile(
    name="trust-list-operator",
    validity=timedelta(days=1095),
    key_usage=frozenset({"digital_signature", "non_repudiation"}),
    revocation_pointers=False,
)
OPERATOR_DIR = "operators"

_TERRITORY = re.compile(r"[A-Z]{2}")
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_SERVICE_TYPES = {t.value: t for t in ServiceType}
_STATUSES = {s.value: s for s in ServiceStatus}
_SCOPES = {s.value: s for s in Scope}
_T = TypeVar("_T")

trust_app = typer.Typer(
    name="trust",
    help="Trust lists and recognition agreements: build, sign, show, verify.",
    no_args_is_help=True,
)

Territory = Annotated[str, typer.Option("--territory", help="Two-letter code, e.g. SZ, HK")]


def _territory(code: str) -> str:
    code = code.strip().upper()
    if not _TERRITORY.fullmatch(code):
        raise MalformedInput("territory", f"{code!r} is not a two-letter code such as SZ or HK")
    return code


def _operator(
    data: Path, label: str, passphrase_file: Path | None
) -> tuple[KeyHandle, x509.Certificate]:
    """An operator's key from the key store with its certificate from ``operators/``."""
    keys = open_key_store(data, passphrase_file)
    keys.path(label)  # refuses a label that could name a file outside the folders
    path = data / OPERATOR_DIR / f"{label}.pem"
    if not path.is_file():
        raise KeyStoreError(
            f"no operator {label!r} in {data}: run `sealbridge trust init-operator {label}` first"
        )
    certificate = read_certificate(path)
    return matching_key(keys.load(label), certificate, label), certificate


@trust_app.command("init-operator")
def init_operator(
    label: Annotated[str, typer.Argument(help="Key store label of the operator's key")],
    name: Annotated[str, typer.Option("--name", help="e.g. Shenzhen Trust List Operator")],
    country: Annotated[str, typer.Option("--country")] = "CN",
    key: Annotated[
        str, typer.Option("--key", help="ecdsa-p256 or rsa2048 (XML); sm2 JSON only")
    ] = "ecdsa-p256",
    data: Data = DEFAULT_DATA,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Create a list operator's key and self-signed certificate, for relying parties to pin."""
    with reported():
        kind: KeyKind = choice(key, KEY_KINDS, "--key")
        cn = checked_name(name, "--name")
        subject = ca_name(cn, cn, checked_country(country))
        keys = open_key_store(data, passphrase_file)
        keys.path(label)  # refuses a label that could name a file outside the folders
        target = data / OPERATOR_DIR / f"{label}.pem"
        if target.exists():
            raise KeyStoreError(f"operator {label!r} already exists: {target}")
        handle = keys.generate(kind, label)
        certificate = CertificateAuthority.create_root(
            subject, handle, profile=OPERATOR_PROFILE
        ).certificate
        write_atomically(target, certificate_pem(certificate))
    typer.echo(f"operator {label}: {subject.human_friendly}")
    typer.echo(f"  certificate {target} (sha256 {certificate.sha256.hex()})")
    typer.echo("  relying parties pin it as pinned/<CODE>.pem in their trust directory")


@trust_app.command("build")
def build(
    territory: Territory,
    operator_label: Annotated[str, typer.Option("--operator-label", help="Signing key label")],
    services: Annotated[Path, typer.Option("--services", help="Services JSON file")],
    sequence: Annotated[int, typer.Option("--sequence", min=1, help="Higher than the last")],
    out: Annotated[Path, typer.Option("--out", help="list.xml (ETSI) or list.json")],
    valid_days: Annotated[int, typer.Option("--valid-days", min=1, max=366)] = 30,
    data: Data = DEFAULT_DATA,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Sign a trust list of the services described in a JSON file."""
    with reported():
        suffix = out.suffix.lower()
        if suffix not in (".xml", ".json"):
            raise MalformedInput("--out", "name a .xml (ETSI TS 119 612) or .json file")
        code = _territory(territory)
        operator_name, providers = _load_services(services)
        key, certificate = _operator(data, operator_label, passphrase_file)
        now = datetime.now(UTC).replace(microsecond=0)
        tl = TrustList(
            territory=code,
            operator=operator_name or str(certificate.subject.native["common_name"]),
            sequence_number=sequence,
            issued=now,
            next_update=now + timedelta(days=valid_days),
            providers=providers,
        )
        if suffix == ".xml":
            body = to_xml(tl, key, certificate)
        else:
            body = sign_document(trust_list_payload(tl), [(key, certificate)])
        # What relying parties will do, done first: a list that does not load is not written.
        parse_trust_list(body, certificate, now=now)
        write_atomically(out, body)
    count = len(tl.services())
    typer.echo(f"trust list of {code}, sequence {sequence}, {count} service(s): {out}")


def _load_services(path: Path) -> tuple[str | None, tuple[TrustServiceProvider, ...]]:
    try:
        raw = json.loads(read_input(path))
        operator = raw.get("operator") if isinstance(raw, dict) else None
        if operator is not None and not isinstance(operator, str):
            raise ValueError("operator: expected a string")
        providers = tuple(
            TrustServiceProvider(
                _field(p, "name", f"providers[{i}]", str),
                tuple(
                    _service(path.parent, s, f"providers[{i}].services[{j}]")
                    for j, s in enumerate(_field(p, "services", f"providers[{i}]", list))
                ),
            )
            for i, p in enumerate(_field(raw, "providers", "file", list))
        )
    except (ValueError, MalformedInput) as exc:
        raise MalformedInput(f"services file {path}", str(exc)) from exc
    if not providers or not all(p.services for p in providers):
        raise MalformedInput(f"services file {path}", "every provider needs at least one service")
    return operator, providers


def _service(folder: Path, raw: object, where: str) -> TrustService:
    history = []
    for k, change in enumerate(_field(raw, "history", where, list)):
        at = f"{where}.history[{k}]"
        status = choice(_field(change, "status", at, str), _STATUSES, f"{at}.status")
        since = _field(change, "since", at, str)
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            raise ValueError(f"{at}.since: {since!r} is not an ISO 8601 time") from None
        history.append(
            StatusChange(status, moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        )
    if not history:
        raise ValueError(f"{where}.history: needs at least one status change")
    prefixes = _strings(raw, "policy_prefixes", where)
    bad = [p for p in prefixes if not _OID.fullmatch(p)]
    if bad:
        raise ValueError(f"{where}.policy_prefixes: {bad[0]!r} is not a dotted OID")
    return TrustService(
        name=_field(raw, "name", where, str),
        service_type=choice(_field(raw, "type", where, str), _SERVICE_TYPES, f"{where}.type"),
        certificate=read_certificate(folder / _field(raw, "certificate", where, str)),
        history=tuple(history),
        policy_prefixes=prefixes,
        supply_points=_strings(raw, "supply_points", where),
    )


def _field(raw: object, key: str, where: str, kind: type[_T]) -> _T:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object")
    value = raw.get(key)
    if not isinstance(value, kind) or (kind is str and not value):
        raise ValueError(f"{where}.{key}: expected a non-empty {kind.__name__}")
    return value


def _strings(raw: object, key: str, where: str) -> tuple[str, ...]:
    values = raw.get(key, []) if isinstance(raw, dict) else []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{where}.{key}: expected a list of strings")
    return tuple(values)


@dataclass(frozen=True)
class _Document:
    """A trust document read far enough to know what it is and who says they signed it."""

    kind: str  # "xml-list", "json-list" or "agreement"
    carried: tuple[x509.Certificate, ...]


def _identify(data: bytes, path: Path) -> _Document:
    """Unreadable input is a usage error (exit 2); checking signatures comes after."""
    if data.lstrip()[:1] == b"<":
        return _Document("xml-list", _xml_signer(data, path))
    try:
        envelope = json.loads(data)
        payload_format = envelope["payload"]["format"]
        carried = tuple(
            x509.Certificate.load(base64.b64decode(s["certificate"], validate=True))
            for s in envelope["signatures"]
        )
        for certificate in carried:
            certificate.subject.human_friendly  # noqa: B018 - parse now, not when printing
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise MalformedInput(str(path), f"neither a trust list nor an agreement ({exc})") from exc
    kinds = {FORMAT_TRUST_LIST: "json-list", FORMAT_AGREEMENT: "agreement"}
    if str(payload_format) not in kinds:
        raise MalformedInput(str(path), f"unknown document format {payload_format!r}")
    return _Document(kinds[str(payload_format)], carried)


def _xml_signer(data: bytes, path: Path) -> tuple[x509.Certificate, ...]:
    """The certificate in ds:KeyInfo; the parser never loads DTDs, entities or URLs."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise MalformedInput(str(path), f"not well-formed XML ({exc})") from exc
    text = root.findtext(
        f"{{{DS_NS}}}Signature/{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate"
    )
    if not text:
        return ()
    try:
        certificate = x509.Certificate.load(base64.b64decode("".join(text.split()), validate=True))
        certificate.subject.human_friendly  # noqa: B018
    except (ValueError, TypeError, KeyError) as exc:
        raise MalformedInput(
            str(path), f"its signature carries no readable certificate ({exc})"
        ) from exc
    return (certificate,)


@trust_app.command("show")
def show(
    file: Annotated[Path, typer.Argument(help="A trust list (XML or JSON) or an agreement")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """Print a list or agreement, checked against the certificate it carries (not a pin)."""
    with reported():
        data = read_input(file)
        document = _identify(data, file)
    try:
        if not document.carried:
            raise TrustError("it is not signed")
        if document.kind == "agreement":
            agreement = load_agreement(data, document.carried)
        elif document.kind == "xml-list":
            tl = verify_trust_list_xml(data, document.carried).trust_list
        else:
            # An expired list is still shown: "now" before any list was issued.
            tl = load_trust_list(data, document.carried[0], now=datetime.min.replace(tzinfo=UTC))
    except TrustError as exc:
        typer.echo(f"REJECTED {file}: {_one_line(exc)}")
        raise typer.Exit(1) from None
    signers = "; ".join(c.subject.human_friendly for c in document.carried)
    if document.kind == "agreement":
        _print_agreement(agreement, signers, as_json)
    else:
        _print_list(tl, signers, as_json)


def _print_list(tl: TrustList, signers: str, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(trust_list_json(tl) | {"signed_by": signers}, ensure_ascii=False, indent=2)
        )
        return
    now = datetime.now(UTC)
    expired = " (EXPIRED)" if tl.next_update <= now else ""
    for line in (
        f"Trust list of {tl.territory}, sequence {tl.sequence_number}",
        f"  operator     {tl.operator}",
        f"  issued       {tl.issued.isoformat()}",
        f"  next update  {tl.next_update.isoformat()}{expired}",
        f"  signed by    {signers} (not checked against a pin: use `trust verify --pinned`)",
    ):
        typer.echo(line)
    table = Table(header_style="bold")
    for column in ("provider", "service", "type", "status now", "certificate", "policies"):
        table.add_column(column)
    for provider in tl.providers:
        for service in provider.services:
            status = service.status_at(now)
            table.add_row(
                Text(provider.name),
                Text(service.name),
                service.service_type.value,
                status.value if status else "not yet listed",
                Text(service.certificate.subject.human_friendly),
                "\n".join(service.policy_prefixes) or "—",
            )
    console().print(table)


def _print_agreement(agreement: RecognitionAgreement, signers: str, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                agreement_payload(agreement) | {"signed_by": signers}, ensure_ascii=False, indent=2
            )
        )
        return
    a, b = agreement.parties
    lines = [
        f"Recognition agreement {a} <-> {b}" + (f": {agreement.title}" if agreement.title else ""),
        f"  scopes       {', '.join(sorted(s.value for s in agreement.scopes))}",
        f"  in force     from {agreement.effective_from.isoformat()}"
        + (f" until {agreement.repealed_at.isoformat()}" if agreement.repealed_at else ""),
        f"  policies     {', '.join(agreement.policy_prefixes) or '—'}",
        f"  signed by    {signers}",
    ]
    for line in lines:
        typer.echo(line)


@trust_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A trust list (XML or JSON) or an agreement")],
    pinned: Annotated[
        list[str],
        typer.Option(
            "--pinned",
            help="Pinned operator certificate, PEM; CODE=FILE names its jurisdiction "
            "(else the file name does, as pinned/SZ.pem); one per party of an agreement",
        ),
    ],
    last_sequence: Annotated[
        int | None, typer.Option("--last-sequence", help="Refuse lists older than this")
    ] = None,
) -> None:
    """Check a list against its pinned operator, or an agreement against both parties'."""
    with reported():
        data = read_input(file)
        document = _identify(data, file)
        pins = [_pin(value) for value in pinned]
        if document.kind == "agreement":
            by_code = {code: certificate for code, _, certificate in pins}
            parties = agreement_parties(data)
            missing = [p for p in parties if p not in by_code]
            if missing:
                raise MalformedInput("--pinned", f"no certificate pinned for {missing[0]}")
            required = [by_code[p] for p in parties]
        elif len(pins) != 1:
            raise MalformedInput("--pinned", "a trust list is checked against one operator")
    try:
        if document.kind == "agreement":
            agreement = load_agreement(data, required)
            summary = f"agreement {agreement.label}, signed by both parties' pinned operators"
        else:
            (code, explicit, certificate) = pins[0]
            tl = parse_trust_list(
                data, certificate, now=datetime.now(UTC), last_sequence_number=last_sequence
            )
            if explicit and tl.territory != code:
                raise TrustError(f"it is the list of {tl.territory}, not of {code}")
            summary = (
                f"trust list of {tl.territory}, sequence {tl.sequence_number}, "
                f"next update {tl.next_update.isoformat()}"
            )
    except TrustError as exc:
        typer.echo(f"REJECTED {file}: {_one_line(exc)}")
        raise typer.Exit(1) from None
    typer.echo(f"VALID {file}: {summary}")


def _pin(value: str) -> tuple[str, bool, x509.Certificate]:
    """``CODE=FILE`` or ``FILE``: (code, whether it was given explicitly, certificate)."""
    code, sep, path = value.partition("=")
    if sep and _TERRITORY.fullmatch(code.strip().upper()):
        return code.strip().upper(), True, read_certificate(Path(path))
    return Path(value).stem.upper(), False, read_certificate(Path(value))


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


@trust_app.command("agreement")
def agreement(
    parties: Annotated[tuple[str, str], typer.Option("--parties", help="Two codes: SZ HK")],
    scopes: Annotated[list[str], typer.Option("--scope", help="e-signature and/or e-seal")],
    effective_from: Annotated[str, typer.Option("--from", help="ISO 8601 date or time")],
    sign_with: Annotated[list[str], typer.Option("--sign-with", help="Operator key label")],
    out: Annotated[Path, typer.Option("--out", help="Agreement file (.json)")],
    until: Annotated[str | None, typer.Option("--until", help="Repealed at (ISO 8601)")] = None,
    title: Annotated[str, typer.Option("--title")] = "",
    policy_prefixes: Annotated[
        list[str] | None, typer.Option("--policy-prefix", help="Policy OID signers must carry")
    ] = None,
    data: Data = DEFAULT_DATA,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Write a recognition agreement signed by one or both operators."""
    with reported():
        a, b = (_territory(p) for p in parties)
        if a == b:
            raise MalformedInput("--parties", "an agreement is between two jurisdictions")
        prefixes = tuple(policy_prefixes or ())
        bad = [p for p in prefixes if not _OID.fullmatch(p)]
        if bad:
            raise MalformedInput("--policy-prefix", f"{bad[0]!r} is not a dotted OID")
        start = parse_time(effective_from, "--from")
        end = parse_time(until, "--until") if until else None
        if end is not None and end <= start:
            raise MalformedInput("--until", "must come after --from")
        terms = RecognitionAgreement(
            parties=(a, b),
            scopes=frozenset(choice(s, _SCOPES, "--scope") for s in scopes),
            effective_from=start,
            repealed_at=end,
            policy_prefixes=prefixes,
            title=title,
        )
        signers = [_operator(data, label, passphrase_file) for label in dict.fromkeys(sign_with)]
        write_atomically(out, sign_document(agreement_payload(terms), signers))
    typer.echo(f"agreement {terms.label} signed by {len(signers)} operator(s): {out}")
    if len(signers) < 2:
        typer.echo("  the other party countersigns it with `sealbridge trust countersign`")


@trust_app.command("countersign")
def countersign(
    file: Annotated[Path, typer.Argument(help="Agreement signed by the other party")],
    sign_with: Annotated[str, typer.Option("--sign-with", help="Your operator key label")],
    out: Annotated[Path | None, typer.Option("--out", help="Default: replace FILE")] = None,
    data: Data = DEFAULT_DATA,
    passphrase_file: PassphraseFile = None,
) -> None:
    """Add your operator's signature to an agreement the other party signed first."""
    with reported():
        body = read_input(file)
        if _identify(body, file).kind != "agreement":
            raise MalformedInput(str(file), "not a recognition agreement")
        key, certificate = _operator(data, sign_with, passphrase_file)
        envelope: dict[str, Any] = json.loads(body)
        added = json.loads(sign_document(envelope["payload"], [(key, certificate)]))["signatures"]
        signed = [
            s for s in envelope["signatures"] if s.get("certificate") != added[0]["certificate"]
        ]
        envelope["signatures"] = [*signed, *added]
        target = out or file
        write_atomically(target, json.dumps(envelope, ensure_ascii=False, indent=1).encode())
    typer.echo(f"agreement countersigned by {certificate.subject.human_friendly}: {target}")
