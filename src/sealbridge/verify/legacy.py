"""Signature values over the content itself: CMS signers without signed attributes.

RFC 5652 5.4: without signed attributes the signer's key signs the content's digest
directly, as old adbe.pkcs7.detached signers did. RSA (PKCS#1 v1.5 wraps the digest in a
DigestInfo; PSS pads it) and ECDSA sign that digest, so the digest already computed over
the PDF's byte ranges is verified as prehashed and the file is not read again. SM2 first
hashes Z_A, which depends on the signer's key, with the content (GB/T 32918.2), so for
SM2 alone the bytes themselves are needed.
"""

from __future__ import annotations

from collections.abc import Callable

from asn1crypto import algos, keys
from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as UnsupportedKey
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from sealbridge.crypto import sm2
from sealbridge.crypto.verify import verify_signature
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


def verify_over_content(
    public_key: keys.PublicKeyInfo,
    algorithm: algos.SignedDigestAlgorithm,
    digest_algorithm: str,
    content_digest: Callable[[str], bytes],
    content: Callable[[], bytes],
    signature: bytes,
) -> None:
    """Raise ``SignatureInvalid`` (or ``UnsupportedAlgorithm``) unless ``signature`` is
    ``algorithm`` over the content that ``content_digest`` digests and ``content`` reads;
    ``algorithm`` has been matched to ``digest_algorithm`` by the caller."""
    name = algorithm["algorithm"].native
    if sm2.is_sm2_key(public_key) or name in ("sm2", "sm2_sm3"):
        verify_signature(public_key, algorithm, content(), signature)
        return
    try:
        key = serialization.load_der_public_key(public_key.dump())
    except (ValueError, UnsupportedKey) as exc:
        raise UnsupportedAlgorithm(f"public key cannot be loaded: {exc}") from exc
    try:
        if isinstance(key, rsa.RSAPublicKey) and name == "rsassa_pss":
            parameters = algorithm["parameters"]
            hash_name = parameters["hash_algorithm"]["algorithm"].native
            chosen = _hash(hash_name)
            pss = padding.PSS(padding.MGF1(chosen), parameters["salt_length"].native)
            key.verify(signature, content_digest(hash_name), pss, Prehashed(chosen))
        elif isinstance(key, rsa.RSAPublicKey) and name.endswith("_rsa"):
            prehashed = Prehashed(_hash(digest_algorithm))
            key.verify(signature, content_digest(digest_algorithm), padding.PKCS1v15(), prehashed)
        elif isinstance(key, ec.EllipticCurvePublicKey) and name.endswith("_ecdsa"):
            ecdsa = ec.ECDSA(Prehashed(_hash(digest_algorithm)))
            key.verify(signature, content_digest(digest_algorithm), ecdsa)
        else:
            raise UnsupportedAlgorithm(f"{name} with a {public_key.algorithm} key")
    except InvalidSignature as exc:
        raise SignatureInvalid(f"{name} signature does not verify") from exc


def _hash(name: str) -> hashes.HashAlgorithm:
    if name not in _HASHES:
        raise UnsupportedAlgorithm(f"hash {name!r} with a key other than SM2")
    return _HASHES[name]()
