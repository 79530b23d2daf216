"""User-facing progress, as kind prints it: " ✓ msg" when a step ends well, " ✗ msg" when it fails.

On a terminal the running steps are a live block drawn by rich: one line per step with a spinner, its elapsed
time and what it waits for right now (``Step.waiting``: "2/3 UN, 10.244.2.4 UJ"); lines printed meanwhile
(commands, kubectl's own output) scroll above it, and each step's block line gives way to its ✓/✗ line.
Off a terminal (CI, a pipe) a step prints " • msg ..." when it starts and one timestamped line each time
what it waits for changes, so a long wait is visible in a log without a line per poll.

Under ``invoke --dry`` nothing ran, so a step ends with " - msg (planned)", never ✓. ``set_quiet`` silences
all of it (``lab.quiet`` in invoke.yaml, or ``INVOKE_LAB_QUIET=1``). Diagnostics go through ``logging``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

_QUIET = False
_DRY = False


@dataclass(frozen=True)
class Finished:
    """A step that ended, for whoever records them (``recording``): its message, seconds, nesting depth (0 for
    an outermost step), whether it ended well, and its detail."""

    message: str
    seconds: float
    depth: int
    ok: bool
    detail: str = ""


_recorders: list[list[Finished]] = []
_depth = 0
#: Every step running now, outermost first, quiet or not: what the dashboard shows of an action it runs.
_running: list[Step] = []


@contextmanager
def recording() -> Iterator[list[Finished]]:
    """Collect every step that ends inside the block, in the order they end (quiet or not): a benchmark reads
    where the time of ``invoke up`` went without timing anything itself."""
    steps: list[Finished] = []
    _recorders.append(steps)
    try:
        yield steps
    finally:
        _recorders.remove(steps)


def _record(current: Step, depth: int, ok: bool) -> None:
    for steps in _recorders:
        steps.append(Finished(current.message, round(current.elapsed(), 2), depth, ok, current.detail))


def set_quiet(value: bool) -> None:
    global _QUIET
    _QUIET = value


def set_dry(value: bool) -> None:
    """Steps under ``invoke --dry`` end as "planned": their mutating commands were only printed."""
    global _DRY
    _DRY = value


class Step:
    """A running step. ``note`` adds a detail printed with the result (e.g. "skipped: up to date");
    ``waiting`` says what the step waits for now (shown live; off a terminal printed when it changes)."""

    def __init__(self, message: str):
        self.message = message
        self.detail = ""
        self.awaiting = ""
        self.started = time.monotonic()
        self._spinner = Spinner("dots")
        self._plain: TextIO | None = None  # off a terminal: where `waiting` prints its lines

    def note(self, detail: str) -> None:
        self.detail = detail

    def waiting(self, what: str) -> None:
        if what == self.awaiting:
            return
        self.awaiting = what
        if self._plain is not None and what:
            clock = time.strftime("%H:%M:%S")
            print(f"   {clock} +{self.elapsed():.0f}s {what}", file=self._plain, flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        """What it is and how long it has run, then what it waits for now."""
        return f"{self.message} ({self.elapsed():.0f}s)" + (f"  {self.awaiting}" if self.awaiting else "")

    def live_line(self) -> Spinner:
        self._spinner.update(text=Text(self.line(), no_wrap=True, overflow="ellipsis"))
        return self._spinner


class _Block:
    """The live block: every running step, outermost first (a lesson step around a chaos round)."""

    def __init__(self):
        self.steps: list[Step] = []

    def __rich__(self) -> Group:
        return Group(*(s.live_line() for s in self.steps))


_lock = threading.RLock()
_block = _Block()
_live: Live | None = None


def _is_terminal(out: TextIO) -> bool:
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def _emit(line: str, out: TextIO) -> None:
    """One finished line: above the live block while one is drawn, else straight to ``out``."""
    with _lock:
        if _live is not None:
            _live.console.print(Text(line), soft_wrap=True)
        else:
            print(line, file=out, flush=True)


def _enter(current: Step, out: TextIO) -> None:
    global _live
    with _lock:
        if _live is None and not _is_terminal(out):
            current._plain = out
            print(f" • {current.message} ...", file=out, flush=True)
            return
        _block.steps.append(current)
        if _live is None:
            console = Console(file=out, force_terminal=True)
            _live = Live(_block, console=console, refresh_per_second=8, transient=True,
                         redirect_stdout=True, redirect_stderr=out is sys.stderr)
            _live.start()


def _leave(current: Step) -> None:
    global _live
    with _lock:
        if current in _block.steps:
            _block.steps.remove(current)
            if not _block.steps and _live is not None:
                _live.stop()
                _live = None


@contextmanager
def step(message: str, *, stream: TextIO | None = None) -> Iterator[Step]:
    """Print ✓/✗ around a block; every early exit (an exception) shows ✗ and re-raises."""
    global _depth
    out = stream or sys.stderr
    current = Step(message)
    depth, _depth = _depth, _depth + 1
    with _lock:
        _running.append(current)
    try:
        if _QUIET:
            yield current
        else:
            yield from _shown(current, message, out)
    except BaseException:
        _record(current, depth, ok=False)
        raise
    else:
        _record(current, depth, ok=True)
    finally:
        _depth = depth
        with _lock:
            _running.remove(current)


def running() -> list[str]:
    """The steps running now, outermost first, each as its live line says it: "Chaos round 1/1: delete
    cassandra-1 (12s)  2/3 UN"."""
    with _lock:
        steps = list(_running)
    return [s.line() for s in steps]


def _shown(current: Step, message: str, out: TextIO) -> Iterator[Step]:
    """The body of ``step`` when it prints: the live line (or " • ..."), then ✓, ✗ or "planned"."""
    _enter(current, out)
    try:
        yield current
    except BaseException:
        _leave(current)
        _emit(f" ✗ {message}{_suffix(current)}", out)
        raise
    _leave(current)
    if _DRY:
        _emit(f" - {message} (planned)", out)
    else:
        _emit(f" ✓ {message}{_suffix(current)}", out)


def info(message: str, *, stream: TextIO | None = None) -> None:
    """A plain status line (a summary, a skip reason) that quiet also silences."""
    if not _QUIET:
        _emit(message, stream or sys.stderr)


def _suffix(current: Step) -> str:
    elapsed = current.elapsed()
    parts = [current.detail] if current.detail else []
    if elapsed >= 1:
        parts.append(f"{elapsed:.0f}s")
    return f" ({', '.join(parts)})" if parts else ""
