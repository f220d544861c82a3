"""Remote signing: prepare on the server, sign on the token, finish on the server.

The key used to make the signature value is never given to ``start_signing`` or
``finish_signing``; the state between them goes through JSON, as it would through a
browser.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import gmssl_pyx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import SM2Key, SoftwareKey
from sealbridge.crypto.sm2 import SM2PrivateKey
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract
from sealbridge.documents.pdf.interrupted import (
    PendingSignature,
    SignatureValueRefused,
    finish_signing,
    start_signing,
)
from sealbridge.documents.pdf.sign import PadesLevel, PadesProfile, PdfSigningError, VisibleStamp
from sealbridge.errors import MalformedInput
from sealbridge.pki import profiles
from sealbridge.pki.names import enterprise_name
from support.pki import Signer, demo_ca, enterprise

POPPLER = shutil.which("pdfsig") is not None
B_B = PadesProfile(PadesLevel.B_B)
MAC_KEY = b"server-side secret for pending states"


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return build_contract(
        "远程签署合同",
        "Remotely Signed Contract",
        [ContractParty("甲方", "Party A", "香港示範貿易有限公司", "HK Demo", "Y", "香港")],
        [("条款", "Clause")],
        contract_no="R-1",
        on=date(2026, 11, 25),
    )


@pytest.fixture(scope="module")
def token() -> Signer:
    """A key standing for a USB token: only its certificate reaches the server."""
    return enterprise(demo_ca("HK", KeyKind.ECDSA_P256), "HK Demo Trading Ltd", KeyKind.ECDSA_P256)


def _stamp(doc: ContractDocument) -> VisibleStamp:
    box = doc.places[0].box
    picture = render_signature_block(["Signed remotely"], box[2] - box[0], box[3] - box[1])
    return VisibleStamp(doc.places[0], picture)


def _round_trip(doc: ContractDocument, token: Signer) -> tuple[PendingSignature, bytes]:
    pending = start_signing(doc.pdf, token.certificate, (token.ca.certificate,), _stamp(doc), B_B)
    browser = pending.to_json(MAC_KEY)  # what the server keeps or sends out
    value = token.key.sign(pending.attributes, token.key.default_signature_algorithm())
    back = PendingSignature.from_json(browser, MAC_KEY)
    return back, finish_signing(back, value)


def test_round_trip_validates_in_pyhanko(contract: ContractDocument, token: Signer) -> None:
    _, signed = _round_trip(contract, token)
    (sig,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[token.ca.certificate]))
    assert status.intact and status.valid and status.trusted, status.summary()
    assert sig.field_name == "Party1"


@pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdfsig) not installed")
def test_round_trip_validates_in_pdfsig(
    contract: ContractDocument, token: Signer, tmp_path: Path
) -> None:
    path = tmp_path / "remote.pdf"
    path.write_bytes(_round_trip(contract, token)[1])
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature Validation: Signature is Valid." in out
    assert "Total document signed" in out


def test_token_that_signs_a_digest_and_returns_r_s(contract: ContractDocument) -> None:
    """PKCS#11 tokens sign a prehashed digest and answer raw r || s."""
    private = ec.generate_private_key(ec.SECP256R1())
    ca = demo_ca("SZ", KeyKind.ECDSA_P256)
    key = SoftwareKey(private, KeyKind.ECDSA_P256)
    cert = ca.issue(
        enterprise_name("Token Holder Ltd", "NTRCN-1", "CN"),
        key.public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    pending = start_signing(contract.pdf, cert, (ca.certificate,), _stamp(contract), B_B)
    der = private.sign(pending.digest_to_sign, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    r, s = utils.decode_dss_signature(der)
    signed = finish_signing(pending, r.to_bytes(32, "big") + s.to_bytes(32, "big"))
    (sig,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[ca.certificate]))
    assert status.intact and status.valid, status.summary()


def test_sm2_token_signs_the_z_a_digest(contract: ContractDocument) -> None:
    """SM2 tokens (SKF) sign e = SM3(Z_A || M); the digest we hand out must be that e."""
    public, private = gmssl_pyx.sm2_key_generate()
    ca = demo_ca("SZ", KeyKind.SM2)
    cert = ca.issue(
        enterprise_name("SM2 Token Holder", "NTRCN-2", "CN"),
        SM2Key(SM2PrivateKey(private, public)).public_key_info,
        profiles.ENTERPRISE_SIGNATURE,
    )
    pending = start_signing(contract.pdf, cert, (ca.certificate,), _stamp(contract), B_B)
    assert pending.spec.digest_algorithm == "sm3"
    value = bytes(gmssl_pyx.sm2_sign_sm3_digest(private, pending.digest_to_sign))
    signed = finish_signing(pending, value)  # checked with Z_A by finish_signing itself
    assert len(PdfFileReader(io.BytesIO(signed)).embedded_signatures) == 1


def test_forged_value_is_refused(contract: ContractDocument, token: Signer) -> None:
    pending = start_signing(
        contract.pdf, token.certificate, (token.ca.certificate,), _stamp(contract), B_B
    )
    impostor = enterprise(token.ca, "Impostor Ltd", KeyKind.ECDSA_P256)
    forged = impostor.key.sign(pending.attributes, impostor.key.default_signature_algorithm())
    with pytest.raises(SignatureValueRefused, match="does not verify with the signer"):
        finish_signing(pending, forged)
    with pytest.raises(SignatureValueRefused):
        finish_signing(pending, b"\x01\x02\x03")


def test_altered_state_is_refused(contract: ContractDocument, token: Signer) -> None:
    pending = start_signing(
        contract.pdf, token.certificate, (token.ca.certificate,), _stamp(contract), B_B
    )
    body = json.loads(pending.to_json(MAC_KEY))
    body["timestamped"] = True
    with pytest.raises(MalformedInput, match="MAC does not match"):
        PendingSignature.from_json(json.dumps(body), MAC_KEY)
    # Without a MAC the state must still agree with itself: another PDF is refused.
    unsealed = json.loads(pending.to_json())
    other = start_signing(
        contract.pdf + b"\n% other\n", token.certificate, (), _stamp(contract), B_B
    ).to_json()
    unsealed["pdf"] = json.loads(other)["pdf"]
    value = token.key.sign(pending.attributes, token.key.default_signature_algorithm())
    with pytest.raises(MalformedInput, match="pending signature"):
        finish_signing(PendingSignature.from_json(json.dumps(unsealed)), value)


@pytest.mark.parametrize("text", ["", "{}", "[1]", '{"format": "sealbridge.pending-signature/1"}'])
def test_unreadable_state_is_malformed_input(text: str) -> None:
    with pytest.raises(MalformedInput, match="malformed pending signature"):
        PendingSignature.from_json(text)


def test_b_t_needs_a_timestamper_to_finish(contract: ContractDocument, token: Signer) -> None:
    pending = start_signing(
        contract.pdf,
        token.certificate,
        (token.ca.certificate,),
        _stamp(contract),
        PadesProfile(PadesLevel.B_T),
    )
    value = token.key.sign(pending.attributes, token.key.default_signature_algorithm())
    with pytest.raises(PdfSigningError, match="timestamp authority"):
        finish_signing(pending, value)
