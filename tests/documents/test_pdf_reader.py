"""Reading difficult PDFs: repaired cross-references, encryption, hostile input."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
from asn1crypto import cms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko_certvalidator import ValidationContext

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.limits import PdfLimitExceeded
from sealbridge.documents.pdf.reader import (
    PasswordRequired,
    RepairedPdfFileReader,
    WrongPassword,
    open_for_signing,
    open_pdf,
)
from sealbridge.documents.pdf.signer import KeyHandleSigner
from sealbridge.documents.pdf.xref import RepairRefused
from sealbridge.errors import MalformedInput, SealBridgeError
from support.handmade import definition, handmade_pdf
from support.pki import Signer, demo_ca, enterprise

INTEROP = Path(__file__).resolve().parents[2] / ".." / "shared" / "interop" / "dss-pades"
PADES5 = INTEROP / "pades-5-signatures-and-1-document-timestamp.pdf"
needs_interop = pytest.mark.skipif(not INTEROP.is_dir(), reason=f"no interop vectors at {INTEROP}")
TST_OID = "signature_time_stamp_token"


# ---------------------------------------------------------------- helpers


def _blank_pdf(*, user_password: str | None = None) -> bytes:
    writer = PdfFileWriter(stream_xrefs=False)
    content = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td ET"))
    box = generic.ArrayObject(generic.NumberObject(n) for n in (0, 0, 595, 842))
    writer.insert_page(PageObject(contents=content, media_box=box))
    if user_password is not None:
        writer.encrypt("owner-secret", user_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _sign(writer: IncrementalPdfFileWriter, signer: Signer, field: str) -> bytes:
    out = io.BytesIO()
    signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name=field, subfilter=fields.SigSeedSubFilter.PADES),
        signer=KeyHandleSigner(signer.key, signer.certificate, (signer.ca.certificate,)),
    ).sign_pdf(writer, output=out)
    return out.getvalue()


def _plain_writer(pdf: bytes) -> IncrementalPdfFileWriter:
    return IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)


def _with_unsigned_update(pdf: bytes, title: str) -> bytes:
    writer = _plain_writer(pdf)
    writer.set_info(
        generic.DictionaryObject({generic.pdf_name("/Title"): generic.pdf_string(title)})
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _expected_digest(sig: EmbeddedPdfSignature) -> tuple[str, bytes]:
    """What the signer committed to: CMS message-digest, or a document timestamp's imprint."""
    info = sig.signer_info
    if sig.sig_object_type == "/DocTimeStamp":
        tst = sig.signed_data["encap_content_info"]["content"].parsed
        imprint = tst["message_imprint"]
        return imprint["hash_algorithm"]["algorithm"].native, imprint["hashed_message"].native
    (digest,) = [
        attr["values"][0].native
        for attr in info["signed_attrs"]
        if attr["type"].native == "message_digest"
    ]
    return info["digest_algorithm"]["algorithm"].native, digest


def _byte_range_digest_matches(data: bytes, sig: EmbeddedPdfSignature) -> bool:
    start1, length1, start2, length2 = sig.byte_range
    algorithm, expected = _expected_digest(sig)
    signed = data[start1 : start1 + length1] + data[start2 : start2 + length2]
    return hashlib.new(algorithm, signed).digest() == expected


def _signature_timestamps(sig: EmbeddedPdfSignature) -> int:
    unsigned = sig.signer_info["unsigned_attrs"]
    if not isinstance(unsigned, cms.CMSAttributes):
        return 0
    return sum(1 for attr in unsigned if attr["type"].native == TST_OID)


def _serialised(obj: generic.PdfObject) -> bytes:
    out = io.BytesIO()
    obj.write_to_stream(out)
    return out.getvalue()


def _handmade(objects: dict[int, bytes], trailer_extra: bytes = b"") -> bytes:
    """A classic-xref PDF with exactly the given object bodies (numbered 1 to n) and
    correct offsets."""
    assert sorted(objects) == list(range(1, len(objects) + 1))
    return handmade_pdf(
        [definition(number, body) for number, body in sorted(objects.items())], trailer_extra
    )


def _shift_entry(pdf: bytes, table_at: int) -> tuple[bytes, int]:
    """Move the first in-use entry of the table at ``table_at`` one byte on, keeping the
    file's length; return the new bytes and the object number concerned."""
    table = re.compile(rb"xref\s+(\d+)\s+\d+\s+").match(pdf, table_at)
    assert table is not None
    for index, entry in enumerate(re.finditer(rb"(\d{10}) (\d{5}) ([nf])", pdf[table.end() :])):
        if entry.group(3) == b"f":
            continue
        at = table.end() + entry.start()
        moved = b"%010d" % (int(entry.group(1)) + 1)
        return pdf[:at] + moved + pdf[at + 10 :], int(table.group(1)) + index
    raise AssertionError("no in-use entry")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def signer() -> Signer:
    return enterprise(demo_ca("Reader", KeyKind.ECDSA_P256), "深圳读者公司", KeyKind.ECDSA_P256)


@pytest.fixture(scope="module")
def signed_once(signer: Signer) -> bytes:
    return _sign(_plain_writer(_blank_pdf()), signer, "Party A")


# ---------------------------------------------------------------- pades-5


@needs_interop
def test_plain_pyhanko_cannot_read_pades5() -> None:
    with pytest.raises((PdfError, ValueError)):
        PdfFileReader(io.BytesIO(PADES5.read_bytes()), strict=False).embedded_signatures  # noqa: B018


@needs_interop
def test_pades5_lists_five_signatures_and_one_document_timestamp() -> None:
    data = PADES5.read_bytes()
    opened = open_pdf(data)
    kinds = [sig.sig_object_type for sig in opened.signatures]
    assert kinds == ["/Sig"] * 5 + ["/DocTimeStamp"]
    assert all(_byte_range_digest_matches(data, sig) for sig in opened.signatures)
    # MANIFEST: 3 timestamps in all = 2 signature timestamps (signatures 1, 2) + 1 doc TS
    assert [_signature_timestamps(sig) for sig in opened.signatures[:5]] == [1, 1, 0, 0, 0]
    assert isinstance(opened.reader, RepairedPdfFileReader)
    assert opened.reader.stream.getvalue() == data  # read in place, not a byte rewritten


@needs_interop
def test_pades5_repairs_lie_beyond_what_the_five_signers_signed() -> None:
    data = PADES5.read_bytes()
    opened = open_pdf(data)
    assert {r.revision for r in opened.repairs} == {6, 7}  # the DSS revision and the doc TS
    signed_by_last_signer = max(s.byte_range[2] + s.byte_range[3] for s in opened.signatures[:5])
    assert all(r.offset > signed_by_last_signer for r in opened.repairs)
    # the doc TS covers the broken bytes; repairs there had to be forced by the bytes
    assert all(r.signed for r in opened.repairs)
    assert any("off by +20326 bytes" in r.description for r in opened.repairs)


@needs_interop
def test_pades5_signatures_intact_in_pyhanko_through_the_reader() -> None:
    opened = open_pdf(PADES5.read_bytes())
    context = ValidationContext(trust_roots=[], allow_fetching=False)
    for sig in opened.signatures[:5]:
        status = validate_pdf_signature(
            sig, signer_validation_context=context, ts_validation_context=context
        )
        assert status.intact and status.valid


@needs_interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_pades5_signature_values_verify_in_openssl(tmp_path: Path) -> None:
    data = PADES5.read_bytes()
    for index, sig in enumerate(open_pdf(data).signatures[:5]):
        start1, length1, start2, length2 = sig.byte_range
        content, der = tmp_path / f"{index}.bin", tmp_path / f"{index}.p7s"
        content.write_bytes(data[start1 : start1 + length1] + data[start2 : start2 + length2])
        der.write_bytes(cms.ContentInfo.load(sig.pkcs7_content, strict=False).dump())
        result = subprocess.run(
            [
                "openssl",
                "cms",
                "-verify",
                "-inform",
                "DER",
                "-in",
                str(der),
                "-binary",
                "-content",
                str(content),
                "-noverify",
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
            capture_output=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()


@needs_interop
@pytest.mark.parametrize(
    "name",
    [
        "Signature-P-HU_MIC-1.pdf",
        "belgian_pki_multiple_ocsps_lt.pdf",
        "doc-firmado-LT.pdf",
        "modified_after_signature.pdf",
    ],
)
def test_other_dss_vectors_open_unchanged(name: str) -> None:
    data = (INTEROP / name).read_bytes()
    opened = open_pdf(data)
    assert opened.repairs == ()
    assert not isinstance(opened.reader, RepairedPdfFileReader)
    regular = [s for s in opened.signatures if s.sig_object_type == "/Sig"]
    assert len(regular) == 1
    assert _byte_range_digest_matches(data, regular[0])


# ---------------------------------------------------------------- encryption


@pytest.fixture(scope="module")
def encrypted() -> bytes:
    return _blank_pdf(user_password="user-secret")


def test_encrypted_opens_with_user_or_owner_password(encrypted: bytes) -> None:
    assert open_pdf(encrypted, password="user-secret").reader.root["/Pages"]["/Count"] == 1
    assert open_pdf(encrypted, password="owner-secret").reader.encrypted


def test_encrypted_without_password_says_so(encrypted: bytes) -> None:
    with pytest.raises(PasswordRequired, match="encrypted: a password is required"):
        open_pdf(encrypted)
    with pytest.raises(PasswordRequired):
        open_for_signing(encrypted)


def test_encrypted_with_wrong_password_says_so(encrypted: bytes) -> None:
    with pytest.raises(WrongPassword, match="password is wrong"):
        open_pdf(encrypted, password="guess")
    with pytest.raises(WrongPassword):
        open_for_signing(encrypted, password="guess")


def test_signing_an_encrypted_pdf_keeps_it_encrypted(encrypted: bytes, signer: Signer) -> None:
    signed = _sign(open_for_signing(encrypted, password="user-secret"), signer, "Party A")
    with pytest.raises(PasswordRequired):
        open_pdf(signed)
    (sig,) = open_pdf(signed, password="user-secret").signatures
    assert _byte_range_digest_matches(signed, sig)


# ---------------------------------------------------------------- broken xrefs


@pytest.fixture(scope="module")
def broken_tail(signed_once: bytes) -> bytes:
    """Signed, then an unsigned update whose offsets are all 9 bytes off (a tool added a
    comment line before it after computing them)."""
    updated = _with_unsigned_update(signed_once, "after signing")
    return signed_once + b"%shifted\n" + updated[len(signed_once) :]


def test_broken_unsigned_tail_opens_with_repair(broken_tail: bytes, signed_once: bytes) -> None:
    opened = open_pdf(broken_tail)
    assert opened.repairs and all(not r.signed for r in opened.repairs)
    assert {r.revision for r in opened.repairs} == {2}
    assert all(r.offset >= len(signed_once) for r in opened.repairs)
    assert opened.reader.trailer["/Info"]["/Title"] == "after signing"
    (sig,) = opened.signatures
    assert _byte_range_digest_matches(broken_tail, sig)


def test_signing_over_broken_unsigned_tail_gives_a_clean_file(
    broken_tail: bytes, signer: Signer
) -> None:
    writer = open_for_signing(broken_tail)
    assert writer.repairs and not writer.rewritten
    signed = _sign(writer, signer, "Party B")
    assert signed.startswith(broken_tail)
    plain = PdfFileReader(io.BytesIO(signed), strict=False)  # no repair needed any more
    assert plain.trailer["/Info"]["/Title"] == "after signing"
    context = ValidationContext(trust_roots=[signer.ca.certificate], allow_fetching=False)
    for sig in plain.embedded_signatures:
        status = validate_pdf_signature(sig, signer_validation_context=context)
        assert status.intact and status.valid


def test_unsigned_pdf_with_broken_xref_is_rewritten_for_signing(signer: Signer) -> None:
    pdf = _blank_pdf()
    broken, _ = _shift_entry(pdf, pdf.rindex(b"\nxref") + 1)
    assert open_pdf(broken).repairs
    writer = open_for_signing(broken)
    assert writer.rewritten
    signed = _sign(writer, signer, "Party A")
    (sig,) = PdfFileReader(io.BytesIO(signed), strict=False).embedded_signatures
    assert _byte_range_digest_matches(signed, sig)


def test_signed_revision_repaired_only_to_what_the_signer_saw(signed_once: bytes) -> None:
    broken, number = _shift_entry(signed_once, signed_once.index(b"\nxref") + 1)
    opened = open_pdf(broken)
    repair = next(r for r in opened.repairs if r.revision == 0)
    assert repair.signed and "exactly one definition" in repair.description
    original = PdfFileReader(io.BytesIO(signed_once), strict=False)
    for ref in original.xrefs.explicit_refs_in_revision(0):
        assert _serialised(opened.reader.get_object(ref, revision=0)) == _serialised(
            original.get_object(ref, revision=0)
        ), f"object {ref} differs after repair"
    assert number in {ref.idnum for ref in original.xrefs.explicit_refs_in_revision(0)}
    # the table is signed, so changing it must still show as a broken signature
    (sig,) = opened.signatures
    assert not _byte_range_digest_matches(broken, sig)
    with pytest.raises(RepairRefused, match="repaired signed revision"):
        open_for_signing(broken)


def test_signed_revision_with_ambiguous_xref_is_refused(signed_once: bytes) -> None:
    broken, number = _shift_entry(signed_once, signed_once.index(b"\nxref") + 1)
    header = b"\n%d 0 obj" % number
    at = broken.index(header)
    broken = broken[:at] + b"\n%d 0 obx" % number + broken[at + len(header) :]
    with pytest.raises(RepairRefused, match=r"signed revision 0: .* at \d+ .*not defined"):
        open_pdf(broken)


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"%PDF-1.7\n%%EOF", bytes(range(256)) * 4, b"%PDF-1.7\n" + b"\x00" * 5000],
)
def test_garbage_is_malformed_input(data: bytes) -> None:
    with pytest.raises(MalformedInput, match="malformed PDF"):
        open_pdf(data)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_is_malformed_input(signed_once: bytes, keep: float) -> None:
    with pytest.raises(MalformedInput):
        open_pdf(signed_once[: int(len(signed_once) * keep)])


PAGES = b"<< /Type /Pages /Kids [] /Count 0 >>"


@pytest.mark.parametrize("depth", [150, 20_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    deep = b"[" * depth + b"]" * depth
    pdf = _handmade({1: b"<< /Type /Catalog /Pages 2 0 R /Deep " + deep + b" >>", 2: PAGES})
    with pytest.raises(PdfLimitExceeded, match="nest"):
        open_pdf(pdf)


def test_absurd_object_count_is_refused_before_parsing() -> None:
    pdf = _handmade({1: b"<< /Type /Catalog /Pages 2 0 R >>", 2: PAGES})
    pdf = pdf.replace(b"/Size 3", b"/Size 999999999")
    with pytest.raises(PdfLimitExceeded, match="claims more than"):
        open_pdf(pdf)


def _xref_stream_pdf(objstm_payload: bytes) -> bytes:
    """Catalog and pages as plain objects, object 4 inside object stream 3, xref stream 5."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = {}
    bodies = {
        1: b"<< /Type /Catalog /Pages 2 0 R /Extra 4 0 R >>",
        2: PAGES,
        3: b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n"
        % len(objstm_payload)
        + objstm_payload
        + b"\nendstream",
    }
    for number, body in bodies.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    offsets[5] = len(out)
    rows = b"\x00" + bytes(4) + b"\xff\xff"
    rows += b"".join(b"\x01" + offsets[n].to_bytes(4, "big") + bytes(2) for n in (1, 2, 3))
    rows += b"\x02" + (3).to_bytes(4, "big") + bytes(2)
    rows += b"\x01" + offsets[5].to_bytes(4, "big") + bytes(2)
    out += (
        b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n"
        % len(rows)
        + rows
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[5]
    )
    return bytes(out)


def test_object_stream_pdf_opens() -> None:
    ok = _xref_stream_pdf(zlib.compress(b"4 0 << /Fine true >>"))
    assert open_pdf(ok).reader.root["/Extra"]["/Fine"]


def test_decompression_bomb_is_refused() -> None:
    squeeze = zlib.compressobj(9)
    bomb = squeeze.compress(b"4 0 << >>")
    chunk = bytes(1024 * 1024)
    for _ in range(200):
        bomb += squeeze.compress(chunk)
    bomb += squeeze.flush()
    with pytest.raises(PdfLimitExceeded, match="decompression limit"):
        open_pdf(_xref_stream_pdf(bomb))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    edits=st.lists(
        st.tuples(st.booleans(), st.integers(0, 2**32), st.binary(min_size=0, max_size=4)),
        min_size=1,
        max_size=6,
    )
)
def test_mutated_signed_pdf_gives_reader_or_typed_error(
    signed_once: bytes, edits: list[tuple[bool, int, bytes]]
) -> None:
    data = bytearray(signed_once)
    for near_end, raw, replacement in edits:
        # half the edits land in the last 700 bytes, where the xref and trailer live
        at = len(data) - 1 - raw % min(700, len(data)) if near_end else raw % len(data)
        data[at : at + 1] = replacement
    try:
        opened = open_pdf(bytes(data))
    except SealBridgeError:
        return
    assert opened.reader.total_revisions >= 1
