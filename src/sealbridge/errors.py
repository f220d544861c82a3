"""Typed errors: each says which input was wrong and why, so callers never see a traceback."""


class SealBridgeError(Exception):
    """Base of every error SealBridge raises on purpose."""


class MalformedInput(SealBridgeError):
    """Bytes or text that cannot be parsed as what they claim to be."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"malformed {what}: {reason}")
        self.what = what
        self.reason = reason


class UnsupportedAlgorithm(SealBridgeError):
    """An algorithm, curve or key type that SealBridge does not implement."""


class SignatureInvalid(SealBridgeError):
    """A cryptographic signature did not verify."""


class KeyStoreError(SealBridgeError):
    """A key could not be created, loaded or used from its store."""


class TrustError(SealBridgeError):
    """A trust list or recognition agreement is not acceptable."""


class NotAuthorised(SealBridgeError):
    """The caller may not perform this action (organisation, grant or role missing)."""
