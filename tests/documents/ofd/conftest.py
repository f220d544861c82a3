"""Fixtures for OFD tests: a small SM2 PKI, a seal, a bilingual contract, and the vectors."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.documents.ofd.contract import OfdContract, build_ofd_contract
from sealbridge.documents.pdf.contract import ContractParty
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.seals import SealType, issue_seal, render_round_seal

INTEROP_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "interop" / "ofdrw"
FIRM = "深圳市前海示例科技有限公司"


@dataclass(frozen=True)
class Party:
    key: KeyHandle
    certificate: x509.Certificate


@dataclass(frozen=True)
class Pki:
    root: CertificateAuthority
    maker: Party
    firm: Party
    stranger: Party


@pytest.fixture(scope="session")
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="session")
def pki() -> Pki:
    root = CertificateAuthority.create_root(
        ca_name("SealBridge OFD Test Root", "SealBridge Test", "CN"), generate_key(KeyKind.SM2)
    )

    def party(name: str, profile: profiles.CertificateProfile, uscc: str | None = None) -> Party:
        key = generate_key(KeyKind.SM2)
        subject = (
            ca_name(name, "SealBridge Test", "CN")
            if uscc is None
            else enterprise_name(name, f"NTRCN-{uscc}", "CN")
        )
        return Party(key, root.issue(subject, key.public_key_info, profile))

    return Pki(
        root=root,
        maker=party("Shenzhen Demo Seal Maker", profiles.SEAL_MAKER),
        firm=party(FIRM, profiles.ENTERPRISE_SEAL, "91440300MA5G000001"),
        stranger=party("广州市另一家贸易有限公司", profiles.ENTERPRISE_SEAL, "91440101MA5G000002"),
    )


@pytest.fixture(scope="session")
def seal_der(pki: Pki, now: datetime) -> bytes:
    return issue_seal(
        pki.maker.key,
        pki.maker.certificate,
        es_id="4403050123456",
        seal_type=SealType.CONTRACT,
        name=FIRM + "合同专用章",
        bound_certificates=[pki.firm.certificate],
        picture=render_round_seal(FIRM, SealType.CONTRACT.chop_text),
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=365),
    )


@pytest.fixture(scope="session")
def contract() -> OfdContract:
    return build_ofd_contract(
        "跨境货物买卖合同",
        "Cross-border Sale of Goods Contract",
        [
            ContractParty(
                "甲方", "Party A", FIRM, "Qianhai Demo Tech", "91440300MA5G000001", "深圳"
            ),
            ContractParty(
                "乙方", "Party B", "香港示範貿易有限公司", "HK Demo Trading", "12345678", "香港"
            ),
        ],
        [
            (
                "卖方应于交货日前交付货物。",
                "The Seller shall deliver the goods by the delivery date.",
            ),
            ("买方应于收货后三十日内付款。", "The Buyer shall pay within thirty days of delivery."),
        ],
        contract_no="SB-OFD-1",
        on=date(2026, 11, 25),
    )


@pytest.fixture(scope="session")
def interop_dir() -> Path:
    if not INTEROP_DIR.is_dir():
        pytest.skip(f"interop vectors not present at {INTEROP_DIR}")
    return INTEROP_DIR


def zip_entries(data: bytes) -> dict[str, bytes]:
    """The files of a zip as Python's zipfile reads them (not through our reader)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


def rezip(entries: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.fixture(scope="session")
def entries_of() -> Callable[[bytes], dict[str, bytes]]:
    return zip_entries


@pytest.fixture(scope="session")
def zipped() -> Callable[[Mapping[str, bytes]], bytes]:
    return rezip
