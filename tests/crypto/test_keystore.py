"""Encrypted key files: every key kind round-trips, and nothing else gets a usable key."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from asn1crypto import keys, pem
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keystore import FileKeyStore
from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import KeyStoreError, SignatureInvalid

PASSPHRASE = "correct horse battery staple 正确"


@pytest.mark.parametrize("kind", list(KeyKind))
def test_round_trip_signs_and_reloads(tmp_path: Path, kind: KeyKind) -> None:
    store = FileKeyStore(tmp_path / "keys", PASSPHRASE)
    key = store.generate(kind, f"firm-{kind.value}")
    algorithm = key.default_signature_algorithm()
    signature = key.sign(b"contract", algorithm)

    reloaded = FileKeyStore(tmp_path / "keys", PASSPHRASE.encode()).load(f"firm-{kind.value}")
    assert reloaded.kind is kind
    assert reloaded.public_key_info.dump() == key.public_key_info.dump()
    verify_signature(reloaded.public_key_info, algorithm, b"contract", signature)
    second = reloaded.sign(b"contract", algorithm)
    verify_signature(key.public_key_info, algorithm, b"contract", second)
    with pytest.raises(SignatureInvalid):
        verify_signature(key.public_key_info, algorithm, b"contracT", second)

    path = store.path(f"firm-{kind.value}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    text = path.read_bytes()
    assert b"PRIVATE KEY-----" in text and b"ENCRYPTED" in text


def test_rsa_and_ecdsa_files_are_standard_pkcs8(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, PASSPHRASE)
    key = store.generate(KeyKind.ECDSA_P256, "interop")
    private = serialization.load_pem_private_key(
        store.path("interop").read_bytes(), PASSPHRASE.encode()
    )
    spki = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki == key.public_key_info.dump()


def test_sm2_file_is_the_documented_envelope(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, PASSPHRASE)
    store.generate(KeyKind.SM2, "seal-maker")
    pem_type, _, envelope = pem.unarmor(store.path("seal-maker").read_bytes())
    assert pem_type == "SEALBRIDGE ENCRYPTED PRIVATE KEY"
    assert envelope[:4] == bytes([1, 17, 8, 1])  # version, log2(N), r, p
    assert len(envelope) > 32 + 16


@pytest.mark.parametrize("kind", [KeyKind.ECDSA_P256, KeyKind.RSA_2048, KeyKind.SM2])
def test_wrong_passphrase_names_the_label(tmp_path: Path, kind: KeyKind) -> None:
    FileKeyStore(tmp_path, PASSPHRASE).generate(kind, "ca-key")
    with pytest.raises(KeyStoreError, match=r"'ca-key'.*wrong passphrase"):
        FileKeyStore(tmp_path, "not the passphrase").load("ca-key")


@pytest.mark.parametrize("kind", [KeyKind.ECDSA_P384, KeyKind.RSA_3072, KeyKind.SM2])
def test_flipped_byte_is_detected(tmp_path: Path, kind: KeyKind) -> None:
    store = FileKeyStore(tmp_path, PASSPHRASE)
    store.generate(kind, "tampered")
    path = store.path("tampered")
    pem_type, headers, der = pem.unarmor(path.read_bytes())
    damaged = bytearray(der)
    damaged[len(damaged) // 2] ^= 0x01  # inside the ciphertext of either format
    path.write_bytes(pem.armor(pem_type, bytes(damaged), headers))
    with pytest.raises(KeyStoreError, match="'tampered'"):
        store.load("tampered")


def test_sm2_file_is_bound_to_its_label(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, PASSPHRASE)
    store.generate(KeyKind.SM2, "original")
    store.path("original").rename(store.path("impostor"))
    with pytest.raises(KeyStoreError, match="'impostor'"):
        store.load("impostor")


@pytest.mark.parametrize("label", ["../escape", "a/b", ".hidden", "", "x" * 129, "é"])
def test_labels_cannot_leave_the_directory(tmp_path: Path, label: str) -> None:
    store = FileKeyStore(tmp_path / "keys", PASSPHRASE)
    with pytest.raises(KeyStoreError, match="invalid key label"):
        store.generate(KeyKind.ECDSA_P256, label)
    with pytest.raises(KeyStoreError, match="invalid key label"):
        store.load(label)
    assert list(tmp_path.iterdir()) == [tmp_path / "keys"]
    assert list((tmp_path / "keys").iterdir()) == []


def test_existing_label_is_never_overwritten(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, PASSPHRASE)
    first = store.generate(KeyKind.ECDSA_P256, "ca")
    with pytest.raises(KeyStoreError, match="already exists"):
        store.generate(KeyKind.ECDSA_P256, "ca")
    assert store.load("ca").public_key_info.dump() == first.public_key_info.dump()


def test_missing_key_and_foreign_file_are_clear_errors(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, PASSPHRASE)
    with pytest.raises(KeyStoreError, match="no key labelled 'absent'"):
        store.load("absent")
    store.path("cert").write_bytes(pem.armor("CERTIFICATE", b"\x30\x00"))
    with pytest.raises(KeyStoreError, match="'cert' holds a 'CERTIFICATE'"):
        store.load("cert")
    store.path("junk").write_bytes(b"not pem at all")
    with pytest.raises(KeyStoreError, match="'junk' is not PEM"):
        store.load("junk")


def test_empty_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="passphrase"):
        FileKeyStore(tmp_path, "")


def _kdf_parameters(path: Path) -> tuple[str, int]:
    info = keys.EncryptedPrivateKeyInfo.load(pem.unarmor(path.read_bytes())[2])
    kdf = info["encryption_algorithm"]["parameters"]["key_derivation_func"]
    return kdf["parameters"]["prf"]["algorithm"].native, kdf["parameters"]["iteration_count"].native


def test_pkcs8_files_use_a_strong_kdf_that_openssl_reads(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, PASSPHRASE)
    store.generate(KeyKind.ECDSA_P256, "strong")
    assert _kdf_parameters(store.path("strong")) == ("sha256", 600_000)
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    done = subprocess.run(
        [openssl, "pkey", "-in", str(store.path("strong")), "-passin", f"pass:{PASSPHRASE}",
         "-noout", "-text"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "prime256v1" in done.stdout, done.stderr


def test_files_from_cryptographys_default_encryption_still_load(tmp_path: Path) -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    legacy = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    )
    store = FileKeyStore(tmp_path, PASSPHRASE)
    store.path("legacy").write_bytes(legacy)
    assert (
        store.load("legacy").public_key_info.dump()
        == keys.PublicKeyInfo.load(
            private.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).dump()
    )


def test_a_hostile_iteration_count_is_refused_unread(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path, PASSPHRASE)
    store.generate(KeyKind.ECDSA_P256, "slow")
    info = keys.EncryptedPrivateKeyInfo.load(pem.unarmor(store.path("slow").read_bytes())[2])
    kdf = info["encryption_algorithm"]["parameters"]["key_derivation_func"]["parameters"]
    kdf["iteration_count"] = 2**31 - 1
    store.path("slow").write_bytes(pem.armor("ENCRYPTED PRIVATE KEY", info.dump(force=True)))
    with pytest.raises(KeyStoreError, match="2147483647 PBKDF2 iterations"):
        store.load("slow")
