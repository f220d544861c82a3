"""Where a package keeps its seal signatures, and what each Signature.xml says it covers.

GB/T 33190 §18: OFD.xml's first DocBody names the document root and, once signed, the
signature list (``Signatures.xml``); each list entry points at a ``Signature.xml`` whose
SignedInfo holds one Reference (path and hash) per protected file, the stamp's place on
a page, the seal file, and the path of ``SignedValue.dat``. Locations are resolved as an
OFD reader does: absolute from the package root, else relative to the file naming them.
Both the stamper and the verifier read the structure here, so they agree on it.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from dataclasses import dataclass

from lxml import etree

from sealbridge.documents.ofd.container import ROOT_FILE, OfdPackage, resolve
from sealbridge.documents.ofd.markup import expect, parse, tag, text_of
from sealbridge.errors import MalformedInput

SEAL_TYPE = "Seal"
_TRAILING_NUMBER = re.compile(r"(\d+)\s*$")


@dataclass(frozen=True)
class DocumentEntry:
    """The first document of a package: OFD.xml's parsed root and where things are."""

    ofd_root: etree._Element
    doc_body: etree._Element
    document_path: str
    signatures_path: str | None


@dataclass(frozen=True)
class SignatureEntry:
    """One line of Signatures.xml; ``type`` is "Seal" when the attribute is absent."""

    id: str
    type: str
    path: str


@dataclass(frozen=True)
class SignatureList:
    path: str
    root: etree._Element
    max_id: int
    entries: tuple[SignatureEntry, ...]


@dataclass(frozen=True)
class Reference:
    path: str
    check_value: bytes


@dataclass(frozen=True)
class SignatureFile:
    """A Signature.xml as read: what it protects and where its parts are."""

    path: str
    method: str | None
    check_method: str
    references: tuple[Reference, ...]
    signed_value_path: str
    seal_path: str | None


def document_entry(package: OfdPackage) -> DocumentEntry:
    root = expect(parse(package.read(ROOT_FILE), ROOT_FILE), "OFD", ROOT_FILE)
    body = root.find(tag("DocBody"))
    if body is None:
        raise MalformedInput(ROOT_FILE, "it has no DocBody, so no document")
    doc_root = text_of(body, "DocRoot")
    if doc_root is None:
        raise MalformedInput(ROOT_FILE, "the first DocBody has no DocRoot")
    signatures = text_of(body, "Signatures")
    return DocumentEntry(
        ofd_root=root,
        doc_body=body,
        document_path=resolve("", doc_root),
        signatures_path=resolve("", signatures) if signatures else None,
    )


def page_ids(package: OfdPackage, document_path: str) -> tuple[str, ...]:
    """The IDs of the document's pages in reading order (what a StampAnnot's PageRef names)."""
    root = expect(parse(package.read(document_path), document_path), "Document", document_path)
    pages = root.find(tag("Pages"))
    found = [] if pages is None else pages.findall(tag("Page"))
    ids = tuple(page.get("ID", "").strip() for page in found)
    if not ids or not all(ids):
        raise MalformedInput(document_path, "it lists no pages, or a page without an ID")
    return ids


def read_signature_list(package: OfdPackage, path: str) -> SignatureList:
    root = expect(parse(package.read(path), path), "Signatures", path)
    base = posixpath.dirname(path)
    entries = []
    for element in root.findall(tag("Signature")):
        location = element.get("BaseLoc", "")
        entries.append(
            SignatureEntry(
                id=element.get("ID", "").strip(),
                type=element.get("Type", SEAL_TYPE).strip() or SEAL_TYPE,
                path=resolve(base, location),
            )
        )
    numbers = [_number(entry.id) for entry in entries]
    declared = _number(text_of(root, "MaxSignId") or "")
    return SignatureList(path, root, max([declared, *numbers]), tuple(entries))


def read_signature_file(package: OfdPackage, path: str) -> SignatureFile:
    root = expect(parse(package.read(path), path), "Signature", path)
    base = posixpath.dirname(path)
    info = root.find(tag("SignedInfo"))
    if info is None:
        raise MalformedInput(path, "it has no SignedInfo")
    references = info.find(tag("References"))
    if references is None:
        raise MalformedInput(path, "it has no References, so it protects nothing")
    listed = []
    for element in references.findall(tag("Reference")):
        location = element.get("FileRef", "")
        value = text_of(element, "CheckValue") or ""
        try:
            check_value = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedInput(path, f"the CheckValue for {location!r} is not base64") from exc
        listed.append(Reference(resolve(base, location), check_value))
    signed_value = text_of(root, "SignedValue")
    if signed_value is None:
        raise MalformedInput(path, "it has no SignedValue location")
    seal = info.find(tag("Seal"))
    seal_location = None if seal is None else text_of(seal, "BaseLoc")
    return SignatureFile(
        path=path,
        method=text_of(info, "SignatureMethod"),
        check_method=references.get("CheckMethod", "MD5").strip(),
        references=tuple(listed),
        signed_value_path=resolve(base, signed_value),
        seal_path=resolve(base, seal_location) if seal_location else None,
    )


def _number(identifier: str) -> int:
    # IDs are numbers in GB/T 33190 (ST_ID), but some writers use "s001"; the number is
    # what must grow, so the trailing digits are taken.
    match = _TRAILING_NUMBER.search(identifier)
    return int(match.group(1)) if match else 0
