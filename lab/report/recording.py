"""RecordingRunner: the only way the report runs a command, so every probe is evidence and nothing changes."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from typing import Any

from lab.command_output import command_item
from lab.errors import LabError
from lab.runner import Outcome, Runner


class RecordingRunner(Runner):
    """A Runner for reports: every probe (also those made inside lab.verify, lab.kubectl ...) becomes a
    command block in ``sink``; anything that would change the cluster is refused."""

    def __init__(self, runner: Runner, *, clock: Callable[[], float] = time.time):
        super().__init__(runner.ctx, dry=False, echo=False)
        self.clock = clock
        self.sink: list[dict[str, Any]] = []
        self.count = 0

    def probe(self, argv: list[str], *, timeout: float | None = 60, input: str | None = None) -> Outcome:
        started = self.clock()
        outcome = super().probe(argv, timeout=timeout, input=input)
        self.count += 1
        self.sink.append(command_item(argv, outcome, started=started, finished=self.clock()))
        return outcome

    def show(self, argv: list[str], label: str, *, timeout: float | None = 60) -> Outcome:
        """Probe, and show the command with its output in the report (not only in the list of reads)."""
        outcome = self.probe(argv, timeout=timeout)
        self.sink[-1].update(aside=False, label=label)
        return outcome

    def run(self, argv, **kwargs):
        raise LabError(f"report is read-only; refused to run `{shlex.join(argv)}`")

    def spawn(self, argv, **kwargs):
        raise LabError(f"report is read-only; refused to start `{shlex.join(argv)}`")
