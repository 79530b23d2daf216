"""What every Go build of the lab shares: a static binary, no VCS stamp, and a compiler that does less work.

Cold, the node image's Go builds are most of a new machine's first `invoke up` (and of CI on one), so two
settings cut the compiler's CPU without changing what the binaries do:

- GOGC=400: the compiler spends a large share of its time collecting garbage at Go's default GOGC=100; a
  build is a batch job with a short-lived heap, so each compile may grow to 4x its live heap first.
- ``-gcflags=all=-dwarf=false``: no debug information is generated, since the linker strips it anyway
  (``-ldflags=-s -w``, every build here).

Measured on a cold build of etcd's server (2 cores, empty build cache, each pair back to back): GOGC=100 ->
400, CPU 102 -> 85 s; then -dwarf=false, wall 45-48 -> 41-42 s. `invoke bench --go` measures both on the
lab's registry.
"""

from __future__ import annotations

import shutil

from lab.errors import PreconditionError

#: GOGC for the compiler and linker processes (see above); not for anything the lab runs.
BUILD_GOGC = "400"
#: Build flags for every go command (GOFLAGS: each go command takes the ones it knows).
BUILD_GOFLAGS = "-buildvcs=false -gcflags=all=-dwarf=false"


def require_go(why: str) -> None:
    """One line naming what is missing and how to get it, before anything is built."""
    if shutil.which("go") is None:
        raise PreconditionError(f"go not found on PATH; install Go >= 1.21 {why}")


def go_env(**extra: str) -> dict[str, str]:
    """The environment of a ``go build``/``go install`` here, plus ``extra`` (GOTOOLCHAIN, GOBIN, ...)."""
    return {"CGO_ENABLED": "0", "GOFLAGS": BUILD_GOFLAGS, "GOGC": BUILD_GOGC, **extra}
