"""PAdES B-B signing time: pyHanko's default ``sign_pdf`` (the anchor) against ours.

Same document, same key and certificate, same machine, same run. Prints milliseconds per
signature for each and the ratio. Run: ``.venv/bin/python bench/sign_pdf.py``.
"""

from __future__ import annotations

import io
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date

from asn1crypto import keys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from PIL import Image
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator.registry import SimpleCertificateStore

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import SoftwareKey, generate_key
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    sign_pdf,
)
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name

ROUNDS = 30


def _median_ms(work: Callable[[], bytes]) -> float:
    work()  # warm caches
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    doc = build_contract(
        "合同",
        "Contract",
        [ContractParty("甲方", "Party A", "深圳甲公司", "SZ A", "X", "深圳")],
        [("条款", "Clause")],
        contract_no="B-1",
        on=date(2026, 1, 1),
    )
    place = doc.places[0]
    box = place.box
    picture = render_signature_block(["Signed 签署"], box[2] - box[0], box[3] - box[1])
    ca = CertificateAuthority.create_root(
        ca_name("Bench Demo CA", "SealBridge Demo", "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}; median of {ROUNDS}"
    )
    print(f"{'key':<12}{'pyHanko sign_pdf':>18}{'SealBridge':>14}{'ratio':>8}")
    for label, private in (
        ("ECDSA P-256", ec.generate_private_key(ec.SECP256R1())),
        ("RSA-2048", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ):
        kind = KeyKind.ECDSA_P256 if label.startswith("ECDSA") else KeyKind.RSA_2048
        key = SoftwareKey(private, kind)
        cert = ca.issue(
            ca_name("Bench signer", "o", "CN"), key.public_key_info, profiles.ENTERPRISE_SIGNATURE
        )
        pkcs8 = keys.PrivateKeyInfo.load(
            private.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        anchor_signer = signers.SimpleSigner(
            signing_cert=cert,
            signing_key=pkcs8,
            cert_registry=SimpleCertificateStore.from_certs([ca.certificate]),
        )

        def anchor(signer: signers.SimpleSigner = anchor_signer) -> bytes:
            out = io.BytesIO()
            signers.PdfSigner(
                signers.PdfSignatureMetadata(
                    field_name=place.field_name, subfilter=fields.SigSeedSubFilter.PADES
                ),
                signer=signer,
                stamp_style=StaticStampStyle(
                    background=PdfImage(Image.open(io.BytesIO(picture))),
                    background_opacity=1.0,
                    border_width=0,
                ),
            ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(doc.pdf)), output=out)
            return out.getvalue()

        identity = PdfSignerIdentity(key, cert, (ca.certificate,))

        def ours(identity: PdfSignerIdentity = identity) -> bytes:
            return sign_pdf(
                doc.pdf, identity, VisibleStamp(place, picture), PadesProfile(PadesLevel.B_B)
            )

        a, o = _median_ms(anchor), _median_ms(ours)
        print(f"{label:<12}{a:>15.1f} ms{o:>11.1f} ms{a / o:>7.2f}x")


if __name__ == "__main__":
    main()
