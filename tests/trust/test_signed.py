"""Signed trust lists and agreements: accepted when intact, rejected with a reason."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sealbridge.errors import TrustError
from sealbridge.trust.signed import (
    agreement_payload,
    load_agreement,
    load_trust_list,
    sign_document,
    trust_list_payload,
)
from support.trust import NOW, Operator, agreement


def _signed_list(op: Operator, sequence: int = 1) -> bytes:
    return sign_document(trust_list_payload(op.trust_list(sequence)), [(op.key, op.certificate)])


def test_round_trip(operators: dict[str, Operator]) -> None:
    op = operators["SZ"]
    tl = load_trust_list(_signed_list(op), op.certificate, now=NOW)
    assert trust_list_payload(tl) == trust_list_payload(op.trust_list())
    assert tl.services()[0].certificate.dump() == op.ca.certificate.dump()


def test_tampered_list_is_rejected(operators: dict[str, Operator]) -> None:
    op = operators["SZ"]
    envelope = json.loads(_signed_list(op))
    envelope["payload"]["operator"] = "Mallory"
    with pytest.raises(TrustError, match="does not verify"):
        load_trust_list(json.dumps(envelope).encode(), op.certificate, now=NOW)


def test_list_signed_by_someone_else_is_rejected(operators: dict[str, Operator]) -> None:
    with pytest.raises(TrustError, match="not signed by"):
        load_trust_list(_signed_list(operators["MO"]), operators["SZ"].certificate, now=NOW)


def test_expired_list_is_rejected(operators: dict[str, Operator]) -> None:
    op = operators["SZ"]
    with pytest.raises(TrustError, match="expired"):
        load_trust_list(_signed_list(op), op.certificate, now=NOW + timedelta(days=31))


def test_rollback_is_rejected(operators: dict[str, Operator]) -> None:
    op = operators["SZ"]
    with pytest.raises(TrustError, match="rolled back"):
        load_trust_list(_signed_list(op, 3), op.certificate, now=NOW, last_sequence_number=4)


@pytest.mark.parametrize(
    "body", [b"", b"{}", b"[1,2]", b"\xff\xfe", b'{"payload": 1, "signatures": []}']
)
def test_garbage_is_a_trust_error(operators: dict[str, Operator], body: bytes) -> None:
    with pytest.raises(TrustError):
        load_trust_list(body, operators["SZ"].certificate, now=NOW)


def test_agreement_needs_both_operators(operators: dict[str, Operator]) -> None:
    sz, hk = operators["SZ"], operators["HK"]
    payload = agreement_payload(agreement("SZ", "HK"))
    both = sign_document(payload, [(sz.key, sz.certificate), (hk.key, hk.certificate)])
    assert load_agreement(both, [sz.certificate, hk.certificate]).parties == ("SZ", "HK")
    only_sz = sign_document(payload, [(sz.key, sz.certificate)])
    with pytest.raises(TrustError, match="not signed by"):
        load_agreement(only_sz, [sz.certificate, hk.certificate])
