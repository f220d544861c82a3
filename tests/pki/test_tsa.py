"""RFC 3161 responses: token contents, signatures checked with ``cryptography``, rejections."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from asn1crypto import cms, tsp
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko_certvalidator import ValidationContext

from pki.builders import NOW, TSA_POLICY, Pki, build_pki, cached_key
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.verify import verify_signature
from sealbridge.pki import names, profiles
from sealbridge.pki.tsa import TimeStampAuthority, TimeStampResponse

DOCUMENT = "合同 contract".encode()


def _clock() -> datetime:
    return NOW


def _tsa(pki: Pki) -> TimeStampAuthority:
    return TimeStampAuthority(
        pki.tsa_key,
        pki.tsa_cert,
        policy_oid=TSA_POLICY,
        clock=_clock,
        chain=[pki.ca.certificate],
    )


def _query(
    algorithm: str = "sha256",
    imprint: bytes | None = None,
    **fields: object,
) -> bytes:
    if imprint is None:
        imprint = hashlib.new(algorithm.replace("sha3_", "sha3-"), DOCUMENT).digest()
    request = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": algorithm}, "hashed_message": imprint},
        **fields,
    }
    return tsp.TimeStampReq(request).dump()


def _token(response_der: bytes) -> cms.SignedData:
    response = TimeStampResponse.load(response_der)
    assert response["status"]["status"].native == "granted"
    signed_data: cms.SignedData = response["time_stamp_token"]["content"]
    return signed_data


def _verify_with_cryptography(pki: Pki, signer_info: cms.SignerInfo) -> None:
    public_key = cx509.load_der_x509_certificate(pki.tsa_cert.dump()).public_key()
    signed = b"\x31" + signer_info["signed_attrs"].dump()[1:]
    signature = signer_info["signature"].native
    algorithm: hashes.HashAlgorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384()}[
        signer_info["digest_algorithm"]["algorithm"].native
    ]
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, signed, ec.ECDSA(algorithm))
    else:
        assert isinstance(public_key, rsa.RSAPublicKey)
        public_key.verify(signature, signed, padding.PKCS1v15(), algorithm)


def _attribute(signer_info: cms.SignerInfo, name: str) -> Any:
    [value] = [a["values"][0] for a in signer_info["signed_attrs"] if a["type"].native == name]
    return value


@pytest.fixture(
    params=[KeyKind.ECDSA_P256, KeyKind.ECDSA_P384, KeyKind.RSA_2048], ids=lambda k: k.value
)
def tsa_pki(request: pytest.FixtureRequest) -> Pki:
    kind: KeyKind = request.param
    return build_pki(kind)


def test_granted_token(tsa_pki: Pki) -> None:
    signed_data = _token(_tsa(tsa_pki).respond(_query(nonce=0x1234567890ABCDEF1, cert_req=True)))

    assert signed_data["version"].native == "v3"
    encap = signed_data["encap_content_info"]
    assert encap["content_type"].native == "tst_info"
    info = encap["content"].parsed
    assert info["version"].native == "v1"
    assert info["policy"].native == TSA_POLICY
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(DOCUMENT).digest()
    assert info["serial_number"].native.bit_length() >= 64
    assert info["gen_time"].native == NOW
    assert info["accuracy"].native == {"seconds": 1, "millis": None, "micros": None}
    assert info["nonce"].native == 0x1234567890ABCDEF1
    assert info["tsa"].chosen == tsa_pki.tsa_cert.subject

    # A SET OF: DER sorts it, so the TSA certificate need not come first.
    certificates = {choice.chosen.dump() for choice in signed_data["certificates"]}
    assert certificates == {tsa_pki.tsa_cert.dump(), tsa_pki.ca.certificate.dump()}

    [signer_info] = signed_data["signer_infos"]
    digest_name = "sha384" if tsa_pki.tsa_key.kind is KeyKind.ECDSA_P384 else "sha256"
    assert signer_info["digest_algorithm"]["algorithm"].native == digest_name
    assert [a["algorithm"].native for a in signed_data["digest_algorithms"]] == [digest_name]
    sid = signer_info["sid"].chosen
    assert sid["serial_number"].native == tsa_pki.tsa_cert.serial_number
    assert sid["issuer"] == tsa_pki.tsa_cert.issuer
    assert _attribute(signer_info, "content_type").native == "tst_info"
    assert (
        _attribute(signer_info, "message_digest").native
        == hashlib.new(digest_name, encap["content"].contents).digest()
    )
    signing_certificate = _attribute(signer_info, "signing_certificate_v2")
    [cert_id] = signing_certificate["certs"]
    assert cert_id["hash_algorithm"]["algorithm"].native == "sha256"
    assert cert_id["cert_hash"].native == hashlib.sha256(tsa_pki.tsa_cert.dump()).digest()
    assert cert_id["issuer_serial"]["serial_number"].native == tsa_pki.tsa_cert.serial_number
    _verify_with_cryptography(tsa_pki, signer_info)


def test_pyhanko_validates_the_token(tsa_pki: Pki) -> None:
    """pyHanko is what the PDF layer will time-stamp through, so it must accept our tokens."""
    signed_data = _token(_tsa(tsa_pki).respond(_query(cert_req=True)))
    context = ValidationContext(
        trust_roots=[tsa_pki.ca.certificate], allow_fetching=False, revocation_mode="soft-fail"
    )
    status = asyncio.run(
        validate_tst_signed_data(
            signed_data, context, lambda algorithm: hashlib.new(algorithm, DOCUMENT).digest()
        )
    )
    assert status["intact"] and status["valid"]
    assert status["trust_problem_indic"] is None
    assert status["signing_cert"].dump() == tsa_pki.tsa_cert.dump()
    assert status["timestamp"] == NOW


def test_without_cert_req_or_nonce_token_carries_neither(pki: Pki) -> None:
    signed_data = _token(_tsa(pki).respond(_query()))
    assert signed_data["certificates"].native is None
    assert signed_data["encap_content_info"]["content"].parsed["nonce"].native is None
    _verify_with_cryptography(pki, signed_data["signer_infos"][0])


def test_tokens_have_distinct_serials(pki: Pki) -> None:
    tsa = _tsa(pki)
    serials = {
        _token(tsa.respond(_query(req_policy=TSA_POLICY)))["encap_content_info"]["content"]
        .parsed["serial_number"]
        .native
        for _ in range(5)
    }
    assert len(serials) == 5


@pytest.mark.parametrize("algorithm", ["sha384", "sha512", "sha3_256", "sm3"])
def test_other_accepted_imprint_hashes(pki: Pki, algorithm: str) -> None:
    imprint = hashlib.new(algorithm.replace("sha3_", "sha3-"), DOCUMENT).digest()
    info = _token(_tsa(pki).respond(_query(algorithm, imprint)))["encap_content_info"]
    assert info["content"].parsed["message_imprint"]["hashed_message"].native == imprint


def _failure(response_der: bytes) -> tuple[str, set[str], list[str]]:
    response = TimeStampResponse.load(response_der)
    status = response["status"]
    assert response["time_stamp_token"].native is None
    return status["status"].native, status["fail_info"].native, status["status_string"].native


@pytest.mark.parametrize(
    ("query", "failure"),
    [
        (b"", "bad_data_format"),
        (b"\x30\x03\x02\x01\x01", "bad_data_format"),
        (bytes(range(200)), "bad_data_format"),
        (_query() + b"\x00", "bad_data_format"),
        (_query(imprint=b"\x01" * 20), "bad_data_format"),
        (_query(version=2), "bad_data_format"),
        (_query("sha1"), "bad_alg"),
        (_query("md5"), "bad_alg"),
        (_query("1.3.6.1.4.1.61234.9.9", b"\x00" * 32), "bad_alg"),
        (_query(req_policy="1.3.6.1.4.1.61234.1.9999"), "unaccepted_policy"),
        (
            _query(extensions=[{"extn_id": "1.3.6.1.4.1.61234.2", "extn_value": b"\x05\x00"}]),
            "unaccepted_extensions",
        ),
    ],
    ids=[
        "empty",
        "truncated",
        "garbage",
        "trailing-byte",
        "short-imprint",
        "version-2",
        "sha1",
        "md5",
        "unknown-oid",
        "foreign-policy",
        "extension",
    ],
)
def test_rejections(query: bytes, failure: str) -> None:
    status, fail_info, text = _failure(_REJECTING_TSA.respond(query))
    assert status == "rejection"
    assert fail_info == {failure}
    assert text and text[0]


def test_sm2_token(sm2_pki: Pki) -> None:
    signed_data = _token(_tsa(sm2_pki).respond(_query("sm3", cert_req=True)))
    [signer_info] = signed_data["signer_infos"]
    assert signer_info["digest_algorithm"]["algorithm"].native == "sm3"
    assert signer_info["signature_algorithm"]["algorithm"].native == "sm2_sm3"
    content = signed_data["encap_content_info"]["content"].contents
    assert _attribute(signer_info, "message_digest").native == hashlib.new("sm3", content).digest()
    verify_signature(
        sm2_pki.tsa_cert.public_key,
        signer_info["signature_algorithm"],
        b"\x31" + signer_info["signed_attrs"].dump()[1:],
        signer_info["signature"].native,
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda pki: {"key": cached_key(KeyKind.ECDSA_P256, "stranger")},
        lambda pki: {"certificate": pki.ee, "key": cached_key(KeyKind.ECDSA_P256, "ee")},
        lambda pki: {"accuracy_seconds": 0},
    ],
    ids=["key-mismatch", "not-a-tsa-certificate", "zero-accuracy"],
)
def test_refuses_misconfiguration(pki: Pki, make: Callable[[Pki], dict[str, object]]) -> None:
    arguments: dict[str, object] = {
        "key": pki.tsa_key,
        "certificate": pki.tsa_cert,
        "policy_oid": TSA_POLICY,
        "clock": _clock,
    }
    arguments.update(make(pki))
    with pytest.raises(ValueError):
        TimeStampAuthority(**arguments)  # type: ignore[arg-type]


def test_seal_profile_certificate_is_not_a_tsa(pki: Pki) -> None:
    key = cached_key(KeyKind.ECDSA_P256, "seal")
    name = names.ca_name("seal", "SealBridge Test", "CN")
    seal = pki.ca.issue(name, key.public_key_info, profiles.ENTERPRISE_SEAL)
    with pytest.raises(ValueError, match="EKU"):
        TimeStampAuthority(key, seal, policy_oid=TSA_POLICY, clock=_clock)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_queries_never_raise(data: st.DataObject) -> None:
    query = bytearray(_FUZZ_QUERY)
    for _ in range(data.draw(st.integers(1, 4))):
        query[data.draw(st.integers(0, len(query) - 1))] = data.draw(st.integers(0, 255))
    response = TimeStampResponse.load(_REJECTING_TSA.respond(bytes(query)))
    assert response["status"]["status"].native in ("granted", "rejection")
    response.native  # noqa: B018 - the whole answer must be well-formed DER


_REJECTING_TSA = _tsa(build_pki(KeyKind.ECDSA_P256, label="fuzz"))
_FUZZ_QUERY = _query(req_policy=TSA_POLICY, nonce=99, cert_req=True)
