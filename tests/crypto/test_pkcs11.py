"""Keys generated on a PKCS#11 token (SoftHSM2) sign certificates and PDFs, and stay there."""

from __future__ import annotations

import io
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pkcs11
import pytest
from asn1crypto import pem
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, ObjectClass
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind, signature_algorithm
from sealbridge.crypto.pkcs11 import Pkcs11Key, Pkcs11Token
from sealbridge.crypto.verify import verify_signature
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.errors import KeyStoreError, SignatureInvalid, UnsupportedAlgorithm
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from support.softhsm import SoftHsm, softhsm

TOKEN_KINDS = [KeyKind.RSA_2048, KeyKind.RSA_3072, KeyKind.ECDSA_P256, KeyKind.ECDSA_P384]
ALGORITHMS = {
    "rsa": ["sha256_rsa", "sha384_rsa", "sha512_rsa"],
    "ecdsa": ["sha256_ecdsa", "sha384_ecdsa", "sha512_ecdsa"],
}


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    return softhsm(tmp_path_factory)


@pytest.fixture(scope="module")
def token(hsm: SoftHsm) -> Iterator[Pkcs11Token]:
    with Pkcs11Token(hsm.module, hsm.token_label, hsm.user_pin) as token:
        yield token


@pytest.fixture(scope="module")
def raw_session(hsm: SoftHsm, token: Pkcs11Token) -> Iterator[pkcs11.Session]:
    """A second, read-only session: it shares ``token``'s login, as PKCS#11 sessions do."""
    with pkcs11.lib(str(hsm.module)).get_token(token_label=hsm.token_label).open() as session:
        yield session


def _label(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("kind", TOKEN_KINDS)
def test_token_key_signs_what_the_verifier_accepts(token: Pkcs11Token, kind: KeyKind) -> None:
    key = token.generate_key(kind, _label(kind.value))
    assert key.kind is kind
    # The public key read from the token is the canonical DER cryptography also produces.
    der = key.public_key_info.dump()
    loaded = serialization.load_der_public_key(der)
    assert (
        loaded.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == der
    )
    for name in ALGORITHMS[kind.family]:
        algorithm = signature_algorithm(name)
        signature = key.sign(b"contract bytes", algorithm)
        verify_signature(key.public_key_info, algorithm, b"contract bytes", signature)
        with pytest.raises(SignatureInvalid):
            verify_signature(key.public_key_info, algorithm, b"contract bytez", signature)
    default = key.default_signature_algorithm()
    verify_signature(key.public_key_info, default, b"x", key.sign(b"x", default))


def test_find_key_returns_the_generated_key(token: Pkcs11Token) -> None:
    label = _label("find")
    generated = token.generate_key(KeyKind.ECDSA_P384, label)
    found = token.find_key(label)
    assert found.kind is KeyKind.ECDSA_P384 and found.label == label
    assert found.public_key_info.dump() == generated.public_key_info.dump()
    algorithm = found.default_signature_algorithm()
    assert algorithm["algorithm"].native == "sha384_ecdsa"
    verify_signature(generated.public_key_info, algorithm, b"d", found.sign(b"d", algorithm))


def test_labels_are_unique_and_unknown_labels_are_clear(token: Pkcs11Token) -> None:
    label = _label("unique")
    token.generate_key(KeyKind.ECDSA_P256, label)
    with pytest.raises(KeyStoreError, match=f"already has a key labelled '{label}'"):
        token.generate_key(KeyKind.RSA_2048, label)
    with pytest.raises(KeyStoreError, match="no key labelled 'never-generated'"):
        token.find_key("never-generated")


@pytest.mark.parametrize("kind", [KeyKind.RSA_2048, KeyKind.ECDSA_P256])
def test_private_key_is_sensitive_and_never_extractable(
    token: Pkcs11Token, raw_session: pkcs11.Session, kind: KeyKind
) -> None:
    label = _label("sensitive")
    token.generate_key(kind, label)
    private = raw_session.get_key(ObjectClass.PRIVATE_KEY, label=label)
    assert private[Attribute.EXTRACTABLE] is False
    assert private[Attribute.SENSITIVE] is True
    assert private[Attribute.NEVER_EXTRACTABLE] is True
    assert private[Attribute.ALWAYS_SENSITIVE] is True
    assert private[Attribute.LOCAL] is True  # generated on the token, not imported
    assert private[Attribute.TOKEN] is True and private[Attribute.PRIVATE] is True
    assert private[Attribute.SIGN] is True and private[Attribute.DECRYPT] is False
    secret = Attribute.PRIVATE_EXPONENT if kind.family == "rsa" else Attribute.VALUE
    with pytest.raises(pkcs11.AttributeSensitive):
        private[secret]


def test_sm2_is_refused_with_the_reason(token: Pkcs11Token) -> None:
    with pytest.raises(UnsupportedAlgorithm, match="SoftHSM2 implements none"):
        token.generate_key(KeyKind.SM2, _label("sm2"))


def test_foreign_algorithms_are_refused(token: Pkcs11Token) -> None:
    rsa_key = token.generate_key(KeyKind.RSA_2048, _label("rsa-foreign"))
    ec_key = token.generate_key(KeyKind.ECDSA_P256, _label("ec-foreign"))
    for key, name in [
        (rsa_key, "sha256_ecdsa"),
        (rsa_key, "sha1_rsa"),
        (ec_key, "sha256_rsa"),
        (ec_key, "sm2_sm3"),
    ]:
        with pytest.raises(UnsupportedAlgorithm, match=name):
            key.sign(b"x", signature_algorithm(name))


def test_concurrent_signing_shares_one_session_safely(token: Pkcs11Token) -> None:
    keys = [
        token.generate_key(KeyKind.ECDSA_P256, _label("threads-ec")),
        token.generate_key(KeyKind.RSA_2048, _label("threads-rsa")),
    ]

    def sign(index: int) -> tuple[Pkcs11Key, bytes, bytes]:
        key = keys[index % 2]
        data = f"document {index}".encode()
        return key, data, key.sign(data, key.default_signature_algorithm())

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(sign, range(48)))
    for key, data, signature in results:
        verify_signature(key.public_key_info, key.default_signature_algorithm(), data, signature)


def test_open_errors_name_what_is_wrong(hsm: SoftHsm, token: Pkcs11Token) -> None:
    with pytest.raises(KeyStoreError, match="wrong user PIN for token 'sealbridge-spare'"):
        Pkcs11Token(hsm.module, hsm.spare_token_label, "00000000").open()
    with pytest.raises(KeyStoreError, match="no token labelled 'absent-token'"):
        Pkcs11Token(hsm.module, "absent-token", hsm.user_pin).open()
    missing = "/nonexistent/libpkcs11-module.so"
    with pytest.raises(KeyStoreError, match=f"PKCS#11 module {missing} cannot be loaded"):
        Pkcs11Token(missing, hsm.token_label, hsm.user_pin).open()
    with pytest.raises(KeyStoreError, match="already logged in by this process"):
        Pkcs11Token(hsm.module, hsm.token_label, hsm.user_pin).open()


def test_keys_stop_working_when_their_token_closes(hsm: SoftHsm) -> None:
    with Pkcs11Token(hsm.module, hsm.spare_token_label, hsm.user_pin) as spare:
        key = spare.generate_key(KeyKind.ECDSA_P256, _label("closing"))
        key.sign(b"x", key.default_signature_algorithm())
    with pytest.raises(KeyStoreError, match="'sealbridge-spare' is not open"):
        key.sign(b"x", key.default_signature_algorithm())
    with spare:  # reopened: keys found again work, keys from the old session stay closed
        again = spare.find_key(key.label)
        again.sign(b"x", again.default_signature_algorithm())
        with pytest.raises(KeyStoreError, match="is not open"):
            key.sign(b"x", key.default_signature_algorithm())


def _pem(path: Path, der: bytes) -> Path:
    path.write_bytes(pem.armor("CERTIFICATE", der))
    return path


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
@pytest.mark.parametrize(
    ("ca_kind", "leaf_kind"),
    [(KeyKind.ECDSA_P384, KeyKind.RSA_2048), (KeyKind.RSA_3072, KeyKind.ECDSA_P256)],
)
def test_ca_on_token_issues_what_openssl_verifies(
    token: Pkcs11Token, tmp_path: Path, ca_kind: KeyKind, leaf_kind: KeyKind
) -> None:
    ca_key = token.generate_key(ca_kind, _label("root-ca"))
    ca = CertificateAuthority.create_root(
        ca_name("Token Demo Root", "SealBridge Test", "CN"), ca_key
    )
    leaf_key = token.generate_key(leaf_kind, _label("enterprise"))
    cert = ca.issue(
        enterprise_name("深圳市示例科技有限公司", "NTRCN-91350100M000100Y43", "CN"),
        leaf_key.public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    assert cert.public_key.dump() == leaf_key.public_key_info.dump()
    verify_signature(
        ca_key.public_key_info,
        cert["signature_algorithm"],
        cert["tbs_certificate"].dump(),
        bytes(cert["signature_value"]),
    )
    root = _pem(tmp_path / "root.pem", ca.certificate.dump())
    leaf = _pem(tmp_path / "leaf.pem", cert.dump())
    result = subprocess.run(
        ["openssl", "verify", "-check_ss_sig", "-CAfile", str(root), str(leaf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("OK")


@pytest.mark.parametrize("kind", [KeyKind.RSA_2048, KeyKind.ECDSA_P256])
def test_pdf_signed_with_token_key_validates(
    token: Pkcs11Token, tmp_path: Path, kind: KeyKind
) -> None:
    ca = CertificateAuthority.create_root(
        ca_name("Token PDF Root", "SealBridge Test", "CN"),
        token.generate_key(KeyKind.ECDSA_P384, _label("pdf-ca")),
    )
    key = token.generate_key(kind, _label("pdf-signer"))
    cert = ca.issue(
        enterprise_name("HK Demo Trading Ltd", "NTRHK-12345678", "HK"),
        key.public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    contract = build_contract(
        "采购合同",
        "Purchase Contract",
        [ContractParty("甲方", "Party A", "香港示範貿易有限公司", "HK Demo Trading", "X", "香港")],
        [("甲方供货。", "Party A supplies goods.")],
        contract_no="T-PKCS11",
        on=date(2026, 11, 25),
    )
    place = contract.places[0]
    picture = render_signature_block(
        ["签署 Signed", "HSM"], place.box[2] - place.box[0], place.box[3] - place.box[1]
    )
    signed = sign_pdf(
        contract.pdf,
        PdfSignerIdentity(key, cert, (ca.certificate,)),
        VisibleStamp(place, picture),
        PadesProfile(PadesLevel.B_B),
    )
    (sig,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[ca.certificate]))
    assert status.intact and status.valid and status.trusted, status.summary()
    if shutil.which("pdfsig") is None:
        pytest.skip("poppler-utils (pdfsig) not installed: validated in pyHanko only")
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    assert "Signature Validation: Signature is Valid." in out, out
