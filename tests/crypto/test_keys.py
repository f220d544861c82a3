"""Key handles sign, and the verifier accepts exactly what they signed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable

import pytest

from sealbridge.crypto.algorithms import KeyKind, signature_algorithm, sm3
from sealbridge.crypto.keys import generate_key
from sealbridge.crypto.verify import verify_digest, verify_signature
from sealbridge.errors import SignatureInvalid, UnsupportedAlgorithm


@pytest.mark.parametrize("kind", list(KeyKind))
def test_signature_round_trip_and_tamper(kind: KeyKind) -> None:
    key = generate_key(kind)
    algorithm = key.default_signature_algorithm()
    signature = key.sign(b"contract bytes", algorithm)
    verify_signature(key.public_key_info, algorithm, b"contract bytes", signature)
    with pytest.raises(SignatureInvalid):
        verify_signature(key.public_key_info, algorithm, b"contract bytez", signature)


@pytest.mark.parametrize("kind", [k for k in KeyKind if k is not KeyKind.SM2])
def test_a_signature_verifies_over_the_digest_of_what_it_signed(kind: KeyKind) -> None:
    """The same value, checked against a digest computed already (a CMS signer without
    signed attributes signs the content's digest): the data's digest passes, another's
    does not."""
    key = generate_key(kind)
    algorithm = key.default_signature_algorithm()
    signature = key.sign(b"contract bytes", algorithm)

    def digest_of(data: bytes) -> Callable[[str], bytes]:
        return lambda name: hashlib.new(name, data).digest()

    verify_digest(key.public_key_info, algorithm, digest_of(b"contract bytes"), signature)
    with pytest.raises(SignatureInvalid):
        verify_digest(key.public_key_info, algorithm, digest_of(b"contract bytez"), signature)


def test_an_sm2_signature_is_not_checked_against_a_digest() -> None:
    key = generate_key(KeyKind.SM2)
    algorithm = key.default_signature_algorithm()
    signature = key.sign(b"x", algorithm)
    with pytest.raises(UnsupportedAlgorithm, match="needs the data"):
        verify_digest(key.public_key_info, algorithm, lambda name: b"\0" * 32, signature)


def test_sm2_signature_does_not_verify_under_other_key() -> None:
    a, b = generate_key(KeyKind.SM2), generate_key(KeyKind.SM2)
    signature = a.sign(b"x", a.default_signature_algorithm())
    with pytest.raises(SignatureInvalid):
        verify_signature(b.public_key_info, b.default_signature_algorithm(), b"x", signature)


def test_key_refuses_foreign_algorithm() -> None:
    with pytest.raises(UnsupportedAlgorithm):
        generate_key(KeyKind.ECDSA_P256).sign(b"x", signature_algorithm("sha256_rsa"))
    with pytest.raises(UnsupportedAlgorithm):
        generate_key(KeyKind.SM2).sign(b"x", signature_algorithm("sha256_ecdsa"))


def test_sm3_standard_vector() -> None:
    # GB/T 32905-2016, appendix A, example 1.
    assert sm3(b"abc").hex() == ("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")


def test_pdf_mac_attribute_parses_whatever_the_import_order() -> None:
    """pyHanko registers ISO 32004's attribute lazily and, if asn1crypto's maps were built
    first, wrongly; signing an encrypted PDF then failed depending on test order."""
    script = (
        "from asn1crypto import cms\n"
        "cms.CMSAttributeType('message_digest').dump()\n"
        "import sealbridge.crypto.algorithms\n"
        "from pyhanko.pdf_utils.crypt import pdfmac\n"
        "print(cms.CMSAttributeType('1.0.32004.1.2').native)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "pdf_mac_data", done.stderr
