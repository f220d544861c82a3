"""Detached CMS signatures (RSA, ECDSA, SM2) verified by ``verify.cms``, with real OCSP.

The world (``support.cms_world``) is a Shenzhen trust list naming an SM2 CA and an ECDSA
CA, a Hong Kong list with its own CA and an SZ–HK agreement; both SZ CAs answer OCSP over
HTTP on 127.0.0.1 and an ECDSA TSA under the ECDSA CA stamps.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, pem

from sealbridge.crypto.algorithms import KeyKind, digest
from sealbridge.crypto.keys import KeyHandle, SoftwareKey, generate_key
from sealbridge.documents.pdf.cms import sign_detached
from sealbridge.errors import MalformedInput
from sealbridge.pki import profiles
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.verify.batch import Input, Options, Verifiers, verify_one
from sealbridge.verify.cms import verify_detached_cms
from sealbridge.verify.pdf import federation_context
from sealbridge.verify.policy import DEFAULT_POLICY
from sealbridge.verify.report.model import Indication, SignatureKind
from support.cms_world import World
from support.pki import Signer

OPENSSL = shutil.which("openssl") is not None
JURISDICTIONS = ["SZ", "HK", "MO"]
CONTENT = "跨境合同 cross-border contract\n".encode() * 50


def _verify(world: World, container: bytes, content: bytes = CONTENT) -> tuple[Indication, str]:
    report = verify_detached_cms(
        container,
        content,
        "contract.p7s",
        world.federation,
        JURISDICTIONS,
    )
    (sig,) = report.signatures
    assert sig.kind is SignatureKind.CMS
    return sig.indication, "\n".join(sig.details) + f"\n{sig.sub_indication}"


def _sign(signer: Signer, content: bytes = CONTENT, **kwargs: object) -> bytes:
    hash_name = "sm3" if signer.key.kind is KeyKind.SM2 else "sha256"
    return sign_detached(
        digest(hash_name, content),
        signer.key,
        signer.certificate,
        (signer.ca.certificate,),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("kind", [KeyKind.SM2, KeyKind.ECDSA_P256, KeyKind.RSA_2048])
def test_detached_signature_passes_and_is_recognised(world: World, kind: KeyKind) -> None:
    """Its status is asked of the CA's OCSP responder: without the responder (offline)
    the same file is undecided for want of revocation data."""
    signer = world.firm(kind)
    container = _sign(signer)
    report = verify_detached_cms(container, CONTENT, "c.p7s", world.federation, JURISDICTIONS)
    (sig,) = report.signatures
    assert sig.indication is Indication.TOTAL_PASSED, sig.details
    assert {j: r.recognised for j, r in sig.recognition.items()} == {
        "SZ": True,
        "HK": True,
        "MO": False,
    }
    offline = federation_context(world.federation, fetch=False)
    (sig,) = verify_detached_cms(
        container, CONTENT, "c.p7s", world.federation, JURISDICTIONS, context=offline
    ).signatures
    assert (sig.indication, sig.sub_indication) == (Indication.INDETERMINATE, "TRY_LATER")


def test_signer_under_an_issuing_ca_chains_to_the_listed_root(world: World) -> None:
    """A .p7s from a mainland CA that issues from a subordinate: the issuing CA travels
    in the CMS and links the SM2 signer to the root the trust list names."""
    issuing_key = generate_key(KeyKind.SM2)
    issuing = CertificateAuthority(
        certificate=world.sm2_ca.issue(
            ca_name("SZ Issuing SM2 CA", "SealBridge Test", "CN"),
            issuing_key.public_key_info,
            profiles.SUB_CA,
            not_before=world.now - timedelta(days=60),
        ),
        key=issuing_key,
    )
    indication, text = _verify(
        world, _sign(world.issue(issuing, KeyKind.SM2, "深圳市二级签发示例有限公司"))
    )
    assert indication is Indication.TOTAL_PASSED, text


def test_other_content_is_hash_failure(world: World) -> None:
    indication, text = _verify(world, _sign(world.firm(KeyKind.SM2)), CONTENT + b"!")
    assert indication is Indication.TOTAL_FAILED
    assert text.endswith("HASH_FAILURE")


def test_flipped_signature_is_crypto_failure(world: World) -> None:
    container = _sign(world.firm(KeyKind.SM2))
    info = cms.ContentInfo.load(container)
    value = bytearray(info["content"]["signer_infos"][0]["signature"].native)
    value[-1] ^= 1
    info["content"]["signer_infos"][0]["signature"] = bytes(value)
    indication, text = _verify(world, info.dump(force=True))
    assert indication is Indication.TOTAL_FAILED
    assert text.endswith("SIG_CRYPTO_FAILURE")


def test_revoked_signer_is_revoked(world: World) -> None:
    signer = world.firm(KeyKind.SM2, "深圳市已吊销示例有限公司")
    world.sm2_ca.revoke(signer.certificate, at=world.now - timedelta(days=1))
    indication, text = _verify(world, _sign(signer))
    assert indication is Indication.TOTAL_FAILED
    assert text.endswith("REVOKED")


def test_unlisted_ca_is_indeterminate(world: World) -> None:
    signer = world.issue(world.stranger_ca, KeyKind.SM2, "Stranger Ltd")
    indication, text = _verify(world, _sign(signer))
    assert indication is Indication.INDETERMINATE
    assert text.endswith("NO_CERTIFICATE_CHAIN_FOUND")


def test_timestamped_signature_is_b_t(world: World) -> None:
    signer = world.firm(KeyKind.SM2)
    report = verify_detached_cms(
        _sign(signer, timestamper=world.timestamper),
        CONTENT,
        "c.p7s",
        world.federation,
        JURISDICTIONS,
    )
    (sig,) = report.signatures
    assert sig.indication is Indication.TOTAL_PASSED, sig.details
    assert sig.level == "B-T"
    assert any("by a trusted TSA" in line for line in sig.details)


@pytest.mark.parametrize("data", [b"", b"not cms", bytes(range(256))])
def test_garbage_is_malformed_input(world: World, data: bytes) -> None:
    with pytest.raises(MalformedInput, match="malformed CMS signature"):
        verify_detached_cms(data, CONTENT, "g.p7s", world.federation, ["SZ"])


@pytest.mark.skipif(not OPENSSL, reason="openssl not installed")
def test_openssl_cades_signature_verifies(world: World, tmp_path: Path) -> None:
    """A CAdES signature made by ``openssl cms -sign -cades``, not by us."""
    signer = world.firm(KeyKind.ECDSA_P256, "深圳市开放示例有限公司")
    key: KeyHandle = signer.key
    assert isinstance(key, SoftwareKey)
    (tmp_path / "key.pem").write_bytes(key.private_key_pem(b"test-pass"))
    (tmp_path / "cert.pem").write_bytes(pem.armor("CERTIFICATE", signer.certificate.dump()))
    (tmp_path / "content.bin").write_bytes(CONTENT)
    subprocess.run(
        [
            "openssl",
            "cms",
            "-sign",
            "-binary",
            "-cades",
            "-md",
            "sha256",
            "-in",
            str(tmp_path / "content.bin"),
            "-signer",
            str(tmp_path / "cert.pem"),
            "-inkey",
            str(tmp_path / "key.pem"),
            "-passin",
            "pass:test-pass",
            "-outform",
            "DER",
            "-out",
            str(tmp_path / "sig.p7s"),
        ],
        check=True,
        capture_output=True,
    )
    indication, text = _verify(world, (tmp_path / "sig.p7s").read_bytes())
    assert indication is Indication.TOTAL_PASSED, text
    assert "signing-certificate-v2 (sha256) names the signer's certificate" in text


def test_a_detached_signature_file_is_verified_over_the_file_beside_it(
    world: World, tmp_path: Path
) -> None:
    """``sealbridge verify contract.pdf.p7s`` checks it over ``contract.pdf``."""
    signer = world.firm(KeyKind.ECDSA_P256, "深圳市旁签示例有限公司")
    (tmp_path / "contract.pdf").write_bytes(CONTENT)
    (tmp_path / "contract.pdf.p7s").write_bytes(_sign(signer))
    (tmp_path / "orphan.p7s").write_bytes(_sign(signer))
    options = Options(tmp_path, tuple(JURISDICTIONS), DEFAULT_POLICY)
    verifiers = Verifiers.build(options, federation=world.federation)
    good = verify_one(Input(tmp_path / "contract.pdf.p7s", named=True), verifiers, DEFAULT_POLICY)
    assert good.report is not None, good.error
    (sig,) = good.report.signatures
    assert (sig.kind, sig.indication) == (SignatureKind.CMS, Indication.TOTAL_PASSED)
    (tmp_path / "contract.pdf").write_bytes(CONTENT + b"changed")
    tampered = verify_one(
        Input(tmp_path / "contract.pdf.p7s", named=True), verifiers, DEFAULT_POLICY
    )
    assert tampered.report is not None
    assert tampered.report.signatures[0].indication is Indication.TOTAL_FAILED
    orphan = verify_one(Input(tmp_path / "orphan.p7s", named=True), verifiers, DEFAULT_POLICY)
    assert orphan.report is None and "content file orphan is not beside" in (orphan.error or "")
