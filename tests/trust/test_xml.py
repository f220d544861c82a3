"""Trust lists as signed ETSI TS 119 612 XML: round trip, and refusal with a reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from asn1crypto import pem
from lxml import etree

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.errors import TrustError, UnsupportedAlgorithm
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.trust.model import (
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)
from sealbridge.trust.signed import trust_list_payload
from sealbridge.trust.xml import (
    MAX_XML_BYTES,
    SERVICE_TYPE_URIS,
    build_tree,
    load_trust_list_xml,
    sign_xml,
    to_xml,
    trust_list_json,
)
from support.trust import NOW, Operator

TSL = "{http://uri.etsi.org/02231/v2#}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
GRANTED = StatusChange(ServiceStatus.GRANTED, NOW - timedelta(days=300))
WITHDRAWN = StatusChange(ServiceStatus.WITHDRAWN, NOW - timedelta(days=20))


@cache
def _service_certificate(name: str) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        ca_name(name, "SealBridge Test", "CN"), generate_key(KeyKind.ECDSA_P256)
    )


def _rich_list(territory: str = "SZ", sequence: int = 7) -> TrustList:
    """Two providers, each with a service of every type; one granted then withdrawn."""
    providers = []
    for provider in ("Shenzhen CA & Co <深圳>", 'GDCA "Guangdong"'):
        services = []
        for i, service_type in enumerate(ServiceType):
            name = f"{provider} {service_type.value} service"
            withdrawn = service_type is ServiceType.CA_E_SEAL and provider.startswith("GDCA")
            services.append(
                TrustService(
                    name=name,
                    service_type=service_type,
                    certificate=_service_certificate(name).certificate,
                    history=(GRANTED, WITHDRAWN) if withdrawn else (GRANTED,),
                    policy_prefixes=(profiles.MUTUAL_RECOGNITION_POLICY_PREFIX, "1.2.156.1")[
                        : i % 3
                    ],
                    supply_points=(f"http://ocsp.example/{i}", f"http://crl.example/{i}.crl")[
                        : (i + 1) % 3
                    ],
                )
            )
        providers.append(TrustServiceProvider(provider, tuple(services)))
    return TrustList(
        territory=territory,
        operator=f"{territory} Trust List Operator",
        sequence_number=sequence,
        issued=NOW,
        next_update=NOW + timedelta(days=30),
        providers=tuple(providers),
    )


@pytest.fixture(scope="module")
def signed(operators: dict[str, Operator]) -> bytes:
    op = operators["SZ"]
    return to_xml(_rich_list(), op.key, op.certificate)


def _load(data: bytes, op: Operator, **kwargs: object) -> TrustList:
    return load_trust_list_xml(data, op.certificate, now=NOW, **kwargs)  # type: ignore[arg-type]


def test_round_trip(operators: dict[str, Operator], signed: bytes) -> None:
    tl = _load(signed, operators["SZ"])
    assert trust_list_payload(tl) == trust_list_payload(_rich_list())
    for got, want in zip(tl.services(), _rich_list().services(), strict=True):
        assert got.certificate.dump() == want.certificate.dump()
    assert len(tl.providers) == 2
    assert {s.service_type for s in tl.providers[0].services} == set(ServiceType)
    withdrawn = [s for s in tl.services() if s.status_at(NOW) is ServiceStatus.WITHDRAWN]
    assert [s.history for s in withdrawn] == [(GRANTED, WITHDRAWN)]


def test_etsi_shape(signed: bytes) -> None:
    root = etree.fromstring(signed)
    assert root.tag == f"{TSL}TrustServiceStatusList"
    assert root.findtext(f"{TSL}SchemeInformation/{TSL}TSLVersionIdentifier") == "5"
    assert root.findtext(f"{TSL}SchemeInformation/{TSL}TSLSequenceNumber") == "7"
    name = root.find(f"{TSL}SchemeInformation/{TSL}SchemeOperatorName/{TSL}Name")
    assert name is not None
    assert name.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    services = root.findall(f".//{TSL}TSPService")
    assert len(services) == 2 * len(ServiceType)
    assert {
        s.findtext(f"{TSL}ServiceInformation/{TSL}ServiceTypeIdentifier") for s in services
    } == set(SERVICE_TYPE_URIS.values())
    (history,) = root.findall(f".//{TSL}ServiceHistoryInstance")
    assert history.findtext(f"{TSL}ServiceStatus", "").endswith("/Svcstatus/granted")
    signed_info = root.find(f"{DS}Signature/{DS}SignedInfo")
    assert signed_info is not None
    algorithms = [e.get("Algorithm") for e in signed_info.iter() if e.get("Algorithm")]
    assert "http://www.w3.org/2001/10/xml-exc-c14n#" in algorithms
    assert "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" in algorithms
    assert signed_info.find(f"{DS}Reference").get("URI") == ""


def test_rsa_operator_round_trip() -> None:
    key = generate_key(KeyKind.RSA_2048)
    certificate = CertificateAuthority.create_root(
        ca_name("RSA Trust List Operator", "SealBridge Test", "HK"), key
    ).certificate
    tl = _rich_list("HK")
    data = to_xml(tl, key, certificate)
    assert b"xmldsig-more#rsa-sha256" in data
    loaded = load_trust_list_xml(data, certificate, now=NOW)
    assert trust_list_payload(loaded) == trust_list_payload(tl)


def test_tampered_service_name_is_rejected(operators: dict[str, Operator], signed: bytes) -> None:
    at = signed.index(b"tsa service")
    tampered = signed[:at] + b"T" + signed[at + 1 :]
    with pytest.raises(TrustError, match=r"signature does not verify.*Digest mismatch"):
        _load(tampered, operators["SZ"])


def test_list_signed_by_a_stranger_is_rejected(operators: dict[str, Operator]) -> None:
    stranger = operators["MO"]
    data = to_xml(_rich_list(), stranger.key, stranger.certificate)
    with pytest.raises(TrustError, match=r"signed by .*MO Demo.*not by the pinned operator"):
        _load(data, operators["SZ"])


def test_stranger_naming_the_pinned_certificate_is_rejected(
    operators: dict[str, Operator],
) -> None:
    sz, stranger = operators["SZ"], operators["MO"]
    data = to_xml(_rich_list(), stranger.key, stranger.certificate)
    root = etree.fromstring(data)
    cert = root.find(f"{DS}Signature/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    assert cert is not None
    cert.text = pem.armor("CERTIFICATE", sz.certificate.dump()).decode().split("-----")[2]
    with pytest.raises(TrustError, match="signature does not verify"):
        _load(etree.tostring(root), sz)


def test_unsigned_content_beside_the_signed_list_is_never_read(
    operators: dict[str, Operator], signed: bytes
) -> None:
    # Signature wrapping: a forged list inside ds:Signature/ds:Object lies outside what the
    # enveloped reference covers, so the signature still verifies; it must not be read.
    root = etree.fromstring(signed)
    forged = replace(_rich_list(), providers=_rich_list().providers[:1])
    etree.SubElement(root.find(f"{DS}Signature"), f"{DS}Object").append(build_tree(forged))
    loaded = _load(etree.tostring(root), operators["SZ"])
    assert trust_list_payload(loaded) == trust_list_payload(_rich_list())


def test_unsigned_list_is_rejected(operators: dict[str, Operator]) -> None:
    with pytest.raises(TrustError, match="not signed"):
        _load(etree.tostring(build_tree(_rich_list())), operators["SZ"])


def test_expired_list_is_rejected(operators: dict[str, Operator], signed: bytes) -> None:
    op = operators["SZ"]
    with pytest.raises(TrustError, match="expired at 2026-12-25"):
        load_trust_list_xml(signed, op.certificate, now=NOW + timedelta(days=30))


def test_rollback_is_rejected(operators: dict[str, Operator], signed: bytes) -> None:
    with pytest.raises(TrustError, match="rolled back: sequence 7 < 8"):
        _load(signed, operators["SZ"], last_sequence_number=8)
    assert _load(signed, operators["SZ"], last_sequence_number=7).sequence_number == 7


@pytest.mark.parametrize(
    "element",
    [
        "SchemeInformation",
        "TSLSequenceNumber",
        "SchemeTerritory",
        "ListIssueDateTime",
        "NextUpdate",
        "SchemeOperatorName",
        "TSPName",
        "ServiceTypeIdentifier",
        "ServiceName",
        "ServiceDigitalIdentity",
        "X509Certificate",
        "ServiceStatus",
        "StatusStartingTime",
    ],
)
def test_missing_element_is_named(operators: dict[str, Operator], element: str) -> None:
    op = operators["SZ"]
    root = build_tree(_rich_list())
    victim = next(root.iter(f"{TSL}{element}"))
    victim.getparent().remove(victim)
    with pytest.raises(TrustError, match=element):
        _load(sign_xml(root, op.key, op.certificate), op)


def test_unknown_critical_extension_is_rejected(operators: dict[str, Operator]) -> None:
    op = operators["SZ"]
    root = build_tree(_rich_list())
    extension = next(root.iter(f"{TSL}Extension"))
    extension[0].tag = "{urn:example:other}Unknown"
    with pytest.raises(TrustError, match="critical"):
        _load(sign_xml(root, op.key, op.certificate), op)
    extension.set("Critical", "false")
    loaded = _load(sign_xml(root, op.key, op.certificate), op)
    first_with_policy = next(i for i, s in enumerate(_rich_list().services()) if s.policy_prefixes)
    assert loaded.services()[first_with_policy].policy_prefixes == ()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        b"\xff\xfe\x00\x01",
        b"<a>",
        b"<a/>",
        b'{"payload": {}, "signatures": []}',
        b'<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#"/>',
        b'<?xml version="1.0" encoding="UTF-16"?><a/>',
    ],
)
def test_garbage_is_a_trust_error(operators: dict[str, Operator], body: bytes) -> None:
    with pytest.raises(TrustError):
        _load(body, operators["SZ"])


def test_enormous_document_is_refused_before_parsing(operators: dict[str, Operator]) -> None:
    body = b"<a>" + b" " * MAX_XML_BYTES + b"</a>"
    with pytest.raises(TrustError, match="more than the 16777216 allowed"):
        _load(body, operators["SZ"])


def _with_doctype(signed: bytes, doctype: str, name_entity: str = "") -> bytes:
    declaration, rest = signed.split(b"\n", 1)
    if name_entity:
        rest = rest.replace(b"Shenzhen CA", name_entity.encode(), 1)
    return declaration + b"\n" + doctype.encode() + b"\n" + rest


def test_xxe_file_entity_is_refused(operators: dict[str, Operator], signed: bytes) -> None:
    data = _with_doctype(
        signed,
        '<!DOCTYPE tsl:TrustServiceStatusList [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        "&xxe;",
    )
    with pytest.raises(TrustError, match="DOCTYPE") as info:
        _load(data, operators["SZ"])
    assert "root:" not in str(info.value)


def _finishes(action: Callable[[], object], release: Callable[[], None]) -> BaseException | None:
    """Run ``action`` in a thread; it must end by itself, or ``release`` unblocks it."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():
        release()
        pytest.fail("the parser blocked on an external resource")
    return outcome[0]


@pytest.mark.parametrize(
    ("doctype", "entity"),
    [
        ('<!DOCTYPE tsl:TrustServiceStatusList [<!ENTITY xxe SYSTEM "file://{path}">]>', "&xxe;"),
        ('<!DOCTYPE tsl:TrustServiceStatusList [<!ENTITY % p SYSTEM "file://{path}"> %p;]>', ""),
        ('<!DOCTYPE tsl:TrustServiceStatusList SYSTEM "file://{path}">', ""),
    ],
)
def test_external_entities_are_never_opened(
    operators: dict[str, Operator], signed: bytes, tmp_path: Path, doctype: str, entity: str
) -> None:
    # Opening a FIFO for reading blocks until a writer comes: a parser that tried to read
    # the entity or DTD would hang here instead of refusing the document.
    fifo = tmp_path / "entity"
    os.mkfifo(fifo)
    data = _with_doctype(signed, doctype.format(path=fifo), entity)

    def release() -> None:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    error = _finishes(lambda: _load(data, operators["SZ"]), release)
    assert isinstance(error, TrustError) and "DOCTYPE" in str(error)


def test_json_view(signed: bytes, operators: dict[str, Operator]) -> None:
    view = trust_list_json(_load(signed, operators["SZ"]))
    assert view["sequence_number"] == 7 and view["issued"] == "2026-11-25T12:00:00Z"
    services = [s for p in view["providers"] for s in p["services"]]
    withdrawn = [s for s in services if s["status"] == "withdrawn"]
    assert len(withdrawn) == 1
    assert withdrawn[0]["status_uri"].endswith("/Svcstatus/withdrawn")
    assert [h["status"] for h in withdrawn[0]["history"]] == ["granted", "withdrawn"]
    assert withdrawn[0]["type_uri"] == "urn:sealbridge:svctype:ca-eseal"
    assert len(withdrawn[0]["certificate"]["sha256"]) == 64


def test_sm2_operator_key_is_unsupported(operators: dict[str, Operator]) -> None:
    key = generate_key(KeyKind.SM2)
    with pytest.raises(UnsupportedAlgorithm):
        to_xml(_rich_list(), key, operators["SZ"].certificate)


def test_key_must_match_certificate(operators: dict[str, Operator]) -> None:
    with pytest.raises(TrustError, match="not the key of"):
        to_xml(_rich_list(), operators["SZ"].key, operators["HK"].certificate)


@pytest.mark.skipif(
    shutil.which("xmlsec1") is None,
    reason="xmlsec1 is not installed (Debian package xmlsec1); it verifies our XMLDSig",
)
def test_xmlsec1_verifies_our_signature(
    operators: dict[str, Operator], signed: bytes, tmp_path: Path
) -> None:
    for code in ("SZ", "MO"):
        certificate = operators[code].certificate
        (tmp_path / f"{code}.pem").write_bytes(pem.armor("CERTIFICATE", certificate.dump()))
    (tmp_path / "list.xml").write_bytes(signed)
    at = signed.index(b"tsa service")
    (tmp_path / "tampered.xml").write_bytes(signed[:at] + b"T" + signed[at + 1 :])

    def xmlsec1(trusted: str, name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["xmlsec1", "--verify", "--trusted-pem", trusted, name],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = xmlsec1("SZ.pem", "list.xml")
    assert good.returncode == 0, good.stderr
    assert xmlsec1("SZ.pem", "tampered.xml").returncode != 0
    assert xmlsec1("MO.pem", "list.xml").returncode != 0
