"""B-LTA renewal: due before the newest timestamp stops proving anything, and done right."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from sealbridge.authority.server import AuthorityServer
from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.documents.pdf.appearance import render_signature_block
from sealbridge.documents.pdf.archive import (
    AlgorithmSunsets,
    archive_state,
    renew_archive_timestamp,
)
from sealbridge.documents.pdf.contract import ContractParty, build_contract
from sealbridge.documents.pdf.sign import (
    PadesLevel,
    PadesProfile,
    PdfSignerIdentity,
    PdfSigningError,
    VisibleStamp,
    add_archive_timestamp,
    sign_pdf,
)
from sealbridge.documents.pdf.timestamper import HttpTimeStamper
from sealbridge.errors import MalformedInput
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name, enterprise_name
from sealbridge.pki.tsa import TimeStampAuthority

TSA_POLICY = "1.3.6.1.4.1.61234.1.3161"
TSA_LIFETIME = timedelta(days=60)


@dataclass(frozen=True)
class Site:
    ca: CertificateAuthority
    timestamper: HttpTimeStamper
    b_t: bytes

    def context(self) -> ValidationContext:
        return ValidationContext(
            trust_roots=[self.ca.certificate], allow_fetching=True, revocation_mode="hard-fail"
        )


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with AuthorityServer() as server:
        ca = CertificateAuthority.create_root(
            ca_name("Archive Test CA", "SealBridge Test", "CN"),
            generate_key(KeyKind.ECDSA_P256),
            urls=server.ca_urls("ca"),
        )
        server.mount_ca("ca", ca)
        tsa_key = generate_key(KeyKind.ECDSA_P256)
        tsa_cert = ca.issue(
            ca_name("Archive Test TSA", "SealBridge Test", "CN"),
            tsa_key.public_key_info,
            profiles.TSA,
            validity=TSA_LIFETIME,
        )
        server.mount_tsa(
            "tsa",
            TimeStampAuthority(
                tsa_key,
                tsa_cert,
                policy_oid=TSA_POLICY,
                clock=lambda: datetime.now(UTC),
                chain=(ca.certificate,),
            ),
        )
        key = generate_key(KeyKind.ECDSA_P256)
        cert = ca.issue(
            enterprise_name("Archive Firm", "91440300MA5G0CL110", "CN"),
            key.public_key_info,
            profiles.ENTERPRISE_SIGNATURE,
        )
        doc = build_contract(
            "存档合同",
            "Archived Contract",
            [
                ContractParty("甲方", "Party A", "深圳甲公司", "SZ A", "X", "深圳"),
                ContractParty("乙方", "Party B", "香港乙公司", "HK B", "Y", "香港"),
            ],
            [("条款。", "Clause.")],
            contract_no="A-1",
            on=date(2026, 11, 25),
        )
        box = doc.places[0].box
        picture = render_signature_block(["Signed"], box[2] - box[0], box[3] - box[1])
        timestamper = HttpTimeStamper(server.tsa_url("tsa"))
        b_t = sign_pdf(
            doc.pdf,
            PdfSignerIdentity(key, cert, (ca.certificate,)),
            VisibleStamp(doc.places[0], picture),
            PadesProfile(PadesLevel.B_T),
            timestamper=timestamper,
        )
        yield Site(ca, timestamper, b_t)


@pytest.fixture(scope="module")
def b_lta(site: Site) -> bytes:
    return add_archive_timestamp(site.b_t, site.timestamper, site.context())


def test_state_names_the_tsa_certificate_as_the_deadline(b_lta: bytes) -> None:
    state = archive_state(b_lta)
    assert state.digest_algorithm == "sha256"
    assert state.renew_by == state.tsa_certificate_expires
    assert "TSA certificate expires" in state.reasons[0]
    now = datetime.now(UTC)
    assert state.due(now, margin=timedelta(days=90))  # the TSA lives 60 days
    assert not state.due(now, margin=timedelta(days=1))


def test_renewal_adds_a_timestamp_that_covers_the_old_ones_validation_data(
    site: Site, b_lta: bytes, tmp_path: Path
) -> None:
    renewed = renew_archive_timestamp(
        b_lta, site.timestamper, site.context(), now=datetime.now(UTC)
    )
    assert renewed is not None and renewed.startswith(b_lta)
    reader = PdfFileReader(io.BytesIO(renewed))
    stamps = [s for s in reader.embedded_signatures if s.sig_object_type == "/DocTimeStamp"]
    assert len(stamps) == 2
    for stamp in stamps:
        status = validate_pdf_timestamp(stamp, validation_context=site.context())
        assert status.intact and status.valid and status.trusted, status.summary()
    signature = next(s for s in reader.embedded_signatures if s.sig_object_type == "/Sig")
    status = validate_pdf_signature(signature, site.context())
    assert status.intact and status.valid and status.trusted, status.summary()
    assert archive_state(renewed).last_timestamp_at >= archive_state(b_lta).last_timestamp_at
    if shutil.which("pdfsig") is None:
        return
    path = tmp_path / "renewed.pdf"
    path.write_bytes(renewed)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False)
    # poppler validates the PAdES signature; document timestamps it lists unvalidated.
    assert out.stdout.count("Common Name: Archive Test TSA") == 2, out.stdout
    assert out.stdout.count("Signature is Valid") == 1 and "Invalid" not in out.stdout


def test_not_due_means_no_new_revision(site: Site, b_lta: bytes) -> None:
    assert (
        renew_archive_timestamp(
            b_lta, site.timestamper, site.context(), now=datetime.now(UTC), margin=timedelta(0)
        )
        is None
    )


def test_a_sunset_algorithm_makes_renewal_due_and_late_renewal_is_refused(
    site: Site, b_lta: bytes
) -> None:
    sunsets = AlgorithmSunsets(digests={"sha256": date(2020, 1, 1)})
    state = archive_state(b_lta, sunsets)
    assert state.reasons[0] == "sha256 is not trusted after 2020-01-01"
    with pytest.raises(PdfSigningError, match="too late to renew"):
        renew_archive_timestamp(
            b_lta, site.timestamper, site.context(), now=datetime.now(UTC), sunsets=sunsets
        )


def test_a_document_without_document_timestamp_is_not_an_archive(site: Site) -> None:
    with pytest.raises(MalformedInput, match="no document timestamp"):
        archive_state(site.b_t)
    with pytest.raises(MalformedInput):
        archive_state(b"%PDF-1.7 nothing else")
