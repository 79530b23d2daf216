"""``invoke bench --lab --fault KIND``: rounds of each kind of fault, run as ``invoke chaos`` runs them, summed up.

Each kind is one ``invoke chaos`` command (lab.chaos.ChaosCommand, through lab.chaos.run_command: the same rounds,
checks, undo and records in artifacts/chaos/), aimed at the bench's ``--pod`` (or, for a freeze, the node that
hosts it). What this module adds is the bench's view: for each kind, the median and worst of the recovery and
of the writer's acknowledgement stall over its rounds, the rows lost, the writer's restarts, and the conditions
they were measured under, one row per kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lab.bench.phases import median, worst
from lab.chaos import ChaosCommand, RoundResult
from lab.chaos.faults import loss
from lab.errors import PreconditionError

#: The kinds ``--fault`` takes, each the ``invoke chaos`` flag it stands for (``pod`` is the bench's default:
#: one Cassandra pod deleted, split into phases by lab.bench.live).
FAULT_FLAGS = {
    "pod": "--pod cassandra-N",
    "pause": "--pause cassandra-N",
    "freeze": "--freeze <its node>",
    "crash": "--crash cassandra-N",
    "loss": "--loss cassandra-N",
    "all-pods": "--pod cassandra",
    "dns": "--dns",
}
FAULT_KINDS = tuple(FAULT_FLAGS)
DEFAULT_FAULTS = ("pod",)
#: The kinds that stay in place for --down seconds (the others take no --down).
TIMED = ("pause", "freeze", "loss", "dns")


def parse_faults(values: Iterable[str]) -> tuple[str, ...]:
    """``--fault`` as given (repeated, or comma-separated, or both): each kind once, in the order first named;
    none: the single-pod deletion."""
    kinds = tuple(dict.fromkeys(k.strip() for v in values for k in v.split(",") if k.strip()))
    bad = [k for k in kinds if k not in FAULT_FLAGS]
    if bad:
        raise PreconditionError(f"--fault {', '.join(bad)}: give one of {', '.join(FAULT_KINDS)} (repeat the flag "
                                "or separate them by commas)")
    return kinds or DEFAULT_FAULTS


def command_for(kind: str, *, pod: str, node: str = "", rounds: int, interval: float, force: bool = False,
                cpu_weight: bool = False, down: float = 0.0, percent: float = 0.0) -> ChaosCommand:
    """The ``invoke chaos`` command a kind's rounds are: aimed at ``pod`` (a freeze at ``node``, the one hosting
    it); ``down`` for the timed kinds, ``percent`` for a loss, ``force`` for deletions only (0 / False: the chaos
    defaults, lab.chaos.*)."""
    timed = kind in TIMED
    return ChaosCommand(pod={"pod": pod, "all-pods": "cassandra"}.get(kind, ""),
                        crash=pod if kind == "crash" else "", pause=pod if kind == "pause" else "",
                        loss=pod if kind == "loss" else "", freeze=node if kind == "freeze" else "",
                        dns=kind == "dns", percent=percent if kind == "loss" else 0.0,
                        down=down if timed else 0.0, rounds=rounds, interval=interval,
                        force=force and kind in ("pod", "all-pods"), cpu_weight=cpu_weight)


def tools(kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The CLIs the kinds' rounds need (docker and kind too for those that act on a node)."""
    needed = {tool for kind in kinds
              for tool in command_for(kind, pod="cassandra-1", node="a node", rounds=1, interval=0).tools()}
    return tuple(sorted(needed))


@dataclass
class FaultSummary:
    """One kind's rounds, as the closing table shows them."""

    fault: str
    command: str  # the ``invoke chaos`` line its rounds ran
    recovery_s: list[float | None] = field(default_factory=list)
    ack_stall_s: list[float | None] = field(default_factory=list)
    #: Rounds whose ack stall came from the samples (the writer kept no /acks record): marked in the table.
    sampled_stalls: int = 0
    lost_rows: int = 0
    writer_restarts: int = 0
    failed: int = 0
    #: What the figures depend on: the writer's consistency, the CPU weight, how long a timed fault stayed,
    #: a loss's share, a deletion's grace, a crash's commitlog_sync.
    conditions: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # why the run of this kind stopped early (its rounds so far are kept)

    @property
    def rounds(self) -> int:
        return len(self.recovery_s)

    def figures(self) -> dict[str, float | None]:
        return {"recovery_median_s": median(self.recovery_s), "recovery_worst_s": worst(self.recovery_s),
                "ack_stall_median_s": median(self.ack_stall_s), "ack_stall_worst_s": worst(self.ack_stall_s)}

    def to_dict(self) -> dict[str, Any]:
        return {"fault": self.fault, "command": self.command, "rounds": self.rounds, **self.figures(),
                "recovery_s": self.recovery_s, "ack_stall_s": self.ack_stall_s, "sampled_stalls": self.sampled_stalls,
                "lost_rows": self.lost_rows, "writer_restarts": self.writer_restarts, "failed": self.failed,
                "conditions": self.conditions, "error": self.error}


def summarize(kind: str, command: ChaosCommand, results: list[RoundResult], *, consistency: str) -> FaultSummary:
    """One kind's rounds (``results``, in order) as its row of the closing table."""
    weighted = sum(r.cpu_weight for r in results)
    conditions: dict[str, Any] = {"writer": consistency,
                                  "cpu_weight": f"on in {weighted} round(s)" if weighted else "off"}
    downs = sorted({r.down_s for r in results if r.down_s})
    if downs:
        conditions["down_s"] = downs[0] if len(downs) == 1 else downs
    if kind == "loss":
        conditions["percent"] = command.percent or loss.DEFAULT_PERCENT
    if kind in ("pod", "all-pods"):
        conditions["deletion"] = "forced (2 s grace)" if command.force else "graceful"
    modes = sorted({r.commitlog_sync for r in results if r.commitlog_sync})
    if modes:
        conditions["commitlog_sync"] = "; ".join(modes)
    return FaultSummary(fault=kind, command=command.line(), recovery_s=[r.recovery_s for r in results],
                        ack_stall_s=[r.ack_stall_s for r in results],
                        sampled_stalls=sum(1 for r in results if r.ack_stall_source not in ("acks", "")),
                        lost_rows=sum(r.lost_rows for r in results),
                        writer_restarts=sum(r.writer_restarts for r in results),
                        failed=sum(1 for r in results if not r.ok), conditions=conditions)


HEADERS = ["fault", "rounds", "recovery median", "recovery worst", "ack stall median", "ack stall worst",
           "lost rows", "writer restarts", "failed", "conditions"]


def describe(conditions: dict[str, Any]) -> str:
    """``writer QUORUM, cpu_weight off, down_s 30``: the conditions as one cell."""
    return ", ".join(f"{name} {value}" for name, value in conditions.items())


def rows(summaries: list[FaultSummary]) -> list[list[str]]:
    """The closing table: one row per kind, seconds (an ack stall from samples marked *)."""
    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    out = []
    for s in summaries:
        f = s.figures()
        mark = "*" if s.sampled_stalls else ""
        out.append([s.fault, str(s.rounds), secs(f["recovery_median_s"]), secs(f["recovery_worst_s"]),
                    secs(f["ack_stall_median_s"]) + mark, secs(f["ack_stall_worst_s"]) + mark, str(s.lost_rows),
                    str(s.writer_restarts), str(s.failed) + (f" ({s.error})" if s.error else ""),
                    describe(s.conditions)])
    return out
