"""Bad bytes give MalformedInput naming what is wrong, and never any other exception."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealbridge.errors import MalformedInput
from sealbridge.seals import asn1, decode_seal, decode_stamp, verify_seal, verify_stamp

# SEAL_FUZZ_EXAMPLES raises the example count for a longer fuzzing run by hand.
FUZZ = settings(
    max_examples=int(os.environ.get("SEAL_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _rebuild(der: bytes, change: Callable[[Any], None]) -> bytes:
    seal = asn1.SESeal.load(der)
    change(seal)
    return bytes(seal.dump(force=True))


def _set_header_version(seal: Any) -> None:
    seal["e_seal_info"]["header"]["version"] = 3


def _set_header_id(seal: Any) -> None:
    seal["e_seal_info"]["header"]["id"] = "XX"


def _set_algorithm(seal: Any) -> None:
    seal["sign_alg_id"] = "1.2.840.113549.1.1.5"  # sha1WithRSA: not for seals


def _set_picture_type(seal: Any) -> None:
    seal["e_seal_info"]["picture"]["type"] = "TXT"


def _set_picture_data(seal: Any) -> None:
    seal["e_seal_info"]["picture"]["data"] = b"GIF89a not really a png"


def _set_picture_huge(seal: Any) -> None:
    seal["e_seal_info"]["picture"]["data"] = b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024)


def _set_picture_size(seal: Any) -> None:
    seal["e_seal_info"]["picture"]["width"] = -40


def _set_cert_list_type(seal: Any) -> None:
    seal["e_seal_info"]["property"]["cert_list_type"] = 3


def _set_maker_certificate(seal: Any) -> None:
    seal["cert"] = b"\x30\x03\x02\x01\x00"


@pytest.mark.parametrize(
    ("change", "what", "reason"),
    [
        (_set_header_version, "electronic seal", "unknown version 3"),
        (_set_header_id, "seal header", "not 'ES'"),
        (_set_algorithm, "seal signature algorithm", "1.2.840.113549.1.1.5 is not a signature"),
        (_set_picture_type, "seal picture", "'TXT' is not an image type"),
        (_set_picture_data, "seal picture", "not a PNG image"),
        (_set_picture_huge, "seal picture", "more than the 2097152 allowed"),
        (_set_picture_size, "seal picture", "implausible"),
        (_set_cert_list_type, "seal certificate list", "unknown certListType 3"),
        (_set_maker_certificate, "seal maker certificate", "not an X.509 certificate"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_named_defects(
    seal_der: bytes, change: Callable[[Any], None], what: str, reason: str
) -> None:
    bad = _rebuild(seal_der, change)
    with pytest.raises(MalformedInput) as caught:
        decode_seal(bad)
    assert caught.value.what == what
    assert reason in caught.value.reason
    result = verify_seal(bad)
    assert result.failed_step == "parse"
    assert reason in result.checks[0].detail


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty input"),
        (b"\x04\x00", "not a DER SEQUENCE"),
        (b"\x30", "length is missing"),
        (b"\x30\x80\x00\x00", "indefinite length"),
        (b"\x30\x85\x01\x00\x00\x00\x00", "implausible"),
        (b"\x30\x82\x01", "inside the length"),
        (b"\x30\x00\x00", "follow the DER value"),
        (b"\x30\x03\x02\x01\x07", "no version number"),
    ],
)
def test_framing_defects(data: bytes, reason: str) -> None:
    for decode in (decode_seal, decode_stamp):
        with pytest.raises(MalformedInput, match=reason):
            decode(data)


def test_truncated_seal_says_so(seal_der: bytes) -> None:
    with pytest.raises(MalformedInput, match="truncated: declares"):
        decode_seal(seal_der[:-1])


def test_a_stamp_is_not_a_seal(seal_der: bytes) -> None:
    with pytest.raises(MalformedInput, match="electronic stamp"):
        decode_stamp(seal_der)


def _only_malformed(data: bytes) -> None:
    for decode in (decode_seal, decode_stamp):
        with contextlib.suppress(MalformedInput):
            decode(data)
    verify_seal(data)
    verify_stamp(data)


@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    for decode in (decode_seal, decode_stamp):
        with pytest.raises(MalformedInput):
            decode(data)
    assert verify_seal(data).failed_step == "parse"
    assert verify_stamp(data).failed_step == "parse"


@FUZZ
@given(data=st.binary(max_size=64))
def test_random_bytes_in_a_sequence(data: bytes) -> None:
    # Past the framing checks, so the ASN.1 decoding itself is exercised.
    framed = bytes([0x30, len(data)]) + data if len(data) < 0x80 else b""
    for decode in (decode_seal, decode_stamp):
        with pytest.raises(MalformedInput):
            decode(framed)


@FUZZ
@given(choice=st.integers(min_value=0, max_value=4), cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_vectors(fuzz_vectors: tuple[bytes, ...], choice: int, cut: float) -> None:
    data = fuzz_vectors[choice % len(fuzz_vectors)]
    short = data[: int(len(data) * cut)]
    for decode in (decode_seal, decode_stamp):
        with pytest.raises(MalformedInput):
            decode(short)


@FUZZ
@given(
    choice=st.integers(min_value=0, max_value=4),
    edits=st.lists(
        st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_vectors(
    fuzz_vectors: tuple[bytes, ...], choice: int, edits: list[tuple[float, int]]
) -> None:
    data = bytearray(fuzz_vectors[choice % len(fuzz_vectors)])
    for where, value in edits:
        data[int(where * len(data))] = value
    _only_malformed(bytes(data))


@FUZZ
@given(
    choice=st.integers(min_value=0, max_value=4),
    edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=3),
)
def test_mutated_structure(
    fuzz_vectors: tuple[bytes, ...], choice: int, edits: list[tuple[int, int]]
) -> None:
    # The first few hundred bytes hold the headers, identifiers, names and dates,
    # where a changed byte most often changes the structure rather than picture data.
    data = bytearray(fuzz_vectors[choice % len(fuzz_vectors)])
    for where, value in edits:
        data[where % len(data)] = value
    _only_malformed(bytes(data))
