"""The test suites and the benchmark, as `invoke test`, `invoke e2e` and `invoke bench` run them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from lab import progress
from lab.errors import CommandError, LabError, split_args
from lab.runner import Runner

#: The fast tier: no Docker, no cluster; what `invoke test --quick` runs.
QUICK_MARKERS = "not slow and not cluster"


#: The end-to-end run on a kind cluster; what `invoke e2e` runs.
E2E_TESTS = "tests/e2e"

#: The heavy tiers end with their slowest tests and seconds: where a long run's time went, in its own log.
SLOWEST = "--durations=25"


def pytest_args(*, quick: bool = False, extra: str = "", paths: tuple[str, ...] = ()) -> list[str]:
    argv = [sys.executable, "-m", "pytest", *(["-m", QUICK_MARKERS] if quick else [SLOWEST])]
    return argv + list(paths) + split_args(extra)


#: The benchmarks `invoke bench` runs: the writer's (default) and the cold Go builds' (--go).
BENCHES = {"writer": "lab.bench", "go": "lab.bench.gobuild"}


def bench_args(extra: str = "", *, which: str = "writer") -> list[str]:
    return [sys.executable, "-m", BENCHES[which], *split_args(extra)]


def run_tests(runner: Runner, *, quick: bool = False, extra: str = "", paths: tuple[str, ...] = (),
              cassandra_image: Callable[[], str] | None = None) -> None:
    """pytest; the full run first settles the Cassandra image (``cassandra_image()``: the lab's source policy,
    lab.images.cassandra_source: a local copy, a pull or a local build) and tells pytest its name."""
    argv = pytest_args(quick=quick, extra=extra, paths=paths)  # a bad --args is one line before anything runs
    env = None
    if not quick and not os.environ.get("CASSANDRA_IMAGE") and cassandra_image is not None:
        with progress.step("Cassandra image for the integration tests") as s:
            tag = cassandra_image()
            s.note(tag)
        env = {"CASSANDRA_IMAGE": tag}
    try:
        runner.run(argv, timeout=None, env=env)
    except CommandError as err:
        # pytest's own summary is already on the terminal; keep its exit code (1 failures, 5 no tests ...).
        raise TestsFailed(err.exited) from err


def run_bench(runner: Runner, extra: str = "", *, which: str = "writer") -> None:
    try:
        runner.run(bench_args(extra, which=which), timeout=None)
    except CommandError as err:
        raise LabError(f"bench failed: {err}") from err


class TestsFailed(LabError):
    """pytest exited non-zero; carries its exit code through to invoke's Exit."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, code: int | None):
        self.exit_code = code if code else 1
        super().__init__(f"tests failed (pytest exit code {code})")
