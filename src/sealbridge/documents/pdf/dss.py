"""Validation data for what a PDF carries besides its signatures' own chains.

pyHanko fills the DSS for each signature's certificates; a seal embedded in a signed
revision has a maker certificate of its own, whose revocation status must travel with
the document too, or an archived contract can no longer prove its seal was good.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from asn1crypto import ocsp, x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign.validation.dss import DocumentSecurityStore

from sealbridge.documents.pdf.reader import open_for_signing
from sealbridge.documents.pdf.sign import PdfSigningError


def add_validation_data(
    pdf: bytes,
    certificates: Sequence[x509.Certificate],
    ocsp_responses: Sequence[ocsp.OCSPResponse],
) -> bytes:
    """``pdf`` with one more revision adding these to its DSS (no VRI entry)."""
    try:
        writer = open_for_signing(pdf)
        DocumentSecurityStore.supply_dss_in_writer(
            writer, None, certs=list(certificates), ocsps=list(ocsp_responses), crls=[]
        )
        out = io.BytesIO()
        writer.write(out)
    except (PdfError, ValueError, KeyError) as exc:
        raise PdfSigningError(f"cannot add validation data: {exc}") from exc
    return out.getvalue()
