"""Signature verification dispatched on the algorithm and the public key, SM2 included."""

from __future__ import annotations

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as UnsupportedKey
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sealbridge.crypto import sm2
from sealbridge.errors import SignatureInvalid, UnsupportedAlgorithm

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def verify_signature(
    public_key: keys.PublicKeyInfo,
    algorithm: algos.SignedDigestAlgorithm,
    data: bytes,
    signature: bytes,
) -> None:
    """Raise ``SignatureInvalid`` unless ``signature`` over ``data`` verifies."""
    name = algorithm["algorithm"].native
    if sm2.is_sm2_key(public_key):
        if name not in ("sm2_sm3", "sm2", "1.2.156.10197.1.501"):
            raise UnsupportedAlgorithm(f"SM2 key with signature algorithm {name}")
        sm2.verify(sm2.point_of(public_key), data, signature)
        return
    if name in ("sm2_sm3", "sm2"):
        raise SignatureInvalid("SM2 signature algorithm with a non-SM2 key")
    try:
        key = serialization.load_der_public_key(public_key.dump())
    except (ValueError, UnsupportedKey) as exc:
        raise UnsupportedAlgorithm(f"public key cannot be loaded: {exc}") from exc
    try:
        if name == "rsassa_pss":
            params = algorithm["parameters"]
            hash_algo = _hash(params["hash_algorithm"]["algorithm"].native)
            if not isinstance(key, rsa.RSAPublicKey):
                raise SignatureInvalid("RSASSA-PSS signature with a non-RSA key")
            key.verify(
                signature,
                data,
                padding.PSS(padding.MGF1(hash_algo), params["salt_length"].native),
                hash_algo,
            )
        elif isinstance(key, rsa.RSAPublicKey) and name.endswith("_rsa"):
            key.verify(signature, data, padding.PKCS1v15(), _hash(algorithm.hash_algo))
        elif isinstance(key, ec.EllipticCurvePublicKey) and name.endswith("_ecdsa"):
            key.verify(signature, data, ec.ECDSA(_hash(algorithm.hash_algo)))
        else:
            raise UnsupportedAlgorithm(f"{name} with a {public_key.algorithm} key")
    except InvalidSignature as exc:
        raise SignatureInvalid(f"{name} signature does not verify") from exc


def _hash(name: str) -> hashes.HashAlgorithm:
    if name not in _HASHES:
        raise UnsupportedAlgorithm(f"hash {name!r}")
    return _HASHES[name]()
