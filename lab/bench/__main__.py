"""The writer benchmark: ways to append seqs, side by side on the same Cassandra in one run.

``python -m lab.bench [--seconds N] [--rows N] [--seeds host:port,...] [--image IMG]`` prints the table and writes
it as JSON (``--json``); with no seeds it starts a Cassandra container from ``--image`` or env CASSANDRA_IMAGE,
serving CQL with TLS optional so that (d), the writer over TLS, runs beside (c) on the same node (``--no-tls``: a
plaintext node, no (d)), and removes it afterwards. ``--check`` exits 1 when a target is missed.
``--commitlog periodic,group,batch`` measures the writer under each commitlog_sync mode instead, one container
per mode (lab.bench.commitlog).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from invoke import Context

from lab import docker, output
from lab.bench.commitlog import format_commitlog_table, parse_modes, run_commitlog_bench
from lab.bench.container import start_cassandra, stop_cassandra, write_tls_files
from lab.bench.rounds import run_bench
from lab.bench.table import format_table
from lab.config import ROOT, LabSettings
from lab.errors import LabError, PreconditionError
from lab.runner import Runner


def parse_seeds(text: str) -> list[tuple[str, int]]:
    """``host[:port],...`` as contact points (port 9042 when none is given)."""
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
    parser.add_argument("--no-tls", action="store_true",
                        help="start the container without TLS (default: TLS optional on 9042 and (d), the writer "
                             "over TLS, beside (c))")
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="where the report goes (default: artifacts/bench/writer-<time>.json)")
    parser.add_argument("--commitlog", default=None, metavar="MODES",
                        help="instead: the writer under each commitlog_sync mode, e.g. periodic,group,batch "
                             "(one container each; the first mode is the baseline)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rounds <= 0 or (args.rows is not None and args.rows <= 0):
        print("ERROR: --seconds, --rounds and --rows must be positive", file=sys.stderr)
        return 2
    runner = Runner(Context(), echo=False)
    if args.commitlog is not None:
        return _commitlog(runner, args)
    name = None
    try:
        # The node's PEM files and the CA (d) trusts: this run's own, gone with the folder.
        with tempfile.TemporaryDirectory(prefix="lab-bench-tls-") as folder:
            ca = None
            if args.seeds:
                points = parse_seeds(args.seeds)
            else:
                image = _require_image(runner, args.image)
                ca = None if args.no_tls else write_tls_files(Path(folder))
                print(f"starting Cassandra from {image}{'' if ca else ' (no TLS)'} ...", file=sys.stderr)
                name, points = start_cassandra(runner, image, tls_dir=ca.parent if ca else None)
            report = run_bench(points, args.seconds, args.rows, consistency=args.consistency.upper(),
                               replication_factor=args.replication_factor, concurrency=args.concurrency,
                               rounds=args.rounds, tls_ca=str(ca) if ca else None, runner=runner)
    except LabError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return err.exit_code
    finally:
        if name:
            stop_cassandra(runner, name)
    report["conditions"] = conditions(args.seeds, args.image, tls=ca is not None)
    print(format_table(report))
    path = Path(args.json) if args.json else json_path()
    print(f"report: {output.write_json(path, {'at': time.time(), **report})}", file=sys.stderr)
    return 1 if args.check and not report["ok"] else 0


def conditions(seeds: str | None, image: str | None, *, tls: bool) -> dict[str, str]:
    """What the run ran against, kept with its figures: the Cassandra, and how its CQL port took TLS."""
    if seeds:
        return {"cassandra": f"seeds {seeds}", "cql_tls": "not known (--seeds); (d) not run"}
    return {"cassandra": f"one container of {image}",
            "cql_tls": ("optional (client_encryption_options enabled=true, optional=true): plaintext (a)-(c) and "
                        "TLS (d) clients on one port" if tls else "off (--no-tls); (d) not run")}


def json_path(now: float | None = None) -> Path:
    """artifacts/bench/writer-<time>.json in the default artifacts folder, beside ``--lab``'s lab-<time>.json."""
    return ROOT / LabSettings().artifacts / "bench" / f"writer-{output.timestamp(now)}.json"


def _require_image(runner: Runner, image: str | None) -> str:
    if not image:
        raise PreconditionError("no Cassandra to measure: pass --seeds, or --image / env CASSANDRA_IMAGE "
                                "(here: export CASSANDRA_IMAGE=$(python -m lab.images.cassandra))")
    docker.ensure_engine(runner)
    if not docker.image_exists(runner, image):
        raise PreconditionError(f"image {image} not found locally; build it with python -m lab.images.cassandra")
    return image


def _commitlog(runner: Runner, args) -> int:
    """``--commitlog``: one container per mode, started here (a running cluster has one mode only)."""
    try:
        modes = parse_modes(args.commitlog)
        if args.seeds:
            raise PreconditionError("--commitlog starts a container per mode; drop --seeds")
        image = _require_image(runner, args.image)
        print(f"starting {len(modes)} Cassandra containers from {image} ({', '.join(modes)}) ...", file=sys.stderr)
        report = run_commitlog_bench(runner, image, modes, seconds=args.seconds, rows=args.rows, rounds=args.rounds,
                                     consistency=args.consistency.upper())
    except LabError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return err.exit_code
    print(format_commitlog_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
