"""Seals and stamps made by other implementations (ofdrw, a tax bureau's seal system).

The facts each vector must show are data below; MANIFEST.md in the interop folder says
where they come from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sealbridge.crypto.algorithms import sm3
from sealbridge.seals import asn1, decode_seal, decode_stamp, verify_seal, verify_stamp


@dataclass(frozen=True)
class Vector:
    file: str
    kind: str  # "seal", "stamp" or "ofd" (a stamp inside an OFD package)
    version: int
    es_id: str
    seal_name: str
    type_code: int
    picture_kind: str
    # GB/T 38540 says DER, but one tax-bureau seal spells out critical FALSE in its
    # ExtData, which DER leaves out; re-encoding from scratch would change its bytes.
    canonical_der: bool = True
    signing_time: str | None = None
    # The one step expected to fail; everything else must pass.
    failing_step: str | None = None


VECTORS = (
    Vector(
        "UserV4.esl",
        "seal",
        version=4,
        es_id="51f044b76510434e9bc67a1185c2fba5",
        seal_name="OFD R&W 测试用印章",
        type_code=3,
        picture_kind="PNG",
    ),
    Vector(
        "UserV1.esl",
        "seal",
        version=1,
        es_id="40C8CDD24DEF43388B86E62CCE1D6832",
        seal_name="OFDRW测试用印章",
        type_code=1,
        picture_kind="PNG",
    ),
    Vector(
        "SignedValueV4.dat",
        "stamp",
        version=4,
        es_id="51f044b76510434e9bc67a1185c2fba5",
        seal_name="OFD R&W 测试用印章",
        type_code=3,
        picture_kind="PNG",
        signing_time="2020-10-12T11:14:03+00:00",
    ),
    Vector(
        "v4signed.ofd",
        "ofd",
        version=4,
        es_id="50011200000399",
        seal_name="测试全国统一发票监制章国家税务总局重庆市税务局",
        type_code=3,
        picture_kind="ofd",
        canonical_der=False,
        signing_time="2020-10-10T07:11:20+00:00",
    ),
    Vector(
        "SESV4SignDoc.ofd",
        "ofd",
        version=4,
        es_id="51f044b76510434e9bc67a1185c2fba5",
        seal_name="OFD R&W 测试用印章",
        type_code=3,
        picture_kind="PNG",
        signing_time="2026-08-04T02:08:09+00:00",
        # ofdrw re-stamped this test document in 2026 with its 2020 test seal, which
        # expired in April 2022; the three signature and hash checks still hold.
        failing_step="seal-validity",
    ),
)


def _bytes(vector: Vector, folder: Path, read_ofd_seal: Callable[[Path], Any]) -> bytes:
    if vector.kind == "ofd":
        return bytes(read_ofd_seal(folder / vector.file).signed_value)
    return (folder / vector.file).read_bytes()


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.file)
def test_decodes_and_reencodes_byte_exact(
    vector: Vector, interop_dir: Path, read_ofd_seal: Callable[[Path], Any]
) -> None:
    data = _bytes(vector, interop_dir, read_ofd_seal)
    spec = {
        ("seal", 1): asn1.SESealV1,
        ("seal", 4): asn1.SESeal,
    }.get((vector.kind, vector.version), asn1.SESSignature)
    parsed = spec.load(data, strict=True)
    _ = parsed.native
    assert parsed.dump() == data
    assert (parsed.dump(force=True) == data) is vector.canonical_der


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.file)
def test_decoded_fields(
    vector: Vector, interop_dir: Path, read_ofd_seal: Callable[[Path], Any]
) -> None:
    data = _bytes(vector, interop_dir, read_ofd_seal)
    if vector.kind == "seal":
        seal = decode_seal(data)
    else:
        stamp = decode_stamp(data)
        seal = stamp.seal
        assert stamp.version == vector.version
        assert stamp.signing_time == datetime.fromisoformat(str(vector.signing_time))
        assert stamp.property_info == "/Doc_0/Signs/Sign_0/Signature.xml"
        assert stamp.signature_algorithm == "sm2_sm3"
        assert stamp.der == data
    assert seal.version == vector.version
    assert seal.es_id == vector.es_id
    assert seal.name == vector.seal_name
    assert seal.type_code == vector.type_code
    assert seal.picture.kind == vector.picture_kind
    assert seal.signature_algorithm == "sm2_sm3"
    assert len(seal.bound_certificates) == 1
    assert seal.valid_from < seal.valid_to
    assert seal.signed_bytes in data or vector.version == 1


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.file)
def test_verifies_as_the_manifest_says(
    vector: Vector, interop_dir: Path, read_ofd_seal: Callable[[Path], Any]
) -> None:
    if vector.kind == "seal":
        result: Any = verify_seal(_bytes(vector, interop_dir, read_ofd_seal))
        expected = ["parse", "maker-signature", "timestamp"]
    elif vector.kind == "stamp":
        result = verify_stamp(_bytes(vector, interop_dir, read_ofd_seal))
        expected = [
            "parse",
            "signer-signature",
            "signer-in-cert-list",
            "maker-signature",
            "seal-validity",
            "timestamp",
        ]
    else:
        package = read_ofd_seal(interop_dir / vector.file)
        assert package.seal_signatures == 1
        result = verify_stamp(package.signed_value, document=package.signature_xml)
        expected = [
            "parse",
            "signer-signature",
            "signer-in-cert-list",
            "maker-signature",
            "seal-validity",
            "timestamp",
            "data-hash",
        ]
    assert [check.step for check in result.checks] == expected
    failed = [check.step for check in result.checks if not check.passed]
    assert failed == ([vector.failing_step] if vector.failing_step else [])
    assert result.failed_step == vector.failing_step
    assert result.valid is (vector.failing_step is None)
    assert result.maker_certificate is not None


def test_ofd_data_hash_is_sm3_of_signature_xml(
    interop_dir: Path, read_ofd_seal: Callable[[Path], Any]
) -> None:
    for name in ("v4signed.ofd", "SESV4SignDoc.ofd"):
        package = read_ofd_seal(interop_dir / name)
        assert decode_stamp(package.signed_value).data_hash == sm3(package.signature_xml)


def test_bare_stamp_signs_a_placeholder_hash(interop_dir: Path) -> None:
    # ofdrw's SignedValueV4.dat was made over 32 zero bytes, not a real document.
    stamp = decode_stamp((interop_dir / "SignedValueV4.dat").read_bytes())
    assert stamp.data_hash == bytes(32)
    assert not verify_stamp(stamp.der, document=b"").valid


def test_seal_file_in_package_is_the_bare_seal(
    interop_dir: Path, read_ofd_seal: Callable[[Path], Any]
) -> None:
    stamp = decode_stamp(read_ofd_seal(interop_dir / "SESV4SignDoc.ofd").signed_value)
    assert stamp.seal.der == (interop_dir / "UserV4.esl").read_bytes()


def test_tax_bureau_seal_extension_is_read(
    interop_dir: Path, read_ofd_seal: Callable[[Path], Any]
) -> None:
    seal = decode_stamp(read_ofd_seal(interop_dir / "v4signed.ofd").signed_value).seal
    assert [(ext.oid, ext.critical, ext.value) for ext in seal.extensions] == [
        ("1.2.156.10197.6.7.2.2.1", False, b"2.1")
    ]
    assert seal.picture.data.startswith(b"PK\x03\x04")
    assert (seal.picture.width_mm, seal.picture.height_mm) == (30, 20)


def test_v1_seal_signed_bytes_include_certificate_and_algorithm(interop_dir: Path) -> None:
    data = (interop_dir / "UserV1.esl").read_bytes()
    seal = decode_seal(data)
    parsed = asn1.SESealV1.load(data)
    sign_info = parsed["sign_info"]
    body = parsed["seal_info"].dump() + sign_info["cert"].dump()
    body += sign_info["signature_algorithm"].dump()
    assert seal.signed_bytes.endswith(body)
    assert seal.created.year == 2020
    assert verify_seal(data).valid
