"""Decoding seals (SESeal) and stamps (SES_Signature) of any version into views.

These bytes come from documents made by other systems. Every problem becomes a
``MalformedInput`` naming the part and the reason, so a caller can tell a user why a seal
was rejected; no other exception escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from asn1crypto import core, x509

# Importing crypto.algorithms also registers the SM OIDs with asn1crypto, which the
# certificates in seals need.
from sealbridge.crypto.algorithms import SM2_SIGNATURE_OID, SM2_WITH_SM3_OID
from sealbridge.errors import MalformedInput
from sealbridge.seals import asn1
from sealbridge.seals.model import (
    CertDigest,
    CertListType,
    ExtensionData,
    PictureInfo,
    SealView,
    StampView,
)

MAX_PICTURE_BYTES = 2 * 1024 * 1024
MAX_PICTURE_MM = 1000

GM_2014_VERSIONS = frozenset({1, 2})
GB_38540_VERSIONS = frozenset({4, 5})

# Times without a zone are read as China Standard Time: the standards are Chinese and
# the implementations that omit the zone (ofdrw's v1 stamps, for one) write local time.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

SIGNATURE_ALGORITHMS: dict[str, str] = {
    SM2_WITH_SM3_OID: "sm2_sm3",
    SM2_SIGNATURE_OID: "sm2",
    "1.2.840.113549.1.1.11": "sha256_rsa",
    "1.2.840.113549.1.1.12": "sha384_rsa",
    "1.2.840.113549.1.1.13": "sha512_rsa",
    "1.2.840.10045.4.3.2": "sha256_ecdsa",
    "1.2.840.10045.4.3.3": "sha384_ecdsa",
    "1.2.840.10045.4.3.4": "sha512_ecdsa",
}

_PICTURE_MAGIC: dict[str, tuple[bytes, ...]] = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "bmp": (b"BM",),
    "tif": (b"II*\x00", b"MM\x00*"),
    "tiff": (b"II*\x00", b"MM\x00*"),
    # Tax-bureau seals carry their artwork as a small OFD package (a zip).
    "ofd": (b"PK\x03\x04",),
}

# What asn1crypto raises on bytes that do not match a spec.
ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)

_V1_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y%m%d%H%M%S", "%Y%m%d%H%M%SZ", "%y%m%d%H%M%SZ")

SEAL = "electronic seal"
STAMP = "electronic stamp"


def decode_seal(der: bytes) -> SealView:
    """Decode a bare seal (an .esl file or a Seal.esl in an OFD package)."""
    der = bytes(der)
    _check_outer(der, SEAL)
    version = _probe_version(der, SEAL, lambda top: top[0][0][1])
    if version in GM_2014_VERSIONS:
        return _seal_view_v1(_load(asn1.SESealV1, der, SEAL), der)
    if version in GB_38540_VERSIONS:
        return _seal_view_v4(_load(asn1.SESeal, der, SEAL), der)
    raise MalformedInput(SEAL, f"unknown version {version} (known: 1, 2, 4, 5)")


def decode_stamp(der: bytes) -> StampView:
    """Decode a stamp, such as an OFD SignedValue.dat of a Type="Seal" signature."""
    der = bytes(der)
    _check_outer(der, STAMP)
    version = _probe_version(der, STAMP, lambda top: top[0][0])
    if version in GM_2014_VERSIONS:
        return _stamp_view_v1(_load(asn1.SESSignatureV1, der, STAMP), der, version)
    if version in GB_38540_VERSIONS:
        return _stamp_view_v4(_load(asn1.SESSignature, der, STAMP), der, version)
    raise MalformedInput(STAMP, f"unknown version {version} (known: 1, 2, 4, 5)")


def der_sequence(*encoded: bytes) -> bytes:
    """A SEQUENCE around already-encoded members, keeping their bytes exactly."""
    return bytes(core.Sequence(contents=b"".join(encoded)).dump())


def _check_outer(der: bytes, what: str) -> None:
    # asn1crypto's own messages for these cases name internal classes; these say
    # what a person handed the file needs to hear.
    if not der:
        raise MalformedInput(what, "empty input")
    if der[0] != 0x30:
        raise MalformedInput(what, f"not a DER SEQUENCE (first byte 0x{der[0]:02x})")
    if len(der) < 2:
        raise MalformedInput(what, "truncated: the length is missing")
    first = der[1]
    if first == 0x80:
        raise MalformedInput(what, "indefinite length is not allowed in DER")
    header = 2
    length = first
    if first > 0x80:
        count = first & 0x7F
        if count > 4:
            raise MalformedInput(what, f"length of {count} bytes is implausible")
        if len(der) < 2 + count:
            raise MalformedInput(what, "truncated inside the length")
        header = 2 + count
        length = int.from_bytes(der[2:header], "big")
    present = len(der) - header
    if length > present:
        raise MalformedInput(
            what, f"truncated: declares {length} content bytes but {present} are present"
        )
    if length < present:
        raise MalformedInput(what, f"{present - length} bytes follow the DER value")


def _probe_version(der: bytes, what: str, path: Callable[[Any], Any]) -> int:
    try:
        value = path(core.Sequence.load(der, strict=True))
        version = value.native if isinstance(value, core.Integer) else None
    except ASN1_ERRORS as exc:
        raise MalformedInput(what, f"no version number where expected: {_reason(exc)}") from exc
    if not isinstance(version, int):
        raise MalformedInput(what, "no version number where expected")
    return version


def _load(spec: Any, der: bytes, what: str) -> Any:
    try:
        value = spec.load(der, strict=True)
        # asn1crypto parses lazily; touching .native parses every field now, so that
        # errors surface here rather than in a verifier.
        _ = value.native
    except ASN1_ERRORS as exc:
        raise MalformedInput(what, _reason(exc)) from exc
    return value


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


def _seal_view_v4(seal: Any, der: bytes) -> SealView:
    info = seal["e_seal_info"]
    version = _header_version(info["header"], GB_38540_VERSIONS)
    prop = info["property"]
    kind = prop["cert_list_type"].native
    if kind not in (CertListType.CERTIFICATES, CertListType.DIGESTS):
        raise MalformedInput("seal certificate list", f"unknown certListType {kind}")
    cert_list_type = CertListType(kind)
    certificates: tuple[x509.Certificate, ...] = ()
    digests: tuple[CertDigest, ...] = ()
    entries = prop["cert_list"]
    if cert_list_type is CertListType.CERTIFICATES:
        certificates = tuple(
            _certificate(entry.native, "certificate bound to the seal") for entry in entries
        )
    else:
        digests = tuple(
            CertDigest(entry["type"].native, entry["value"].native) for entry in entries
        )
    if not certificates and not digests:
        raise MalformedInput("seal certificate list", "no certificate may apply this seal")
    return SealView(
        version=version,
        vid=info["header"]["vid"].native,
        es_id=info["es_id"].native,
        type_code=prop["type"].native,
        name=prop["name"].native,
        cert_list_type=cert_list_type,
        bound_certificates=certificates,
        bound_digests=digests,
        created=_time(prop["create_date"], "seal creation date"),
        valid_from=_time(prop["valid_start"], "seal validity start"),
        valid_to=_time(prop["valid_end"], "seal validity end"),
        picture=_picture(info["picture"]),
        extensions=_extensions(info["ext_datas"]),
        maker_certificate=_certificate(seal["cert"].native, "seal maker certificate"),
        signature_algorithm=_algorithm(seal["sign_alg_id"], "seal signature algorithm"),
        signature=seal["signed_value"].native,
        signed_bytes=info.dump(),
        timestamp=seal["time_stamp"].native,
        der=der,
    )


def _seal_view_v1(seal: Any, der: bytes) -> SealView:
    info = seal["seal_info"]
    sign_info = seal["sign_info"]
    prop = info["property"]
    certificates = tuple(
        _certificate(entry.native, "certificate bound to the seal") for entry in prop["cert_list"]
    )
    if not certificates:
        raise MalformedInput("seal certificate list", "no certificate may apply this seal")
    return SealView(
        version=_header_version(info["header"], GM_2014_VERSIONS),
        vid=info["header"]["vid"].native,
        es_id=info["es_id"].native,
        type_code=prop["type"].native,
        name=prop["name"].native,
        cert_list_type=CertListType.CERTIFICATES,
        bound_certificates=certificates,
        bound_digests=(),
        created=_time(prop["create_date"], "seal creation date"),
        valid_from=_time(prop["valid_start"], "seal validity start"),
        valid_to=_time(prop["valid_end"], "seal validity end"),
        picture=_picture(info["picture"]),
        extensions=_extensions(info["ext_datas"]),
        maker_certificate=_certificate(sign_info["cert"].native, "seal maker certificate"),
        signature_algorithm=_algorithm(
            sign_info["signature_algorithm"], "seal signature algorithm"
        ),
        signature=sign_info["sign_data"].native,
        # GM/T 0031-2014 signs the seal info together with the maker's certificate and
        # the algorithm, as one SEQUENCE.
        signed_bytes=der_sequence(
            info.dump(), sign_info["cert"].dump(), sign_info["signature_algorithm"].dump()
        ),
        timestamp=None,
        der=der,
    )


def _stamp_view_v4(signature: Any, der: bytes, version: int) -> StampView:
    tbs = signature["to_sign"]
    seal = _seal_view_v4(tbs["eseal"], tbs["eseal"].dump())
    return StampView(
        version=version,
        seal=seal,
        signing_time=_time(tbs["time_info"], "signing time"),
        data_hash=tbs["data_hash"].native,
        property_info=tbs["property_info"].native,
        signer_certificate=_certificate(signature["cert"].native, "signer certificate"),
        signature_algorithm=_algorithm(signature["signature_alg_id"], "stamp signature algorithm"),
        signature=signature["signature"].native,
        signed_bytes=tbs.dump(),
        timestamp=signature["time_stamp"].native,
        extensions=_extensions(tbs["ext_datas"]),
        der=der,
    )


def _stamp_view_v1(signature: Any, der: bytes, version: int) -> StampView:
    tbs = signature["to_sign"]
    seal = _seal_view_v1(tbs["eseal"], tbs["eseal"].dump())
    return StampView(
        version=version,
        seal=seal,
        signing_time=_v1_signing_time(tbs["time_info"].native),
        data_hash=tbs["data_hash"].native,
        property_info=tbs["property_info"].native,
        signer_certificate=_certificate(tbs["cert"].native, "signer certificate"),
        signature_algorithm=_algorithm(tbs["signature_algorithm"], "stamp signature algorithm"),
        signature=signature["signature"].native,
        signed_bytes=tbs.dump(),
        timestamp=None,
        extensions=(),
        der=der,
    )


def _header_version(header: Any, allowed: frozenset[int]) -> int:
    if header["id"].native != "ES":
        raise MalformedInput("seal header", f"identifier {header['id'].native!r}, not 'ES'")
    version: int = header["version"].native
    if version not in allowed:
        raise MalformedInput(
            "seal header", f"version {version} does not match this seal's structure"
        )
    return version


def _certificate(der: bytes, what: str) -> x509.Certificate:
    try:
        certificate = x509.Certificate.load(der, strict=True)
        _ = certificate.native
        _ = certificate.public_key
    except ASN1_ERRORS as exc:
        raise MalformedInput(what, f"not an X.509 certificate: {_reason(exc)}") from exc
    return certificate


def _algorithm(oid: Any, what: str) -> str:
    dotted: str = oid.dotted
    name = SIGNATURE_ALGORITHMS.get(dotted)
    if name is None:
        raise MalformedInput(what, f"OID {dotted} is not a signature algorithm for seals")
    return name


def _time(value: Any, what: str) -> datetime:
    moment = value.native
    if type(moment) is not datetime:
        raise MalformedInput(what, f"{moment!r} is not a usable date and time")
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CHINA_STANDARD_TIME)
    return moment


def _v1_signing_time(raw: bytes) -> datetime | None:
    # GM/T 0031-2014 left timeInfo as a BIT STRING: ofdrw writes local time as
    # "yyyy-MM-dd HH:mm:ss", others a DER time or compact digits.
    try:
        return _time(x509.Time.load(raw, strict=True), "signing time")
    except (MalformedInput, *ASN1_ERRORS):
        pass
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    for layout in _V1_TIME_FORMATS:
        try:
            moment = datetime.strptime(text, layout)
        except ValueError:
            continue
        zone = UTC if layout.endswith("Z") else CHINA_STANDARD_TIME
        return moment.replace(tzinfo=zone)
    return None


def _picture(value: Any) -> PictureInfo:
    kind: str = value["type"].native
    data: bytes = value["data"].native
    width: int = value["width"].native
    height: int = value["height"].native
    if len(data) > MAX_PICTURE_BYTES:
        raise MalformedInput(
            "seal picture", f"{len(data)} bytes, more than the {MAX_PICTURE_BYTES} allowed"
        )
    key = kind.strip().lower()
    if key == "svg":
        looks_right = b"<svg" in data[:4096]
    elif key in _PICTURE_MAGIC:
        looks_right = data.startswith(_PICTURE_MAGIC[key])
    else:
        raise MalformedInput(
            "seal picture",
            f"type {kind!r} is not an image type (PNG, JPG, GIF, BMP, TIFF, SVG or OFD)",
        )
    if not looks_right:
        raise MalformedInput("seal picture", f"data is not a {kind} image")
    if not (0 < width <= MAX_PICTURE_MM and 0 < height <= MAX_PICTURE_MM):
        raise MalformedInput("seal picture", f"display size {width}x{height} mm is implausible")
    return PictureInfo(kind, data, width, height)


def _extensions(value: Any) -> tuple[ExtensionData, ...]:
    if isinstance(value, core.Void):
        return ()
    return tuple(
        ExtensionData(
            item["extn_id"].dotted, bool(item["critical"].native), item["extn_value"].native
        )
        for item in value
    )
