"""Detached CMS signature files (``.p7s``) over given content, RSA, ECDSA or SM2.

A detached signature meets the checks a PDF signature meets: ``verify.cades`` for the
CMS and its timestamp, ``verify.chain`` for the paths (SM2 included, issuing CAs
included, revocation from the responders the context allows), ``verify.outcome`` for
the verdict and recognition. CAdES also requires the signing-certificate-v2 attribute,
which a PDF signature's checks leave to the policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from asn1crypto import cms, x509

from sealbridge.errors import MalformedInput
from sealbridge.seals.decode import ASN1_ERRORS
from sealbridge.trust.view import Federation
from sealbridge.verify import pades_checks
from sealbridge.verify.cades import (
    SignedCms,
    digest_of,
    read_signed_data,
)
from sealbridge.verify.chain import (
    ChainOutcome,
    Usage,
    run_to_completion,
    validate_chain,
)
from sealbridge.verify.outcome import signature_report, unverifiable_report
from sealbridge.verify.pades_status import signature_status
from sealbridge.verify.pdf import ContextFactory, federation_context
from sealbridge.verify.report.model import Check, Indication, SignatureKind, ValidationReport


def verify_detached_cms(
    container: bytes,
    content: bytes,
    name: str,
    federation: Federation,
    jurisdictions: Sequence[str],
    *,
    context: ContextFactory | None = None,
) -> ValidationReport:
    """A detached CMS signature file over ``content``.

    ``context`` says what may be fetched and at what time to validate (default: the
    federation's anchors, now, responders asked). Raises ``MalformedInput`` when
    ``container`` is no CMS SignedData at all; anything wrong past that is in the report.
    """
    signed_data = _load(container)
    validation = (context or federation_context(federation))(None)

    def chains(
        certificate: x509.Certificate, others: Iterable[x509.Certificate], usage: Usage
    ) -> ChainOutcome:
        return validate_chain(certificate, others, usage, validation, run_to_completion)

    try:
        try:
            signed = _parse(signed_data)
            status = signature_status(
                signed, digest_of((content,)), chains, federation.all_certificates()
            )
        except MalformedInput as exc:
            report = unverifiable_report(name, SignatureKind.CMS, exc, jurisdictions)
        else:
            checks = [
                *pades_checks.status_checks(status, in_pdf=False),
                _signing_certificate(signed),
            ]
            report = signature_report(
                name, SignatureKind.CMS, status, checks, federation, jurisdictions
            )
    finally:
        run_to_completion(validation.aclose())
    return ValidationReport(
        file=name,
        sha256=hashlib.sha256(container).hexdigest(),
        validated_at=datetime.now(UTC),
        signatures=(report,),
    )


def _load(container: bytes) -> cms.SignedData:
    try:
        info = cms.ContentInfo.load(container)
        if info["content_type"].native != "signed_data":
            raise MalformedInput("CMS signature", "it is not SignedData")
        signed_data: cms.SignedData = info["content"]
        return signed_data
    except ASN1_ERRORS as exc:
        raise MalformedInput("CMS signature", str(exc) or type(exc).__name__) from exc


def _parse(signed_data: cms.SignedData) -> SignedCms:
    """One signer over detached content."""
    signed = read_signed_data(signed_data, "CMS signature")
    try:
        attached = signed_data["encap_content_info"]["content"].native is not None
    except ASN1_ERRORS as exc:
        raise MalformedInput("CMS signature", str(exc) or type(exc).__name__) from exc
    if attached:
        raise MalformedInput("CMS signature", "content is attached, not detached")
    return signed


def _signing_certificate(signed: SignedCms) -> Check:
    """CAdES requires the ESS signing-certificate-v2 attribute; ``check_integrity`` has
    checked that, when present, it names the signer."""
    try:
        values = signed.signed_attribute("signing_certificate_v2")
        algorithm = (
            values[0]["values"][0]["certs"][0]["hash_algorithm"]["algorithm"].native
            if len(values) == 1
            else None
        )
    except ASN1_ERRORS:
        algorithm = None
    if algorithm is None:
        return Check(
            "signing-certificate",
            Indication.INDETERMINATE,
            "NO_SIGNING_CERTIFICATE_FOUND",
            "no readable signing-certificate-v2 attribute (CAdES requires one)",
        )
    return Check(
        "signing-certificate",
        Indication.TOTAL_PASSED,
        None,
        f"signing-certificate-v2 ({algorithm}) names the signer's certificate",
    )
