"""Helpers for the writer's tests: the writer as a real subprocess, and CQL checks of what it wrote.

Imported by the test modules; the fixtures built on them are in conftest.py."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class WriterProcess:
    """``python -m writer`` with ``env`` on top of ours; its merged output is collected line by line."""

    def __init__(self, env: dict[str, str]):
        full = self.environment(env)
        self.started = time.time()
        self.proc = subprocess.Popen([sys.executable, "-m", "writer"], cwd=ROOT, env=full, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @staticmethod
    def environment(env: dict[str, str]) -> dict[str, str]:
        """Ours with ``env`` on top (no HTTP port unless the test names one)."""
        full = {**os.environ, "HTTP_PORT": "0", **env}
        full["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
        return full

    def _read(self) -> None:
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float, *, after: int = 0) -> re.Match:
        """The first output line (from index ``after``) matching ``pattern``; fails with the output if none."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    if match := regex.search(line):
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._more_expected()):
                    pytest.fail(f"writer output has no line matching {pattern!r} within {timeout} s "
                                f"(exit code {self.proc.poll()}):\n{self.tail()}", pytrace=False)
                self._changed.wait(min(remaining, 0.2))

    def _more_expected(self) -> bool:
        return not self.proc.stdout.closed and self.proc.returncode is None

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.lines[-n:])

    def last_progress(self) -> int:
        """The highest seq of an 'inserted rows to seq N' line so far (0 if none)."""
        seqs = [int(m.group(1)) for m in map(re.compile(r"inserted rows to seq (\d+)").search, list(self.lines)) if m]
        return max(seqs, default=0)

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM, then wait; fails (after a SIGKILL) if it does not exit in time."""
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def wait(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"writer did not exit within {timeout} s:\n{self.tail()}", pytrace=False)
        # The pipe closes when the process is gone: the reader then has every line (a fixed sleep here lost
        # the last line on a loaded machine).
        self._reader.join(10)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()


#: Go's log.LstdFlags: "2006/01/02 15:04:05 " before every message.
GO_PREFIX = re.compile(r"^(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) (.*)$")


class SeedProcess(WriterProcess):
    """The seed writer, started as the image starts it: ``python -m writer`` with WRITER_MODE=seed."""

    @staticmethod
    def environment(env: dict[str, str]) -> dict[str, str]:
        # Only what the test names: the seed writer must not pick up TOPIC/CONSISTENCY from the caller's shell.
        full = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "SYSTEMROOT")}
        full.update({"WRITER_MODE": "seed", "PYTHONPATH": str(ROOT), **env})
        return full

    def messages(self) -> list[str]:
        """Every line without its Go timestamp; fails if a line lacks one."""
        out = []
        for line in list(self.lines):
            match = GO_PREFIX.match(line)
            assert match, f"not in Go's log format: {line!r}\n{self.tail()}"
            out.append(match.group(2))
        return out


@contextlib.contextmanager
def started_processes(kind: type[WriterProcess]):
    """A ``start(env)`` that starts ``kind`` processes; any still running at the end is killed."""
    started: list[WriterProcess] = []

    def start(env: dict[str, str]) -> WriterProcess:
        writer = kind(env)
        started.append(writer)
        return writer

    try:
        yield start
    finally:
        for writer in started:
            writer.close()



def unique_topic(name: str) -> str:
    return f"{name}-{os.getpid()}-{int(time.time() * 1000) % 10**8}"


def connect(contact_points, local_dc: str):
    """A verification session: its own Cluster, token-aware with the given DC, reading at QUORUM.

    QUORUM, not the driver's LOCAL_ONE: after a node was down, one replica may still lack rows that a
    QUORUM write acknowledged (hints replay later), and a read from it alone would report a false gap.
    """
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import ConstantReconnectionPolicy, DCAwareRoundRobinPolicy, TokenAwarePolicy

    profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
                               consistency_level=ConsistencyLevel.QUORUM, request_timeout=30)
    # The driver's default reconnection backs off to minutes: after a test restarted a node, this session
    # would still think it down. Reconnect every second instead.
    cluster = Cluster(contact_points, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None))
    return cluster, cluster.connect()


#: Attempts and pause of a verification read. Right after a node comes back, a QUORUM read of a whole topic
#: can time out on the server (the returning node is busy replaying hints and answering read repairs);
#: the read is retried, as the lab's chaos rounds retry their verify. A read that succeeds is the answer.
READ_ATTEMPTS, READ_PAUSE = 4, 10.0


def read_all(session, query: str, params: tuple) -> list:
    """Every row of ``query``, paging included, retried whole on a server or client timeout."""
    from cassandra import OperationTimedOut, ReadTimeout, Unavailable

    for _ in range(READ_ATTEMPTS - 1):
        with contextlib.suppress(ReadTimeout, Unavailable, OperationTimedOut):
            return list(session.execute(query, params))
        time.sleep(READ_PAUSE)
    return list(session.execute(query, params))  # the last attempt: its error is the test's


def stored_seqs(session, keyspace: str, topic: str) -> list[int]:
    """Every seq of ``topic`` in prj04, ascending (the clustering order)."""
    return [row.seq for row in read_all(session, f"SELECT seq FROM {keyspace}.prj04 WHERE topic = %s", (topic,))]


def last_seq(session, keyspace: str, topic: str) -> int:
    rows = read_all(session, f"SELECT seq FROM {keyspace}.prj04_last_seq WHERE topic = %s", (topic,))
    return rows[0].seq if rows else 0


def assert_no_gap(session, keyspace: str, topic: str, *, start: int = 1) -> int:
    """verify: every seq start..last_seq is present; returns last_seq."""
    last = last_seq(session, keyspace, topic)
    present = set(stored_seqs(session, keyspace, topic))
    missing = [s for s in range(start, last + 1) if s not in present]
    assert not missing, f"{len(missing)} seqs missing below last_seq={last}: {missing[:10]}"
    return last


def writetimes(session, keyspace: str, topic: str, first: int) -> list[tuple[int, float]]:
    """(seq, write time in seconds) of every row from ``first`` on (write times are the client's timestamps)."""
    rows = read_all(session, f"SELECT seq, writetime(value) AS wt FROM {keyspace}.prj04 WHERE topic = %s AND seq >= %s",
                    (topic, first))
    return [(row.seq, row.wt / 1e6) for row in rows]


def longest_pause(times: list[float], begin: float, end: float) -> float:
    """The longest interval in [begin, end] with no write issued (write times sorted, bounds included)."""
    points = sorted([begin, end] + [t for t in times if begin <= t <= end])
    return max(b - a for a, b in itertools.pairwise(points))
