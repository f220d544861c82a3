"""Keys generated and used inside a PKCS#11 token (an HSM; SoftHSM2 in tests).

The private key is created on the token as sensitive and non-extractable, so no code
path, ours included, can read it back: SealBridge only ever holds an object handle and
asks the token to sign. ``Pkcs11Key`` is a ``KeyHandle``, so certificate issuance, PDF
signing and every other signer use token keys exactly like software keys.

RSA (2048, 3072) and ECDSA (P-256, P-384) only: SM2 has no standard PKCS#11 mechanism
and SoftHSM2 implements none, so SM2 keys belong in a ``FileKeyStore``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import pkcs11
from asn1crypto import algos, core, keys
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.util.ec import encode_named_curve_parameters

from sealbridge.crypto.algorithms import KeyKind, default_signature_algorithm
from sealbridge.errors import KeyStoreError, UnsupportedAlgorithm

_RSA_BITS = {KeyKind.RSA_2048: 2048, KeyKind.RSA_3072: 3072}
_EC_CURVES = {KeyKind.ECDSA_P256: "secp256r1", KeyKind.ECDSA_P384: "secp384r1"}

# RSA: the token hashes and pads (CKM_SHA*_RSA_PKCS), the data never needs splitting.
_RSA_MECHANISMS = {
    "sha256_rsa": Mechanism.SHA256_RSA_PKCS,
    "sha384_rsa": Mechanism.SHA384_RSA_PKCS,
    "sha512_rsa": Mechanism.SHA512_RSA_PKCS,
}
# ECDSA: many tokens implement only raw CKM_ECDSA, so the (public) hash is computed here.
_ECDSA_HASHES = {"sha256_ecdsa": "sha256", "sha384_ecdsa": "sha384", "sha512_ecdsa": "sha512"}

_SM2_REASON = (
    "SM2 keys cannot live on a PKCS#11 token here: SM2 has no standard PKCS#11 mechanism "
    "and SoftHSM2 implements none; keep SM2 keys in a FileKeyStore"
)


class _Session:
    """The one PKCS#11 session of a token, serialised by a lock.

    A PKCS#11 session runs one operation at a time (C_SignInit/C_Sign from two threads
    would fail with CKR_OPERATION_ACTIVE), and python-pkcs11 releases the GIL around
    every call, so all use of the session goes through ``use``. It also turns every
    PKCS#11 error into a ``KeyStoreError`` that names the token and the action.
    """

    def __init__(self, token_label: str) -> None:
        self.token_label = token_label
        self.lock = threading.Lock()
        self.session: pkcs11.Session | None = None

    @contextmanager
    def use(self, action: str) -> Iterator[pkcs11.Session]:
        with self.lock:
            if self.session is None:
                raise KeyStoreError(f"token {self.token_label!r} is not open: cannot {action}")
            try:
                yield self.session
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(
                    f"token {self.token_label!r} cannot {action}: {_describe(exc)}"
                ) from exc


class Pkcs11Key:
    """A key pair on a token: the public half read out, the private half only used."""

    __slots__ = ("_kind", "_label", "_private", "_public_info", "_session")

    def __init__(
        self,
        session: _Session,
        label: str,
        private: pkcs11.SignMixin,
        kind: KeyKind,
        public_info: keys.PublicKeyInfo,
    ) -> None:
        self._session = session
        self._label = label
        self._private = private
        self._kind = kind
        self._public_info = public_info

    @property
    def label(self) -> str:
        return self._label

    @property
    def kind(self) -> KeyKind:
        return self._kind

    @property
    def public_key_info(self) -> keys.PublicKeyInfo:
        return self._public_info

    def default_signature_algorithm(self) -> algos.SignedDigestAlgorithm:
        return default_signature_algorithm(self._kind)

    def sign(self, data: bytes, algorithm: algos.SignedDigestAlgorithm) -> bytes:
        """Sign ``data`` on the token: PKCS#1 v1.5 for RSA, DER (r, s) for ECDSA."""
        name = algorithm["algorithm"].native
        action = f"sign with key {self._label!r}"
        if self._kind in _RSA_BITS and name in _RSA_MECHANISMS:
            with self._session.use(action):
                return self._private.sign(data, mechanism=_RSA_MECHANISMS[name])
        if self._kind in _EC_CURVES and name in _ECDSA_HASHES:
            digest = hashlib.new(_ECDSA_HASHES[name], data).digest()
            with self._session.use(action):
                raw = self._private.sign(digest, mechanism=Mechanism.ECDSA)
            # PKCS#11 returns r || s (IEEE P1363); X.509, CMS and PAdES want DER.
            return algos.DSASignature.from_p1363(raw).dump()
        raise UnsupportedAlgorithm(f"{self._kind.value} token key cannot sign with {name}")


class Pkcs11Token:
    """A logged-in session on one token of a PKCS#11 module; use as a context manager.

    PKCS#11 keeps login state per process and token, so one ``Pkcs11Token`` per token
    per process: a second one on a token already logged in is refused rather than
    silently sharing the first one's login. The module itself stays loaded after
    ``close`` because python-pkcs11 loads a module only once per process.
    """

    def __init__(self, module: str | os.PathLike[str], token_label: str, user_pin: str) -> None:
        self._module = os.fspath(module)
        self._pin = user_pin
        self._session = _Session(token_label)

    @property
    def label(self) -> str:
        return self._session.token_label

    def open(self) -> None:
        """Load the module, find the token by label and log in as the user."""
        label = self._session.token_label
        with self._session.lock:
            if self._session.session is not None:
                return
            try:
                lib = pkcs11.lib(self._module)
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(
                    f"PKCS#11 module {self._module} cannot be loaded: {_describe(exc)}"
                ) from exc
            try:
                token = lib.get_token(token_label=label)
            except pkcs11.NoSuchToken as exc:
                raise KeyStoreError(
                    f"no token labelled {label!r} in PKCS#11 module {self._module}"
                ) from exc
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(
                    f"token {label!r} in {self._module} is unusable: {_describe(exc)}"
                ) from exc
            try:
                self._session.session = token.open(rw=True, user_pin=self._pin)
            except (pkcs11.PinIncorrect, pkcs11.PinLenRange, pkcs11.PinInvalid) as exc:
                raise KeyStoreError(f"wrong user PIN for token {label!r}") from exc
            except pkcs11.PinLocked as exc:
                raise KeyStoreError(f"user PIN of token {label!r} is locked") from exc
            except pkcs11.UserAlreadyLoggedIn as exc:
                raise KeyStoreError(
                    f"token {label!r} is already logged in by this process; "
                    "share its open Pkcs11Token"
                ) from exc
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(f"cannot log in to token {label!r}: {_describe(exc)}") from exc

    def close(self) -> None:
        """Log out and close the session; keys found through this token stop working.

        Their object handles belong to the closed session, so a reopened token starts
        a new ``_Session`` and the old keys keep reporting "not open".
        """
        closing = self._session
        with closing.lock:
            session, closing.session = closing.session, None
            self._session = _Session(closing.token_label)
            if session is None:
                return
            try:
                session.close()
            except pkcs11.PKCS11Error as exc:
                raise KeyStoreError(
                    f"cannot close session on token {self.label!r}: {_describe(exc)}"
                ) from exc

    def __enter__(self) -> Pkcs11Token:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def generate_key(self, kind: KeyKind, label: str) -> Pkcs11Key:
        """Generate a key pair on the token, the private key sensitive and non-extractable.

        Both halves get the label and one random CKA_ID, the PKCS#11 convention that
        pairs them (and, later, a certificate object) whatever tool reads the token.
        The key pair may only sign: decryption, unwrapping and derivation are off.
        """
        if kind is KeyKind.SM2:
            raise UnsupportedAlgorithm(_SM2_REASON)
        if not label:
            raise KeyStoreError("a token key needs a non-empty label")
        public_template: dict[Attribute, Any] = {Attribute.PRIVATE: False}
        if kind in _EC_CURVES:
            key_type, key_length = KeyType.EC, None
            public_template[Attribute.EC_PARAMS] = encode_named_curve_parameters(_EC_CURVES[kind])
        else:
            key_type, key_length = KeyType.RSA, _RSA_BITS[kind]
        with self._session.use(f"generate {kind.value} key {label!r}") as session:
            if _find(session, ObjectClass.PRIVATE_KEY, label=label) is not None:
                raise KeyStoreError(f"token {self.label!r} already has a key labelled {label!r}")
            _, private = session.generate_keypair(
                key_type,
                key_length,
                id=os.urandom(16),
                label=label,
                store=True,
                capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
                public_template=public_template,
                private_template={
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                },
            )
            return self._key(session, label, private)

    def find_key(self, label: str) -> Pkcs11Key:
        """The key pair labelled ``label`` on this token."""
        with self._session.use(f"find key {label!r}") as session:
            private = _find(session, ObjectClass.PRIVATE_KEY, label=label)
            if private is None:
                raise KeyStoreError(f"token {self.label!r} has no key labelled {label!r}")
            return self._key(session, label, private)

    def _key(self, session: pkcs11.Session, label: str, private: pkcs11.Object) -> Pkcs11Key:
        if not isinstance(private, pkcs11.SignMixin):
            raise KeyStoreError(f"key {label!r} on token {self.label!r} is not a signing key")
        public = _find(session, ObjectClass.PUBLIC_KEY, key_id=private[Attribute.ID])
        if public is None:
            raise KeyStoreError(f"key {label!r} on token {self.label!r} has no public key object")
        kind, info = _public_key_info(public, label)
        return Pkcs11Key(self._session, label, private, kind, info)


def _find(
    session: pkcs11.Session,
    object_class: ObjectClass,
    *,
    label: str | None = None,
    key_id: bytes | None = None,
) -> pkcs11.Object | None:
    """The one object of a class with this label or CKA_ID; ambiguity is an error."""
    attrs: dict[Attribute, Any] = {Attribute.CLASS: object_class}
    if label is not None:
        attrs[Attribute.LABEL] = label
    if key_id is not None:
        attrs[Attribute.ID] = key_id
    found = list(session.get_objects(attrs))
    if len(found) > 1:
        raise KeyStoreError(
            f"{len(found)} {object_class.name.lower()} objects match {label or key_id!r}; "
            "labels and IDs of token keys must be unique"
        )
    return found[0] if found else None


def _public_key_info(public: pkcs11.Object, label: str) -> tuple[KeyKind, keys.PublicKeyInfo]:
    """Rebuild the SubjectPublicKeyInfo from the public key object's attributes."""
    key_type = public[Attribute.KEY_TYPE]
    if key_type == KeyType.RSA:
        modulus = int.from_bytes(public[Attribute.MODULUS], "big")
        kind = {2048: KeyKind.RSA_2048, 3072: KeyKind.RSA_3072}.get(modulus.bit_length())
        if kind is None:
            raise UnsupportedAlgorithm(f"token key {label!r} is RSA-{modulus.bit_length()}")
        rsa_key = keys.RSAPublicKey(
            {
                "modulus": modulus,
                "public_exponent": int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
            }
        )
        # RFC 3279: rsaEncryption carries explicit NULL parameters.
        algorithm = {"algorithm": "rsa", "parameters": core.Null()}
        return kind, keys.PublicKeyInfo({"algorithm": algorithm, "public_key": rsa_key})
    if key_type == KeyType.EC:
        params = keys.ECDomainParameters.load(public[Attribute.EC_PARAMS])
        curve = params.chosen.native if params.name == "named" else None
        kinds = {name: kind for kind, name in _EC_CURVES.items()}
        if curve not in kinds:
            raise UnsupportedAlgorithm(f"token key {label!r} is on unsupported curve {curve}")
        # CKA_EC_POINT is the DER encoding of an OCTET STRING holding the point.
        point = core.OctetString.load(public[Attribute.EC_POINT]).native
        return kinds[curve], keys.PublicKeyInfo(
            {"algorithm": {"algorithm": "ec", "parameters": params}, "public_key": point}
        )
    raise UnsupportedAlgorithm(f"token key {label!r} has unsupported key type {key_type!r}")


def _describe(exc: pkcs11.PKCS11Error) -> str:
    """python-pkcs11 errors often have an empty message; the class name is the CKR code."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
