"""Distinguished names for CAs, firms and people, with their registry identifiers."""

from __future__ import annotations

from asn1crypto import x509


def ca_name(common_name: str, organisation: str, country: str) -> x509.Name:
    return x509.Name.build(
        {"country_name": country, "organization_name": organisation, "common_name": common_name}
    )


def enterprise_name(legal_name: str, registration_id: str, country: str) -> x509.Name:
    """Firm subject; ``registration_id`` in the ETSI EN 319 412-1 form, e.g. NTRCN-<USCC>."""
    return x509.Name.build(
        {
            "country_name": country,
            "organization_name": legal_name,
            "organization_identifier": registration_id,
            "common_name": legal_name,
        },
        use_printable=False,
    )
