"""The ETSI TS 119 612 v2 shape of a trust list, as an lxml tree, without any cryptography.

This module only maps ``TrustList`` to ``tsl:TrustServiceStatusList`` and back, so that the
signing and verifying code in ``trust.xml`` can be read on its own. The parser reads the
*signed* tree only (``trust.xml`` hands it what signxml says was signed), and every
structural problem becomes a ``TrustError`` naming the element path.

Identifier choices (see ``SERVICE_TYPE_URIS``): statuses use the ETSI URIs, whose meaning
(granted / withdrawn) is exactly ours. Service types and the list type use SealBridge URNs,
because the ETSI ones (``.../Svctype/CA/QC``, ``.../TSLType/EUgeneric``) carry eIDAS legal
meaning - qualified certificates, EU member state lists - that our federation's services do
not have; an EU validator must not mistake a Shenzhen CA for a qualified EU one.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from asn1crypto import x509
from lxml import etree

from sealbridge.errors import TrustError
from sealbridge.trust.model import (
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)

TSL_NS = "http://uri.etsi.org/02231/v2#"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
ECC_NS = "http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#"
XADES_NS = "http://uri.etsi.org/01903/v1.3.2#"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ROOT_TAG = f"{{{TSL_NS}}}TrustServiceStatusList"

TSL_TAG = "http://uri.etsi.org/19612/TSLTag"
TSL_VERSION = 5
TSL_TYPE = "urn:sealbridge:tsltype:generic"
MAX_SEQUENCE_NUMBER = 10**18 - 1

#: Service types under SealBridge's own URN arc. Closest ETSI analogues: CA/QC (ca-esig,
#: ca-eseal, told apart in the EU by ForeSignatures / ForeSeals), TSA/QTST (tsa),
#: Certstatus/OCSP (ocsp); seal-maker has none.
SERVICE_TYPE_URIS: dict[ServiceType, str] = {
    t: f"urn:sealbridge:svctype:{t.value}" for t in ServiceType
}
STATUS_URIS: dict[ServiceStatus, str] = {
    s: f"http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/{s.value}" for s in ServiceStatus
}
#: Qualifier stating that the listed policy identifiers are OID arcs that every certificate
#: issued under the service must carry (a policy equal to the arc or below it), as
#: ``TrustView`` checks them.
POLICY_PREFIX_QUALIFIER = "urn:sealbridge:qualifier:required-policy-prefix"

_SERVICE_TYPES = {uri: t for t, uri in SERVICE_TYPE_URIS.items()}
_STATUSES = {uri: s for s, uri in STATUS_URIS.items()}
_OID_URN = re.compile(r"urn:oid:([0-2](?:\.(?:0|[1-9][0-9]*))+)")
_DIGITS = re.compile(r"[0-9]{1,18}")
_NSMAP = {"tsl": TSL_NS, "ds": DS_NS, "ecc": ECC_NS, "xades": XADES_NS}


@dataclass(frozen=True)
class ListPointer:
    """A ``PointersToOtherTSL`` entry: where a territory's list is and who may sign it.

    A pointer to the list's own territory is how an operator announces its signing
    certificates, which ``trust.pivot`` uses for key rollover.
    """

    territory: str
    location: str
    operator_certificates: tuple[x509.Certificate, ...]


def xml_datetime(when: datetime) -> str:
    """xsd:dateTime in UTC with a ``Z``, as TS 119 612 asks; naive times are refused."""
    if when.tzinfo is None:
        raise TrustError(f"time {when.isoformat()} has no time zone")
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def service_key_identifier(certificate: x509.Certificate) -> bytes:
    """The X509SKI of a service: its extension, or the RFC 5280 SHA-1 of the key if absent."""
    ski: bytes | None = certificate.key_identifier
    return ski if ski is not None else certificate.public_key.sha1


# --- building --------------------------------------------------------------------------


def build_tree(tl: TrustList, pointers: Sequence[ListPointer] = ()) -> etree._Element:
    """The unsigned ``TrustServiceStatusList``; history is written newest first, as in ETSI."""
    root = etree.Element(ROOT_TAG, nsmap=_NSMAP, TSLTag=TSL_TAG)
    info = _sub(root, "SchemeInformation")
    _sub(info, "TSLVersionIdentifier", str(TSL_VERSION))
    if not 0 <= tl.sequence_number <= MAX_SEQUENCE_NUMBER:
        raise TrustError(f"sequence number {tl.sequence_number} is out of range")
    _sub(info, "TSLSequenceNumber", str(tl.sequence_number))
    _sub(info, "TSLType", TSL_TYPE)
    _name(_sub(info, "SchemeOperatorName"), tl.operator)
    _sub(info, "SchemeTerritory", tl.territory)
    if pointers:
        _pointers(_sub(info, "PointersToOtherTSL"), pointers)
    _sub(info, "ListIssueDateTime", xml_datetime(tl.issued))
    _sub(_sub(info, "NextUpdate"), "dateTime", xml_datetime(tl.next_update))
    providers = _sub(root, "TrustServiceProviderList")
    for provider in tl.providers:
        tsp = _sub(providers, "TrustServiceProvider")
        _name(_sub(_sub(tsp, "TSPInformation"), "TSPName"), provider.name)
        services = _sub(tsp, "TSPServices")
        for service in provider.services:
            _service(_sub(services, "TSPService"), service)
    etree.indent(root, space=" ")
    return root


def _pointers(parent: etree._Element, pointers: Sequence[ListPointer]) -> None:
    for pointer in pointers:
        if not pointer.operator_certificates:
            raise TrustError(f"pointer to the list of {pointer.territory} names no certificate")
        el = _sub(parent, "OtherTSLPointer")
        identities = _sub(el, "ServiceDigitalIdentities")
        for cert in pointer.operator_certificates:
            _certificate_identity(_sub(identities, "ServiceDigitalIdentity"), cert)
        _sub(el, "TSLLocation", pointer.location)
        additional = _sub(el, "AdditionalInformation")
        _sub(_sub(additional, "OtherInformation"), "SchemeTerritory", pointer.territory)
        _sub(_sub(additional, "OtherInformation"), "TSLType", TSL_TYPE)


def _service(el: etree._Element, service: TrustService) -> None:
    if not service.history:
        raise TrustError(f"service {service.name!r} has no status history")
    # Stable sort: equal times keep their order, so the reader rebuilds the same tuple.
    history = sorted(service.history, key=lambda c: c.since)
    current, earlier = history[-1], history[:-1]
    info = _sub(el, "ServiceInformation")
    _sub(info, "ServiceTypeIdentifier", SERVICE_TYPE_URIS[service.service_type])
    _name(_sub(info, "ServiceName"), service.name)
    _certificate_identity(_sub(info, "ServiceDigitalIdentity"), service.certificate)
    _sub(info, "ServiceStatus", STATUS_URIS[current.status])
    _sub(info, "StatusStartingTime", xml_datetime(current.since))
    if service.supply_points:
        points = _sub(info, "ServiceSupplyPoints")
        for point in service.supply_points:
            _sub(points, "ServiceSupplyPoint", point)
    if service.policy_prefixes:
        _policy_extension(_sub(info, "ServiceInformationExtensions"), service)
    if earlier:
        ski = base64.b64encode(service_key_identifier(service.certificate)).decode("ascii")
        instances = _sub(el, "ServiceHistory")
        for change in reversed(earlier):
            instance = _sub(instances, "ServiceHistoryInstance")
            _sub(instance, "ServiceTypeIdentifier", SERVICE_TYPE_URIS[service.service_type])
            _name(_sub(instance, "ServiceName"), service.name)
            _sub(_sub(_sub(instance, "ServiceDigitalIdentity"), "DigitalId"), "X509SKI", ski)
            _sub(instance, "ServiceStatus", STATUS_URIS[change.status])
            _sub(instance, "StatusStartingTime", xml_datetime(change.since))


def _policy_extension(parent: etree._Element, service: TrustService) -> None:
    # Critical: a relying party that skipped it would accept certificates without the policy.
    extension = _sub(parent, "Extension", Critical="true")
    element = etree.SubElement(
        etree.SubElement(extension, f"{{{ECC_NS}}}Qualifications"),
        f"{{{ECC_NS}}}QualificationElement",
    )
    qualifiers = etree.SubElement(element, f"{{{ECC_NS}}}Qualifiers")
    etree.SubElement(qualifiers, f"{{{ECC_NS}}}Qualifier", uri=POLICY_PREFIX_QUALIFIER)
    criteria = etree.SubElement(element, f"{{{ECC_NS}}}CriteriaList", {"assert": "all"})
    policy_set = etree.SubElement(criteria, f"{{{ECC_NS}}}PolicySet")
    for prefix in service.policy_prefixes:
        if not _OID_URN.fullmatch(f"urn:oid:{prefix}"):
            raise TrustError(f"policy prefix {prefix!r} of {service.name!r} is not an OID")
        identifier = etree.SubElement(
            etree.SubElement(policy_set, f"{{{ECC_NS}}}PolicyIdentifier"),
            f"{{{XADES_NS}}}Identifier",
            Qualifier="OIDAsURN",
        )
        identifier.text = f"urn:oid:{prefix}"


def _certificate_identity(parent: etree._Element, certificate: x509.Certificate) -> None:
    der = certificate.dump()
    _sub(_sub(parent, "DigitalId"), "X509Certificate", base64.b64encode(der).decode("ascii"))


def _name(parent: etree._Element, text: str) -> None:
    name = _sub(parent, "Name", text)
    name.set(XML_LANG, "en")


def _sub(
    parent: etree._Element, local: str, text: str | None = None, **attrib: str
) -> etree._Element:
    el = etree.SubElement(parent, _t(local), attrib)
    if text is not None:
        try:
            el.text = text
        except ValueError as exc:
            raise TrustError(f"{local} {text!r} cannot be written as XML: {exc}") from exc
    return el


def _t(local: str) -> str:
    return f"{{{TSL_NS}}}{local}"


# --- reading ---------------------------------------------------------------------------


def parse_tree(root: etree._Element) -> tuple[TrustList, tuple[ListPointer, ...]]:
    """Read a signed ``TrustServiceStatusList`` back into the model and its pointers."""
    if root.tag != ROOT_TAG:
        raise TrustError(f"not an ETSI TS 119 612 trust list: the root element is {root.tag}")
    if root.get("TSLTag") != TSL_TAG:
        raise TrustError(f"TrustServiceStatusList lacks TSLTag={TSL_TAG!r}")
    top = _Node(root, "TrustServiceStatusList")
    info = top.child("SchemeInformation")
    version = info.child("TSLVersionIdentifier").value()
    if version != str(TSL_VERSION):
        raise TrustError(f"TSLVersionIdentifier {version!r} is not supported, only {TSL_VERSION}")
    list_type = info.child("TSLType").value()
    if list_type != TSL_TYPE:
        raise TrustError(f"TSLType {list_type!r} is not a SealBridge trust list ({TSL_TYPE})")
    pointers = info.optional("PointersToOtherTSL")
    providers = top.optional("TrustServiceProviderList")
    tl = TrustList(
        territory=info.child("SchemeTerritory").text(),
        operator=_english_name(info.child("SchemeOperatorName")),
        sequence_number=_integer(info.child("TSLSequenceNumber")),
        issued=_datetime(info.child("ListIssueDateTime")),
        next_update=_datetime(info.child("NextUpdate").child("dateTime")),
        providers=tuple(
            _provider(p) for p in (providers.children("TrustServiceProvider") if providers else [])
        ),
    )
    return tl, tuple(
        _pointer(p) for p in (pointers.children("OtherTSLPointer") if pointers else [])
    )


@dataclass(frozen=True)
class _Node:
    """An element and its path from the root, so that errors can say where they are."""

    el: etree._Element
    path: str

    def children(self, local: str, ns: str = TSL_NS) -> list[_Node]:
        found = self.el.findall(f"{{{ns}}}{local}")
        if len(found) == 1:
            return [_Node(found[0], f"{self.path}/{local}")]
        return [_Node(el, f"{self.path}/{local}[{i}]") for i, el in enumerate(found, 1)]

    def optional(self, local: str, ns: str = TSL_NS) -> _Node | None:
        found = self.children(local, ns)
        if len(found) > 1:
            raise TrustError(f"trust list has {len(found)} {self.path}/{local} elements, not one")
        return found[0] if found else None

    def child(self, local: str, ns: str = TSL_NS) -> _Node:
        found = self.optional(local, ns)
        if found is None:
            raise TrustError(f"trust list lacks the element {self.path}/{local}")
        return found

    def text(self) -> str:
        if any(isinstance(c.tag, str) for c in self.el):
            raise TrustError(f"{self.path} must hold text, not elements")
        return self.el.text or ""

    def value(self) -> str:
        """The text without surrounding blanks, for numbers, times, URIs and base64 only;
        names and other free text are read exactly as written."""
        return self.text().strip()


def _provider(node: _Node) -> TrustServiceProvider:
    return TrustServiceProvider(
        name=_english_name(node.child("TSPInformation").child("TSPName")),
        services=tuple(_service_of(s) for s in node.child("TSPServices").children("TSPService")),
    )


def _service_of(node: _Node) -> TrustService:
    info = node.child("ServiceInformation")
    service_type = _service_type(info.child("ServiceTypeIdentifier"))
    (certificate,) = _identity_certificates(info.child("ServiceDigitalIdentity"), exactly_one=True)
    changes = [_status_change(info)]
    history = node.optional("ServiceHistory")
    for instance in history.children("ServiceHistoryInstance") if history else []:
        if _service_type(instance.child("ServiceTypeIdentifier")) is not service_type:
            raise TrustError(f"{instance.path} changes the service type, which is not supported")
        ski = _base64(instance.child("ServiceDigitalIdentity").child("DigitalId").child("X509SKI"))
        if ski != service_key_identifier(certificate):
            raise TrustError(f"{instance.path} is the history of another key")
        changes.append(_status_change(instance))
    changes.reverse()
    if any(a.since > b.since for a, b in pairwise(changes)):
        raise TrustError(f"{node.path}: status history is not in chronological order")
    points = info.optional("ServiceSupplyPoints")
    return TrustService(
        name=_english_name(info.child("ServiceName")),
        service_type=service_type,
        certificate=certificate,
        history=tuple(changes),
        policy_prefixes=_policy_prefixes(info.optional("ServiceInformationExtensions")),
        supply_points=tuple(
            p.text() for p in (points.children("ServiceSupplyPoint") if points else [])
        ),
    )


def _policy_prefixes(extensions: _Node | None) -> tuple[str, ...]:
    """Required policy arcs; an unknown extension marked critical makes the list unusable."""
    prefixes: list[str] = []
    for ext in extensions.children("Extension") if extensions else []:
        critical = ext.el.get("Critical", "true").strip() in ("true", "1")
        qualifications = ext.optional("Qualifications", ECC_NS)
        elements = qualifications.children("QualificationElement", ECC_NS) if qualifications else []
        for element in elements:
            qualifiers = element.child("Qualifiers", ECC_NS).children("Qualifier", ECC_NS)
            if [q.el.get("uri") for q in qualifiers] != [POLICY_PREFIX_QUALIFIER]:
                if critical:
                    raise TrustError(f"{element.path} is a critical qualification not understood")
                continue
            criteria = element.child("CriteriaList", ECC_NS)
            if criteria.el.get("assert") != "all":
                raise TrustError(f"{criteria.path} must assert all of its policies")
            policy_set = criteria.child("PolicySet", ECC_NS)
            for policy in policy_set.children("PolicyIdentifier", ECC_NS):
                identifier = policy.child("Identifier", XADES_NS)
                match = _OID_URN.fullmatch(identifier.value())
                if match is None:
                    raise TrustError(f"{identifier.path} is not an OID URN (urn:oid:...)")
                prefixes.append(match.group(1))
        if not elements and critical:
            raise TrustError(f"{ext.path} is critical and not understood")
    return tuple(prefixes)


def _pointer(node: _Node) -> ListPointer:
    identities = node.child("ServiceDigitalIdentities").children("ServiceDigitalIdentity")
    if not identities:
        raise TrustError(f"trust list lacks the element {node.path}/ServiceDigitalIdentity")
    certificates = tuple(c for i in identities for c in _identity_certificates(i))
    other = node.child("AdditionalInformation").children("OtherInformation")
    territories = [t for o in other if (t := o.optional("SchemeTerritory")) is not None]
    if len(territories) != 1:
        raise TrustError(f"{node.path} must name exactly one SchemeTerritory")
    return ListPointer(
        territory=territories[0].text(),
        location=node.child("TSLLocation").text(),
        operator_certificates=certificates,
    )


def _identity_certificates(node: _Node, *, exactly_one: bool = False) -> list[x509.Certificate]:
    """Certificates of a digital identity; other DigitalId forms (names, SKIs) are ignored."""
    certificates = [
        _certificate(c) for d in node.children("DigitalId") for c in d.children("X509Certificate")
    ]
    if not certificates or (exactly_one and len(certificates) > 1):
        wanted = "exactly one" if exactly_one else "an"
        raise TrustError(f"{node.path} must hold {wanted} X509Certificate")
    return certificates


def _certificate(node: _Node) -> x509.Certificate:
    der = _base64(node)
    try:
        certificate = x509.Certificate.load(der, strict=True)
        if not certificate.subject.native:
            raise ValueError("the certificate has an empty subject")
        service_key_identifier(certificate)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise TrustError(f"{node.path} is not an X.509 certificate: {exc}") from exc
    return certificate


def _base64(node: _Node) -> bytes:
    try:
        return base64.b64decode("".join(node.text().split()), validate=True)
    except ValueError as exc:
        raise TrustError(f"{node.path} is not base64: {exc}") from exc


def _status_change(node: _Node) -> StatusChange:
    uri = node.child("ServiceStatus").value()
    if uri not in _STATUSES:
        raise TrustError(f"{node.path}/ServiceStatus {uri!r} is not a known status")
    return StatusChange(_STATUSES[uri], _datetime(node.child("StatusStartingTime")))


def _service_type(node: _Node) -> ServiceType:
    uri = node.value()
    if uri not in _SERVICE_TYPES:
        raise TrustError(f"{node.path} {uri!r} is not a known service type")
    return _SERVICE_TYPES[uri]


def _english_name(node: _Node) -> str:
    names = [n for n in node.children("Name") if n.el.get(XML_LANG, "").lower() == "en"]
    if len(names) != 1:
        raise TrustError(f"{node.path} must hold exactly one Name in English (xml:lang=en)")
    return names[0].text()


def _integer(node: _Node) -> int:
    text = node.value()
    if not _DIGITS.fullmatch(text):
        raise TrustError(f"{node.path} {text!r} is not a non-negative integer")
    return int(text)


def _datetime(node: _Node) -> datetime:
    text = node.value()
    try:
        when = datetime.fromisoformat(text)
        if when.tzinfo is None:
            raise ValueError("no time zone")
        return when.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise TrustError(f"{node.path} {text!r} is not a date and time in UTC: {exc}") from exc
