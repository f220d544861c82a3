"""Trust lists as signed ETSI TS 119 612 XML: written, verified and loaded.

The scheme operator signs the whole ``TrustServiceStatusList`` with an enveloped XMLDSig
signature (Reference URI="", exclusive C14N, SHA-256 digest, ECDSA or RSA), made and checked
by signxml so that no canonicalisation is written by hand.

Loading trusts nothing before the signature has verified against a pinned operator
certificate, and then reads only what signxml reports as signed, never the raw document:
that closes signature-wrapping tricks where unsigned elements sit next to signed ones.
Untrusted bytes go through a parser that refuses DTDs (so no external entities and no
entity expansion), never touches the network and keeps libxml2's size limits.

The pinned certificate is a trust anchor in the RFC 5280 sense - a name and a key - so its
validity period is not enforced, as in ``trust.signed``; replacing it is the job of
``trust.pivot``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import cryptography.exceptions
from asn1crypto import pem, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding, PKCS1v15
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from sealbridge.crypto import algorithms
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle
from sealbridge.errors import TrustError, UnsupportedAlgorithm
from sealbridge.trust.model import TrustList, TrustService
from sealbridge.trust.xml_codec import (
    DS_NS,
    ROOT_TAG,
    SERVICE_TYPE_URIS,
    STATUS_URIS,
    TSL_TYPE,
    ListPointer,
    build_tree,
    parse_tree,
    xml_datetime,
)
from sealbridge.xml_safety import hardened_parser

__all__ = [
    "MAX_XML_BYTES",
    "SERVICE_TYPE_URIS",
    "STATUS_URIS",
    "ListPointer",
    "VerifiedList",
    "build_tree",
    "check_current",
    "load_trust_list_xml",
    "sign_xml",
    "to_xml",
    "trust_list_json",
    "verify_trust_list_xml",
]

MAX_XML_BYTES = 16 * 1024 * 1024

_SIGNATURE_METHODS = {
    KeyKind.ECDSA_P256: SignatureMethod.ECDSA_SHA256,
    KeyKind.ECDSA_P384: SignatureMethod.ECDSA_SHA384,
    KeyKind.RSA_2048: SignatureMethod.RSA_SHA256,
    KeyKind.RSA_3072: SignatureMethod.RSA_SHA256,
}
_ACCEPTED_METHODS = frozenset(
    {
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
    }
)
_ACCEPTED_DIGESTS = frozenset(
    {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
)
# Whatever signxml or lxml raise on hostile input; each means "this signature is no good".
_VERIFY_ERRORS = (
    SignXMLException,
    cryptography.exceptions.InvalidSignature,
    cryptography.exceptions.UnsupportedAlgorithm,
    etree.LxmlError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
)


@dataclass(frozen=True)
class VerifiedList:
    """A list whose signature verified, with its pointers and the pinned certificate used."""

    trust_list: TrustList
    pointers: tuple[ListPointer, ...]
    signer: x509.Certificate


def to_xml(
    tl: TrustList,
    key: KeyHandle,
    certificate: x509.Certificate,
    *,
    pointers: Sequence[ListPointer] = (),
) -> bytes:
    """The list as signed TS 119 612 XML; a status history is written in time order."""
    return sign_xml(build_tree(tl, pointers), key, certificate)


def sign_xml(root: etree._Element, key: KeyHandle, certificate: x509.Certificate) -> bytes:
    """Sign a ``TrustServiceStatusList`` tree as its operator, certificate in KeyInfo."""
    method = _SIGNATURE_METHODS.get(key.kind)
    if method is None:
        raise UnsupportedAlgorithm(f"{key.kind.value} keys cannot sign XML trust lists")
    if key.public_key_info.dump() != certificate.public_key.dump():
        raise TrustError(f"the signing key is not the key of {certificate.subject.human_friendly}")
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(
        root,
        # signxml only calls sign() and key_size on its key; see _KeyHandleSigner.
        key=cast(Any, _KeyHandleSigner(key)),
        cert=[pem.armor("CERTIFICATE", certificate.dump()).decode("ascii")],
    )
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def load_trust_list_xml(
    data: bytes,
    operator_certificate: x509.Certificate,
    *,
    now: datetime,
    last_sequence_number: int | None = None,
) -> TrustList:
    """Verify, parse and check a signed XML list; raise TrustError naming what is wrong."""
    tl = verify_trust_list_xml(data, [operator_certificate]).trust_list
    check_current(tl, now=now, last_sequence_number=last_sequence_number)
    return tl


def verify_trust_list_xml(
    data: bytes, operator_certificates: Sequence[x509.Certificate]
) -> VerifiedList:
    """The signed content, once signed by one of the pinned certificates; no freshness check."""
    root = _parse(data)
    if root.tag != ROOT_TAG:
        raise TrustError(f"not an ETSI TS 119 612 trust list: the root element is {root.tag}")
    signature = root.find(f"{{{DS_NS}}}Signature")
    if signature is None:
        raise TrustError("trust list is not signed: TrustServiceStatusList has no ds:Signature")
    claimed = _key_info_certificate(signature)
    # Try the certificate the signature names first, so its error is the one reported.
    candidates = sorted(
        operator_certificates, key=lambda c: claimed is None or c.dump() != claimed.dump()
    )
    errors: list[str] = []
    for pinned in candidates:
        try:
            signed = _verify(root, pinned)
        except _VERIFY_ERRORS as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        tl, pointers = parse_tree(signed)
        return VerifiedList(tl, pointers, pinned)
    names = "; ".join(c.subject.human_friendly for c in operator_certificates)
    if claimed is not None and all(c.dump() != claimed.dump() for c in operator_certificates):
        raise TrustError(
            f"trust list is signed by {claimed.subject.human_friendly}, "
            f"not by the pinned operator ({names})"
        )
    reason = errors[0] if errors else "no operator certificate is pinned"
    raise TrustError(
        f"trust list signature does not verify for the pinned operator ({names}): {reason}"
    )


def check_current(tl: TrustList, *, now: datetime, last_sequence_number: int | None = None) -> None:
    """Refuse a list past its NextUpdate, or older than one already seen."""
    if tl.next_update <= now:
        raise TrustError(f"trust list of {tl.territory} expired at {tl.next_update.isoformat()}")
    if last_sequence_number is not None and tl.sequence_number < last_sequence_number:
        raise TrustError(
            f"trust list of {tl.territory} rolled back: sequence {tl.sequence_number} "
            f"< {last_sequence_number} already seen"
        )


def trust_list_json(tl: TrustList) -> dict[str, Any]:
    """The list as the portal shows it: the XML's identifiers plus readable certificates."""
    return {
        "territory": tl.territory,
        "operator": tl.operator,
        "list_type": TSL_TYPE,
        "sequence_number": tl.sequence_number,
        "issued": xml_datetime(tl.issued),
        "next_update": xml_datetime(tl.next_update),
        "providers": [
            {"name": p.name, "services": [_service_json(s) for s in p.services]}
            for p in tl.providers
        ],
    }


def _service_json(service: TrustService) -> dict[str, Any]:
    history = sorted(service.history, key=lambda c: c.since)
    current = history[-1] if history else None
    cert = service.certificate
    return {
        "name": service.name,
        "type": service.service_type.value,
        "type_uri": SERVICE_TYPE_URIS[service.service_type],
        "status": current.status.value if current else None,
        "status_uri": STATUS_URIS[current.status] if current else None,
        "status_since": xml_datetime(current.since) if current else None,
        "history": [
            {
                "status": c.status.value,
                "status_uri": STATUS_URIS[c.status],
                "since": xml_datetime(c.since),
            }
            for c in history
        ],
        "certificate": {
            "subject": cert.subject.human_friendly,
            "issuer": cert.issuer.human_friendly,
            "serial_number": format(cert.serial_number, "x"),
            "sha256": cert.sha256.hex(),
            "not_before": xml_datetime(cert.not_valid_before),
            "not_after": xml_datetime(cert.not_valid_after),
        },
        "policy_prefixes": list(service.policy_prefixes),
        "supply_points": list(service.supply_points),
    }


class _KeyHandleSigner:
    """What signxml needs of a private key, backed by a ``KeyHandle``.

    signxml calls ``sign(data, signature_algorithm=ECDSA(hash))`` for ECDSA and
    ``sign(data, padding=PKCS1v15(), algorithm=hash)`` for RSA, and reads ``key_size`` to
    turn a DER ECDSA signature into XMLDSig's r||s. Going through the handle keeps operator
    keys that live in a token usable, since they never hand out a ``cryptography`` key.
    """

    def __init__(self, key: KeyHandle) -> None:
        self._key = key
        self.key_size: int = key.public_key_info.bit_size

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding | None = None,
        algorithm: hashes.HashAlgorithm | None = None,
        signature_algorithm: ec.EllipticCurveSignatureAlgorithm | None = None,
    ) -> bytes:
        if isinstance(signature_algorithm, ec.ECDSA) and isinstance(
            signature_algorithm.algorithm, hashes.HashAlgorithm
        ):
            name = f"{signature_algorithm.algorithm.name}_ecdsa"
        elif isinstance(padding, PKCS1v15) and algorithm is not None:
            name = f"{algorithm.name}_rsa"
        else:
            raise UnsupportedAlgorithm(
                "signxml asked for a signature scheme other than ECDSA or RSA"
            )
        return self._key.sign(data, algorithms.signature_algorithm(name))


def _verify(root: etree._Element, pinned: x509.Certificate) -> etree._Element:
    """What the signature covers, verified with the pinned key and nothing in KeyInfo."""
    certificate = cx509.load_der_x509_certificate(pinned.dump())
    config = SignatureConfiguration(
        location="./",
        expect_references=1,
        signature_methods=_ACCEPTED_METHODS,
        digest_algorithms=_ACCEPTED_DIGESTS,
        # The pin is the anchor (see the module docstring): ask signxml to check the
        # signature at a time when the certificate is valid instead of at "now".
        verification_time=certificate.not_valid_before_utc,
    )
    result = XMLVerifier().verify(
        root, x509_cert=certificate, parser=hardened_parser(), expect_config=config
    )
    if isinstance(result, list) or result.signed_xml is None:
        raise TrustError("the signature does not cover one XML element")
    return result.signed_xml


def _key_info_certificate(signature: etree._Element) -> x509.Certificate | None:
    """The certificate the signature says it was made with; only used to explain failures."""
    text = signature.findtext(f"{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate")
    if not text:
        return None
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        certificate = x509.Certificate.load(der, strict=True)
        certificate.subject.human_friendly  # noqa: B018 - parse now, not in an error message
    except (ValueError, TypeError, KeyError, OverflowError):
        return None
    return certificate


def _parse(data: bytes) -> etree._Element:
    if len(data) > MAX_XML_BYTES:
        raise TrustError(f"trust list is {len(data)} bytes, more than the {MAX_XML_BYTES} allowed")
    try:
        root = etree.fromstring(data, hardened_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise TrustError(f"trust list is not well-formed XML: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise TrustError("trust list has a DOCTYPE; DTDs and entities are refused")
    return root
