"""run_bench: the three contenders on one Cassandra, in interleaved rounds, combined into one report."""

from __future__ import annotations

import uuid
from typing import Any

from invoke import Context

from lab.bench.contenders import raw_async, run_writer, seed_loop
from lab.bench.session import connect, create_schema
from lab.bench.table import summarize
from lab.runner import Runner


def run_bench(contact_points: list[tuple[str, int]], seconds: float = 10.0, rows: int | None = None, *,
              consistency: str = "ONE", replication_factor: int = 1, concurrency: int = 128, rounds: int = 3,
              warmup: float = 5.0, like_for_like: bool = True, runner: Runner | None = None) -> dict:
    """Run (a), (b), (c) on ``contact_points``; return rates, ratios and whether the targets hold.

    Each contender gets ``seconds`` in total, split over ``rounds`` interleaved rounds (a, b, c, a, b, c, ...)
    so that a change in the machine's load during the run hits every contender alike.
    """
    runner = runner or Runner(Context(), echo=False)
    run_id = uuid.uuid4().hex[:6]
    slice_, slice_rows = seconds / rounds, (None if rows is None else max(1, rows // rounds))
    common: dict[str, Any] = dict(consistency=consistency, replication_factor=replication_factor)
    parts: dict[str, list[dict]] = {"seed": [], "raw_async": [], "writer": []}
    if like_for_like:
        parts["writer_batch1"] = []
    for round_ in range(rounds):
        cluster, session = connect(contact_points, consistency)
        try:
            if round_ == 0:
                create_schema(session, replication_factor)
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
    return summarize(parts, seconds=seconds, rows=rows, rounds=rounds, consistency=consistency)
