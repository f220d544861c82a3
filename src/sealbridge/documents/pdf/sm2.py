"""Dual signing: an international (RSA/ECDSA) PAdES signature, then an SM2 one.

Adobe, poppler and pyHanko cannot check SM2, mainland relying parties expect it, so
vendors sign twice (DOMAIN.md, Algorithms). The international signature comes first,
in the party's visible field, so that common tools find a document whose first
signature they can verify; the SM2 signature follows as an incremental update, in an
invisible field of its own, and covers the first signature too. Both are signed by
``sign_pdf`` with our CMS builder: SM3 digests and SM2-with-SM3 for the second.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import x509
from pyhanko.sign.timestamps.api import TimeStamper

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.documents.pdf.sign import (
    Attachment,
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    PdfSigningError,
    Prepare,
    VisibleStamp,
    sign_pdf,
)

NATIONAL_FIELD_SUFFIX = "-SM2"


def dual_sign_pdf(
    pdf: bytes,
    international: PdfSignerIdentity,
    national: PdfSignerIdentity,
    stamp: VisibleStamp,
    profile: PadesProfile,
    *,
    timestamper: TimeStamper | None = None,
    attachments: Sequence[Attachment] = (),
    national_field: str | None = None,
    password: str | None = None,
    prepare: Prepare | None = None,
) -> bytes:
    """Two incremental revisions by one party: ``international`` in ``stamp``'s field,
    then ``national`` (SM2) in ``national_field`` (default: that field's name + "-SM2").

    Only B-B and B-T: B-LT needs validation data that pyHanko cannot gather for SM2.
    The first signature may certify; the second never does. An encrypted ``pdf`` is
    opened with ``password`` for both revisions and stays encrypted; ``prepare`` runs in
    the first revision (see ``sign_pdf``), so both signatures cover what it adds.
    """
    if profile.level not in (PadesLevel.B_B, PadesLevel.B_T):
        raise PdfSigningError(f"dual signing is B-B or B-T, not {profile.level}")
    if international.key.kind is KeyKind.SM2:
        raise PdfSigningError("the international signature needs an RSA or ECDSA key")
    if national.key.kind is not KeyKind.SM2:
        raise PdfSigningError("the national signature needs an SM2 key")
    if _party(international.certificate) != _party(national.certificate):
        raise PdfSigningError(
            "the two certificates name different parties: "
            f"{international.certificate.subject.human_friendly} and "
            f"{national.certificate.subject.human_friendly}"
        )
    first = sign_pdf(
        pdf,
        international,
        stamp,
        profile,
        timestamper=timestamper,
        attachments=attachments,
        password=password,
        prepare=prepare,
    )
    second = PadesProfile(profile.level, reason=profile.reason, location=profile.location)
    return sign_pdf(
        first,
        national,
        None,
        second,
        timestamper=timestamper,
        field_name=national_field or stamp.place.field_name + NATIONAL_FIELD_SUFFIX,
        password=password,
    )


def _party(certificate: x509.Certificate) -> str:
    """Who a certificate is for: its organisation identifier, else its organisation."""
    subject = certificate.subject.native
    return str(
        subject.get("organization_identifier")
        or subject.get("organization_name")
        or certificate.subject.human_friendly
    )
