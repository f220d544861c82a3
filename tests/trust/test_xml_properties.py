"""Properties of the XML trust list reader: it returns the signed list or a TrustError.

Three angles: any list the model can hold survives the round trip; random byte damage to
a signed list never yields anything but a TrustError or the very same list; and a list
that its operator *did* sign but whose structure is mangled is refused as a TrustError,
never a crash, since an operator's tooling can be wrong too.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import x509
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sealbridge.errors import TrustError
from sealbridge.trust.model import (
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)
from sealbridge.trust.signed import trust_list_payload
from sealbridge.trust.xml import build_tree, load_trust_list_xml, sign_xml, to_xml
from support.trust import NOW, Operator

# Text XML 1.0 can carry: no C0 controls but tab, newline, carriage return; no surrogates
# and no non-characters such as U+FFFE.
xml_text = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Cn"), include_characters="\t\n\r"),
    max_size=12,
)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
oids = st.lists(st.integers(0, 2**40), min_size=1, max_size=6).map(
    lambda arcs: ".".join(map(str, [1, *arcs]))
)


@st.composite
def trust_lists(draw: st.DrawFn, certificates: list[x509.Certificate]) -> TrustList:
    def service() -> TrustService:
        changes = sorted(draw(st.lists(times, min_size=1, max_size=4)))
        return TrustService(
            name=draw(xml_text),
            service_type=draw(st.sampled_from(ServiceType)),
            certificate=draw(st.sampled_from(certificates)),
            history=tuple(StatusChange(draw(st.sampled_from(ServiceStatus)), t) for t in changes),
            policy_prefixes=tuple(draw(st.lists(oids, max_size=3))),
            supply_points=tuple(draw(st.lists(xml_text, max_size=2))),
        )

    providers = tuple(
        TrustServiceProvider(
            draw(xml_text), tuple(service() for _ in range(draw(st.integers(0, 3))))
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    issued = draw(times)
    return TrustList(
        territory=draw(xml_text),
        operator=draw(xml_text),
        sequence_number=draw(st.integers(0, 10**18 - 1)),
        issued=issued,
        next_update=issued + draw(st.timedeltas(timedelta(seconds=1), timedelta(days=400))),
        providers=providers,
    )


@pytest.fixture(scope="module")
def op(operators: dict[str, Operator]) -> Operator:
    return operators["SZ"]


@pytest.fixture(scope="module")
def certificates(operators: dict[str, Operator]) -> list[x509.Certificate]:
    return [o.ca.certificate for o in operators.values()]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_model_list_round_trips(
    op: Operator, certificates: list[x509.Certificate], data: st.DataObject
) -> None:
    tl = data.draw(trust_lists(certificates))
    loaded = load_trust_list_xml(to_xml(tl, op.key, op.certificate), op.certificate, now=tl.issued)
    assert trust_list_payload(loaded) == trust_list_payload(tl)


@pytest.fixture(scope="module")
def signed_list(op: Operator) -> tuple[bytes, dict[str, object]]:
    tl = op.trust_list(
        sequence=3,
        history=(
            StatusChange(ServiceStatus.GRANTED, NOW - timedelta(days=300)),
            StatusChange(ServiceStatus.WITHDRAWN, NOW - timedelta(days=3)),
        ),
    )
    return to_xml(tl, op.key, op.certificate), trust_list_payload(tl)


mutation = st.tuples(
    st.sampled_from(["replace", "delete", "insert", "duplicate", "truncate"]),
    st.floats(0, 1, exclude_max=True),
    st.binary(min_size=1, max_size=6),
)


def _mutate(data: bytes, kind: str, where: float, payload: bytes) -> bytes:
    at = int(where * len(data))
    end = min(len(data), at + len(payload))
    if kind == "replace":
        return data[:at] + payload + data[end:]
    if kind == "delete":
        return data[:at] + data[end:]
    if kind == "insert":
        return data[:at] + payload + data[at:]
    if kind == "duplicate":
        return data[:end] + data[at:]
    return data[:at]


@settings(max_examples=200, deadline=None)
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_damaged_bytes_give_a_trust_error_or_the_same_list(
    op: Operator,
    signed_list: tuple[bytes, dict[str, object]],
    mutations: list[tuple[str, float, bytes]],
) -> None:
    data, expected = signed_list
    for kind, where, payload in mutations:
        data = _mutate(data, kind, where, payload)
    try:
        tl = load_trust_list_xml(data, op.certificate, now=NOW)
    except TrustError:
        return
    assert trust_list_payload(tl) == expected


tree_edit = st.tuples(
    st.sampled_from(["remove", "duplicate", "text", "move", "attribute"]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.one_of(
        xml_text,
        st.sampled_from(["5", "-1", "2026-13-01T00:00:00Z", "urn:oid:x", "true", "false", ""]),
    ),
)


def _edit(root: etree._Element, kind: str, a: int, b: int, text: str) -> None:
    elements = list(root.iter())[1:]
    if not elements:
        return
    victim = elements[a % len(elements)]
    parent = victim.getparent()
    assert parent is not None
    if kind == "remove":
        parent.remove(victim)
    elif kind == "duplicate":
        victim.addnext(copy.deepcopy(victim))
    elif kind == "text":
        victim.text = text
    elif kind == "move":
        target = elements[b % len(elements)]
        if victim not in target.iterancestors() and target is not victim:
            target.append(victim)
    else:
        name = ("Critical", "assert", "uri", "{http://www.w3.org/XML/1998/namespace}lang")[b % 4]
        victim.set(name, text)


@settings(max_examples=80, deadline=None)
@given(edits=st.lists(tree_edit, min_size=1, max_size=3))
def test_mangled_but_signed_structure_gives_a_trust_error(
    op: Operator, certificates: list[x509.Certificate], edits: list[tuple[str, int, int, str]]
) -> None:
    root = build_tree(op.trust_list())
    for edit in edits:
        _edit(root, *edit)
    try:
        tl = load_trust_list_xml(sign_xml(root, op.key, op.certificate), op.certificate, now=NOW)
    except TrustError:
        return
    assert isinstance(tl, TrustList)
