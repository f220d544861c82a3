"""Registry identifiers: GB 32100-2015 check characters and Hong Kong BR numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealbridge.errors import MalformedInput
from sealbridge.pki.identifiers import uscc_check_character, validate_hk_brn, validate_uscc

# Codes published by their holders (public registry data).
KNOWN_VALID_USCC = ["91350100M000100Y43", "91110000100006485K", "914403001922038216"]


@pytest.mark.parametrize("code", KNOWN_VALID_USCC)
def test_known_codes_validate(code: str) -> None:
    assert validate_uscc(code.lower()) == code


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y44", "check character is 4, expected 3"),
        ("91350100M000100Y4", "17 characters"),
        ("91350100M00010OY43", "code set"),
    ],
)
def test_bad_codes_name_the_problem(code: str, reason: str) -> None:
    with pytest.raises(MalformedInput, match=reason):
        validate_uscc(code)


ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@given(st.text(alphabet=ALPHABET, min_size=17, max_size=17).filter(lambda s: s[2:8].isdigit()))
def test_any_single_substitution_is_caught(first17: str) -> None:
    code = first17 + uscc_check_character(first17)
    assert validate_uscc(code) == code
    wrong = ALPHABET[(ALPHABET.index(code[-1]) + 1) % 31]
    with pytest.raises(MalformedInput):
        validate_uscc(code[:-1] + wrong)


def test_hk_brn() -> None:
    assert validate_hk_brn(" 12345678 ") == "12345678"
    with pytest.raises(MalformedInput, match="8 digits"):
        validate_hk_brn("1234567A")
