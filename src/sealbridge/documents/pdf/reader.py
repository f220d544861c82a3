"""Opening PDFs that other tools wrote badly, safely, for verification and for signing.

pyHanko's reader is exact and strict about cross-reference data; real files are not (the
DSS pades-5 vector breaks it). This module tries pyHanko as it is first, and only when
that fails reads the document through cross-reference sections rebuilt in memory by
``sealbridge.documents.pdf.xref`` — never rewriting a byte, so every signature is checked
against exactly what its signer signed, and every repair is reported.

Hostile input is bounded: pyHanko's decode limits are tightened, claimed object counts
are checked before pyHanko loops over them, and every object is parsed up front with a
nesting limit, so a bomb, a huge count or deep nesting ends in a typed error, not a hang.

Signatures are listed by walking the form fields here, not by pyHanko's listing, which
silently drops a signature whose /SubFilter it does not know and fails the whole
document over one dictionary it cannot read: a verifier must be able to name every
signature in the file, including those it cannot check.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt import (
    AuthStatus,
    PubKeySecurityHandler,
    StandardSecurityHandler,
)
from pyhanko.pdf_utils.decode_limits import (
    DecodeContext,
    DecodeLimits,
    DocumentDecodeBudget,
    StreamDecodeLimits,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pyhanko.pdf_utils.xref import XRefCache
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from sealbridge.documents.pdf.fastread import FastObjectReader
from sealbridge.documents.pdf.xref import Repair, RepairRefused, misplaced_entry, rebuild
from sealbridge.errors import MalformedInput, SealBridgeError

MiB = 1024 * 1024

# Everything pyHanko and its parsers raise on bad bytes; any of these means "unreadable".
PARSE_ERRORS = (
    PdfError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    AssertionError,
    ArithmeticError,
    NotImplementedError,
    LookupError,
)
_CLAIMED_COUNT = re.compile(rb"/(Size|N)[\x00\t\n\f\r ]+(\d{1,20})")
_INDEX_ARRAY = re.compile(rb"/Index[\x00\t\n\f\r ]*\[([0-9\x00\t\n\f\r ]{0,4096})\]")


class PdfEncrypted(SealBridgeError):
    """The PDF is encrypted and could not be opened with what the caller gave."""


class PasswordRequired(PdfEncrypted):
    """The PDF is encrypted with a password and none was given."""


class WrongPassword(PdfEncrypted):
    """The PDF is encrypted and the given password opens neither user nor owner access."""


class PdfLimitExceeded(MalformedInput):
    """The PDF asks for more work than the reader allows (objects, nesting, decoded bytes)."""

    def __init__(self, reason: str) -> None:
        super().__init__("PDF", reason)


@dataclass(frozen=True)
class ReadLimits:
    """Work bounds for one document; the defaults fit real contracts with room to spare.

    ``max_depth`` counts nested arrays and dictionaries inside one object (Adobe's own
    implementation limit is 28). Decoded-byte limits feed pyHanko's ``DecodeLimits``.
    """

    max_objects: int = 1_000_000
    max_depth: int = 100
    max_stream_bytes: int = 64 * MiB
    max_decoded_bytes: int = 256 * MiB
    max_decoded_ratio: float = 50

    def decode_limits(self) -> DecodeLimits:
        return DecodeLimits(
            per_stream=StreamDecodeLimits(max_output_size=self.max_stream_bytes),
            document_budget=DocumentDecodeBudget(
                base_allowance=self.max_decoded_bytes, max_ratio=self.max_decoded_ratio
            ),
        )


@dataclass(frozen=True)
class UnlistedSignature:
    """A filled signature field pyHanko does not list, kept so that a report names it
    rather than leaving out a signature plainly in the document.

    ``timestamp`` is whether its /Type says /DocTimeStamp; ``subfilter`` is the declared
    /SubFilter without its slash (``None`` when there is none); ``problem`` says what
    keeps the dictionary from being read as one pyHanko lists, and is ``None`` when its
    /SubFilter alone is why (missing, or a format pyHanko does not know).
    """

    field_name: str
    timestamp: bool
    subfilter: str | None
    problem: str | None = None


# pyHanko lists a signature only if its dictionary declares one of these.
_LISTED_SUBFILTERS = frozenset(subfilter.value for subfilter in SigSeedSubFilter)


@dataclass(frozen=True)
class OpenedPdf:
    """A reader ready for verification, its filled signature fields in signing order,
    and the repairs it needed.

    ``entries`` holds pyHanko's ``EmbeddedPdfSignature`` for each signature pyHanko
    lists and an ``UnlistedSignature`` for each it does not.
    """

    reader: PdfFileReader
    entries: tuple[EmbeddedPdfSignature | UnlistedSignature, ...]
    repairs: tuple[Repair, ...] = field(default=())

    @property
    def signatures(self) -> tuple[EmbeddedPdfSignature, ...]:
        """The signatures pyHanko lists, in its order."""
        return tuple(e for e in self.entries if isinstance(e, EmbeddedPdfSignature))


class RepairedPdfFileReader(FastObjectReader):
    """pyHanko's reader over cross-reference data rebuilt by ``xref.rebuild``.

    It sets up the same state ``PdfFileReader.__init__`` does (pyHanko 0.38), except that
    the sections come from the rebuild instead of from following ``/Prev`` pointers.
    """

    def __init__(self, data: bytes, limits: ReadLimits) -> None:
        stream = io.BytesIO(data)
        self._security_handler = None
        self.strict = False
        self._decode_context = DecodeContext(limits.decode_limits(), input_size=len(data))
        self.resolved_objects: dict[tuple[int, int], generic.PdfObject] = {}
        self._input_version = None
        self._historical_resolver_cache = {}
        self.stream = stream
        self._header_version = _header_version(data)
        rebuilt = rebuild(data, self, max_objects=limits.max_objects)
        self.xrefs = XRefCache(self, rebuilt.sections)
        self.last_startxref = rebuilt.last_startxref
        self.trailer = rebuilt.trailer
        self.has_xref_stream = rebuilt.has_xref_stream
        self._embedded_signatures = None
        self.repairs = rebuilt.repairs


def open_pdf(
    data: bytes,
    *,
    password: str | None = None,
    limits: ReadLimits | None = None,
    scan: bool = True,
) -> OpenedPdf:
    """Open ``data`` for verification, repairing broken cross-references if need be.

    pyHanko reads the file unaided whenever it can; only if that fails are the sections
    rebuilt (see ``xref`` for the rule that keeps repairs out of what signers signed).
    An encrypted file opens with ``password``, or without one when its user password is
    empty (as every viewer does). Raises ``MalformedInput`` (``RepairRefused``,
    ``PdfLimitExceeded``) or ``PdfEncrypted`` (``PasswordRequired``, ``WrongPassword``).

    With ``scan`` every object is parsed now, under the nesting limit; without it objects
    are parsed when read, which keeps unread streams out of memory (signing a 200 MB
    file reads a handful of objects).
    """
    bounds = limits or ReadLimits()
    _preflight(data, bounds)
    try:
        with _typed(bounds):
            plain = FastObjectReader(
                io.BytesIO(data), strict=False, decode_limits=bounds.decode_limits()
            )
            misplaced = misplaced_entry(data, plain.xrefs)
            if misplaced is not None:
                raise MalformedInput("PDF", f"cross-reference data is wrong: {misplaced}")
            return _finish(plain, password, bounds, scan)
    except (PdfEncrypted, PdfLimitExceeded):
        raise
    except MalformedInput as plain:
        first_error = plain
    with _typed(bounds):
        repaired = RepairedPdfFileReader(data, bounds)
        if not repaired.repairs:
            raise first_error
        return _finish(repaired, password, bounds, scan=True)


class SigningWriter(IncrementalPdfFileWriter):
    """pyHanko's incremental writer, with what had to be done to the input to sign it.

    ``rewritten`` is true when the input had no signatures and broken cross-references,
    so it was rewritten cleanly first: the signed output then does not start with the
    caller's bytes.
    """

    def __init__(
        self, stream: io.BytesIO, prev: PdfFileReader, repairs: tuple[Repair, ...], rewritten: bool
    ) -> None:
        super().__init__(stream, prev=prev)
        self.repairs = repairs
        self.rewritten = rewritten


def open_for_signing(
    data: bytes, *, password: str | None = None, limits: ReadLimits | None = None
) -> SigningWriter:
    """A writer that appends one revision to ``data``, re-encrypting it if ``data`` is.

    Broken cross-references are handled by the verification reader's rule, made stricter
    because the result must be readable by everyone: a repair inside signed bytes is
    refused; a repaired unsigned tail after the last signature is left in place but
    bypassed (the new revision links to the last intact section and carries the tail's
    objects again); a document without signatures is rewritten cleanly.
    """
    bounds = limits or ReadLimits()
    opened = open_pdf(data, password=password, limits=bounds, scan=False)
    reader = opened.reader
    with _typed(bounds):
        if not opened.repairs:
            return SigningWriter(io.BytesIO(data), reader, (), rewritten=False)
        signed = [repair for repair in opened.repairs if repair.signed]
        if signed:
            raise RepairRefused(
                "PDF",
                f"cannot sign on top of a repaired signed revision ({signed[0]}); other "
                "readers would not see what the earlier signers signed",
            )
        if opened.entries:
            # Any filled signature field, pyHanko's or not: rewriting would destroy it.
            return _bypass_unsigned_tail(data, reader, opened.repairs)
        if reader.encrypted:
            raise RepairRefused(
                "PDF",
                "encrypted, unsigned PDF with broken cross-references; rewriting it would "
                f"drop its encryption ({opened.repairs[0]})",
            )
        clean = io.BytesIO()
        copy_into_new_writer(reader).write(clean)
        rewritten = PdfFileReader(clean, strict=False, decode_limits=bounds.decode_limits())
        return SigningWriter(clean, rewritten, opened.repairs, rewritten=True)


def _bypass_unsigned_tail(
    data: bytes, reader: PdfFileReader, repairs: tuple[Repair, ...]
) -> SigningWriter:
    first = min(repair.revision for repair in repairs)
    reader.last_startxref = reader.xrefs.get_xref_container_info(first - 1).start_location
    writer = SigningWriter(io.BytesIO(data), reader, repairs, rewritten=False)
    for revision in range(first, reader.xrefs.total_revisions):
        for ref in reader.xrefs.explicit_refs_in_revision(revision):
            if reader.xrefs[ref] is not None:
                writer.mark_update(ref)
    return writer


def _finish(
    reader: PdfFileReader, password: str | None, limits: ReadLimits, scan: bool
) -> OpenedPdf:
    _unlock(reader, password)
    if scan:
        _parse_everything(reader, limits)
    entries = _signature_entries(reader, limits)
    # pyHanko's own users of its list (its signer looks up the last document timestamp)
    # get the same signatures, and its listing, which fails the whole document over one
    # unreadable signature dictionary, never runs.
    listed = [e for e in entries if isinstance(e, EmbeddedPdfSignature)]
    reader._embedded_signatures = listed  # type: ignore[assignment]  # pyHanko declares it None
    repairs = reader.repairs if isinstance(reader, RepairedPdfFileReader) else ()
    return OpenedPdf(reader, entries, repairs)


def _signature_entries(
    reader: PdfFileReader, limits: ReadLimits
) -> tuple[EmbeddedPdfSignature | UnlistedSignature, ...]:
    """Every filled signature field, sorted as pyHanko sorts its list (by the revision
    that last changed the signature dictionary, fields of one revision in form order);
    an entry without a usable /ByteRange signed no revision we can tell and goes last."""
    keyed = [
        _entry(reader, name, ref, form_field)
        for name, ref, form_field in _filled_signature_fields(reader, limits)
    ]
    keyed.sort(key=lambda pair: (pair[0] is None, pair[0] or 0))
    return tuple(entry for _, entry in keyed)


def _filled_signature_fields(
    reader: PdfFileReader, limits: ReadLimits
) -> Iterator[tuple[str, generic.IndirectObject, generic.DictionaryObject]]:
    """The fields pyHanko's ``enumerate_sig_fields(filled_status=True)`` finds, in its
    order: /FT inherited down the field tree, a field without /T skipped with everything
    below it, entries that are not references to dictionaries ignored.

    Unlike pyHanko, a field met again (a /Kids cycle, kids shared by two parents) is not
    walked again, so a cycle does not fail the document and a shared signature is not
    reported twice. Nesting and the number of entries looked at are bounded by ``limits``.
    """
    fields = _resolved(_resolved(reader.root, "/AcroForm"), "/Fields")
    if not isinstance(fields, generic.ArrayObject):
        return
    # (entry, parent's full name, inherited /FT, depth), the next entry on top; iterating
    # an ArrayObject gives its references unresolved.
    pending: list[tuple[object, str, object, int]] = [
        (kid, "", None, 1) for kid in reversed(fields)
    ]
    looked_at = len(pending)
    seen: set[generic.Reference] = set()
    while pending:
        if looked_at > limits.max_objects:
            raise PdfLimitExceeded(f"more than {limits.max_objects} form field entries (limit)")
        entry, parent, inherited, depth = pending.pop()
        if not isinstance(entry, generic.IndirectObject) or entry.reference in seen:
            continue
        seen.add(entry.reference)
        form_field = entry.get_object()
        partial = _resolved(form_field, "/T")
        if not isinstance(form_field, generic.DictionaryObject) or partial is None:
            continue
        name = f"{parent}.{partial}" if parent else str(partial)
        field_type = _resolved(form_field, "/FT") or inherited
        if field_type == "/Sig" and form_field.get("/V"):
            yield name, entry, form_field
        kids = _resolved(form_field, "/Kids")
        if not isinstance(kids, generic.ArrayObject) or not kids:
            continue
        if depth >= limits.max_depth:
            raise PdfLimitExceeded(
                f"form fields nest deeper than {limits.max_depth} levels (limit)"
            )
        looked_at += len(kids)
        pending.extend((kid, name, field_type, depth + 1) for kid in reversed(kids))


def _resolved(container: object, key: str) -> object:
    """``container[key]`` resolved, or ``None`` when ``container`` is no dictionary or
    the entry is missing or null (as pyHanko's ``DictionaryObject`` lookup has it)."""
    if not isinstance(container, generic.DictionaryObject):
        return None
    try:
        return container[key]
    except KeyError:
        return None


def _entry(
    reader: PdfFileReader,
    name: str,
    ref: generic.IndirectObject,
    form_field: generic.DictionaryObject,
) -> tuple[int | None, EmbeddedPdfSignature | UnlistedSignature]:
    """The field's signature as pyHanko models it if pyHanko would list it, else what
    keeps it out; with the revision it sorts by."""
    value_ref = form_field.raw_get("/V")
    try:
        value = value_ref.get_object()
    except PdfDecodeLimitError:
        raise
    except PARSE_ERRORS as exc:
        unreadable = f"the signature dictionary cannot be read: {_said(exc)}"
        return None, UnlistedSignature(name, False, None, unreadable)
    if not isinstance(value, generic.DictionaryObject):
        unfit = "the field's value is not a signature dictionary"
        return None, UnlistedSignature(name, False, None, unfit)
    revision = _revision(reader, value, value_ref, ref)
    timestamp = _entry_of(value, "/Type") == "/DocTimeStamp"
    declared = _entry_of(value, "/SubFilter")
    if declared is not None and not isinstance(declared, generic.NameObject):
        unfit = "the signature dictionary's /SubFilter is not a name object"
        return revision, UnlistedSignature(name, timestamp, None, unfit)
    subfilter = None if declared is None else str(declared).removeprefix("/")
    if declared not in _LISTED_SUBFILTERS:
        return revision, UnlistedSignature(name, timestamp, subfilter)
    problem = _missing(value, value_ref)
    if problem is None:
        try:
            sig = EmbeddedPdfSignature(reader, form_field, name)
        except PdfDecodeLimitError:
            raise
        except PARSE_ERRORS as exc:
            # With /ByteRange and /Contents there, what pyHanko fails on is what /Contents holds.
            problem = f"the signature's /Contents cannot be read: {_said(exc)}"
        else:
            return sig.signed_revision, sig
    return revision, UnlistedSignature(name, timestamp, subfilter, problem)


def _entry_of(dictionary: generic.DictionaryObject, key: str) -> object:
    """The entry as written (a reference unresolved), decrypted as pyHanko reads it."""
    try:
        return dictionary.raw_get(key)
    except KeyError:
        return None


def _said(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _missing(value: generic.DictionaryObject, value_ref: object) -> str | None:
    """What pyHanko needs of a signature dictionary and this one lacks, in words; and a
    /ByteRange that is not pairs of numbers, which pyHanko lists but nobody can check
    (reading it as pairs would fail on the way)."""
    if not isinstance(value_ref, generic.IndirectObject):
        return "the signature dictionary is not an indirect object, as ISO 32000 requires"
    if "/ByteRange" not in value:
        return "the signature dictionary has no /ByteRange, so what it signs is unknown"
    if not _pairs_of_numbers(_entry_of(value, "/ByteRange")):
        return "the signature's /ByteRange is not pairs of numbers, so what it signs is unknown"
    if "/Contents" not in value:
        return "the signature dictionary has no /Contents, so there is no signature to check"
    return None


def _revision(
    reader: PdfFileReader,
    value: generic.DictionaryObject,
    value_ref: object,
    field_ref: generic.IndirectObject,
) -> int | None:
    """The revision that last changed the signature dictionary (a direct one: its
    field), if /ByteRange says which bytes were signed; ``None`` otherwise."""
    if not _pairs_of_numbers(_entry_of(value, "/ByteRange")):
        return None
    holder = value_ref if isinstance(value_ref, generic.IndirectObject) else field_ref
    try:
        revision: int = reader.xrefs.get_last_change(holder.reference)
    except KeyError:
        return None
    return revision


def _pairs_of_numbers(byte_range: object) -> bool:
    """Whether a /ByteRange, as written (an indirect number is none), is (offset, length)
    pairs."""
    return (
        isinstance(byte_range, generic.ArrayObject)
        and len(byte_range) >= 2
        and len(byte_range) % 2 == 0
        and all(isinstance(n, generic.NumberObject) for n in byte_range)
    )


def _unlock(reader: PdfFileReader, password: str | None) -> None:
    if not reader.encrypted:
        return
    handler = reader.security_handler
    if isinstance(handler, PubKeySecurityHandler):
        raise PdfEncrypted(
            "PDF is encrypted for certificate holders (public-key security handler); "
            "only password-encrypted PDFs can be opened"
        )
    if not isinstance(handler, StandardSecurityHandler):
        raise PdfEncrypted(f"PDF is encrypted with an unsupported handler {type(handler).__name__}")
    result = reader.decrypt("" if password is None else password)
    if result.status is not AuthStatus.FAILED:
        return
    if result.mac_failure_reason is not None:
        raise PdfEncrypted(
            f"PDF is encrypted and its integrity MAC failed: {result.mac_failure_reason}"
        )
    if password is None:
        raise PasswordRequired("PDF is encrypted: a password is required to open it")
    raise WrongPassword("PDF is encrypted and the password is wrong")


def _parse_everything(reader: PdfFileReader, limits: ReadLimits) -> None:
    """Parse every object of every revision now, under the object, nesting and decoding
    limits, so that later lazy reads by pyHanko meet no hostile surprise.

    An object that merely fails to parse is left alone: real signed files carry junk
    (``-1.#INF``) in objects nobody reads, and pyHanko reports it if it ever needs one.
    """
    xrefs = reader.xrefs
    last = xrefs.total_revisions - 1
    count = 0
    for revision in range(last + 1):
        live = xrefs.explicit_refs_in_revision(revision) - xrefs.refs_freed_in_revision(revision)
        for ref in live:
            count += 1
            if count > limits.max_objects:
                raise PdfLimitExceeded(f"more than {limits.max_objects} objects (limit)")
            # An object's current definition is read as pyHanko will read it later, so the
            # parse is cached once (signature contents are large hex strings).
            current = revision == last or xrefs.get_last_change(ref) == revision
            try:
                obj = reader.get_object(ref, revision=None if current else revision)
            except PdfDecodeLimitError:
                raise
            except PARSE_ERRORS:
                continue
            _check_depth(obj, limits.max_depth, ref)


def _check_depth(obj: generic.PdfObject, limit: int, ref: generic.Reference) -> None:
    pending: list[tuple[generic.PdfObject, int]] = [(obj, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, generic.DictionaryObject):
            children = list(dict.values(item))
        elif isinstance(item, generic.ArrayObject):
            children = list(list.__iter__(item))
        else:
            continue
        if depth > limit:
            raise PdfLimitExceeded(
                f"object {ref.idnum} {ref.generation} nests deeper than {limit} levels (limit)"
            )
        pending.extend((child, depth + 1) for child in children)


def _preflight(data: bytes, limits: ReadLimits) -> None:
    """Refuse counts pyHanko would loop over before checking them against the bytes
    (a cross-reference stream claiming a billion entries decodes to nothing and is
    then iterated entry by entry). Matching raw bytes can only over-refuse absurd files."""
    if not data.startswith(b"%PDF-"):
        raise MalformedInput("PDF", "does not start with a %PDF- header")
    for match in _CLAIMED_COUNT.finditer(data):
        if int(match.group(2)) > limits.max_objects:
            claim = match.group(0).decode("ascii", "replace")
            raise PdfLimitExceeded(f"'{claim}' claims more than {limits.max_objects} objects")
    for match in _INDEX_ARRAY.finditer(data):
        numbers = [int(n) for n in match.group(1).split()]
        if sum(numbers[1::2]) > limits.max_objects:
            raise PdfLimitExceeded(f"/Index claims more than {limits.max_objects} objects")


@contextmanager
def _typed(limits: ReadLimits) -> Iterator[None]:
    try:
        yield
    except SealBridgeError:
        raise
    except RecursionError as exc:
        raise PdfLimitExceeded(
            f"nesting too deep to parse (limit {limits.max_depth} levels)"
        ) from exc
    except PdfDecodeLimitError as exc:
        raise PdfLimitExceeded(f"decompression limit: {exc}") from exc
    except MemoryError as exc:
        raise PdfLimitExceeded("document needs more memory than available") from exc
    except PARSE_ERRORS as exc:
        raise MalformedInput("PDF", str(exc) or type(exc).__name__) from exc


def _header_version(data: bytes) -> tuple[int, int]:
    match = re.match(rb"%PDF-(\d)\.(\d)", data)
    if match is None:
        raise MalformedInput("PDF", "does not start with a %PDF-x.y header")
    return int(match.group(1)), int(match.group(2))
