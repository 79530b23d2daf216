"""``WRITER_MODE=seed``: the assignment's own Go writer (writer.go), line for line, in Python.

Sections IV and V of the assignment are about watching that writer fail, so this mode keeps every one of its
weaknesses on purpose (the robust writer in this package is the fix):

- ``Unknown topic`` (exit 1) when TOPIC is empty, so a Deployment without it crash-loops;
- only ONE, QUORUM and ALL; anything else (also an unset CONSISTENCY) is ``Unknown consistency level X``;
- one connection attempt: no Cassandra yet means ``Cannot connect to cluster at ...`` and exit 1;
- per seq one synchronous INSERT into prj04, then one into prj04_last_seq, no retries, and the first
  error ends the process (``Cannot write N to table ece573.prj04: ...``, exit 1): Kubernetes restarts it;
- ``start from lastSeq=0`` every time, unless ``WRITER_RESUME=true``, which first reads the topic's
  stored last seq: the change section V asks students to make.

Its log lines are Go's ``log`` format (``2023/10/22 06:04:13 test: inserted rows to seq 1000``, stderr).
Driver settings follow gocql v1.6 (what writer.go was built with): 11 s request and connect timeouts,
round-robin over the hosts, no retry policy.

Environment: TOPIC, CONSISTENCY, CASSANDRA_SEEDS (as writer.go: hosts, here also comma-separated and
host:port), and beyond writer.go: CASSANDRA_USERNAME/CASSANDRA_PASSWORD (a lab with authentication),
WRITER_RESUME (true|false, default false) and WRITER_RATE (seqs per second cap; unset, like writer.go,
means as fast as one synchronous round trip after another allows).
"""

from __future__ import annotations

import logging
import random
import signal
import time
from collections.abc import Mapping
from types import FrameType
from typing import Any, NoReturn

from writer import log as log_mod
from writer.config import Config, ConfigError, ssl_context

log = logging.getLogger("writer.seed")

KEYSPACE = Config.keyspace  # the assignment's keyspace, as the writer's model declares it
PORT = 9042
#: writer.go's switch: ALL (also its default value), ONE, QUORUM; every other spelling is fatal.
LEVELS = ("ALL", "ONE", "QUORUM")
#: gocql v1.6's ClusterConfig defaults (Timeout, ConnectTimeout).
GOCQL_TIMEOUT = 11.0
LOG_EVERY = 1000
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


class _Fatal(Exception):
    """Go's log.Fatalf: the message is logged like any line, then the process exits 1."""


class _Signalled(BaseException):
    """SIGTERM or SIGINT arrived; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, _frame: FrameType | None) -> NoReturn:
    raise _Signalled(signum)


def main(env: Mapping[str, str]) -> int:
    """Run writer.go's main(); returns the exit code (1 on every failure, as log.Fatalf does)."""
    log_mod.setup()
    # Go's runtime ends a program on SIGTERM/SIGINT by itself, also as PID 1 of a container, where the kernel
    # ignores a signal that has no handler: without these, `kubectl delete pod` would wait out the grace period.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _on_signal)
    cluster = None
    try:
        cluster = _run(env)
    except _Fatal as err:
        log.info("%s", err)
        return 1
    except _Signalled as sig:  # like Go: no last words; the exit status a shell gives a death by that signal
        return 128 + sig.signum
    finally:
        if cluster is not None:
            cluster.shutdown()
    return 0  # not reached: the loop only ends by an error or a signal


def _run(env: Mapping[str, str]) -> Any:  # the driver's Cluster, loaded lazily
    topic = env.get("TOPIC", "")
    if topic == "":  # writer.go tests exactly this: a blank-but-set value is a topic
        raise _Fatal("Unknown topic")

    cs = env.get("CONSISTENCY", "")
    consistency = cs.upper()
    if consistency not in LEVELS:
        raise _Fatal(f"Unknown consistency level {cs}")

    resume = _flag(env, "WRITER_RESUME")
    rate = _rate(env)
    auth = _auth(env)
    tls = _tls(env)
    seed = env.get("CASSANDRA_SEEDS", "")
    log.info("Connecting cluster at %s with consistency %s for topic %s", seed, consistency, topic)

    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import FallthroughRetryPolicy, RoundRobinPolicy

    hosts = _hosts(seed)
    profile = ExecutionProfile(
        load_balancing_policy=RoundRobinPolicy(),  # gocql's default host selection
        retry_policy=FallthroughRetryPolicy(),  # gocql runs a query once unless a RetryPolicy is set
        consistency_level=ConsistencyLevel.name_to_value[consistency],
        request_timeout=GOCQL_TIMEOUT,
    )
    cluster = Cluster(hosts, port=PORT, auth_provider=auth, ssl_context=tls,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      connect_timeout=GOCQL_TIMEOUT, control_connection_timeout=GOCQL_TIMEOUT)
    try:
        return _session(cluster, seed, topic, resume, rate)
    except BaseException:
        cluster.shutdown()
        raise


def _session(cluster: Any, seed: str, topic: str, resume: bool, rate: float | None) -> Any:
    try:
        session = cluster.connect()
    except Exception as err:  # noqa: BLE001 - writer.go: CreateSession's error is fatal, never retried
        raise _Fatal(f"Cannot connect to cluster at {seed}: {_text(err)}") from None

    try:
        name = session.execute("SELECT cluster_name FROM system.local").one().cluster_name
    except Exception as err:  # noqa: BLE001
        raise _Fatal(f"Cannot query cluster: {_text(err)}") from None
    log.info("Connected to cluster %s", name)

    # Beyond writer.go: only what is missing is created. On a lab with authentication the schema is the
    # operator's, and the writer's role may not CREATE (even IF NOT EXISTS is refused without the permission).
    from writer.schema import missing_schema, schema_statements

    statements = schema_statements(KEYSPACE, 3)  # writer.go's replication factor
    for name in missing_schema(cluster.metadata, KEYSPACE):
        _ddl(session, statements[name], ("keyspace " if name == KEYSPACE else "table ") + name)
    log.info("Tables %s.prj04 and %s.prj04_last_seq ready.", KEYSPACE, KEYSPACE)

    last_seq = _read_last_seq(session, topic) if resume else 0  # writer.go: `lastSeq := 0`
    log.info("%s: start from lastSeq=%d", topic, last_seq)
    _loop(session, topic, last_seq, rate)
    return cluster


def _ddl(session: Any, statement: str, what: str) -> None:
    try:
        session.execute(statement)
    except Exception as err:  # noqa: BLE001
        raise _Fatal(f"Cannot create {what}: {_text(err)}") from None


def _read_last_seq(session: Any, topic: str) -> int:
    """Section V's fix: continue after the topic's stored last seq (0 when it has none)."""
    try:
        row = session.execute(f"SELECT seq FROM {KEYSPACE}.prj04_last_seq WHERE topic = %s", (topic,)).one()
    except Exception as err:  # noqa: BLE001
        raise _Fatal(f"Cannot read lastSeq of {topic} from table {KEYSPACE}.prj04_last_seq: {_text(err)}") from None
    return row.seq if row is not None and row.seq is not None else 0


def _loop(session: Any, topic: str, last_seq: int, rate: float | None) -> None:
    """writer.go's loop: two synchronous inserts per seq, forever; the first failure is fatal."""
    # gocql prepares a statement with bound values on its first use; preparing them here is the same traffic,
    # and a failure to prepare is reported as the write it would have been.
    first = last_seq + 1
    insert = _prepare(session, f"INSERT INTO {KEYSPACE}.prj04 (topic, seq, value) VALUES (?, ?, ?)",
                      first, f"{KEYSPACE}.prj04")
    insert_last = _prepare(session, f"INSERT INTO {KEYSPACE}.prj04_last_seq (topic, seq) VALUES (?, ?)",
                           first, f"{KEYSPACE}.prj04_last_seq")
    started = time.monotonic()
    seq = first
    while True:
        try:
            session.execute(insert, (topic, seq, random.random()))
        except Exception as err:  # noqa: BLE001
            raise _Fatal(f"Cannot write {seq} to table {KEYSPACE}.prj04: {_text(err)}") from None
        try:
            session.execute(insert_last, (topic, seq))
        except Exception as err:  # noqa: BLE001
            raise _Fatal(f"Cannot write {seq} to table {KEYSPACE}.prj04_last_seq: {_text(err)}") from None
        if seq % LOG_EVERY == 0:
            log.info("%s: inserted rows to seq %d", topic, seq)
        if rate is not None:
            # Pace against the start, not the previous seq, so the average holds when a write was slow.
            ahead = started + (seq - first + 1) / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        seq += 1


def _prepare(session: Any, statement: str, seq: int, table: str) -> Any:
    try:
        return session.prepare(statement)
    except Exception as err:  # noqa: BLE001
        raise _Fatal(f"Cannot write {seq} to table {table}: {_text(err)}") from None


def _hosts(seed: str) -> list[str | tuple[str, int]]:
    """writer.go hands CASSANDRA_SEEDS to gocql.NewCluster as one host; a comma list and host:port also work."""
    hosts: list[str | tuple[str, int]] = []
    for item in (part.strip() for part in seed.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if sep and port.isdigit() and host and (":" not in host or host.startswith("[")):
            hosts.append((host.strip("[]"), int(port)))
        else:
            hosts.append(item)
    if not hosts:
        raise _Fatal(f"Cannot connect to cluster at {seed}: no hosts provided")  # gocql's ErrNoHosts
    return hosts


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _Fatal(f"Unknown {name} value {env[name]} (use true or false)")


def _rate(env: Mapping[str, str]) -> float | None:
    text = env.get("WRITER_RATE", "").strip()
    if not text:
        return None
    try:
        rate = float(text)
    except ValueError:
        rate = float("nan")
    if not rate > 0 or rate == float("inf"):  # also rejects nan
        raise _Fatal(f"Unknown WRITER_RATE value {text} (seqs per second, a positive number)")
    return rate


def _auth(env: Mapping[str, str]) -> Any:
    username, password = env.get("CASSANDRA_USERNAME", ""), env.get("CASSANDRA_PASSWORD", "")
    if bool(username) != bool(password):
        raise _Fatal("CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together")
    if not username:
        return None
    from cassandra.auth import PlainTextAuthProvider

    return PlainTextAuthProvider(username=username, password=password)


def _tls(env: Mapping[str, str]) -> Any:
    """CASSANDRA_TLS_CA, as every writer of the lab reads it (writer/config.py): TLS trusting that CA, or None."""
    ca = env.get("CASSANDRA_TLS_CA", "")
    if not ca:
        return None
    try:
        return ssl_context(ca)
    except ConfigError as err:
        raise _Fatal(str(err).removeprefix("writer: ")) from None


def _text(err: BaseException) -> str:
    """Go prints an error with %v: its message on one line. Here ``Class: message``, cut to fit a log line."""
    text = " ".join(str(err).split()) or "(no message)"
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}"
