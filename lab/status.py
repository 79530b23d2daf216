"""User-facing progress, as kind prints it: " ✓ msg" when a step ends well, " ✗ msg" when it fails.

Off a TTY (CI, a pipe) a step prints " • msg ..." when it starts, so a long wait is visible in logs.
``quiet()`` silences it (tasks' ``--quiet``). Diagnostics go through ``logging`` at DEBUG, not here.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator, TextIO

_QUIET = False


def set_quiet(value: bool) -> None:
    global _QUIET
    _QUIET = value


class Step:
    """A running step; ``note`` adds a detail printed with the result (e.g. "skipped: up to date")."""

    def __init__(self, message: str):
        self.message = message
        self.detail = ""

    def note(self, detail: str) -> None:
        self.detail = detail


@contextmanager
def step(message: str, *, stream: TextIO | None = None) -> Iterator[Step]:
    """Print ✓/✗ around a block; every early exit (an exception) shows ✗ and re-raises."""
    out = stream or sys.stderr
    current = Step(message)
    started = time.monotonic()
    if not _QUIET:
        print(f" • {message} ...", file=out, flush=True)
    try:
        yield current
    except BaseException:
        if not _QUIET:
            print(f" ✗ {message}{_suffix(current, started)}", file=out, flush=True)
        raise
    if not _QUIET:
        print(f" ✓ {message}{_suffix(current, started)}", file=out, flush=True)


def info(message: str, *, stream: TextIO | None = None) -> None:
    """A plain status line (a summary, a skip reason) that --quiet also silences."""
    if not _QUIET:
        print(message, file=stream or sys.stderr, flush=True)


def _suffix(current: Step, started: float) -> str:
    elapsed = time.monotonic() - started
    parts = [current.detail] if current.detail else []
    if elapsed >= 1:
        parts.append(f"{elapsed:.0f}s")
    return f" ({', '.join(parts)})" if parts else ""
