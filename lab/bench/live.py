"""``invoke bench --lab``: where the lab's time goes, measured on the running lab.

Four parts, each printed as a table and kept in one JSON file (<artifacts>/bench/lab-<time>.json):

1. ``--up`` only: the lab recreated as ``invoke up`` does it (reset, build, deploy), once by today's path (``kind
   load`` of Cassandra into every node) and once with lab.images.preload (the workers' node image holds it),
   every step's seconds side by side as lab.progress recorded them (cluster create, each image load or its skip,
   the waits for Ready and UN ...). Minutes: two whole ``invoke up``s.
2. Each Cassandra pod's start as the cluster recorded it: created → scheduled → init done → container
   started → NORMAL in the ring → CQL open → Ready (lab.bench.phases).
3. ``rounds`` deletions of one Cassandra pod (graceful, or ``force``), each a chaos round (recovery, restarts,
   verify), split into the same phases from the deletion on, with three figures of the writer side by side:
   its acknowledgement stall (the longest time with no acknowledged progress, from the writer's own record
   /acks, to the millisecond, or from the samples where it kept none: the chaos round's), the chaos round's
   sampled stall, and the *send gap*: the longest time between two writes issued, by the rows' WRITETIME (a
   client-side send time, lab.bench.phases: not an acknowledgement). The JSON adds when each began after the
   deletion and what the writer logged meanwhile (its failed writes, outages, session rebuilds), which is what
   explains a long one. With several writers (``invoke deploy --writers 3 --consistency QUORUM,ONE,ALL``) each
   one's figures are measured the same way, in the same rounds. ``cpu_weight`` (off by default) is recorded.
4. With ``faults`` (``--fault pause,freeze,...``, lab.bench.faults): ``rounds`` rounds of each kind in turn, each
   kind one ``invoke chaos`` run (lab.chaos.run_command), then one row per kind: median and worst of recovery
   and acknowledgement stall, rows lost, writer restarts, conditions. The deletion (``pod``, the default) keeps
   its phases of part 3.

Run it before and after a change, on the same machine, and compare the medians.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lab import kubectl, names, output, progress, workflow, writers
from lab.bench import faults as fault_kinds
from lab.bench.faults import FaultSummary
from lab.bench.phases import (
    Gap,
    longest_write_gap,
    median,
    parse_time,
    phase_seconds,
    pod_milestones,
    worst,
    writetimes_query,
)
from lab.cassandra import ROWS_TABLE, Cassandra
from lab.chaos import ChaosCommand, RoundResult, run_command, run_round
from lab.chaos.faults.pod import other_cassandra
from lab.command_output import PROGRESS
from lab.config import ChaosGroup, check_topic
from lab.context import Lab, guard_context, require_cluster
from lab.errors import CommandError, LabError, PreconditionError

#: Phase columns of a Cassandra pod's start (a deployed pod) and of a replacement (after a deletion).
START_PHASES = ("scheduled", "initialized", "started", "normal", "cql_open", "ready")
REPLACE_PHASES = ("replaced", *START_PHASES)


@dataclass
class DeletionRound:
    """One measured deletion: the chaos round's figures plus the replacement's phases and the send gap."""

    round: int
    pod: str
    force: bool
    recovery_s: float | None
    sampled_stall_s: float | None
    #: The longest send gap: between two writes issued, by WRITETIME (client send times; not acknowledgements).
    send_gap_s: float | None
    send_gap_at: float | None
    writes_seen: int
    phases: dict[str, float | None]
    writer_restarts: int
    lost_rows: int
    #: Seconds from the deletion to the start of the longest send gap, and what the writer logged in the round
    #: besides its progress (failed writes, outages over, session rebuilds): why a stall was as long as it was.
    send_gap_after_s: float | None = None
    writer_lines: list[str] = field(default_factory=list)
    #: With several writers: each one's figures, {"writer": "test (QUORUM)", "send_gap_s": ..., "writes": ...,
    #: "ack_stall_s": ...}.
    writer_gaps: list[dict[str, Any]] = field(default_factory=list)
    #: The longest time with no acknowledged progress (the chaos round's), when it began after the deletion, and
    #: where it came from ("acks": the writer's record, to the millisecond; else "samples every X s").
    ack_stall_s: float | None = None
    ack_stall_began_s: float | None = None
    ack_stall_source: str = ""
    cpu_weight: bool = False


@dataclass
class LabBench:
    #: ``--up``: each path's run ({"seconds": the whole up, "steps": every step}), and the seconds the preloaded
    #: node image took first (0 when it existed; not part of either run).
    up_paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    preload_build_s: float | None = None
    pods: dict[str, dict[str, float | None]] = field(default_factory=dict)
    rounds: list[DeletionRound] = field(default_factory=list)
    consistency: str = ""  # the deployed writer's, for the record: the gap depends on it
    faults: list[FaultSummary] = field(default_factory=list)  # one per --fault kind, in order

    def _columns(self) -> dict[str, list[float | None]]:
        columns = {f"{p}_s": [r.phases.get(p) for r in self.rounds] for p in REPLACE_PHASES}
        return columns | {"recovery_s": [r.recovery_s for r in self.rounds],
                          "ack_stall_s": [r.ack_stall_s for r in self.rounds],
                          "sampled_stall_s": [r.sampled_stall_s for r in self.rounds],
                          "send_gap_s": [r.send_gap_s for r in self.rounds]}

    def medians(self) -> dict[str, float | None]:
        return {name: median(values) for name, values in self._columns().items()}

    def worsts(self) -> dict[str, float | None]:
        """The largest of each column (see ``worst``)."""
        return {name: worst(values) for name, values in self._columns().items()}

    def writer_gap_columns(self, key: str = "send_gap_s") -> dict[str, list[float | None]]:
        """Each writer's ``key`` (send_gap_s or ack_stall_s) per round ("test-2 (ONE)" -> figures), when the rounds
        watched several."""
        columns: dict[str, list[float | None]] = {}
        for r in self.rounds:
            for entry in r.writer_gaps:
                columns.setdefault(entry["writer"], []).append(entry.get(key))
        return columns

    def to_dict(self) -> dict[str, Any]:
        writer_gaps = {name: {"send_gap_median": median(gaps), "send_gap_worst": worst(gaps),
                              "ack_stall_median": median(acks), "ack_stall_worst": worst(acks)}
                       for (name, gaps), acks in zip(self.writer_gap_columns().items(),
                                                     self.writer_gap_columns("ack_stall_s").values(), strict=True)}
        return {"writer_consistency": self.consistency, "up_paths": self.up_paths,
                "preload_build_s": self.preload_build_s, "pods": self.pods,
                "rounds": [asdict(r) for r in self.rounds], "medians": self.medians(), "worsts": self.worsts(),
                "writer_gaps": writer_gaps, "faults": [f.to_dict() for f in self.faults]}


def run(lab: Lab, *, rounds: int = 5, pod: str = "cassandra-1", force: bool = False, up: bool = False,
        interval: float = ChaosGroup.interval, cpu_weight: bool | None = None,
        faults: tuple[str, ...] = fault_kinds.DEFAULT_FAULTS, down: float = 0.0, percent: float = 0.0,
        sleep: Callable[[float], None] = time.sleep) -> LabBench:
    """The bench: ``up`` first when asked, each Cassandra pod's start, then ``rounds`` rounds of each kind in
    ``faults`` (lab.bench.faults), ``interval`` seconds apart; the tables, and one JSON file. Raises LabError
    (exit 1), once the tables and the file are out, when a round failed (lost rows, no recovery, a wedged writer),
    as ``invoke chaos`` does."""
    if pod not in names.CASSANDRA_PODS:
        raise PreconditionError(f"--pod must be one of {', '.join(names.CASSANDRA_PODS)}, got {pod!r}")
    if rounds < 0:
        raise PreconditionError(f"--rounds must be 0 or more, got {rounds}")
    if up and lab.cfg.images.registry:
        raise PreconditionError("--up compares `kind load` with a preloaded node image, and with lab.images.registry "
                                f"({lab.cfg.images.registry}) the nodes pull instead: unset it for this run")
    def command(kind: str, node: str, count: int) -> ChaosCommand:
        return fault_kinds.command_for(kind, pod=pod, node=node, rounds=count, interval=interval, force=force,
                                       cpu_weight=bool(cpu_weight), down=down, percent=percent)

    for kind in faults:  # a bad --down or --percent fails here, before anything runs
        command(kind, FREEZE_TARGET, rounds or 1).check()
    if rounds:  # before anything runs, --up's reset included
        guard_context(lab.cfg, action="delete pods" if set(faults) <= {"pod", "all-pods"} else "inflict faults")
    bench = LabBench()
    if up:
        bench.up_paths, bench.preload_build_s, lab = _time_up_paths(lab)
    require_cluster(lab)
    bench.consistency = writers.deployed_consistency(lab.runner, lab.kube) or "no writer"
    with progress.step("Each Cassandra pod's start, as the cluster recorded it"):
        bench.pods = {name: phase_seconds(_milestones(lab, name)) for name in names.CASSANDRA_PODS}
    if rounds:
        for number, kind in enumerate(faults):
            if number:
                sleep(interval)
            node = _node_of(lab, pod) if kind == "freeze" else ""
            bench.faults.append(_fault_rounds(lab, bench, kind, command(kind, node, rounds)))
    _show(lab, bench)
    failed = [f for f in bench.faults if f.failed or f.error]
    if failed:
        raise LabError("bench --lab: " + "; ".join(f"{f.fault}: {f.error or f'{f.failed} round(s) failed'}"
                                                     for f in failed))
    return bench


#: The paths ``--up`` times, one after the other, by their lab.images.preload: today's (``kind load`` of the
#: Cassandra image into every node) and the workers' node image with Cassandra preloaded.
UP_PATHS = {"kind load": False, "preloaded": True}


def _time_up_paths(lab: Lab) -> tuple[dict[str, dict[str, Any]], float, Lab]:
    """``invoke up`` once per path of UP_PATHS, each recreating the cluster, every step's seconds recorded; the
    preloaded node image is made (or found) first, so neither run pays for that one-off build. Returns the runs,
    that build's seconds, and the lab as the last path left it (the one the rounds then run on)."""
    started = time.monotonic()
    workflow.workers_node_image(lab, workflow.node_image(lab), workflow.cassandra_image(lab))
    build_s = round(time.monotonic() - started, 1)
    runs: dict[str, dict[str, Any]] = {}
    for label, preload in UP_PATHS.items():
        images = dataclasses.replace(lab.cfg.images, preload=preload)
        lab = dataclasses.replace(lab, cfg=dataclasses.replace(lab.cfg, images=images))
        started = time.monotonic()
        with progress.recording() as steps:
            workflow.up(lab)
        runs[label] = {"seconds": round(time.monotonic() - started, 1), "steps": [asdict(s) for s in steps]}
    return runs, build_s, lab


def up_rows(runs: dict[str, dict[str, Any]]) -> list[list[str]]:
    """One row per step of any run (a step the other path has not shows "-"), in the order they ended, then the
    whole ``invoke up``."""
    seconds: dict[tuple[str, int], dict[str, float]] = {}
    for label, run in runs.items():
        for step in run["steps"]:
            seconds.setdefault((step["message"], step["depth"]), {})[label] = step["seconds"]
    rows = [["  " * depth + message, *(_secs(each[label]) if label in each else "-" for label in runs)]
            for (message, depth), each in seconds.items()]
    return rows + [["the whole invoke up", *(_secs(run["seconds"]) for run in runs.values())]]


#: What a freeze is aimed at when its flags are checked, before the cluster says which node hosts --pod.
FREEZE_TARGET = "the node hosting --pod"


def _node_of(lab: Lab, pod: str) -> str:
    """The kind node ``pod`` runs on (what ``--fault freeze`` freezes)."""
    node = ((kubectl.get_json(lab.runner, lab.kube, "pod", pod) or {}).get("spec") or {}).get("nodeName")
    if not node:
        raise PreconditionError(f"{pod} runs on no node (not deployed?); --fault freeze freezes the node hosting "
                                "--pod: run `invoke deploy` first")
    return node


def _fault_rounds(lab: Lab, bench: LabBench, kind: str, command: ChaosCommand) -> FaultSummary:
    """``command``'s rounds through ``invoke chaos``'s own entry point, each round also measured here (a single
    deletion split into phases); a failed round ends the kind, not the bench (its rounds so far are kept)."""
    results: list[RoundResult] = []

    def measured_round(runner, kube, fault, number, settings, **kwargs) -> RoundResult:
        result = run_round(runner, kube, fault, number, settings, **kwargs)
        results.append(result)
        if kind == "pod":
            bench.rounds.append(_measure(lab, result))
        return result

    error = ""
    try:
        run_command(lab, command, run_round=measured_round)
    except PreconditionError:
        raise
    except LabError as err:
        error = str(err)
    summary = fault_kinds.summarize(kind, command, results, consistency=bench.consistency)
    summary.error = error
    return summary


def _milestones(lab: Lab, pod: str, *, since: float | None = None) -> dict[str, float | None]:
    item = kubectl.get_json(lab.runner, lab.kube, "pod", pod)
    logs = lab.runner.output(lab.kube.logs_args(pod=pod, container=names.CASSANDRA_CONTAINER, timestamps=True),
                             timeout=60)
    return pod_milestones(item or {}, logs, container=names.CASSANDRA_CONTAINER)


def _measure(lab: Lab, result: RoundResult) -> DeletionRound:
    """The replacement's phases from the deletion on, the acknowledgement stall (the chaos round's), and the send
    gap over the round's seqs by WRITETIME (each writer's, when the round watched several)."""
    phases = phase_seconds(_milestones(lab, result.pod), since=result.deleted_at)
    seqs = [seq for _, seq in result.progress if seq is not None]
    gap = _writetime_gap(lab, result.pod, lab.cfg.topic, seqs)
    writer_gaps = []
    acks = {a.get("topic"): a for a in result.ack_stalls}
    for entry in result.writers:
        each = _writetime_gap(lab, result.pod, entry["topic"], entry.get("seqs") or [])
        writer_gaps.append({"writer": f"{entry['topic']} ({entry.get('consistency') or '?'})",
                            "send_gap_s": round(each.seconds, 3) if each else None,
                            "writes": each.writes if each else 0,
                            "ack_stall_s": acks.get(entry["topic"], {}).get("stall_s")})
    return DeletionRound(round=result.round, pod=result.pod, force=result.force, recovery_s=result.recovery_s,
                         sampled_stall_s=result.stall_s, send_gap_s=round(gap.seconds, 3) if gap else None,
                         send_gap_at=round(gap.start, 3) if gap else None, writes_seen=gap.writes if gap else 0,
                         phases=phases, writer_restarts=result.writer_restarts, lost_rows=result.lost_rows,
                         send_gap_after_s=round(gap.start - result.deleted_at, 3) if gap else None,
                         writer_lines=_writer_lines(lab, since=result.deleted_at), writer_gaps=writer_gaps,
                         ack_stall_s=result.ack_stall_s, ack_stall_began_s=result.ack_stall_began_s,
                         ack_stall_source=result.ack_stall_source, cpu_weight=result.cpu_weight)


_WRITER_LINES = 20


def _writer_lines(lab: Lab, *, since: float) -> list[str]:
    """The writer's log lines stamped at or after ``since``, progress left out, at most the first 20."""
    argv = lab.kube.logs_args(selector=names.WRITER_SELECTOR, container=names.WRITER_CONTAINER, timestamps=True)
    kept = []
    for line in lab.runner.probe(argv, timeout=60).stdout.splitlines():
        stamped = line.split("] ", 1)[-1]  # --prefix: "[pod/<name>/writer] <time> <line>"
        at = parse_time(stamped)
        if at is not None and at >= since and not PROGRESS.search(stamped):  # progress is no event
            kept.append(stamped)
    return kept[:_WRITER_LINES]


def _writetime_gap(lab: Lab, deleted: str, topic: str, seqs: list[int]) -> Gap | None:
    """The longest send gap (WRITETIME) of ``topic`` over the seqs a round saw, read from a pod the round did not
    delete."""
    if len(seqs) < 2:
        return None
    query = writetimes_query(ROWS_TABLE, check_topic(topic), min(seqs), max(seqs))
    cassandra = Cassandra(lab.runner, lab.kube, pod=other_cassandra(deleted))
    try:
        rows = cassandra.query(query, consistency="ONE")
    except CommandError as err:
        raise LabError(f"reading the write times of {topic}'s seqs {min(seqs)}..{max(seqs)} failed: {err}") from err
    return longest_write_gap([int(r["wt"]) for r in rows if r.get("wt", "").isdigit()])


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _show_writer_gaps(bench: LabBench) -> None:
    """With several writers: a column per writer (topic and level) and figure, a row per round, then median and
    worst."""
    sends, acks = bench.writer_gap_columns(), bench.writer_gap_columns("ack_stall_s")
    if not sends:
        return
    columns = {f"{name} ack stall": acks[name] for name in sends} | {f"{name} send gap": sends[name] for name in sends}
    rows = [[str(r.round), *(_secs(values[i] if i < len(values) else None) for values in columns.values())]
            for i, r in enumerate(bench.rounds)]
    rows.append(["median", *(_secs(median(values)) for values in columns.values())])
    rows.append(["worst", *(_secs(worst(values)) for values in columns.values())])
    output.table(["round", *columns], rows, title="Each writer's acknowledgement stall and send gap (WRITETIME, a "
                                                  "client send time), seconds, in the same rounds")


def _show(lab: Lab, bench: LabBench) -> None:
    if bench.up_paths:
        output.table(["step of invoke up", *(f"{label}, s" for label in bench.up_paths)], up_rows(bench.up_paths),
                     title="invoke up, step by step, each path recreating the cluster (lab.images.preload false, "
                           f"then true; the preloaded node image took {bench.preload_build_s:g} s before, once)")
    output.table(["pod", *START_PHASES], [[p, *(_secs(ph.get(c)) for c in START_PHASES)]
                                          for p, ph in bench.pods.items()],
                 title="Each Cassandra pod's start: seconds from the previous milestone (Kubernetes stamps whole "
                       "seconds; NORMAL and CQL open come from the log)")
    if bench.rounds:
        headers = ["round", *REPLACE_PHASES, "recovery", "ack stall", "stall (sampled)", "send gap (WRITETIME)",
                   "restarts", "lost"]
        rows = [[str(r.round), *(_secs(r.phases.get(c)) for c in REPLACE_PHASES), _secs(r.recovery_s),
                 _ms(r.ack_stall_s) + ("" if r.ack_stall_source in ("acks", "") else "*"), _secs(r.sampled_stall_s),
                 _secs(r.send_gap_s), str(r.writer_restarts), str(r.lost_rows)] for r in bench.rounds]
        for label, figures in (("median", bench.medians()), ("worst", bench.worsts())):
            rows.append([label, *(_secs(figures[f"{c}_s"]) for c in REPLACE_PHASES), _secs(figures["recovery_s"]),
                         _ms(figures["ack_stall_s"]), _secs(figures["sampled_stall_s"]), _secs(figures["send_gap_s"]),
                         "", ""])
        deletion = "forced deletion (2 s grace)" if bench.rounds[0].force else "deletion"
        weighted = sum(r.cpu_weight for r in bench.rounds)
        sampled = any(r.ack_stall_source not in ("acks", "") for r in bench.rounds)
        output.table(headers, rows, title=f"{bench.rounds[0].pod} {deletion}, writer at {bench.consistency}: "
                                          "seconds per phase from the deletion; ack stall: longest time with no "
                                          "acknowledged progress; send gap: longest time between two writes sent"
                                          + ("; * ack stall from samples (no /acks)" if sampled else "")
                                          + (f"; WITH 4x CPU weight on the writers' nodes in {weighted} round(s)"
                                             if weighted else ""))
        _show_writer_gaps(bench)
    if bench.faults:
        sampled = any(f.sampled_stalls for f in bench.faults)
        output.table(fault_kinds.HEADERS, fault_kinds.rows(bench.faults),
                     title="Each fault kind, as `invoke chaos` runs it: seconds, median and worst of its rounds; "
                           "recovery: from the fault undone to every pod Ready and the ring UN; "
                           "ack stall: the writer's longest time with no acknowledged progress"
                           + ("; * some stalls from samples (no /acks)" if sampled else ""))
    stamp = output.timestamp()
    path = output.write_json(lab.cfg.path(lab.cfg.artifacts) / "bench" / f"lab-{stamp}.json",
                             {"at": time.time(), **bench.to_dict()})
    progress.info(f"bench --lab: {path}")
