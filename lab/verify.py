"""Verification: every acknowledged seq of each topic is present and holds the value it was written with.

What must be there is bounded from two sides: the ``last_seq`` stored in Cassandra, and a witness outside it
(``Witness``: the writer's own acknowledged prefix, read from its /metrics during a chaos round or, for
``invoke verify``, from the live writers). Every seq 1..max(both) must be present; the stored ``last_seq`` must
not be below what the writer saw acknowledged (a crash that lost the checkpoint with the tail rows would
otherwise move the bound back and hide the loss); a topic with rows but no ``last_seq`` fails, as does a named
topic with neither. Rows above ``last_seq`` are reported (how many, which seqs).

Values: the robust writer writes ``writer.values.value_for(topic, seq)``, a multiple of 2**-20, so the
server's ``sum(value)`` of a chunk is exact and equals the local sum unless a row differs; only a chunk whose
sum differs is read back, and each row whose value differs is *corrupted* (reported apart from *missing*).
The seed writer writes random values by design: its topics' values are not checked, and the report says so.

The arithmetic (``find_gaps``, ``TopicReport``) is pure and tested on recorded data; ``verify`` asks
``lab.cassandra`` (cqlsh in a pod) at a chosen consistency level: the server counts and sums each chunk, and
only a chunk with fewer rows than seqs (or another sum) is read back. seq is a clustering key, so a full chunk
has every seq; a topic with no gap and no changed value costs one cqlsh whatever its length.
"""

from __future__ import annotations

import functools
import json
import re
import shlex
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from lab import names, output, progress
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
from lab.config import VerifyGroup, check_consistency, check_topic
from lab.context import Lab, require_cluster
from lab.errors import LabError
from writer.values import RESOLUTION, sum_units, value_for, value_units


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


def as_ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted seqs as inclusive ranges of consecutive ones: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    ranges: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if ranges and seq == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


def format_ranges(ranges: list[tuple[int, int]], *, limit: int = 10) -> str:
    """'3-4, 6, 9-12' (at most ``limit`` ranges, then '... N more')."""
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges[:limit]]
    if len(ranges) > limit:
        parts.append(f"... {len(ranges) - limit} more")
    return ", ".join(parts)


@dataclass(frozen=True)
class Witness:
    """What a writer acknowledged, seen from outside Cassandra.

    ``acked``: the highest acknowledged seq seen (the writer's watermark: it and every seq below it were
    acknowledged), so 1..acked must be present. ``floor``: what the stored ``last_seq`` may not be below (in a
    chaos round, the watermark witnessed before the fault; for ``invoke verify``, the last_seq the writer saw
    acknowledged); None when nothing was witnessed early enough. ``source`` says where both came from.
    """

    acked: int | None
    floor: int | None
    source: str

    def to_dict(self) -> dict:
        return asdict(self)


#: Why a topic's values were not checked when no caller said (the lesson's verify, the report's).
VALUES_UNKNOWN = "not checked: the topic's writer mode is unknown (only the robust writer's values are known)"
#: Why a seed writer's topic is not checked.
VALUES_SEED = "not checked: written by the seed writer (random values by design)"
#: Why a writer of your own's topic is not checked.
VALUES_OWN = "not checked: written by a writer of your own (its values are its own)"


@dataclass
class TopicReport:
    """What verify found for one topic."""

    topic: str
    last_seq: int
    rows: int
    max_seq: int
    gaps: list[tuple[int, int]] = field(default_factory=list)
    #: False when the progress table has no row for the topic (``last_seq`` is then 0).
    has_last_seq: bool = True
    #: The seqs checked for presence: 1..checked_to, max(last_seq, the witness's acked).
    checked_to: int = 0
    witness: Witness | None = None
    #: Rows stored above last_seq, and the lowest of them (the highest is max_seq).
    above: int = 0
    first_above: int = 0
    #: Seqs whose stored value differs from the one written for them, as ranges.
    corrupted: list[tuple[int, int]] = field(default_factory=list)
    #: "checked", or why the values were not checked.
    values: str = VALUES_UNKNOWN

    @property
    def missing(self) -> int:
        return sum(b - a + 1 for a, b in self.gaps)

    @property
    def corrupted_rows(self) -> int:
        return sum(b - a + 1 for a, b in self.corrupted)

    @property
    def ahead(self) -> int:
        """How far the highest stored seq is past last_seq (the rows themselves: ``above``)."""
        return max(0, self.max_seq - self.last_seq)

    @property
    def below_witness(self) -> bool:
        """The stored last_seq is below what the writer was seen to have acknowledged."""
        floor = self.witness.floor if self.witness else None
        return floor is not None and self.last_seq < floor

    def problems(self) -> list[str]:
        """What fails this topic, one phrase each (empty: it passed)."""
        found = []
        if not self.has_last_seq:
            found.append(f"{self.rows} row(s) but no last_seq row" if self.rows else
                         "no rows and no last_seq: nothing was ever written to it (is the topic name right?)")
        if self.below_witness and self.witness is not None:  # below_witness: there is a witness
            found.append(f"stored last_seq {self.last_seq} is below {self.witness.floor} witnessed acknowledged "
                         f"({self.witness.source})")
        if self.gaps:
            found.append(f"{self.missing} missing seq(s) in {len(self.gaps)} range(s): "
                         f"{format_ranges(self.gaps, limit=3)}")
        if self.corrupted:
            found.append(f"{self.corrupted_rows} corrupted value(s) at seq {format_ranges(self.corrupted, limit=3)}")
        return found

    @property
    def ok(self) -> bool:
        return not self.problems()

    def above_text(self) -> str:
        """"5 (seqs 101-110)" or "-": the rows past last_seq, looked at rather than assumed harmless."""
        if not self.above:
            return "-"
        return f"{self.above} (seqs {self.first_above}-{self.max_seq})"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["gaps"] = [list(g) for g in self.gaps]
        data["corrupted"] = [list(c) for c in self.corrupted]
        data.update(missing=self.missing, corrupted_rows=self.corrupted_rows, ahead=self.ahead,
                    below_witness=self.below_witness, problems=self.problems(), ok=self.ok)
        return data


def verify(cassandra: Cassandra, *, topics: list[str] | None = None, consistency: str = VerifyGroup.consistency,
           witnesses: Mapping[str, Witness] | None = None,
           values: Mapping[str, str] | None = None) -> list[TopicReport]:
    """Read last_seq and check every seq of each topic (all topics in the progress table unless named).

    ``witnesses``: topic -> Witness, where one was read. ``values``: topic -> "check", or why its values are not
    checked (a topic not in it: ``VALUES_UNKNOWN``)."""
    last = cassandra.last_seqs(consistency=consistency)
    witnesses, values = witnesses or {}, values or {}
    return [verify_topic(cassandra, t, last.get(t), consistency=consistency, witness=witnesses.get(t),
                         values=values.get(t, VALUES_UNKNOWN)) for t in topics or sorted(last)]


def verify_topic(cassandra: Cassandra, topic: str, last_seq: int | None, *, consistency: str = VerifyGroup.consistency,
                 witness: Witness | None = None, values: str = VALUES_UNKNOWN) -> TopicReport:
    """Count and sum ``topic``'s chunks on the server; read back only the short ones (their gaps) and those whose
    sum differs (their corrupted rows)."""
    stored = last_seq or 0
    bound = max(stored, (witness.acked or 0) if witness else 0)
    census = cassandra.census(topic, bound, last_seq=stored, consistency=consistency)
    short = census.short()
    seqs = cassandra.seqs_in(topic, short, consistency=consistency)
    gaps = [gap for low, high in short for gap in find_gaps(seqs, high, first=low)]
    report = TopicReport(topic=topic, last_seq=stored, rows=census.rows, max_seq=census.max_seq, gaps=gaps,
                         has_last_seq=last_seq is not None, checked_to=bound, witness=witness, above=census.above,
                         first_above=census.first_above, values=values)
    if values == "check" and not census.chunks:
        report.values = "not checked: no seq to check (no last_seq and no witness)"
    elif values == "check":
        _check_values(cassandra, report, census.chunks, set(seqs), consistency=consistency)
    return report


def expected_total(topic: str, low: int, high: int, present: set[int] | None = None) -> float:
    """The sum of the values written for ``topic``'s seqs low..high (only those in ``present``, when given):
    exact, as Cassandra's sum of the same values is (writer.values)."""
    if present is None:
        return _units(topic, low, high) * RESOLUTION
    return sum(value_units(topic, s) for s in present if low <= s <= high) * RESOLUTION


@functools.lru_cache(maxsize=1024)
def _units(topic: str, low: int, high: int) -> int:
    """``sum_units``, kept: a soak verifies the same full chunks after every round (50,000 hashes each)."""
    return sum_units(topic, low, high)


def same_value(printed: str, expected: float) -> bool:
    """Whether Cassandra's text of a double (every digit: a CAST to text) is ``expected``."""
    try:
        return float(printed) == expected
    except ValueError:
        return False


def _check_values(cassandra: Cassandra, report: TopicReport, chunks, present: set[int], *, consistency: str) -> None:
    """Compare each chunk's sum with the local one; read back the chunks that differ, row by row."""
    if any(c.rows and not c.total for c in chunks):
        report.values = "not checked: the server printed no sum of the values"
        return
    differing = [(c.low, c.high) for c in chunks
                 if c.rows and not same_value(c.total, expected_total(report.topic, c.low, c.high,
                                                                      None if c.full else present))]
    stored = cassandra.values_in(report.topic, differing, consistency=consistency)
    report.corrupted = as_ranges(seq for seq, text in stored.items()
                                 if not same_value(text, value_for(report.topic, seq)))
    report.values = "checked"


#: Tries and pause when the cluster does not answer a read. Right after a node joined, left or came back, a
#: QUORUM read of a long topic can outlast the server's read timeout (5 s) while compaction or read repair
#: competes for the CPU; verify only reads, so it asks again. A wrong query or a missing pod fails at once.
READ_ATTEMPTS, READ_PAUSE = 3, 15.0


def verify_patiently(cassandra: Cassandra, *, topics: list[str] | None = None,
                     consistency: str = VerifyGroup.consistency, witnesses: Mapping[str, Witness] | None = None,
                     values: Mapping[str, str] | None = None,
                     on_retry: Callable[[str], None] = lambda why: None) -> list[TopicReport]:
    """``verify``, asked again (up to READ_ATTEMPTS times) while the cluster does not answer in time."""
    for attempt in range(1, READ_ATTEMPTS):
        try:
            return verify(cassandra, topics=topics, consistency=consistency, witnesses=witnesses, values=values)
        except LabError as err:
            if not is_unanswered(err):
                raise
            on_retry(f"try {attempt} of {READ_ATTEMPTS} not answered ({server_words(err)}); again in {READ_PAUSE:.0f}s")
            time.sleep(READ_PAUSE)
    return verify(cassandra, topics=topics, consistency=consistency, witnesses=witnesses, values=values)


# -- whose values, whose witness -------------------------------------------------------------------------

#: How the lesson's record names a deployment of the seed writer (lab/lesson.py's command labels).
_LESSON_SEED = re.compile(r"WRITER_MODE=seed, TOPIC='([^']+)'")


def seed_topics(artifacts: Path, *, since: float | None = None) -> set[str]:
    """Topics the lesson had the seed writer write (its record, <artifacts>/lesson/lesson.json): their rows hold
    random values even after the robust writer took the topic over. ``since``: only deployments started then or
    later (the cluster's creation: an older lesson wrote another cluster's data)."""
    try:
        text = (artifacts / "lesson" / "lesson.json").read_text()
    except OSError:
        return set()
    try:
        record = json.loads(text)
    except ValueError:
        return set(_LESSON_SEED.findall(text))
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            match = _LESSON_SEED.search(str(node.get("label", "")))
            started = _epoch(node.get("started"))
            if match and (since is None or started is None or started >= since):
                found.add(match.group(1))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(record)
    return found


def _epoch(stamp) -> float | None:
    """An RFC 3339 UTC stamp ("2026-11-25T20:07:00Z") as epoch seconds; None when it is not one."""
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def lab_seed_topics(lab: Lab) -> set[str]:
    """``seed_topics`` of this lab's record, since its cluster was made (the namespace's creation)."""
    from lab import kubectl

    created = None
    try:
        namespace = kubectl.get_json(lab.runner, lab.kube, "namespace", lab.cfg.namespace, namespaced=False)
        created = _epoch((namespace or {}).get("metadata", {}).get("creationTimestamp"))
    except (LabError, ValueError, AttributeError):
        pass  # no cluster to ask: every seed deployment on record counts (values unchecked, never miscalled)
    return seed_topics(lab.cfg.path(lab.cfg.artifacts), since=created)


def value_checks(writers, seeded: set[str]) -> dict[str, str]:
    """topic -> "check" for a robust writer's topic (WRITER_MODE unset is robust), else why not."""
    checks = {}
    for w in writers:
        if w.mode == names.OWN_WRITER_MODE:
            checks[w.topic] = VALUES_OWN
        elif w.mode == "seed" or w.topic in seeded:
            checks[w.topic] = VALUES_SEED
        else:
            checks.setdefault(w.topic, "check")
    return checks


#: The writer's gauges a witness reads (writer/metrics.py).
WATERMARK_METRIC, LAST_SEQ_METRIC = "writer_watermark_seq", "writer_last_seq"


def witness_from_metrics(text: str, topic: str, *, source: str) -> Witness | None:
    """A live writer's witness from its /metrics text: its watermark, and the last_seq it saw acknowledged (the
    stored one can only be higher, it is read after)."""
    from lab.chaos.sampling import parse_metric  # lab.chaos imports this module: import at call time

    acked = parse_metric(text, WATERMARK_METRIC, labels={"topic": topic})
    floor = parse_metric(text, LAST_SEQ_METRIC, labels={"topic": topic})
    if acked is None and floor is None:
        return None
    return Witness(None if acked is None else int(acked), None if floor is None else int(floor), source)


def read_live_witness(lab: Lab, writer) -> tuple[Witness | None, str]:
    """``writer``'s witness through a port-forward to its /metrics (as a chaos round samples it), or None and why."""
    from lab.chaos.sampling import MetricsProgress  # see witness_from_metrics

    if writer.mode == "seed":
        return None, "the seed writer serves no /metrics"
    if writer.mode == names.OWN_WRITER_MODE:
        return None, "a writer of your own: the lab reads no acknowledged progress from it"
    port = lab.cfg.chaos.metrics_port
    reader = MetricsProgress(lab.runner, lab.kube, remote_port=port, metric=WATERMARK_METRIC, topic=writer.topic,
                             deployment=writer.name)
    try:
        if not reader.start(timeout=10):
            return None, f"{writer.name}'s /metrics did not answer"
        witness = witness_from_metrics(reader.scrape(), writer.topic, source=f"{writer.name} /metrics, live")
    except OSError as err:
        return None, f"{writer.name}'s /metrics did not answer ({err})"
    finally:
        reader.close()
    return (witness, "") if witness else (None, f"{writer.name}'s /metrics has no {WATERMARK_METRIC}")


# -- the task --------------------------------------------------------------------------------------------

HEADERS = ["topic", "rows", "last_seq", "witnessed", "checked", "missing", "gaps", "above last_seq", "values",
           "result"]


def _witnessed(r: TopicReport) -> str:
    if r.witness is None:
        return "none"
    shown = ["-" if n is None else str(n) for n in (r.witness.acked, r.witness.floor)]
    return f"{shown[0]} (floor {shown[1]})"


def _values(r: TopicReport) -> str:
    if r.values != "checked":
        return "not checked"
    return f"{r.corrupted_rows} corrupted" if r.corrupted else "ok"


def _result(r: TopicReport) -> str:
    if r.ok:
        return "ok"
    if not r.has_last_seq:
        return "NO LAST_SEQ"
    if r.below_witness:
        return "BELOW WITNESS"
    return "GAP" if r.gaps else "CORRUPTED"


def report_rows(reports: list[TopicReport]) -> list[list[str]]:
    return [[r.topic, str(r.rows), str(r.last_seq) if r.has_last_seq else "none", _witnessed(r),
             f"1..{r.checked_to}" if r.checked_to else "-", str(r.missing), format_ranges(r.gaps) or "-",
             r.above_text(), _values(r), _result(r)] for r in reports]


def run_verify(lab: Lab, *, topic: str = "", consistency: str = "",
               read_witness=read_live_witness) -> list[TopicReport]:
    """verify for the task: a table on stdout, a JSON record under <artifacts>/verify/, LabError when a topic fails.

    The live writers' /metrics are read first (``read_witness(lab, writer)``, each writer's (Witness or None, why
    not)): their watermarks extend what is checked, and the last_seq each saw acknowledged is the stored one's
    floor."""
    from lab import writers as writers_mod

    cfg = lab.cfg
    level = check_consistency(consistency, key="--consistency") if consistency else cfg.verify.consistency
    topics = [check_topic(topic)] if topic else None
    require_cluster(lab)
    cass = lab.cassandra(cfg.verify.pod)
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
    running = [w for w in writers_mod.deployed(lab.runner, lab.kube) if w.topic]
    witnesses: dict[str, Witness] = {}
    without: dict[str, str] = {}
    with progress.step("Reading the live writers' acknowledged seqs (the witness)") as s:
        for writer in running:
            if topics and writer.topic not in topics:
                continue
            witness, why = read_witness(lab, writer)
            if witness is not None:
                witnesses[writer.topic] = witness
            else:
                without[writer.topic] = why
        s.note(f"{len(witnesses)} of {len(running)} writer(s)" if running else "no writer deployed")
    values = value_checks(running, lab_seed_topics(lab))
    with progress.step(f"Counting every seq at {level}") as s:
        reports = verify_patiently(cass, topics=topics, consistency=level, witnesses=witnesses, values=values,
                                   on_retry=s.waiting)
        s.note(f"{len(reports)} topic(s)")
    output.table(HEADERS, report_rows(reports), title=f"Verify at {level}")
    for r in reports:
        if r.witness is None:
            progress.info(f"topic {r.topic}: no witness ({without.get(r.topic, 'no writer of it is running')}): "
                          f"checked 1..last_seq as Cassandra stores it, nothing outside it")
        if r.values != "checked":
            progress.info(f"topic {r.topic}: values {r.values}")
    output.write_json(cfg.path(cfg.artifacts) / "verify" / f"{output.timestamp()}.json",
                      {"consistency": level, "topics": [r.to_dict() for r in reports],
                       "without_witness": without})
    if not reports:
        raise LabError("verify: no topic has progress yet (is the writer deployed? `invoke status`)")
    bad = [r for r in reports if not r.ok]
    if bad:
        raise LabError("verify: " + "; ".join(f"topic {r.topic}: {', '.join(r.problems())}" for r in bad))
    return reports
