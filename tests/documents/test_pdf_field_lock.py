"""FieldMDP: a signer locks form fields; pyHanko (not our code) sees a later change to a
locked field as a violation, and the same change to an unlocked field as form filling."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.contract import ContractDocument
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    sign_pdf,
)
from sealbridge.trust.model import (
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import federation_context, verify_pdf
from support.contracts import block_stamp, two_party_contract
from support.pki import Signer, demo_ca, enterprise
from verify import attacks

AMOUNT_BOX = (300.0, 400.0, 540.0, 424.0)
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return two_party_contract("L-1")


@pytest.fixture(scope="module")
def signer() -> Signer:
    return enterprise(demo_ca("SZ", KeyKind.ECDSA_P256), "深圳甲公司", KeyKind.ECDSA_P256)


def _signed(doc: ContractDocument, signer: Signer, lock: tuple[str, ...] | None) -> bytes:
    base = attacks.add_text_field(doc.pdf, "Amount", "100 EUR", AMOUNT_BOX)
    return sign_pdf(
        base,
        PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,)),
        block_stamp(doc, 0),
        PadesProfile(PadesLevel.B_B, lock_fields=lock),
    )


def _first_signature_after_amount_change(data: bytes, signer: Signer) -> ModificationLevel:
    changed = attacks.replace_field(data, "Amount", "1000000 EUR")
    sig = PdfFileReader(io.BytesIO(changed)).embedded_signatures[0]
    status = validate_pdf_signature(sig, ValidationContext(trust_roots=[signer.ca.certificate]))
    assert status.intact and status.valid
    level = status.modification_level
    assert level is not None
    return level


def test_the_lock_is_in_the_field_and_the_signature(
    contract: ContractDocument, signer: Signer
) -> None:
    data = _signed(contract, signer, ("Amount",))
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    assert sig.fieldmdp is not None and sig.fieldmdp.fields == ["Amount"]
    assert sig.sig_field["/Lock"]["/Action"] == "/Include"


def test_changing_a_locked_field_is_a_violation_for_pyhanko(
    contract: ContractDocument, signer: Signer
) -> None:
    locked = _first_signature_after_amount_change(_signed(contract, signer, ("Amount",)), signer)
    unlocked = _first_signature_after_amount_change(_signed(contract, signer, None), signer)
    assert unlocked is ModificationLevel.FORM_FILLING
    assert locked is ModificationLevel.OTHER


def _our_verdict(data: bytes, signer: Signer) -> tuple[bool, str | None]:
    federation = Federation({"SZ": _trust_list(signer)}, ())
    report = verify_pdf(
        data, "x.pdf", federation, ["SZ"], context=federation_context(federation, fetch=False)
    )
    first = report.signatures[0]
    return first.modified_after_signing, first.sub_indication


def _trust_list(signer: Signer) -> TrustList:
    return TrustList(
        territory="SZ",
        operator="SZ operator",
        sequence_number=1,
        issued=NOW,
        next_update=NOW + timedelta(days=30),
        providers=(
            TrustServiceProvider(
                "SZ",
                (
                    TrustService(
                        name="SZ CA",
                        service_type=ServiceType.CA_E_SIGNATURE,
                        certificate=signer.ca.certificate,
                        history=(StatusChange(ServiceStatus.GRANTED, NOW - timedelta(days=1)),),
                    ),
                ),
            ),
        ),
    )


def test_our_verifier_enforces_the_lock(contract: ContractDocument, signer: Signer) -> None:
    locked = attacks.replace_field(_signed(contract, signer, ("Amount",)), "Amount", "1M EUR")
    unlocked = attacks.replace_field(_signed(contract, signer, None), "Amount", "1M EUR")
    assert _our_verdict(locked, signer) == (True, "SIG_CONSTRAINTS_FAILURE")
    assert _our_verdict(unlocked, signer)[0] is False


def test_a_locked_signature_field_cannot_be_signed_later(
    contract: ContractDocument, signer: Signer
) -> None:
    other = enterprise(signer.ca, "香港乙公司", KeyKind.ECDSA_P256)
    identity = PdfSignerIdentity(other.key, other.certificate, (signer.ca.certificate,))
    second = block_stamp(contract, 1)
    for lock, broken in ((("Party2",), True), (("Amount",), False)):
        both = sign_pdf(
            _signed(contract, signer, lock), identity, second, PadesProfile(PadesLevel.B_B)
        )
        assert _our_verdict(both, signer)[0] is broken, lock
