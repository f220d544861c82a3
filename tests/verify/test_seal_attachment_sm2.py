"""A Shenzhen firm signing with its SM2 certificate embeds its GB/T 38540 seal as it does
with an ECDSA one: the seal is checked beside the SM2 signature (reported as CMS), and a
seal bound to another firm's certificate fails the binding step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.documents.pdf.contract import ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    Attachment,
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    sign_pdf,
)
from sealbridge.pki import profiles
from sealbridge.pki.names import ca_name
from sealbridge.seals import SealType, issue_seal, render_round_seal
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Indication, SignatureKind, SignatureReport
from sealbridge.verify.seal_attachment import seal_attachment_verifier
from support.pki import Signer, enterprise
from support.trust import Operator

ES_ID = "4403050000002"


@pytest.fixture(scope="module")
def operator() -> Operator:
    return Operator("SZ")


@pytest.fixture(scope="module")
def firm(operator: Operator) -> Signer:
    return enterprise(operator.ca, "深圳甲公司", KeyKind.SM2)


def _signed(operator: Operator, firm: Signer, bound: x509.Certificate) -> bytes:
    maker_key = generate_key(KeyKind.SM2)
    maker_certificate = operator.ca.issue(
        ca_name("SM2 Test Seal Maker", "SealBridge Test", "CN"),
        maker_key.public_key_info,
        profiles.SEAL_MAKER,
    )
    now = datetime.now(UTC)
    seal = issue_seal(
        maker_key,
        maker_certificate,
        es_id=ES_ID,
        seal_type=SealType.CONTRACT,
        name="深圳甲公司合同专用章",
        bound_certificates=[bound],
        picture=render_round_seal("深圳甲公司", SealType.CONTRACT.chop_text),
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=30),
    )
    party = ContractParty("甲方", "Party A", "深圳甲公司", "SZ A Co", "X", "深圳")
    doc = build_contract(
        "合同", "Contract", [party], [("条款", "Clause")], contract_no="S-2", on=date.today()
    )
    return sign_pdf(
        doc.pdf,
        PdfSignerIdentity(firm.key, firm.certificate, (operator.ca.certificate,)),
        None,
        PadesProfile(PadesLevel.B_B),
        field_name="Stamp",
        attachments=[Attachment(f"{ES_ID}.esl", seal, "application/octet-stream", "seal")],
    )


def _reports(operator: Operator, data: bytes) -> list[SignatureReport]:
    federation = Federation({"SZ": operator.trust_list()}, ())
    report = verify_pdf(
        data,
        "sm2-stamped.pdf",
        federation,
        ["SZ"],
        context=federation_context(federation, fetch=False),
        attachment_verifier=seal_attachment_verifier(federation),
    )
    return list(report.signatures)


def test_the_seal_beside_an_sm2_signature_is_checked(operator: Operator, firm: Signer) -> None:
    signature, seal = _reports(operator, _signed(operator, firm, firm.certificate))
    assert signature.kind is SignatureKind.CMS
    assert signature.indication is Indication.TOTAL_PASSED, signature.details
    assert seal.kind is SignatureKind.SEAL
    assert seal.indication is Indication.TOTAL_PASSED, seal.details


def test_a_seal_bound_to_another_firm_fails_beside_an_sm2_signature(
    operator: Operator, firm: Signer
) -> None:
    other = enterprise(operator.ca, "深圳乙公司", KeyKind.SM2)
    signature, seal = _reports(operator, _signed(operator, firm, other.certificate))
    assert signature.indication is Indication.TOTAL_PASSED
    assert seal.kind is SignatureKind.SEAL
    assert seal.indication is not Indication.TOTAL_PASSED
