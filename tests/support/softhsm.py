"""Throwaway SoftHSM2 tokens for tests of keys that live in a PKCS#11 token.

SoftHSM2 reads SOFTHSM2_CONF and scans its token directory once, when the module is
initialised, and python-pkcs11 loads a module only once per process. So one set of
tokens is created per test process, before anything loads the module, and every test
shares it (tests give their keys unique labels). Call ``softhsm`` from a session-scoped
fixture; it skips, naming the Debian package, where SoftHSM2 is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

MODULE_CANDIDATES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
)
USER_PIN = "20261125"
SO_PIN = "91350100"


@dataclass(frozen=True)
class SoftHsm:
    """Two initialised tokens with the same PINs.

    ``token_label`` is for keys; ``spare_token_label`` is for tests that need a token
    nobody in the process is logged in to (PKCS#11 login state is per process and token,
    so a wrong PIN on a logged-in token reports "already logged in", not "wrong PIN").
    """

    module: Path
    token_label: str
    spare_token_label: str
    user_pin: str = USER_PIN
    so_pin: str = SO_PIN


_instance: SoftHsm | None = None


def find_module() -> Path | None:
    return next((path for path in MODULE_CANDIDATES if path.is_file()), None)


def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    """The process's SoftHSM2 tokens, created on first use; skip if SoftHSM2 is missing."""
    global _instance
    if _instance is not None:
        return _instance
    module = find_module()
    util = shutil.which("softhsm2-util")
    if module is None or util is None:
        pytest.skip(
            "SoftHSM2 is not installed (Debian package softhsm2); looked for "
            + ", ".join(map(str, MODULE_CANDIDATES))
            + " and softhsm2-util on PATH"
        )
    root = tmp_path_factory.mktemp("softhsm")
    tokens = root / "tokens"
    tokens.mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    # The module reads this when it is initialised, i.e. after this function returns.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    instance = SoftHsm(module, "sealbridge-test", "sealbridge-spare")
    for label in (instance.token_label, instance.spare_token_label):
        command = [util, "--init-token", "--free", "--label", label, "--pin", instance.user_pin]
        subprocess.run(
            [*command, "--so-pin", instance.so_pin],
            check=True,
            capture_output=True,
        )
    _instance = instance
    return instance
