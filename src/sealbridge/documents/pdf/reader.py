"""Opening PDFs that other tools wrote badly, safely, for verification and for signing.

pyHanko's reader is exact and strict about cross-reference data; real files are not (the
DSS pades-5 vector breaks it). This module tries pyHanko as it is first, and only when
that fails reads the document through cross-reference sections rebuilt in memory by
``sealbridge.documents.pdf.xref`` — never rewriting a byte, so every signature is checked
against exactly what its signer signed, and every repair is reported.

Hostile input is bounded: pyHanko's decode limits are tightened, claimed object counts
are checked before pyHanko loops over them, and every object is parsed up front with a
nesting limit, so a bomb, a huge count or deep nesting ends in a typed error, not a hang.

Signatures are listed by ``signature_fields``, not by pyHanko's listing, which silently
drops a signature whose /SubFilter it does not know.
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
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import copy_into_new_writer
from pyhanko.pdf_utils.xref import XRefCache
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from sealbridge.documents.pdf.fastread import FastObjectReader
from sealbridge.documents.pdf.limits import PARSE_ERRORS, PdfLimitExceeded, ReadLimits
from sealbridge.documents.pdf.signature_fields import UnlistedSignature, signature_entries
from sealbridge.documents.pdf.xref import Repair, RepairRefused, misplaced_entry, rebuild
from sealbridge.errors import MalformedInput, SealBridgeError

_CLAIMED_COUNT = re.compile(rb"/(Size|N)[\x00\t\n\f\r ]+(\d{1,20})")
_INDEX_ARRAY = re.compile(rb"/Index[\x00\t\n\f\r ]*\[([0-9\x00\t\n\f\r ]{0,4096})\]")


class PdfEncrypted(SealBridgeError):
    """The PDF is encrypted and could not be opened with what the caller gave."""


class PasswordRequired(PdfEncrypted):
    """The PDF is encrypted with a password and none was given."""


class WrongPassword(PdfEncrypted):
    """The PDF is encrypted and the given password opens neither user nor owner access."""


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

    def release_objects(self) -> None:
        """Drops what the reader keeps of the file: its parsed objects and its list of
        signatures. Each object refers back to the reader (its container reference), so
        while the reader holds them all of them wait for the cycle collector, which
        traverses every one; released, they die with their last user. The reader stays
        usable: it reads again what it is asked for.
        """
        self.reader.resolved_objects.clear()
        self.reader._embedded_signatures = None


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
    entries = signature_entries(reader, limits)
    # pyHanko's own users of its list (its signer looks up the last document timestamp)
    # get the same signatures, and its listing, which fails the whole document over one
    # unreadable signature dictionary, never runs.
    listed = [e for e in entries if isinstance(e, EmbeddedPdfSignature)]
    reader._embedded_signatures = listed  # type: ignore[assignment]  # pyHanko declares it None
    repairs = reader.repairs if isinstance(reader, RepairedPdfFileReader) else ()
    return OpenedPdf(reader, entries, repairs)


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
