"""The writer benchmark: three ways to append seqs, side by side on the same Cassandra in one run.

    (a) seed-style loop   one synchronous INSERT into each table per seq (the assignment's writer.go)
    (b) raw async inserts the driver's execute_concurrent over prepared INSERTs, no bookkeeping: the ceiling
                          of one Python client on this node for single-row writes
    (c) our writer        ``python -m writer`` as a real subprocess, its defaults (plus, for a like-for-like
                          view of the bookkeeping cost, the writer with WRITER_BATCH_SIZE=1)

Targets (the product brief): (c) >= 20x (a) and >= 70% of (b). Each contender writes its own topic in
keyspace ``ece573_bench`` for ``seconds`` (or ``rows`` seqs, whichever comes first), after a warm-up that
lets the JVM compile its write path. The writer reports its own rate (first write to last acknowledgement,
so connection setup is not counted) and its peak RSS comes from wait4() of its process.

``python -m lab.bench [--seconds N] [--rows N] [--seeds host:port,...] [--image IMG]`` prints a table; with no
seeds it starts a Cassandra container from ``--image`` or env CASSANDRA_IMAGE and removes it afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

from invoke import Context

from lab import docker
from lab.config import ROOT
from lab.errors import LabError, PreconditionError
from lab.net import free_port
from lab.runner import Runner

KEYSPACE = "ece573_bench"
TARGET_VS_SEED = 20.0
TARGET_VS_RAW = 0.70
_SUMMARY = re.compile(r": stopped at seq (\d+) \(wrote (\d+) rows in this run, (\d+) seqs/s")


def _session(contact_points: list[tuple[str, int]], consistency: str):
    """A driver session the way the writer makes one (token-aware, explicit DC, the given level)."""
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    probe = Cluster(contact_points)
    try:
        local_dc = probe.connect().execute("SELECT data_center FROM system.local").one().data_center
    finally:
        probe.shutdown()
    profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
                               consistency_level=ConsistencyLevel.name_to_value[consistency], request_timeout=20)
    cluster = Cluster(contact_points, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    return cluster, cluster.connect()


def _schema(session, replication_factor: int) -> None:
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                    f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.prj04 "
                    "(topic text, seq int, value double, PRIMARY KEY (topic, seq))")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.prj04_last_seq (topic text, seq int, PRIMARY KEY (topic))")


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
    return _result(seq, time.monotonic() - began)


def raw_async(session, topic: str, seconds: float, rows: int | None, concurrency: int) -> dict:
    """(b): prepared single-row INSERTs through execute_concurrent, ``concurrency`` in flight, nothing else."""
    from cassandra.concurrent import execute_concurrent_with_args

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
    result = _result(count - failures, time.monotonic() - began)
    result["failures"] = failures
    return result


def run_writer(runner: Runner, contact_points, topic: str, seconds: float, rows: int | None, *,
               consistency: str, replication_factor: int, extra_env: dict[str, str] | None = None) -> dict:
    """(c): ``python -m writer`` in a subprocess; SIGTERM after ``seconds`` of writing (or WRITER_MAX_SEQS)."""
    env = {**os.environ, "TOPIC": topic, "CONSISTENCY": consistency, "KEYSPACE": KEYSPACE,
           "REPLICATION_FACTOR": str(replication_factor), "HTTP_PORT": "0",
           "CASSANDRA_SEEDS": ",".join(f"{h}:{p}" for h, p in contact_points), **(extra_env or {})}
    if rows is not None:
        env["WRITER_MAX_SEQS"] = str(rows)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = runner.spawn([sys.executable, "-m", "writer"], env=env, cwd=str(ROOT), stdout=None,
                        stderr=subprocess.PIPE)
    lines: list[str] = []
    timer = None
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
    result = _result(seqs, seqs / rate if rate else 0.0)
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def _result(seqs: int, seconds: float) -> dict:
    return {"seqs": seqs, "seconds": round(seconds, 3), "rate": seqs / seconds if seconds > 0 else 0.0}


def run_bench(contact_points: list[tuple[str, int]], seconds: float = 10.0, rows: int | None = None, *,
              consistency: str = "ONE", replication_factor: int = 1, concurrency: int = 128, rounds: int = 3,
              warmup: float = 5.0, like_for_like: bool = True, runner: Runner | None = None) -> dict:
    """Run (a), (b), (c) on ``contact_points``; return rates, ratios and whether the targets hold.

    Each contender gets ``seconds`` in total, split over ``rounds`` interleaved rounds (a, b, c, a, b, c, ...)
    so that a change in the machine's load during the run hits every contender alike.
    """
    runner = runner or _runner()
    run_id = uuid.uuid4().hex[:6]
    slice_, slice_rows = seconds / rounds, (None if rows is None else max(1, rows // rounds))
    common = dict(consistency=consistency, replication_factor=replication_factor)
    parts: dict[str, list[dict]] = {"seed": [], "raw_async": [], "writer": []}
    if like_for_like:
        parts["writer_batch1"] = []
    for round_ in range(rounds):
        cluster, session = _session(contact_points, consistency)
        try:
            if round_ == 0:
                _schema(session, replication_factor)
                raw_async(session, f"warmup-{run_id}", warmup, None, concurrency)
            # A fresh topic per round: the seed loop and the writers always start at seq 1.
            parts["seed"].append(seed_loop(session, f"seed-{run_id}-{round_}", slice_, slice_rows))
            parts["raw_async"].append(raw_async(session, f"raw-{run_id}-{round_}", slice_, slice_rows, concurrency))
        finally:
            cluster.shutdown()  # the writer must not share the CPU with this process's event loop
        parts["writer"].append(run_writer(runner, contact_points, f"writer-{run_id}-{round_}", slice_, slice_rows,
                                          **common))
        if like_for_like:
            parts["writer_batch1"].append(run_writer(runner, contact_points, f"writer1-{run_id}-{round_}", slice_,
                                                     slice_rows, extra_env={"WRITER_BATCH_SIZE": "1"}, **common))
    report = {name: _combine(results) for name, results in parts.items()}
    report.update(seconds=seconds, rows=rows, rounds=rounds, consistency=consistency)
    seed, raw, writer = report["seed"], report["raw_async"], report["writer"]
    report["vs_seed"] = writer["rate"] / seed["rate"] if seed["rate"] else float("inf")
    report["vs_raw"] = writer["rate"] / raw["rate"] if raw["rate"] else float("inf")
    report["ok"] = report["vs_seed"] >= TARGET_VS_SEED and report["vs_raw"] >= TARGET_VS_RAW
    return report


def _combine(results: list[dict]) -> dict:
    combined = _result(sum(r["seqs"] for r in results), sum(r["seconds"] for r in results))
    if any("peak_rss_mb" in r for r in results):
        combined["peak_rss_mb"] = max(r.get("peak_rss_mb", 0.0) for r in results)
    return combined


def format_report(report: dict) -> str:
    """The table ``python -m lab.bench`` prints."""
    seed_rate, raw_rate = report["seed"]["rate"], report["raw_async"]["rate"]
    rows = [("(a) seed-style loop: sync INSERT into both tables per seq", report["seed"]),
            ("(b) raw async INSERTs, no bookkeeping (ceiling)", report["raw_async"]),
            ("(c) writer (python -m writer, defaults)", report["writer"])]
    if "writer_batch1" in report:
        rows.append(("    writer with WRITER_BATCH_SIZE=1 (like for like)", report["writer_batch1"]))
    out = [f"{'contender':<58} {'seqs':>8} {'seconds':>8} {'seqs/s':>9} {'vs (a)':>8} {'vs (b)':>7}"]
    for label, r in rows:
        out.append(f"{label:<58} {r['seqs']:>8} {r['seconds']:>8.1f} {r['rate']:>9.0f} "
                   f"{r['rate'] / seed_rate:>7.1f}x {r['rate'] / raw_rate:>6.0%}")
    verdict = lambda ok: "PASS" if ok else "MISS"  # noqa: E731
    out.append("")
    out.append(f"target (c) >= {TARGET_VS_SEED:.0f}x (a):   {report['vs_seed']:.1f}x  "
               f"{verdict(report['vs_seed'] >= TARGET_VS_SEED)}")
    out.append(f"target (c) >= {TARGET_VS_RAW:.0%} of (b): {report['vs_raw']:.0%}  "
               f"{verdict(report['vs_raw'] >= TARGET_VS_RAW)}")
    rss = [f"{report['writer']['peak_rss_mb']:.0f} MB"]
    if "writer_batch1" in report:
        rss.append(f"{report['writer_batch1']['peak_rss_mb']:.0f} MB with batch 1")
    out.append(f"writer peak RSS: {', '.join(rss)}   (consistency {report['consistency']}, "
               f"{report['seconds']:g} s per contender in {report['rounds']} interleaved rounds)")
    return "\n".join(out)


# -- a Cassandra of its own ---------------------------------------------------------------------------------


def start_cassandra(runner: Runner, image: str, *, timeout: float = 300) -> tuple[str, list[tuple[str, int]]]:
    """``docker run`` one node with its CQL port on 127.0.0.1; wait until it answers. Returns (name, points)."""
    from cassandra.cluster import Cluster

    name = f"ece573-bench-{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {"MAX_HEAP_SIZE": "1G", "HEAP_NEWSIZE": "256M", "CASSANDRA_CLUSTER_NAME": "ece573-bench"}
    runner.run(docker.run_detached_args(image, name=name, env=env, publish=[f"127.0.0.1:{port}:9042"]),
               hide=True, timeout=120)
    points = [("127.0.0.1", port)]
    deadline = time.monotonic() + timeout
    while True:
        cluster = Cluster(points, connect_timeout=5)
        try:
            cluster.connect().execute("SELECT release_version FROM system.local")
            return name, points
        except Exception as err:  # noqa: BLE001 - not up yet, until the deadline
            if time.monotonic() > deadline:
                stop_cassandra(runner, name)
                raise LabError(f"Cassandra from {image} did not answer CQL within {timeout:.0f} s: {err}") from err
        finally:
            cluster.shutdown()
        time.sleep(3)


def stop_cassandra(runner: Runner, name: str) -> None:
    runner.probe(docker.remove_args(name), timeout=120)


def _runner() -> Runner:

    return Runner(Context(), echo=False)


def _parse_seeds(text: str) -> list[tuple[str, int]]:
    points = []
    for item in text.split(","):
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "9042")
        if not host or not port.isdigit():
            raise PreconditionError(f"--seeds: expected host[:port],..., got {text!r}")
        points.append((host, int(port)))
    return points


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time each contender writes (default 10)")
    parser.add_argument("--rows", type=int, default=None, help="stop each contender after this many seqs")
    parser.add_argument("--seeds", default=None, help="host[:port],... of a running Cassandra (default: start one)")
    parser.add_argument("--image", default=os.environ.get("CASSANDRA_IMAGE"),
                        help="Cassandra image to start when --seeds is not given (default: env CASSANDRA_IMAGE)")
    parser.add_argument("--consistency", default="ONE", help="consistency level of every contender (default ONE)")
    parser.add_argument("--replication-factor", type=int, default=1, help="of the bench keyspace (default 1)")
    parser.add_argument("--concurrency", type=int, default=128, help="in-flight requests of (b) (default 128)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per contender (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rounds <= 0 or (args.rows is not None and args.rows <= 0):
        print("ERROR: --seconds, --rounds and --rows must be positive", file=sys.stderr)
        return 2
    runner = _runner()
    name = None
    try:
        if args.seeds:
            points = _parse_seeds(args.seeds)
        else:
            if not args.image:
                raise PreconditionError("no Cassandra to measure: pass --seeds, or --image / env CASSANDRA_IMAGE "
                                        "(here: export CASSANDRA_IMAGE=$(python -m lab.images.cassandra))")
            docker.ensure_engine(runner)
            if not docker.image_exists(runner, args.image):
                raise PreconditionError(f"image {args.image} not found locally; build it with "
                                        "python -m lab.images.cassandra")
            print(f"starting Cassandra from {args.image} ...", file=sys.stderr)
            name, points = start_cassandra(runner, args.image)
        report = run_bench(points, args.seconds, args.rows, consistency=args.consistency.upper(),
                           replication_factor=args.replication_factor, concurrency=args.concurrency,
                           rounds=args.rounds, runner=runner)
    except LabError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return err.exit_code
    finally:
        if name:
            stop_cassandra(runner, name)
    print(format_report(report))
    return 1 if args.check and not report["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
