"""Making seals and applying them: the seal maker's and the signer's side of GB/T 38540.

SealBridge writes version 4 only, the national standard GB/T 38540-2020; GM/T 0031
seals and stamps (versions 1, 2 and 5) are read and verified but not made.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from asn1crypto import algos, x509

from sealbridge.crypto.algorithms import sm3
from sealbridge.crypto.keys import KeyHandle
from sealbridge.errors import MalformedInput, NotAuthorised, UnsupportedAlgorithm
from sealbridge.seals import asn1
from sealbridge.seals.decode import (
    GB_38540_VERSIONS,
    MAX_PICTURE_BYTES,
    SIGNATURE_ALGORITHMS,
    decode_seal,
)
from sealbridge.seals.model import CertListType, SealType
from sealbridge.seals.picture import SealPicture
from sealbridge.seals.verify import maker_signature_check, signer_bound_check, validity_check

SEAL_VERSION = 4
DEFAULT_VID = "SealBridge"
# certDigestList entries carry a free-text hash name; SM3 matches the SM2 signatures
# the seals are made with, and the verifier here also reads SHA-2 names and OIDs.
DIGEST_TYPE = "SM3"
MAX_ID_CHARS = 64
MAX_PROPERTY_CHARS = 4096


class StampRefused(NotAuthorised):
    """A seal may not be applied: not bound to this signer, not valid then, or not genuine."""


def issue_seal(
    maker_key: KeyHandle,
    maker_certificate: x509.Certificate,
    *,
    es_id: str,
    seal_type: SealType | int,
    name: str,
    bound_certificates: Sequence[x509.Certificate],
    picture: SealPicture,
    valid_from: datetime,
    valid_to: datetime,
    vid: str = DEFAULT_VID,
    cert_list_type: CertListType = CertListType.CERTIFICATES,
    created: datetime | None = None,
) -> bytes:
    """A DER SESeal v4 signed by the seal maker over DER(SES_SealInfo)."""
    if not _key_matches(maker_key, maker_certificate):
        raise MalformedInput("seal maker", "the key does not belong to the maker certificate")
    es_id = _ascii(es_id, "seal identifier (esID)")
    vid = _ascii(vid, "vendor identifier (vid)")
    name = name.strip()
    if not name:
        raise MalformedInput("seal", "the seal name is empty")
    if not bound_certificates:
        raise MalformedInput("seal", "no certificate is bound, so nobody could apply the seal")
    start = _utc_seconds(valid_from, "seal validity start")
    end = _utc_seconds(valid_to, "seal validity end")
    if start >= end:
        raise MalformedInput("seal", "the validity must end after it starts")
    made = _utc_seconds(created or datetime.now(UTC), "seal creation date")
    _check_picture(picture)

    if cert_list_type is CertListType.CERTIFICATES:
        cert_list = asn1.CertInfoList([cert.dump() for cert in bound_certificates])
    else:
        cert_list = asn1.CertDigestList(
            [{"type": DIGEST_TYPE, "value": sm3(cert.dump())} for cert in bound_certificates]
        )
    info = asn1.SESSealInfo(
        {
            "header": {"id": "ES", "version": SEAL_VERSION, "vid": vid},
            "es_id": es_id,
            "property": {
                "type": int(seal_type),
                "name": name,
                "cert_list_type": int(cert_list_type),
                "cert_list": cert_list,
                "create_date": made,
                "valid_start": start,
                "valid_end": end,
            },
            "picture": {
                "type": "PNG",
                "data": picture.png,
                "width": picture.width_mm,
                "height": picture.height_mm,
            },
        }
    )
    algorithm = maker_key.default_signature_algorithm()
    seal = asn1.SESeal(
        {
            "e_seal_info": info,
            "cert": maker_certificate.dump(),
            "sign_alg_id": _oid(algorithm),
            "signed_value": maker_key.sign(info.dump(), algorithm),
        }
    )
    return bytes(seal.dump())


def stamp(
    seal_der: bytes,
    signer_key: KeyHandle,
    signer_certificate: x509.Certificate,
    *,
    data_hash: bytes,
    property_info: str,
    time: datetime,
) -> bytes:
    """A DER SES_Signature: the signer applies the seal to a document's hash.

    For OFD, ``data_hash`` is SM3 of Signature.xml and ``property_info`` its path.
    Raises ``StampRefused`` unless the seal is genuine, names this signer and is valid
    at ``time``.
    """
    seal = decode_seal(seal_der)
    if seal.version not in GB_38540_VERSIONS:
        raise StampRefused(f"a {seal.standard} seal cannot be applied; it must be re-made")
    signing_time = _utc_seconds(time, "signing time")
    for check in (
        maker_signature_check(seal),
        signer_bound_check(seal, signer_certificate),
        validity_check(seal, signing_time, "signing time"),
    ):
        if not check.passed:
            raise StampRefused(check.detail)
    if not _key_matches(signer_key, signer_certificate):
        raise StampRefused("the signer's key does not belong to the signer certificate")
    if not data_hash:
        raise MalformedInput("stamp", "the document hash is empty")
    property_info = _ascii(property_info, "stamp property info", MAX_PROPERTY_CHARS)

    to_sign = asn1.TBSSign(
        {
            "version": seal.version,
            "eseal": asn1.SESeal.load(seal.der),
            "time_info": signing_time,
            "data_hash": data_hash,
            "property_info": property_info,
        }
    )
    algorithm = signer_key.default_signature_algorithm()
    signature = asn1.SESSignature(
        {
            "to_sign": to_sign,
            "cert": signer_certificate.dump(),
            "signature_alg_id": _oid(algorithm),
            "signature": signer_key.sign(to_sign.dump(), algorithm),
        }
    )
    return bytes(signature.dump())


def _key_matches(key: KeyHandle, certificate: x509.Certificate) -> bool:
    return bool(key.public_key_info.dump() == certificate.public_key.dump())


def _oid(algorithm: algos.SignedDigestAlgorithm) -> str:
    dotted: str = algorithm["algorithm"].dotted
    if dotted not in SIGNATURE_ALGORITHMS:
        raise UnsupportedAlgorithm(f"seals cannot carry {algorithm['algorithm'].native}")
    return dotted


def _ascii(value: str, what: str, limit: int = MAX_ID_CHARS) -> str:
    text = value.strip()
    if not 0 < len(text) <= limit:
        raise MalformedInput(what, f"must be 1 to {limit} characters")
    if not (text.isascii() and text.isprintable()):
        raise MalformedInput(what, "must be printable ASCII (an IA5String)")
    return text


def _utc_seconds(moment: datetime, what: str) -> datetime:
    # GeneralizedTime in seals is UTC to the second; rounding here keeps the checks
    # made before signing equal to those a verifier will make.
    if moment.tzinfo is None:
        raise MalformedInput(what, "a time zone is required")
    return moment.astimezone(UTC).replace(microsecond=0)


def _check_picture(picture: SealPicture) -> None:
    if not picture.png.startswith(b"\x89PNG\r\n\x1a\n"):
        raise MalformedInput("seal picture", "not a PNG image")
    if len(picture.png) > MAX_PICTURE_BYTES:
        raise MalformedInput("seal picture", f"larger than {MAX_PICTURE_BYTES} bytes")
    if picture.width_mm <= 0 or picture.height_mm <= 0:
        raise MalformedInput("seal picture", "the display size must be positive")
