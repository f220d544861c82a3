"""The default key store: one passphrase-encrypted file per key in a directory.

A key is generated here and written straight to its encrypted file; the plaintext
private key exists only in process memory. Each key lives in ``<directory>/<label>.pem``
with mode 0600, written atomically (temporary file, fsync, rename, fsync of the
directory) so a crash leaves either the old state or the whole new file.

Two file formats, told apart by the PEM label:

``ENCRYPTED PRIVATE KEY`` (RSA, ECDSA)
    Standard encrypted PKCS#8 (RFC 5958, PBES2), so ``openssl pkey`` and other tools
    can read it, with PBKDF2-HMAC-SHA256 at 600,000 iterations and AES-256-CBC
    (``crypto.pkcs8``; cryptography's own choice is 2,048 iterations). Files written
    by earlier versions, with fewer iterations, still load.

``SEALBRIDGE ENCRYPTED PRIVATE KEY`` (SM2)
    ``cryptography`` cannot load SM2 keys, so the SM2 PKCS#8 DER is sealed in a small
    envelope of our own, authenticated rather than only encrypted::

        offset  size  field
        0       1     version, 1
        1       1     log2(N) of scrypt (RFC 7914); 14..20 accepted
        2       1     scrypt r; 1..8 accepted
        3       1     scrypt p; 1..4 accepted
        4       16    scrypt salt
        20      12    AES-256-GCM nonce
        32      ...   AES-256-GCM ciphertext of the PKCS#8 DER, then the 16-byte tag

    The AES key is scrypt(passphrase, salt, N, r, p), 32 bytes. The associated data is
    the 32-byte header followed by the UTF-8 label, so a changed header, a changed
    ciphertext and a file renamed to another label all fail to decrypt. The accepted
    ranges bound the memory and time a hostile file can demand of the KDF.
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from asn1crypto import keys, pem
from cryptography.exceptions import InvalidTag
from cryptography.exceptions import UnsupportedAlgorithm as CryptographyUnsupported
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from sealbridge.crypto import sm2
from sealbridge.crypto.algorithms import SM2_CURVE_OID, KeyKind
from sealbridge.crypto.keys import KeyHandle, SM2Key, SoftwareKey, generate_key
from sealbridge.crypto.pkcs8 import check_work_factor
from sealbridge.errors import KeyStoreError, MalformedInput, UnsupportedAlgorithm
from sealbridge.files import write_atomically

_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_PKCS8_PEM = "ENCRYPTED PRIVATE KEY"
_ENVELOPE_PEM = "SEALBRIDGE ENCRYPTED PRIVATE KEY"

_VERSION = 1
_HEADER = struct.Struct(">BBBB16s12s")
# OWASP's scrypt baseline: N = 2**17, r = 8, p = 1 (128 MiB, about 0.5 s).
_SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P = 17, 8, 1

_RSA_KINDS = {2048: KeyKind.RSA_2048, 3072: KeyKind.RSA_3072}
_EC_KINDS = {"secp256r1": KeyKind.ECDSA_P256, "secp384r1": KeyKind.ECDSA_P384}


class FileKeyStore:
    """Keys of every ``KeyKind`` in a directory, all encrypted under one passphrase."""

    def __init__(self, directory: str | os.PathLike[str], passphrase: str | bytes) -> None:
        self._directory = Path(directory)
        self._passphrase = passphrase.encode() if isinstance(passphrase, str) else passphrase
        if not self._passphrase:
            raise KeyStoreError("a key store passphrase must not be empty")
        try:
            self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise KeyStoreError(f"cannot create key directory {self._directory}: {exc}") from exc

    def path(self, label: str) -> Path:
        """The file of key ``label``; labels cannot name anything outside the directory."""
        if not _LABEL.fullmatch(label):
            raise KeyStoreError(
                f"invalid key label {label!r}: use 1-128 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return self._directory / f"{label}.pem"

    def generate(self, kind: KeyKind, label: str) -> KeyHandle:
        """A new key, saved encrypted under ``label``; an existing label is never replaced."""
        path = self.path(label)
        if path.exists():
            raise KeyStoreError(f"a key labelled {label!r} already exists in {self._directory}")
        handle: KeyHandle
        if kind is KeyKind.SM2:
            private = sm2.SM2PrivateKey.generate()
            handle = SM2Key(private)
            pkcs8 = private.private_key_info().dump()
            data = pem.armor(_ENVELOPE_PEM, _seal(pkcs8, self._passphrase, label))
        else:
            handle = generate_key(kind)
            assert isinstance(handle, SoftwareKey)  # generate_key's type for RSA and ECDSA
            data = handle.private_key_pem(self._passphrase)
        self._write(path, label, data)
        return handle

    def load(self, label: str) -> KeyHandle:
        """The key saved under ``label``, decrypted with the store's passphrase."""
        path = self.path(label)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise KeyStoreError(f"no key labelled {label!r} in {self._directory}") from exc
        except OSError as exc:
            raise KeyStoreError(f"cannot read key {label!r}: {exc}") from exc
        try:
            pem_type, _, der = pem.unarmor(data)
        except ValueError as exc:
            raise KeyStoreError(f"key file of {label!r} is not PEM: damaged file") from exc
        if pem_type == _PKCS8_PEM:
            return _load_pkcs8(der, self._passphrase, label)
        if pem_type == _ENVELOPE_PEM:
            return _load_sm2(_open(der, self._passphrase, label), label)
        raise KeyStoreError(f"key file of {label!r} holds a {pem_type!r}, not an encrypted key")

    def _write(self, path: Path, label: str, data: bytes) -> None:
        # The leading dot of temporary files keeps them out of the label namespace.
        try:
            write_atomically(path, data, mode=0o600)
        except OSError as exc:
            raise KeyStoreError(f"cannot write key {label!r}: {exc}") from exc


def _load_pkcs8(der: bytes, passphrase: bytes, label: str) -> KeyHandle:
    check_work_factor(der, label)
    try:
        key = serialization.load_der_private_key(der, passphrase)
    except (ValueError, TypeError, CryptographyUnsupported) as exc:
        raise KeyStoreError(_undecryptable(label)) from exc
    if isinstance(key, rsa.RSAPrivateKey) and key.key_size in _RSA_KINDS:
        return SoftwareKey(key, _RSA_KINDS[key.key_size])
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC_KINDS:
        return SoftwareKey(key, _EC_KINDS[key.curve.name])
    raise UnsupportedAlgorithm(f"key {label!r} is not a key kind SealBridge uses")


def _load_sm2(der: bytes, label: str) -> KeyHandle:
    try:
        info = keys.PrivateKeyInfo.load(der)
        algorithm = info["private_key_algorithm"]
        params = algorithm["parameters"]
        if not (
            algorithm["algorithm"].native == "ec"
            and params.name == "named"
            and params.chosen.dotted == SM2_CURVE_OID
        ):
            raise UnsupportedAlgorithm(f"key {label!r} in an SM2 envelope is not an SM2 key")
        return SM2Key(sm2.SM2PrivateKey.from_private_key_info(info))
    except (ValueError, TypeError, MalformedInput) as exc:
        raise KeyStoreError(f"key {label!r} decrypted but is not a valid SM2 key") from exc


def _kdf(passphrase: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase)


def _seal(plaintext: bytes, passphrase: bytes, label: str) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    header = _HEADER.pack(_VERSION, _SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P, salt, nonce)
    key = _kdf(passphrase, salt, _SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P)
    return header + AESGCM(key).encrypt(nonce, plaintext, header + label.encode())


def _open(envelope: bytes, passphrase: bytes, label: str) -> bytes:
    if len(envelope) < _HEADER.size + 16:
        raise KeyStoreError(f"key file of {label!r} is truncated")
    version, log2_n, r, p, salt, nonce = _HEADER.unpack_from(envelope)
    if version != _VERSION:
        raise KeyStoreError(f"key file of {label!r} has unknown envelope version {version}")
    if not (14 <= log2_n <= 20 and 1 <= r <= 8 and 1 <= p <= 4):
        raise KeyStoreError(f"key file of {label!r} has out-of-range scrypt parameters")
    header = envelope[: _HEADER.size]
    key = _kdf(passphrase, salt, log2_n, r, p)
    try:
        return AESGCM(key).decrypt(nonce, envelope[_HEADER.size :], header + label.encode())
    except InvalidTag as exc:
        raise KeyStoreError(_undecryptable(label)) from exc


def _undecryptable(label: str) -> str:
    return f"cannot decrypt key {label!r}: wrong passphrase or damaged file"
