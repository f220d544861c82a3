"""Python's cycle collector held off while one file is verified.

Verifying a PDF parses thousands of small objects (PDF dictionaries, certificates, the
structure of each revision) that all live until the report is made. Each time enough of
them survive a collection, CPython scans everything older too, the caller's whole heap
included: in a file of 30 signatures that was a fifth of the time, and it grew faster
than the file (bench/verify_scaling.py, docs/benchmarks.md). Nothing a verification
allocates needs collecting before it ends; what it leaves behind is collected as usual
afterwards.

Only a pause that found the collector running turns it back on, so a caller who had turned
it off keeps it off, and overlapping verifications in threads never leave it off: whichever
paused it resumes it when its own file is done.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collection_paused() -> Iterator[None]:
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
