"""Required policies must survive the whole path (RFC 5280 6.1), not just sit in the leaf.

Each case is a listed root, an issuing CA below it and a firm certificate; the view's
verdict is compared with pyhanko-certvalidator validating the same path with the policy
settings the view stands for (initial policy set = the mutual-recognition policy,
explicit policy required).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

import pytest
from asn1crypto import x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathValidationError
from pyhanko_certvalidator.policy_decl import PKIXValidationParams

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.trust.model import Scope
from sealbridge.trust.policy import path_policies
from sealbridge.trust.view import Federation
from support.trust import NOW, Operator

MR = profiles.MUTUAL_RECOGNITION_POLICY
HK_LOCAL = "1.3.6.1.4.1.55555.7.1"
ANY = "2.5.29.32.0"


@dataclass(frozen=True)
class Case:
    sub_ca: profiles.CertificateProfile
    leaf_policies: tuple[str, ...]
    recognised: bool


def _sub(policies: tuple[str, ...], **controls: object) -> profiles.CertificateProfile:
    return replace(
        profiles.SUB_CA,
        policies=policies,
        policy_controls=profiles.PolicyControls(**controls) if controls else None,  # type: ignore[arg-type]
    )


CASES = {
    "issuing CA asserts the policy": Case(_sub((MR,)), (MR,), True),
    "issuing CA asserts no policy": Case(_sub(()), (MR,), False),
    "issuing CA asserts only another policy": Case(_sub((HK_LOCAL,)), (MR,), False),
    "issuing CA asserts anyPolicy": Case(_sub((ANY,)), (MR,), True),
    "leaf asserts anyPolicy only, issuing CA inhibits it": Case(
        _sub((MR,), inhibit_any_policy=0), (ANY,), False
    ),
    "issuing CA maps the policy onto its own": Case(
        _sub((MR,), mappings=((MR, HK_LOCAL),)), (HK_LOCAL,), True
    ),
    # RFC 5280 6.1.4 (b) before (i): a CA's own inhibitPolicyMapping binds the CAs
    # below it, not the mappings in its own certificate.
    "issuing CA maps the policy and inhibits mapping below it": Case(
        _sub((MR,), mappings=((MR, HK_LOCAL),), inhibit_policy_mapping=0), (HK_LOCAL,), True
    ),
    "leaf asserts only its local policy, no mapping": Case(_sub((MR,)), (HK_LOCAL,), False),
}


@pytest.fixture(scope="module")
def hk() -> Operator:
    return Operator("HK")


def _path(operator: Operator, case: Case) -> list[x509.Certificate]:
    sub_key = generate_key(KeyKind.ECDSA_P256)
    sub_cert = operator.ca.issue(
        ca_name("HK Issuing CA", "SealBridge Demo", "HK"), sub_key.public_key_info, case.sub_ca
    )
    sub = CertificateAuthority(certificate=sub_cert, key=sub_key)
    leaf_profile = replace(profiles.ENTERPRISE_SIGNATURE, policies=case.leaf_policies)
    leaf = sub.issue(
        enterprise_name("HK Firm", "12345678", "HK"),
        generate_key(KeyKind.ECDSA_P256).public_key_info,
        leaf_profile,
    )
    return [operator.ca.certificate, sub_cert, leaf]


def _certvalidator_accepts(path: list[x509.Certificate]) -> bool:
    context = ValidationContext(
        trust_roots=[path[0]], other_certs=path[1:-1], revocation_mode="soft-fail"
    )
    params = PKIXValidationParams(
        user_initial_policy_set=frozenset({MR}), initial_explicit_policy=True
    )
    validator = CertificateValidator(path[-1], validation_context=context, pkix_params=params)
    try:
        asyncio.run(validator.async_validate_usage(set()))
    except PathValidationError:
        return False
    return True


@pytest.mark.parametrize("name", list(CASES))
def test_required_policy_through_the_path(hk: Operator, name: str) -> None:
    case = CASES[name]
    path = _path(hk, case)
    federation = Federation({"HK": hk.trust_list()}, ())
    decision = federation.view("HK", NOW, Scope.E_SIGNATURE).decide(path)
    assert decision.recognised is case.recognised, decision.rule
    assert _certvalidator_accepts(path) is case.recognised
    if not case.recognised:
        assert "RFC 5280" in decision.rule or "policy processing" in decision.rule


def test_mapped_policy_is_reported_in_the_anchor_domain(hk: Operator) -> None:
    path = _path(hk, CASES["issuing CA maps the policy onto its own"])
    assert path_policies(path).policies == frozenset({MR})


def test_anchor_alone_carries_its_own_policies(hk: Operator) -> None:
    assert path_policies([hk.signer_path()[1]]).policies == frozenset({MR})


def test_mapping_any_policy_is_refused(hk: Operator) -> None:
    case = Case(_sub((MR,), mappings=((ANY, HK_LOCAL),)), (HK_LOCAL,), False)
    outcome = path_policies(_path(hk, case))
    assert outcome.problem is not None and "anyPolicy" in outcome.problem
