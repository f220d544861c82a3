"""CRLs checked with ``cryptography`` (an independent parser) and, for SM2, our verifier."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asn1crypto import core
from asn1crypto import crl as asn1_crl
from cryptography import x509 as cx509

from pki.builders import NOW, Pki
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.crypto.verify import verify_signature
from sealbridge.pki import names, profiles
from sealbridge.pki.crl import build_crl
from sealbridge.pki.registry import RevocationReason


def _build(pki: Pki, number: int = 7) -> bytes:
    return build_crl(
        pki.ca, this_update=NOW, next_update=NOW + timedelta(days=1), crl_number=number
    )


def test_lists_revocations_with_reasons_and_verifies(pki: Pki) -> None:
    other = pki.ca.issue(
        names.ca_name("other", "SealBridge Test", "HK"),
        generate_key(KeyKind.ECDSA_P256).public_key_info,
        profiles.INDIVIDUAL,
    )
    pki.ca.revoke(pki.ee, RevocationReason.KEY_COMPROMISE, at=NOW - timedelta(hours=1))
    pki.ca.revoke(other, at=NOW - timedelta(minutes=1, microseconds=5))

    parsed = cx509.load_der_x509_crl(_build(pki, 42))
    issuer = cx509.load_der_x509_certificate(pki.ca.certificate.dump())

    assert parsed.is_signature_valid(issuer.public_key())
    assert parsed.issuer == issuer.subject
    assert parsed.last_update_utc == NOW
    assert parsed.next_update_utc == NOW + timedelta(days=1)
    assert parsed.extensions.get_extension_for_class(cx509.CRLNumber).value.crl_number == 42
    aki = parsed.extensions.get_extension_for_class(cx509.AuthorityKeyIdentifier).value
    ski = issuer.extensions.get_extension_for_class(cx509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest

    revoked = parsed.get_revoked_certificate_by_serial_number(pki.ee.serial_number)
    assert revoked is not None
    assert revoked.revocation_date_utc == NOW - timedelta(hours=1)
    reason = revoked.extensions.get_extension_for_class(cx509.CRLReason).value
    assert reason.reason is cx509.ReasonFlags.key_compromise

    unspecified = parsed.get_revoked_certificate_by_serial_number(other.serial_number)
    assert unspecified is not None
    assert unspecified.revocation_date_utc == NOW - timedelta(minutes=1, seconds=1)
    # RFC 5280 §5.3.1: "unspecified" is said by leaving the reason code out.
    assert len(unspecified.extensions) == 0
    assert len(parsed) == 2


def test_empty_crl_has_no_revoked_list(pki: Pki) -> None:
    der = _build(pki)
    tbs = asn1_crl.CertificateList.load(der)["tbs_cert_list"]
    assert tbs["version"].native == "v2"
    # RFC 5280 §5.1.2.6: absent, not an empty SEQUENCE.
    assert isinstance(tbs["revoked_certificates"], core.Void)
    assert len(cx509.load_der_x509_crl(der)) == 0


def test_sm2_crl_is_signed_with_sm2_sm3(sm2_pki: Pki) -> None:
    sm2_pki.ca.revoke(sm2_pki.ee, RevocationReason.SUPERSEDED)
    parsed = asn1_crl.CertificateList.load(_build(sm2_pki))
    assert parsed["signature_algorithm"]["algorithm"].native == "sm2_sm3"
    verify_signature(
        sm2_pki.ca.certificate.public_key,
        parsed["signature_algorithm"],
        parsed["tbs_cert_list"].dump(),
        parsed["signature"].native,
    )
    [entry] = parsed["tbs_cert_list"]["revoked_certificates"]
    assert entry["user_certificate"].native == sm2_pki.ee.serial_number
    assert entry.crl_reason_value.native == "superseded"


def test_dates_from_2050_are_generalized_time(pki: Pki) -> None:
    far = NOW.replace(year=2051)
    der = build_crl(pki.ca, this_update=NOW, next_update=far, crl_number=1)
    tbs = asn1_crl.CertificateList.load(der)["tbs_cert_list"]
    assert tbs["this_update"].name == "utc_time"
    assert tbs["next_update"].name == "general_time"
    assert tbs["next_update"].native == far


@pytest.mark.parametrize(
    ("next_update", "number"),
    [
        (timedelta(0), 1),
        (timedelta(days=-1), 1),
        (timedelta(days=1), -1),
        (timedelta(days=1), 1 << 159),
    ],
)
def test_rejects_impossible_arguments(pki: Pki, next_update: timedelta, number: int) -> None:
    with pytest.raises(ValueError):
        build_crl(pki.ca, this_update=NOW, next_update=NOW + next_update, crl_number=number)
