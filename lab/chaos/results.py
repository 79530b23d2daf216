"""What a chaos round records: one ``RoundResult`` per round (its JSON file) and the summary table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class RoundResult:
    """One chaos round, as written to artifacts/chaos/<stamp>-round<N>.json.

    Times are epoch seconds. ``deleted_at`` is when the fault began (the deletion, the ``docker stop``,
    the cut; the name predates the other faults and stays for the plots and the notebook);
    ``restored_at`` is when the lab undid it (``docker start``, rules removed; for a deletion, the same
    moment). ``recovery_s`` runs from ``restored_at`` to healthy again: the new pod Ready (and every node
    UN, for Cassandra).
    """

    round: int
    pod: str  # what was hit: a pod, "cassandra-0,cassandra-1,cassandra-2", a node
    target: str  # "cassandra", "writer" or "node"
    force: bool
    deleted_at: float
    fault: str = "pod"  # the registered fault kind: pod, all-pods, node, partition, crash
    down_s: float | None = None  # how long a timed fault (node, partition) was left in place
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

    @property
    def lost_rows(self) -> int:
        return sum(t.get("missing", 0) for t in self.verify)

    @property
    def rows(self) -> int:
        """Rows verify read back (the acknowledged rows, when nothing is missing)."""
        return max((t.get("rows", 0) for t in self.verify), default=0)

    @property
    def ok(self) -> bool:
        return not self.error and self.lost_rows == 0 and self.recovery_s is not None

    def observe(self, when: float, what: str) -> None:
        self.observed.append([round(when, 3), what])

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(lost_rows=self.lost_rows, ok=self.ok)
        return data


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def summary_rows(results: list[RoundResult]) -> list[list[str]]:
    """Rows for the notebook's table, one per round (its columns predate the fault kinds)."""
    return [[str(r.round), r.pod, _secs(r.recovery_s), _secs(r.stall_s) + ("+" if r.stall_open else ""),
             str(r.writer_restarts), str(r.lost_rows), "ok" if r.ok else (r.error or "LOST ROWS")] for r in results]


SUMMARY_HEADERS = ["round", "pod", "recovery s", "writer stall s", "writer restarts", "lost rows", "result"]


def round_rows(results: list[RoundResult]) -> list[list[str]]:
    """Rows for ``invoke chaos``'s table: ``summary_rows`` with the fault kind before its target."""
    return [[row[0], r.fault, *row[1:]] for r, row in zip(results, summary_rows(results), strict=True)]


ROUND_HEADERS = ["round", "fault", "target", *SUMMARY_HEADERS[2:]]


WRITER_HEADERS = ["round", "writer", "topic", "consistency", "stall s", "rows", "missing"]


def writer_rows(results: list[RoundResult]) -> list[list[str]]:
    """One row per writer per round, for rounds that watched several writers (one per topic)."""
    rows = []
    for r in results:
        checked = {t.get("topic"): t for t in r.verify}
        for w in r.writers:
            found = checked.get(w["topic"], {})
            rows.append([str(r.round), w["writer"], w["topic"], w.get("consistency") or "-",
                         _secs(w["stall_s"]) + ("+" if w["stall_open"] else ""),
                         str(found.get("rows", "-")), str(found.get("missing", "-"))])
    return rows


def totals(results: list[RoundResult]) -> dict[str, Any]:
    """The soak's bottom line: rounds, faults, rows verified at the end, rows lost, writer restarts."""
    kinds: dict[str, int] = {}
    for r in results:
        kinds[r.fault] = kinds.get(r.fault, 0) + 1
    return {"rounds": len(results), "ok": sum(r.ok for r in results), "faults": kinds,
            "rows": max((r.rows for r in results), default=0), "lost_rows": sum(r.lost_rows for r in results),
            "writer_restarts": sum(r.writer_restarts for r in results)}
