"""Fixtures for seal tests: a small SM2 PKI, a chop picture, a seal, and the interop files.

Keys and certificates are made once per session: SM2 key generation is cheap, but the
seal tests are many and none of them mutates the PKI.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind, sm3
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.seals import SealPicture, SealType, issue_seal, render_round_seal, stamp

INTEROP_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "interop" / "ofdrw"
OFD_NS = {"ofd": "http://www.ofdspec.org/2016"}
FIRM_NAME = "深圳市前海示例科技有限公司"
SEAL_CODE = "4403050123456"
SIGNATURE_XML = b'<?xml version="1.0" encoding="UTF-8"?><ofd:Signature/>'


@dataclass(frozen=True)
class Party:
    key: KeyHandle
    certificate: x509.Certificate


@dataclass(frozen=True)
class DemoPki:
    root: CertificateAuthority
    maker: Party
    firm: Party
    stranger: Party


@dataclass(frozen=True)
class OfdSeal:
    """One seal signature read from an OFD package the way a reader finds it."""

    signed_value: bytes
    signature_xml: bytes
    seal_signatures: int


@pytest.fixture(scope="session")
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def demo_pki() -> DemoPki:
    root = CertificateAuthority.create_root(
        ca_name("SealBridge Seal Test Root", "SealBridge Test", "CN"), generate_key(KeyKind.SM2)
    )
    maker_key = generate_key(KeyKind.SM2)
    maker_cert = root.issue(
        ca_name("Shenzhen Demo Seal Maker", "SealBridge Test", "CN"),
        maker_key.public_key_info,
        profiles.SEAL_MAKER,
    )

    def firm(name: str, uscc: str) -> Party:
        key = generate_key(KeyKind.SM2)
        cert = root.issue(
            enterprise_name(name, f"NTRCN-{uscc}", "CN"),
            key.public_key_info,
            profiles.ENTERPRISE_SEAL,
        )
        return Party(key, cert)

    return DemoPki(
        root=root,
        maker=Party(maker_key, maker_cert),
        firm=firm(FIRM_NAME, "91440300MA5G000001"),
        stranger=firm("广州市另一家贸易有限公司", "91440101MA5G000002"),
    )


@pytest.fixture(scope="session")
def chop() -> SealPicture:
    return render_round_seal(FIRM_NAME, SealType.CONTRACT.chop_text, code=SEAL_CODE)


@pytest.fixture(scope="session")
def seal_der(demo_pki: DemoPki, chop: SealPicture, now: datetime) -> bytes:
    return issue_seal(
        demo_pki.maker.key,
        demo_pki.maker.certificate,
        es_id=SEAL_CODE,
        seal_type=SealType.CONTRACT,
        name=FIRM_NAME + "合同专用章",
        bound_certificates=[demo_pki.firm.certificate],
        picture=chop,
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=365),
    )


@pytest.fixture(scope="session")
def stamp_der(seal_der: bytes, demo_pki: DemoPki, now: datetime) -> bytes:
    firm = demo_pki.firm
    return stamp(
        seal_der,
        firm.key,
        firm.certificate,
        data_hash=sm3(SIGNATURE_XML),
        property_info="/Doc_0/Signs/Sign_0/Signature.xml",
        time=now,
    )


@pytest.fixture(scope="session")
def fuzz_vectors(seal_der: bytes, stamp_der: bytes) -> tuple[bytes, ...]:
    """Seeds for mutation tests: our own seal and stamp, and the interop files if present."""
    found = [seal_der, stamp_der]
    for name in ("UserV4.esl", "UserV1.esl", "SignedValueV4.dat"):
        if (INTEROP_DIR / name).is_file():
            found.append((INTEROP_DIR / name).read_bytes())
    return tuple(found)


@pytest.fixture(scope="session")
def interop_dir() -> Path:
    if not INTEROP_DIR.is_dir():
        pytest.skip(f"interop vectors not present at {INTEROP_DIR}")
    return INTEROP_DIR


@pytest.fixture(scope="session")
def read_ofd_seal() -> Callable[[Path], OfdSeal]:
    return _read_ofd_seal


def _read_ofd_seal(package: Path) -> OfdSeal:
    """Follow Signatures.xml to the first seal signature, as an OFD reader would."""
    with zipfile.ZipFile(package) as archive:
        index_path = "Doc_0/Signs/Signatures.xml"
        index = ET.fromstring(archive.read(index_path))
        # GB/T 33190: a Signature without Type is a seal signature.
        seals = [
            entry
            for entry in index.findall("ofd:Signature", OFD_NS)
            if entry.get("Type", "Seal") == "Seal"
        ]
        signature_path = _resolve(posixpath.dirname(index_path), seals[0].get("BaseLoc", ""))
        signature_xml = archive.read(signature_path)
        value_loc = ET.fromstring(signature_xml).findtext("ofd:SignedValue", "", OFD_NS)
        signed_value = archive.read(_resolve(posixpath.dirname(signature_path), value_loc))
    return OfdSeal(signed_value, signature_xml, len(seals))


def _resolve(base: str, location: str) -> str:
    if location.startswith("/"):
        return location.lstrip("/")
    return posixpath.normpath(posixpath.join(base, location))
