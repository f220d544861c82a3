"""Stamping OFD packages: ofdrw's layout, what is protected, and checks by openssl.

The SES_Signature is taken apart with asn1crypto's generic DER parser and its SM2
signature checked by openssl (SM3 with the default user ID), so neither the stamper's
nor the verifier's own ASN.1 code vouches for itself here.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from asn1crypto import core, pem
from lxml import etree

from sealbridge.documents.ofd.contract import OfdContract
from sealbridge.documents.ofd.stamp import Provider, stamp_ofd
from sealbridge.errors import MalformedInput
from sealbridge.seals import StampRefused

NS = {"ofd": "http://www.ofdspec.org/2016"}
OFD_NS = "{http://www.ofdspec.org/2016}"
SHANGHAI = timezone(timedelta(hours=8))
Entries = Callable[[bytes], dict[str, bytes]]
OPENSSL = shutil.which("openssl")


@pytest.fixture(scope="module")
def stamp_once(
    contract: OfdContract, seal_der: bytes, pki: object, now: datetime
) -> Callable[..., bytes]:
    def apply(ofd: bytes, *, place: int = 0, **overrides: object) -> bytes:
        target = contract.places[place]
        arguments: dict[str, object] = {
            "seal_der": seal_der,
            "signer_key": pki.firm.key,  # type: ignore[attr-defined]
            "signer_certificate": pki.firm.certificate,  # type: ignore[attr-defined]
            "page": target.page,
            "boundary_mm": target.boundary_mm,
            "time": now.astimezone(SHANGHAI),
        }
        arguments.update(overrides)
        return stamp_ofd(ofd, **arguments)  # type: ignore[arg-type]

    return apply


@pytest.fixture(scope="module")
def stamped(contract: OfdContract, stamp_once: Callable[..., bytes]) -> bytes:
    return stamp_once(contract.ofd)


@pytest.fixture(scope="module")
def twice(stamped: bytes, stamp_once: Callable[..., bytes]) -> bytes:
    return stamp_once(stamped, place=1)


def _names(root: etree._Element) -> set[tuple[str, tuple[str, ...]]]:
    """Every element's name with its attribute names: the structure, not the values."""
    return {(str(e.tag), tuple(sorted(e.attrib))) for e in root.iter()}


def _ses_parts(signed_value: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """(DER of TBS_Sign, signer certificate, signature, dataHash) by generic DER parsing."""
    outer = core.Sequence.load(signed_value)
    to_sign = outer[0]
    certificate = outer[1].cast(core.OctetString).native
    signature = outer[3].cast(core.OctetBitString).native
    data_hash = to_sign[3].cast(core.OctetBitString).native
    return to_sign.dump(), certificate, signature, data_hash


def test_first_stamp_has_ofdrws_structure(
    stamped: bytes, interop_dir: Path, entries_of: Entries
) -> None:
    ours = entries_of(stamped)
    v4 = entries_of((interop_dir / "v4signed.ofd").read_bytes())
    ofdrw = entries_of((interop_dir / "SESV4SignDoc.ofd").read_bytes())
    signs = {n for n in ours if n.startswith("Doc_0/Signs/")}
    assert signs == {n for n in ofdrw if n.startswith("Doc_0/Signs/")}
    assert signs - {"Doc_0/Signs/Sign_0/Seal.esl"} == {
        n for n in v4 if n.startswith("Doc_0/Signs/")
    }
    for name in ("Doc_0/Signs/Signatures.xml", "Doc_0/Signs/Sign_0/Signature.xml"):
        mine = etree.fromstring(ours[name])
        assert ours[name].startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        assert _names(mine) == _names(etree.fromstring(ofdrw[name])), name
        # v4signed.ofd names no seal file and leaves the signature Type at its default.
        assert {e.tag for e in mine.iter()} - {f"{OFD_NS}Seal", f"{OFD_NS}BaseLoc"} == {
            e.tag for e in etree.fromstring(v4[name]).iter()
        }, name
    ofd = etree.fromstring(ours["OFD.xml"])
    assert ofd.findtext("ofd:DocBody/ofd:Signatures", namespaces=NS) == (
        etree.fromstring(ofdrw["OFD.xml"]).findtext("ofd:DocBody/ofd:Signatures", namespaces=NS)
    )


def test_signature_describes_the_stamp(
    stamped: bytes, contract: OfdContract, entries_of: Entries, now: datetime
) -> None:
    files = entries_of(stamped)
    index = etree.fromstring(files["Doc_0/Signs/Signatures.xml"])
    (entry,) = index.findall("ofd:Signature", NS)
    assert (entry.get("Type"), entry.get("BaseLoc")) == (
        "Seal",
        "/Doc_0/Signs/Sign_0/Signature.xml",
    )
    signature = etree.fromstring(files["Doc_0/Signs/Sign_0/Signature.xml"])
    info = signature.find("ofd:SignedInfo", NS)
    assert info is not None
    assert info.findtext("ofd:SignatureMethod", namespaces=NS) == "1.2.156.10197.1.501"
    assert info.findtext("ofd:SignatureDateTime", namespaces=NS) == now.astimezone(
        SHANGHAI
    ).strftime("%Y-%m-%d %H:%M:%S")
    annot = info.find("ofd:StampAnnot", NS)
    assert annot is not None
    page_id = etree.fromstring(files["Doc_0/Document.xml"]).find("ofd:Pages/ofd:Page", NS)
    assert page_id is not None and annot.get("PageRef") == page_id.get("ID")
    assert [float(v) for v in (annot.get("Boundary") or "").split()] == list(
        contract.places[0].boundary_mm
    )
    assert int(index.findtext("ofd:MaxSignId", namespaces=NS) or 0) == max(
        int(entry.get("ID") or 0), int(annot.get("ID") or 0)
    )
    assert info.findtext("ofd:Seal/ofd:BaseLoc", namespaces=NS) == "/Doc_0/Signs/Sign_0/Seal.esl"
    assert signature.findtext("ofd:SignedValue", namespaces=NS) == (
        "/Doc_0/Signs/Sign_0/SignedValue.dat"
    )


def test_references_cover_every_file_but_the_signature_list(
    stamped: bytes, entries_of: Entries
) -> None:
    files = entries_of(stamped)
    signature = etree.fromstring(files["Doc_0/Signs/Sign_0/Signature.xml"])
    references = signature.find("ofd:SignedInfo/ofd:References", NS)
    assert references is not None and references.get("CheckMethod") == "SM3"
    covered = {}
    for reference in references.findall("ofd:Reference", NS):
        value = reference.findtext("ofd:CheckValue", namespaces=NS) or ""
        covered[(reference.get("FileRef") or "").lstrip("/")] = base64.b64decode(value)
    assert set(covered) == set(files) - {
        "Doc_0/Signs/Signatures.xml",
        "Doc_0/Signs/Sign_0/Signature.xml",
        "Doc_0/Signs/Sign_0/SignedValue.dat",
    }
    for path, value in covered.items():
        assert hashlib.new("sm3", files[path]).digest() == value, path


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
def test_openssl_verifies_the_signed_value(
    stamped: bytes, entries_of: Entries, seal_der: bytes, tmp_path: Path
) -> None:
    files = entries_of(stamped)
    signature_xml = files["Doc_0/Signs/Sign_0/Signature.xml"]
    tbs, certificate, value, data_hash = _ses_parts(files["Doc_0/Signs/Sign_0/SignedValue.dat"])
    (tmp_path / "Signature.xml").write_bytes(signature_xml)
    digest = subprocess.run(
        ["openssl", "dgst", "-sm3", "-r", str(tmp_path / "Signature.xml")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    assert bytes.fromhex(digest) == data_hash
    assert core.Sequence.load(tbs)[4].native == "/Doc_0/Signs/Sign_0/Signature.xml"
    assert core.Sequence.load(tbs)[1].dump() == seal_der == files["Doc_0/Signs/Sign_0/Seal.esl"]
    _openssl_verify(tmp_path, certificate, tbs, value)


def _openssl_verify(folder: Path, certificate: bytes, data: bytes, signature: bytes) -> None:
    (folder / "cert.pem").write_bytes(pem.armor("CERTIFICATE", certificate))
    (folder / "tbs.der").write_bytes(data)
    (folder / "sig.der").write_bytes(signature)
    key = subprocess.run(
        ["openssl", "x509", "-in", str(folder / "cert.pem"), "-pubkey", "-noout"],
        capture_output=True,
        check=True,
    ).stdout
    (folder / "pub.pem").write_bytes(key)
    result = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(folder / "pub.pem"),
            "-rawin",
            "-in",
            str(folder / "tbs.der"),
            "-sigfile",
            str(folder / "sig.der"),
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
        ],
        capture_output=True,
        text=True,
    )
    assert "Signature Verified Successfully" in result.stdout, result.stdout + result.stderr


def test_second_stamp_protects_the_first_and_leaves_it_alone(
    stamped: bytes, twice: bytes, entries_of: Entries
) -> None:
    first, second = entries_of(stamped), entries_of(twice)
    changed = {n for n in first if first[n] != second[n]}
    assert changed == {"Doc_0/Signs/Signatures.xml"}
    assert set(second) - set(first) == {
        "Doc_0/Signs/Sign_1/Seal.esl",
        "Doc_0/Signs/Sign_1/Signature.xml",
        "Doc_0/Signs/Sign_1/SignedValue.dat",
    }
    index = etree.fromstring(second["Doc_0/Signs/Signatures.xml"])
    assert [s.get("ID") for s in index.findall("ofd:Signature", NS)] == ["1", "3"]
    assert index.findtext("ofd:MaxSignId", namespaces=NS) == "4"
    refs = etree.fromstring(second["Doc_0/Signs/Sign_1/Signature.xml"]).findall(
        ".//ofd:Reference", NS
    )
    assert {
        "/Doc_0/Signs/Sign_0/Signature.xml",
        "/Doc_0/Signs/Sign_0/SignedValue.dat",
    } <= {r.get("FileRef") for r in refs}


def test_stamping_a_package_made_by_ofdrw(
    interop_dir: Path, stamp_once: Callable[..., bytes], entries_of: Entries
) -> None:
    original = (interop_dir / "SESV4SignDoc.ofd").read_bytes()
    ours = stamp_once(original, boundary_mm=(120.0, 200.0, 40.0, 40.0), page=0)
    before, after = entries_of(original), entries_of(ours)
    assert {n for n in before if before[n] != after[n]} == {"Doc_0/Signs/Signatures.xml"}
    index = etree.fromstring(after["Doc_0/Signs/Signatures.xml"])
    assert [s.get("BaseLoc") for s in index.findall("ofd:Signature", NS)] == [
        "/Doc_0/Signs/Sign_0/Signature.xml",
        "/Doc_0/Signs/Sign_1/Signature.xml",
    ]


def test_provider_is_written(
    contract: OfdContract, stamp_once: Callable[..., bytes], entries_of: Entries
) -> None:
    files = entries_of(stamp_once(contract.ofd, provider=Provider("Acme eSeal", "9.1", "Acme")))
    provider = etree.fromstring(files["Doc_0/Signs/Sign_0/Signature.xml"]).find(
        "ofd:SignedInfo/ofd:Provider", NS
    )
    assert provider is not None
    assert dict(provider.attrib) == {
        "ProviderName": "Acme eSeal",
        "Version": "9.1",
        "Company": "Acme",
    }


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"page": 5}, "index 5 is outside the document's 1 pages"),
        ({"boundary_mm": (10.0, 10.0, 0.0, 40.0)}, "size positive"),
        ({"boundary_mm": (float("nan"), 10.0, 40.0, 40.0)}, "finite"),
        ({"time": datetime(2026, 1, 1)}, "time zone"),
    ],
)
def test_bad_places_are_refused(
    contract: OfdContract,
    stamp_once: Callable[..., bytes],
    overrides: dict[str, object],
    words: str,
) -> None:
    with pytest.raises(MalformedInput, match=words):
        stamp_once(contract.ofd, **overrides)


def test_a_signer_not_bound_to_the_seal_is_refused(
    contract: OfdContract, stamp_once: Callable[..., bytes], pki: object
) -> None:
    stranger = pki.stranger  # type: ignore[attr-defined]
    with pytest.raises(StampRefused, match="not among"):
        stamp_once(contract.ofd, signer_key=stranger.key, signer_certificate=stranger.certificate)


def test_a_package_whose_signature_list_is_protected_is_closed(
    stamped: bytes,
    stamp_once: Callable[..., bytes],
    entries_of: Entries,
    zipped: Callable[..., bytes],
) -> None:
    files = entries_of(stamped)
    path = "Doc_0/Signs/Sign_0/Signature.xml"
    closing = files[path].replace(
        b"</ofd:References>",
        b'<ofd:Reference FileRef="/Doc_0/Signs/Signatures.xml">'
        b"<ofd:CheckValue>AA==</ofd:CheckValue></ofd:Reference></ofd:References>",
    )
    with pytest.raises(StampRefused, match=r"protects Doc_0/Signs/Signatures\.xml"):
        stamp_once(zipped({**files, path: closing}), place=1)


def test_not_an_ofd_is_refused(stamp_once: Callable[..., bytes]) -> None:
    with pytest.raises(MalformedInput, match="not a zip archive"):
        stamp_once(b"plain text")
