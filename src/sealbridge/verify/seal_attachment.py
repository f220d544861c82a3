"""Electronic seals embedded in a PAdES signer's revision: the stamp behind the picture.

A Shenzhen firm's PDF signature carries its GB/T 38540 seal as an embedded file added in
the same revision, so the signature covers it. Here the seal is checked (maker signature,
maker chain to a federation CA, binding to the PDF signer's certificate, validity at the
signing time) and its maker recognised per jurisdiction under the e-seal scope. Given
the makers' signed status lists, a seal revoked, suspended or lapsed before the signing
time fails as REVOKED.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import SealBridgeError
from sealbridge.pki.extensions import certificate_policies
from sealbridge.seals.status import STATUS_STEP, SealStatusList, status_check
from sealbridge.seals.verify import SealCheck, signer_bound_check, verify_seal
from sealbridge.trust.model import Scope
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import AttachmentVerifier
from sealbridge.verify.report.model import (
    Indication,
    Recognition,
    SignatureKind,
    SignatureReport,
)

SEAL_ATTACHMENT_SUFFIX = ".esl"


def seal_attachment_verifier(
    federation: Federation, status_lists: Sequence[SealStatusList] = ()
) -> AttachmentVerifier:
    """``status_lists`` are taken as given, so load them with ``load_status_list`` first."""

    def check(
        reader: PdfFileReader, sig: EmbeddedPdfSignature, signature: SignatureReport
    ) -> Sequence[SignatureReport]:
        return [
            _seal_report(name, data, sig, signature, federation, status_lists)
            for name, data in _seals_in_revision(reader, sig.signed_revision)
        ]

    return check


def _seals_in_revision(reader: PdfFileReader, revision: int) -> Iterator[tuple[str, bytes]]:
    """Embedded ``.esl`` files that were added in exactly this revision."""
    try:
        entries = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        pairs = [(entries[i], entries[i + 1]) for i in range(0, len(entries) - 1, 2)]
    except (PdfError, KeyError, TypeError, AttributeError):
        return
    for raw_name, spec in pairs:
        name = str(raw_name)
        if not name.endswith(SEAL_ATTACHMENT_SUFFIX):
            continue
        try:
            ref = spec.get_object()["/EF"].raw_get("/F")
            if reader.xrefs.get_introducing_revision(ref.reference) != revision:
                continue
            yield name, ref.get_object().data
        except (PdfError, KeyError, TypeError, AttributeError):
            continue


def _seal_report(
    name: str,
    data: bytes,
    sig: EmbeddedPdfSignature,
    signature: SignatureReport,
    federation: Federation,
    status_lists: Sequence[SealStatusList],
) -> SignatureReport:
    moment = signature.signing_time or datetime.now(UTC)
    result = verify_seal(data, at=moment)
    checks = list(result.checks)
    path: list[x509.Certificate] = []
    seal = result.seal
    if seal is not None:
        checks.append(signer_bound_check(seal, sig.signer_cert))
        issuer_check, issuer = _maker_issuer(seal.maker_certificate, federation, moment)
        checks.append(issuer_check)
        if issuer is not None:
            path = [issuer, seal.maker_certificate]
        if status_lists:
            checks.append(status_check(status_lists, seal, moment))
    failed = [c for c in checks if not c.passed]
    sub: str | None
    if failed:
        indication, sub = Indication.TOTAL_FAILED, _sub_indication(failed[0])
    elif signature.indication is not Indication.TOTAL_PASSED:
        indication, sub = signature.indication, signature.sub_indication
    else:
        indication, sub = Indication.TOTAL_PASSED, None
    recognition: dict[str, Recognition] = {}
    for jurisdiction in signature.recognition:
        if indication is Indication.TOTAL_FAILED:
            recognition[jurisdiction] = Recognition(False, f"stamp is {indication.value}/{sub}")
            continue
        view = federation.view(
            jurisdiction, signature.signing_time or datetime.now(UTC), Scope.E_SEAL
        )
        decision = view.decide(path, certificate_policies(sig.signer_cert))
        recognition[jurisdiction] = Recognition(
            None
            if decision.recognised and indication is Indication.INDETERMINATE
            else decision.recognised,
            decision.rule,
        )
    return SignatureReport(
        id=f"{signature.id}/{name}",
        kind=SignatureKind.SEAL,
        signer=f"{seal.name} ({seal.es_id})" if seal else name,
        signing_time=signature.signing_time,
        indication=indication,
        sub_indication=sub,
        modified_after_signing=signature.modified_after_signing,
        chain=tuple(c.subject.human_friendly for c in path),
        details=tuple(f"{c.step}: {'ok' if c.passed else 'FAILED'} — {c.detail}" for c in checks),
        recognition=recognition,
    )


def _maker_issuer(
    maker: x509.Certificate, federation: Federation, moment: datetime
) -> tuple[SealCheck, x509.Certificate | None]:
    """The federation CA that issued the maker's certificate, its signature checked."""
    for candidate in federation.all_certificates():
        if candidate.subject != maker.issuer:
            continue
        try:
            verify_signature(
                candidate.public_key,
                maker["signature_algorithm"],
                maker["tbs_certificate"].dump(),
                bytes(maker["signature_value"]),
            )
        except SealBridgeError:
            continue
        if not maker.not_valid_before <= moment <= maker.not_valid_after:
            return SealCheck(
                "maker-chain", False, f"seal maker certificate is not valid at {moment.isoformat()}"
            ), None
        return (
            SealCheck(
                "maker-chain",
                True,
                f"maker certificate issued by {candidate.subject.human_friendly}",
            ),
            candidate,
        )
    return (
        SealCheck("maker-chain", False, "maker certificate chains to no federation CA"),
        None,
    )


def _sub_indication(check: SealCheck) -> str:
    return {
        "parse": "FORMAT_FAILURE",
        "maker-signature": "SIG_CRYPTO_FAILURE",
        "signer-in-cert-list": "SIG_CONSTRAINTS_FAILURE",
        "seal-validity": "OUT_OF_BOUNDS_NO_POE",
        "maker-chain": "NO_CERTIFICATE_CHAIN_FOUND",
        STATUS_STEP: "REVOKED",
    }.get(check.step, "SIG_CONSTRAINTS_FAILURE")
