"""The certificates a file's CMSes carry, as path building gets them: each certificate
once (the object the trust list or the DSS already holds), never one that cannot be
read, and never the certificate being validated itself; and names compared in the form
RFC 4518 prepares, prepared once per file, exactly as asn1crypto prepares them."""

from __future__ import annotations

import pytest
from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.crypto.keys import generate_key
from sealbridge.pki.issuer import CertificateAuthority
from sealbridge.pki.names import ca_name
from sealbridge.verify.chain import (
    CertificatePool,
    Usage,
    online_context,
    run_to_completion,
    validate_chain,
)
from support.pki import demo_ca, enterprise


def _reparsed(certificate: x509.Certificate) -> x509.Certificate:
    """The same certificate as a CMS's bag would hand it over: a new object."""
    return x509.Certificate.load(certificate.dump())


def _mangled(certificate: x509.Certificate) -> x509.Certificate:
    """A certificate whose outer structure parses but whose subject does not: anyone can
    put such bytes in the unsigned certificate bag."""
    der = bytearray(certificate.dump())
    subject = certificate["tbs_certificate"]["subject"].dump()
    at = der.index(subject)
    der[at] = 0x04  # an OCTET STRING where the subject's SEQUENCE belongs
    return x509.Certificate.load(bytes(der))


def test_a_known_certificate_comes_back_as_the_known_object() -> None:
    ca = demo_ca("Pool", KeyKind.ECDSA_P256)
    signer = enterprise(ca, "Pool Firm", KeyKind.ECDSA_P256)
    pool = CertificatePool([ca.certificate])
    first = pool.usable(
        [_reparsed(signer.certificate), _reparsed(ca.certificate)], signer.certificate
    )
    again = pool.usable([_reparsed(ca.certificate)], signer.certificate)
    assert [c.dump() for c in first] == [ca.certificate.dump()]
    assert first[0] is ca.certificate and again[0] is ca.certificate


def test_an_unknown_certificate_is_shared_once_read() -> None:
    ca = demo_ca("Pool", KeyKind.ECDSA_P256)
    signer = enterprise(ca, "Pool Firm", KeyKind.ECDSA_P256)
    pool = CertificatePool()
    first = pool.usable([_reparsed(ca.certificate)], signer.certificate)
    second = pool.usable([_reparsed(ca.certificate)], signer.certificate)
    assert second[0] is first[0]


def test_an_unreadable_certificate_is_left_out_every_time() -> None:
    ca = demo_ca("Pool", KeyKind.ECDSA_P256)
    signer = enterprise(ca, "Pool Firm", KeyKind.ECDSA_P256)
    broken = _mangled(ca.certificate)
    pool = CertificatePool()
    assert pool.usable([broken, _reparsed(ca.certificate)], signer.certificate)[0].dump() == (
        ca.certificate.dump()
    )
    assert len(pool.usable([broken], signer.certificate)) == 0


# Names whose preparation is not the identity: a soft hyphen mapped away, full-width
# letters and a compatibility ideograph folded by NFKC, runs of spaces, Chinese.
_AWKWARD = ["Ｓｏｆｔ\u00adＨｙｐｈｅｎ  Co", "深圳市\uf900示例  有限公司", "Plain Co"]


@pytest.mark.parametrize("legal_name", _AWKWARD)
def test_shared_preparation_equals_asn1cryptos_own(legal_name: str) -> None:
    ca = CertificateAuthority.create_root(
        ca_name(f"{legal_name} CA", legal_name, "CN"), generate_key(KeyKind.ECDSA_P256)
    )
    first = enterprise(ca, legal_name, KeyKind.ECDSA_P256).certificate
    second = enterprise(ca, legal_name, KeyKind.ECDSA_P256).certificate
    pool = CertificatePool([ca.certificate])
    pool.share_names(_reparsed(first))
    shared = _reparsed(second)
    pool.share_names(shared)
    fresh = _reparsed(second)
    assert (
        shared.issuer.hashable
        == fresh.issuer.hashable
        == _reparsed(ca.certificate).subject.hashable
    )
    assert shared.subject.hashable == fresh.subject.hashable


def test_a_second_signer_of_the_same_ca_prepares_only_its_own_attributes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issuer name and the country a file's signers share are prepared once: the
    second signer's stringprep runs for its own organisation and common name alone."""
    ca = demo_ca("Pool", KeyKind.ECDSA_P256)
    pool = CertificatePool([ca.certificate])
    pool.share_names(_reparsed(enterprise(ca, "First Firm", KeyKind.ECDSA_P256).certificate))
    second = _reparsed(enterprise(ca, "Second Firm", KeyKind.ECDSA_P256).certificate)
    prepared: list[str] = []
    real = x509.NameTypeAndValue._ldap_string_prep

    def counted(self: x509.NameTypeAndValue, string: str) -> str:
        prepared.append(string)
        return real(self, string)  # type: ignore[no-any-return]

    monkeypatch.setattr(x509.NameTypeAndValue, "_ldap_string_prep", counted)
    pool.share_names(second)
    second.issuer.hashable  # noqa: B018  (what path building asks for)
    second.subject.hashable  # noqa: B018
    assert sorted(prepared) == ["Second Firm", "Second Firm"]


def test_signers_sharing_a_pool_still_chain_and_an_unpreparable_name_is_a_chain_failure() -> None:
    ca = demo_ca("Pool", KeyKind.ECDSA_P256)
    context = online_context([ca.certificate], fetch=False)
    pool = CertificatePool([ca.certificate])
    for legal_name in _AWKWARD:
        signer = enterprise(ca, legal_name, KeyKind.ECDSA_P256).certificate
        outcome = validate_chain(
            _reparsed(signer), [ca.certificate], Usage.SIGNING, context, run_to_completion, pool
        )
        assert outcome.valid, outcome.detail
    # A private-use character is prohibited by RFC 4518: the name cannot be prepared.
    odd = enterprise(ca, "Private \ue000 Use Co", KeyKind.ECDSA_P256).certificate
    outcome = validate_chain(
        _reparsed(odd), [ca.certificate], Usage.SIGNING, context, run_to_completion, pool
    )
    assert not outcome.valid
    assert outcome.problem == "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    assert "cannot be read" in outcome.detail
