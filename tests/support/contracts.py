"""The two-party contract most document tests sign, and a signature-block stamp for it."""

from __future__ import annotations

from datetime import date

from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract
from sealbridge.documents.pdf.sign import VisibleStamp

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
