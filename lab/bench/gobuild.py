"""Cold Go builds side by side: what the lab's Go build settings save, measured on the lab's registry.

    python -m lab.bench.gobuild [--rounds N]        (invoke bench --go)

Each round builds the registry three ways, one after another, each into an empty Go build cache (the module
cache is filled first, untimed, so the network is not measured):

    (a) upstream's ``cmd/registry`` (every storage driver and auth plugin), Go's defaults
    (b) the lab's wrapper module (images/registry/go: the filesystem driver only), Go's defaults
    (c) the lab's build: the wrapper with lab.images.golang's environment (GOGC=400, no DWARF)

and prints each build's wall time and CPU time (user + system of go and its compilers), the medians over the
rounds, and the ratios c/a and c/b. Cold builds are what a new machine, and CI on one, pays.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lab.errors import PreconditionError
from lab.images import golang, registry
from lab.output import table

#: The three ways, in the order each round builds them.
WAYS = {
    "a": "upstream cmd/registry, Go's defaults",
    "b": "lab wrapper (filesystem driver), Go's defaults",
    "c": f"lab wrapper, lab's Go env (GOGC={golang.BUILD_GOGC}, no DWARF)",
}


@dataclass(frozen=True)
class Build:
    way: str
    wall_s: float
    cpu_s: float


def build_argv(way: str, out: Path) -> list[str]:
    return registry.upstream_install_args() if way == "a" else registry.go_build_args(out / "registry")


def build_env(way: str, cache: Path, out: Path) -> dict[str, str]:
    """The process environment of one build: an empty cache of its own; Go's defaults but for (c)."""
    env = {**os.environ, **golang.go_env(), "GOCACHE": str(cache), "GOBIN": str(out)}
    if way != "c":
        env.update(GOGC="100", GOFLAGS="-buildvcs=false")
    return env


def timed_build(way: str, scratch: Path) -> Build:
    """One cold build of ``way``; its wall and CPU seconds (CPU of every process it waited for)."""
    cache, out = scratch / f"cache-{way}", scratch / f"bin-{way}"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    out.mkdir(exist_ok=True)
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    done = subprocess.run(build_argv(way, out), env=build_env(way, cache, out), capture_output=True, text=True)
    wall, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"ERROR: build ({way}) {WAYS[way]} failed: {done.stderr.strip()[-300:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    shutil.rmtree(cache, ignore_errors=True)
    return Build(way, round(wall, 1), round(cpu, 1))


def _go(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"ERROR: {' '.join(argv)} failed (is the Go module proxy reachable?): "
                         f"{done.stderr.strip()[-300:]}")
    return done.stdout


def download_modules() -> None:
    """Fill the module cache for both builds (untimed: the benchmark measures compiling, not the network):
    the wrapper's modules, and upstream's release with every module its own go.mod needs."""
    _go(["go", "-C", str(registry.WRAPPER_DIR), "mod", "download"])
    upstream = json.loads(_go(["go", "mod", "download", "-json", f"{registry.MODULE}@{registry.VERSION}"]))["Dir"]
    _go(["go", "-C", upstream, "mod", "download"])


def summary(builds: list[Build]) -> dict[str, dict[str, float]]:
    """Per way: median wall and CPU seconds; and the ratios of (c) to (a) and to (b)."""
    medians = {way: {"wall_s": statistics.median(b.wall_s for b in builds if b.way == way),
                     "cpu_s": statistics.median(b.cpu_s for b in builds if b.way == way)} for way in WAYS}
    for base in ("a", "b"):
        medians[f"c/{base}"] = {key: round(medians["c"][key] / medians[base][key], 2) for key in ("wall_s", "cpu_s")}
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.bench.gobuild", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three builds (default 2)")
    args = parser.parse_args(argv)
    if args.rounds <= 0:
        print("ERROR: --rounds must be positive", file=sys.stderr)
        return 2
    try:
        golang.require_go("to build the lab's images")
    except PreconditionError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 2
    download_modules()
    builds = []
    with tempfile.TemporaryDirectory(prefix="lab-gobench-") as scratch:
        for number in range(1, args.rounds + 1):
            for way in WAYS:
                print(f"round {number}: building ({way}) {WAYS[way]} ...", file=sys.stderr, flush=True)
                builds.append(timed_build(way, Path(scratch)))
    table(["build", "wall (s)", "CPU (s)"], [[f"({b.way}) {WAYS[b.way]}", b.wall_s, b.cpu_s] for b in builds],
          title="Cold builds of the lab's registry, in the order run")
    medians = summary(builds)
    table(["", "wall (s)", "CPU (s)"], [[f"({way}) median" if len(way) == 1 else way, m["wall_s"], m["cpu_s"]]
                                          for way, m in medians.items()],
          title=f"Medians of {args.rounds} round(s), and the lab's build (c) against (a) and (b)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
