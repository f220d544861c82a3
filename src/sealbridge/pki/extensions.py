"""Reading the extensions recognition decisions depend on."""

from __future__ import annotations

from asn1crypto import x509


def certificate_policies(certificate: x509.Certificate) -> tuple[str, ...]:
    """Dotted policy OIDs the certificate asserts (empty when it has none)."""
    value = certificate.certificate_policies_value
    if value is None:
        return ()
    return tuple(p["policy_identifier"].dotted for p in value)
