"""Certificate revocation lists (RFC 5280 v2), signed through the CA's KeyHandle.

The CRL is encoded here rather than by ``cryptography`` so the same code signs with SM2
keys, which ``cryptography`` cannot sign CRLs with; and rather than by asn1crypto so that
a CRL of a million entries costs a few seconds and the size of its DER: entries are taken
one at a time from the registry's iterator and encoded straight into one buffer, with no
Python object per entry left behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from asn1crypto import crl, x509

from sealbridge.pki.issuer import CertificateAuthority, key_identifier
from sealbridge.pki.registry import Revocation, RevocationReason

# RFC 5280 §5.2.3: the CRL number is at most 20 octets.
_MAX_CRL_NUMBER = (1 << 159) - 1
# RFC 5280 §4.1.2.2: serials are positive and at most 20 octets long, as encoded.
_MAX_SERIAL_OCTETS = 20
# Room for a tag and the longest length the buffer can need (a 4-octet length).
_MAX_HEADER = 6

# crlEntryExtensions holding one reasonCode extension, for each reason but unspecified,
# which RFC 5280 §5.3.1 says to express by leaving the extension out.
_REASON_EXTENSIONS: dict[RevocationReason, bytes] = {
    reason: crl.CRLEntryExtensions([{"extn_id": "crl_reason", "extn_value": reason.value}]).dump()
    for reason in RevocationReason
    if reason is not RevocationReason.UNSPECIFIED
}


def build_crl(
    ca: CertificateAuthority,
    *,
    this_update: datetime,
    next_update: datetime,
    crl_number: int,
) -> bytes:
    """DER CRL listing every revocation in ``ca.registry``, in the registry's order.

    The caller owns ``crl_number`` so that it stays monotonic across processes and
    restarts, which this function cannot know about. Memory peaks at about twice the
    finished CRL: the buffer the entries are encoded into, and the bytes returned.
    """
    if not 0 <= crl_number <= _MAX_CRL_NUMBER:
        raise ValueError("CRL number must be a non-negative integer of at most 20 octets")
    if next_update <= this_update:
        raise ValueError("next_update must come after this_update")
    algorithm = ca.key.default_signature_algorithm()
    authority_key_id = ca.certificate.key_identifier or key_identifier(ca.certificate.public_key)
    fields = crl.TbsCertList(
        {
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
    )
    # Everything before revokedCertificates, and crlExtensions after it.
    head = b"".join(fields[name].dump() for name in ("version", "signature", "issuer"))
    head += fields["this_update"].dump() + fields["next_update"].dump()
    tail = fields["crl_extensions"].dump()

    # The entries go after a gap big enough for every header in front of them; once
    # their length is known the headers are written into the gap's end and the unused
    # start is dropped, which a bytearray does without moving the entries.
    gap = 2 * _MAX_HEADER + len(head)
    buffer = bytearray(gap)
    _encode_entries(ca.registry.revocations(), buffer)
    entries = len(buffer) - gap
    # RFC 5280 §5.1.2.6: an empty list must be absent, not an empty SEQUENCE.
    revoked_header = _header(0x30, entries) if entries else b""
    tbs_header = _header(0x30, len(head) + len(revoked_header) + entries + len(tail))
    front = tbs_header + head + revoked_header
    buffer[gap - len(front) : gap] = front
    del buffer[: gap - len(front)]
    buffer += tail

    tbs = bytes(buffer)
    del buffer
    signature = ca.key.sign(tbs, algorithm)
    trailer = algorithm.dump() + _header(0x03, len(signature) + 1) + b"\x00" + signature
    return b"".join((_header(0x30, len(tbs) + len(trailer)), tbs, trailer))


def _encode_entries(revocations: Iterable[Revocation], out: bytearray) -> None:
    """Append one DER revokedCertificates entry per revocation to ``out``.

    This loop runs once per revoked certificate, so it writes the few shapes an entry
    can take by hand: each entry is shorter than 128 octets, so every length is one octet.
    """
    reasons = _REASON_EXTENSIONS
    unspecified = RevocationReason.UNSPECIFIED
    for revocation in revocations:
        serial = revocation.serial
        if serial < 0:
            raise ValueError(f"serial {serial} is negative")
        serial_octets = serial.to_bytes((serial.bit_length() + 8) // 8, "big")
        if len(serial_octets) > _MAX_SERIAL_OCTETS:
            raise ValueError(f"serial {serial:x} is longer than 20 octets")
        at = revocation.revoked_at
        if at.tzinfo is not UTC:
            if at.tzinfo is None:
                raise ValueError(f"revocation time of serial {serial:x} has no time zone")
            at = at.astimezone(UTC)
        if at.year < 2050:
            when = b"\x17\x0d%02d%02d%02d%02d%02d%02dZ" % (
                at.year % 100, at.month, at.day, at.hour, at.minute, at.second
            )  # fmt: skip
        else:
            when = b"\x18\x0f%04d%02d%02d%02d%02d%02dZ" % (
                at.year, at.month, at.day, at.hour, at.minute, at.second
            )  # fmt: skip
        extensions = reasons[revocation.reason] if revocation.reason is not unspecified else b""
        length = 2 + len(serial_octets) + len(when) + len(extensions)
        out += b"\x30%c\x02%c%b%b%b" % (length, len(serial_octets), serial_octets, when, extensions)


def _header(tag: int, length: int) -> bytes:
    """A DER tag and definite length, the long form beyond 127 octets."""
    if length < 0x80:
        return bytes((tag, length))
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets


def _time(value: datetime) -> x509.Time:
    """UTCTime through 2049, GeneralizedTime after, without fractions (RFC 5280 §5.1.2.4)."""
    value = value.replace(microsecond=0)
    if value.year >= 2050:
        return x509.Time(name="general_time", value=value)
    return x509.Time(name="utc_time", value=value)
