"""User-facing progress, as kind prints it: " ✓ msg" when a step ends well, " ✗ msg" when it fails.

On a terminal the running steps are a live block drawn by rich: one line per step with a spinner, its elapsed
time and what it waits for right now (``Step.waiting``: "2/3 UN, 10.244.2.4 UJ"); lines printed meanwhile
(commands, kubectl's own output) scroll above it, and each step's block line gives way to its ✓/✗ line.
Off a terminal (CI, a pipe) a step prints " • msg ..." when it starts and one timestamped line each time
what it waits for changes, so a long wait is visible in a log without a line per poll.

Under ``invoke --dry`` nothing ran, so a step ends with " - msg (planned)", never ✓; ``quiet`` silences all of
it (``lab.quiet`` in invoke.yaml, or ``INVOKE_LAB_QUIET=1``). Both are fixed when a ``Progress`` is made: each
task makes its own and shows through it while it runs (``showing``, in tasks.py), as kind hands each action
its ``Status``; the module's ``step``/``info`` print through the progress shown now, else through a plain one
(not quiet, not dry). Nothing of it outlives the task, so no test resets anything. Diagnostics go through
``logging``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text


@dataclass(frozen=True)
class Finished:
    """A step that ended, for whoever records them (``recording``): its message, seconds, nesting depth (0 for
    an outermost step), whether it ended well, and its detail."""

    message: str
    seconds: float
    depth: int
    ok: bool
    detail: str = ""


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

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def __rich__(self) -> Group:
        return Group(*(s.live_line() for s in self.steps))


def _is_terminal(out: TextIO) -> bool:
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def _suffix(current: Step) -> str:
    elapsed = current.elapsed()
    parts = [current.detail] if current.detail else []
    if elapsed >= 1:
        parts.append(f"{elapsed:.0f}s")
    return f" ({', '.join(parts)})" if parts else ""


class Progress:
    """One task's progress: whether it is quiet or a dry run (fixed when made), and what it shows now: the
    running steps, their nesting depth, the live block and whoever records finished steps."""

    def __init__(self, *, quiet: bool = False, dry: bool = False):
        self.quiet = quiet
        self.dry = dry  # steps end as "planned": their mutating commands were only printed
        self._lock = threading.RLock()
        self._block = _Block()
        self._live: Live | None = None
        self._depth = 0
        #: Every step running now, outermost first, quiet or not: what the dashboard shows of an action it runs.
        self._running: list[Step] = []
        self._recorders: list[list[Finished]] = []

    @property
    def drawing(self) -> bool:
        """Whether a live block is on the terminal now."""
        return self._live is not None

    @contextmanager
    def recording(self) -> Iterator[list[Finished]]:
        """Collect every step that ends inside the block, in the order they end (quiet or not): a benchmark
        reads where the time of ``invoke up`` went without timing anything itself."""
        steps: list[Finished] = []
        self._recorders.append(steps)
        try:
            yield steps
        finally:
            self._recorders.remove(steps)

    @contextmanager
    def step(self, message: str, *, stream: TextIO | None = None) -> Iterator[Step]:
        """Print ✓/✗ around a block; every early exit (an exception) shows ✗ and re-raises."""
        out = stream or sys.stderr
        current = Step(message)
        depth, self._depth = self._depth, self._depth + 1
        with self._lock:
            self._running.append(current)
        try:
            if self.quiet:
                yield current
            else:
                yield from self._shown(current, message, out)
        except BaseException:
            self._record(current, depth, ok=False)
            raise
        else:
            self._record(current, depth, ok=True)
        finally:
            self._depth = depth
            with self._lock:
                self._running.remove(current)

    def info(self, message: str, *, stream: TextIO | None = None) -> None:
        """A plain status line (a summary, a skip reason) that quiet also silences."""
        if not self.quiet:
            self._emit(message, stream or sys.stderr)

    def running(self) -> list[str]:
        """The steps running now, outermost first, each as its live line says it: "Chaos round 1/1: delete
        cassandra-1 (12s)  2/3 UN"."""
        with self._lock:
            steps = list(self._running)
        return [s.line() for s in steps]

    def _record(self, current: Step, depth: int, ok: bool) -> None:
        for steps in self._recorders:
            steps.append(Finished(current.message, round(current.elapsed(), 2), depth, ok, current.detail))

    def _shown(self, current: Step, message: str, out: TextIO) -> Iterator[Step]:
        """The body of ``step`` when it prints: the live line (or " • ..."), then ✓, ✗ or "planned"."""
        self._enter(current, out)
        try:
            yield current
        except BaseException:
            self._leave(current)
            self._emit(f" ✗ {message}{_suffix(current)}", out)
            raise
        self._leave(current)
        if self.dry:
            self._emit(f" - {message} (planned)", out)
        else:
            self._emit(f" ✓ {message}{_suffix(current)}", out)

    def _emit(self, line: str, out: TextIO) -> None:
        """One finished line: above the live block while one is drawn, else straight to ``out``."""
        with self._lock:
            if self._live is not None:
                self._live.console.print(Text(line), soft_wrap=True)
            else:
                print(line, file=out, flush=True)

    def _enter(self, current: Step, out: TextIO) -> None:
        with self._lock:
            if self._live is None and not _is_terminal(out):
                current._plain = out
                print(f" • {current.message} ...", file=out, flush=True)
                return
            self._block.steps.append(current)
            if self._live is None:
                console = Console(file=out, force_terminal=True)
                self._live = Live(self._block, console=console, refresh_per_second=8, transient=True,
                                  redirect_stdout=True, redirect_stderr=out is sys.stderr)
                self._live.start()

    def _leave(self, current: Step) -> None:
        with self._lock:
            if current in self._block.steps:
                self._block.steps.remove(current)
                if not self._block.steps and self._live is not None:
                    self._live.stop()
                    self._live = None


#: The progress each task shows through, innermost last; empty between tasks (then ``_PLAIN`` prints).
_shown_now: list[Progress] = []
_PLAIN = Progress()


def current() -> Progress:
    """The progress of the task running now, else the plain one (not quiet, not dry)."""
    return _shown_now[-1] if _shown_now else _PLAIN


@contextmanager
def showing(shown: Progress) -> Iterator[Progress]:
    """Print through ``shown`` inside the block (a task's whole run); the one before comes back after it."""
    _shown_now.append(shown)
    try:
        yield shown
    finally:
        _shown_now.remove(shown)


def step(message: str, *, stream: TextIO | None = None) -> AbstractContextManager[Step]:
    """``Progress.step`` of the progress shown now."""
    return current().step(message, stream=stream)


def info(message: str, *, stream: TextIO | None = None) -> None:
    """``Progress.info`` of the progress shown now."""
    current().info(message, stream=stream)


def running() -> list[str]:
    """``Progress.running`` of the progress shown now."""
    return current().running()


def recording() -> AbstractContextManager[list[Finished]]:
    """``Progress.recording`` of the progress shown now."""
    return current().recording()
