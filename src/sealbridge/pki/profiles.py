"""Certificate profiles as data: what each kind of certificate may do and for how long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# The Guangdong–Hong Kong style shared policy arc. SealBridge's demo federation issues
# end-entity certificates under this policy; a relying party matches the prefix.
MUTUAL_RECOGNITION_POLICY_PREFIX = "2.16.344.8.2.2008.810.2"
MUTUAL_RECOGNITION_POLICY = MUTUAL_RECOGNITION_POLICY_PREFIX + ".2026.1.0"


@dataclass(frozen=True)
class NameConstraints:
    """Subtrees a CA may issue into (RFC 5280 4.2.1.10), as simple data.

    Countries and organisations become directory-name subtrees: a Hong Kong issuing
    CA constrained to C=HK cannot mint a certificate that claims to be a Shenzhen firm,
    whatever its key holder tries. ``dns`` and ``email`` are domain suffixes.
    """

    permitted_countries: tuple[str, ...] = ()
    excluded_countries: tuple[str, ...] = ()
    permitted_dns: tuple[str, ...] = ()
    excluded_dns: tuple[str, ...] = ()
    permitted_email: tuple[str, ...] = ()


@dataclass(frozen=True)
class PolicyControls:
    """The policy-constraining extensions of a CA certificate (RFC 5280 4.2.1.5, .11, .14).

    ``mappings`` pairs an issuer-domain policy with the subject-domain policy it
    stands for, which is how one jurisdiction's policy is declared equivalent to another's.
    """

    require_explicit_policy: int | None = None
    inhibit_policy_mapping: int | None = None
    inhibit_any_policy: int | None = None
    mappings: tuple[tuple[str, str], ...] = ()


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
    name_constraints: NameConstraints | None = None
    policy_controls: PolicyControls | None = None


ROOT_CA = CertificateProfile(
    name="root-ca",
    validity=timedelta(days=3650),
    key_usage=frozenset({"key_cert_sign", "crl_sign", "digital_signature"}),
    is_ca=True,
    path_length=1,
    revocation_pointers=False,
)

# An issuing CA below a jurisdiction's root: it may issue end-entity certificates only,
# under the mutual-recognition policy only. Constrain its names per jurisdiction with
# ``dataclasses.replace(SUB_CA, name_constraints=NameConstraints(("HK",)))``.
SUB_CA = CertificateProfile(
    name="sub-ca",
    validity=timedelta(days=1825),
    key_usage=frozenset({"key_cert_sign", "crl_sign", "digital_signature"}),
    is_ca=True,
    path_length=0,
    policies=(MUTUAL_RECOGNITION_POLICY,),
    policy_controls=PolicyControls(require_explicit_policy=0, inhibit_any_policy=0),
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

# Seal makers are certified under the mutual-recognition policy too: a jurisdiction that
# recognises the other side's seals only under that policy checks it on the maker's path.
SEAL_MAKER = CertificateProfile(
    name="seal-maker",
    validity=timedelta(days=1825),
    key_usage=frozenset({"digital_signature", "non_repudiation"}),
    policies=(MUTUAL_RECOGNITION_POLICY,),
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
