"""Verification: every seq 1..last_seq of each topic is present; gaps reported as ranges.

The arithmetic (``find_gaps``, ``TopicReport``) is pure and tested on recorded data; ``verify`` asks
``lab.cassandra`` (cqlsh in a pod) at a chosen consistency level: the server counts each chunk of 1..last_seq,
and only a chunk with fewer rows than seqs is read back seq by seq. seq is a clustering key, so a full
chunk has every seq; a topic with no gap costs one cqlsh whatever its length.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from lab import output, status
from lab.cassandra import (
    LAST_SEQS_QUERY,
    SEQ_CHUNK,
    Cassandra,
    census_queries,
    cqlsh_args,
    is_unanswered,
    select_script,
    server_words,
)
from lab.config import check_consistency, check_topic
from lab.context import require_cluster
from lab.errors import LabError


def find_gaps(seqs: Iterable[int], last_seq: int, *, first: int = 1) -> list[tuple[int, int]]:
    """Missing seqs in first..last_seq as inclusive ranges, in order: ({1,2,5}, 7) -> [(3, 4), (6, 7)]."""
    present = sorted({s for s in seqs if first <= s <= last_seq})
    gaps: list[tuple[int, int]] = []
    expected = first
    for seq in present:
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = seq + 1
    if expected <= last_seq:
        gaps.append((expected, last_seq))
    return gaps


def format_ranges(ranges: list[tuple[int, int]], *, limit: int = 10) -> str:
    """'3-4, 6, 9-12' (at most ``limit`` ranges, then '... N more')."""
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges[:limit]]
    if len(ranges) > limit:
        parts.append(f"... {len(ranges) - limit} more")
    return ", ".join(parts)


@dataclass
class TopicReport:
    """What verify found for one topic."""

    topic: str
    last_seq: int
    rows: int
    max_seq: int
    gaps: list[tuple[int, int]] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(b - a + 1 for a, b in self.gaps)

    @property
    def ahead(self) -> int:
        """Rows past last_seq: harmless (rows are written before progress), shown for information."""
        return max(0, self.max_seq - self.last_seq)

    @property
    def ok(self) -> bool:
        return not self.gaps

    def to_dict(self) -> dict:
        data = asdict(self)
        data["gaps"] = [list(g) for g in self.gaps]
        data.update(missing=self.missing, ahead=self.ahead, ok=self.ok)
        return data


def verify(cassandra: Cassandra, *, topics: list[str] | None = None, consistency: str = "QUORUM") -> list[TopicReport]:
    """Read last_seq and check every seq of each topic (all topics in the progress table unless named)."""
    last = cassandra.last_seqs(consistency=consistency)
    return [verify_topic(cassandra, t, last.get(t, 0), consistency=consistency) for t in topics or sorted(last)]


def verify_topic(cassandra: Cassandra, topic: str, last_seq: int, *, consistency: str = "QUORUM") -> TopicReport:
    """Count ``topic``'s chunks on the server; read back only the short ones, and find their gaps."""
    census = cassandra.census(topic, last_seq, consistency=consistency)
    short = census.short()
    seqs = cassandra.seqs_in(topic, short, consistency=consistency)
    gaps = [gap for low, high in short for gap in find_gaps(seqs, high, first=low)]
    return TopicReport(topic=topic, last_seq=last_seq, rows=census.rows, max_seq=census.max_seq, gaps=gaps)


#: Tries and pause when the cluster does not answer a read. Right after a node joined, left or came back, a
#: QUORUM read of a long topic can outlast the server's read timeout (5 s) while compaction or read repair
#: competes for the CPU; verify only reads, so it asks again. A wrong query or a missing pod fails at once.
READ_ATTEMPTS, READ_PAUSE = 3, 15.0


def verify_patiently(cassandra: Cassandra, *, topics: list[str] | None = None, consistency: str = "QUORUM",
                     on_retry: Callable[[str], None] = lambda why: None) -> list[TopicReport]:
    """``verify``, asked again (up to READ_ATTEMPTS times) while the cluster does not answer in time."""
    for attempt in range(1, READ_ATTEMPTS):
        try:
            return verify(cassandra, topics=topics, consistency=consistency)
        except LabError as err:
            if not is_unanswered(err):
                raise
            on_retry(f"try {attempt} of {READ_ATTEMPTS} not answered ({server_words(err)}); again in {READ_PAUSE:.0f}s")
            time.sleep(READ_PAUSE)
    return verify(cassandra, topics=topics, consistency=consistency)


HEADERS = ["topic", "rows", "last_seq", "missing", "gaps", "result"]


def report_rows(reports: list[TopicReport]) -> list[list[str]]:
    return [[r.topic, str(r.rows), str(r.last_seq), str(r.missing), format_ranges(r.gaps) or "-",
             "ok" if r.ok else "GAP"] for r in reports]


def run_verify(lab, *, topic: str = "", consistency: str = "") -> list[TopicReport]:
    """verify for the task: a table on stdout, a JSON record under <artifacts>/verify/, LabError on a gap."""

    cfg = lab.cfg
    level = check_consistency(consistency or str(cfg.verify.get("consistency", "QUORUM")), key="--consistency")
    topics = [check_topic(topic)] if topic else None
    require_cluster(lab)
    cass = lab.cassandra(str(cfg.verify.get("pod", "cassandra-0")))
    if lab.runner.dry:
        # Reads are probes, so a dry run would really query; show the command instead.
        # The chunks follow each topic's last_seq, unknown here: shown for a topic of one chunk.
        scripts = [LAST_SEQS_QUERY] + [" ".join(census_queries(t, SEQ_CHUNK)) for t in topics or [cfg.topic]]
        for script in scripts:
            argv = cass.exec_args(
                cqlsh_args(select_script(script, consistency=level), request_timeout=cass.request_timeout)
            )
            print(f"[dry-run] {shlex.join(argv)}")
        return []
    with status.step(f"Counting every seq at {level}") as s:
        reports = verify_patiently(cass, topics=topics, consistency=level, on_retry=s.waiting)
        s.note(f"{len(reports)} topic(s)")
    output.table(HEADERS, report_rows(reports), title=f"Verify at {level}")
    output.write_json(cfg.path(cfg.artifacts) / "verify" / f"{output.timestamp()}.json",
                         {"consistency": level, "topics": [r.to_dict() for r in reports]})
    if not reports:
        raise LabError("verify: no topic has progress yet (is the writer deployed? `invoke status`)")
    bad = [r for r in reports if not r.ok]
    if bad:
        raise LabError("verify: " + "; ".join(f"topic {r.topic}: {r.missing} missing seq(s) in "
                                              f"{len(r.gaps)} range(s): {format_ranges(r.gaps, limit=3)}" for r in bad))
    return reports
