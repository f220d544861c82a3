"""A federation for CMS and PDF signature tests, with OCSP and a TSA on 127.0.0.1.

A Shenzhen trust list names an SM2 CA and an ECDSA CA, a Hong Kong list its own CA, a
Macao list one more, and an SZ–HK agreement is in force; both SZ CAs answer OCSP over
HTTP through the given ``AuthorityServer`` and an ECDSA TSA under the ECDSA CA stamps.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp
from pyhanko.sign.validation.status import DocumentTimestampStatus, PdfSignatureStatus

from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.documents.pdf.timestamper import HttpTimeStamper
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.pki.tsa import TimeStampAuthority
from sealbridge.trust.model import (
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)
from sealbridge.trust.view import Federation
from sealbridge.verify.pdf import federation_context
from support.pki import Signer
from support.trust import agreement


@dataclass
class World:
    now: datetime
    server: AuthorityServer
    sm2_ca: CertificateAuthority
    ec_ca: CertificateAuthority
    stranger_ca: CertificateAuthority
    federation: Federation
    timestamper: HttpTimeStamper

    def firm(
        self,
        kind: KeyKind,
        name: str = "深圳市前海示例科技有限公司",
        registration: str = "NTRCN-91440300MA5G000001",
    ) -> Signer:
        ca = self.sm2_ca if kind is KeyKind.SM2 else self.ec_ca
        return self.issue(ca, kind, name, registration)

    def issue(
        self,
        ca: CertificateAuthority,
        kind: KeyKind,
        name: str,
        registration: str = "NTRCN-91440300MA5G000001",
    ) -> Signer:
        key = generate_key(kind)
        certificate = ca.issue(
            enterprise_name(name, registration, "CN"),
            key.public_key_info,
            profiles.ENTERPRISE_SIGNATURE,
            not_before=self.now - timedelta(days=30),
        )
        return Signer(key, certificate, ca)


def build_world(server: AuthorityServer) -> World:
    now = datetime.now(UTC).replace(microsecond=0)
    made = now - timedelta(days=400)
    cas = {}
    for ca_id, kind in (("sz-sm2", KeyKind.SM2), ("sz-ec", KeyKind.ECDSA_P256)):
        cas[ca_id] = CertificateAuthority.create_root(
            ca_name(f"{ca_id} Test CA", "SealBridge Test", "CN"),
            generate_key(kind),
            urls=server.ca_urls(ca_id),
            not_before=made,
        )
        server.mount_ca(ca_id, cas[ca_id])
    hk_ca = CertificateAuthority.create_root(
        ca_name("HK Test CA", "SealBridge Test", "CN"), generate_key(KeyKind.RSA_2048)
    )
    stranger = CertificateAuthority.create_root(
        ca_name("Unlisted Test CA", "SealBridge Test", "CN"), generate_key(KeyKind.SM2)
    )
    tsa_key = generate_key(KeyKind.ECDSA_P256)
    tsa_certificate = cas["sz-ec"].issue(
        ca_name("SZ Test TSA", "SealBridge Test", "CN"),
        tsa_key.public_key_info,
        profiles.TSA,
        not_before=now - timedelta(days=30),
    )
    server.mount_tsa(
        "sz",
        TimeStampAuthority(
            tsa_key,
            tsa_certificate,
            policy_oid="1.3.6.1.4.1.61234.1.3161",
            clock=lambda: datetime.now(UTC),
        ),
    )
    granted = (StatusChange(ServiceStatus.GRANTED, now - timedelta(days=300)),)

    def listing(code: str, *authorities: CertificateAuthority) -> TrustList:
        services = tuple(
            TrustService(
                name=a.certificate.subject.native["common_name"],
                service_type=ServiceType.CA_E_SIGNATURE,
                certificate=a.certificate,
                history=granted,
                policy_prefixes=(profiles.MUTUAL_RECOGNITION_POLICY_PREFIX,),
            )
            for a in authorities
        )
        return TrustList(
            territory=code,
            operator=f"{code} operator",
            sequence_number=1,
            issued=now - timedelta(hours=1),
            next_update=now + timedelta(days=30),
            providers=(TrustServiceProvider(f"{code} provider", services),),
        )

    federation = Federation(
        {
            "SZ": listing("SZ", cas["sz-sm2"], cas["sz-ec"]),
            "HK": listing("HK", hk_ca),
            "MO": listing(
                "MO",
                CertificateAuthority.create_root(
                    ca_name("MO Test CA", "SealBridge Test", "CN"), generate_key(KeyKind.ECDSA_P256)
                ),
            ),
        },
        (agreement("SZ", "HK"),),
    )
    return World(
        now,
        server,
        cas["sz-sm2"],
        cas["sz-ec"],
        stranger,
        federation,
        HttpTimeStamper(server.tsa_url("sz")),
    )


def pyhanko_status(
    world: World, data: bytes, *, timestamp: bool = False
) -> PdfSignatureStatus | DocumentTimestampStatus:
    """pyHanko's status of the file's first signature (or document timestamp), with a
    validation context from the same factory as ours: same anchors, same revocation
    mode, same fetching. pyHanko's own errors pass through."""

    async def validate() -> PdfSignatureStatus | DocumentTimestampStatus:
        context = federation_context(world.federation)(None)
        try:
            embedded = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0]
            if timestamp:
                return await async_validate_pdf_timestamp(embedded, validation_context=context)
            return await async_validate_pdf_signature(embedded, signer_validation_context=context)
        finally:
            await context.aclose()

    return asyncio.run(validate())
