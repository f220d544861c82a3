"""Issuing seals and applying them, then checking the result with SealBridge's verifier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from asn1crypto import algos, cms, core, tsp, x509

from sealbridge.crypto.algorithms import KeyKind, sm3
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.errors import MalformedInput, NotAuthorised
from sealbridge.pki import profiles
from sealbridge.pki.names import ca_name
from sealbridge.pki.tsa import TimeStampAuthority
from sealbridge.seals import (
    CertListType,
    SealPicture,
    SealType,
    StampRefused,
    asn1,
    decode_seal,
    decode_stamp,
    issue_seal,
    render_name_seal,
    stamp,
    verify_seal,
    verify_stamp,
)
from sealbridge.seals.decode import der_sequence
from sealbridge.seals.verify import digest_name, verify_timestamp
from seals.trusted import TSA_POLICY, timestamp_token

SIGNATURE_XML = b'<?xml version="1.0" encoding="UTF-8"?><ofd:Signature/>'
PROPERTY = "/Doc_0/Signs/Sign_0/Signature.xml"


def _issue(demo_pki: Any, picture: SealPicture, now: datetime, **overrides: Any) -> bytes:
    arguments: dict[str, Any] = {
        "es_id": "4403050123456",
        "seal_type": SealType.CONTRACT,
        "name": "深圳市前海示例科技有限公司合同专用章",
        "bound_certificates": [demo_pki.firm.certificate],
        "picture": picture,
        "valid_from": now - timedelta(days=1),
        "valid_to": now + timedelta(days=365),
    }
    arguments.update(overrides)
    return issue_seal(demo_pki.maker.key, demo_pki.maker.certificate, **arguments)


def _stamp(seal: bytes, party: Any, now: datetime) -> bytes:
    return stamp(
        seal,
        party.key,
        party.certificate,
        data_hash=sm3(SIGNATURE_XML),
        property_info=PROPERTY,
        time=now,
    )


def test_issued_seal_decodes_to_what_was_asked(
    seal_der: bytes, demo_pki: Any, chop: SealPicture, now: datetime
) -> None:
    seal = decode_seal(seal_der)
    assert seal.version == 4
    assert seal.standard == "GB/T 38540-2020"
    assert seal.vid == "SealBridge"
    assert seal.es_id == "4403050123456"
    assert seal.seal_type is SealType.CONTRACT
    assert seal.name == "深圳市前海示例科技有限公司合同专用章"
    assert seal.cert_list_type is CertListType.CERTIFICATES
    assert [c.dump() for c in seal.bound_certificates] == [demo_pki.firm.certificate.dump()]
    assert seal.maker_certificate.dump() == demo_pki.maker.certificate.dump()
    assert seal.valid_from == now - timedelta(days=1)
    assert seal.valid_to == now + timedelta(days=365)
    assert (seal.picture.kind, seal.picture.data) == ("PNG", chop.png)
    assert (seal.picture.width_mm, seal.picture.height_mm) == (40, 40)
    assert seal.signature_algorithm == "sm2_sm3"
    assert seal.timestamp is None


def test_issued_seal_is_canonical_der(seal_der: bytes) -> None:
    assert asn1.SESeal.load(seal_der).dump(force=True) == seal_der


def test_issued_seal_verifies(seal_der: bytes, now: datetime) -> None:
    result = verify_seal(seal_der, at=now)
    assert result.valid, result.checks
    assert [c.step for c in result.checks] == [
        "parse",
        "maker-signature",
        "seal-validity",
        "timestamp",
    ]


def test_seal_outside_its_validity_fails_that_step(seal_der: bytes, now: datetime) -> None:
    result = verify_seal(seal_der, at=now + timedelta(days=400))
    assert result.failed_step == "seal-validity"
    assert "after" in result.checks[2].detail


@pytest.mark.parametrize("cert_list_type", list(CertListType), ids=lambda t: t.name)
def test_stamp_round_trip(
    demo_pki: Any, chop: SealPicture, now: datetime, cert_list_type: CertListType
) -> None:
    seal = _issue(demo_pki, chop, now, cert_list_type=cert_list_type)
    der = _stamp(seal, demo_pki.firm, now)
    result = verify_stamp(der, document=SIGNATURE_XML)
    assert result.valid, result.checks
    assert [c.step for c in result.checks] == [
        "parse",
        "signer-signature",
        "signer-in-cert-list",
        "maker-signature",
        "seal-validity",
        "timestamp",
        "data-hash",
    ]
    assert result.signer_certificate is not None
    assert result.signer_certificate.dump() == demo_pki.firm.certificate.dump()
    assert result.maker_certificate is not None
    decoded = decode_stamp(der)
    assert decoded.seal.der == seal
    assert decoded.signing_time == now
    assert decoded.property_info == PROPERTY
    assert asn1.SESSignature.load(der).dump(force=True) == der


def test_digest_list_names_sm3(demo_pki: Any, chop: SealPicture, now: datetime) -> None:
    seal = decode_seal(_issue(demo_pki, chop, now, cert_list_type=CertListType.DIGESTS))
    assert seal.bound_certificates == ()
    assert [(d.algorithm, d.value) for d in seal.bound_digests] == [
        ("SM3", sm3(demo_pki.firm.certificate.dump()))
    ]


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("SM3", "sm3"),
        ("sm3", "sm3"),
        ("SHA-256", "sha256"),
        ("sha_384", "sha384"),
        ("1.2.156.10197.1.401", "sm3"),
        ("2.16.840.1.101.3.4.2.1", "sha256"),
        ("md5", None),
    ],
)
def test_digest_type_names(declared: str, expected: str | None) -> None:
    assert digest_name(declared) == expected


def test_wrong_document_fails_data_hash(seal_der: bytes, demo_pki: Any, now: datetime) -> None:
    result = verify_stamp(_stamp(seal_der, demo_pki.firm, now), document=b"something else")
    assert result.failed_step == "data-hash"


def test_tampered_seal_name_fails_maker_signature(seal_der: bytes, now: datetime) -> None:
    # The name comes before the bound certificate, whose subject repeats it.
    tampered = seal_der.replace("示例".encode(), "范例".encode(), 1)
    seal = decode_seal(tampered)
    assert seal.name == "深圳市前海范例科技有限公司合同专用章"
    assert seal.bound_certificates[0].dump() == decode_seal(seal_der).bound_certificates[0].dump()
    result = verify_seal(tampered, at=now)
    assert not result.valid
    assert result.failed_step == "maker-signature"


def test_tampered_stamp_hash_fails_signer_signature(
    seal_der: bytes, demo_pki: Any, now: datetime
) -> None:
    der = _stamp(seal_der, demo_pki.firm, now)
    digest = sm3(SIGNATURE_XML)
    tampered = der.replace(digest, bytes(len(digest)))
    result = verify_stamp(tampered)
    assert result.failed_step == "signer-signature"


def test_signer_not_bound_is_refused(seal_der: bytes, demo_pki: Any, now: datetime) -> None:
    with pytest.raises(StampRefused, match="not among the 1 bound"):
        _stamp(seal_der, demo_pki.stranger, now)
    assert issubclass(StampRefused, NotAuthorised)


def test_stamp_outside_validity_is_refused(seal_der: bytes, demo_pki: Any, now: datetime) -> None:
    with pytest.raises(StampRefused, match="before the seal's validity"):
        _stamp(seal_der, demo_pki.firm, now - timedelta(days=30))
    with pytest.raises(StampRefused, match="after the seal's validity"):
        _stamp(seal_der, demo_pki.firm, now + timedelta(days=366))


def test_stamp_with_someone_elses_key_is_refused(
    seal_der: bytes, demo_pki: Any, now: datetime
) -> None:
    with pytest.raises(StampRefused, match="key does not belong"):
        stamp(
            seal_der,
            demo_pki.stranger.key,
            demo_pki.firm.certificate,
            data_hash=sm3(b"x"),
            property_info=PROPERTY,
            time=now,
        )


def test_tampered_seal_is_refused_for_stamping(
    seal_der: bytes, demo_pki: Any, now: datetime
) -> None:
    tampered = seal_der.replace("示例".encode(), "范例".encode(), 1)
    with pytest.raises(StampRefused, match="seal maker"):
        _stamp(tampered, demo_pki.firm, now)


def test_stamp_by_unbound_signer_fails_cert_list_step(
    seal_der: bytes, demo_pki: Any, now: datetime
) -> None:
    # Built by hand, since stamp() rightly refuses to make it.
    stranger = demo_pki.stranger
    to_sign = asn1.TBSSign(
        {
            "version": 4,
            "eseal": asn1.SESeal.load(seal_der),
            "time_info": now,
            "data_hash": sm3(SIGNATURE_XML),
            "property_info": PROPERTY,
        }
    )
    algorithm = stranger.key.default_signature_algorithm()
    der = asn1.SESSignature(
        {
            "to_sign": to_sign,
            "cert": stranger.certificate.dump(),
            "signature_alg_id": algorithm["algorithm"].dotted,
            "signature": stranger.key.sign(to_sign.dump(), algorithm),
        }
    ).dump()
    result = verify_stamp(der, document=SIGNATURE_XML)
    assert [c.step for c in result.checks if not c.passed] == ["signer-in-cert-list"]


def test_raw_sm2_signature_is_accepted(seal_der: bytes, now: datetime) -> None:
    # Some signing devices write r || s instead of DER; the signature is the same.
    seal = asn1.SESeal.load(seal_der)
    pair = algos.DSASignature.load(seal["signed_value"].native).native
    raw = pair["r"].to_bytes(32, "big") + pair["s"].to_bytes(32, "big")
    seal["signed_value"] = raw
    assert verify_seal(seal.dump(force=True), at=now).valid


def test_ecdsa_maker_and_signer(demo_pki: Any, chop: SealPicture, now: datetime) -> None:
    maker_key = generate_key(KeyKind.ECDSA_P256)
    maker_cert = _certify(demo_pki, maker_key, "Hong Kong Demo Seal Maker")
    firm_key = generate_key(KeyKind.ECDSA_P256)
    firm_cert = _certify(demo_pki, firm_key, "Hong Kong Demo Trading Limited")
    seal = issue_seal(
        maker_key,
        maker_cert,
        es_id="HK-0001",
        seal_type=SealType.COMPANY,
        name="香港示例贸易有限公司",
        bound_certificates=[firm_cert],
        picture=chop,
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=1),
    )
    der = stamp(
        seal,
        firm_key,
        firm_cert,
        data_hash=b"\x01" * 32,
        property_info="contract.pdf",
        time=now,
    )
    result = verify_stamp(der)
    assert result.valid, result.checks
    assert decode_stamp(der).signature_algorithm == "sha256_ecdsa"


def _certify(demo_pki: Any, key: Any, name: str) -> x509.Certificate:
    cert: x509.Certificate = demo_pki.root.issue(
        ca_name(name, "SealBridge Test", "HK"), key.public_key_info, profiles.ENTERPRISE_SEAL
    )
    return cert


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"es_id": ""}, "esID"),
        ({"es_id": "印章"}, "IA5String"),
        ({"name": "  "}, "name is empty"),
        ({"bound_certificates": []}, "no certificate is bound"),
        ({"valid_to": datetime(2000, 1, 1, tzinfo=UTC)}, "must end after"),
        ({"valid_from": datetime(2026, 1, 1)}, "time zone"),
        ({"picture": SealPicture(b"GIF89a", 40, 40)}, "not a PNG"),
        ({"picture": SealPicture(b"\x89PNG\r\n\x1a\n", 0, 40)}, "display size"),
    ],
)
def test_issue_rejects_bad_arguments(
    demo_pki: Any, chop: SealPicture, now: datetime, overrides: dict[str, Any], message: str
) -> None:
    arguments = dict(overrides)
    picture = arguments.pop("picture", chop)
    with pytest.raises(MalformedInput, match=message):
        _issue(demo_pki, picture, now, **arguments)


def test_issue_rejects_key_of_another_party(
    demo_pki: Any, chop: SealPicture, now: datetime
) -> None:
    with pytest.raises(MalformedInput, match="key does not belong"):
        issue_seal(
            demo_pki.firm.key,
            demo_pki.maker.certificate,
            es_id="1",
            seal_type=SealType.COMPANY,
            name="x",
            bound_certificates=[demo_pki.firm.certificate],
            picture=chop,
            valid_from=now,
            valid_to=now + timedelta(days=1),
        )


def test_legal_representative_seal(demo_pki: Any, now: datetime) -> None:
    picture = render_name_seal("张三")
    seal = decode_seal(
        _issue(
            demo_pki,
            picture,
            now,
            seal_type=SealType.LEGAL_REPRESENTATIVE,
            name="张三",
        )
    )
    assert seal.seal_type is SealType.LEGAL_REPRESENTATIVE
    assert (seal.picture.width_mm, seal.picture.height_mm) == (20, 20)


def test_custom_type_code_is_kept(demo_pki: Any, chop: SealPicture, now: datetime) -> None:
    seal = decode_seal(_issue(demo_pki, chop, now, seal_type=99))
    assert seal.type_code == 99
    assert seal.seal_type is None


# GM/T 0031-2014 and GM/T 0031-2025 are read but not written; these builders make test
# material in those layouts with the demo keys.


def _v1_seal(demo_pki: Any, chop: SealPicture, now: datetime) -> Any:
    maker = demo_pki.maker
    info = asn1.SESSealInfoV1(
        {
            "header": {"id": "ES", "version": 1, "vid": "SealBridgeTest"},
            "es_id": "V1-0001",
            "property": {
                "type": 1,
                "name": "深圳市前海示例科技有限公司",
                "cert_list": [demo_pki.firm.certificate.dump()],
                "create_date": x509.Time(name="utc_time", value=now),
                "valid_start": x509.Time(name="utc_time", value=now - timedelta(days=1)),
                "valid_end": x509.Time(name="utc_time", value=now + timedelta(days=30)),
            },
            "picture": {"type": "PNG", "data": chop.png, "width": 40, "height": 40},
        }
    )
    algorithm = maker.key.default_signature_algorithm()
    cert = core.OctetString(maker.certificate.dump())
    oid = core.ObjectIdentifier(algorithm["algorithm"].dotted)
    signed = der_sequence(info.dump(), cert.dump(), oid.dump())
    return asn1.SESealV1(
        {
            "seal_info": info,
            "sign_info": {
                "cert": cert.native,
                "signature_algorithm": oid.native,
                "sign_data": maker.key.sign(signed, algorithm),
            },
        }
    )


@pytest.mark.parametrize(
    ("time_info", "expected"),
    [
        (b"2026-03-01 10:00:00", datetime(2026, 3, 1, 2, 0, tzinfo=UTC)),
        (b"20260301100000Z", datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        (
            core.GeneralizedTime(datetime(2026, 3, 1, tzinfo=UTC)).dump(),
            datetime(2026, 3, 1, tzinfo=UTC),
        ),
        (b"\xff\xfe", None),
    ],
)
def test_gm_2014_stamp(
    demo_pki: Any, chop: SealPicture, time_info: bytes, expected: datetime | None
) -> None:
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    seal = _v1_seal(demo_pki, chop, moment)
    firm = demo_pki.firm
    algorithm = firm.key.default_signature_algorithm()
    to_sign = asn1.TBSSignV1(
        {
            "version": 1,
            "eseal": seal,
            "time_info": time_info,
            "data_hash": sm3(SIGNATURE_XML),
            "property_info": PROPERTY,
            "cert": firm.certificate.dump(),
            "signature_algorithm": algorithm["algorithm"].dotted,
        }
    )
    der = asn1.SESSignatureV1(
        {"to_sign": to_sign, "signature": firm.key.sign(to_sign.dump(), algorithm)}
    ).dump()
    decoded = decode_stamp(der)
    assert decoded.version == 1
    assert decoded.seal.standard == "GM/T 0031-2014"
    assert decoded.signing_time == expected
    result = verify_stamp(der, document=SIGNATURE_XML)
    if expected is None:
        assert result.failed_step == "seal-validity"
        assert "could not be read" in result.checks[4].detail
    else:
        assert result.valid, result.checks
    assert verify_seal(seal.dump(), at=moment).valid


def _tsa(pki: Any, when: datetime) -> tuple[TimeStampAuthority, x509.Certificate]:
    key = generate_key(KeyKind.SM2)
    certificate = pki.root.issue(
        ca_name("Seal Test TSA", "SealBridge Test", "CN"), key.public_key_info, profiles.TSA
    )
    tsa = TimeStampAuthority(key, certificate, policy_oid=TSA_POLICY, clock=lambda: when)
    return tsa, certificate


def _timestamp_token(pki: Any, value: bytes, when: datetime) -> bytes:
    return timestamp_token(_tsa(pki, when)[0], value)


def _v5(seal_der: bytes, token: bytes | None) -> bytes:
    seal = asn1.SESeal.load(seal_der)
    seal["e_seal_info"]["header"]["version"] = 5
    if token is not None:
        seal["time_stamp"] = token
    return bytes(seal.dump(force=True))


def test_gm_2025_seal_with_timestamp(demo_pki: Any, seal_der: bytes, now: datetime) -> None:
    # The TSA's signature and the imprint are checked: the re-encoded seal info voids
    # the maker's signature, which the result must then also say.
    unsigned = asn1.SESeal.load(_v5(seal_der, None))
    token = _timestamp_token(demo_pki, unsigned["signed_value"].native, now)
    seal = decode_seal(_v5(seal_der, token))
    assert (seal.version, seal.standard, seal.timestamp) == (5, "GM/T 0031-2025", token)
    result = verify_seal(seal.der, require_timestamp=True)
    checks = {c.step: c for c in result.checks}
    assert checks["timestamp"].passed, checks["timestamp"].detail
    assert now.isoformat() in checks["timestamp"].detail
    assert "Seal Test TSA" in checks["timestamp"].detail
    assert not checks["maker-signature"].passed


def test_timestamp_for_another_value_fails(demo_pki: Any, seal_der: bytes, now: datetime) -> None:
    der = _v5(seal_der, _timestamp_token(demo_pki, b"another signature", now))
    checks = {c.step: c for c in verify_seal(der).checks}
    assert not checks["timestamp"].passed
    assert "another signature value" in checks["timestamp"].detail


def test_unreadable_timestamp_fails(seal_der: bytes) -> None:
    checks = {c.step: c for c in verify_seal(_v5(seal_der, b"\x30\x00")).checks}
    assert not checks["timestamp"].passed


def test_required_timestamp_missing(seal_der: bytes) -> None:
    result = verify_seal(seal_der, require_timestamp=True)
    assert result.failed_step == "timestamp"


def _signature_value(seal_der: bytes) -> bytes:
    return bytes(asn1.SESeal.load(_v5(seal_der, None))["signed_value"].native)


def _resigned(token: bytes, key: KeyHandle, certificate: x509.Certificate | None) -> bytes:
    """The token with its signature made by ``key``, naming ``certificate`` if given."""
    parsed = cms.ContentInfo.load(token)
    signed = parsed["content"]
    signer = signed["signer_infos"][0]
    if certificate is not None:
        signer["sid"] = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": certificate.issuer, "serial_number": certificate.serial_number},
        )
        signed["certificates"] = [cms.CertificateChoices(name="certificate", value=certificate)]
    attributes = b"\x31" + signer["signed_attrs"].dump()[1:]
    signer["signature"] = key.sign(attributes, signer["signature_algorithm"])
    return bytes(parsed.dump(force=True))


def test_timestamp_signed_by_someone_else_fails(
    demo_pki: Any, seal_der: bytes, now: datetime
) -> None:
    value = _signature_value(seal_der)
    token = _resigned(_timestamp_token(demo_pki, value, now), generate_key(KeyKind.SM2), None)
    result = verify_timestamp(token, value, "seal")
    assert not result.check.passed and result.time is None
    assert "does not verify" in result.check.detail


def test_timestamp_over_a_changed_tst_info_fails(
    demo_pki: Any, seal_der: bytes, now: datetime
) -> None:
    value = _signature_value(seal_der)
    token = cms.ContentInfo.load(_timestamp_token(demo_pki, value, now))
    encapsulated = token["content"]["encap_content_info"]
    info = encapsulated["content"].parsed
    info["gen_time"] = now - timedelta(days=365)
    encapsulated["content"] = core.ParsableOctetString(info.dump(force=True))
    result = verify_timestamp(token.dump(force=True), value, "seal")
    assert not result.check.passed
    assert "message digest does not match" in result.check.detail


def test_timestamp_certificate_from_the_caller(
    demo_pki: Any, seal_der: bytes, now: datetime
) -> None:
    # A token asked for without certReq carries no certificate; the verifier may know it.
    tsa, certificate = _tsa(demo_pki, now)
    value = _signature_value(seal_der)
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sm3"},
                "hashed_message": sm3(value),
            },
        }
    )
    token = tsp.TimeStampResp.load(tsa.respond(request.dump()))["time_stamp_token"].dump()
    alone = verify_timestamp(token, value, "seal")
    assert not alone.check.passed and "neither in the token nor known" in alone.check.detail
    known = verify_timestamp(token, value, "seal", certificates=[certificate])
    assert known.check.passed and known.time == now
    assert known.tsa_certificate is not None and known.tsa_certificate.dump() == certificate.dump()


def test_timestamp_from_a_certificate_that_is_no_tsa_fails(
    demo_pki: Any, seal_der: bytes, now: datetime
) -> None:
    # The maker signs the token: its signature holds, but it is no TSA.
    value = _signature_value(seal_der)
    maker = demo_pki.maker
    token = _resigned(_timestamp_token(demo_pki, value, now), maker.key, maker.certificate)
    result = verify_timestamp(token, value, "seal")
    assert not result.check.passed and "not a TSA certificate" in result.check.detail
