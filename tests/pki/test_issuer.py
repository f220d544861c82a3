"""Certificates we issue are accepted by OpenSSL, SM2 included."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import pem

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.crypto.verify import verify_signature
from sealbridge.pki import profiles
from sealbridge.pki.issuer import AuthorityUrls, CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


def _pem(path: Path, der: bytes) -> Path:
    path.write_bytes(pem.armor("CERTIFICATE", der))
    return path


@pytest.mark.parametrize("kind", [KeyKind.ECDSA_P256, KeyKind.RSA_2048, KeyKind.SM2])
def test_openssl_verifies_chain(tmp_path: Path, kind: KeyKind) -> None:
    ca = CertificateAuthority.create_root(
        ca_name("Test Demo Root", "SealBridge Demo", "CN"),
        generate_key(kind),
        urls=AuthorityUrls(ocsp="http://127.0.0.1:9/ocsp", crl="http://127.0.0.1:9/crl"),
    )
    cert = ca.issue(
        enterprise_name("深圳市示例科技有限公司", "NTRCN-91350100M000100Y43", "CN"),
        generate_key(kind).public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    root = _pem(tmp_path / "root.pem", ca.certificate.dump())
    leaf = _pem(tmp_path / "leaf.pem", cert.dump())
    # GM/T 0015 signs SM2 certificates with the default user ID; OpenSSL 3.0 must be told
    # (-vfyopt), and cannot be told for a root's self-signature, which we check ourselves.
    if kind is KeyKind.SM2:
        options = ["-vfyopt", "distid:1234567812345678"]
        tbs = ca.certificate["tbs_certificate"]
        verify_signature(
            ca.certificate.public_key,
            ca.certificate["signature_algorithm"],
            tbs.dump(),
            bytes(ca.certificate["signature_value"]),
        )
    else:
        options = ["-check_ss_sig"]
    result = subprocess.run(
        ["openssl", "verify", *options, "-CAfile", str(root), str(leaf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("OK")
    text = subprocess.run(
        ["openssl", "x509", "-in", str(leaf), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert profiles.MUTUAL_RECOGNITION_POLICY in text
    assert "OCSP - URI:http://127.0.0.1:9/ocsp" in text
    assert "Digital Signature, Non Repudiation" in text
    assert "CA:FALSE" in text


def test_serials_are_random_and_long() -> None:
    ca = CertificateAuthority.create_root(
        ca_name("Serial Demo Root", "SealBridge Demo", "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    key = generate_key(KeyKind.ECDSA_P256).public_key_info
    serials = {
        ca.issue(ca_name(f"e{i}", "o", "CN"), key, profiles.INDIVIDUAL).serial_number
        for i in range(20)
    }
    assert len(serials) == 20
    assert all(s.bit_length() >= 64 for s in serials)


def test_end_entity_never_outlives_its_ca() -> None:
    ca = CertificateAuthority.create_root(
        ca_name("Short Demo Root", "SealBridge Demo", "CN"),
        generate_key(KeyKind.ECDSA_P256),
        profile=profiles.CertificateProfile(
            name="short-root",
            validity=profiles.ROOT_CA.validity / 10,
            key_usage=profiles.ROOT_CA.key_usage,
            is_ca=True,
            path_length=0,
            revocation_pointers=False,
        ),
    )
    cert = ca.issue(
        ca_name("e", "o", "CN"),
        generate_key(KeyKind.ECDSA_P256).public_key_info,
        profiles.CertificateProfile(
            name="long",
            validity=profiles.ROOT_CA.validity,
            key_usage=frozenset({"digital_signature"}),
        ),
    )
    assert cert.not_valid_after <= ca.certificate.not_valid_after
