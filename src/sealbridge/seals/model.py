"""Decoded views of electronic seals and stamps, independent of the ASN.1 version.

Verifiers, the CLI and reports read these views rather than ASN.1 objects, so a GM/T
0031-2014 seal and a GB/T 38540 seal look alike to them. Each view keeps the exact bytes
that were signed, because signatures must be checked over those and not a re-encoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from asn1crypto import x509


class SealType(IntEnum):
    """What a seal is for, as the integer written in SES_ESPropertyInfo.type.

    GB/T 38540-2020 leaves the codes to each application ("可根据业务需要自定义") and
    GM/T 0031-2014 only gives 1 (organisation) and 2 (person) as examples. SealBridge
    uses the seal-category codes of public-security seal registration that Chinese
    signing platforms also use (01 company, 02 finance, 03 invoice, 04 contract,
    05 legal representative), which keeps 1 as the organisation's own seal. Codes
    outside this list are read but have no SealType.
    """

    COMPANY = 1
    FINANCE = 2
    INVOICE = 3
    CONTRACT = 4
    LEGAL_REPRESENTATIVE = 5

    @property
    def label_zh(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    @property
    def chop_text(self) -> str | None:
        """Text carved under the star; a company's own seal carries none."""
        return _LABELS[self][2]


_LABELS: dict[SealType, tuple[str, str, str | None]] = {
    SealType.COMPANY: ("公章", "Company seal", None),
    SealType.FINANCE: ("财务专用章", "Finance seal", "财务专用章"),
    SealType.INVOICE: ("发票专用章", "Invoice seal", "发票专用章"),
    SealType.CONTRACT: ("合同专用章", "Contract seal", "合同专用章"),
    SealType.LEGAL_REPRESENTATIVE: (
        "法定代表人名章",
        "Legal representative's name seal",
        None,
    ),
}


class CertListType(IntEnum):
    """How a seal names the certificates allowed to apply it (certListType)."""

    CERTIFICATES = 1
    DIGESTS = 2


@dataclass(frozen=True)
class CertDigest:
    """A bound certificate given by its hash; ``algorithm`` is the text the seal holds."""

    algorithm: str
    value: bytes


@dataclass(frozen=True)
class PictureInfo:
    """The seal image as stored: ``kind`` is the declared type (PNG, ofd, ...)."""

    kind: str
    data: bytes
    width_mm: int
    height_mm: int


@dataclass(frozen=True)
class ExtensionData:
    oid: str
    critical: bool
    value: bytes


@dataclass(frozen=True, eq=False)
class SealView:
    """An electronic seal (SESeal) of any supported version.

    Views are equal when their DER is: everything else is read from it, and asn1crypto
    certificates do not compare by value.
    """

    version: int
    vid: str
    es_id: str
    type_code: int
    name: str
    cert_list_type: CertListType
    bound_certificates: tuple[x509.Certificate, ...]
    bound_digests: tuple[CertDigest, ...]
    created: datetime
    valid_from: datetime
    valid_to: datetime
    picture: PictureInfo
    extensions: tuple[ExtensionData, ...]
    maker_certificate: x509.Certificate
    signature_algorithm: str
    signature: bytes
    signed_bytes: bytes
    timestamp: bytes | None
    der: bytes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SealView) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)

    @property
    def seal_type(self) -> SealType | None:
        try:
            return SealType(self.type_code)
        except ValueError:
            return None

    @property
    def standard(self) -> str:
        if self.version < 4:
            return "GM/T 0031-2014"
        if self.version == 4:
            return "GB/T 38540-2020"
        return "GM/T 0031-2025"


@dataclass(frozen=True, eq=False)
class StampView:
    """An electronic stamp (SES_Signature): a seal applied to a document's hash.

    ``signing_time`` is None only for GM/T 0031-2014 stamps whose free-text time could
    not be read.
    """

    version: int
    seal: SealView
    signing_time: datetime | None
    data_hash: bytes
    property_info: str
    signer_certificate: x509.Certificate
    signature_algorithm: str
    signature: bytes
    signed_bytes: bytes
    timestamp: bytes | None
    extensions: tuple[ExtensionData, ...]
    der: bytes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StampView) and other.der == self.der

    def __hash__(self) -> int:
        return hash(self.der)
