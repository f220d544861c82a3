"""Signature verification dispatched on the algorithm and the public key, SM2 included."""

from __future__ import annotations

from collections.abc import Callable

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as UnsupportedKey
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from sealbridge.crypto import sm2
from sealbridge.errors import SignatureInvalid, UnsupportedAlgorithm

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha3_256": hashes.SHA3_256,
    "sha3_384": hashes.SHA3_384,
    "sha3_512": hashes.SHA3_512,
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
    _verify(public_key, algorithm, lambda _: data, signature, prehashed=False)


def verify_digest(
    public_key: keys.PublicKeyInfo,
    algorithm: algos.SignedDigestAlgorithm,
    digest_of: Callable[[str], bytes],
    signature: bytes,
) -> None:
    """Raise ``SignatureInvalid`` unless ``signature`` is ``algorithm`` over the data
    ``digest_of(hash)`` digests: a value over a digest computed already (a CMS signer
    without signed attributes signs the content's digest, RFC 5652 5.4). SM2 cannot be
    checked so: it hashes the signer's Z_A with the data itself."""
    if sm2.is_sm2_key(public_key):
        raise UnsupportedAlgorithm("an SM2 signature needs the data, not its digest")
    _verify(public_key, algorithm, digest_of, signature, prehashed=True)


def _verify(
    public_key: keys.PublicKeyInfo,
    algorithm: algos.SignedDigestAlgorithm,
    signed: Callable[[str], bytes],
    signature: bytes,
    *,
    prehashed: bool,
) -> None:
    """RSA (PKCS#1 v1.5, PSS) and ECDSA over ``signed(hash name)``: the data, or with
    ``prehashed`` its digest under that hash."""
    name = algorithm["algorithm"].native
    if name in ("sm2_sm3", "sm2"):
        raise SignatureInvalid("SM2 signature algorithm with a non-SM2 key")
    try:
        key = serialization.load_der_public_key(public_key.dump())
    except (ValueError, UnsupportedKey) as exc:
        raise UnsupportedAlgorithm(f"public key cannot be loaded: {exc}") from exc

    def hashed(hash_name: str) -> hashes.HashAlgorithm | Prehashed:
        chosen = _hash(hash_name)
        return Prehashed(chosen) if prehashed else chosen

    try:
        if name == "rsassa_pss":
            params = algorithm["parameters"]
            hash_name = params["hash_algorithm"]["algorithm"].native
            if not isinstance(key, rsa.RSAPublicKey):
                raise SignatureInvalid("RSASSA-PSS signature with a non-RSA key")
            pss = padding.PSS(padding.MGF1(_hash(hash_name)), params["salt_length"].native)
            key.verify(signature, signed(hash_name), pss, hashed(hash_name))
        elif isinstance(key, rsa.RSAPublicKey) and name.endswith("_rsa"):
            hash_name = algorithm.hash_algo
            key.verify(signature, signed(hash_name), padding.PKCS1v15(), hashed(hash_name))
        elif isinstance(key, ec.EllipticCurvePublicKey) and name.endswith("_ecdsa"):
            hash_name = algorithm.hash_algo
            key.verify(signature, signed(hash_name), ec.ECDSA(hashed(hash_name)))
        else:
            raise UnsupportedAlgorithm(f"{name} with a {public_key.algorithm} key")
    except InvalidSignature as exc:
        raise SignatureInvalid(f"{name} signature does not verify") from exc


def _hash(name: str) -> hashes.HashAlgorithm:
    if name not in _HASHES:
        raise UnsupportedAlgorithm(f"hash {name!r}")
    return _HASHES[name]()
