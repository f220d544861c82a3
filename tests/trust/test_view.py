"""Recognition in the eyes of a jurisdiction: bilateral, scoped, timed, non-transitive."""

from __future__ import annotations

from datetime import timedelta

from sealbridge.pki import profiles
from sealbridge.trust.model import Scope, ServiceStatus, StatusChange
from sealbridge.trust.view import Federation
from support.trust import NOW, Operator, agreement

POLICY = (profiles.MUTUAL_RECOGNITION_POLICY,)


def _federation(operators: dict[str, Operator], **lists: object) -> Federation:
    tls = {code: op.trust_list() for code, op in operators.items()}
    tls.update(lists)  # type: ignore[arg-type]
    return Federation(tls, (agreement("SZ", "HK"), agreement("SZ", "BJ")))


def test_own_list_and_agreements(operators: dict[str, Operator]) -> None:
    fed = _federation(operators)
    hk_path = [operators["HK"].ca.certificate]
    assert fed.view("HK", NOW, Scope.E_SIGNATURE).decide(hk_path, POLICY).recognised is True
    in_sz = fed.view("SZ", NOW, Scope.E_SIGNATURE).decide(hk_path, POLICY)
    assert in_sz.recognised is True and in_sz.agreement == "SZ<->HK"


def test_not_transitive(operators: dict[str, Operator]) -> None:
    fed = _federation(operators)
    decision = fed.view("BJ", NOW, Scope.E_SIGNATURE).decide(
        [operators["HK"].ca.certificate], POLICY
    )
    assert decision.recognised is False
    assert "no BJ–HK agreement" in decision.rule


def test_macao_only_at_home(operators: dict[str, Operator]) -> None:
    fed = _federation(operators)
    path = [operators["MO"].ca.certificate]
    verdicts = {
        j: fed.view(j, NOW, Scope.E_SIGNATURE).decide(path, POLICY).recognised for j in operators
    }
    assert verdicts == {"SZ": False, "HK": False, "BJ": False, "MO": True}


def test_policy_oid_is_required(operators: dict[str, Operator]) -> None:
    fed = _federation(operators)
    decision = fed.view("SZ", NOW, Scope.E_SIGNATURE).decide([operators["HK"].ca.certificate], ())
    assert decision.recognised is False and "policy" in decision.rule
    other_arc = ("2.16.344.8.2.20080.1",)
    assert (
        fed.view("SZ", NOW, Scope.E_SIGNATURE)
        .decide([operators["HK"].ca.certificate], other_arc)
        .recognised
        is False
    )


def test_agreement_scope_and_period(operators: dict[str, Operator]) -> None:
    tls = {code: op.trust_list() for code, op in operators.items()}
    seal_only = agreement("SZ", "HK", scopes=frozenset({Scope.E_SEAL}))
    repealed = agreement("SZ", "BJ", repealed_at=NOW - timedelta(days=1))
    fed = Federation(tls, (seal_only, repealed))
    view = fed.view("SZ", NOW, Scope.E_SIGNATURE)
    assert view.decide([operators["HK"].ca.certificate], POLICY).recognised is False
    assert view.decide([operators["BJ"].ca.certificate], POLICY).recognised is False
    earlier = fed.view("SZ", NOW - timedelta(days=10), Scope.E_SIGNATURE)
    assert earlier.decide([operators["BJ"].ca.certificate], POLICY).recognised is True


def test_status_history_counts_at_signing_time(operators: dict[str, Operator]) -> None:
    hk = operators["HK"]
    history = (
        StatusChange(ServiceStatus.GRANTED, NOW - timedelta(days=300)),
        StatusChange(ServiceStatus.WITHDRAWN, NOW - timedelta(days=10)),
    )
    fed = _federation(operators, HK=hk.trust_list(history=history))
    path = [hk.ca.certificate]
    assert (
        fed.view("HK", NOW - timedelta(days=20), Scope.E_SIGNATURE).decide(path, POLICY).recognised
    )
    late = fed.view("HK", NOW, Scope.E_SIGNATURE).decide(path, POLICY)
    assert late.recognised is False and "withdrawn" in late.rule


def test_unknown_chain(operators: dict[str, Operator]) -> None:
    stranger = Operator("XX")
    fed = _federation(operators)
    decision = fed.view("SZ", NOW, Scope.E_SIGNATURE).decide([stranger.ca.certificate], POLICY)
    assert decision.recognised is False and "no e-signature service" in decision.rule
