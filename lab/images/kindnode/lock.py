"""One build of the recipe at a time, per checkout.

A second caller (a `invoke reset` started while `.ci/run` builds the image in the background, or two resets
in two terminals) waits for the first to finish and then finds its image or tools ready, instead of building
them a second time beside it: the Go builds alone take most of the two cores for a quarter of an hour.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from lab.images.kindnode.pins import BUILD
from lab.images.kindnode.steps import log

LOCK_FILE = BUILD / ".lock"


@contextlib.contextmanager
def build_lock(what: str) -> Iterator[None]:
    """Hold the recipe's lock while building ``what``; says who holds it when it has to wait.

    flock, not a pid file: the kernel drops the lock when its holder exits, however it exits."""
    BUILD.mkdir(parents=True, exist_ok=True)
    with open(os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644), "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process is building"
            log(f"{holder}: waiting for it to finish before building {what} (lock {LOCK_FILE})")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} is building {what}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
