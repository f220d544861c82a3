"""ASN.1 specs of electronic seals and stamps: GB/T 38540-2020 (v4), GM/T 0031 (v1, v5).

Field names follow the standards. The specs were checked against seals and stamps made by
other implementations (ofdrw and a tax bureau's seal system): decoding and re-encoding
them gives back the same bytes, which matters because the signatures cover those bytes.

asn1crypto ships no type information, so every spec subclasses an ``Any`` for mypy; the
``type: ignore[misc]`` markers below say exactly that and nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from asn1crypto import core, x509

# asn1crypto completes each field tuple in place on first use, so these stay lists.
Fields = list[tuple[Any, ...]]

CERT_LIST_CERTS = 1
CERT_LIST_DIGESTS = 2


class SESHeader(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("id", core.IA5String),
        ("version", core.Integer),
        ("vid", core.IA5String),
    ]


class CertInfoList(core.SequenceOf):  # type: ignore[misc]
    _child_spec = core.OctetString


class CertDigestObj(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("type", core.PrintableString),
        ("value", core.OctetString),
    ]


class CertDigestList(core.SequenceOf):  # type: ignore[misc]
    _child_spec = CertDigestObj


class ExtData(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("extn_id", core.ObjectIdentifier),
        ("critical", core.Boolean, {"default": False}),
        ("extn_value", core.OctetString),
    ]


class ExtensionDatas(core.SequenceOf):  # type: ignore[misc]
    _child_spec = ExtData


class SESPictureInfo(core.Sequence):  # type: ignore[misc]
    """SES_ESPictrueInfo (sic in the standard): image type, bytes, display size in mm."""

    _fields: ClassVar[Fields] = [
        ("type", core.IA5String),
        ("data", core.OctetString),
        ("width", core.Integer),
        ("height", core.Integer),
    ]


def _cert_list_spec(property_info: SESPropertyInfo) -> type[core.Asn1Value] | None:
    # SES_CertList is a CHOICE between two SEQUENCE OFs that share one tag: only
    # certListType tells them apart. An unknown type stays undecoded for the caller
    # to reject with a clear message.
    kind = property_info["cert_list_type"].native
    if kind == CERT_LIST_CERTS:
        return CertInfoList
    if kind == CERT_LIST_DIGESTS:
        return CertDigestList
    return None


class SESPropertyInfo(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list_type", core.Integer),
        ("cert_list", core.Any),
        ("create_date", core.GeneralizedTime),
        ("valid_start", core.GeneralizedTime),
        ("valid_end", core.GeneralizedTime),
    ]
    _spec_callbacks: ClassVar[dict[str, Callable[..., Any]]] = {"cert_list": _cert_list_spec}


class SESSealInfo(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("header", SESHeader),
        ("es_id", core.IA5String),
        ("property", SESPropertyInfo),
        ("picture", SESPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESeal(core.Sequence):  # type: ignore[misc]
    """SESeal of GB/T 38540 (v4); GM/T 0031-2025 (v5) adds the optional timeStamp."""

    _fields: ClassVar[Fields] = [
        ("e_seal_info", SESSealInfo),
        ("cert", core.OctetString),
        ("sign_alg_id", core.ObjectIdentifier),
        ("signed_value", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


class TBSSign(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("version", core.Integer),
        ("eseal", SESeal),
        ("time_info", core.GeneralizedTime),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("ext_datas", ExtensionDatas, {"explicit": 0, "optional": True}),
    ]


class SESSignature(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("to_sign", TBSSign),
        ("cert", core.OctetString),
        ("signature_alg_id", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.OctetBitString, {"explicit": 0, "optional": True}),
    ]


# GM/T 0031-2014. Dates were UTCTime in the standard, but vendors are known to write
# GeneralizedTime; the Time choice reads both and keeps whichever was written.


class SESPropertyInfoV1(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("type", core.Integer),
        ("name", core.UTF8String),
        ("cert_list", CertInfoList),
        ("create_date", x509.Time),
        ("valid_start", x509.Time),
        ("valid_end", x509.Time),
    ]


class SESSealInfoV1(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("header", SESHeader),
        ("es_id", core.IA5String),
        ("property", SESPropertyInfoV1),
        ("picture", SESPictureInfo),
        ("ext_datas", ExtensionDatas, {"optional": True}),
    ]


class SESSignInfoV1(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
        ("sign_data", core.OctetBitString),
    ]


class SESealV1(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("seal_info", SESSealInfoV1),
        ("sign_info", SESSignInfoV1),
    ]


class TBSSignV1(core.Sequence):  # type: ignore[misc]
    """GM/T 0031-2014 TBS_Sign: timeInfo is a BIT STRING holding a time as text."""

    _fields: ClassVar[Fields] = [
        ("version", core.Integer),
        ("eseal", SESealV1),
        ("time_info", core.OctetBitString),
        ("data_hash", core.OctetBitString),
        ("property_info", core.IA5String),
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
    ]


class SESSignatureV1(core.Sequence):  # type: ignore[misc]
    _fields: ClassVar[Fields] = [
        ("to_sign", TBSSignV1),
        ("signature", core.OctetBitString),
    ]
