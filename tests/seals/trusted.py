"""A trusted world for seal verification: a federation of four jurisdictions whose Shenzhen
SM2 CA answers OCSP over real HTTP on 127.0.0.1, a TSA under it, and a second listed CA
whose responder is down. Seal makers and firms are issued per test, so tests may revoke.

Imported by tests/seals, tests/verify and tests/cli as ``seals.trusted``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import pem, tsp, x509

from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind, sm3
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.pki.tsa import TimeStampAuthority
from sealbridge.seals import SealType, asn1, issue_seal, render_round_seal, stamp
from sealbridge.trust.model import (
    ServiceStatus,
    ServiceType,
    StatusChange,
    TrustList,
    TrustService,
    TrustServiceProvider,
)
from sealbridge.trust.signed import agreement_payload, sign_document, trust_list_payload
from sealbridge.trust.view import Federation
from support.trust import Operator, agreement

JURISDICTIONS = ("SZ", "HK", "BJ", "MO")
TSA_POLICY = "1.3.6.1.4.1.61234.1.3161"
SIGNATURE_XML = b'<?xml version="1.0" encoding="UTF-8"?><ofd:Signature/>'
STAMP_PATH = "/Doc_0/Signs/Sign_0/Signature.xml"


@dataclass(frozen=True)
class Party:
    key: KeyHandle
    certificate: x509.Certificate


@dataclass
class World:
    now: datetime
    server: AuthorityServer
    ca: CertificateAuthority
    unreachable_ca: CertificateAuthority
    tsa_key: KeyHandle
    tsa_certificate: x509.Certificate
    operators: dict[str, Operator]
    trust_lists: dict[str, TrustList]
    federation: Federation

    def maker(
        self,
        name: str = "深圳市市场监督管理局（测试）Seal Maker",
        *,
        ca: CertificateAuthority | None = None,
        not_before: datetime | None = None,
        validity: timedelta | None = None,
    ) -> Party:
        key = generate_key(KeyKind.SM2)
        certificate = (ca or self.ca).issue(
            ca_name(name, "SealBridge Test", "CN"),
            key.public_key_info,
            profiles.SEAL_MAKER,
            not_before=not_before or self.now - timedelta(days=30),
            validity=validity,
        )
        return Party(key, certificate)

    def firm(self, name: str = "深圳市前海示例科技有限公司") -> Party:
        key = generate_key(KeyKind.SM2)
        certificate = self.ca.issue(
            enterprise_name(name, "NTRCN-91440300MA5G000001", "CN"),
            key.public_key_info,
            profiles.ENTERPRISE_SEAL,
            not_before=self.now - timedelta(days=30),
        )
        return Party(key, certificate)

    def seal(
        self,
        maker: Party,
        firm: Party,
        es_id: str = "4403050000001",
        *,
        valid_from: datetime | None = None,
    ) -> bytes:
        return issue_seal(
            maker.key,
            maker.certificate,
            es_id=es_id,
            seal_type=SealType.CONTRACT,
            name="深圳市前海示例科技有限公司合同专用章",
            bound_certificates=[firm.certificate],
            picture=render_round_seal("深圳市前海示例科技有限公司", SealType.CONTRACT.chop_text),
            valid_from=valid_from or self.now - timedelta(days=10),
            valid_to=self.now + timedelta(days=365),
        )

    def stamp(self, seal: bytes, firm: Party, *, at: datetime | None = None) -> bytes:
        return stamp(
            seal,
            firm.key,
            firm.certificate,
            data_hash=sm3(SIGNATURE_XML),
            property_info=STAMP_PATH,
            time=at or self.now,
        )

    def timestamped(self, stamp_der: bytes, *, at: datetime | None = None) -> bytes:
        """The stamp with a token from the world's TSA over its signature value."""
        tsa = TimeStampAuthority(
            self.tsa_key,
            self.tsa_certificate,
            policy_oid=TSA_POLICY,
            clock=lambda: at or datetime.now(UTC),
        )
        parsed = asn1.SESSignature.load(stamp_der)
        parsed["time_stamp"] = timestamp_token(tsa, parsed["signature"].native)
        return bytes(parsed.dump())

    def write_trust_directory(self, root: Path) -> None:
        """The layout ``load_trust_directory`` reads: pinned/, lists/, agreements/."""
        for folder in ("pinned", "lists", "agreements"):
            (root / folder).mkdir(parents=True)
        for code, operator in self.operators.items():
            (root / "pinned" / f"{code}.pem").write_bytes(
                pem.armor("CERTIFICATE", operator.certificate.dump())
            )
            body = sign_document(
                trust_list_payload(self.trust_lists[code]),
                [(operator.key, operator.certificate)],
            )
            (root / "lists" / f"{code}.json").write_bytes(body)
        for deal in self.federation.agreements:
            a, b = (self.operators[p] for p in deal.parties)
            (root / "agreements" / f"{deal.parties[0]}-{deal.parties[1]}.json").write_bytes(
                sign_document(
                    agreement_payload(deal), [(a.key, a.certificate), (b.key, b.certificate)]
                )
            )


def timestamp_token(tsa: TimeStampAuthority, value: bytes) -> bytes:
    """An RFC 3161 token from ``tsa`` over SHA-256 of ``value``, certificate included."""
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": "sha256"},
                "hashed_message": hashlib.sha256(value).digest(),
            },
            "cert_req": True,
        }
    )
    reply = tsp.TimeStampResp.load(tsa.respond(request.dump()))
    return bytes(reply["time_stamp_token"].dump())


def build_world(server: AuthorityServer) -> World:
    """The world around ``server``, which serves the Shenzhen CA's OCSP responder."""
    now = datetime.now(UTC).replace(microsecond=0)
    # A server closed at once: its port refuses connections, as a responder that is down.
    down = AuthorityServer()
    down.stop()
    ca = CertificateAuthority.create_root(
        ca_name("SZ Test SM2 Seal CA", "SealBridge Test", "CN"),
        generate_key(KeyKind.SM2),
        urls=server.ca_urls("sz-sm2"),
        not_before=now - timedelta(days=400),
    )
    server.mount_ca("sz-sm2", ca)
    unreachable = CertificateAuthority.create_root(
        ca_name("SZ Test Offline Seal CA", "SealBridge Test", "CN"),
        generate_key(KeyKind.SM2),
        urls=down.ca_urls("offline"),
        not_before=now - timedelta(days=400),
    )
    tsa_key = generate_key(KeyKind.SM2)
    tsa_certificate = ca.issue(
        ca_name("SZ Test TSA", "SealBridge Test", "CN"),
        tsa_key.public_key_info,
        profiles.TSA,
        not_before=now - timedelta(days=30),
    )
    operators = {code: Operator(code) for code in JURISDICTIONS}
    granted = (StatusChange(ServiceStatus.GRANTED, now - timedelta(days=300)),)
    seal_cas = tuple(
        TrustService(
            name=f"SZ {label} (test)",
            service_type=ServiceType.CA_E_SEAL,
            certificate=authority.certificate,
            history=granted,
            policy_prefixes=(profiles.MUTUAL_RECOGNITION_POLICY_PREFIX,),
        )
        for label, authority in (("seal CA", ca), ("offline seal CA", unreachable))
    )
    trust_lists = {}
    for code, operator in operators.items():
        own = TrustService(
            name=f"{code} Demo CA",
            service_type=ServiceType.CA_E_SIGNATURE,
            certificate=operator.ca.certificate,
            history=granted,
        )
        services = (own, *seal_cas) if code == "SZ" else (own,)
        trust_lists[code] = TrustList(
            territory=code,
            operator=f"{code} operator",
            sequence_number=1,
            issued=now - timedelta(hours=1),
            next_update=now + timedelta(days=30),
            providers=(TrustServiceProvider(f"{code} provider", services),),
        )
    federation = Federation(trust_lists, (agreement("SZ", "HK"), agreement("SZ", "BJ")))
    return World(
        now=now,
        server=server,
        ca=ca,
        unreachable_ca=unreachable,
        tsa_key=tsa_key,
        tsa_certificate=tsa_certificate,
        operators=operators,
        trust_lists=trust_lists,
        federation=federation,
    )
