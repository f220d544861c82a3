"""Certificate signatures checked through ``NATIONAL_SIGNATURES``: SM2 by our own code,
everything else by certvalidator's, and an SM2 payload handed over pre-hashed refused as
uncheckable rather than judged invalid."""

from __future__ import annotations

import pytest
from asn1crypto import x509
from cryptography.exceptions import InvalidSignature
from pyhanko_certvalidator.errors import AlgorithmNotSupported
from pyhanko_certvalidator.sig_validate import SignatureValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.verify.chain import NATIONAL_SIGNATURES
from support.pki import demo_ca, enterprise


def _issued(kind: KeyKind) -> tuple[x509.Certificate, x509.Certificate]:
    ca = demo_ca("SZ", kind)
    return enterprise(ca, "深圳市示例科技有限公司", kind).certificate, ca.certificate


@pytest.mark.parametrize("kind", [KeyKind.SM2, KeyKind.ECDSA_P256, KeyKind.RSA_2048])
def test_an_issued_certificate_verifies_and_a_changed_one_does_not(kind: KeyKind) -> None:
    cert, issuer = _issued(kind)
    tbs = cert["tbs_certificate"].dump()
    NATIONAL_SIGNATURES.validate_signature(
        cert.signature, tbs, issuer.public_key, cert["signature_algorithm"]
    )
    changed = tbs[:-1] + bytes([tbs[-1] ^ 1])
    with pytest.raises(InvalidSignature):
        NATIONAL_SIGNATURES.validate_signature(
            cert.signature, changed, issuer.public_key, cert["signature_algorithm"]
        )


def test_a_pre_hashed_sm2_payload_is_not_supported_rather_than_invalid() -> None:
    cert, issuer = _issued(KeyKind.SM2)
    with pytest.raises(AlgorithmNotSupported, match="SM2 signature cannot be checked"):
        NATIONAL_SIGNATURES.validate_signature(
            cert.signature,
            cert["tbs_certificate"].dump(),
            issuer.public_key,
            cert["signature_algorithm"],
            SignatureValidationContext(contextual_md_algorithm="sm3", prehashed=True),
        )
