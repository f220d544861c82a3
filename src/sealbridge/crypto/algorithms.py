"""Algorithm identifiers, including the Chinese national algorithms (SM2, SM3).

asn1crypto and pyHanko know algorithms by name; registering the SM OIDs here, once, lets
the rest of the code speak of ``sm3`` and ``sm2_sm3`` like any other algorithm.
"""

from __future__ import annotations

import hashlib
import importlib
from enum import StrEnum

from asn1crypto import algos, cms, keys

from sealbridge.errors import UnsupportedAlgorithm

SM2_CURVE_OID = "1.2.156.10197.1.301"
SM2_SIGNATURE_OID = "1.2.156.10197.1.301.1"
SM3_OID = "1.2.156.10197.1.401"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
SM4_OID = "1.2.156.10197.1.104"
GM_CMS_DATA_OID = "1.2.156.10197.6.1.4.2.1"
GM_CMS_SIGNED_DATA_OID = "1.2.156.10197.6.1.4.2.2"


def _register_sm_oids() -> None:
    if SM2_CURVE_OID not in keys.NamedCurve._map:
        keys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, 32)
    algos.DigestAlgorithmId._map.setdefault(SM3_OID, "sm3")
    algos.SignedDigestAlgorithmId._map.setdefault(SM2_WITH_SM3_OID, "sm2_sm3")
    algos.SignedDigestAlgorithmId._map.setdefault(SM2_SIGNATURE_OID, "sm2")
    cms.ContentType._map.setdefault(GM_CMS_DATA_OID, "gm_data")
    cms.ContentType._map.setdefault(GM_CMS_SIGNED_DATA_OID, "gm_signed_data")
    # pyHanko names ISO 32004's PDF MAC attribute when its pdfmac module is first
    # imported, and if asn1crypto's name-to-OID map was already built it adds the entry
    # the wrong way round: from then on the attribute's own OID cannot be parsed and
    # signing encrypted PDFs fails. Importing it here, then rebuilding the maps from the
    # names (asn1crypto builds them once per class), makes the import order harmless.
    importlib.import_module("pyhanko.pdf_utils.crypt.pdfmac")
    for spec in (
        algos.DigestAlgorithmId,
        algos.SignedDigestAlgorithmId,
        cms.ContentType,
        cms.CMSAttributeType,
    ):
        spec._reverse_map = {name: oid for oid, name in spec._map.items()}


_register_sm_oids()


class KeyKind(StrEnum):
    """Key families SealBridge issues certificates for."""

    RSA_2048 = "rsa2048"
    RSA_3072 = "rsa3072"
    ECDSA_P256 = "ecdsa-p256"
    ECDSA_P384 = "ecdsa-p384"
    SM2 = "sm2"

    @property
    def family(self) -> str:
        return self.value.split("-")[0].rstrip("0123456789")


def digest(hash_name: str, data: bytes) -> bytes:
    """Hash with SHA-2 or SM3 by asn1crypto name."""
    try:
        return hashlib.new(hash_name, data).digest()
    except ValueError as exc:
        raise UnsupportedAlgorithm(f"hash algorithm {hash_name!r} is not available") from exc


def sm3(data: bytes) -> bytes:
    return digest("sm3", data)


def signature_algorithm(name: str) -> algos.SignedDigestAlgorithm:
    """asn1crypto algorithm identifier for a signature algorithm name.

    SM2-with-SM3 carries NULL parameters in certificates (GM/T 0015); ECDSA carries none.
    """
    if name == "sm2_sm3":
        return algos.SignedDigestAlgorithm({"algorithm": name, "parameters": None})
    return algos.SignedDigestAlgorithm({"algorithm": name})


_DEFAULT_SIGNATURE = {
    KeyKind.RSA_2048: "sha256_rsa",
    KeyKind.RSA_3072: "sha256_rsa",
    KeyKind.ECDSA_P256: "sha256_ecdsa",
    KeyKind.ECDSA_P384: "sha384_ecdsa",
    KeyKind.SM2: "sm2_sm3",
}


def default_signature_algorithm(kind: KeyKind) -> algos.SignedDigestAlgorithm:
    """The algorithm a key of this kind signs with unless asked otherwise."""
    return signature_algorithm(_DEFAULT_SIGNATURE[kind])


def hash_of_signature_algorithm(algo: algos.SignedDigestAlgorithm) -> str:
    name = algo["algorithm"].native
    if name in ("sm2_sm3", "sm2"):
        return "sm3"
    try:
        return str(algo.hash_algo)
    except ValueError as exc:
        raise UnsupportedAlgorithm(f"signature algorithm {name!r} is not supported") from exc
