"""Stamping an OFD document with a GB/T 38540 seal, laid out the way ofdrw lays it out.

A stamp adds ``Signs/Sign_N/`` with Seal.esl (the seal), Signature.xml (what is
protected, where the stamp shows, which seal) and SignedValue.dat (an SES_Signature whose
dataHash is the hash of Signature.xml's bytes and whose propertyInfo is its path), lists
it in Signatures.xml, and on the first stamp points OFD.xml's DocBody at that list.

Which files are protected follows ofdrw's "continue signing" mode: every file in the
package at the moment of stamping — earlier signatures' files included, OFD.xml already
pointing at the list — except Signatures.xml itself, which later stamps must be able to
extend. A package where some signature protects Signatures.xml is closed: ofdrw refuses
to add to it, and so does this.
"""

from __future__ import annotations

import base64
import math
import posixpath
import re
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509
from lxml import etree

from sealbridge.crypto.algorithms import digest, hash_of_signature_algorithm, sm3
from sealbridge.crypto.keys import KeyHandle
from sealbridge.documents.ofd.container import OfdPackage, read_package, write_package
from sealbridge.documents.ofd.markup import child, new_root, serialize, tag
from sealbridge.documents.ofd.signatures import (
    SEAL_TYPE,
    DocumentEntry,
    SignatureList,
    document_entry,
    page_ids,
    read_signature_file,
    read_signature_list,
)
from sealbridge.errors import MalformedInput
from sealbridge.seals.issue import StampRefused, stamp

# ofdrw writes the JCA name of the digest; its validator, and this one, also take the OID.
CHECK_METHOD = "SM3"
SIGNATURES_FILE = "Signatures.xml"
SIGNATURE_FILE = "Signature.xml"
SIGNED_VALUE_FILE = "SignedValue.dat"
SEAL_FILE = "Seal.esl"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
_SIGN_DIR = re.compile(r"Sign_(\d+)/")


@dataclass(frozen=True)
class Provider:
    """The signing software named in SignedInfo/Provider."""

    name: str = "SealBridge"
    version: str = "0.1.0"
    company: str = "SealBridge"


DEFAULT_PROVIDER = Provider()


def stamp_ofd(
    ofd: bytes,
    *,
    seal_der: bytes,
    signer_key: KeyHandle,
    signer_certificate: x509.Certificate,
    page: int,
    boundary_mm: tuple[float, float, float, float],
    time: datetime,
    provider: Provider = DEFAULT_PROVIDER,
) -> bytes:
    """The package with one more seal signature; earlier ones stay valid.

    ``page`` is the page's index in the first document, ``boundary_mm`` the stamp's box
    (x, y, width, height) on it, and ``time`` the signing time, aware; SignatureDateTime
    is written in ``time``'s own zone, as ofdrw writes local time. Raises MalformedInput
    for a bad package or place, and StampRefused when the seal may not be applied or the
    package is closed to further signatures.
    """
    if time.tzinfo is None:
        raise MalformedInput("signing time", "a time zone is required")
    package = read_package(ofd)
    entry = document_entry(package)
    pages = page_ids(package, entry.document_path)
    if not 0 <= page < len(pages):
        raise MalformedInput("page", f"index {page} is outside the document's {len(pages)} pages")
    boundary = _boundary(boundary_mm)

    package, signatures_path = _with_signature_list_entry(package, entry)
    listing = _signature_list(package, signatures_path)
    sign_dir = _next_sign_dir(package, posixpath.dirname(signatures_path))
    signature_path = f"{sign_dir}/{SIGNATURE_FILE}"
    signature_id, annot_id = listing.max_id + 1, listing.max_id + 2

    index = listing.root
    _set_max_sign_id(index, annot_id)
    child(index, "Signature", ID=str(signature_id), Type=SEAL_TYPE, BaseLoc=f"/{signature_path}")
    package = package.with_files(
        {signatures_path: serialize(index), f"{sign_dir}/{SEAL_FILE}": seal_der}
    )

    algorithm = signer_key.default_signature_algorithm()
    signature_xml = _signature_xml(
        package,
        excluded=signatures_path,
        sign_dir=sign_dir,
        provider=provider,
        method=algorithm["algorithm"].dotted,
        when=time.replace(microsecond=0).strftime(DATE_FORMAT),
        annot=(str(annot_id), pages[page], boundary),
    )
    signed_value = stamp(
        seal_der,
        signer_key,
        signer_certificate,
        data_hash=digest(hash_of_signature_algorithm(algorithm), signature_xml),
        property_info=f"/{signature_path}",
        time=time,
    )
    package = package.with_files(
        {signature_path: signature_xml, f"{sign_dir}/{SIGNED_VALUE_FILE}": signed_value}
    )
    return write_package(package, modified=time)


def _boundary(box: tuple[float, float, float, float]) -> str:
    if len(box) != 4 or not all(isinstance(v, int | float) and math.isfinite(v) for v in box):
        raise MalformedInput("stamp boundary", "it must be four finite numbers: x y width height")
    x, y, width, height = box
    if x < 0 or y < 0 or width <= 0 or height <= 0:
        raise MalformedInput("stamp boundary", "x and y must be ≥ 0 and the size positive")
    return " ".join(f"{v:.2f}".rstrip("0").rstrip(".") for v in box)


def _with_signature_list_entry(package: OfdPackage, entry: DocumentEntry) -> tuple[OfdPackage, str]:
    """The package whose OFD.xml names a signature list, and that list's path.

    On the first stamp OFD.xml gains DocBody/Signatures with the absolute location
    ofdrw writes (``/Doc_0/Signs/Signatures.xml``), before any file is hashed.
    """
    if entry.signatures_path is not None:
        return package, entry.signatures_path
    signs = posixpath.join(posixpath.dirname(entry.document_path), "Signs")
    path = f"{signs}/{SIGNATURES_FILE}".lstrip("/")
    if path in package:
        raise MalformedInput("OFD package", f"{path} exists but OFD.xml does not name it")
    body = entry.doc_body
    element = etree.Element(tag("Signatures"))
    element.text = f"/{path}"
    anchor = body.find(tag("Versions"))
    if anchor is None:
        anchor = body.find(tag("DocRoot"))
    if anchor is None:
        raise MalformedInput("OFD.xml", "the first DocBody has no DocRoot")
    anchor.addnext(element)
    new_index = new_root("Signatures")
    child(new_index, "MaxSignId", "0")
    changes = {"OFD.xml": serialize(entry.ofd_root), path: serialize(new_index)}
    return package.with_files(changes), path


def _signature_list(package: OfdPackage, path: str) -> SignatureList:
    """The list, after checking that no earlier signature has closed the package."""
    listing = read_signature_list(package, path)
    for signature in listing.entries:
        protected = read_signature_file(package, signature.path)
        if any(reference.path == path for reference in protected.references):
            raise StampRefused(
                f"signature {signature.id} protects {path}, so no signature may be added"
            )
    return listing


def _next_sign_dir(package: OfdPackage, signs: str) -> str:
    prefix = f"{signs}/" if signs else ""
    taken = [
        int(match.group(1))
        for name in package
        if name.startswith(prefix) and (match := _SIGN_DIR.match(name[len(prefix) :]))
    ]
    return f"{prefix}Sign_{max(taken, default=-1) + 1}"


def _set_max_sign_id(index: etree._Element, value: int) -> None:
    element = index.find(tag("MaxSignId"))
    if element is None:
        element = etree.Element(tag("MaxSignId"))
        index.insert(0, element)
    element.text = str(value)


def _signature_xml(
    package: OfdPackage,
    *,
    excluded: str,
    sign_dir: str,
    provider: Provider,
    method: str,
    when: str,
    annot: tuple[str, str, str],
) -> bytes:
    root = new_root("Signature")
    info = child(root, "SignedInfo")
    child(
        info,
        "Provider",
        ProviderName=provider.name,
        Version=provider.version,
        Company=provider.company,
    )
    child(info, "SignatureMethod", method)
    child(info, "SignatureDateTime", when)
    references = child(info, "References", CheckMethod=CHECK_METHOD)
    for path, content in package.files.items():
        if path == excluded:
            continue
        reference = child(references, "Reference", FileRef=f"/{path}")
        child(reference, "CheckValue", base64.b64encode(sm3(content)).decode("ascii"))
    annot_id, page_ref, boundary = annot
    child(info, "StampAnnot", ID=annot_id, PageRef=page_ref, Boundary=boundary)
    seal = child(info, "Seal")
    child(seal, "BaseLoc", f"/{sign_dir}/{SEAL_FILE}")
    child(root, "SignedValue", f"/{sign_dir}/{SIGNED_VALUE_FILE}")
    return serialize(root)
