"""A certification authority: issues certificates from profiles, for any key type.

Certificates are built with asn1crypto and signed through a ``KeyHandle``, so one code
path serves RSA, ECDSA and SM2 (which ``cryptography`` cannot build certificates for).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from asn1crypto import keys, x509

from sealbridge.crypto.keys import KeyHandle
from sealbridge.pki.profiles import ROOT_CA, CertificateProfile
from sealbridge.pki.registry import (
    CertificateRegistry,
    InMemoryRegistry,
    Revocation,
    RevocationReason,
)

BACKDATE = timedelta(minutes=5)


@dataclass(frozen=True)
class AuthorityUrls:
    """Where relying parties find this CA's OCSP responder, CRL and certificate."""

    ocsp: str | None = None
    crl: str | None = None
    ca_issuers: str | None = None


def random_serial() -> int:
    """A positive serial with 127 random bits (CA/B Forum asks for at least 64)."""
    return secrets.randbits(127) | (1 << 126)


def key_identifier(public_key: keys.PublicKeyInfo) -> bytes:
    """RFC 5280 method 1: SHA-1 of the subjectPublicKey bit string."""
    return hashlib.sha1(bytes(public_key["public_key"])).digest()


@dataclass
class CertificateAuthority:
    """A CA holding its key in a KeyHandle and its state in a CertificateRegistry."""

    certificate: x509.Certificate
    key: KeyHandle
    urls: AuthorityUrls = field(default_factory=AuthorityUrls)
    registry: CertificateRegistry = field(default_factory=InMemoryRegistry)

    @classmethod
    def create_root(
        cls,
        subject: x509.Name,
        key: KeyHandle,
        *,
        urls: AuthorityUrls | None = None,
        not_before: datetime | None = None,
        profile: CertificateProfile = ROOT_CA,
    ) -> CertificateAuthority:
        start = (not_before or datetime.now(UTC)) - BACKDATE
        tbs = _tbs(
            serial=random_serial(),
            issuer=subject,
            subject=subject,
            public_key=key.public_key_info,
            issuer_key_id=key_identifier(key.public_key_info),
            profile=profile,
            not_before=start,
            not_after=start + profile.validity,
            urls=AuthorityUrls(),
            signature_algorithm=key.default_signature_algorithm(),
        )
        cert = _sign(tbs, key)
        return cls(certificate=cert, key=key, urls=urls or AuthorityUrls())

    @property
    def name(self) -> x509.Name:
        return self.certificate.subject

    def issue(
        self,
        subject: x509.Name,
        public_key: keys.PublicKeyInfo,
        profile: CertificateProfile,
        *,
        not_before: datetime | None = None,
        validity: timedelta | None = None,
    ) -> x509.Certificate:
        start = (not_before or datetime.now(UTC)) - BACKDATE
        end = start + (validity or profile.validity)
        ca_end = self.certificate["tbs_certificate"]["validity"]["not_after"].native
        tbs = _tbs(
            serial=random_serial(),
            issuer=self.name,
            subject=subject,
            public_key=public_key,
            issuer_key_id=key_identifier(self.key.public_key_info),
            profile=profile,
            not_before=start,
            not_after=min(end, ca_end),
            urls=self.urls,
            signature_algorithm=self.key.default_signature_algorithm(),
        )
        cert = _sign(tbs, self.key)
        self.registry.record_issued(cert)
        return cert

    def revoke(
        self,
        certificate: x509.Certificate,
        reason: RevocationReason = RevocationReason.UNSPECIFIED,
        at: datetime | None = None,
    ) -> Revocation:
        return self.registry.revoke(certificate.serial_number, at or datetime.now(UTC), reason)


def _sign(tbs: x509.TbsCertificate, key: KeyHandle) -> x509.Certificate:
    algorithm = tbs["signature"]
    signature = key.sign(tbs.dump(), algorithm)
    return x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    )


def _tbs(
    *,
    serial: int,
    issuer: x509.Name,
    subject: x509.Name,
    public_key: keys.PublicKeyInfo,
    issuer_key_id: bytes,
    profile: CertificateProfile,
    not_before: datetime,
    not_after: datetime,
    urls: AuthorityUrls,
    signature_algorithm: object,
) -> x509.TbsCertificate:
    extensions: list[dict[str, object]] = [
        {
            "extn_id": "basic_constraints",
            "critical": True,
            "extn_value": {"ca": profile.is_ca, "path_len_constraint": profile.path_length}
            if profile.is_ca
            else {"ca": False},
        },
        {"extn_id": "key_usage", "critical": True, "extn_value": set(profile.key_usage)},
        {"extn_id": "key_identifier", "critical": False, "extn_value": key_identifier(public_key)},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": issuer_key_id},
        },
    ]
    if profile.extended_key_usage:
        extensions.append(
            {
                "extn_id": "extended_key_usage",
                "critical": profile.eku_critical,
                "extn_value": list(profile.extended_key_usage),
            }
        )
    if profile.policies:
        extensions.append(
            {
                "extn_id": "certificate_policies",
                "critical": False,
                "extn_value": [{"policy_identifier": oid} for oid in profile.policies],
            }
        )
    extensions.extend(_constraint_extensions(profile))
    if profile.ocsp_no_check:
        extensions.append({"extn_id": "ocsp_no_check", "critical": False, "extn_value": None})
    if profile.revocation_pointers and urls.crl:
        extensions.append(
            {
                "extn_id": "crl_distribution_points",
                "critical": False,
                "extn_value": [
                    {
                        "distribution_point": x509.DistributionPointName(
                            name="full_name",
                            value=[
                                x509.GeneralName(name="uniform_resource_identifier", value=urls.crl)
                            ],
                        )
                    }
                ],
            }
        )
    access: list[dict[str, object]] = []
    if profile.revocation_pointers and urls.ocsp:
        access.append(
            {
                "access_method": "ocsp",
                "access_location": x509.GeneralName(
                    name="uniform_resource_identifier", value=urls.ocsp
                ),
            }
        )
    if urls.ca_issuers and not profile.is_ca:
        access.append(
            {
                "access_method": "ca_issuers",
                "access_location": x509.GeneralName(
                    name="uniform_resource_identifier", value=urls.ca_issuers
                ),
            }
        )
    if access:
        extensions.append(
            {"extn_id": "authority_information_access", "critical": False, "extn_value": access}
        )
    return x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": signature_algorithm,
            "issuer": issuer,
            "validity": {
                "not_before": x509.Time(name="utc_time", value=not_before.replace(microsecond=0)),
                "not_after": _time(not_after),
            },
            "subject": subject,
            "subject_public_key_info": public_key,
            "extensions": extensions,
        }
    )


def _constraint_extensions(profile: CertificateProfile) -> list[dict[str, object]]:
    """Name and policy constraints; all critical, as RFC 5280 requires of CAs that set them."""
    extensions: list[dict[str, object]] = []
    names = profile.name_constraints
    if names is not None:
        value: dict[str, object] = {}
        permitted = _subtrees(names.permitted_countries, names.permitted_dns, names.permitted_email)
        excluded = _subtrees(names.excluded_countries, names.excluded_dns, ())
        if permitted:
            value["permitted_subtrees"] = permitted
        if excluded:
            value["excluded_subtrees"] = excluded
        extensions.append({"extn_id": "name_constraints", "critical": True, "extn_value": value})
    controls = profile.policy_controls
    if controls is None:
        return extensions
    if controls.mappings:
        extensions.append(
            {
                "extn_id": "policy_mappings",
                "critical": True,
                "extn_value": [
                    {"issuer_domain_policy": issuer, "subject_domain_policy": subject}
                    for issuer, subject in controls.mappings
                ],
            }
        )
    if controls.require_explicit_policy is not None or controls.inhibit_policy_mapping is not None:
        constraints: dict[str, int] = {}
        if controls.require_explicit_policy is not None:
            constraints["require_explicit_policy"] = controls.require_explicit_policy
        if controls.inhibit_policy_mapping is not None:
            constraints["inhibit_policy_mapping"] = controls.inhibit_policy_mapping
        extensions.append(
            {"extn_id": "policy_constraints", "critical": True, "extn_value": constraints}
        )
    if controls.inhibit_any_policy is not None:
        extensions.append(
            {
                "extn_id": "inhibit_any_policy",
                "critical": True,
                "extn_value": controls.inhibit_any_policy,
            }
        )
    return extensions


def _subtrees(
    countries: Sequence[str], dns: Sequence[str], email: Sequence[str]
) -> list[dict[str, object]]:
    names = [
        x509.GeneralName(name="directory_name", value=x509.Name.build({"country_name": c}))
        for c in countries
    ]
    names += [x509.GeneralName(name="dns_name", value=d) for d in dns]
    names += [x509.GeneralName(name="rfc822_name", value=e) for e in email]
    return [{"base": name} for name in names]


def _time(value: datetime) -> x509.Time:
    value = value.replace(microsecond=0)
    if value.year >= 2050:
        return x509.Time(name="general_time", value=value)
    return x509.Time(name="utc_time", value=value)
