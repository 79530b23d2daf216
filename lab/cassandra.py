"""Cassandra operations inside its pods: nodetool and cqlsh through ``kubectl exec``, and their parsers.

Why exec rather than a driver on the host: pod and cluster IPs of a kind cluster are not routable from the
host, and cqlsh/nodetool ship in every Cassandra image, ours and the official one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab import names
from lab.config import VerifyGroup, check_consistency, check_topic
from lab.errors import CommandError, LabError
from lab.kubectl import Kubectl
from lab.runner import Runner

KEYSPACE = "ece573"
ROWS_TABLE = f"{KEYSPACE}.prj04"
LAST_SEQ_TABLE = f"{KEYSPACE}.prj04_last_seq"

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_NODE_LINE = re.compile(r"^([UD][NLJM])\s+(\S+)\s+(.*)$")


@dataclass(frozen=True)
class NodeStatus:
    """One line of ``nodetool status``: state is two letters, U/D then N/L/J/M (UN = up and normal)."""

    state: str
    address: str
    load: str
    host_id: str
    rack: str


def parse_nodetool_status(text: str) -> list[NodeStatus]:
    """The node lines of ``nodetool status`` (any datacenter); other lines are ignored."""
    nodes = []
    for raw in text.splitlines():
        match = _NODE_LINE.match(raw.strip())
        if not match:
            continue
        state, address, rest = match.groups()
        tokens = rest.split()
        host_id = next((t for t in tokens if _UUID.match(t)), "")
        rack = tokens[-1] if tokens and tokens[-1] != host_id else ""
        # Load is "70.24 KiB" (two tokens) or "?" while a node is down.
        load = (
            " ".join(tokens[:2])
            if len(tokens) > 1 and re.match(r"^[KMGT]?i?B$", tokens[1])
            else (tokens[0] if tokens else "")
        )
        nodes.append(NodeStatus(state, address, load, host_id, rack))
    return nodes


def all_up_normal(nodes: list[NodeStatus], expected: int) -> bool:
    """True when exactly ``expected`` nodes are known and every one is UN."""
    return len(nodes) == expected and all(n.state == "UN" for n in nodes)


def ring_summary(nodes: list[NodeStatus], expected: int) -> str:
    """How far the ring is from ``expected`` nodes UN, for a progress line: "2/3 UN; 10.244.2.4 UJ"."""
    up = sum(n.state == "UN" for n in nodes)
    others = ", ".join(f"{n.address} {n.state}" for n in nodes if n.state != "UN")
    return f"{up}/{expected} UN" + (f"; {others}" if others else "")


def nodetool_args(*args: str) -> list[str]:
    return ["nodetool", *args]


def cqlsh_args(statements: str | None = None, *, request_timeout: int = VerifyGroup.request_timeout,
               credentials: str | None = None) -> list[str]:
    """cqlsh in a Cassandra pod; it logs in from ``~/.cassandra/credentials`` (the lab's superuser) unless
    ``credentials`` names another file there (see lab/auth.py)."""
    argv = ["cqlsh"]
    if credentials:
        argv.append(f"--credentials={credentials}")
    if statements is not None:
        # Without a longer timeout a full-partition read of a busy topic trips cqlsh's default 10 s.
        argv += [f"--request-timeout={request_timeout}", "-e", statements]
    return argv


def select_script(query: str, *, consistency: str) -> str:
    """A cqlsh -e script: set the consistency, turn paging off (no ---MORE--- prompts), run one query."""
    return f"CONSISTENCY {check_consistency(consistency)}; PAGING OFF; {query}"


#: Rows per SELECT when reading a topic: PAGING OFF returns a whole result in one frame, and a frame is
#: capped (native_transport_max_frame_size, 16 MiB), so a long topic is read in clustering ranges.
SEQ_CHUNK = 50_000


def seqs_query(topic: str, low: int | None = None, high: int | None = None) -> str:
    """SELECT seq of ``topic``, optionally only low <= seq <= high (either bound may be open)."""
    where = f"topic = '{check_topic(topic)}'"
    if low is not None:
        where += f" AND seq >= {int(low)}"
    if high is not None:
        where += f" AND seq <= {int(high)}"
    return f"SELECT seq FROM {ROWS_TABLE} WHERE {where};"


def seq_chunks(last_seq: int, *, chunk: int = SEQ_CHUNK) -> list[tuple[int, int]]:
    """1..last_seq as inclusive ranges of at most ``chunk`` seqs: 10, chunk 4 -> [(1, 4), (5, 8), (9, 10)]."""
    return [(low, min(low + chunk - 1, last_seq)) for low in range(1, last_seq + 1, chunk)]


def count_query(topic: str, low: int | None = None, high: int | None = None) -> str:
    """count(*) of ``topic``'s rows, optionally only low <= seq <= high: counted on the server, one number back."""
    return seqs_query(topic, low, high).replace("SELECT seq ", "SELECT count(*) ", 1)


def max_seq_query(topic: str) -> str:
    """The highest stored seq of ``topic``: the partition read backwards, one row."""
    return seqs_query(topic).removesuffix(";") + " ORDER BY seq DESC LIMIT 1;"


#: The column name of a chunk's sum in ``chunk_query``.
SUM = "total"


def chunk_query(topic: str, low: int, high: int) -> str:
    """count(*) and sum(value) of ``topic``'s rows low..high, both computed on the server. The sum is cast to text:
    cqlsh prints a double to about five decimals, the cast gives every digit (Java's shortest exact form), so the
    sum compares exactly with the one computed locally (writer.values)."""
    what = f"SELECT count(*), CAST(sum(value) AS text) AS {SUM} "
    return seqs_query(topic, low, high).replace("SELECT seq ", what, 1)


def first_seq_query(topic: str, low: int) -> str:
    """The lowest stored seq of ``topic`` at or above ``low``: one row (seq is the clustering key, ascending)."""
    return seqs_query(topic, low).removesuffix(";") + " LIMIT 1;"


def values_query(topic: str, low: int, high: int) -> str:
    """seq and value of ``topic``'s rows low..high, the value cast to text (every digit, see ``chunk_query``)."""
    return seqs_query(topic, low, high).replace("SELECT seq ", "SELECT seq, CAST(value AS text) AS value ", 1)


def census_queries(topic: str, bound: int, *, last_seq: int | None = None, chunk: int = SEQ_CHUNK) -> list[str]:
    """What ``Cassandra.census`` asks in one cqlsh: a count and a sum per chunk of 1..bound, the count past bound,
    the count and the first seq past ``last_seq`` (default: bound), and the highest seq."""
    last_seq = bound if last_seq is None else last_seq
    chunks = [chunk_query(topic, low, high) for low, high in seq_chunks(bound, chunk=chunk)]
    return [*chunks, count_query(topic, bound + 1), count_query(topic, last_seq + 1),
            first_seq_query(topic, last_seq + 1), max_seq_query(topic)]


@dataclass(frozen=True)
class Chunk:
    """One range of seqs as the server counted it: ``rows`` stored in low..high, and their ``total`` (the sum of
    their values, as Cassandra printed it; "" when it printed none)."""

    low: int
    high: int
    rows: int
    total: str = ""

    @property
    def full(self) -> bool:
        return self.rows >= self.high - self.low + 1


@dataclass(frozen=True)
class SeqCensus:
    """What the server counted for one topic: ``chunks`` over 1..bound, ``beyond`` (rows past bound),
    ``above`` (rows past last_seq) and ``first_above`` (the lowest of them, 0 when none), and ``max_seq``
    (0 when the topic has no rows)."""

    chunks: list[Chunk]
    beyond: int
    max_seq: int
    above: int = 0
    first_above: int = 0

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self.chunks) + self.beyond

    def short(self) -> list[tuple[int, int]]:
        """The chunks with fewer rows than seqs: seq is a clustering key, so only these can hold a gap."""
        return [(c.low, c.high) for c in self.chunks if not c.full]


LAST_SEQS_QUERY = f"SELECT topic, seq FROM {LAST_SEQ_TABLE};"


def parse_cqlsh_tables(text: str) -> list[list[dict[str, str]]]:
    """Every result table cqlsh printed, in order; each a list of rows keyed by column name.

    cqlsh prints `` col1 | col2`` then a ``-----+-----`` rule, the rows, a blank line and ``(N rows)``.
    Status lines around it ("Consistency level set to QUORUM.", "Disabled Query paging.") are skipped.
    """
    lines = text.splitlines()
    tables: list[list[dict[str, str]]] = []
    i = 0
    while i < len(lines) - 1:
        rule = lines[i + 1].strip()
        if lines[i].strip() and rule and set(rule) <= set("-+"):
            header = [h.strip() for h in lines[i].split("|")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip() and not re.match(r"^\(\d+ rows?\)$", lines[i].strip()):
                cells = [cell.strip() for cell in lines[i].split("|")]
                rows.append(dict(zip(header, cells, strict=False)))  # a short row: fewer keys
                i += 1
            tables.append(rows)
            continue
        i += 1
    return tables


def parse_cqlsh_table(text: str) -> list[dict[str, str]]:
    """Rows of the last result table cqlsh printed (empty when it printed none)."""
    tables = parse_cqlsh_tables(text)
    return tables[-1] if tables else []


def _is_schema_missing(err: CommandError) -> bool:
    text = f"{err.stdout}\n{err.stderr}"
    # Before the writer's first start there is no keyspace or table: that is "no data", not a failure.
    return "unconfigured table" in text or "does not exist" in text


#: What cqlsh prints when the cluster could not answer in time or with enough replicas (a read right after a
#: node joined or left, a replica still catching up): a read-only check may ask again and get its answer.
_UNANSWERED = ("ReadTimeout", "ReadFailure", "Unavailable", "OperationTimedOut", "NoHostAvailable")


def server_words(err: LabError) -> str:
    """Cassandra's own words from a failed cqlsh ("ReadTimeout: Error from server: ..."), or "" if it said none."""
    cause = err if isinstance(err, CommandError) else err.__cause__
    if not isinstance(cause, CommandError):
        return ""
    lines = [line.strip() for line in f"{cause.stdout}\n{cause.stderr}".splitlines()]
    return next((line for line in reversed(lines) if "Error" in line or "Timeout" in line or "Unavailable" in line), "")


def is_unanswered(err: LabError) -> bool:
    """The cluster did not answer a read (timeout, too few replicas), as opposed to a wrong query or no pod."""
    return any(word in server_words(err) for word in _UNANSWERED)


class Cassandra:
    """cqlsh and nodetool in one pod of the StatefulSet."""

    def __init__(self, runner: Runner, kube: Kubectl, *, pod: str = names.CASSANDRA_PODS[0],
                 request_timeout: int = VerifyGroup.request_timeout):
        self.runner = runner
        self.kube = kube
        self.pod = pod
        self.request_timeout = request_timeout

    def exec_args(self, command: list[str], *, interactive: bool = False) -> list[str]:
        return self.kube.exec_args(self.pod, command, container=names.CASSANDRA_CONTAINER, interactive=interactive)

    def nodetool_status(self) -> list[NodeStatus]:
        text = self.runner.output(self.exec_args(nodetool_args("status")), timeout=90)
        return parse_nodetool_status(text)

    def query(self, query: str, *, consistency: str = VerifyGroup.consistency) -> list[dict[str, str]]:
        return self.queries([query], consistency=consistency)[-1]

    def queries(self, queries: list[str], *, consistency: str = VerifyGroup.consistency) -> list[list[dict[str, str]]]:
        """Several SELECTs in one cqlsh process (its start-up costs a second or two); one table each."""
        script = select_script(" ".join(queries), consistency=consistency)
        argv = self.exec_args(cqlsh_args(script, request_timeout=self.request_timeout))
        tables = parse_cqlsh_tables(self.runner.output(argv, timeout=self.request_timeout * len(queries) + 60))
        if len(tables) != len(queries):
            raise LabError(f"cqlsh in {self.pod} printed {len(tables)} result table(s) for {len(queries)} queries")
        return tables

    def last_seqs(self, *, consistency: str = VerifyGroup.consistency) -> dict[str, int]:
        """topic -> last_seq from the writer's progress table; empty before the writer made it."""
        try:
            rows = self.query(LAST_SEQS_QUERY, consistency=consistency)
        except CommandError as err:
            if _is_schema_missing(err):
                return {}
            raise LabError(f"failed to read {LAST_SEQ_TABLE} in {self.pod}: {err}") from err
        return {row["topic"]: int(row["seq"]) for row in rows if row.get("seq", "").lstrip("-").isdigit()}

    def census(self, topic: str, bound: int, *, last_seq: int | None = None,
               consistency: str = VerifyGroup.consistency) -> SeqCensus:
        """Counts and sums of ``topic``'s rows per chunk of 1..bound, the rows past bound and past ``last_seq``
        (default: bound), and its highest seq (one cqlsh)."""
        last_seq = bound if last_seq is None else last_seq
        chunks = seq_chunks(bound)
        try:
            tables = self.queries(census_queries(topic, bound, last_seq=last_seq), consistency=consistency)
        except CommandError as err:
            if _is_schema_missing(err):
                return SeqCensus([Chunk(low, high, 0, "0.0") for low, high in chunks], 0, 0)
            raise LabError(f"failed to count topic {topic} in {ROWS_TABLE} in {self.pod}: {err}") from err
        *counts, beyond, above, first, top = tables
        counted = [Chunk(low, high, self._count(rows, topic), rows[0].get(SUM, "") if rows else "")
                   for (low, high), rows in zip(chunks, counts, strict=True)]
        return SeqCensus(counted, self._count(beyond, topic), max(_seqs(top), default=0),
                         above=self._count(above, topic), first_above=min(_seqs(first), default=0))

    def seqs_in(self, topic: str, ranges: list[tuple[int, int]], *,
                consistency: str = VerifyGroup.consistency) -> list[int]:
        """Every seq stored for ``topic`` within the inclusive ``ranges`` (each at most SEQ_CHUNK long)."""
        if not ranges:
            return []
        try:
            tables = self.queries([seqs_query(topic, low, high) for low, high in ranges], consistency=consistency)
        except CommandError as err:
            if _is_schema_missing(err):
                return []
            raise LabError(f"failed to read topic {topic} from {ROWS_TABLE} in {self.pod}: {err}") from err
        return [seq for rows in tables for seq in _seqs(rows)]

    def values_in(self, topic: str, ranges: list[tuple[int, int]], *,
                  consistency: str = VerifyGroup.consistency) -> dict[int, str]:
        """seq -> value (as Cassandra printed it, every digit) of ``topic``'s rows within the inclusive ``ranges``."""
        if not ranges:
            return {}
        try:
            tables = self.queries([values_query(topic, low, high) for low, high in ranges], consistency=consistency)
        except CommandError as err:
            raise LabError(f"failed to read the values of topic {topic} from {ROWS_TABLE} in {self.pod}: {err}") \
                from err
        return {int(row["seq"]): row.get("value", "") for rows in tables for row in rows
                if row.get("seq", "").lstrip("-").isdigit()}

    def _count(self, rows: list[dict[str, str]], topic: str) -> int:
        value = rows[0].get("count", "") if rows else ""
        if not value.isdigit():
            raise LabError(f"cqlsh in {self.pod} gave no row count for topic {topic}")
        return int(value)

    def row_count(self, topic: str, *, consistency: str = "ONE") -> int:
        try:
            rows = self.query(count_query(topic), consistency=consistency)
        except CommandError as err:
            raise LabError(f"failed to count rows of topic {topic} in {self.pod}: {err}") from err
        return self._count(rows, topic)


def _seqs(rows: list[dict[str, str]]) -> list[int]:
    return [int(row["seq"]) for row in rows if row.get("seq", "").lstrip("-").isdigit()]
