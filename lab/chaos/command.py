"""One ``invoke chaos`` run as a value: its flags (``ChaosCommand``), and ``run_command``, the one entry point both the
command line and the dashboard's buttons (``invoke dashboard --allow-actions``) call, so a click runs exactly what
the typed command would, recorded in artifacts/ the same way.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, fields

from lab.chaos import faults as faults_mod
from lab.chaos.faults import loss as loss_mod
from lab.chaos.results import RoundResult
from lab.chaos.rounds import DEFAULT_DOWN, plan, run_rounds
from lab.config import LabConfig
from lab.context import Lab


def configured_rounds(cfg: LabConfig) -> int:
    """How many rounds a run without --rounds makes (lab.chaos.rounds)."""
    return cfg.chaos.rounds


@dataclass(frozen=True)
class ChaosCommand:
    """``invoke chaos``'s flags as given: an empty string, 0, False or None is a flag left out (its default, or
    lab.chaos.*, applies when the command runs). Field names are the flags' (``cpu_weight``: ``--cpu-weight``)."""

    pod: str = ""
    node: str = ""
    partition: str = ""
    crash: str = ""
    pause: str = ""
    freeze: str = ""
    loss: str = ""
    dns: bool = False
    percent: float = 0.0
    down: float = 0.0
    among: str = ""
    seed: int | None = None
    rounds: int = 0
    interval: float | None = None
    force: bool = False
    cpu_weight: bool = False

    def tools(self) -> tuple[str, ...]:
        """The CLIs the run needs: docker and kind too when it acts on a node (or may, drawing at random)."""
        on_nodes = (self.node or self.partition or self.crash or self.pause or self.freeze or self.loss
                    or self.pod == "random")
        return ("docker", "kind", "kubectl") if on_nodes else ("kubectl",)

    def check(self) -> tuple[str, str]:
        """(fault type, target) of its first round, for a fixed target; PreconditionError (one line) for a value or
        combination the command refuses before it touches the cluster. Reads nothing: which nodes host Cassandra
        (what a random freeze draws from) is the cluster's to say when it runs."""
        steps = plan(pod=self.pod, node=self.node, partition=self.partition, down=self.down, among=self.among,
                     rounds=self.rounds or 1, crash=self.crash, pause=self.pause, freeze=self.freeze, loss=self.loss,
                     dns=self.dns, percent=self.percent, workers=("a worker hosting Cassandra",))
        return steps[0]

    def title(self) -> str:
        """What its first round does, in the round's own words ("stop node kind-worker2 for 30s")."""
        fault_type, target = self.check()
        if self.pod == "random":
            return "a fault drawn at random each round"
        options = {"percent": float(self.percent or loss_mod.DEFAULT_PERCENT)} if fault_type == "loss" else {}
        return faults_mod.make(fault_type, target, down=float(self.down or DEFAULT_DOWN), force=self.force,
                               **options).title()

    def line(self) -> str:
        """The command as typed: ``invoke chaos --pod cassandra-1 --force``."""
        words = ["invoke", "chaos"]
        for f in fields(self):
            value = getattr(self, f.name)
            if value == f.default or value is None or value is False:
                continue
            flag = "--" + f.name.replace("_", "-")
            words += [flag] if value is True else [flag, f"{value:g}" if isinstance(value, float) else str(value)]
        return shlex.join(words)


def run_command(lab: Lab, command: ChaosCommand, *, run_round=None) -> list[RoundResult]:
    """Run ``command`` on ``lab`` as ``invoke chaos`` does: the rounds, the table, one JSON file a round (and the
    soak's); raises LabError when a round failed (lab.chaos.rounds.run_rounds). ``run_round``: lab.chaos.run_round
    unless a caller measures each round further (``invoke bench --lab``), wrapping it."""
    cfg = lab.cfg
    return run_rounds(lab, command.pod, rounds=command.rounds or configured_rounds(cfg),
                      interval=command.interval if command.interval is not None else cfg.chaos.interval,
                      force=command.force, node=command.node, partition=command.partition, down=float(command.down),
                      among=command.among, seed=command.seed, crash=command.crash,
                      cpu_weight=command.cpu_weight or None, pause=command.pause, freeze=command.freeze,
                      loss=command.loss, dns=command.dns, percent=float(command.percent), run_round=run_round)
