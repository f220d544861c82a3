"""One hardened XML parser setting for every XML SealBridge reads (trust lists, OFD).

Documents from outside (a counterparty's OFD, a foreign trust list) must not make the
parser fetch URLs, expand entities (billion laughs, XXE) or build unbounded trees.
"""

from __future__ import annotations

from lxml import etree


def hardened_parser() -> etree.XMLParser:
    """A fresh parser per document: lxml parsers are not to be shared across threads."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
    )
