"""The OFD zip reader refuses hostile packages with a typed error that names the problem."""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealbridge.documents.ofd.container import (
    OfdPackage,
    ZipLimits,
    read_package,
    resolve,
    write_package,
)
from sealbridge.documents.ofd.contract import OfdContract
from sealbridge.errors import MalformedInput

OFD_XML = (
    b'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>'
)
Zipped = Callable[[Mapping[str, bytes]], bytes]


def _raw_zip(names: list[str], content: bytes = b"x") -> bytes:
    """A zip written entry by entry, so names our writer would refuse can be made."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(zipfile.ZipInfo(name), content)
    return out.getvalue()


def test_round_trip_keeps_every_file(contract: OfdContract, entries_of: Callable) -> None:
    package = read_package(contract.ofd)
    assert dict(package.files) == entries_of(contract.ofd)
    again = read_package(write_package(package, modified=datetime(2026, 1, 1, tzinfo=UTC)))
    assert again.files == package.files


def test_interop_vectors_open(interop_dir: Path) -> None:
    for name in ("v4signed.ofd", "SESV4SignDoc.ofd"):
        package = read_package((interop_dir / name).read_bytes())
        assert "Doc_0/Signs/Sign_0/SignedValue.dat" in package


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "not a zip archive"),
        (b"%PDF-1.7 not a zip at all", "not a zip archive"),
        (b"PK\x03\x04" + b"\x00" * 40, "not a zip archive"),
    ],
)
def test_non_zip_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(MalformedInput, match=words):
        read_package(data)


def test_missing_ofd_xml_is_refused(zipped: Zipped) -> None:
    with pytest.raises(MalformedInput, match=r"no OFD\.xml"):
        read_package(zipped({"Doc_0/Document.xml": b"<x/>"}))


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("../evil.xml", r"'\.\.' path segment"),
        ("Doc_0/../../evil.xml", r"'\.\.' path segment"),
        ("/etc/passwd", "absolute path"),
        ("C:/Windows/evil.dll", "absolute path"),
        ("Doc_0\\..\\evil.xml", "absolute path"),
        ("Doc_0//Document.xml", "empty"),
    ],
)
def test_path_traversal_is_refused(name: str, words: str) -> None:
    with pytest.raises(MalformedInput, match=words):
        read_package(_raw_zip(["OFD.xml", name]))


def test_duplicate_names_are_refused() -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = _raw_zip(["OFD.xml", "Doc_0/Document.xml", "Doc_0/Document.xml"])
    with pytest.raises(MalformedInput, match="appears more than once"):
        read_package(data)


def test_names_differing_only_in_case_are_refused() -> None:
    with pytest.raises(MalformedInput, match="appears more than once"):
        read_package(_raw_zip(["OFD.xml", "Doc_0/Page.xml", "doc_0/page.xml"]))


def test_zip_bomb_by_ratio_is_refused(zipped: Zipped) -> None:
    bomb = zipped({"OFD.xml": OFD_XML, "Doc_0/Res/zeros.bin": bytes(2 * 1024 * 1024)})
    assert len(bomb) < 10_000
    with pytest.raises(MalformedInput, match=r"Doc_0/Res/zeros\.bin.*zip bomb"):
        read_package(bomb)


def test_entry_and_total_size_limits(zipped: Zipped) -> None:
    data = zipped({"OFD.xml": OFD_XML, "a.bin": bytes(600), "b.bin": bytes(600)})
    with pytest.raises(MalformedInput, match=r"'a\.bin' unpacks to 600 bytes"):
        read_package(data, ZipLimits(max_entry_bytes=500))
    with pytest.raises(MalformedInput, match="more than the 1000 bytes allowed"):
        read_package(data, ZipLimits(max_total_bytes=1000))


def test_entry_count_limit(zipped: Zipped) -> None:
    data = zipped({"OFD.xml": OFD_XML, **{f"f{i}.xml": b"<x/>" for i in range(20)}})
    with pytest.raises(MalformedInput, match="21 entries, more than the 10 allowed"):
        read_package(data, ZipLimits(max_entries=10))


def test_lying_declared_size_is_caught(zipped: Zipped) -> None:
    data = bytearray(zipped({"OFD.xml": OFD_XML, "big.bin": bytes(5000)}))
    # Shrink the central directory's uncompressed size of big.bin to 10 bytes.
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(b"big.bin"))
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(MalformedInput, match=r"big\.bin"):
        read_package(bytes(data))


def test_missing_file_is_named() -> None:
    with pytest.raises(MalformedInput, match=r"Doc_0/Document\.xml is missing"):
        OfdPackage({"OFD.xml": OFD_XML}).read("Doc_0/Document.xml")


@pytest.mark.parametrize(
    ("base", "location", "expected"),
    [
        ("Doc_0/Signs", "/Doc_0/Signs/Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/Signature.xml"),
        ("Doc_0/Signs", "Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/Signature.xml"),
        ("Doc_0", "./Pages/../Res/a.png", "Doc_0/Res/a.png"),
        ("", "Doc_0/Document.xml", "Doc_0/Document.xml"),
    ],
)
def test_locations_resolve_like_an_ofd_reader(base: str, location: str, expected: str) -> None:
    assert resolve(base, location) == expected


@pytest.mark.parametrize("location", ["../../x.xml", "/../x.xml", "", "/"])
def test_locations_outside_the_package_are_refused(location: str) -> None:
    with pytest.raises(MalformedInput):
        resolve("Doc_0", location)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_give_malformed_input_or_a_package(data: bytes) -> None:
    with contextlib.suppress(MalformedInput):
        read_package(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_packages_give_malformed_input_or_a_package(
    contract: OfdContract, data: st.DataObject
) -> None:
    blob = bytearray(contract.ofd)
    for _ in range(data.draw(st.integers(1, 8))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(MalformedInput):
        read_package(bytes(blob))


def test_a_zip_version_python_cannot_read_is_malformed_input() -> None:
    """Found by hypothesis: zipfile raises NotImplementedError for a 'version needed to
    extract' it does not support (here 6.4), which must not escape as such."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("OFD.xml", b"<ofd:OFD/>")
    data = bytearray(buffer.getvalue())
    data[data.find(b"PK\x01\x02") + 6] = 64
    data[data.find(b"PK\x03\x04") + 4] = 64
    with pytest.raises(MalformedInput, match=r"zip file version 6\.4"):
        read_package(bytes(data))
