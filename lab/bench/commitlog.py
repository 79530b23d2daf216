"""What durability costs: the writer's throughput under each commitlog_sync mode, side by side.

``python -m lab.bench --commitlog periodic,group,batch`` starts one Cassandra container per mode, the same
way (lab.bench.container) but for the mode's flags (lab/commitlog.py), reads back the mode each node actually
runs (its system_views.settings, not the flags it was given), then runs the real writer against each in
interleaved rounds (periodic, group, batch, periodic, ...) so a change in the machine's load hits every mode
alike. Each container is removed afterwards, with its volume.

The figure is the writer's own: seqs acknowledged per second, from its first write to its last
acknowledgement (one row per seq), and the ratio to the first mode given (periodic, Cassandra's default).
"""

from __future__ import annotations

import uuid
from typing import Any

from lab import commitlog
from lab.bench.container import start_cassandra, stop_cassandra
from lab.bench.contenders import run_writer
from lab.bench.table import combine
from lab.errors import LabError, PreconditionError
from lab.runner import Runner


def parse_modes(text: str) -> tuple[str, ...]:
    """``periodic,group,batch``: each a commitlog_sync mode, none twice; one line for anything else."""
    modes = tuple(m.strip().lower() for m in text.split(",") if m.strip())
    bad = [m for m in modes if m not in commitlog.MODES]
    if bad or not modes or len(set(modes)) != len(modes):
        raise PreconditionError(f"--commitlog {text!r}: a comma-separated list of {', '.join(commitlog.MODES)}, "
                                "each once")
    return modes


def running_settings(points: list[tuple[str, int]]) -> dict[str, str]:
    """The commitlog settings the node at ``points`` runs with (system_views.settings)."""
    from cassandra.cluster import Cluster  # slow to import: see lab.bench.session

    cluster = Cluster(points)
    try:
        rows = cluster.connect().execute(commitlog.SETTINGS_QUERY)
        return commitlog.parse_running([{"name": r.name, "value": str(r.value)} for r in rows])
    finally:
        cluster.shutdown()


def run_commitlog_bench(runner: Runner, image: str, modes: tuple[str, ...], *, seconds: float, rows: int | None,
                        rounds: int, consistency: str, start=start_cassandra, stop=stop_cassandra,
                        read_settings=running_settings, write=run_writer) -> dict:
    """Each mode's container, the writer in interleaved rounds against each, the rates and ratios.

    ``start``, ``stop``, ``read_settings`` and ``write`` are the real ones unless a test passes fakes.
    """
    run_id = uuid.uuid4().hex[:6]
    slice_, slice_rows = seconds / rounds, (None if rows is None else max(1, rows // rounds))
    started: dict[str, tuple[str, list[tuple[str, int]]]] = {}
    parts: dict[str, list[dict]] = {mode: [] for mode in modes}
    running: dict[str, dict[str, str]] = {}
    try:
        for mode in modes:
            started[mode] = start(runner, image, jvm_opts=commitlog.jvm_opts("", mode))
            running[mode] = read_settings(started[mode][1])
            if running[mode].get("commitlog_sync") != mode:
                raise LabError(f"the container started for commitlog_sync {mode} runs "
                                        f"{commitlog.describe(running[mode])}: the flags did not take")
        for round_ in range(rounds):
            for mode in modes:
                parts[mode].append(write(runner, started[mode][1], f"commitlog-{mode}-{run_id}-{round_}", slice_,
                                         slice_rows, consistency=consistency, replication_factor=1))
    finally:
        for name, _ in started.values():
            stop(runner, name)
    report: dict[str, Any] = {"modes": {}, "seconds": seconds, "rows": rows, "rounds": rounds,
                              "consistency": consistency, "baseline": modes[0]}
    for mode in modes:
        combined = combine(parts[mode])
        combined["running"] = commitlog.describe(running[mode])
        report["modes"][mode] = combined
    base = report["modes"][modes[0]]["rate"]
    for mode in modes:
        rate = report["modes"][mode]["rate"]
        report["modes"][mode]["vs_baseline"] = rate / base if base else float("inf")
    return report


def format_commitlog_table(report: dict) -> str:
    """The table: one row per mode, the writer's seqs/s and its ratio to the baseline mode."""
    base = report["baseline"]
    out = [f"{'commitlog_sync':<16} {'running (system_views.settings)':<34} {'seqs':>8} {'seconds':>8} "
           f"{'seqs/s':>9} {'vs ' + base:>12}"]
    for mode, m in report["modes"].items():
        out.append(f"{mode:<16} {m['running']:<34} {m['seqs']:>8} {m['seconds']:>8.1f} {m['rate']:>9.0f} "
                   f"{m['vs_baseline']:>11.2f}x")
    out.append("")
    out.append(f"the writer (python -m writer, defaults) against one Cassandra container per mode, consistency "
               f"{report['consistency']}; seqs/s = rows acknowledged per second; {report['seconds']:g} s per mode "
               f"in {report['rounds']} interleaved rounds")
    return "\n".join(out)
