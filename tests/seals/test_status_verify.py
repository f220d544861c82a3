"""PDF verification checks the seal a signer embeds, beside a signature of any kind
(ECDSA, SM2), and consults the seal maker's status list for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.documents.pdf.contract import ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    Attachment,
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.pki import profiles
from sealbridge.pki.names import ca_name
from sealbridge.seals import SealType, issue_seal, render_round_seal
from sealbridge.seals.registry import SealState
from sealbridge.seals.status import SealStatus, SealStatusList
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import verify_pdf
from sealbridge.verify.report.model import Indication, SignatureKind, SignatureReport
from sealbridge.verify.seal_attachment import seal_attachment_verifier
from support.pki import Signer, enterprise
from support.trust import Operator

ES_ID = "4403050000001"


@dataclass(frozen=True)
class Signed:
    pdf: bytes
    federation: Federation
    maker_certificate: x509.Certificate
    maker_key: KeyHandle
    signed_at: datetime


def _stamped(operator: Operator, firm: Signer, bound: x509.Certificate) -> Signed:
    """A contract ``firm`` signed with its seal embedded, the seal bound to ``bound``."""
    maker_key = generate_key(KeyKind.SM2)
    maker_certificate = operator.ca.issue(
        ca_name("Status Test Seal Maker", "SealBridge Test", "CN"),
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
        "合同", "Contract", [party], [("条款", "Clause")], contract_no="S-1", on=date.today()
    )
    pdf = sign_pdf(
        doc.pdf,
        PdfSignerIdentity(firm.key, firm.certificate, (operator.ca.certificate,)),
        VisibleStamp(doc.places[0], render_round_seal("深圳甲公司").png),
        PadesProfile(PadesLevel.B_B),
        attachments=[Attachment(f"{ES_ID}.esl", seal, "application/octet-stream", "seal")],
    )
    federation = Federation({"SZ": operator.trust_list()}, ())
    return Signed(pdf, federation, maker_certificate, maker_key, now)


@pytest.fixture(scope="module")
def signed() -> Signed:
    operator = Operator("SZ")
    firm = enterprise(operator.ca, "深圳甲公司", KeyKind.ECDSA_P256)
    return _stamped(operator, firm, firm.certificate)


def _seal_report(signed: Signed, *entries: SealStatus) -> SignatureReport:
    lists = (
        [
            SealStatusList(
                "Status Test Seal Maker",
                signed.maker_certificate,
                1,
                signed.signed_at + timedelta(minutes=5),
                signed.signed_at + timedelta(hours=1),
                entries,
            )
        ]
        if entries
        else []
    )
    report = verify_pdf(
        signed.pdf,
        "stamped.pdf",
        signed.federation,
        ["SZ"],
        attachment_verifier=seal_attachment_verifier(signed.federation, lists),
    )
    (seal,) = [s for s in report.signatures if s.kind is SignatureKind.SEAL]
    return seal


def _status_line(report: SignatureReport) -> str | None:
    return next((d for d in report.details if d.startswith("seal-status")), None)


def test_without_status_lists_nothing_changes(signed: Signed) -> None:
    report = _seal_report(signed)
    assert _status_line(report) is None
    assert report.indication is Indication.TOTAL_PASSED


def test_seal_revoked_before_signing_fails_as_revoked(signed: Signed) -> None:
    revoked = SealStatus(ES_ID, SealState.REVOKED, signed.signed_at - timedelta(hours=1))
    report = _seal_report(signed, revoked)
    assert report.indication is Indication.TOTAL_FAILED
    assert report.sub_indication == "REVOKED"
    assert "FAILED" in (_status_line(report) or "")
    assert all(r.recognised is False for r in report.recognition.values())


@pytest.mark.parametrize(
    "entry",
    [
        SealStatus(ES_ID, SealState.ACTIVE, datetime(2026, 1, 1, tzinfo=UTC)),
        SealStatus("4403059999999", SealState.REVOKED, datetime(2026, 1, 1, tzinfo=UTC)),
    ],
    ids=["active", "not-listed"],
)
def test_standing_or_unknown_seal_passes_the_status_step(signed: Signed, entry: SealStatus) -> None:
    report = _seal_report(signed, entry)
    assert (_status_line(report) or "").startswith("seal-status: ok")
    assert report.indication is Indication.TOTAL_PASSED


def test_seal_revoked_after_signing_still_passes(signed: Signed) -> None:
    later = SealStatus(ES_ID, SealState.LAPSED, signed.signed_at + timedelta(minutes=2))
    report = _seal_report(signed, later)
    assert "after" in (_status_line(report) or "")
    assert report.indication is Indication.TOTAL_PASSED


def _reports(signed: Signed) -> list[SignatureReport]:
    report = verify_pdf(
        signed.pdf,
        "stamped.pdf",
        signed.federation,
        ["SZ"],
        attachment_verifier=seal_attachment_verifier(signed.federation),
    )
    return list(report.signatures)


def test_the_seal_beside_an_sm2_signature_is_checked() -> None:
    """A Shenzhen firm signing with its SM2 certificate (reported as CMS) embeds its seal
    as with an ECDSA one, and the seal is checked."""
    operator = Operator("SZ")
    firm = enterprise(operator.ca, "深圳甲公司", KeyKind.SM2)
    signature, seal = _reports(_stamped(operator, firm, firm.certificate))
    assert signature.kind is SignatureKind.CMS
    assert signature.indication is Indication.TOTAL_PASSED, signature.details
    assert seal.kind is SignatureKind.SEAL
    assert seal.indication is Indication.TOTAL_PASSED, seal.details


def test_a_seal_bound_to_another_firm_fails_beside_an_sm2_signature() -> None:
    operator = Operator("SZ")
    firm = enterprise(operator.ca, "深圳甲公司", KeyKind.SM2)
    other = enterprise(operator.ca, "深圳乙公司", KeyKind.SM2)
    signature, seal = _reports(_stamped(operator, firm, other.certificate))
    assert signature.indication is Indication.TOTAL_PASSED
    assert seal.kind is SignatureKind.SEAL
    assert seal.indication is not Indication.TOTAL_PASSED
