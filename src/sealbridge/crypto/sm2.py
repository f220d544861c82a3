"""SM2 signatures with SM3 and the Z_A preprocessing of GB/T 32918, via GmSSL (gmssl-pyx).

The private key is 32 bytes held in memory by a ``SM2PrivateKey``; it is never written
out except through a key store.
"""

from __future__ import annotations

import gmssl_pyx
from asn1crypto import keys

from sealbridge.crypto.algorithms import SM2_CURVE_OID
from sealbridge.errors import MalformedInput, SignatureInvalid

DEFAULT_SIGNER_ID = b"1234567812345678"


def public_key_info(public_point: bytes) -> keys.PublicKeyInfo:
    """SubjectPublicKeyInfo for a 64-byte (x || y) SM2 point: id-ecPublicKey + SM2 curve."""
    return keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="named", value=SM2_CURVE_OID),
            },
            "public_key": b"\x04" + public_point,
        }
    )


def point_of(info: keys.PublicKeyInfo) -> bytes:
    """The 64-byte point of an SM2 SubjectPublicKeyInfo, checked to lie on the curve."""
    raw = bytes(info["public_key"])
    try:
        return gmssl_pyx.normalize_sm2_public_key(raw)
    except gmssl_pyx.InvalidValueError as exc:
        raise MalformedInput("SM2 public key", "not a point on the SM2 curve") from exc


def is_sm2_key(info: keys.PublicKeyInfo) -> bool:
    if info["algorithm"]["algorithm"].native != "ec":
        return False
    params = info["algorithm"]["parameters"]
    return params.name == "named" and params.chosen.dotted == SM2_CURVE_OID


class SM2PrivateKey:
    """An SM2 key pair in process memory."""

    __slots__ = ("_private", "public_point")

    def __init__(self, private: bytes, public_point: bytes) -> None:
        if len(private) != 32 or len(public_point) != 64:
            raise MalformedInput("SM2 key", "private key must be 32 bytes and point 64 bytes")
        self._private = private
        self.public_point = public_point

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        public, private = gmssl_pyx.sm2_key_generate()
        return cls(private, public)

    def sign(self, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
        """DER (r, s) signature over SM3(Z_A || message)."""
        return bytes(gmssl_pyx.sm2_sign(self._private, self.public_point, message, signer_id))

    def private_key_info(self) -> keys.PrivateKeyInfo:
        """PKCS#8 form, for key stores only."""
        ec_key = keys.ECPrivateKey(
            {
                "version": "ecPrivkeyVer1",
                "private_key": int.from_bytes(self._private, "big"),
                "public_key": b"\x04" + self.public_point,
            }
        )
        return keys.PrivateKeyInfo(
            {
                "version": 0,
                "private_key_algorithm": {
                    "algorithm": "ec",
                    "parameters": keys.ECDomainParameters(name="named", value=SM2_CURVE_OID),
                },
                "private_key": ec_key,
            }
        )

    @classmethod
    def from_private_key_info(cls, info: keys.PrivateKeyInfo) -> SM2PrivateKey:
        ec_key = info["private_key"].parsed
        private = ec_key["private_key"].native.to_bytes(32, "big")
        public = bytes(ec_key["public_key"])[1:]
        return cls(private, public)


def verify(
    public_point: bytes, message: bytes, signature: bytes, signer_id: bytes = DEFAULT_SIGNER_ID
) -> None:
    """Raise SignatureInvalid unless ``signature`` is a valid SM2 signature of ``message``."""
    try:
        ok = gmssl_pyx.sm2_verify(public_point, message, signature, signer_id)
    except gmssl_pyx.GmsslInnerError as exc:
        raise SignatureInvalid(f"SM2 signature could not be checked: {exc}") from exc
    if not ok:
        raise SignatureInvalid("SM2 signature does not verify")
