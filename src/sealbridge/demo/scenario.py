"""The cross-border signing scenario, end to end, with real services on 127.0.0.1.

Four jurisdictions publish signed trust lists over HTTP; the relying party fetches and
verifies them; firms sign contract copies (PAdES, timestamps from their jurisdiction's
TSA, a Shenzhen seal); every copy is verified in the eyes of every jurisdiction.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from asn1crypto import pem, x509

from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import KeyHandle, generate_key
from sealbridge.demo.federation import (
    AGREEMENTS,
    JURISDICTIONS,
    Jurisdiction,
    build_jurisdiction,
    publish_agreement,
    publish_trust_list,
)
from sealbridge.demo.firms import FIRMS, Firm, enrol
from sealbridge.documents.ofd import build_ofd_contract, stamp_ofd
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.contract import ContractDocument, ContractParty, build_contract
from sealbridge.documents.pdf.dss import add_validation_data
from sealbridge.documents.pdf.sign import (
    Attachment,
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    VisibleStamp,
    add_archive_timestamp,
    sign_pdf,
)
from sealbridge.documents.pdf.sm2 import dual_sign_pdf
from sealbridge.documents.pdf.timestamper import HttpTimeStamper
from sealbridge.pki import profiles
from sealbridge.pki.names import ca_name
from sealbridge.pki.registry import RevocationReason
from sealbridge.seals.issue import issue_seal
from sealbridge.seals.model import SealType
from sealbridge.seals.picture import render_round_seal
from sealbridge.seals.registry import GrantRole, SealUseRefused
from sealbridge.seals.status import load_status_list
from sealbridge.service import audit
from sealbridge.service.ca_registry import DatabaseRegistry
from sealbridge.service.db.store import Store
from sealbridge.service.seal_registry import SealRegistry
from sealbridge.trust.loader import PublishedList, fetch, load_federation
from sealbridge.trust.model import ServiceStatus, ServiceType, StatusChange, TrustService
from sealbridge.trust.view import Federation
from sealbridge.verify.chain import online_context
from sealbridge.verify.ofd import verify_ofd
from sealbridge.verify.pdf import verify_pdf
from sealbridge.verify.report.html import render_html
from sealbridge.verify.report.json import render_json
from sealbridge.verify.report.model import ValidationReport
from sealbridge.verify.revocation import OcspRevocationSource, fetch_ocsp
from sealbridge.verify.seal_attachment import SEAL_ATTACHMENT_SUFFIX, seal_attachment_verifier

Progress = Callable[[str], None]

CLAUSES = (
    (
        "甲方向乙方供应电子元器件一批，规格与数量见附件一。",
        "Party A supplies Party B with a lot of electronic components as listed in Annex 1.",
    ),
    (
        "合同总价为港币壹佰万元整（HKD 1,000,000），乙方于交货后三十日内付清。",
        "The total price is HKD 1,000,000, payable by Party B within thirty days of delivery.",
    ),
    (
        "双方依据深港电子签名及电子印章互认安排，以电子签名和电子印章签署本合同，"
        "与手写签名和实物印章具有同等法律效力。",
        "Under the Shenzhen–Hong Kong mutual recognition arrangement for electronic signatures "
        "and electronic seals, the parties sign by electronic signature and electronic seal, "
        "with the same legal effect as handwritten signatures and physical seals.",
    ),
    (
        "本合同适用中华人民共和国法律；争议提交深圳国际仲裁院仲裁。",
        "This contract is governed by the laws of the PRC; disputes go to the Shenzhen Court "
        "of International Arbitration.",
    ),
)


@dataclass
class DemoResult:
    out_dir: Path
    reports: dict[str, ValidationReport] = field(default_factory=dict)
    seconds: float = 0.0


def run_demo(out_dir: Path, progress: Progress = lambda _: None) -> DemoResult:
    """Run the scenario into a staging folder, then swap it in: no half-written output."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = out_dir / f".staging-{int(time.time() * 1000)}"
    staging.mkdir()
    try:
        result = _run(staging, progress)
        _swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.out_dir = out_dir
    result.seconds = time.perf_counter() - started
    return result


OUTPUT_FOLDERS = ("signed", "reports", "trust", "certs", "seals", "state")


def _swap_in(staging: Path, out_dir: Path) -> None:
    for name in OUTPUT_FOLDERS:
        target = out_dir / name
        old = out_dir / f".old-{name}"
        if target.exists():
            target.rename(old)
        (staging / name).rename(target)
        shutil.rmtree(old, ignore_errors=True)


def _run(out: Path, progress: Progress) -> DemoResult:
    for name in OUTPUT_FOLDERS:
        (out / name).mkdir()
    now = datetime.now(UTC)
    result = DemoResult(out)
    store = Store.embedded(out / "state")
    try:
        with AuthorityServer() as server:
            _run_with(store, server, out, now, result, progress)
            with store.sessions() as session:
                chain = audit.verify_chain(session)
            progress(f"audit log: {chain.events} events, chain intact: {chain.intact}")
    finally:
        store.close()
    return result


def _run_with(
    store: Store,
    server: AuthorityServer,
    out: Path,
    now: datetime,
    result: DemoResult,
    progress: Progress,
) -> None:
    progress(f"authority endpoints on {server.base_url}")
    jurisdictions = {
        spec.code: build_jurisdiction(
            spec,
            server,
            now,
            lambda: datetime.now(UTC),
            lambda ca_id: DatabaseRegistry(store, ca_id, actor="demo"),
        )
        for spec in JURISDICTIONS
    }
    maker = _seal_maker(jurisdictions["SZ"], now)
    federation = _publish_and_load(jurisdictions, server, now, out, progress)
    firms = {spec.key: enrol(spec, jurisdictions[spec.jurisdiction], now) for spec in FIRMS}
    revoked = firms["sz-revoked"]
    jurisdictions["SZ"].ca(KeyKind.ECDSA_P256).revoke(
        revoked.certificate, RevocationReason.KEY_COMPROMISE, now - timedelta(minutes=1)
    )
    progress(f"revoked the certificate of {revoked.spec.name_en} (key compromise)")

    registry = SealRegistry(store)
    seal = _issue_and_grant_seal(registry, maker, firms["sz"], now, progress)
    (out / "seals" / f"{seal.es_id}.esl").write_bytes(seal.der)
    (out / "seals" / f"{seal.es_id}.png").write_bytes(seal.picture_png)
    server.mount_seal_status(
        SEAL_MAKER_ID,
        lambda: registry.status_list(maker.key, maker.certificate, datetime.now(UTC)),
    )

    anchors = federation.ca_certificates()
    signed = {
        "contract-sz-hk.pdf": _sign_sz_hk(
            jurisdictions, firms, (seal, maker), anchors, now, registry
        ),
        "contract-bj.pdf": _sign_alone(
            firms["bj"], jurisdictions["BJ"], now, "SB-2026-0002", dual=True
        ),
        "contract-mo.pdf": _sign_alone(firms["mo"], jurisdictions["MO"], now, "SB-2026-0003"),
        "contract-revoked.pdf": _sign_alone(revoked, jurisdictions["SZ"], now, "SB-2026-0004"),
    }
    for name, data in signed.items():
        (out / "signed" / name).write_bytes(data)
        progress(f"signed {name}")
    ofd = _stamp_ofd(firms["sz"], firms["hk"], seal, now, registry)
    (out / "signed" / OFD_NAME).write_bytes(ofd)
    progress(f"stamped {OFD_NAME} with seal {seal.es_id} (SM2, GB/T 38540 in OFD)")

    status = load_status_list(
        fetch(server.seal_status_url(SEAL_MAKER_ID)), maker.certificate, datetime.now(UTC)
    )
    progress(f"fetched the seal maker's signed status list ({len(status.entries)} seals)")
    verifier = seal_attachment_verifier(
        federation, status_lists=[status], revocation=OcspRevocationSource()
    )
    for name, data in signed.items():
        report = verify_pdf(
            data,
            name,
            federation,
            [j.code for j in JURISDICTIONS],
            attachment_verifier=verifier,
        )
        _write_reports(out, name.removesuffix(".pdf"), report)
        result.reports[name] = report
    report = verify_ofd(
        ofd,
        OFD_NAME,
        federation,
        [j.code for j in JURISDICTIONS],
        revocation=OcspRevocationSource(),
        status_lists=[status],
    )
    _write_reports(out, OFD_NAME.removesuffix(".ofd"), report)
    result.reports[OFD_NAME] = report
    for j in jurisdictions.values():
        for kind, ca in j.cas.items():
            _write_pem(out / "certs" / f"{j.ca_id(kind)}.pem", ca.certificate)
        _write_pem(out / "certs" / f"{j.code.lower()}-tsa.pem", j.tsa_certificate)
        _write_pem(out / "certs" / f"{j.code.lower()}-trust-operator.pem", j.operator_certificate)
    _write_pem(out / "certs" / "sz-seal-maker.pem", maker.certificate)


@dataclass(frozen=True)
class IssuedSeal:
    es_id: str
    der: bytes
    picture_png: bytes


@dataclass
class SealMaker:
    """The Shenzhen market regulator (demo): makes seals with its SM2 key."""

    jurisdiction: Jurisdiction
    key: KeyHandle
    certificate: x509.Certificate
    issued: int = 0

    def issue_for(self, firm: Firm, now: datetime) -> IssuedSeal:
        self.issued += 1
        es_id = f"4403{firm.spec.registration[-6:]}{self.issued:03d}"
        picture = render_round_seal(firm.spec.name_zh, SealType.CONTRACT.chop_text, code=es_id)
        der = issue_seal(
            self.key,
            self.certificate,
            es_id=es_id,
            seal_type=SealType.CONTRACT,
            name=f"{firm.spec.name_zh}{SealType.CONTRACT.label_zh}",
            bound_certificates=[firm.certificate, *([firm.sm2.certificate] if firm.sm2 else [])],
            picture=picture,
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=730),
        )
        return IssuedSeal(es_id, der, picture.png)


SEAL_MAKER_ID = "sz-amr"
SZ_CUSTODIAN = "sz.custodian"
SZ_CLERK = "sz.contracts-clerk"
SZ_INTERN = "sz.intern"


def _issue_and_grant_seal(
    registry: SealRegistry, maker: SealMaker, firm: Firm, now: datetime, progress: Progress
) -> IssuedSeal:
    """Register the firm and its staff, issue the seal, and grant its use to one clerk."""
    regulator = "demo:sz-market-regulator"
    spec = firm.spec
    registry.register_firm(
        regulator,
        spec.registration,
        name=spec.name_zh,
        legal_representative="张三 (demo)",
        jurisdiction=spec.jurisdiction,
    )
    for user, name in (
        (SZ_CUSTODIAN, "印章管理员 Seal custodian"),
        (SZ_CLERK, "合同专员 Contracts clerk"),
        (SZ_INTERN, "实习生 Intern"),
    ):
        registry.add_user(regulator, user, display_name=name, firm=spec.registration)
    seal = maker.issue_for(firm, now)
    registry.record_seal(regulator, spec.registration, seal.der, custodians=[SZ_CUSTODIAN])
    registry.grant(SZ_CUSTODIAN, seal.es_id, SZ_CLERK, GrantRole.USER, max_uses=10)
    progress(
        f"Shenzhen market regulator issued contract seal {seal.es_id}; "
        f"custodian granted its use to {SZ_CLERK}"
    )
    try:
        registry.use_seal(SZ_INTERN, seal.es_id, hashlib.sha256(b"unapproved").digest())
    except SealUseRefused as refused:
        progress(f"refused and audited: {refused}")
    return seal


def _seal_maker(sz: Jurisdiction, now: datetime) -> SealMaker:
    key = generate_key(KeyKind.SM2)
    certificate = sz.ca(KeyKind.SM2).issue(
        ca_name(
            "深圳市市场监督管理局（演示）Shenzhen Market Regulation Demo Seal Maker",
            "SealBridge Demo Shenzhen",
            "CN",
        ),
        key.public_key_info,
        profiles.SEAL_MAKER,
        not_before=now - timedelta(days=60),
    )
    sz.extra_services.append(
        TrustService(
            name="Shenzhen Administration for Market Regulation (Demo) seal maker",
            service_type=ServiceType.SEAL_MAKER,
            certificate=certificate,
            history=(StatusChange(ServiceStatus.GRANTED, certificate.not_valid_before),),
        )
    )
    return SealMaker(sz, key, certificate)


def _publish_and_load(
    jurisdictions: dict[str, Jurisdiction],
    server: AuthorityServer,
    now: datetime,
    out: Path,
    progress: Progress,
) -> Federation:
    for folder in ("lists", "agreements", "pinned"):
        (out / "trust" / folder).mkdir()
    for j in jurisdictions.values():
        (out / "trust" / "lists" / f"{j.code}.json").write_bytes(publish_trust_list(j, server, now))
        _write_pem(out / "trust" / "pinned" / f"{j.code}.pem", j.operator_certificate)
    agreement_urls = []
    for a, b, title in AGREEMENTS:
        url, body = publish_agreement(jurisdictions[a], jurisdictions[b], title, server, now)
        (out / "trust" / "agreements" / f"{a}-{b}.json").write_bytes(body)
        agreement_urls.append(url)
    federation = load_federation(
        {
            code: PublishedList(f"{server.base_url}/trust/{code}.json", j.operator_certificate)
            for code, j in jurisdictions.items()
        },
        agreement_urls,
        now=now,
    )
    progress(
        f"fetched and verified {len(federation.trust_lists)} trust lists and "
        f"{len(federation.agreements)} agreements over HTTP"
    )
    return federation


def _contract(parties: list[ContractParty], number: str, now: datetime) -> ContractDocument:
    return build_contract(
        "跨境电子元器件采购合同",
        "Cross-border Purchase Contract for Electronic Components",
        parties,
        CLAUSES,
        contract_no=number,
        on=date(now.year, now.month, now.day),
    )


def _party(firm: Firm, role_zh: str, role_en: str, place: str) -> ContractParty:
    s = firm.spec
    return ContractParty(role_zh, role_en, s.name_zh, s.name_en, s.registration, place)


def _signature_block(firm: Firm, box: tuple[int, int, int, int], now: datetime) -> bytes:
    lines = [
        "电子签名 Digitally signed",
        firm.spec.name_zh,
        firm.spec.name_en,
        firm.spec.registration_id,
        f"{now:%Y-%m-%d %H:%M} UTC",
    ]
    return render_signature_block(lines, box[2] - box[0], box[3] - box[1])


def _sign_sz_hk(
    jurisdictions: dict[str, Jurisdiction],
    firms: dict[str, Firm],
    sealing: tuple[IssuedSeal, SealMaker],
    anchors: list[x509.Certificate],
    now: datetime,
    registry: SealRegistry,
) -> bytes:
    sz, hk = firms["sz"], firms["hk"]
    seal, maker = sealing
    doc = _contract(
        [
            _party(sz, "甲方", "Party A", "深圳 Shenzhen"),
            _party(hk, "乙方", "Party B", "香港 Hong Kong"),
        ],
        "SB-2026-0001",
        now,
    )
    registry.use_seal(SZ_CLERK, seal.es_id, hashlib.sha256(doc.pdf).digest())
    pdf = sign_pdf(
        doc.pdf,
        PdfSignerIdentity(sz.key, sz.certificate, sz.chain),
        VisibleStamp(doc.places[0], seal.picture_png),
        PadesProfile(
            PadesLevel.B_T, certify=True, reason="甲方盖章 Party A seal", location="Shenzhen"
        ),
        timestamper=HttpTimeStamper(jurisdictions["SZ"].tsa_url),
        attachments=[
            Attachment(
                f"{seal.es_id}{SEAL_ATTACHMENT_SUFFIX}",
                seal.der,
                "application/octet-stream",
                "GB/T 38540 electronic seal",
            )
        ],
    )
    pdf = sign_pdf(
        pdf,
        PdfSignerIdentity(hk.key, hk.certificate, hk.chain),
        VisibleStamp(doc.places[1], _signature_block(hk, doc.places[1].box, now)),
        PadesProfile(PadesLevel.B_T, reason="乙方签署 Party B signature", location="Hong Kong"),
        timestamper=HttpTimeStamper(jurisdictions["HK"].tsa_url),
    )
    # The seal's maker is no signer of the PDF: its status is added for the long term
    # too, before the document timestamp covers it all.
    maker_issuer = jurisdictions["SZ"].ca(KeyKind.SM2).certificate
    pdf = add_validation_data(
        pdf, [maker.certificate, maker_issuer], [fetch_ocsp(maker.certificate, maker_issuer)]
    )
    context = online_context(anchors)
    return add_archive_timestamp(pdf, HttpTimeStamper(jurisdictions["SZ"].tsa_url), context)


def _sign_alone(
    firm: Firm, jurisdiction: Jurisdiction, now: datetime, number: str, *, dual: bool = False
) -> bytes:
    """One firm signs; with ``dual`` it adds an SM2 signature, as mainland vendors do, so
    that international tools and mainland tools each find one they can verify."""
    doc = _contract([_party(firm, "甲方", "Party A", jurisdiction.spec.name_zh)], number, now)
    identity = PdfSignerIdentity(firm.key, firm.certificate, firm.chain)
    stamp = VisibleStamp(doc.places[0], _signature_block(firm, doc.places[0].box, now))
    timestamper = HttpTimeStamper(jurisdiction.tsa_url)
    if dual and firm.sm2 is not None:
        national = PdfSignerIdentity(firm.sm2.key, firm.sm2.certificate, firm.sm2.chain)
        return dual_sign_pdf(
            doc.pdf,
            identity,
            national,
            stamp,
            PadesProfile(PadesLevel.B_T),
            timestamper=timestamper,
        )
    return sign_pdf(doc.pdf, identity, stamp, PadesProfile(PadesLevel.B_T), timestamper=timestamper)


def _write_reports(out: Path, stem: str, report: ValidationReport) -> None:
    (out / "reports" / f"{stem}.json").write_text(render_json(report), encoding="utf-8")
    (out / "reports" / f"{stem}.html").write_text(render_html(report), encoding="utf-8")


OFD_NAME = "contract-sz.ofd"


def _stamp_ofd(
    sz: Firm, hk: Firm, seal: IssuedSeal, now: datetime, registry: SealRegistry
) -> bytes:
    """The same kind of contract as OFD, stamped by the clerk with the SM2 certificate."""
    if sz.sm2 is None:
        raise RuntimeError("the Shenzhen demo firm has no SM2 certificate")
    contract = build_ofd_contract(
        "跨境电子元器件采购合同",
        "Cross-border Purchase Contract for Electronic Components",
        [
            _party(sz, "甲方", "Party A", "深圳 Shenzhen"),
            _party(hk, "乙方", "Party B", "香港 Hong Kong"),
        ],
        CLAUSES,
        contract_no="SB-2026-0005",
        on=date(now.year, now.month, now.day),
    )
    registry.use_seal(SZ_CLERK, seal.es_id, hashlib.sha256(contract.ofd).digest())
    place = contract.places[0]
    return stamp_ofd(
        contract.ofd,
        seal_der=seal.der,
        signer_key=sz.sm2.key,
        signer_certificate=sz.sm2.certificate,
        page=place.page,
        boundary_mm=place.boundary_mm,
        time=datetime.now(UTC),
    )


def _write_pem(path: Path, certificate: x509.Certificate) -> None:
    path.write_bytes(pem.armor("CERTIFICATE", certificate.dump()))
