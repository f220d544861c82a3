"""OFD documents with seal signatures, in the eyes of each jurisdiction.

Each entry of the signature list is one report. What only the package can tell is
checked here: every protected file against its CheckValue, the seal file against the
seal inside the stamp, and whether the package holds files that the signature does not
protect and that no later signature added. The stamp itself (signatures, seal, chains,
revocation, timestamp, dataHash over Signature.xml, recognition) is judged by
``verify_stamp_file``, exactly as a bare SignedValue.dat would be; the package's own
findings are added to its report and can only make the verdict worse.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sealbridge.crypto.algorithms import digest
from sealbridge.documents.ofd.container import OfdPackage, read_package
from sealbridge.documents.ofd.signatures import (
    SEAL_TYPE,
    SignatureEntry,
    SignatureFile,
    document_entry,
    read_signature_file,
    read_signature_list,
)
from sealbridge.errors import MalformedInput, SealBridgeError
from sealbridge.seals.decode import decode_stamp
from sealbridge.seals.status import SealStatusList
from sealbridge.seals.verify import digest_name
from sealbridge.trust.view import Federation
from sealbridge.verify.report.model import (
    Indication,
    Recognition,
    SignatureKind,
    SignatureReport,
    ValidationReport,
)
from sealbridge.verify.revocation import RevocationSource
from sealbridge.verify.seal import verify_stamp_file
from sealbridge.verify.seal_chain import Finding, failed, passed, verdict

REFERENCES = "references"
SEAL_FILE = "seal-file"
COVERAGE = "coverage"
_NAMED_FILES = 5


def verify_ofd(
    data: bytes,
    name: str,
    federation: Federation,
    jurisdictions: Sequence[str],
    *,
    revocation: RevocationSource | None = None,
    at: datetime | None = None,
    status_lists: Sequence[SealStatusList] = (),
) -> ValidationReport:
    """One report per signature of the package's first document, validated at ``at``.

    ``at`` defaults to now (naive means UTC). A package without signatures gives a
    report with none. Raises MalformedInput when ``data`` is no readable OFD package or
    its signature list cannot be read; a signature that is itself unreadable is reported
    as TOTAL-FAILED/FORMAT_FAILURE instead.
    """
    validated = _aware(at)
    package = read_package(data)
    entry = document_entry(package)
    reports: list[SignatureReport] = []
    if entry.signatures_path is not None:
        listing = read_signature_list(package, entry.signatures_path)
        for position, signature in enumerate(listing.entries):
            later = listing.entries[position + 1 :]
            context = _Context(package, entry.signatures_path, tuple(later))
            try:
                report = _verify_signature(
                    context,
                    signature,
                    federation,
                    jurisdictions,
                    _Sources(revocation, tuple(status_lists)),
                    validated,
                )
            except MalformedInput as exc:
                report = _unreadable(signature, str(exc), jurisdictions)
            reports.append(report)
    return ValidationReport(
        file=name,
        sha256=hashlib.sha256(data).hexdigest(),
        validated_at=validated,
        signatures=tuple(reports),
    )


@dataclass(frozen=True)
class _Context:
    """What a signature is checked against: the package and the signatures after it."""

    package: OfdPackage
    signatures_path: str
    later: tuple[SignatureEntry, ...]


@dataclass(frozen=True)
class _Sources:
    """What the relying party consults besides the package: OCSP and seal status lists."""

    revocation: RevocationSource | None
    status_lists: tuple[SealStatusList, ...]


def _verify_signature(
    context: _Context,
    signature: SignatureEntry,
    federation: Federation,
    jurisdictions: Sequence[str],
    sources: _Sources,
    validated: datetime,
) -> SignatureReport:
    package = context.package
    described = read_signature_file(package, signature.path)
    signature_xml = package.read(signature.path)
    signed_value = package.read(described.signed_value_path)
    integrity, altered = _references(package, described)
    coverage, added = _coverage(context, signature, described)
    changes = (*altered, *added)
    if signature.type != SEAL_TYPE:
        return _not_a_seal(signature, (integrity, coverage), changes, jurisdictions)
    stamp_report = verify_stamp_file(
        signed_value,
        signature.path,
        federation,
        jurisdictions,
        document=signature_xml,
        at=validated,
        revocation=sources.revocation,
        status_lists=sources.status_lists,
    ).signatures[0]
    findings = (integrity, _seal_file(package, described, signed_value), coverage)
    return _merged(stamp_report, signature, findings, changes)


def _references(package: OfdPackage, described: SignatureFile) -> tuple[Finding, list[str]]:
    """Every protected file against its CheckValue: the document is what was signed."""
    hash_name = digest_name(described.check_method)
    if hash_name is None:
        detail = f"CheckMethod {described.check_method!r} names no hash algorithm known here"
        return failed(REFERENCES, detail, "FORMAT_FAILURE"), []
    if not described.references:
        return failed(REFERENCES, "the signature protects no file", "FORMAT_FAILURE"), []
    missing = [r.path for r in described.references if r.path not in package]
    changed = [
        r.path
        for r in described.references
        if r.path in package and digest(hash_name, package.read(r.path)) != r.check_value
    ]
    changes = [f"{path}: removed after signing" for path in missing]
    changes += [f"{path}: changed after signing" for path in changed]
    problems = []
    if missing:
        problems.append(f"missing: {_names(missing)}")
    if changed:
        problems.append(f"{hash_name} differs from the CheckValue: {_names(changed)}")
    if problems:
        return failed(REFERENCES, "; ".join(problems), "HASH_FAILURE"), changes
    count = len(described.references)
    return passed(REFERENCES, f"all {count} protected files match their {hash_name} values"), []


def _seal_file(package: OfdPackage, described: SignatureFile, signed_value: bytes) -> Finding:
    """Seal.esl, when named, must be the very seal inside the stamp (as ofdrw checks)."""
    if described.seal_path is None:
        return passed(SEAL_FILE, "no seal file is named; the stamp carries its seal")
    if described.seal_path not in package:
        return failed(SEAL_FILE, f"{described.seal_path} is missing", "FORMAT_FAILURE")
    try:
        inside = decode_stamp(signed_value).seal.der
    except SealBridgeError:
        return passed(SEAL_FILE, "not compared: the stamp cannot be read")
    if package.read(described.seal_path) != inside:
        return failed(
            SEAL_FILE,
            f"{described.seal_path} is not the seal inside the stamp",
            "SIG_CONSTRAINTS_FAILURE",
        )
    return passed(SEAL_FILE, f"{described.seal_path} is the seal inside the stamp")


def _coverage(
    context: _Context, signature: SignatureEntry, described: SignatureFile
) -> tuple[Finding, list[str]]:
    """Files the signature does not protect, beyond those that signing itself adds later.

    Unprotected by design: the signature list, this signature's own Signature.xml and
    SignedValue.dat, and the folders of the signatures listed after it (``Sign_N/``;
    a folder shared with this signature or the list grants nothing).
    """
    protected = {r.path for r in described.references}
    allowed = {context.signatures_path, signature.path, described.signed_value_path}
    shared = {posixpath.dirname(context.signatures_path), posixpath.dirname(signature.path)}
    later = tuple(
        f"{folder}/"
        for folder in {posixpath.dirname(s.path) for s in context.later} - shared
        if folder
    )
    added = [
        path
        for path in context.package
        if path not in protected
        and path not in allowed
        and not any(path.startswith(folder) for folder in later)
    ]
    if not added:
        return passed(COVERAGE, "no file was added after signing"), []
    detail = f"{len(added)} file(s) the signature does not protect: {_names(added)}"
    return (
        failed(COVERAGE, detail, "SIG_CONSTRAINTS_FAILURE"),
        [f"{path}: added after signing" for path in added],
    )


def _merged(
    stamp_report: SignatureReport,
    signature: SignatureEntry,
    findings: Sequence[Finding],
    changes: Sequence[str],
) -> SignatureReport:
    """The stamp's report with the package's findings; a stamp that failed stays as it is."""
    indication, sub = stamp_report.indication, stamp_report.sub_indication
    recognition = stamp_report.recognition
    own, own_sub, worst = verdict(findings)
    if indication is not Indication.TOTAL_FAILED and worst is not None:
        indication, sub = own, own_sub
        reason = f"the stamp is TOTAL-FAILED/{sub} at {worst.check.step}"
        recognition = {j: Recognition(False, reason) for j in recognition}
    return replace(
        stamp_report,
        id=signature.path,
        indication=indication,
        sub_indication=sub,
        modified_after_signing=bool(changes),
        changes=tuple(changes),
        details=(*stamp_report.details, *(f.line for f in findings)),
        recognition=recognition,
    )


def _not_a_seal(
    signature: SignatureEntry,
    findings: Sequence[Finding],
    changes: Sequence[str],
    jurisdictions: Sequence[str],
) -> SignatureReport:
    """A digital signature (Type="Sign", GB/T 35275 CMS): its files are checked, not its value."""
    indication, sub, worst = verdict(findings)
    reason = f"the signature is TOTAL-FAILED/{sub}"
    if worst is None:
        indication, sub = Indication.INDETERMINATE, "FORMAT_FAILURE"
        reason = "digital signatures (Type=Sign) are not verified here"
    return SignatureReport(
        id=signature.path,
        kind=SignatureKind.CMS,
        signer="unknown",
        signing_time=None,
        indication=indication,
        sub_indication=sub,
        modified_after_signing=bool(changes),
        changes=tuple(changes),
        details=(
            f"signature value: not checked — {signature.type!r} signatures are not supported",
            *(f.line for f in findings),
        ),
        recognition={
            j: Recognition(None if worst is None else False, reason) for j in jurisdictions
        },
    )


def _unreadable(
    signature: SignatureEntry, detail: str, jurisdictions: Sequence[str]
) -> SignatureReport:
    line = failed("parse", detail, "FORMAT_FAILURE").line
    return SignatureReport(
        id=signature.path,
        kind=SignatureKind.OFD_SEAL,
        signer="unknown",
        signing_time=None,
        indication=Indication.TOTAL_FAILED,
        sub_indication="FORMAT_FAILURE",
        modified_after_signing=False,
        details=(line,),
        recognition={j: Recognition(False, "the signature cannot be read") for j in jurisdictions},
    )


def _names(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:_NAMED_FILES])
    more = len(paths) - _NAMED_FILES
    return f"{shown} and {more} more" if more > 0 else shown


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)
