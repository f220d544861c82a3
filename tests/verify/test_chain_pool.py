"""The certificates a file's CMSes carry, as path building gets them: each certificate
once (the object the trust list or the DSS already holds), never one that cannot be
read, and never the certificate being validated itself."""

from __future__ import annotations

from asn1crypto import x509

from sealbridge.crypto.algorithms import KeyKind
from sealbridge.verify.chain import CertificatePool
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
