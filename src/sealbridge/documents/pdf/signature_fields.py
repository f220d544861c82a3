"""A PDF's filled signature fields, listed by walking its form: every one, including those
pyHanko's own listing drops (a /SubFilter it does not know, or a dictionary it cannot
read), so that a verifier can name every signature in the file, even one it cannot check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeGuard

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from sealbridge.documents.pdf.limits import PARSE_ERRORS, PdfLimitExceeded, ReadLimits


@dataclass(frozen=True)
class UnlistedSignature:
    """A filled signature field pyHanko does not list, kept so that a report names it
    rather than leaving out a signature plainly in the document.

    ``timestamp`` is whether its /Type says /DocTimeStamp; ``subfilter`` is the declared
    /SubFilter without its slash (``None`` when there is none); ``problem`` says what
    keeps the dictionary from being read as one pyHanko lists, and is ``None`` when its
    /SubFilter alone is why (missing, or a format pyHanko does not know). ``signed_end``
    is where its /ByteRange says the signed bytes end, when it is pairs of numbers: what
    the file gained after it can be judged even though the signature cannot.
    """

    field_name: str
    timestamp: bool
    subfilter: str | None
    problem: str | None = None
    signed_end: int | None = None


# pyHanko lists a signature only if its dictionary declares one of these.
_LISTED_SUBFILTERS = frozenset(subfilter.value for subfilter in SigSeedSubFilter)


def signature_entries(
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
    end = _signed_end(value)
    if declared is not None and not isinstance(declared, generic.NameObject):
        unfit = "the signature dictionary's /SubFilter is not a name object"
        return revision, UnlistedSignature(name, timestamp, None, unfit, end)
    subfilter = None if declared is None else str(declared).removeprefix("/")
    if declared not in _LISTED_SUBFILTERS:
        return revision, UnlistedSignature(name, timestamp, subfilter, signed_end=end)
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
    return revision, UnlistedSignature(name, timestamp, subfilter, problem, end)


def _signed_end(value: generic.DictionaryObject) -> int | None:
    """Where the signed bytes end by the /ByteRange: its last pair's end."""
    byte_range = _entry_of(value, "/ByteRange")
    if not _pairs_of_numbers(byte_range):
        return None
    return int(byte_range[-2]) + int(byte_range[-1])


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


def _pairs_of_numbers(byte_range: object) -> TypeGuard[generic.ArrayObject]:
    """Whether a /ByteRange, as written (an indirect number is none), is (offset, length)
    pairs."""
    return (
        isinstance(byte_range, generic.ArrayObject)
        and len(byte_range) >= 2
        and len(byte_range) % 2 == 0
        and all(isinstance(n, generic.NumberObject) for n in byte_range)
    )
