"""Python wheels for an image's interpreter, fetched on the host whatever the host's Python is.

Both images with Python in them (the writer, and cqlsh in the Cassandra image) run Debian bookworm's python3,
CPython 3.11, on the machine's architecture (the local Docker engine builds them for kind nodes on the same
machine). ``pip download --only-binary`` with that interpreter and platform pinned gets exactly the wheels the
image can install, from a host on Python 3.12 as well as 3.11; the Dockerfiles install them with --no-index.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from lab.errors import LabError

#: Debian bookworm's python3.
PYTHON_VERSION = "3.11"
_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def wheel_platform(machine: str | None = None) -> str:
    """pip's platform tag for the images' wheels: manylinux2014_x86_64 or manylinux2014_aarch64."""
    machine = (machine or platform.machine()).lower()
    if machine not in _ARCHITECTURES:
        raise LabError(f"no wheels for the architecture {machine!r}: the images are built for "
                       f"{' or '.join(sorted(set(_ARCHITECTURES.values())))} only")
    return f"manylinux2014_{_ARCHITECTURES[machine]}"


def download_args(dest: Path, *, requirements: Path | None = None, packages: tuple[str, ...] = ()) -> list[str]:
    """``pip download`` of binary wheels for the images' interpreter: a requirements file or named packages."""
    argv = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
            "--only-binary=:all:", "--platform", wheel_platform(), "--python-version", PYTHON_VERSION,
            "--implementation", "cp", "--abi", f"cp{PYTHON_VERSION.replace('.', '')}", "--dest", str(dest)]
    if requirements is not None:
        argv += ["--requirement", str(requirements)]
    return argv + list(packages)
