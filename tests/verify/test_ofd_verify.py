"""OFD seal signatures verified in the eyes of each jurisdiction.

Our contract is stamped with seals made in the trusted test world (its SM2 CA answers
OCSP over real HTTP on 127.0.0.1), so a clean package must pass everywhere the e-seal
scope is agreed; each kind of tampering must fail at the step that catches it. The
ofdrw vectors chain to roots no trust list holds: their signatures verify, their chains
end in "no trusted anchor".
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealbridge.authority.server import AuthorityServer
from sealbridge.documents.ofd.contract import OfdContract, build_ofd_contract
from sealbridge.documents.ofd.stamp import stamp_ofd
from sealbridge.documents.pdf.contract import ContractParty
from sealbridge.errors import MalformedInput
from sealbridge.trust.view import Federation
from sealbridge.verify.ofd import verify_ofd
from sealbridge.verify.report.model import Indication, SignatureKind, SignatureReport
from sealbridge.verify.revocation import OcspRevocationSource
from seals.trusted import JURISDICTIONS, Party, World, build_world
from support.trust import Operator, agreement

INTEROP = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop" / "ofdrw"
RECOGNISED_SZ_HK_BJ = {"SZ": True, "HK": True, "BJ": True, "MO": False}
# Within the validity of ofdrw's 2020 test seals (April 2020 to April 2022).
WHILE_VALID = datetime(2021, 6, 1, tzinfo=UTC)
PAGE = "Doc_0/Pages/Page_0/Content.xml"
SIGN_0 = "Doc_0/Signs/Sign_0"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with AuthorityServer() as server:
        yield build_world(server)


@pytest.fixture(scope="module")
def contract() -> OfdContract:
    return build_ofd_contract(
        "跨境服务合同",
        "Cross-border Services Contract",
        [
            ContractParty(
                "甲方", "Party A", "深圳市前海示例科技有限公司", "Qianhai Demo", "X", "深圳"
            ),
            ContractParty(
                "乙方", "Party B", "香港示範貿易有限公司", "HK Demo Trading", "Y", "香港"
            ),
        ],
        [("乙方提供咨询服务。", "Party B provides consulting services.")],
        contract_no="SB-V-1",
        on=date(2026, 11, 25),
    )


@pytest.fixture(scope="module")
def firm(world: World) -> Party:
    return world.firm()


@pytest.fixture(scope="module")
def seal(world: World, firm: Party) -> bytes:
    return world.seal(world.maker(), firm)


def _stamp(
    world: World,
    ofd: bytes,
    seal: bytes,
    firm: Party,
    place: int,
    box: tuple[float, float, float, float],
) -> bytes:
    return stamp_ofd(
        ofd,
        seal_der=seal,
        signer_key=firm.key,
        signer_certificate=firm.certificate,
        page=place,
        boundary_mm=box,
        time=world.now,
    )


@pytest.fixture(scope="module")
def stamped(world: World, contract: OfdContract, seal: bytes, firm: Party) -> bytes:
    place = contract.places[0]
    return _stamp(world, contract.ofd, seal, firm, place.page, place.boundary_mm)


@pytest.fixture(scope="module")
def stamped_twice(world: World, contract: OfdContract, stamped: bytes) -> bytes:
    other = world.firm("香港示範貿易有限公司")
    seal = world.seal(world.maker(), other, es_id="4403050000002")
    place = contract.places[1]
    return _stamp(world, stamped, seal, other, place.page, place.boundary_mm)


def _verify(world: World, data: bytes) -> tuple[SignatureReport, ...]:
    report = verify_ofd(
        data, "contract.ofd", world.federation, JURISDICTIONS, revocation=OcspRevocationSource()
    )
    return report.signatures


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


def _rezip(entries: Mapping[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def _changed(data: bytes, path: str, content: bytes) -> bytes:
    return _rezip({**_entries(data), path: content})


def _line(report: SignatureReport, step: str) -> str:
    return next(d for d in report.details if d.startswith(f"{step}: "))


def _recognised(report: SignatureReport) -> dict[str, bool | None]:
    return {code: r.recognised for code, r in report.recognition.items()}


def test_stamped_contract_passes_and_is_recognised_where_agreed(
    world: World, stamped: bytes
) -> None:
    (report,) = _verify(world, stamped)
    assert report.kind is SignatureKind.OFD_SEAL
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_PASSED, None)
    assert all(": ok — " in d for d in report.details), report.details
    assert _recognised(report) == RECOGNISED_SZ_HK_BJ
    assert not report.modified_after_signing and report.changes == ()
    assert report.id == f"{SIGN_0}/Signature.xml"
    assert "good per OCSP" in _line(report, "signer-revocation")
    assert _line(report, "references").startswith("references: ok — all 5 protected files")


def test_two_seals_both_verify(world: World, stamped_twice: bytes) -> None:
    reports = _verify(world, stamped_twice)
    assert [r.id for r in reports] == [
        f"{SIGN_0}/Signature.xml",
        "Doc_0/Signs/Sign_1/Signature.xml",
    ]
    for report in reports:
        assert report.indication is Indication.TOTAL_PASSED, report.details
        assert not report.modified_after_signing
        assert _recognised(report) == RECOGNISED_SZ_HK_BJ
    assert "香港示範貿易有限公司" in reports[1].signer


def test_changed_page_content_is_a_hash_failure_naming_the_file(
    world: World, stamped_twice: bytes
) -> None:
    content = _entries(stamped_twice)[PAGE]
    tampered = _changed(stamped_twice, PAGE, content.replace("咨询".encode(), "销售".encode()))
    for report in _verify(world, tampered):
        assert (report.indication, report.sub_indication) == (
            Indication.TOTAL_FAILED,
            "HASH_FAILURE",
        )
        assert PAGE in _line(report, "references")
        assert report.modified_after_signing
        assert report.changes == (f"{PAGE}: changed after signing",)
        assert not any(_recognised(report).values())


def test_removed_file_is_a_hash_failure(world: World, stamped: bytes) -> None:
    entries = _entries(stamped)
    del entries["Doc_0/PublicRes.xml"]
    (report,) = _verify(world, _rezip(entries))
    assert report.sub_indication == "HASH_FAILURE"
    assert "missing: Doc_0/PublicRes.xml" in _line(report, "references")


def test_tampered_signature_xml_breaks_the_data_hash(world: World, stamped: bytes) -> None:
    path = f"{SIGN_0}/Signature.xml"
    xml = _entries(stamped)[path]
    (report,) = _verify(world, _changed(stamped, path, xml.replace(b'PageRef="', b'PageRef="9')))
    assert (report.indication, report.sub_indication) == (Indication.TOTAL_FAILED, "HASH_FAILURE")
    assert "differs from the stamp's dataHash" in _line(report, "data-hash")


def test_tampered_signed_value_breaks_the_signer_signature(world: World, stamped: bytes) -> None:
    path = f"{SIGN_0}/SignedValue.dat"
    value = bytearray(_entries(stamped)[path])
    value[-5] ^= 0x01  # inside the signer's signature, the last field
    (report,) = _verify(world, _changed(stamped, path, bytes(value)))
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        "SIG_CRYPTO_FAILURE",
    )
    assert "FAILED" in _line(report, "signer-signature")


def test_truncated_signed_value_is_a_format_failure(world: World, stamped: bytes) -> None:
    path = f"{SIGN_0}/SignedValue.dat"
    value = _entries(stamped)[path]
    (report,) = _verify(world, _changed(stamped, path, value[:100]))
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        "FORMAT_FAILURE",
    )
    assert report.details[0].startswith("parse: FAILED — malformed")


def test_swapped_seal_file_is_caught(world: World, stamped: bytes, firm: Party) -> None:
    other = world.seal(world.maker(), firm, es_id="4403050000099")
    (report,) = _verify(world, _changed(stamped, f"{SIGN_0}/Seal.esl", other))
    assert report.indication is Indication.TOTAL_FAILED
    assert "Seal.esl" in _line(report, "references")
    assert "is not the seal inside the stamp" in _line(report, "seal-file")


def test_added_file_is_reported_as_a_change(world: World, stamped: bytes) -> None:
    added = _rezip({**_entries(stamped), "Doc_0/Res/extra.png": b"\x89PNG not protected"})
    (report,) = _verify(world, added)
    assert report.modified_after_signing
    assert report.changes == ("Doc_0/Res/extra.png: added after signing",)
    assert (report.indication, report.sub_indication) == (
        Indication.TOTAL_FAILED,
        "SIG_CONSTRAINTS_FAILURE",
    )
    assert "Doc_0/Res/extra.png" in _line(report, "coverage")


def test_unsigned_contract_has_no_signatures(world: World, contract: OfdContract) -> None:
    assert _verify(world, contract.ofd) == ()


@pytest.mark.parametrize("data", [b"", b"not a zip", _rezip({"Doc_0/Document.xml": b"<x/>"})])
def test_non_ofd_input_is_malformed(world: World, data: bytes) -> None:
    with pytest.raises(MalformedInput):
        _verify(world, data)


@pytest.fixture(scope="module")
def foreign() -> Federation:
    lists = {code: Operator(code).trust_list() for code in ("SZ", "HK")}
    return Federation(lists, (agreement("SZ", "HK"),))


@pytest.mark.parametrize("name", ["v4signed.ofd", "SESV4SignDoc.ofd"])
def test_ofdrw_vectors_verify_without_a_trusted_anchor(foreign: Federation, name: str) -> None:
    path = INTEROP / name
    if not path.is_file():
        pytest.skip(f"interop vector {path} is not present")
    report = verify_ofd(path.read_bytes(), name, foreign, ["SZ", "HK"], at=WHILE_VALID)
    (signature,) = report.signatures
    for step in ("signer-signature", "maker-signature", "data-hash", "references", "coverage"):
        assert _line(signature, step).startswith(f"{step}: ok"), signature.details
    assert _line(signature, "maker-chain").endswith("[INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND]")
    assert (signature.indication, signature.sub_indication) == (
        Indication.INDETERMINATE,
        "NO_CERTIFICATE_CHAIN_FOUND",
    )
    assert not signature.modified_after_signing
    assert {j: r.recognised for j, r in signature.recognition.items()} == {
        "SZ": False,
        "HK": False,
    }


def test_our_stamp_on_an_ofdrw_package_keeps_ofdrws_intact(
    world: World, seal: bytes, firm: Party
) -> None:
    path = INTEROP / "SESV4SignDoc.ofd"
    if not path.is_file():
        pytest.skip(f"interop vector {path} is not present")
    ours = _stamp(world, path.read_bytes(), seal, firm, 0, (120.0, 200.0, 40.0, 40.0))
    theirs, mine = _verify(world, ours)
    for step in ("signer-signature", "maker-signature", "data-hash", "references", "coverage"):
        assert _line(theirs, step).startswith(f"{step}: ok"), theirs.details
    assert theirs.indication is Indication.INDETERMINATE
    assert mine.indication is Indication.TOTAL_PASSED, mine.details


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1024))
def test_random_bytes_give_malformed_input(data: bytes) -> None:
    with pytest.raises(MalformedInput):
        verify_ofd(data, "random.ofd", Federation({}, ()), ["SZ"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_stamped_packages_give_a_report_or_malformed_input(
    foreign: Federation, stamped: bytes, data: st.DataObject
) -> None:
    entries = _entries(stamped)
    path = data.draw(st.sampled_from(sorted(entries)))
    content = bytearray(entries[path])
    for _ in range(data.draw(st.integers(1, 6))):
        if content:
            content[data.draw(st.integers(0, len(content) - 1))] = data.draw(st.integers(0, 255))
    mutated = bytes(content)
    try:
        report = verify_ofd(_rezip({**entries, path: mutated}), "m.ofd", foreign, ["SZ"])
    except MalformedInput:
        return
    # Every file but the (deliberately unprotected) signature list is covered by a
    # CheckValue, the dataHash or the signer's signature: any change must fail.
    if mutated != entries[path] and path != "Doc_0/Signs/Signatures.xml":
        assert [s.indication for s in report.signatures] == [Indication.TOTAL_FAILED], path
