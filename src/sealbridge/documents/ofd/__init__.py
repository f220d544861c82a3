"""OFD documents (GB/T 33190) and their GB/T 38540 seal signatures: build, stamp, read.

Verification lives in ``sealbridge.verify.ofd``; both sides read the package through
``container`` (a zip with limits) and ``signatures`` (where the signatures are).
"""

from sealbridge.documents.ofd.container import (
    DEFAULT_LIMITS,
    OfdPackage,
    ZipLimits,
    read_package,
    write_package,
)
from sealbridge.documents.ofd.contract import OfdContract, SealPlace, build_ofd_contract
from sealbridge.documents.ofd.stamp import DEFAULT_PROVIDER, Provider, stamp_ofd

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_PROVIDER",
    "OfdContract",
    "OfdPackage",
    "Provider",
    "SealPlace",
    "ZipLimits",
    "build_ofd_contract",
    "read_package",
    "stamp_ofd",
    "write_package",
]
