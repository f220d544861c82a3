"""Issuing from PKCS#10 requests made by OpenSSL: RSA, ECDSA and SM2."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import pem
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.errors import MalformedInput, SignatureInvalid
from sealbridge.pki import profiles
from sealbridge.pki.csr import load_csr
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")

KEYGEN = {
    "rsa": ["openssl", "genrsa", "-out", "key.pem", "2048"],
    "ecdsa": ["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-out", "key.pem"],
    "sm2": ["openssl", "ecparam", "-genkey", "-name", "SM2", "-out", "key.pem"],
}
SM2_ID = ["-sm3", "-sigopt", "distid:1234567812345678"]


def _csr(tmp: Path, kind: str, extra: list[str]) -> bytes:
    subprocess.run(KEYGEN[kind], cwd=tmp, check=True, capture_output=True)
    subprocess.run(
        [
            "openssl",
            "req",
            "-new",
            "-key",
            "key.pem",
            "-subj",
            "/C=CN/O=深圳示例/CN=Demo Signer",
            "-utf8",
            "-out",
            "req.pem",
            *extra,
        ],
        cwd=tmp,
        check=True,
        capture_output=True,
    )
    return (tmp / "req.pem").read_bytes()


@pytest.mark.parametrize(
    ("kind", "extra", "ca_kind"),
    [
        ("rsa", [], KeyKind.RSA_2048),
        ("ecdsa", [], KeyKind.ECDSA_P256),
        ("sm2", SM2_ID, KeyKind.SM2),
    ],
)
def test_issue_from_openssl_request(
    tmp_path: Path, kind: str, extra: list[str], ca_kind: KeyKind
) -> None:
    request = load_csr(_csr(tmp_path, kind, extra))
    assert request.subject.native["common_name"] == "Demo Signer"
    ca = CertificateAuthority.create_root(
        ca_name("CSR Demo CA", "SealBridge Demo", "CN"), generate_key(ca_kind)
    )
    cert = ca.issue(request.subject, request.public_key, profiles.ENTERPRISE_SIGNATURE)
    (tmp_path / "ca.pem").write_bytes(pem.armor("CERTIFICATE", ca.certificate.dump()))
    (tmp_path / "cert.pem").write_bytes(pem.armor("CERTIFICATE", cert.dump()))
    options = ["-vfyopt", "distid:1234567812345678"] if kind == "sm2" else []
    verified = subprocess.run(
        ["openssl", "verify", *options, "-CAfile", "ca.pem", "cert.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    # The certificate certifies the requester's key, which still matches its private key.
    pub = subprocess.run(
        ["openssl", "x509", "-in", "cert.pem", "-noout", "-pubkey"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    own = subprocess.run(
        ["openssl", "pkey", "-in", "key.pem", "-pubout"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert pub == own


def test_sm2_request_without_the_standard_user_id_is_refused(tmp_path: Path) -> None:
    data = _csr(tmp_path, "sm2", ["-sm3"])
    with pytest.raises(SignatureInvalid, match="distid:1234567812345678"):
        load_csr(data)


def test_tampered_request_fails_proof_of_possession(tmp_path: Path) -> None:
    der = bytearray(pem.unarmor(_csr(tmp_path, "ecdsa", []))[2])
    index = der.index(b"Demo Signer")
    der[index] ^= 0x01
    with pytest.raises(SignatureInvalid, match="proof of possession"):
        load_csr(bytes(der))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_are_malformed(data: bytes) -> None:
    with pytest.raises((MalformedInput, SignatureInvalid)):
        load_csr(data)
