"""PDF signatures whose dictionary declares a chosen /SubFilter and /Type, and CMS
containers with or without signed attributes to put in their /Contents.

pyHanko lays the revision out as our signer does (/Type /Sig, /SubFilter
ETSI.CAdES.detached); the dictionary's entries after /Contents are then rewritten to the
same length before anything is digested, so /ByteRange still covers all but /Contents
and whatever is signed afterwards signs the rewritten bytes. A container is built the
way its signer (honest, old or forging) would: the key signs the content itself when
there are no signed attributes, the attributes otherwise.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from asn1crypto import cms, tsp, x509

from sealbridge.documents.pdf import cms as cms_builder
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PreparedRevision,
    prepare_revision,
    reserve_for,
    run_async,
)
from support.pki import Signer

FIELD = "Signature1"


@dataclass(frozen=True)
class Revision:
    """A revision waiting for its /Contents; ``signed`` is what /ByteRange covers."""

    prepared: PreparedRevision

    @property
    def signed(self) -> bytes:
        start, end = self.prepared.contents
        return self.prepared.pdf[:start] + self.prepared.pdf[end:]

    def embed(self, container: bytes) -> bytes:
        return self.prepared.embed(container)


def prepared_revision(pdf: bytes, signer: Signer) -> PreparedRevision:
    """Our PAdES B-B revision of ``pdf`` in field ``FIELD``, waiting for its /Contents."""
    return run_async(
        prepare_revision(
            pdf,
            signer.certificate,
            None,
            PadesProfile(PadesLevel.B_B),
            digest_algorithm="sha256",
            reserve=reserve_for(signer.certificate, (signer.ca.certificate,), timestamped=True),
            field_name=FIELD,
        )
    )


def revision(
    pdf: bytes, signer: Signer, subfilter: str | None, *, sig_type: str = "Sig"
) -> Revision:
    """``pdf`` with an invisible signature field whose dictionary says /Type
    ``sig_type`` and /SubFilter ``subfilter`` (none at all for ``None``)."""
    prepared = prepared_revision(pdf, signer)
    data = prepared.pdf
    _, end = prepared.contents
    close = data.index(b">>", end)
    entries = data[end:close]
    byte_range = _entry(rb"/ByteRange \[[^\]]*\]", entries)
    claimed = _entry(rb"/M \([^)]*\)", entries)
    rewritten = [byte_range, b"/Type /" + sig_type.encode(), b"/Filter /Adobe.PPKLite"]
    if subfilter is not None:
        rewritten.append(b"/SubFilter /" + subfilter.encode())
    rewritten.append(claimed)
    replacement = b"\n".join(rewritten)
    assert len(replacement) <= len(entries), "no room left in the signature dictionary"
    data = data[:end] + replacement.ljust(len(entries)) + data[close:]
    start, _ = prepared.contents
    digest = hashlib.sha256(data[:start] + data[end:]).digest()
    return Revision(PreparedRevision(data, digest, prepared.contents))


def _entry(pattern: bytes, entries: bytes) -> bytes:
    found = re.search(pattern, entries)
    assert found is not None, f"{pattern!r} not in the signature dictionary"
    return found.group()


def attribute(kind: str, value: object) -> bytes:
    return bytes(cms.CMSAttribute({"type": kind, "values": [value]}).dump())


def with_attributes(signer: Signer, content: bytes, attributes: list[bytes]) -> bytes:
    """A detached CMS whose key signs ``attributes`` (DER each) over ``content``: pass
    the content-type, message-digest and whatever else the signer chose."""
    spec = cms_builder.SignatureSpec.for_key(signer.key)
    signed = cms_builder.tlv(0x31, b"".join(sorted(attributes)))
    return cms_builder.signed_data(
        attributes=signed,
        signature=signer.key.sign(signed, spec.asn1),
        certificate=signer.certificate,
        chain=(signer.ca.certificate,),
        spec=spec,
    )


def basic_attributes(signer: Signer, content: bytes) -> list[bytes]:
    """content-type and message-digest: all RFC 5652 asks for, no signing-certificate."""
    spec = cms_builder.SignatureSpec.for_key(signer.key)
    return [
        attribute("content_type", "data"),
        attribute("message_digest", hashlib.new(spec.digest_algorithm, content).digest()),
    ]


def pades_attributes(signer: Signer, content: bytes) -> list[bytes]:
    """What our PAdES signer signs: content-type, message-digest, signing-certificate-v2."""
    spec = cms_builder.SignatureSpec.for_key(signer.key)
    ess = cms_builder.signing_certificate_v2(signer.certificate, spec.digest_algorithm)
    binding = attribute("signing_certificate_v2", tsp.SigningCertificateV2.load(ess))
    return [*basic_attributes(signer, content), binding]


def pades(signer: Signer, content: bytes) -> bytes:
    return with_attributes(signer, content, pades_attributes(signer, content))


def without_attributes(
    signer: Signer, content: bytes, *, certificate: x509.Certificate | None = None
) -> bytes:
    """An old signer's CMS (RFC 5652 5.4): the key signs ``content`` itself and nothing
    else; ``certificate`` is the one shipped as the signer's (a forger's choice)."""
    spec = cms_builder.SignatureSpec.for_key(signer.key)
    container = cms.ContentInfo.load(
        cms_builder.signed_data(
            attributes=cms_builder.tlv(0x31, attribute("content_type", "data")),
            signature=signer.key.sign(content, spec.asn1),
            certificate=certificate or signer.certificate,
            chain=(signer.ca.certificate,),
            spec=spec,
        )
    )
    signer_infos = container["content"]["signer_infos"]
    kept = ("version", "sid", "digest_algorithm", "signature_algorithm", "signature")
    signer_infos[0] = cms.SignerInfo({name: signer_infos[0][name] for name in kept})
    return bytes(container.dump(force=True))
