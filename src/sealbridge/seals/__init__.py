"""Electronic seals and stamps (GB/T 38540-2020, GM/T 0031-2014 and -2025).

A seal maker issues a seal binding a firm's certificates to a picture and a validity
window; a firm stamps a document by signing its hash together with the seal; anyone can
check both offline here, and check the certificates against a trust view elsewhere.
"""

from sealbridge.seals.decode import decode_seal, decode_stamp
from sealbridge.seals.issue import StampRefused, issue_seal, stamp
from sealbridge.seals.model import (
    CertDigest,
    CertListType,
    ExtensionData,
    PictureInfo,
    SealType,
    SealView,
    StampView,
)
from sealbridge.seals.picture import SealPicture, render_name_seal, render_round_seal
from sealbridge.seals.verify import (
    SealCheck,
    SealVerification,
    StampVerification,
    Step,
    verify_seal,
    verify_stamp,
)

__all__ = [
    "CertDigest",
    "CertListType",
    "ExtensionData",
    "PictureInfo",
    "SealCheck",
    "SealPicture",
    "SealType",
    "SealVerification",
    "SealView",
    "StampRefused",
    "StampVerification",
    "StampView",
    "Step",
    "decode_seal",
    "decode_stamp",
    "issue_seal",
    "render_name_seal",
    "render_round_seal",
    "stamp",
    "verify_seal",
    "verify_stamp",
]
