"""Name and policy constraints on issuing CAs, as openssl and pyhanko-certvalidator read them."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from asn1crypto import pem, x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathValidationError

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name

OPENSSL = shutil.which("openssl")
HK_ONLY = replace(
    profiles.SUB_CA, name_constraints=profiles.NameConstraints(permitted_countries=("HK",))
)


@pytest.fixture(scope="module")
def chain() -> tuple[CertificateAuthority, CertificateAuthority]:
    root = CertificateAuthority.create_root(
        ca_name("HK Root CA", "SealBridge Test", "HK"), generate_key(KeyKind.ECDSA_P256)
    )
    key = generate_key(KeyKind.ECDSA_P256)
    sub_cert = root.issue(
        ca_name("HK Issuing CA", "SealBridge Test", "HK"), key.public_key_info, HK_ONLY
    )
    return root, CertificateAuthority(certificate=sub_cert, key=key)


def _leaf(sub: CertificateAuthority, country: str) -> x509.Certificate:
    return sub.issue(
        enterprise_name("Some Firm", "12345678", country),
        generate_key(KeyKind.ECDSA_P256).public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )


def test_sub_ca_carries_critical_constraints(chain: tuple[CertificateAuthority, ...]) -> None:
    sub = chain[1].certificate
    critical = {
        e["extn_id"].native for e in sub["tbs_certificate"]["extensions"] if e["critical"].native
    }
    assert {"name_constraints", "policy_constraints", "inhibit_any_policy"} <= critical
    assert sub.basic_constraints_value["path_len_constraint"].native == 0


def _certvalidator_accepts(
    root: x509.Certificate, sub: x509.Certificate, leaf: x509.Certificate
) -> bool:
    context = ValidationContext(trust_roots=[root], other_certs=[sub], revocation_mode="soft-fail")
    try:
        asyncio.run(
            CertificateValidator(leaf, validation_context=context).async_validate_usage(set())
        )
    except PathValidationError:
        return False
    return True


@pytest.mark.parametrize(("country", "allowed"), [("HK", True), ("CN", False)])
def test_name_constraints_in_certvalidator(
    chain: tuple[CertificateAuthority, CertificateAuthority], country: str, allowed: bool
) -> None:
    root, sub = chain
    assert _certvalidator_accepts(root.certificate, sub.certificate, _leaf(sub, country)) is allowed


@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
@pytest.mark.parametrize(("country", "allowed"), [("HK", True), ("CN", False)])
def test_name_constraints_in_openssl(
    chain: tuple[CertificateAuthority, CertificateAuthority],
    country: str,
    allowed: bool,
    tmp_path: Path,
) -> None:
    root, sub = chain
    files = {
        "root.pem": root.certificate,
        "sub.pem": sub.certificate,
        "leaf.pem": _leaf(sub, country),
    }
    for name, cert in files.items():
        (tmp_path / name).write_bytes(pem.armor("CERTIFICATE", cert.dump()))
    done = subprocess.run(
        [
            str(OPENSSL),
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "sub.pem",
            "-policy",
            profiles.MUTUAL_RECOGNITION_POLICY,
            "-explicit_policy",
            "leaf.pem",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode == 0) is allowed, done.stdout + done.stderr
    if not allowed:
        assert "subtree" in (done.stdout + done.stderr).lower()
