"""Signatures pyHanko does not list are still reported.

pyHanko leaves out every signature whose /SubFilter is missing or not one it knows
(legacy adbe.pkcs7.sha1 and adbe.x509.rsa_sha1 among them), and fails a whole document
over one signature dictionary it cannot read. A relying party must see every signature
in the file: each of these is listed, in signing order with the others, INDETERMINATE /
FORMAT_FAILURE with a sentence saying why it cannot be checked, and the file is not
accepted. Each case has an honest twin that passes.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from asn1crypto import core, pem
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader

from sealbridge.crypto.algorithms import KeyKind, signature_algorithm
from sealbridge.documents.pdf.contract import ContractDocument
from sealbridge.documents.pdf.sign import PadesLevel, PadesProfile, PdfSignerIdentity, sign_pdf
from sealbridge.trust.signed import sign_document, trust_list_payload
from sealbridge.verify.pades_status import CADES, PKCS7
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import (
    Check,
    Indication,
    SignatureKind,
    SignatureReport,
    ValidationReport,
)
from support.cli import invoke
from support.cms_world import World
from support.contracts import two_party_contract
from support.pki import Signer, enterprise
from support.trust import Operator
from verify import subfilters

SHA1 = (
    "/SubFilter adbe.pkcs7.sha1 is not supported: its CMS signs the SHA-1 digest of the byte "
    "ranges as encapsulated content, a legacy format this verifier does not check"
)


def _format_failure(reason: str) -> Check:
    return Check("format", Indication.INDETERMINATE, "FORMAT_FAILURE", reason)


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return two_party_contract("C-UNLISTED")


@pytest.fixture(scope="module")
def signer(world: World) -> Signer:
    return world.firm(KeyKind.ECDSA_P256)


def _verify(world: World, data: bytes) -> ValidationReport:
    context = federation_context(world.federation)
    return verify_pdf(data, "x.pdf", world.federation, ["SZ", "HK"], context=context)


def _pades(pdf: bytes, signer: Signer, field: str = "Party1") -> bytes:
    identity = PdfSignerIdentity(signer.key, signer.certificate, (signer.ca.certificate,))
    return sign_pdf(pdf, identity, None, PadesProfile(PadesLevel.B_B), field_name=field)


def _declaring(pdf: bytes, signer: Signer, subfilter: str | None, sig_type: str = "Sig") -> bytes:
    """``pdf`` signed once more, by a CMS over the byte ranges declared as ``subfilter``."""
    revision = subfilters.revision(pdf, signer, subfilter, sig_type=sig_type)
    return revision.embed(subfilters.pades(signer, revision.signed))


def _rsa_sha1(world: World, pdf: bytes) -> bytes:
    """adbe.x509.rsa_sha1: /Contents is a bare PKCS#1 value, no CMS at all."""
    rsa_signer = world.issue(world.ec_ca, KeyKind.RSA_2048, "深圳市前海示例科技有限公司")
    revision = subfilters.revision(pdf, rsa_signer, "adbe.x509.rsa_sha1")
    value = rsa_signer.key.sign(revision.signed, signature_algorithm("sha256_rsa"))
    return revision.embed(bytes(core.OctetString(value).dump()))


NOTHING_AFTER = "nothing was added to the file after this signature"
SIGNED_AFTER = "1 later revision(s) add only signatures, validation data or metadata"


def _undecided(sig: SignatureReport, reason: str, after: str | None = NOTHING_AFTER) -> None:
    """What a relying party sees for a signature nothing in which could be checked: why,
    and, when its byte range places it, what the file gained after it (``after``)."""
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "FORMAT_FAILURE")
    said_after = () if after is None else (f"modification: {after}",)
    assert sig.details == (f"cannot validate: {reason}", *said_after)
    assert sig.checks == (_format_failure(reason),)
    assert sig.level is None and sig.signer == "unknown"
    assert {j: r.label for j, r in sig.recognition.items()} == {
        "SZ": "indeterminate",
        "HK": "indeterminate",
    }


def _passed(sig: SignatureReport) -> None:
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None), sig.details
    assert (sig.id, sig.kind, sig.level) == ("Party1", SignatureKind.PADES, "B-B")
    assert sig.recognition["SZ"].recognised is True


# --- what happened after a signature that cannot be checked ----------------------------


def _rotated(data: bytes) -> bytes:
    """An update that turns the first page: a visible change no signature allows."""
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_later_signature_is_judged_allowed_after_a_legacy_one(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """The legacy signature cannot be checked, but what the file gained after it can: a
    PAdES signature, which is allowed, so it was not modified after signing."""
    data = _pades(_declaring(contract.pdf, signer, "adbe.pkcs7.sha1"), signer)
    legacy, _ = _verify(world, data).signatures
    _undecided(legacy, SHA1, SIGNED_AFTER)
    assert not legacy.modified_after_signing
    assert legacy.changes == ()


def test_a_page_turned_after_a_legacy_signature_is_reported(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """The same legacy signature with the page turned afterwards: still undecided, and
    now reported as modified after signing, with the change named (it was not: nothing
    after an unlisted signature was looked at)."""
    data = _rotated(_declaring(contract.pdf, signer, "adbe.pkcs7.sha1"))
    (legacy,) = _verify(world, data).signatures
    assert (legacy.indication, legacy.sub_indication) == (
        Indication.INDETERMINATE,
        "FORMAT_FAILURE",
    )
    assert legacy.details[0] == f"cannot validate: {SHA1}"
    assert legacy.details[1].startswith("modification: not allowed: ")
    assert legacy.modified_after_signing
    assert any(line.startswith("not allowed") and "Rotate" in line for line in legacy.changes)


# --- next to a signature that passes --------------------------------------------------


def test_a_legacy_signature_after_a_pades_one_is_reported_after_it(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """A contract signed in PAdES, then by an old tool in adbe.pkcs7.sha1: pyHanko lists
    one signature, the report shows both in signing order, and the file is not accepted
    (it was, with the second signature silently missing)."""
    data = _declaring(_pades(contract.pdf, signer), signer, "adbe.pkcs7.sha1")
    assert len(PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures) == 1
    report = _verify(world, data)
    first, second = report.signatures
    _passed(first)
    assert (second.id, second.kind) == ("Signature1", SignatureKind.CMS)
    _undecided(second, SHA1)
    assert not report.all_passed_and_recognised


def test_a_legacy_signature_before_a_pades_one_is_reported_before_it(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """The other order: the old tool signed first, the PAdES signer on top of it."""
    data = _pades(_declaring(contract.pdf, signer, "adbe.pkcs7.sha1"), signer)
    report = _verify(world, data)
    first, second = report.signatures
    assert (first.id, first.kind) == ("Signature1", SignatureKind.CMS)
    _undecided(first, SHA1, SIGNED_AFTER)
    _passed(second)
    assert not report.all_passed_and_recognised


def test_twin_two_pades_signatures_are_accepted(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """The honest twin: the second signature in ETSI.CAdES.detached, and both pass."""
    data = _declaring(_pades(contract.pdf, signer), signer, CADES)
    report = _verify(world, data)
    assert [(s.id, s.kind, s.indication) for s in report.signatures] == [
        ("Party1", SignatureKind.PADES, Indication.TOTAL_PASSED),
        ("Signature1", SignatureKind.PADES, Indication.TOTAL_PASSED),
    ]
    assert report.all_passed_and_recognised


# --- each format pyHanko leaves out -----------------------------------------------------


@pytest.mark.parametrize(
    ("subfilter", "sig_type", "kind", "reason"),
    [
        pytest.param("adbe.pkcs7.sha1", "Sig", SignatureKind.CMS, SHA1, id="adbe.pkcs7.sha1"),
        pytest.param(
            None,
            "Sig",
            SignatureKind.CMS,
            "the signature dictionary has no /SubFilter, so what /Contents holds is undeclared",
            id="no /SubFilter",
        ),
        pytest.param(
            "Acme.Seal",
            "Sig",
            SignatureKind.CMS,
            "/SubFilter Acme.Seal is not supported: a format this verifier does not know",
            id="unknown /SubFilter",
        ),
        pytest.param(
            "adbe.pkcs7.sha1",
            "DocTimeStamp",
            SignatureKind.DOC_TIMESTAMP,
            SHA1,
            id="document timestamp in adbe.pkcs7.sha1",
        ),
    ],
)
def test_a_format_pyhanko_leaves_out_is_undecided(
    world: World,
    contract: ContractDocument,
    signer: Signer,
    subfilter: str | None,
    sig_type: str,
    kind: SignatureKind,
    reason: str,
) -> None:
    """Reported with the sentence naming the format; legacy and unknown formats are not
    PAdES, so their kind is plain CMS (a document timestamp stays one)."""
    data = _declaring(contract.pdf, signer, subfilter, sig_type)
    assert PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures == []
    (sig,) = _verify(world, data).signatures
    assert (sig.id, sig.kind) == ("Signature1", kind)
    _undecided(sig, reason)


def test_adbe_x509_rsa_sha1_whose_contents_is_no_cms_is_undecided(
    world: World, contract: ContractDocument
) -> None:
    (sig,) = _verify(world, _rsa_sha1(world, contract.pdf)).signatures
    assert (sig.id, sig.kind) == ("Signature1", SignatureKind.CMS)
    _undecided(
        sig,
        "/SubFilter adbe.x509.rsa_sha1 is not supported: its /Contents is a bare PKCS#1 "
        "RSA-SHA1 value with the certificate in /Cert, a legacy format this verifier does "
        "not check",
    )


@pytest.mark.parametrize(
    ("subfilter", "kind"),
    [(CADES, SignatureKind.PADES), (PKCS7, SignatureKind.CMS)],
    ids=["ETSI.CAdES.detached", "adbe.pkcs7.detached"],
)
def test_twin_a_format_checked_here_passes_with_its_kind(
    world: World, contract: ContractDocument, signer: Signer, subfilter: str, kind: SignatureKind
) -> None:
    """The same CMS declared in a format checked here passes; adbe.pkcs7.detached is a
    CMS signature, not PAdES (EN 319 142-1 is ETSI.CAdES.detached), and has no level."""
    (sig,) = _verify(world, _declaring(contract.pdf, signer, subfilter)).signatures
    assert (sig.indication, sig.kind) == (Indication.TOTAL_PASSED, kind), sig.details
    assert sig.level == ("B-B" if kind is SignatureKind.PADES else None)


# --- dictionaries pyHanko cannot read ---------------------------------------------------


def _last_signature_dictionary(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data`` with ``old`` in the last signature dictionary rewritten to ``new`` (same
    length, so every offset holds)."""
    assert len(old) == len(new)
    at = data.rindex(old)
    return data[:at] + new + data[at + len(old) :]


def test_a_signature_without_byte_range_is_listed_not_refused(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """A second signature whose dictionary lost its /ByteRange failed the whole file
    (pyHanko raises listing it); now the first still passes and the second says what
    is missing."""
    data = _declaring(_pades(contract.pdf, signer), signer, PKCS7)
    broken = _last_signature_dictionary(data, b"/ByteRange", b"/ByteRangX")
    with pytest.raises(PdfReadError, match="ByteRange"):
        PdfFileReader(io.BytesIO(broken), strict=False).embedded_signatures  # noqa: B018
    report = _verify(world, broken)
    first, second = report.signatures
    _passed(first)
    assert (second.id, second.kind) == ("Signature1", SignatureKind.CMS)
    _undecided(
        second, "the signature dictionary has no /ByteRange, so what it signs is unknown", None
    )
    assert not report.all_passed_and_recognised


def test_a_signature_whose_contents_is_no_cms_is_listed_not_refused(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """ETSI.CAdES.detached declared over /Contents that is not CMS at all."""
    revision = subfilters.revision(_pades(contract.pdf, signer), signer, CADES)
    report = _verify(world, revision.embed(b"\x04\x03abc"))
    first, second = report.signatures
    _passed(first)
    assert (second.id, second.kind) == ("Signature1", SignatureKind.PADES)
    assert second.details[0].startswith("cannot validate: the signature's /Contents cannot be read")
    assert (second.indication, second.sub_indication) == (
        Indication.INDETERMINATE,
        "FORMAT_FAILURE",
    )
    assert second.recognition["SZ"].recognised is None


def test_a_byte_range_that_is_not_pairs_is_undecided(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """pyHanko lists an adbe.pkcs7.detached signature whose /ByteRange has three numbers,
    and reading it as (offset, length) pairs raised IndexError out of verify_pdf; now it
    is listed as what it is, after the signature that still passes."""
    data = _declaring(_pades(contract.pdf, signer), signer, PKCS7)
    start = data.rindex(b"/ByteRange [") + len(b"/ByteRange [")
    end = data.index(b"]", start)
    three = b" ".join(data[start:end].split()[:3])
    report = _verify(world, data[:start] + three.ljust(end - start) + data[end:])
    first, second = report.signatures
    _passed(first)
    reason = "the signature's /ByteRange is not pairs of numbers, so what it signs is unknown"
    _undecided(second, reason, None)


# --- through the command line -----------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Signer]:
    """A trust directory with SZ's list, and a signer under SZ's CA (no responders: the
    certificates name none)."""
    root = tmp_path_factory.mktemp("unlisted-trust")
    operator = Operator("SZ")
    for folder in ("pinned", "lists", "agreements"):
        (root / folder).mkdir()
    (root / "pinned" / "SZ.pem").write_bytes(pem.armor("CERTIFICATE", operator.certificate.dump()))
    signed_list = sign_document(
        trust_list_payload(operator.trust_list()), [(operator.key, operator.certificate)]
    )
    (root / "lists" / "SZ.json").write_bytes(signed_list)
    return root, enterprise(operator.ca, "深圳甲公司", KeyKind.ECDSA_P256)


@pytest.mark.parametrize(
    ("second", "code", "kinds"),
    [(CADES, 0, ["pades", "pades"]), ("adbe.pkcs7.sha1", 1, ["pades", "cms"])],
    ids=["both PAdES", "second legacy"],
)
def test_sealbridge_verify_exit_status(
    tmp_path: Path,
    site: tuple[Path, Signer],
    contract: ContractDocument,
    second: str,
    code: int,
    kinds: list[str],
) -> None:
    """``sealbridge verify`` exits 1 for a file with a signature it cannot check, and
    its JSON report lists that signature; the twin with two PAdES signatures exits 0."""
    trust, pdf_signer = site
    path = tmp_path / "contract.pdf"
    path.write_bytes(_declaring(_pades(contract.pdf, pdf_signer), pdf_signer, second))
    result = invoke({}, "verify", path, "--trust", trust, "--as", "SZ", "--format", "json")
    assert result.exit_code == code, result.output
    signatures = json.loads(result.stdout)["signatures"]
    assert [s["kind"] for s in signatures] == kinds
    assert [s["id"] for s in signatures] == ["Party1", "Signature1"]
    assert signatures[0]["indication"] == "TOTAL-PASSED"
