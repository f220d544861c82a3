"""What bounds the reading of one PDF: work limits, and the errors that mean unreadable."""

from __future__ import annotations

from dataclasses import dataclass

from pyhanko.pdf_utils.decode_limits import (
    DecodeLimits,
    DocumentDecodeBudget,
    StreamDecodeLimits,
)
from pyhanko.pdf_utils.misc import PdfError

from sealbridge.errors import MalformedInput

MiB = 1024 * 1024

# Everything pyHanko and its parsers raise on bad bytes; any of these means "unreadable".
PARSE_ERRORS = (
    PdfError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    AssertionError,
    ArithmeticError,
    NotImplementedError,
    LookupError,
)


class PdfLimitExceeded(MalformedInput):
    """The PDF asks for more work than the reader allows (objects, nesting, decoded bytes)."""

    def __init__(self, reason: str) -> None:
        super().__init__("PDF", reason)


@dataclass(frozen=True)
class ReadLimits:
    """Work bounds for one document; the defaults fit real contracts with room to spare.

    ``max_depth`` counts nested arrays and dictionaries inside one object (Adobe's own
    implementation limit is 28). Decoded-byte limits feed pyHanko's ``DecodeLimits``.
    """

    max_objects: int = 1_000_000
    max_depth: int = 100
    max_stream_bytes: int = 64 * MiB
    max_decoded_bytes: int = 256 * MiB
    max_decoded_ratio: float = 50

    def decode_limits(self) -> DecodeLimits:
        return DecodeLimits(
            per_stream=StreamDecodeLimits(max_output_size=self.max_stream_bytes),
            document_budget=DocumentDecodeBudget(
                base_allowance=self.max_decoded_bytes, max_ratio=self.max_decoded_ratio
            ),
        )
