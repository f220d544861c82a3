"""KeyHandle: sign with a key wherever it lives, never handing the private key out.

Every signer in SealBridge (certificate issuance, OCSP, TSA, seal makers, PDF signers)
takes a ``KeyHandle``, so software keys, PKCS#11 tokens and SM2 keys are interchangeable.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from asn1crypto import algos, keys, pem
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sealbridge.crypto import sm2
from sealbridge.crypto.algorithms import KeyKind, default_signature_algorithm
from sealbridge.crypto.pkcs8 import encrypt_private_key_info
from sealbridge.errors import KeyStoreError, UnsupportedAlgorithm

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


@runtime_checkable
class KeyHandle(Protocol):
    """A private key that can sign but does not reveal itself."""

    @property
    def kind(self) -> KeyKind: ...

    @property
    def public_key_info(self) -> keys.PublicKeyInfo: ...

    def default_signature_algorithm(self) -> algos.SignedDigestAlgorithm: ...

    def sign(self, data: bytes, algorithm: algos.SignedDigestAlgorithm) -> bytes:
        """Sign ``data`` (not a digest) with the given algorithm."""
        ...


class SoftwareKey:
    """RSA or ECDSA key held by ``cryptography`` in process memory."""

    __slots__ = ("_key", "_kind", "_public_info")

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, kind: KeyKind):
        self._key = key
        self._kind = kind
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._public_info = keys.PublicKeyInfo.load(der)

    @property
    def kind(self) -> KeyKind:
        return self._kind

    @property
    def public_key_info(self) -> keys.PublicKeyInfo:
        return self._public_info

    def default_signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        return default_signature_algorithm(self._kind)

    def sign(self, data: bytes, algorithm: algos.SignedDigestAlgorithm) -> bytes:
        name = algorithm["algorithm"].native
        hash_name = algorithm.hash_algo if name != "rsassa_pss" else None
        if name.endswith("_ecdsa") and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(_hash(hash_name)))
        if name.endswith("_rsa") and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), _hash(hash_name))
        raise UnsupportedAlgorithm(f"{self._kind.value} key cannot sign with {name}")

    def private_key_pem(self, password: bytes) -> bytes:
        """Encrypted PKCS#8 with a strong KDF (``crypto.pkcs8``), for key stores only."""
        plain = self._key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return pem.armor("ENCRYPTED PRIVATE KEY", encrypt_private_key_info(plain, password))


class SM2Key:
    """SM2 key in process memory; signs SM3(Z_A || data) with the default signer ID."""

    __slots__ = ("_key", "_public_info")

    def __init__(self, key: sm2.SM2PrivateKey) -> None:
        self._key = key
        self._public_info = sm2.public_key_info(key.public_point)

    @property
    def kind(self) -> KeyKind:
        return KeyKind.SM2

    @property
    def public_key_info(self) -> keys.PublicKeyInfo:
        return self._public_info

    def default_signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        return default_signature_algorithm(KeyKind.SM2)

    def sign(self, data: bytes, algorithm: algos.SignedDigestAlgorithm) -> bytes:
        name = algorithm["algorithm"].native
        if name not in ("sm2_sm3", "sm2"):
            raise UnsupportedAlgorithm(f"SM2 key cannot sign with {name}")
        return self._key.sign(data)


def _hash(name: str | None) -> hashes.HashAlgorithm:
    if name not in _HASHES:
        raise UnsupportedAlgorithm(f"hash {name!r} is not allowed for RSA/ECDSA signatures")
    return _HASHES[name]()


def generate_key(kind: KeyKind) -> KeyHandle:
    """A fresh software key of the given kind."""
    if kind is KeyKind.SM2:
        return SM2Key(sm2.SM2PrivateKey.generate())
    if kind is KeyKind.ECDSA_P256:
        return SoftwareKey(ec.generate_private_key(ec.SECP256R1()), kind)
    if kind is KeyKind.ECDSA_P384:
        return SoftwareKey(ec.generate_private_key(ec.SECP384R1()), kind)
    if kind in (KeyKind.RSA_2048, KeyKind.RSA_3072):
        bits = 2048 if kind is KeyKind.RSA_2048 else 3072
        return SoftwareKey(rsa.generate_private_key(public_exponent=65537, key_size=bits), kind)
    raise KeyStoreError(f"cannot generate a key of kind {kind!r}")
