"""A signer's or a TSA's certificate path, validated by pyhanko-certvalidator (RFC 5280,
revocation from the document's data or the responders), as an ETSI sub-indication.

certvalidator reports failures as exception types; this module turns each into the
sub-indication EN 319 102-1 gives it, keeps the path it found (recognition is decided
from it) and the revocation details, so callers deal in values. Missing revocation data
is its own outcome (``TRY_LATER``), told apart from other chain failures without a
second validation.
"""

from __future__ import annotations

import asyncio
import os
import threading
import traceback
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Protocol, TypeVar

from asn1crypto import algos, crl, keys, ocsp, x509
from cryptography.exceptions import InvalidSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    AlgorithmNotSupported,
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_VALIDATION_CONTEXT,
    DefaultSignatureValidator,
    SignatureValidationContext,
    SignatureValidator,
)

from sealbridge.crypto import sm2
from sealbridge.crypto.verify import verify_signature
from sealbridge.errors import SealBridgeError
from sealbridge.seals.decode import ASN1_ERRORS
from sealbridge.verify.revocation import CLOCK_SKEW


class Usage(Enum):
    """What the certificate is validated for: signing documents, or time-stamping."""

    SIGNING = "signing"
    TIME_STAMPING = "time-stamping"


# pyHanko's defaults for PDF signers and TSAs, which relying parties know and expect.
_CONSTRAINTS = {
    Usage.SIGNING: KeyUsageConstraints(key_usage={"non_repudiation"}),
    Usage.TIME_STAMPING: KeyUsageConstraints(key_usage=set(), extd_key_usage={"time_stamping"}),
}

EXPIRED = "OUT_OF_BOUNDS_NO_POE"
MISSING_REVOCATION = "TRY_LATER"
NO_CHAIN = "NO_CERTIFICATE_CHAIN_FOUND"


@dataclass(frozen=True)
class Revoked:
    """A certificate of the path was revoked: which one, when and why."""

    ca: bool
    date: datetime
    reason: str


@dataclass(frozen=True)
class ChainOutcome:
    """The validated path (anchor first), or the sub-indication that stopped it.

    ``path`` is kept when one was found but failed, since recognition and the report
    still name it; it is ``None`` only when no path to an anchor exists.
    """

    path: tuple[x509.Certificate, ...] | None
    problem: str | None
    detail: str
    revoked: Revoked | None = None

    @property
    def valid(self) -> bool:
        return self.problem is None and self.path is not None


class NationalSignatures(SignatureValidator):
    """certvalidator's signature checks, with SM2 (GM/T 0003, Z_A over the default
    signer ID) added: ``cryptography`` has no SM2, so without this an SM2 certificate,
    CRL or OCSP response could not be checked and the mainland's chains needed a path
    validation of their own.

    An SM2 signature signs SM3(Z_A || message), so a payload that arrives already hashed
    (a CMS signer without signed attributes, as pyHanko hands it over) cannot be checked:
    that is ``AlgorithmNotSupported``, not a signature found wrong."""

    def __init__(self) -> None:
        self._default = DefaultSignatureValidator()

    def validate_signature(
        self,
        signature: bytes,
        signed_data: bytes,
        public_key_info: keys.PublicKeyInfo,
        signature_algorithm: algos.SignedDigestAlgorithm,
        context: SignatureValidationContext = DEFAULT_VALIDATION_CONTEXT,
    ) -> None:
        if signature_algorithm["algorithm"].native in ("sm2_sm3", "sm2") or sm2.is_sm2_key(
            public_key_info
        ):
            if context.prehashed:
                raise AlgorithmNotSupported(
                    "an SM2 signature cannot be checked against a digest of the message: "
                    "SM3 must hash the signer's Z_A together with the message itself"
                )
            try:
                verify_signature(public_key_info, signature_algorithm, signed_data, signature)
            except SealBridgeError as exc:
                raise InvalidSignature(str(exc)) from exc
            return
        self._default.validate_signature(
            signature, signed_data, public_key_info, signature_algorithm, context
        )


NATIONAL_SIGNATURES = NationalSignatures()


def online_context(
    anchors: Sequence[x509.Certificate],
    *,
    fetch: bool = True,
    at: datetime | None = None,
    others: Iterable[x509.Certificate] = (),
    ocsps: Iterable[ocsp.OCSPResponse] = (),
    crls: Iterable[crl.CertificateList] = (),
) -> ValidationContext:
    """A validation context trusting ``anchors``, failing hard on missing revocation data,
    SM2-aware, and allowing the platform's clock skew to what responders say.

    certvalidator fixes "now" when the context is made and by default allows one second
    between that and a response's thisUpdate: a responder whose clock runs a little
    ahead, or an answer fetched more than a second after the context was made (a file
    of several signatures checked online, a slow responder), was "too recent", and a
    good certificate came out TRY_LATER.
    """
    return ValidationContext(
        trust_roots=list(anchors),
        other_certs=list(others),
        ocsps=list(ocsps),
        crls=list(crls),
        allow_fetching=fetch,
        revocation_mode="hard-fail",
        moment=at,
        time_tolerance=CLOCK_SKEW,
        signature_validator=NATIONAL_SIGNATURES,
    )


_T = TypeVar("_T")


class Runner(Protocol):
    """Runs a coroutine to completion (``run_to_completion``, or a caller's own loop)."""

    def __call__(self, coroutine: Coroutine[Any, Any, _T]) -> _T: ...


ChainValidator = Callable[[x509.Certificate, Iterable[x509.Certificate], Usage], ChainOutcome]


class CertificatePool:
    """Certificates by their encoding, each judged readable once and then shared.

    A file's signatures carry the same CA certificates in each of their CMSes, and the
    trust lists and the DSS hold them too: one object per certificate spares path
    building reading and normalising the same names again for every signer.
    """

    def __init__(self, known: Iterable[x509.Certificate] = ()) -> None:
        self._by_encoding: dict[bytes, x509.Certificate | None] = {}
        self._prepared: dict[bytes, str] = {}
        for certificate in known:
            self._by_encoding.setdefault(certificate.dump(), certificate)

    def share_names(self, certificate: x509.Certificate) -> None:
        """Give ``certificate``'s subject and issuer the RFC 4518 preparation of every
        name attribute already prepared for another certificate of the file.

        Path building compares names in that prepared form, and preparing one attribute
        costs about 50 µs of stringprep in asn1crypto; a signer's issuer is its fellow
        signers' issuer, so without this every signer paid a quarter of a millisecond
        for a name the file had already prepared. The preparation depends on the
        attribute's encoding alone, which is what keys it; an attribute that cannot be
        prepared is left to fail where path building reads it.
        """
        for name in (certificate.subject, certificate.issuer):
            for rdn in name.chosen:
                for attribute in rdn:
                    encoding = attribute.dump()
                    prepared = self._prepared.get(encoding)
                    if prepared is not None:
                        # asn1crypto's own memo of prepped_value, filled in advance.
                        attribute._prepped = prepared
                        continue
                    try:
                        self._prepared[encoding] = attribute.prepped_value
                    except ASN1_ERRORS:
                        continue

    def usable(
        self, certificates: Iterable[x509.Certificate], leaf: x509.Certificate
    ) -> list[x509.Certificate]:
        """``certificates`` that can be read, as the pool's objects, without ``leaf``:
        the certificate being validated is no intermediate of its own path."""
        found: list[x509.Certificate] = []
        for certificate in certificates:
            encoding = certificate.dump()
            if encoding == leaf.dump():
                continue
            if encoding not in self._by_encoding:
                readable = _readable(certificate, self)
                self._by_encoding[encoding] = certificate if readable else None
            kept = self._by_encoding[encoding]
            if kept is not None:
                found.append(kept)
        return found


def validate_chain(
    certificate: x509.Certificate,
    others: Iterable[x509.Certificate],
    usage: Usage,
    context: ValidationContext,
    run: Runner,
    pool: CertificatePool | None = None,
) -> ChainOutcome:
    """Validate ``certificate`` for ``usage`` in ``context``; ``run`` runs a coroutine to
    completion (``run_to_completion`` unless the caller has a loop of its own); ``pool``
    is shared by the validations of one file.

    The certificates a CMS carries are outside what it signs: anyone can put bytes there.
    One that cannot be read is left out (it could not be on a path anyway), and a
    certificate that breaks the validation when read is a chain failure, not a crash.
    """
    pool = pool or CertificatePool()
    try:
        pool.share_names(certificate)
        validator = CertificateValidator(
            certificate,
            intermediate_certs=pool.usable(others, certificate),
            validation_context=context,
        )
        path = run(validator.async_validate_path())
    except RevokedError as exc:
        found = _certs(exc.original_path)
        if exc.is_side_validation:
            return ChainOutcome(found, "CERTIFICATE_CHAIN_GENERAL_FAILURE", exc.failure_msg)
        revoked = Revoked(not exc.is_ee_cert, exc.revocation_dt, str(exc.reason.native))
        sub = "REVOKED_NO_POE" if exc.is_ee_cert else "REVOKED_CA_NO_POE"
        return ChainOutcome(found, sub, exc.failure_msg, revoked)
    except PathBuildingError as exc:
        return ChainOutcome(None, NO_CHAIN, str(exc))
    except ExpiredError as exc:
        found = _certs(exc.original_path)
        sub = (
            EXPIRED
            if exc.is_ee_cert and not exc.is_side_validation
            else "CERTIFICATE_CHAIN_GENERAL_FAILURE"
        )
        return ChainOutcome(found, sub, exc.failure_msg)
    except NotYetValidError as exc:
        return ChainOutcome(_certs(exc.original_path), "NOT_YET_VALID", exc.failure_msg)
    except DisallowedAlgorithmError as exc:
        return ChainOutcome(
            _certs(exc.original_path), "CRYPTO_CONSTRAINTS_FAILURE", exc.failure_msg
        )
    except InsufficientRevinfoError as exc:
        return ChainOutcome(_certs(exc.original_path), MISSING_REVOCATION, exc.failure_msg)
    except PathValidationError as exc:
        return ChainOutcome(
            _certs(exc.original_path), "CERTIFICATE_CHAIN_GENERAL_FAILURE", exc.failure_msg
        )
    except ValidationError as exc:
        return ChainOutcome(None, "CERTIFICATE_CHAIN_GENERAL_FAILURE", exc.failure_msg)
    except ASN1_ERRORS as exc:
        detail = f"a certificate on the way cannot be read: {exc}"
        return ChainOutcome(None, "CERTIFICATE_CHAIN_GENERAL_FAILURE", detail)
    try:
        _CONSTRAINTS[usage].validate(certificate)
    except InvalidCertificateError as exc:
        return ChainOutcome(_certs(path), "CHAIN_CONSTRAINTS_FAILURE", exc.failure_msg)
    return ChainOutcome(_certs(path), None, "the chain to a trusted anchor is valid")


def _readable(certificate: x509.Certificate, pool: CertificatePool) -> bool:
    """Whether the fields path building reads first can be parsed."""
    try:
        pool.share_names(certificate)
        certificate.issuer_serial  # noqa: B018  (parses issuer and serial number)
        certificate.subject.hashable  # noqa: B018
        certificate.public_key.algorithm  # noqa: B018
    except ASN1_ERRORS:
        return False
    return True


def _certs(path: ValidationPath) -> tuple[x509.Certificate, ...]:
    return tuple(path.iter_certs(include_root=True))


_LOOPS = threading.local()


def run_to_completion(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """certvalidator is asynchronous (it may fetch); a verification is not. One loop per
    thread serves every validation: a fresh one per file cost 70 µs, a tenth of a path.
    A forked worker makes its own: the parent's loop shares its selector and wake-up
    pipe with the parent."""
    loop: asyncio.AbstractEventLoop | None = getattr(_LOOPS, "loop", None)
    if loop is None or loop.is_closed() or getattr(_LOOPS, "pid", None) != os.getpid():
        loop = _LOOPS.loop = asyncio.new_event_loop()
        _LOOPS.pid = os.getpid()
    try:
        return loop.run_until_complete(coroutine)
    except BaseException as exc:
        # The loop's frames hold the future that holds the exception, whose traceback
        # holds those frames: the caller's whole verification waited for the cycle
        # collector behind every failed path. The traceback still says where it failed.
        traceback.clear_frames(exc.__traceback__)
        raise
