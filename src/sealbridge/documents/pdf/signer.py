"""A pyHanko Signer over any KeyHandle, so the private key never leaves its store."""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import algos, x509
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
