"""``sealbridge sign``, driven as a user would, with pdfsig and ``sealbridge verify`` after.

One data directory is set up through the CLI: a CA (``ca init``/``ca issue``: an ECDSA
and an SM2 certificate for one firm, and a TSA certificate), a seal maker, the firm, its
people and a seal bound to both certificates (``seal ...``), and a trust directory
listing the CA, the TSA and the maker (``trust ...``). The CA's OCSP and the TSA are
served on 127.0.0.1 by an ``AuthorityServer`` for the whole module.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from asn1crypto import cms
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from typer.testing import Result

from sealbridge.authority.server import AuthorityServer
from sealbridge.cli.ca import PASSPHRASE_ENV, load_authority, read_certificate
from sealbridge.crypto.keystore import FileKeyStore
from sealbridge.documents.ofd import build_ofd_contract
from sealbridge.documents.pdf.contract import ContractParty, build_contract
from sealbridge.documents.pdf.reader import open_pdf
from sealbridge.pki import profiles
from sealbridge.pki.identifiers import uscc_check_character
from sealbridge.pki.tsa import TimeStampAuthority
from sealbridge.service.db.store import Store
from sealbridge.service.seal_registry import SealRegistry
from support.cli import invoke, ok, one_error_line

POPPLER = shutil.which("pdfsig") is not None
needs_pdfsig = pytest.mark.skipif(not POPPLER, reason="poppler-utils (pdfsig) not installed")

PASSPHRASE = "sign-cli test passphrase"
ENV: dict[str, str | None] = {PASSPHRASE_ENV: PASSPHRASE}
FIRM = "91440300MA5G0CL11" + uscc_check_character("91440300MA5G0CL11")
OTHER_FIRM = "91440300MA5G0CL22" + uscc_check_character("91440300MA5G0CL22")
ES_ID = "4403000001"
SUSPENDED_ES_ID = "4403000002"
ANCHOR = "Party A (Seal/Signature)"
PARTIES = [
    ContractParty("甲方", "Party A", "深圳甲公司", "SZ Demo Co.", FIRM, "深圳"),
    ContractParty("乙方", "Party B", "香港乙公司", "HK Demo Ltd", "12345678", "香港"),
]


@dataclass(frozen=True)
class Site:
    data: Path
    trust: Path
    tsa_url: str
    contract: Path
    three_pages: Path

    @property
    def cert(self) -> Path:
        return self.data / "certs" / "signer.pem"

    @property
    def sm2_cert(self) -> Path:
        return self.data / "certs" / "signer-sm2.pem"

    @property
    def ca(self) -> Path:
        return self.data / "ca" / "sz" / "ca.pem"

    def key_args(self) -> list[str | Path]:
        return ["--key", "signer", "--cert", self.cert, "--chain", self.ca, "--data", self.data]


def run(*args: str | Path) -> Result:
    return invoke(ENV, *args)


def _setup_ca(data: Path, server: AuthorityServer) -> None:
    ok(run("ca", "init", "sz", "--name", "Shenzhen Demo CA", "--org", "SealBridge Demo",
           "--url-base", server.base_url, "--data", data))  # fmt: skip
    for kind, label, cn, profile in (
        ("ecdsa-p256", "signer", "Li Lei", "enterprise-signature"),
        ("sm2", "signer-sm2", "Li Lei", "enterprise-signature"),
        ("ecdsa-p256", "tsa", "Shenzhen Demo TSA", "tsa"),
    ):
        ok(run("ca", "issue", "sz", "--profile", profile, "--generate", kind, "--label", label,
               "--subject-cn", cn, "--org", "深圳甲公司", "--uscc", FIRM,
               "--out", data / "certs" / f"{label}.pem", "--data", data))  # fmt: skip


def _setup_seals(data: Path) -> None:
    ok(run("seal", "init-maker", "--name", "Sign CLI Seal Maker", "--data", data))
    steps = [
        ("register-firm", FIRM, "--name", "深圳甲公司", "--legal-representative", "张三",
         "--jurisdiction", "SZ"),
        ("register-firm", OTHER_FIRM, "--name", "深圳丙公司", "--legal-representative", "王五",
         "--jurisdiction", "SZ"),
        ("add-user", "carol", "--firm", FIRM),
        ("add-user", "bob", "--firm", FIRM),
        ("add-user", "eve", "--firm", FIRM),
        ("add-user", "mallory", "--firm", OTHER_FIRM),
    ]  # fmt: skip
    for es_id in (ES_ID, SUSPENDED_ES_ID):
        steps.append(
            ("issue", "--firm", FIRM, "--es-id", es_id, "--type", "contract", "--custodian",
             "carol", "--signer-cert", data / "certs" / "signer.pem",
             "--signer-cert", data / "certs" / "signer-sm2.pem")
        )  # fmt: skip
        steps.append(("grant", es_id, "--by", "carol", "--to", "bob"))
    for step in steps:
        ok(run("seal", *step, "--data", data))
    store = Store.embedded(data)
    try:
        SealRegistry(store).suspend("seal-maker", SUSPENDED_ES_ID)
    finally:
        store.close()


def _setup_trust(data: Path, root: Path) -> None:
    ok(run("trust", "init-operator", "sz-op", "--name", "Shenzhen Trust List Operator",
           "--data", data))  # fmt: skip
    since = [{"status": "granted", "since": "2020-01-01T00:00:00Z"}]
    services = {
        "providers": [
            {
                "name": "SealBridge Demo Shenzhen",
                "services": [
                    {"name": "Shenzhen Demo CA", "type": "ca-esig",
                     "certificate": "ca/sz/ca.pem", "history": since,
                     "policy_prefixes": [profiles.MUTUAL_RECOGNITION_POLICY_PREFIX]},
                    {"name": "Shenzhen Demo TSA", "type": "tsa",
                     "certificate": "certs/tsa.pem", "history": since},
                    {"name": "Sign CLI Seal Maker", "type": "seal-maker",
                     "certificate": "seal-maker/maker.pem", "history": since},
                ],
            }
        ]
    }  # fmt: skip
    (data / "services.json").write_text(json.dumps(services))
    ok(run("trust", "build", "--territory", "SZ", "--operator-label", "sz-op",
           "--services", data / "services.json", "--sequence", "1",
           "--out", root / "lists" / "SZ.json", "--data", data))  # fmt: skip
    (root / "pinned").mkdir(parents=True)
    shutil.copy(data / "operators" / "sz-op.pem", root / "pinned" / "SZ.pem")


def _serve(data: Path, server: AuthorityServer, store: Store) -> None:
    keys = FileKeyStore(data / "keys", PASSPHRASE)
    ca, _ = load_authority(data, "sz", store, keys)
    server.mount_ca("sz", ca)
    server.mount_tsa(
        "sz",
        TimeStampAuthority(
            keys.load("tsa"),
            read_certificate(data / "certs" / "tsa.pem"),
            policy_oid="1.3.6.1.4.1.61234.1.3161",
            clock=lambda: datetime.now(UTC),
        ),
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("sign-cli")
    data = folder / "data"
    with AuthorityServer() as server:
        _setup_ca(data, server)
        _setup_seals(data)
        _setup_trust(data, folder / "trust")
        store = Store.embedded(data)
        try:
            _serve(data, server, store)
            contract = folder / "contract.pdf"
            contract.write_bytes(
                build_contract(
                    "采购合同", "Purchase Contract", PARTIES,
                    [("甲方供货，乙方付款。", "Party A supplies; Party B pays.")],
                    contract_no="CLI-1", on=date(2026, 11, 25),
                ).pdf
            )  # fmt: skip
            three_pages = folder / "three-pages.pdf"
            three_pages.write_bytes(
                build_contract(
                    "采购合同", "Purchase Contract", PARTIES,
                    [("甲方按期供货，乙方按期付款。" * 40, "Party A supplies; Party B pays. " * 30)]
                    * 5,
                    contract_no="CLI-3", on=date(2026, 11, 25),
                ).pdf
            )  # fmt: skip
            yield Site(data, folder / "trust", server.tsa_url("sz"), contract, three_pages)
        finally:
            store.close()


def pdfsig(path: Path, *options: str) -> str:
    done = subprocess.run(
        ["pdfsig", *options, str(path)], capture_output=True, text=True, check=False
    )
    return done.stdout


def verify_json(site: Site, path: Path) -> list[dict[str, object]]:
    """``sealbridge verify --format json``: the signatures it reports, as a user reads them."""
    result = run("verify", path, "--trust", site.trust, "--as", "SZ", "--format", "json")
    assert result.exit_code in (0, 1), result.output
    signatures: list[dict[str, object]] = json.loads(result.stdout)["signatures"]
    return signatures


def usage_hashes(site: Site, es_id: str = ES_ID) -> list[str]:
    store = Store.embedded(site.data)
    try:
        return [u.document_hash for u in SealRegistry(store).usage_log("carol", es_id)]
    finally:
        store.close()


def _cms_of(pdf: bytes, index: int = 0, password: str | None = None) -> cms.SignedData:
    signature = open_pdf(pdf, password=password).signatures[index]
    return signature.signed_data


# ----------------------------------------------------------------- seal at an anchor


@needs_pdfsig
def test_b_b_with_seal_at_anchor_is_valid_and_logged(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "sealed.pdf"
    before = usage_hashes(site)
    said = ok(
        run("sign", site.contract, "--out", out, *site.key_args(), "--seal", ES_ID,
            "--user", "bob", "--anchor", ANCHOR, "--level", "B-B", "--reason", "甲方盖章")
    )  # fmt: skip
    assert f"seal {ES_ID}" in said and "PAdES B-B" in said

    checked = pdfsig(out)
    assert "Signature Validation: Signature is Valid." in checked
    assert f"Signature Field Name: Seal-{ES_ID}" in checked
    assert "Total document signed" in checked

    signatures = verify_json(site, out)
    kinds = [s["kind"] for s in signatures]
    assert kinds.count("pades") == 1 and kinds.count("seal") == 1
    pades = next(s for s in signatures if s["kind"] == "pades")
    assert pades["indication"] == "TOTAL-PASSED", pades["details"]
    seal = next(s for s in signatures if s["kind"] == "seal")
    details = seal["details"]
    assert isinstance(details, list)
    assert any("bound" in line and "ok" in line for line in details), details

    # The use was authorised and logged for exactly the document that was signed.
    expected = hashlib.sha256(site.contract.read_bytes()).hexdigest()
    assert usage_hashes(site) == [*before, expected]


def test_the_seal_file_is_in_the_signed_revision(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "sealed.pdf"
    ok(run("sign", site.contract, "--out", out, *site.key_args(), "--seal", ES_ID,
           "--user", "bob", "--page", "1", "--rect", "100,100,213,213",
           "--level", "B-B"))  # fmt: skip
    reader = PdfFileReader(io.BytesIO(out.read_bytes()))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    assert str(names[0]) == f"{ES_ID}.esl"
    (embedded,) = reader.embedded_signatures
    assert embedded.signed_revision == reader.xrefs.total_revisions - 1
    assert embedded.field_name == f"Seal-{ES_ID}"


# ----------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("user", "es_id", "words"),
    [
        ("eve", ES_ID, "SealUseRefused"),
        ("mallory", ES_ID, "ForeignFirm"),
        ("bob", SUSPENDED_ES_ID, "suspended"),
    ],
)
def test_a_refused_seal_use_writes_nothing(
    site: Site, tmp_path: Path, user: str, es_id: str, words: str
) -> None:
    out = tmp_path / "refused.pdf"
    before = usage_hashes(site, es_id)
    result = run("sign", site.contract, "--out", out, *site.key_args(), "--seal", es_id,
                 "--user", user, "--anchor", ANCHOR, "--level", "B-B")  # fmt: skip
    one_error_line(result, words)
    assert not out.exists()
    assert not list(tmp_path.iterdir())  # no temporary left either
    assert usage_hashes(site, es_id) == before


def test_a_signature_that_fails_logs_no_seal_use(site: Site, tmp_path: Path) -> None:
    """The use is authorised before signing but logged only once the signature exists:
    a TSA that does not answer leaves the usage log as it was."""
    out = tmp_path / "no-tsa.pdf"
    before = usage_hashes(site)
    result = run("sign", site.contract, "--out", out, *site.key_args(), "--seal", ES_ID,
                 "--user", "bob", "--anchor", ANCHOR, "--level", "B-T",
                 "--tsa", "http://127.0.0.1:9/tsa")  # fmt: skip
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not out.exists()
    assert usage_hashes(site) == before


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--level", "B-T"], "--tsa"),
        (["--level", "B-LT", "--tsa", "http://127.0.0.1:1/tsa"], "--trust"),
        (["--level", "B-X"], "B-X"),
        (["--level", "B-B", "--cross-page"], "needs --seal"),
        (["--level", "B-B", "--field", "Party1", "--anchor", ANCHOR], "give one of"),
        (["--level", "B-B", "--field", "Nope"], "no signature field named 'Nope'"),
        (["--level", "B-B", "--page", "9", "--rect", "1,1,50,50"], "past the last page"),
        (["--level", "B-B", "--page", "1", "--rect", "1,1,x,50"], "four comma-separated"),
        (["--level", "B-B", "--anchor", "不存在的字"], "not found"),
        (["--field", "Party1", "--tsa", "http://127.0.0.1:9/tsa"], "unreachable"),
        (["--level", "B-LT", "--dual-sm2", "--tsa", "u", "--trust", "t"], "B-B or B-T"),
    ],
)
def test_bad_options_are_one_line_and_write_nothing(
    site: Site, tmp_path: Path, extra: list[str], words: str
) -> None:
    out = tmp_path / "out.pdf"
    one_error_line(run("sign", site.contract, "--out", out, *site.key_args(), *extra), words)
    assert not out.exists()


def test_a_key_that_is_not_the_certificates_is_refused(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    result = run("sign", site.contract, "--out", out, "--key", "signer-sm2", "--cert", site.cert,
                 "--data", site.data, "--field", "Party1", "--level", "B-B")  # fmt: skip
    one_error_line(result, "KeyStoreError", "signer-sm2", "is not the key of")
    assert not out.exists()


def test_the_input_is_never_overwritten(site: Site) -> None:
    before = site.contract.read_bytes()
    same = site.contract.parent / "." / site.contract.name
    result = run("sign", site.contract, "--out", same, *site.key_args(), "--field", "Party1",
                 "--level", "B-B")  # fmt: skip
    one_error_line(result, "is the input")
    assert site.contract.read_bytes() == before


def test_neither_pdf_nor_ofd_is_refused(site: Site, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"hello")
    one_error_line(run("sign", junk, "--out", tmp_path / "o.pdf", *site.key_args()), "neither")


# ----------------------------------------------------------------- B-T and a field


@needs_pdfsig
def test_b_t_in_an_existing_field_is_timestamped(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "b-t.pdf"
    ok(run("sign", site.contract, "--out", out, *site.key_args(), "--field", "Party1",
           "--tsa", site.tsa_url, "--location", "Shenzhen"))  # fmt: skip
    checked = pdfsig(out)
    assert "Signature Field Name: Party1" in checked
    assert "Signature Validation: Signature is Valid." in checked
    signer_info = _cms_of(out.read_bytes())["signer_infos"][0]
    unsigned = {a["type"].native for a in signer_info["unsigned_attrs"]}
    assert "signature_time_stamp_token" in unsigned
    (pades,) = verify_json(site, out)
    assert pades["kind"] == "pades" and pades["level"] == "B-T"
    assert pades["indication"] == "TOTAL-PASSED", pades["details"]


def test_lock_records_field_mdp_in_the_signature(site: Site, tmp_path: Path) -> None:
    """Party A locks Party B's field: pyHanko reads the FieldMDP the signature records."""
    out = tmp_path / "locked.pdf"
    ok(run("sign", site.contract, "--out", out, *site.key_args(), "--field", "Party1",
           "--level", "B-B", "--lock", "Party2"))  # fmt: skip
    sig = PdfFileReader(io.BytesIO(out.read_bytes())).embedded_signatures[0]
    assert sig.fieldmdp is not None and sig.fieldmdp.fields == ["Party2"]
    both = ("--lock", "Party2", "--lock-all")
    refused = run("sign", site.contract, "--out", tmp_path / "x.pdf", *site.key_args(),
                  "--field", "Party1", "--level", "B-B", *both)  # fmt: skip
    one_error_line(refused, "--lock-all")
    assert not (tmp_path / "x.pdf").exists()


# ----------------------------------------------------------------- dual signing


@needs_pdfsig
def test_dual_sm2_gives_two_signatures(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "dual.pdf"
    ok(run("sign", site.contract, "--out", out, *site.key_args(), "--field", "Party1",
           "--level", "B-B", "--dual-sm2", "--sm2-key", "signer-sm2", "--sm2-cert",
           site.sm2_cert, "--sm2-chain", site.ca))  # fmt: skip
    first, second = pdfsig(out).split("Signature #2:")
    assert "Signature Field Name: Party1" in first
    assert "Signature Validation: Signature is Valid." in first
    assert "Signature Field Name: Party1-SM2" in second
    signatures = verify_json(site, out)
    # The verifier checks the SM2 one with its own CMS code, hence the kind.
    kinds = [(s["id"], s["kind"]) for s in signatures]
    assert kinds == [("Party1", "pades"), ("Party1-SM2", "cms")]
    assert all(s["indication"] == "TOTAL-PASSED" for s in signatures), signatures
    assert _cms_of(out.read_bytes(), 1)["signer_infos"][0]["digest_algorithm"][
        "algorithm"
    ].dotted == ("1.2.156.10197.1.401")


# ----------------------------------------------------------------- encrypted input


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    writer = PdfFileWriter(stream_xrefs=False)
    content = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td ET"))
    box = generic.ArrayObject(generic.NumberObject(n) for n in (0, 0, 595, 842))
    writer.insert_page(PageObject(contents=content, media_box=box))
    writer.encrypt("owner-secret", "user-secret")
    path = tmp_path_factory.mktemp("encrypted") / "locked.pdf"
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    return path


@pytest.mark.parametrize(
    ("password", "words"), [(None, "PasswordRequired"), ("guess", "WrongPassword")]
)
def test_encrypted_input_needs_its_password(
    site: Site, encrypted: Path, tmp_path: Path, password: str | None, words: str
) -> None:
    options: list[str | Path] = []
    if password is not None:
        (tmp_path / "pw").write_text(password + "\n")
        options = ["--password-file", tmp_path / "pw"]
    out = tmp_path / "out.pdf"
    result = run("sign", encrypted, "--out", out, *site.key_args(), "--page", "1",
                 "--rect", "50,50,250,150", "--level", "B-B", *options)  # fmt: skip
    one_error_line(result, words)
    assert not out.exists()


@needs_pdfsig
def test_encrypted_input_signed_with_its_password_stays_encrypted(
    site: Site, encrypted: Path, tmp_path: Path
) -> None:
    (tmp_path / "pw").write_text("user-secret\n")
    out = tmp_path / "signed.pdf"
    ok(run("sign", encrypted, "--out", out, *site.key_args(), "--page", "1",
           "--rect", "50,50,250,150", "--level", "B-B",
           "--password-file", tmp_path / "pw"))  # fmt: skip
    assert PdfFileReader(io.BytesIO(out.read_bytes())).encrypted
    assert "Signature is Valid." in pdfsig(out, "-upw", "user-secret")
    (signature,) = open_pdf(out.read_bytes(), password="user-secret").signatures
    assert signature.field_name == "Signature"


# ----------------------------------------------------------------- cross-page seal


@needs_pdfsig
def test_cross_page_seal_on_three_pages(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "cross.pdf"
    ok(run("sign", site.three_pages, "--out", out, *site.key_args(), "--seal", ES_ID,
           "--user", "bob", "--anchor", ANCHOR, "--cross-page", "--level", "B-B"))  # fmt: skip
    checked = pdfsig(out)
    assert "Signature Validation: Signature is Valid." in checked
    assert "Total document signed" in checked
    reader = PdfFileReader(io.BytesIO(out.read_bytes()))
    (cross,) = [
        f.get_object() for f in reader.root["/AcroForm"]["/Fields"]
        if f.get_object()["/T"] == "CrossPageSeal"
    ]  # fmt: skip
    pages = [kid.get_object().raw_get("/P") for kid in cross["/Kids"]]
    assert len({p.idnum for p in pages}) == 3 == int(reader.root["/Pages"]["/Count"])
    (embedded,) = reader.embedded_signatures
    # The slices came in the signer's revision: one revision on top of the input.
    original = PdfFileReader(io.BytesIO(site.three_pages.read_bytes()))
    assert reader.xrefs.total_revisions == original.xrefs.total_revisions + 1
    assert embedded.signed_revision == reader.xrefs.total_revisions - 1


@needs_pdfsig
def test_b_lta_with_cross_page_seal_embeds_validation_data(site: Site, tmp_path: Path) -> None:
    out = tmp_path / "b-lta.pdf"
    ok(run("sign", site.three_pages, "--out", out, *site.key_args(), "--seal", ES_ID,
           "--user", "bob", "--anchor", ANCHOR, "--cross-page", "--level", "B-LTA",
           "--tsa", site.tsa_url, "--trust", site.trust))  # fmt: skip
    assert "Signature Validation: Signature is Valid." in pdfsig(out)
    reader = PdfFileReader(io.BytesIO(out.read_bytes()))
    assert "/DSS" in reader.root
    assert "CrossPageSeal" in {
        str(f.get_object()["/T"]) for f in reader.root["/AcroForm"]["/Fields"]
    }
    signatures = verify_json(site, out)
    kinds = sorted(str(s["kind"]) for s in signatures)
    assert kinds == ["doc-timestamp", "pades", "seal"]
    pades = next(s for s in signatures if s["kind"] == "pades")
    assert pades["indication"] == "TOTAL-PASSED", pades["details"]


# ----------------------------------------------------------------- OFD


def test_ofd_contract_stamped_via_cli_verifies(site: Site, tmp_path: Path) -> None:
    contract = build_ofd_contract(
        "采购合同", "Purchase Contract", PARTIES,
        [("甲方供货，乙方付款。", "Party A supplies; Party B pays.")],
        contract_no="CLI-OFD", on=date(2026, 11, 25),
    )  # fmt: skip
    source = tmp_path / "contract.ofd"
    source.write_bytes(contract.ofd)
    out = tmp_path / "stamped.ofd"
    said = ok(run("sign", source, "--out", out, "--key", "signer-sm2", "--cert", site.sm2_cert,
                  "--data", site.data, "--seal", ES_ID, "--user", "bob"))  # fmt: skip
    assert "OFD" in said and ES_ID in said
    (stamp,) = verify_json(site, out)
    assert stamp["kind"] == "ofd-seal"
    assert stamp["indication"] == "TOTAL-PASSED", stamp["details"]
    one_error_line(
        run("sign", source, "--out", tmp_path / "x.ofd", "--key", "signer-sm2", "--cert",
            site.sm2_cert, "--data", site.data, "--seal", ES_ID, "--user", "bob",
            "--level", "B-T"),
        "--level", "PDF only",
    )  # fmt: skip
