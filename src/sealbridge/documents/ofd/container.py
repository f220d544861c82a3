"""The OFD package: a zip read with limits, so a hostile file costs bounded memory and time.

GB/T 33190 packs a document as a zip whose paths are addressed from the package root
(``/Doc_0/Document.xml``). Everything is read eagerly into memory: packages are small,
every signature hashes most files anyway, and the limits below keep "eagerly" bounded.
Names are checked before anything is decompressed, so a path that could escape a folder
when extracted, or two entries a reader might confuse, are refused rather than guessed at.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sealbridge.errors import MalformedInput

PACKAGE = "OFD package"
ROOT_FILE = "OFD.xml"
_CHUNK = 1 << 16
_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on what a package may hold; the defaults fit any real contract or invoice."""

    max_entries: int = 4096
    max_entry_bytes: int = 32 * 1024 * 1024
    max_total_bytes: int = 128 * 1024 * 1024
    # Text compresses well, so only entries large enough to matter are held to the ratio.
    max_ratio: int = 100
    ratio_floor_bytes: int = 256 * 1024


DEFAULT_LIMITS = ZipLimits()


@dataclass(frozen=True)
class OfdPackage:
    """The files of a package by path (no leading slash), in the order the zip held them."""

    files: Mapping[str, bytes] = field(default_factory=dict)

    def __contains__(self, path: object) -> bool:
        return path in self.files

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def read(self, path: str) -> bytes:
        """The file at ``path``, or MalformedInput naming the file that is missing."""
        try:
            return self.files[path]
        except KeyError:
            raise MalformedInput(PACKAGE, f"{path} is missing") from None

    def with_files(self, changes: Mapping[str, bytes]) -> OfdPackage:
        """A new package with ``changes`` replacing or adding files; new ones go last."""
        for path in changes:
            check_name(path)
        return OfdPackage({**self.files, **changes})


def read_package(data: bytes, limits: ZipLimits = DEFAULT_LIMITS) -> OfdPackage:
    """Open an OFD package; MalformedInput says what is wrong with it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        ValueError,
        OSError,
        EOFError,
    ) as exc:
        raise MalformedInput(PACKAGE, f"not a zip archive ({exc})") from exc
    with archive:
        entries = _checked_entries(archive.infolist(), limits)
        files: dict[str, bytes] = {}
        for entry in entries:
            files[entry.filename] = _read_entry(archive, entry, limits)
    if ROOT_FILE not in files:
        raise MalformedInput(PACKAGE, f"it has no {ROOT_FILE}, so it is no OFD document")
    return OfdPackage(files)


def write_package(package: OfdPackage, *, modified: datetime) -> bytes:
    """The package as a new deflated zip; the caller writes it to disk atomically."""
    if ROOT_FILE not in package:
        raise MalformedInput(PACKAGE, f"it has no {ROOT_FILE}")
    stamp = modified.timetuple()[:6]
    if stamp[0] < 1980:
        raise MalformedInput("package time", "zip cannot record times before 1980")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in package.files.items():
            check_name(path)
            info = zipfile.ZipInfo(path, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return out.getvalue()


def check_name(path: str) -> str:
    """``path`` if it is a plain relative path inside the package, else MalformedInput."""
    if not path or len(path) > 1024:
        raise MalformedInput(PACKAGE, f"entry name {path[:80]!r} is empty or too long")
    if path.startswith("/") or "\\" in path or ":" in path.split("/")[0]:
        raise MalformedInput(PACKAGE, f"entry {path!r} has an absolute path")
    if any(ord(char) < 0x20 or char == "\x7f" for char in path):
        raise MalformedInput(PACKAGE, f"entry {path!r} has control characters in its name")
    parts = path.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise MalformedInput(PACKAGE, f"entry {path!r} has an empty, '.' or '..' path segment")
    return path


def _checked_entries(entries: list[zipfile.ZipInfo], limits: ZipLimits) -> list[zipfile.ZipInfo]:
    if len(entries) > limits.max_entries:
        raise MalformedInput(
            PACKAGE, f"{len(entries)} entries, more than the {limits.max_entries} allowed"
        )
    seen: set[str] = set()
    files: list[zipfile.ZipInfo] = []
    total = 0
    for entry in entries:
        name = check_name(entry.filename)
        key = name.rstrip("/").casefold()
        if key in seen:
            raise MalformedInput(PACKAGE, f"entry {name!r} appears more than once")
        seen.add(key)
        if entry.is_dir():
            continue
        if entry.flag_bits & 0x1:
            raise MalformedInput(PACKAGE, f"entry {name!r} is encrypted")
        if entry.compress_type not in _METHODS:
            raise MalformedInput(
                PACKAGE, f"entry {name!r} uses compression method {entry.compress_type}"
            )
        size = entry.file_size
        if size > limits.max_entry_bytes:
            raise MalformedInput(
                PACKAGE,
                f"entry {name!r} unpacks to {size} bytes, more than the "
                f"{limits.max_entry_bytes} allowed",
            )
        if size > limits.ratio_floor_bytes and size > limits.max_ratio * max(
            entry.compress_size, 1
        ):
            raise MalformedInput(
                PACKAGE,
                f"entry {name!r} unpacks {size} bytes from {entry.compress_size}: "
                f"a ratio above {limits.max_ratio} (zip bomb?)",
            )
        total += size
        if total > limits.max_total_bytes:
            raise MalformedInput(
                PACKAGE, f"entries unpack to more than the {limits.max_total_bytes} bytes allowed"
            )
        files.append(entry)
    return files


def _read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, limits: ZipLimits) -> bytes:
    # The declared size was checked, but it is the attacker's word: read in chunks and stop
    # once more than declared arrives, instead of trusting zipfile to stop for us.
    budget = min(entry.file_size, limits.max_entry_bytes)
    chunks: list[bytes] = []
    received = 0
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(_CHUNK):
                received += len(chunk)
                if received > budget:
                    raise MalformedInput(
                        PACKAGE, f"entry {entry.filename!r} holds more than its declared size"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, ValueError, OSError) as exc:
        raise MalformedInput(PACKAGE, f"entry {entry.filename!r} cannot be read: {exc}") from exc
    except EOFError as exc:
        raise MalformedInput(PACKAGE, f"entry {entry.filename!r} is truncated") from exc
    return b"".join(chunks)


def resolve(base: str, location: str) -> str:
    """Resolve an OFD location (ST_Loc) against the folder ``base``: '/x' is from the root.

    The result has no leading slash, as package keys do; a location climbing above the
    root is MalformedInput, since it can name no file in the package.
    """
    text = location.strip()
    if not text:
        raise MalformedInput(PACKAGE, "an empty location")
    parts = text.split("/") if text.startswith("/") else [*base.split("/"), *text.split("/")]
    stack: list[str] = []
    for part in parts:
        if part in ("", "."):
            continue
        if part != "..":
            stack.append(part)
        elif stack:
            stack.pop()
        else:
            raise MalformedInput(PACKAGE, f"location {location!r} leaves the package")
    if not stack:
        raise MalformedInput(PACKAGE, f"location {location!r} names no file")
    return "/".join(stack)
