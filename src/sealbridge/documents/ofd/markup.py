"""OFD's XML: one namespace, a parser that refuses DTDs and entities, a stable writer.

Every OFD file is in the ``http://www.ofdspec.org/2016`` namespace with the ``ofd``
prefix; readers in the field (ofdrw among them) look for that prefix, so it is always
written that way. Output starts with the same double-quoted declaration ofdrw writes.
"""

from __future__ import annotations

from lxml import etree

from sealbridge.errors import MalformedInput
from sealbridge.xml_safety import hardened_parser

OFD_NS = "http://www.ofdspec.org/2016"
NSMAP = {"ofd": OFD_NS}
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
MAX_XML_BYTES = 8 * 1024 * 1024


def tag(name: str) -> str:
    """The qualified name of an OFD element."""
    return f"{{{OFD_NS}}}{name}"


def parse(data: bytes, what: str) -> etree._Element:
    """Parse one OFD file; MalformedInput names ``what`` when it is not plain, safe XML."""
    if len(data) > MAX_XML_BYTES:
        raise MalformedInput(what, f"{len(data)} bytes, more than the {MAX_XML_BYTES} allowed")
    parser = hardened_parser()
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise MalformedInput(what, f"not well-formed XML: {exc}") from exc
    if root is None:
        raise MalformedInput(what, "empty document")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MalformedInput(what, "it has a DOCTYPE; DTDs and entities are refused")
    return root


def expect(root: etree._Element, name: str, what: str) -> etree._Element:
    """``root`` if it is the OFD element ``name``, else MalformedInput."""
    if root.tag != tag(name):
        raise MalformedInput(what, f"the root element is {root.tag}, not ofd:{name}")
    return root


def new_root(name: str, **attributes: str) -> etree._Element:
    return etree.Element(tag(name), attributes, nsmap=NSMAP)


def child(
    parent: etree._Element, name: str, text: str | None = None, **attributes: str
) -> etree._Element:
    element = etree.SubElement(parent, tag(name), attributes)
    if text is not None:
        element.text = text
    return element


def text_of(parent: etree._Element, name: str) -> str | None:
    """The stripped text of the first child ``name``, or None when there is none."""
    found = parent.find(tag(name))
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def serialize(root: etree._Element) -> bytes:
    return DECLARATION + etree.tostring(root, encoding="UTF-8")
