"""What a chaos round records: one ``RoundResult`` per round (its JSON file) and the summary table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: ``progress_source`` of a round whose progress was ``ece573.prj04_last_seq`` read with cqlsh (a writer that serves
#: no /metrics, or one a port-forward cannot reach through the fault).
CQL_SOURCE = "cql:last_seq"
#: What ``ack_stall_source`` begins with when that is what the stall was measured on: not a time with no
#: acknowledged progress (a writer's own record) but a plateau of the last_seq it stored, sampled.
PROGRESS_STALL = "progress stall (last_seq via CQL)"


@dataclass
class RoundResult:
    """One chaos round, as written to artifacts/chaos/<stamp>-round<N>.json.

    Times are epoch seconds. ``deleted_at`` is when the fault began (the deletion, the ``docker stop``,
    the cut; the name predates the other faults and stays for the plots and the notebook);
    ``restored_at`` is when the lab undid it (``docker start``, rules removed; for a deletion, the same
    moment). ``recovery_s`` runs from ``restored_at`` to healthy again: the new pod Ready (and every node
    UN, for Cassandra).

    Two stalls: ``stall_s`` is the longest plateau of the sampled progress (resolution: the sampling interval);
    ``ack_stall_s`` the longest time with no acknowledged progress, from the writer's own record of each advance
    (/acks, to the millisecond; ``ack_stall_source`` says "acks", or "samples every X s" where the writer kept no
    record the round could read), beginning ``ack_stall_began_s`` seconds after the fault began. Where the progress
    was last_seq read with cqlsh (``progress_source`` ``cql:last_seq``: a writer without /metrics) no writer said
    what it acknowledged, and ``ack_stall_source`` says so: "progress stall (last_seq via CQL), samples every X s".
    ``witness``: per topic, what the writer was seen to acknowledge (before the fault, and at most) and the
    last_seq stored after recovery; verify checks up to the higher of them.
    """

    round: int
    pod: str  # what was hit: a pod, "cassandra-0,cassandra-1,cassandra-2", a node
    target: str  # "cassandra", "writer" or "node"
    force: bool
    deleted_at: float
    fault: str = "pod"  # the registered fault type: pod, all-pods, node, partition, crash, pause, freeze, loss, dns
    down_s: float | None = None  # how long a timed fault (node, partition, pause, freeze, loss, dns) was in place
    restored_at: float | None = None
    ready_at: float | None = None
    up_normal_at: float | None = None
    resumed_at: float | None = None  # the writer's first progress after recovery (timed faults, all-pods)
    recovery_s: float | None = None
    stall_s: float | None = None  # the longest stall of any writer (each writer's in ``writers``)
    stall_from_seq: int | None = None
    stall_open: bool = False
    progress_source: str = ""
    sample_every_s: float = 0.0
    samples: int = 0
    progress: list[list[Any]] = field(default_factory=list)  # [time, seq or None]: the stall's evidence
    observed: list[list[Any]] = field(default_factory=list)  # [time, what changed]: the round's story
    writer_restarts: int = 0
    writer_restart_causes: list[str] = field(default_factory=list)  # how each restart ended, its last lines
    verify: list[dict[str, Any]] = field(default_factory=list)
    #: With several writers (one per topic): each one's {writer, topic, consistency, samples, seqs (the first and
    #: last seq its samples saw), stall_s, stall_open}.
    writers: list[dict[str, Any]] = field(default_factory=list)
    seed: int | None = None  # the random generator's seed, for --pod random
    #: For a crash (--crash): the commitlog_sync every node ran, read from its running configuration ("periodic
    #: (fsync every 10000ms)", "batch"; each pod's when they differ), and how far apart the SIGKILLs landed.
    commitlog_sync: str = ""
    kill_spread_ms: float | None = None
    error: str = ""
    ack_stall_s: float | None = None  # the longest of any writer's (each writer's in ``writers``, or ``ack_stalls``)
    ack_stall_began_s: float | None = None  # when it began, seconds after the fault began (negative: before)
    ack_stall_source: str = ""
    #: All pods at once: the first moment a QUORUM of the replaced Cassandra pods was Ready (its readiness probe: CQL
    #: open, probed every 2 s; polled every 1 s), and when the writer's longest acknowledgement stall ended (its
    #: first acknowledged write after it, from /acks). Either may come first: a write needs one coordinator with
    #: CQL open and two replicas alive, not two nodes with CQL open.
    quorum_ready_at: float | None = None
    ack_resumed_at: float | None = None
    #: Each writer's acknowledgement stall: {writer, topic, stall_s, began_s, seq, open, source}.
    ack_stalls: list[dict[str, Any]] = field(default_factory=list)
    #: Per topic: {topic, writer, source, acked_before_fault, acked_highest, stored_last_seq, checked_to}.
    witness: list[dict[str, Any]] = field(default_factory=list)
    #: Whether the writers' kind nodes had more CPU weight during the round (``--cpu-weight``; off by default).
    cpu_weight: bool = False
    #: Rows this round's verify found missing that an earlier round of the same run had already found missing:
    #: verify reads the whole topic, so they are not this round's loss (``lost_rows`` leaves them out).
    lost_earlier: int = 0

    @property
    def lost_rows(self) -> int:
        """Rows missing after this round that no earlier round of the run had found missing: its own loss."""
        return sum(t.get("missing", 0) for t in self.verify) - self.lost_earlier

    @property
    def rows(self) -> int:
        """Rows verify read back (the acknowledged rows, when nothing is missing)."""
        return max((t.get("rows", 0) for t in self.verify), default=0)

    @property
    def corrupted_rows(self) -> int:
        return sum(t.get("corrupted_rows", 0) for t in self.verify)

    def verify_problems(self) -> list[str]:
        """What verify failed each topic for ("topic test: 3 corrupted value(s) at seq 7-9")."""
        return [f"topic {t.get('topic')}: {p}" for t in self.verify for p in t.get("problems", [])]

    @property
    def ok(self) -> bool:
        # A topic's gaps fail it in verify; here only this round's own loss counts (lost_rows), so a topic whose
        # one problem is its gaps (verify names each kind of problem once) passes when they are all earlier.
        return (not self.error and self.lost_rows == 0 and self.recovery_s is not None
                and all(t.get("ok", True) or (t.get("gaps") and len(t.get("problems", [])) == 1)
                        for t in self.verify))

    def observe(self, when: float, what: str) -> None:
        self.observed.append([round(when, 3), what])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(lost_rows=self.lost_rows, corrupted_rows=self.corrupted_rows, ok=self.ok)
        return data


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _ack_stall(r: RoundResult) -> str:
    if r.ack_stall_s is None:
        return "-"
    began = "" if r.ack_stall_began_s is None else f" at {r.ack_stall_began_s:+.1f}"
    return f"{r.ack_stall_s:.3f}{began}" + stall_kind(r.ack_stall_source)


def stall_kind(source: str) -> str:
    """What an "ack stall" cell adds to its seconds: nothing from the writer's /acks, " (sampled)" from samples of its
    acknowledged prefix, " (progress stall, last_seq via CQL)" where no writer said what it acknowledged."""
    if source == "acks":
        return ""
    return " (progress stall, last_seq via CQL)" if source.startswith(PROGRESS_STALL) else " (sampled)"


def _witnessed(r: RoundResult) -> str:
    """"1200 / 1250": the highest seq witnessed acknowledged before the fault, and the stored last_seq after (the
    worst topic: the one whose stored last_seq is furthest below, else the first)."""
    if not r.witness:
        return "-"
    worst = min(r.witness, key=lambda w: (w.get("stored_last_seq") or 0) - (w.get("acked_before_fault") or 0))
    return " / ".join("-" if worst.get(k) is None else str(worst[k]) for k in ("acked_before_fault", "stored_last_seq"))


def _outcome(r: RoundResult) -> str:
    if r.ok:
        return f"ok; {r.lost_earlier} still missing from an earlier round" if r.lost_earlier else "ok"
    if r.error:
        return r.error
    if r.lost_rows:
        return "LOST ROWS"
    return "; ".join(r.verify_problems()) or "failed"


def summary_rows(results: list[RoundResult]) -> list[list[str]]:
    """Rows for the notebook's table, one per round (its columns predate the fault types)."""
    return [[str(r.round), r.pod, _secs(r.recovery_s), _secs(r.stall_s) + ("+" if r.stall_open else ""),
             _ack_stall(r), _witnessed(r), str(r.writer_restarts), str(r.lost_rows), _outcome(r)] for r in results]


SUMMARY_HEADERS = ["round", "pod", "recovery s", "writer stall s (sampled)", "ack stall s (from fault)",
                   "acked before / stored after", "writer restarts", "lost rows", "result"]


def round_rows(results: list[RoundResult]) -> list[list[str]]:
    """Rows for ``invoke chaos``'s table: ``summary_rows`` with the fault type before its target."""
    return [[row[0], r.fault, *row[1:]] for r, row in zip(results, summary_rows(results), strict=True)]


ROUND_HEADERS = ["round", "fault", "target", *SUMMARY_HEADERS[2:]]


WRITER_HEADERS = ["round", "writer", "topic", "consistency", "stall s (sampled)", "ack stall s", "rows", "missing"]


def writer_rows(results: list[RoundResult]) -> list[list[str]]:
    """One row per writer per round, for rounds that watched several writers (one per topic)."""
    rows = []
    for r in results:
        checked = {t.get("topic"): t for t in r.verify}
        acks = {a.get("writer"): a for a in r.ack_stalls}
        for w in r.writers:
            found = checked.get(w["topic"], {})
            ack = acks.get(w["writer"], {})
            rows.append([str(r.round), w["writer"], w["topic"], w.get("consistency") or "-",
                         _secs(w["stall_s"]) + ("+" if w["stall_open"] else ""),
                         "-" if ack.get("stall_s") is None
                         else f"{ack['stall_s']:.3f}" + stall_kind(ack.get("source", "")),
                         str(found.get("rows", "-")), str(found.get("missing", "-"))])
    return rows


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def count_earlier(result: RoundResult, earlier: list[RoundResult]) -> int:
    """How many of the rows ``result``'s verify found missing an earlier round's verify had found missing too."""
    count = 0
    for topic in result.verify:
        name = topic.get("topic", "")
        before = _merged([(a, b) for r in earlier for t in r.verify if t.get("topic", "") == name
                          for a, b in t.get("gaps", [])])
        for a, b in topic.get("gaps", []):
            count += sum(max(0, min(b, d) - max(a, c) + 1) for c, d in before)
    return count


def distinct_lost_rows(results: list[RoundResult]) -> int:
    """Rows missing in any round, each counted once: every round's verify reads the whole topic, so a gap one
    round found is found again by every round after it."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for r in results:
        for topic in r.verify:
            spans.setdefault(topic.get("topic", ""), []).extend((a, b) for a, b in topic.get("gaps", []))
    total = 0
    for ranges in spans.values():
        end: int | None = None
        for a, b in sorted(ranges):
            if end is None or a > end:
                total, end = total + b - a + 1, b
            elif b > end:
                total, end = total + b - end, b
    return total


def totals(results: list[RoundResult]) -> dict[str, Any]:
    """The soak's bottom line: rounds, faults, rows verified at the end, rows lost, writer restarts."""
    types: dict[str, int] = {}
    for r in results:
        types[r.fault] = types.get(r.fault, 0) + 1
    return {"rounds": len(results), "ok": sum(r.ok for r in results), "faults": types,
            "rows": max((r.rows for r in results), default=0), "lost_rows": distinct_lost_rows(results),
            "corrupted_rows": sum(r.corrupted_rows for r in results),
            "writer_restarts": sum(r.writer_restarts for r in results)}
