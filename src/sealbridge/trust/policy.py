"""RFC 5280 certificate policy processing for recognition decisions.

A jurisdiction that requires a policy means the *path* must carry it, not just the
signer's certificate: an intermediate CA without the policy (or one that maps it away,
or inhibits it) breaks it for everything below, however the leaf is dressed.

The policy graph of RFC 9618 (the fix of RFC 5280's exponential policy tree) comes from
pyhanko-certvalidator; the state machine around it is here, because recognition runs on
paths that pyhanko-certvalidator cannot validate end to end (SM2 signatures), and on
sub-paths that start at whichever certificate a trust list names.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import x509
from pyhanko_certvalidator.policy_graph import (
    ANY_POLICY,
    PolicyGraph,
    PolicyGraphSizeExceeded,
    apply_policy_mapping,
    update_policy_graph,
    user_constrained_policies,
)

# A hostile chain could otherwise grow the graph without bound (RFC 9618, section 1).
MAX_POLICY_GRAPH_NODES = 1000


@dataclass(frozen=True)
class PolicyOutcome:
    """The policies a path validly carries, in the anchor's (user) domain.

    ``problem`` says why the set is empty when processing, not the certificates'
    content, emptied it (a mapping of anyPolicy, a graph past its size limit).
    """

    policies: frozenset[str]
    problem: str | None = None


def path_policies(path: Sequence[x509.Certificate]) -> PolicyOutcome:
    """Run RFC 5280 section 6.1 policy processing over ``path`` (anchor first).

    The anchor itself is not processed (RFC 5280 6.1: it is input, not part of the
    path). A path of the anchor alone carries the anchor's own policies, which is what
    a certificate listed directly on a trust list (a seal maker) asserts for itself.
    """
    if not path:
        return PolicyOutcome(frozenset())
    if len(path) == 1:
        return PolicyOutcome(_asserted(path[0]))
    certs = list(path[1:])
    n = len(certs)
    explicit_policy = inhibit_any_policy = policy_mapping = n + 1
    graph: PolicyGraph | None = PolicyGraph(max_nodes=MAX_POLICY_GRAPH_NODES)
    try:
        for index, cert in enumerate(certs, start=1):
            policies = cert.certificate_policies_value
            if policies is None:
                graph = None
            elif graph is not None:
                graph = update_policy_graph(
                    policies,
                    graph,
                    depth=index,
                    any_policy_uninhibited=inhibit_any_policy > 0
                    or (index < n and cert.self_issued),
                )
            if index == n:
                break
            if cert.policy_mappings_value:
                mapping = _mapping(cert)
                if mapping is None:
                    return PolicyOutcome(
                        frozenset(), f"{_name(cert)} maps anyPolicy, which RFC 5280 forbids"
                    )
                if graph is not None:
                    graph = apply_policy_mapping(
                        mapping, graph, depth=index, policy_mapping_uninhibited=policy_mapping > 0
                    )
            if not cert.self_issued:
                explicit_policy = max(explicit_policy - 1, 0)
                policy_mapping = max(policy_mapping - 1, 0)
                inhibit_any_policy = max(inhibit_any_policy - 1, 0)
            constraints = cert.policy_constraints_value
            if constraints:
                require = constraints["require_explicit_policy"].native
                if require is not None:
                    explicit_policy = min(explicit_policy, require)
                inhibit = constraints["inhibit_policy_mapping"].native
                if inhibit is not None:
                    policy_mapping = min(policy_mapping, inhibit)
            if cert.inhibit_any_policy_value is not None:
                inhibit_any_policy = min(inhibit_any_policy, cert.inhibit_any_policy_value.native)
    except PolicyGraphSizeExceeded:
        return PolicyOutcome(frozenset(), "the certificate policy graph exceeds its size limit")
    leaf = certs[-1]
    explicit_policy = max(explicit_policy - 1, 0)
    leaf_constraints = leaf.policy_constraints_value
    if leaf_constraints and leaf_constraints["require_explicit_policy"].native == 0:
        explicit_policy = 0
    qualified = user_constrained_policies(graph, n, frozenset({ANY_POLICY}))
    found = frozenset(
        q.user_domain_policy_id for q in qualified if q.user_domain_policy_id != ANY_POLICY
    )
    if not qualified and explicit_policy == 0:
        return PolicyOutcome(
            found, "the path requires an explicit policy and no valid policy remains"
        )
    return PolicyOutcome(found)


def matches_prefix(prefix: str, policies: frozenset[str]) -> bool:
    """``prefix`` names itself and every OID under it (Hong Kong's 2.16.344.8.2.2008.810.2.*)."""
    return any(p == prefix or p.startswith(prefix + ".") for p in policies)


def _asserted(cert: x509.Certificate) -> frozenset[str]:
    value = cert.certificate_policies_value
    if value is None:
        return frozenset()
    oids = (p["policy_identifier"] for p in value)
    return frozenset(oid.dotted for oid in oids if oid.native != ANY_POLICY)


def _mapping(cert: x509.Certificate) -> dict[str, set[str]] | None:
    mapping: dict[str, set[str]] = defaultdict(set)
    for entry in cert.policy_mappings_value:
        issuer = entry["issuer_domain_policy"].native
        subject = entry["subject_domain_policy"].native
        if ANY_POLICY in (issuer, subject):
            return None
        mapping[issuer].add(subject)
    return mapping


def _name(cert: x509.Certificate) -> str:
    return str(cert.subject.human_friendly)
