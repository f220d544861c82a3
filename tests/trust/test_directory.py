"""A trust directory on disk is verified as strictly as lists fetched over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asn1crypto import pem

from sealbridge.errors import TrustError
from sealbridge.trust.directory import load_trust_directory
from sealbridge.trust.signed import agreement_payload, sign_document, trust_list_payload
from sealbridge.trust.xml import to_xml
from support.trust import NOW, Operator, agreement


def _lay_out(root: Path, operators: dict[str, Operator]) -> None:
    for folder in ("pinned", "lists", "agreements"):
        (root / folder).mkdir(parents=True)
    for code, op in operators.items():
        (root / "pinned" / f"{code}.pem").write_bytes(
            pem.armor("CERTIFICATE", op.certificate.dump())
        )
        body = sign_document(trust_list_payload(op.trust_list()), [(op.key, op.certificate)])
        (root / "lists" / f"{code}.json").write_bytes(body)
    sz, hk = operators["SZ"], operators["HK"]
    (root / "agreements" / "SZ-HK.json").write_bytes(
        sign_document(
            agreement_payload(agreement("SZ", "HK")),
            [(sz.key, sz.certificate), (hk.key, hk.certificate)],
        )
    )


def test_loads_lists_and_agreements(tmp_path: Path, operators: dict[str, Operator]) -> None:
    _lay_out(tmp_path, operators)
    federation = load_trust_directory(tmp_path, now=NOW)
    assert sorted(federation.trust_lists) == ["BJ", "HK", "MO", "SZ"]
    assert [a.label for a in federation.agreements] == ["SZ<->HK"]


def test_tampered_list_names_the_file(tmp_path: Path, operators: dict[str, Operator]) -> None:
    _lay_out(tmp_path, operators)
    path = tmp_path / "lists" / "HK.json"
    doc = json.loads(path.read_bytes())
    doc["payload"]["sequence_number"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(TrustError, match=r"HK\.json: trust list: signature .* does not verify"):
        load_trust_directory(tmp_path, now=NOW)


def test_list_swapped_for_another_jurisdiction(
    tmp_path: Path, operators: dict[str, Operator]
) -> None:
    _lay_out(tmp_path, operators)
    (tmp_path / "lists" / "HK.json").write_bytes((tmp_path / "lists" / "MO.json").read_bytes())
    with pytest.raises(TrustError, match=r"HK\.json"):
        load_trust_directory(tmp_path, now=NOW)


def test_agreement_with_unpinned_party(tmp_path: Path, operators: dict[str, Operator]) -> None:
    _lay_out(tmp_path, operators)
    (tmp_path / "pinned" / "HK.pem").unlink()
    (tmp_path / "lists" / "HK.json").unlink()
    with pytest.raises(TrustError, match="names HK, whose operator is not pinned"):
        load_trust_directory(tmp_path, now=NOW)


def test_pinned_file_that_is_not_a_certificate(
    tmp_path: Path, operators: dict[str, Operator]
) -> None:
    _lay_out(tmp_path, operators)
    (tmp_path / "pinned" / "SZ.pem").write_text("hello")
    with pytest.raises(TrustError, match=r"SZ\.pem: not a certificate"):
        load_trust_directory(tmp_path, now=NOW)


def test_xml_lists_load_alongside_json(tmp_path: Path, operators: dict[str, Operator]) -> None:
    _lay_out(tmp_path, operators)
    sz = operators["SZ"]
    (tmp_path / "lists" / "SZ.json").unlink()
    (tmp_path / "lists" / "SZ.xml").write_bytes(to_xml(sz.trust_list(4), sz.key, sz.certificate))
    federation = load_trust_directory(tmp_path, now=NOW)
    assert federation.trust_lists["SZ"].sequence_number == 4
    assert federation.trust_lists["HK"].sequence_number == 1


def test_tampered_xml_list_names_the_file(tmp_path: Path, operators: dict[str, Operator]) -> None:
    _lay_out(tmp_path, operators)
    sz = operators["SZ"]
    (tmp_path / "lists" / "SZ.json").unlink()
    body = to_xml(sz.trust_list(), sz.key, sz.certificate).replace(b"SZ provider", b"SZ provideR")
    (tmp_path / "lists" / "SZ.xml").write_bytes(body)
    with pytest.raises(TrustError, match=r"SZ\.xml: trust list signature does not verify"):
        load_trust_directory(tmp_path, now=NOW)


def test_two_lists_of_one_jurisdiction(tmp_path: Path, operators: dict[str, Operator]) -> None:
    _lay_out(tmp_path, operators)
    mo = operators["MO"]
    (tmp_path / "lists" / "MO.xml").write_bytes(to_xml(mo.trust_list(), mo.key, mo.certificate))
    with pytest.raises(TrustError, match=r"MO\.json and .*MO\.xml: two lists of MO"):
        load_trust_directory(tmp_path, now=NOW)


def test_missing_list_is_named(tmp_path: Path, operators: dict[str, Operator]) -> None:
    _lay_out(tmp_path, operators)
    (tmp_path / "lists" / "BJ.json").unlink()
    with pytest.raises(TrustError, match=r"BJ\.json \(or \.xml\): the trust list .* BJ is missing"):
        load_trust_directory(tmp_path, now=NOW)
