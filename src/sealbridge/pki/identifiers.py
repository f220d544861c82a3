"""Registry identifiers of firms, checked before they go into a certificate.

A typo in a unified social credit code would bind a certificate to the wrong firm, so the
GB 32100-2015 check character is verified, and generated for demo firms.
"""

from __future__ import annotations

import re

from sealbridge.errors import MalformedInput

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_HK_BRN_SHAPE = re.compile(r"^\d{8}$")


def uscc_check_character(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015, clause 5)."""
    if len(first17) != 17 or any(c not in _USCC_ALPHABET for c in first17):
        raise MalformedInput("unified social credit code", "needs 17 characters from the code set")
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return the code if it is a well-formed USCC with the right check character."""
    code = code.strip().upper()
    if len(code) != 18:
        raise MalformedInput("unified social credit code", f"{len(code)} characters, not 18")
    if not _USCC_SHAPE.match(code):
        raise MalformedInput(
            "unified social credit code", "characters outside the GB 32100 code set"
        )
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise MalformedInput(
            "unified social credit code", f"check character is {code[17]}, expected {expected}"
        )
    return code


def validate_hk_brn(number: str) -> str:
    """Return the Hong Kong business registration number (8 digits) if well-formed."""
    number = number.strip()
    if not _HK_BRN_SHAPE.match(number):
        raise MalformedInput("Hong Kong business registration number", "must be 8 digits")
    return number
