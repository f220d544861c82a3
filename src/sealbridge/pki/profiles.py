"""Certificate profiles as data: what each kind of certificate may do and for how long."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

# The Guangdong–Hong Kong style shared policy arc. SealBridge's demo federation issues
# end-entity certificates under this policy; a relying party matches the prefix.
MUTUAL_RECOGNITION_POLICY_PREFIX = "2.16.344.8.2.2008.810.2"
MUTUAL_RECOGNITION_POLICY = MUTUAL_RECOGNITION_POLICY_PREFIX + ".2026.1.0"


@dataclass(frozen=True)
class CertificateProfile:
    """The extensions and lifetime of one kind of certificate."""

    name: str
    validity: timedelta
    key_usage: frozenset[str]
    extended_key_usage: tuple[str, ...] = ()
    eku_critical: bool = False
    is_ca: bool = False
    path_length: int | None = None
    policies: tuple[str, ...] = ()
    ocsp_no_check: bool = False
    revocation_pointers: bool = True
    extra: dict[str, str] = field(default_factory=dict)


ROOT_CA = CertificateProfile(
    name="root-ca",
    validity=timedelta(days=3650),
    key_usage=frozenset({"key_cert_sign", "crl_sign", "digital_signature"}),
    is_ca=True,
    path_length=1,
    revocation_pointers=False,
)

ENTERPRISE_SIGNATURE = CertificateProfile(
    name="enterprise-signature",
    validity=timedelta(days=730),
    key_usage=frozenset({"digital_signature", "non_repudiation"}),
    policies=(MUTUAL_RECOGNITION_POLICY,),
)

ENTERPRISE_SEAL = CertificateProfile(
    name="enterprise-seal",
    validity=timedelta(days=730),
    key_usage=frozenset({"digital_signature", "non_repudiation"}),
    policies=(MUTUAL_RECOGNITION_POLICY,),
)

INDIVIDUAL = CertificateProfile(
    name="individual",
    validity=timedelta(days=730),
    key_usage=frozenset({"digital_signature", "non_repudiation"}),
    policies=(MUTUAL_RECOGNITION_POLICY,),
)

SEAL_MAKER = CertificateProfile(
    name="seal-maker",
    validity=timedelta(days=1825),
    key_usage=frozenset({"digital_signature", "non_repudiation"}),
)

TSA = CertificateProfile(
    name="tsa",
    validity=timedelta(days=1825),
    key_usage=frozenset({"digital_signature", "non_repudiation"}),
    extended_key_usage=("time_stamping",),
    eku_critical=True,
)

OCSP_SIGNER = CertificateProfile(
    name="ocsp-signer",
    validity=timedelta(days=365),
    key_usage=frozenset({"digital_signature"}),
    extended_key_usage=("ocsp_signing",),
    ocsp_no_check=True,
    revocation_pointers=False,
)
