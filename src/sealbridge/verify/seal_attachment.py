"""Electronic seals embedded in a PAdES signer's revision: the stamp behind the picture.

A Shenzhen firm's PDF signature carries its GB/T 38540 seal as an embedded file added in
the same revision, so the signature covers it. Here the seal is checked (maker signature,
maker chain to a federation CA, binding to the PDF signer's certificate, validity at the
signing time) and its maker recognised per jurisdiction under the e-seal scope. Given
the makers' signed status lists, a seal revoked, suspended or lapsed before the signing
time fails as REVOKED; given a revocation source, so does a maker certificate revoked
before it. The maker's chain is built as for bare seals (``verify.seal_chain``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature

from sealbridge.seals.status import STATUS_STEP, SealStatusList, status_check
from sealbridge.seals.verify import SealCheck, signer_bound_check, verify_seal
from sealbridge.trust.model import Scope
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import AttachmentVerifier, DssContent
from sealbridge.verify.recognition import recognition_by_jurisdiction
from sealbridge.verify.report.model import (
    Indication,
    Recognition,
    SignatureKind,
    SignatureReport,
)
from sealbridge.verify.revocation import EmbeddedOcspSource, FirstKnown, RevocationSource
from sealbridge.verify.seal_chain import (
    Finding,
    Moment,
    build_chain,
    revocation_finding,
    verdict,
)

SEAL_ATTACHMENT_SUFFIX = ".esl"
_RANK = {Indication.TOTAL_PASSED: 0, Indication.INDETERMINATE: 1, Indication.TOTAL_FAILED: 2}


def seal_attachment_verifier(
    federation: Federation,
    status_lists: Sequence[SealStatusList] = (),
    revocation: RevocationSource | None = None,
) -> AttachmentVerifier:
    """``status_lists`` are taken as given, so load them with ``load_status_list`` first.

    The maker's revocation is always a step: OCSP responses the document carries (its
    DSS) answer first, then ``revocation`` when given (``None``: offline); a status
    nobody can tell leaves the stamp INDETERMINATE, as for a bare seal.
    """

    def check(
        reader: PdfFileReader, sig: EmbeddedPdfSignature, signature: SignatureReport
    ) -> Sequence[SignatureReport]:
        dss = DssContent.read(reader)
        embedded = EmbeddedOcspSource(dss.ocsps if dss is not None else ())
        source = embedded if revocation is None else FirstKnown(embedded, revocation)
        return [
            _seal_report(name, data, sig, signature, federation, status_lists, source)
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
    revocation: RevocationSource,
) -> SignatureReport:
    moment = signature.signing_time or datetime.now(UTC)
    result = verify_seal(data, at=moment)
    findings = [_finding(c) for c in result.checks]
    path: tuple[x509.Certificate, ...] = ()
    seal = result.seal
    if seal is not None:
        findings.append(_finding(signer_bound_check(seal, sig.signer_cert)))
        # The time the PDF signature's validation settled on is the one asked about.
        when = Moment(moment, proven=True, validation=datetime.now(UTC), label="signing time")
        who = "seal maker certificate"
        chain = build_chain(
            seal.maker_certificate,
            federation.all_certificates(),
            when,
            step="maker-chain",
            who=who,
        )
        findings.append(chain.finding)
        path = chain.path
        findings.append(
            revocation_finding(chain, revocation, when, step="maker-revocation", who=who)
        )
        if status_lists:
            findings.append(_finding(status_check(status_lists, seal, moment)))
    indication, sub, _ = verdict(findings)
    # The stamp stands no better than the PDF signature that carries it.
    if _RANK[signature.indication] > _RANK[indication]:
        indication, sub = signature.indication, signature.sub_indication
    recognition = recognition_by_jurisdiction(
        federation,
        list(signature.recognition),
        path=path,
        at=signature.signing_time or datetime.now(UTC),
        scope=Scope.E_SEAL,
        outcome=(indication, sub),
        failed=f"stamp is {indication.value}/{sub}",
        unchained=Recognition(
            False, "the seal maker chains to no service on a federation trust list"
        ),
        what="the stamp",
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
        details=tuple(f.line for f in findings),
        recognition=recognition,
    )


def _finding(check: SealCheck) -> Finding:
    if check.passed:
        return Finding(check)
    return Finding(check, Indication.TOTAL_FAILED, _sub_indication(check))


def _sub_indication(check: SealCheck) -> str:
    return {
        "parse": "FORMAT_FAILURE",
        "maker-signature": "SIG_CRYPTO_FAILURE",
        "signer-in-cert-list": "SIG_CONSTRAINTS_FAILURE",
        "seal-validity": "OUT_OF_BOUNDS_NO_POE",
        STATUS_STEP: "REVOKED",
    }.get(check.step, "SIG_CONSTRAINTS_FAILURE")
