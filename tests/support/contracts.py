"""The two-party contract most document tests sign, a signature-block stamp for it, and
a one-party contract signed once."""

from __future__ import annotations

from datetime import date

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.trust.view import Federation
from support.pki import enterprise
from support.trust import Operator

PARTY_A = ContractParty("甲方", "Party A", "深圳甲公司", "SZ A Co", "X", "深圳")
PARTY_B = ContractParty("乙方", "Party B", "香港乙公司", "HK B Co", "Y", "香港")


def two_party_contract(number: str) -> ContractDocument:
    return build_contract(
        "合同",
        "Contract",
        [PARTY_A, PARTY_B],
        [("条款", "Clause")],
        contract_no=number,
        on=date(2026, 1, 1),
    )


def block_stamp(doc: ContractDocument, index: int) -> VisibleStamp:
    """A plain "Signed" block filling the contract's ``index``-th signing place."""
    box = doc.places[index].box
    picture = render_signature_block(["Signed"], box[2] - box[0], box[3] - box[1])
    return VisibleStamp(doc.places[index], picture)


def one_party_signed(number: str, field_name: str) -> tuple[bytes, Federation]:
    """A one-party contract signed B-B by a Shenzhen firm, and a federation that trusts
    its CA: the honest file that robustness tests mangle."""
    pdf = build_contract(
        "合同", "Contract", [PARTY_A], [("条款", "Clause")], contract_no=number, on=date(2026, 1, 1)
    ).pdf
    return signed_once(pdf, field_name)


def signed_once(pdf: bytes, field_name: str) -> tuple[bytes, Federation]:
    """``pdf`` signed B-B in a new field by a Shenzhen firm, and a federation that
    trusts its CA."""
    operator = Operator("SZ")
    signer = enterprise(operator.ca, PARTY_A.name_zh, KeyKind.ECDSA_P256)
    data = sign_pdf(
        pdf,
        PdfSignerIdentity(signer.key, signer.certificate, (operator.ca.certificate,)),
        None,
        PadesProfile(PadesLevel.B_B),
        field_name=field_name,
    )
    return data, Federation({"SZ": operator.trust_list()}, ())
