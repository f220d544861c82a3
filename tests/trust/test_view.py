"""Recognition in the eyes of a jurisdiction: bilateral, scoped, timed, non-transitive."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sealbridge.pki import profiles
from sealbridge.trust.model import Scope, ServiceStatus, StatusChange
from sealbridge.trust.view import Federation
from support.trust import NOW, Operator, agreement


def _federation(operators: dict[str, Operator], **lists: object) -> Federation:
    tls = {code: op.trust_list() for code, op in operators.items()}
    tls.update(lists)  # type: ignore[arg-type]
    return Federation(tls, (agreement("SZ", "HK"), agreement("SZ", "BJ")))


def test_own_list_and_agreements(operators: dict[str, Operator]) -> None:
    fed = _federation(operators)
    hk_path = operators["HK"].signer_path()
    assert fed.view("HK", NOW, Scope.E_SIGNATURE).decide(hk_path).recognised is True
    in_sz = fed.view("SZ", NOW, Scope.E_SIGNATURE).decide(hk_path)
    assert in_sz.recognised is True and in_sz.agreement == "SZ<->HK"


def test_not_transitive(operators: dict[str, Operator]) -> None:
    fed = _federation(operators)
    decision = fed.view("BJ", NOW, Scope.E_SIGNATURE).decide(operators["HK"].signer_path())
    assert decision.recognised is False
    assert "no BJ–HK agreement" in decision.rule


def test_macao_only_at_home(operators: dict[str, Operator]) -> None:
    fed = _federation(operators)
    path = operators["MO"].signer_path()
    verdicts = {j: fed.view(j, NOW, Scope.E_SIGNATURE).decide(path).recognised for j in operators}
    assert verdicts == {"SZ": False, "HK": False, "BJ": False, "MO": True}


def test_policy_oid_is_required(operators: dict[str, Operator]) -> None:
    fed = _federation(operators)
    no_policy = replace(profiles.ENTERPRISE_SIGNATURE, policies=())
    decision = fed.view("SZ", NOW, Scope.E_SIGNATURE).decide(operators["HK"].signer_path(no_policy))
    assert decision.recognised is False and "policy" in decision.rule
    # An arc that merely starts with the same digits is another policy.
    other_arc = replace(profiles.ENTERPRISE_SIGNATURE, policies=("2.16.344.8.2.20080.1",))
    view = fed.view("SZ", NOW, Scope.E_SIGNATURE)
    assert view.decide(operators["HK"].signer_path(other_arc)).recognised is False


def test_agreement_scope_and_period(operators: dict[str, Operator]) -> None:
    tls = {code: op.trust_list() for code, op in operators.items()}
    seal_only = agreement("SZ", "HK", scopes=frozenset({Scope.E_SEAL}))
    repealed = agreement("SZ", "BJ", repealed_at=NOW - timedelta(days=1))
    fed = Federation(tls, (seal_only, repealed))
    view = fed.view("SZ", NOW, Scope.E_SIGNATURE)
    assert view.decide(operators["HK"].signer_path()).recognised is False
    assert view.decide(operators["BJ"].signer_path()).recognised is False
    earlier = fed.view("SZ", NOW - timedelta(days=10), Scope.E_SIGNATURE)
    assert earlier.decide(operators["BJ"].signer_path()).recognised is True


def test_status_history_counts_at_signing_time(operators: dict[str, Operator]) -> None:
    hk = operators["HK"]
    history = (
        StatusChange(ServiceStatus.GRANTED, NOW - timedelta(days=300)),
        StatusChange(ServiceStatus.WITHDRAWN, NOW - timedelta(days=10)),
    )
    fed = _federation(operators, HK=hk.trust_list(history=history))
    path = hk.signer_path()
    assert fed.view("HK", NOW - timedelta(days=20), Scope.E_SIGNATURE).decide(path).recognised
    late = fed.view("HK", NOW, Scope.E_SIGNATURE).decide(path)
    assert late.recognised is False and "withdrawn" in late.rule


def test_unknown_chain(operators: dict[str, Operator]) -> None:
    stranger = Operator("XX")
    fed = _federation(operators)
    decision = fed.view("SZ", NOW, Scope.E_SIGNATURE).decide(stranger.signer_path())
    assert decision.recognised is False and "no e-signature service" in decision.rule
