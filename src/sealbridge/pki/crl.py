"""Certificate revocation lists (RFC 5280 v2), signed through the CA's KeyHandle.

The CRL is built with asn1crypto rather than ``cryptography`` so the same code signs
with SM2 keys, which ``cryptography`` cannot sign CRLs with.
"""

from __future__ import annotations

from datetime import datetime

from asn1crypto import crl, x509

from sealbridge.pki.issuer import CertificateAuthority, key_identifier
from sealbridge.pki.registry import Revocation, RevocationReason

# RFC 5280 §5.2.3: the CRL number is at most 20 octets.
_MAX_CRL_NUMBER = (1 << 159) - 1


def build_crl(
    ca: CertificateAuthority,
    *,
    this_update: datetime,
    next_update: datetime,
    crl_number: int,
) -> bytes:
    """DER CRL listing every revocation in ``ca.registry``.

    The caller owns ``crl_number`` so that it stays monotonic across processes and
    restarts, which this function cannot know about.
    """
    if not 0 <= crl_number <= _MAX_CRL_NUMBER:
        raise ValueError("CRL number must be a non-negative integer of at most 20 octets")
    if next_update <= this_update:
        raise ValueError("next_update must come after this_update")
    algorithm = ca.key.default_signature_algorithm()
    authority_key_id = ca.certificate.key_identifier or key_identifier(ca.certificate.public_key)
    tbs_fields: dict[str, object] = {
        "version": "v2",
        "signature": algorithm,
        "issuer": ca.certificate.subject,
        "this_update": _time(this_update),
        "next_update": _time(next_update),
        "crl_extensions": [
            {
                "extn_id": "authority_key_identifier",
                "extn_value": {"key_identifier": authority_key_id},
            },
            {"extn_id": "crl_number", "extn_value": crl_number},
        ],
    }
    entries = [_entry(revocation) for revocation in ca.registry.revocations()]
    # RFC 5280 §5.1.2.6: an empty list must be absent, not an empty SEQUENCE.
    if entries:
        tbs_fields["revoked_certificates"] = entries
    tbs = crl.TbsCertList(tbs_fields)
    signature = ca.key.sign(tbs.dump(), algorithm)
    return crl.CertificateList(
        {"tbs_cert_list": tbs, "signature_algorithm": algorithm, "signature": signature}
    ).dump()


def _entry(revocation: Revocation) -> dict[str, object]:
    entry: dict[str, object] = {
        "user_certificate": revocation.serial,
        "revocation_date": _time(revocation.revoked_at),
    }
    # RFC 5280 §5.3.1: reasonCode unspecified should be expressed by omitting the extension.
    if revocation.reason is not RevocationReason.UNSPECIFIED:
        entry["crl_entry_extensions"] = [
            {"extn_id": "crl_reason", "extn_value": revocation.reason.value}
        ]
    return entry


def _time(value: datetime) -> x509.Time:
    """UTCTime through 2049, GeneralizedTime after, without fractions (RFC 5280 §5.1.2.4)."""
    value = value.replace(microsecond=0)
    if value.year >= 2050:
        return x509.Time(name="general_time", value=value)
    return x509.Time(name="utc_time", value=value)
