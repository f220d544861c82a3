"""Encrypted PKCS#8 (RFC 5958, PBES2 of RFC 8018) with a work factor we choose.

``cryptography``'s ``BestAvailableEncryption`` picks PBKDF2 with 2,048 iterations, which
a GPU guesses through at millions of passphrases a second. Key files here use
PBKDF2-HMAC-SHA256 with 600,000 iterations (OWASP's 2023 figure) and AES-256-CBC: still
the standard structure, so ``openssl pkey`` and every PKCS#8 reader opens them.

Reading is bounded too: a file may name any iteration count, and a hostile one must
not make a load take hours, so counts above ``MAX_ITERATIONS`` are refused unread.
"""

from __future__ import annotations

import os

from asn1crypto import algos, keys
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from sealbridge.errors import KeyStoreError

ITERATIONS = 600_000
MAX_ITERATIONS = 10_000_000


def encrypt_private_key_info(private_key_info: bytes, passphrase: bytes) -> bytes:
    """DER EncryptedPrivateKeyInfo of the DER PrivateKeyInfo ``private_key_info``."""
    salt, iv = os.urandom(16), os.urandom(16)
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, ITERATIONS).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(private_key_info) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    scheme = algos.Pbes2Params(
        {
            "key_derivation_func": {
                "algorithm": "pbkdf2",
                "parameters": {
                    "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                    "iteration_count": ITERATIONS,
                    "prf": {"algorithm": "sha256", "parameters": None},
                },
            },
            "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
        }
    )
    info = keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {"algorithm": "pbes2", "parameters": scheme},
            "encrypted_data": ciphertext,
        }
    )
    return bytes(info.dump())


def check_work_factor(encrypted: bytes, label: str) -> None:
    """Refuse, before any KDF runs, a file whose iteration count would stall the load."""
    try:
        info = keys.EncryptedPrivateKeyInfo.load(encrypted)
        algorithm = info["encryption_algorithm"]
        if algorithm["algorithm"].native != "pbes2":
            return
        kdf = algorithm["parameters"]["key_derivation_func"]
        if kdf["algorithm"].native != "pbkdf2":
            return
        count = kdf["parameters"]["iteration_count"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise KeyStoreError(f"key file of {label!r} is not encrypted PKCS#8: {exc}") from exc
    if not 1 <= count <= MAX_ITERATIONS:
        raise KeyStoreError(
            f"key file of {label!r} asks for {count} PBKDF2 iterations; "
            f"at most {MAX_ITERATIONS} are accepted"
        )
