"""The signature dictionary's /SubFilter against what /Contents holds.

A relying party must not see TOTAL-PASSED for a signature that is not what it declares:
a document timestamp's format on a /Sig, a /DocTimeStamp declaring a signature format,
a PAdES (ETSI.CAdES.detached) CMS without the signing-certificate attribute that
EN 319 142-1 requires. Each is TOTAL-FAILED / FORMAT_FAILURE with a format check naming
the mismatch, next to an honest twin that passes; pyHanko's verdict on the same file is
asserted where it has one. A format not checked here is INDETERMINATE / FORMAT_FAILURE,
never a guess.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import pytest
from asn1crypto import cms, core
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from sealbridge.crypto.algorithms import KeyKind, signature_algorithm
from sealbridge.documents.pdf.contract import ContractDocument
from sealbridge.documents.pdf.reader import open_for_signing, open_pdf
from sealbridge.documents.pdf.sign import run_async
from sealbridge.verify.chain import ChainOutcome
from sealbridge.verify.outcome import unverifiable_report
from sealbridge.verify.pades_status import (
    CADES,
    PKCS7,
    RFC3161,
    FormatFailure,
    check_pdf_signature,
)
from sealbridge.verify.pdf import federation_context, verify_pdf
from sealbridge.verify.report.model import Check, Indication, SignatureKind, SignatureReport
from support.cms_world import World, pyhanko_status
from support.contracts import two_party_contract
from support.pki import Signer
from verify import subfilters


@pytest.fixture(scope="module")
def contract() -> ContractDocument:
    return two_party_contract("C-SUBFILTER")


@pytest.fixture(scope="module")
def signer(world: World) -> Signer:
    return world.firm(KeyKind.ECDSA_P256)


def _verify(world: World, data: bytes) -> list[SignatureReport]:
    context = federation_context(world.federation)
    return list(verify_pdf(data, "x.pdf", world.federation, ["SZ"], context=context).signatures)


def _check(sig: SignatureReport, name: str) -> Check:
    return next(c for c in sig.checks if c.name == name)


PyHanko = Literal["valid", "refused"]


def _pyhanko(world: World, data: bytes, timestamp: bool) -> PyHanko:
    """``valid`` when pyHanko finds the file intact, valid and trusted, ``refused`` when
    it raises; anything else fails the test."""

    try:
        status = pyhanko_status(world, data, timestamp=timestamp)
    except SignatureValidationError:
        return "refused"
    assert (status.intact, status.valid, status.trusted) == (True, True, True)
    return "valid"


# --- what /Contents holds ----------------------------------------------------------------

Contents = Callable[[World, Signer, bytes], bytes]


def _pades(world: World, signer: Signer, signed: bytes) -> bytes:
    return subfilters.pades(signer, signed)


def _unbound(world: World, signer: Signer, signed: bytes) -> bytes:
    """content-type and message-digest only: no signing-certificate attribute."""
    return subfilters.with_attributes(signer, signed, subfilters.basic_attributes(signer, signed))


def _token(world: World, signer: Signer, signed: bytes) -> bytes:
    """A genuine RFC 3161 token from the trusted TSA over the byte ranges."""
    token = run_async(world.timestamper.async_timestamp(hashlib.sha256(signed).digest(), "sha256"))
    return bytes(token.dump())


# (id, /Type, /SubFilter, /Contents, verdict, format check detail, level, pyHanko)
CASES: list[
    tuple[str, str, str, Contents, tuple[Indication, str | None], str, str | None, PyHanko]
] = [
    (
        "PAdES signature",
        "Sig",
        CADES,
        _pades,
        (Indication.TOTAL_PASSED, None),
        "/SubFilter ETSI.CAdES.detached: a PAdES signature",
        "B-B",
        "valid",
    ),
    (
        "ETSI.RFC3161 on a /Sig",
        "Sig",
        RFC3161,
        _pades,
        (Indication.TOTAL_FAILED, "FORMAT_FAILURE"),
        "/SubFilter ETSI.RFC3161 declares a document timestamp, but the dictionary is a /Sig",
        None,
        "refused",
    ),
    (
        "timestamp token on a /Sig declaring ETSI.RFC3161",
        "Sig",
        RFC3161,
        _token,
        (Indication.TOTAL_FAILED, "SIG_CRYPTO_FAILURE"),
        "/SubFilter ETSI.RFC3161 declares a document timestamp, but the dictionary is a /Sig",
        None,
        "refused",
    ),
    (
        "document timestamp",
        "DocTimeStamp",
        RFC3161,
        _token,
        (Indication.TOTAL_PASSED, None),
        "/SubFilter ETSI.RFC3161: an RFC 3161 document timestamp",
        None,
        "valid",
    ),
    (
        "ETSI.CAdES.detached on a /DocTimeStamp",
        "DocTimeStamp",
        CADES,
        _token,
        (Indication.TOTAL_FAILED, "FORMAT_FAILURE"),
        "a document timestamp must declare /SubFilter ETSI.RFC3161, not ETSI.CAdES.detached",
        None,
        "refused",
    ),
    (
        "adbe.pkcs7.detached on a /DocTimeStamp",
        "DocTimeStamp",
        PKCS7,
        _token,
        (Indication.TOTAL_FAILED, "FORMAT_FAILURE"),
        "a document timestamp must declare /SubFilter ETSI.RFC3161, not adbe.pkcs7.detached",
        None,
        "refused",
    ),
    (
        "PAdES without signing-certificate",
        "Sig",
        CADES,
        _unbound,
        (Indication.TOTAL_FAILED, "FORMAT_FAILURE"),
        "/SubFilter ETSI.CAdES.detached requires an ESS signing-certificate-v2 attribute; "
        "the CMS has no signing-certificate attribute",
        None,
        "valid",
    ),
    (
        "adbe.pkcs7.detached without signing-certificate",
        "Sig",
        PKCS7,
        _unbound,
        (Indication.TOTAL_PASSED, None),
        "/SubFilter adbe.pkcs7.detached: no signing-certificate attribute binds the "
        "signer's certificate to the signature",
        None,
        "valid",
    ),
    (
        "adbe.pkcs7.detached with signing-certificate",
        "Sig",
        PKCS7,
        _pades,
        (Indication.TOTAL_PASSED, None),
        "/SubFilter adbe.pkcs7.detached: a CMS signature (not PAdES)",
        None,
        "valid",
    ),
]


@pytest.mark.parametrize(
    ("sig_type", "subfilter", "contents", "verdict", "detail", "level", "theirs"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_subfilter_matches_contents(
    world: World,
    contract: ContractDocument,
    signer: Signer,
    sig_type: str,
    subfilter: str,
    contents: Contents,
    verdict: tuple[Indication, str | None],
    detail: str,
    level: str | None,
    theirs: PyHanko,
) -> None:
    """Each row's verdict, with a format check that says what was declared and what was
    found (a timestamp token shipped as a /Sig fails its value check first: what it
    signs is a TSTInfo, not data); only a conforming ETSI.CAdES.detached signature gets
    a PAdES level, and only a passing signature is recognised.

    pyHanko refuses the mismatched dictionaries outright, but does not require the
    signing-certificate attribute of ETSI.CAdES.detached (it calls that file valid)."""
    revision = subfilters.revision(contract.pdf, signer, subfilter, sig_type=sig_type)
    data = revision.embed(contents(world, signer, revision.signed))
    (sig,) = _verify(world, data)
    assert (sig.indication, sig.sub_indication) == verdict, sig.details
    fmt = _check(sig, "format")
    assert fmt.detail == detail
    assert (fmt.indication, fmt.sub_indication) == (
        (Indication.TOTAL_PASSED, None)
        if verdict[0] is Indication.TOTAL_PASSED
        else (Indication.TOTAL_FAILED, "FORMAT_FAILURE")
    )
    assert sig.level == level
    assert _check(sig, "integrity").indication is Indication.TOTAL_PASSED
    if sig_type == "Sig":
        passed = verdict[0] is Indication.TOTAL_PASSED
        assert sig.recognition["SZ"].recognised is passed
    assert _pyhanko(world, data, timestamp=sig_type == "DocTimeStamp") == theirs


def test_signing_time_in_a_pades_signature_is_noted_not_failed(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """EN 319 142-1 leaves the CMS signing-time out of PAdES baseline signatures (the
    claimed time is /M), but makes no signature invalid for having one: it passes, the
    format check says so, and the claim is still reported as the signer's."""
    claim = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    revision = subfilters.revision(contract.pdf, signer, CADES)
    claimed = subfilters.attribute("signing_time", cms.Time(name="utc_time", value=claim))
    with_time = [*subfilters.pades_attributes(signer, revision.signed), claimed]
    data = revision.embed(subfilters.with_attributes(signer, revision.signed, with_time))
    (sig,) = _verify(world, data)
    assert (sig.indication, sig.sub_indication) == (Indication.TOTAL_PASSED, None), sig.details
    assert "signing-time attribute is outside the PAdES baseline" in _check(sig, "format").detail
    assert sig.signing_time == claim


def test_a_subfilter_not_supported_here_is_undecided(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """PBAD.PAdES (Brazil's profile, which pyHanko checks as PAdES) is a format whose
    rules are not ours to guess: INDETERMINATE / FORMAT_FAILURE, a format check saying
    it is not supported, and recognition held back rather than refused."""
    revision = subfilters.revision(contract.pdf, signer, "PBAD.PAdES")
    data = revision.embed(subfilters.pades(signer, revision.signed))
    (sig,) = _verify(world, data)
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "FORMAT_FAILURE")
    reason = "/SubFilter PBAD.PAdES is not supported: a format this verifier does not know"
    assert sig.details == (
        f"cannot validate: {reason}",
        "modification: nothing was added to the file after this signature",
    )
    assert sig.checks == (Check("format", Indication.INDETERMINATE, "FORMAT_FAILURE", reason),)
    assert sig.recognition["SZ"].recognised is None
    assert _pyhanko(world, data, timestamp=False) == "valid"


# --- legacy formats ----------------------------------------------------------------------

LEGACY = [
    pytest.param(
        "adbe.pkcs7.sha1",
        "/SubFilter adbe.pkcs7.sha1 is not supported: its CMS signs the SHA-1 digest of the "
        "byte ranges as encapsulated content, a legacy format this verifier does not check",
        id="adbe.pkcs7.sha1",
    ),
    pytest.param(
        None,
        "the signature dictionary has no /SubFilter, so what /Contents holds is undeclared",
        id="no /SubFilter",
    ),
]


def _embedded(data: bytes) -> EmbeddedPdfSignature:
    """The signature as pyHanko models it, read past pyHanko's own /SubFilter filter."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    ((name, _, field),) = enumerate_sig_fields(reader, filled_status=True)
    return EmbeddedPdfSignature(reader, field, name)


def _no_chain(*_: object) -> ChainOutcome:
    raise AssertionError("a signature in a format not checked here had its chain validated")


@pytest.mark.parametrize(("subfilter", "reason"), LEGACY)
def test_legacy_format_is_refused_before_its_contents_are_read(
    world: World, contract: ContractDocument, signer: Signer, subfilter: str | None, reason: str
) -> None:
    """adbe.pkcs7.sha1 signs other bytes than the byte ranges (checking it as detached
    would fail a genuine signature), and without a /SubFilter nothing says what
    /Contents is: ``check_pdf_signature`` raises ``FormatFailure`` with the sentence
    the report shows, and the report is INDETERMINATE / FORMAT_FAILURE."""
    revision = subfilters.revision(contract.pdf, signer, subfilter)
    sig = _embedded(revision.embed(subfilters.pades(signer, revision.signed)))
    with pytest.raises(FormatFailure) as raised:
        check_pdf_signature(sig, _no_chain)
    assert raised.value.reason == reason
    report = unverifiable_report("Signature1", SignatureKind.CMS, raised.value, ["SZ"])
    assert (report.indication, report.sub_indication) == (
        Indication.INDETERMINATE,
        "FORMAT_FAILURE",
    )
    assert report.recognition["SZ"].recognised is None


def _rsa_sha1(world: World, contract: ContractDocument) -> bytes:
    """adbe.x509.rsa_sha1: /Contents is a bare PKCS#1 value (an OCTET STRING), no CMS."""
    rsa_signer = world.issue(world.ec_ca, KeyKind.RSA_2048, "深圳市前海示例科技有限公司")
    revision = subfilters.revision(contract.pdf, rsa_signer, "adbe.x509.rsa_sha1")
    value = rsa_signer.key.sign(revision.signed, signature_algorithm("sha256_rsa"))
    return revision.embed(bytes(core.OctetString(value).dump()))


def _legacy_pdfs(world: World, contract: ContractDocument, signer: Signer) -> dict[str, bytes]:
    pdfs = {"adbe.x509.rsa_sha1": _rsa_sha1(world, contract)}
    for subfilter in ("adbe.pkcs7.sha1", None):
        revision = subfilters.revision(contract.pdf, signer, subfilter)
        pdfs[str(subfilter)] = revision.embed(subfilters.pades(signer, revision.signed))
    return pdfs


def test_legacy_formats_never_pass(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """Whatever verify_pdf makes of them, no legacy or undeclared signature passes and
    nothing raises."""
    for name, data in _legacy_pdfs(world, contract, signer).items():
        report = verify_pdf(data, "x.pdf", world.federation, ["SZ"])
        assert not report.all_passed_and_recognised, name
        assert all(s.indication is not Indication.TOTAL_PASSED for s in report.signatures), name


def test_legacy_formats_are_reported_undecided(
    world: World, contract: ContractDocument, signer: Signer
) -> None:
    """What a relying party should see: each legacy signature listed (pyHanko lists
    none of them), a CMS signature, INDETERMINATE / FORMAT_FAILURE, saying its format is
    not supported, and recognition held back."""
    for name, data in _legacy_pdfs(world, contract, signer).items():
        assert PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures == [], name
        (sig,) = verify_pdf(data, "x.pdf", world.federation, ["SZ"]).signatures
        assert (sig.id, sig.kind) == ("Signature1", SignatureKind.CMS), name
        assert (sig.indication, sig.sub_indication) == (
            Indication.INDETERMINATE,
            "FORMAT_FAILURE",
        ), name
        assert "not supported" in sig.details[0] or "no /SubFilter" in sig.details[0]
        assert sig.recognition["SZ"].recognised is None, name


def test_signing_beside_a_legacy_signature_keeps_its_bytes(
    contract: ContractDocument, signer: Signer
) -> None:
    """A file whose only signature is in a legacy format, with a broken unsigned update
    after it: preparing it for the next signer must not rewrite it cleanly (that would
    destroy the signature pyHanko does not list), but bypass the broken tail."""
    revision = subfilters.revision(contract.pdf, signer, "adbe.pkcs7.sha1")
    legacy = revision.embed(subfilters.pades(signer, revision.signed))
    writer = IncrementalPdfFileWriter(io.BytesIO(legacy), strict=False)
    writer.set_info(generic.DictionaryObject({generic.pdf_name("/Title"): generic.pdf_string("x")}))
    out = io.BytesIO()
    writer.write(out)
    # A tool added a line before the update after computing its offsets.
    broken = legacy + b"%shifted\n" + out.getvalue()[len(legacy) :]
    assert open_pdf(broken).repairs
    prepared = open_for_signing(broken)
    assert not prepared.rewritten
    kept = io.BytesIO()
    prepared.write(kept)
    assert kept.getvalue().startswith(legacy)
