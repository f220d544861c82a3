"""The demo's firms, declared as data, and their certificates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.demo.federation import Jurisdiction
from sealbridge.pki import profiles
from sealbridge.pki.identifiers import uscc_check_character, validate_hk_brn, validate_uscc
from sealbridge.pki.names import enterprise_name


@dataclass(frozen=True)
class FirmSpec:
    key: str
    jurisdiction: str
    name_zh: str
    name_en: str
    registration: str
    key_kind: KeyKind

    @property
    def registration_id(self) -> str:
        """ETSI EN 319 412-1 semantics identifier: NTR + country + registry number."""
        country = {"SZ": "CN", "BJ": "CN", "HK": "HK", "MO": "MO"}[self.jurisdiction]
        return f"NTR{country}-{self.registration}"


def _uscc(first17: str) -> str:
    return validate_uscc(first17 + uscc_check_character(first17))


FIRMS = (
    FirmSpec(
        "sz",
        "SZ",
        "深圳市前海示例科技有限公司",
        "Shenzhen Qianhai Demo Technology Co., Ltd.",
        _uscc("91440300MA5G0DEM0"),
        KeyKind.ECDSA_P256,
    ),
    FirmSpec(
        "hk",
        "HK",
        "香港海港示範貿易有限公司",
        "Hong Kong Harbour Demo Trading Limited",
        validate_hk_brn("71234568"),
        KeyKind.RSA_2048,
    ),
    FirmSpec(
        "bj",
        "BJ",
        "北京示例信息技术有限公司",
        "Beijing Demo Information Technology Co., Ltd.",
        _uscc("91110108MA01DEM00"),
        KeyKind.ECDSA_P256,
    ),
    FirmSpec(
        "mo",
        "MO",
        "澳門示範商業有限公司",
        "Macao Demo Commerce Limited",
        "MO-DEMO-40231",
        KeyKind.ECDSA_P256,
    ),
    FirmSpec(
        "sz-revoked",
        "SZ",
        "深圳市示例贸易有限公司",
        "Shenzhen Demo Trading Co., Ltd.",
        _uscc("91440300MA5G0DEM1"),
        KeyKind.ECDSA_P256,
    ),
)


@dataclass(frozen=True)
class Identity:
    key: KeyHandle
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class Firm:
    spec: FirmSpec
    key: KeyHandle
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    # Mainland firms also hold an SM2 certificate: OFD seals and mainland tools use it.
    sm2: Identity | None = None


def enrol(spec: FirmSpec, jurisdiction: Jurisdiction, now: datetime) -> Firm:
    """Key pairs and enterprise signature certificates under the mutual-recognition policy."""
    main = _identity(spec, jurisdiction, spec.key_kind, now)
    sm2 = None
    if spec.key_kind is not KeyKind.SM2 and KeyKind.SM2 in jurisdiction.cas:
        sm2 = _identity(spec, jurisdiction, KeyKind.SM2, now)
    return Firm(spec, main.key, main.certificate, main.chain, sm2)


def _identity(spec: FirmSpec, jurisdiction: Jurisdiction, kind: KeyKind, now: datetime) -> Identity:
    ca = jurisdiction.ca(kind)
    key = generate_key(kind)
    certificate = ca.issue(
        enterprise_name(spec.name_zh, spec.registration_id, jurisdiction.spec.country),
        key.public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
        not_before=now - timedelta(days=10),
    )
    return Identity(key, certificate, (ca.certificate,))
