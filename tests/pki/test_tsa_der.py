"""Tokens assembled from templates are DER, whatever the key and the request ask for."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from asn1crypto import cms, tsp

from pki.builders import NOW, TSA_POLICY, build_pki
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.pki.tsa import TimeStampAuthority, TimeStampResponse


@pytest.mark.parametrize("kind", list(KeyKind), ids=lambda kind: kind.value)
@pytest.mark.parametrize(
    "fields",
    [{}, {"nonce": -(1 << 70), "cert_req": True}, {"nonce": 1, "req_policy": TSA_POLICY}],
    ids=["bare", "negative-nonce-certs", "nonce-policy"],
)
def test_granted_tokens_are_der(kind: KeyKind, fields: dict[str, object]) -> None:
    pki = build_pki(kind)
    tsa = TimeStampAuthority(
        pki.tsa_key,
        pki.tsa_cert,
        policy_oid=TSA_POLICY,
        clock=lambda: NOW,
        accuracy_seconds=3,
        chain=[pki.ca.certificate],
    )
    query = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": "sha384"},
            "hashed_message": hashlib.sha384(b"der").digest(),
        },
        **fields,
    }
    der = tsa.respond(tsp.TimeStampReq(query).dump())
    response = TimeStampResponse.load(der)
    assert response.dump(force=True) == der
    signed_data = response["time_stamp_token"]["content"]
    tst_info_der = signed_data["encap_content_info"]["content"].contents
    info = tsp.TSTInfo.load(tst_info_der)
    assert info.dump(force=True) == tst_info_der
    assert info["accuracy"].native["seconds"] == 3
    assert info["nonce"].native == fields.get("nonce")
    assert (signed_data["certificates"].native is not None) == bool(fields.get("cert_req"))
    attributes = signed_data["signer_infos"][0]["signed_attrs"]
    assert cms.CMSAttributes.load(attributes.untag().dump()).dump(force=True) == (
        b"\x31" + attributes.dump()[1:]
    )


def test_gen_time_is_utc_whole_seconds() -> None:
    pki = build_pki(KeyKind.ECDSA_P256)
    hong_kong = timezone(timedelta(hours=8))
    tsa = TimeStampAuthority(
        pki.tsa_key,
        pki.tsa_cert,
        policy_oid=TSA_POLICY,
        clock=lambda: datetime(2026, 11, 25, 20, 30, 15, 999_999, tzinfo=hong_kong),
    )
    query = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sm3"},
                "hashed_message": b"3" * 32,
            },
        }
    )
    token = TimeStampResponse.load(tsa.respond(query.dump()))["time_stamp_token"]
    info = token["content"]["encap_content_info"]["content"].parsed
    assert info["gen_time"].native == datetime(2026, 11, 25, 12, 30, 15, tzinfo=UTC)
