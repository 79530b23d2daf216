"""The writer benchmark: three ways to append seqs, side by side on the same Cassandra in one run.

``python -m lab.bench [--seconds N] [--rows N] [--seeds host:port,...] [--image IMG]`` prints the table; with no
seeds it starts a Cassandra container from ``--image`` or env CASSANDRA_IMAGE and removes it afterwards.
``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import sys

from invoke import Context

from lab import docker
from lab.bench.container import start_cassandra, stop_cassandra
from lab.bench.report import format_report
from lab.bench.rounds import run_bench
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
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rounds <= 0 or (args.rows is not None and args.rows <= 0):
        print("ERROR: --seconds, --rounds and --rows must be positive", file=sys.stderr)
        return 2
    runner = Runner(Context(), echo=False)
    name = None
    try:
        if args.seeds:
            points = parse_seeds(args.seeds)
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
