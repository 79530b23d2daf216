"""The contenders, each appending seqs to its own topic for ``seconds`` (or ``rows`` seqs) and measured.

(a) and (b) run in this process on a driver session (lab.bench.session); (c) is the real writer, a subprocess,
and (d) the same writer over TLS.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

from lab import tls
from lab.bench.session import KEYSPACE
from lab.bench.table import measurement
from lab.config import ROOT
from lab.errors import LabError
from lab.runner import Runner

#: The writer's last line: ``...: stopped at seq N (wrote M rows in this run, R seqs/s ...``.
_SUMMARY = re.compile(r": stopped at seq (\d+) \(wrote (\d+) rows in this run, (\d+) seqs/s")


def seed_loop(session, topic: str, seconds: float, rows: int | None) -> dict:
    """(a): for each seq, INSERT the row and then last_seq, each waiting for its answer."""
    insert = session.prepare(f"INSERT INTO {KEYSPACE}.prj04 (topic, seq, value) VALUES (?, ?, ?)")
    insert_last = session.prepare(f"INSERT INTO {KEYSPACE}.prj04_last_seq (topic, seq) VALUES (?, ?)")
    began = time.monotonic()
    deadline, seq = began + seconds, 0
    while time.monotonic() < deadline and (rows is None or seq < rows):
        seq += 1
        session.execute(insert, (topic, seq, random.random()))
        session.execute(insert_last, (topic, seq))
    return measurement(seq, time.monotonic() - began)


def raw_async(session, topic: str, seconds: float, rows: int | None, concurrency: int) -> dict:
    """(b): prepared single-row INSERTs through execute_concurrent, ``concurrency`` in flight, nothing else."""
    from cassandra.concurrent import execute_concurrent_with_args  # slow to import: see lab.bench.session

    insert = session.prepare(f"INSERT INTO {KEYSPACE}.prj04 (topic, seq, value) VALUES (?, ?, ?)")
    count = 0
    began = time.monotonic()
    deadline = began + seconds

    def params():
        nonlocal count
        while time.monotonic() < deadline and (rows is None or count < rows):
            count += 1
            yield topic, count, random.random()

    failures = sum(1 for ok, _ in execute_concurrent_with_args(session, insert, params(), concurrency=concurrency,
                                                               raise_on_first_error=False, results_generator=True)
                   if not ok)
    result = measurement(count - failures, time.monotonic() - began)
    result["failures"] = failures
    return result


def writer_env(contact_points, topic: str, rows: int | None, *, consistency: str, replication_factor: int,
               extra_env: dict[str, str] | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The writer subprocess's environment: ``base`` (this process's) with the bench's settings and ``extra_env``.
    Plaintext unless ``extra_env`` names a CA: a CASSANDRA_TLS_CA of the caller's shell would turn (c) into (d)."""
    inherited = {k: v for k, v in (os.environ if base is None else base).items() if k != tls.CA_VAR}
    env = {**inherited, "TOPIC": topic, "CONSISTENCY": consistency,
           "KEYSPACE": KEYSPACE, "REPLICATION_FACTOR": str(replication_factor), "HTTP_PORT": "0",
           "CASSANDRA_SEEDS": ",".join(f"{h}:{p}" for h, p in contact_points), **(extra_env or {})}
    if rows is not None:
        env["WRITER_MAX_SEQS"] = str(rows)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def tls_env(ca: str) -> dict[str, str]:
    """(d)'s environment on top of (c)'s: the writer connects over TLS and trusts ``ca`` (and nothing else)."""
    return {tls.CA_VAR: ca}


def run_writer(runner: Runner, contact_points, topic: str, seconds: float, rows: int | None, *,
               consistency: str, replication_factor: int, extra_env: dict[str, str] | None = None) -> dict:
    """(c): ``python -m writer`` in a subprocess; SIGTERM after ``seconds`` of writing (or WRITER_MAX_SEQS).
    (d) is the same with ``extra_env`` from ``tls_env``."""
    env = writer_env(contact_points, topic, rows, consistency=consistency, replication_factor=replication_factor,
                     extra_env=extra_env)
    proc = runner.spawn([sys.executable, "-m", "writer"], env=env, cwd=str(ROOT), stdout=None,
                        stderr=subprocess.PIPE)
    lines: list[str] = []
    timer = None
    assert proc.stderr is not None  # stderr=PIPE above
    for line in proc.stderr:
        lines.append(line.rstrip())
        if timer is None and ": start from lastSeq=" in line:
            timer = threading.Timer(seconds, proc.send_signal, (signal.SIGTERM,))
            timer.start()
    if timer is not None:
        timer.cancel()
    _, status, usage = os.wait4(proc.pid, 0)  # wait4, not wait(): its rusage is this child's peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    match = next((m for m in map(_SUMMARY.search, reversed(lines)) if m), None)
    if proc.returncode != 0 or match is None:
        tail = "\n".join(lines[-5:])
        raise LabError(f"the writer exited {proc.returncode} without its summary line:\n{tail}")
    seqs, rate = int(match.group(2)), float(match.group(3))
    result = measurement(seqs, seqs / rate if rate else 0.0)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result
