"""pyHanko Signers: one over any KeyHandle, so the private key never leaves its store, and
one that only lends pyHanko the certificate while our CMS builder does the signing."""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import algos, x509
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko_certvalidator.registry import SimpleCertificateStore

from sealbridge.crypto.keys import KeyHandle


class KeyHandleSigner(Signer):
    def __init__(
        self, key: KeyHandle, certificate: x509.Certificate, chain: Sequence[x509.Certificate]
    ) -> None:
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs([certificate, *chain]),
            signature_mechanism=key.default_signature_algorithm(),
        )
        self._key = key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        mechanism: algos.SignedDigestAlgorithm = self.get_signature_mechanism_for_digest(
            digest_algorithm
        )
        return self._key.sign(data, mechanism)


class CertificateOnlySigner(Signer):
    """Stands for the signer while pyHanko lays out the revision; it never signs.

    pyHanko reads the certificate (for the appearance's name and the field's checks);
    the signature itself is made by our CMS builder, so asking this one is a bug.
    """

    def __init__(self, certificate: x509.Certificate) -> None:
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs([certificate]),
        )

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        raise SigningError("a certificate-only signer cannot sign")
