"""FieldMDP: form fields a signature locked must keep the values they had when it signed.

A signer who locks fields (ISO 32000-2, 12.8.2.4) says "these values are part of what I
signed"; a later revision that changes one, or signs a locked signature field, breaks
that signature whatever the certification level would allow. The change analysis judges
revisions by what they are; this module answers only this one question, from the
values themselves, so a lock cannot be dodged by how a change is written.
"""

from __future__ import annotations

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.rw_common import PdfHandler
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

# Field trees deeper than this are hostile; real forms nest a few levels.
MAX_FIELD_DEPTH = 32


def changed_locked_fields(reader: PdfFileReader, sig: EmbeddedPdfSignature) -> list[str]:
    """Names of fields ``sig`` locked whose value differs in the final revision."""
    spec = sig.fieldmdp
    if spec is None:
        return []
    last = reader.xrefs.total_revisions - 1
    if sig.signed_revision >= last:
        return []
    before = _values(reader.get_historical_resolver(sig.signed_revision))
    after = _values(reader.get_historical_resolver(last))
    return [
        name
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name) and spec.is_locked(name)
    ]


def _values(handler: PdfHandler) -> dict[str, str]:
    """Every terminal field's fully qualified name and a comparable form of its value."""
    found: dict[str, str] = {}
    form = _entry(handler.root, "/AcroForm")
    pending = [(kid, "", 0) for kid in _array(_entry(form, "/Fields"))]
    while pending:
        item, prefix, depth = pending.pop()
        field = item.get_object() if isinstance(item, generic.IndirectObject) else item
        if not isinstance(field, generic.DictionaryObject) or depth > MAX_FIELD_DEPTH:
            continue
        partial = _entry(field, "/T")
        name = f"{prefix}.{partial}" if prefix and partial is not None else str(partial or prefix)
        kids = [k for k in _array(_entry(field, "/Kids")) if _is_field(k)]
        if kids:
            pending.extend((kid, name, depth + 1) for kid in kids)
            continue
        found[name] = _value(field.raw_get("/V")) if "/V" in field else "none"
    return found


def _entry(container: object, key: str) -> generic.PdfObject | None:
    """``container[key]`` resolved, or None: pyHanko's ``get`` does not dereference."""
    if isinstance(container, generic.DictionaryObject) and key in container:
        return container[key]
    return None


def _is_field(kid: generic.PdfObject) -> bool:
    """Kids that are widgets only (no /T) belong to their parent's value."""
    obj = kid.get_object() if isinstance(kid, generic.IndirectObject) else kid
    return isinstance(obj, generic.DictionaryObject) and "/T" in obj


def _value(value: generic.PdfObject) -> str:
    if isinstance(value, generic.IndirectObject):
        return f"object {value.idnum} {value.generation}"
    return repr(value)


def _array(value: object) -> list[generic.PdfObject]:
    return list(value) if isinstance(value, generic.ArrayObject) else []
