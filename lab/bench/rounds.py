"""run_bench: the contenders on one Cassandra, in interleaved rounds, combined into one report."""

from __future__ import annotations

import uuid
from typing import Any

from invoke import Context

from lab.bench.contenders import raw_async, run_writer, seed_loop, tls_env
from lab.bench.session import connect, create_schema
from lab.bench.table import summarize
from lab.runner import Runner


def run_bench(contact_points: list[tuple[str, int]], seconds: float = 10.0, rows: int | None = None, *,
              consistency: str = "ONE", replication_factor: int = 1, concurrency: int = 128, rounds: int = 3,
              warmup: float = 5.0, like_for_like: bool = True, tls_ca: str | None = None,
              runner: Runner | None = None) -> dict:
    """Run (a), (b), (c) on ``contact_points``; return rates, ratios and whether the targets hold. With ``tls_ca``
    (the node serves CQL with TLS optional, lab.bench.container) also (d): the writer over TLS trusting that CA.

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
    if tls_ca:
        parts["writer_tls"] = []
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
        for part in writer_order(round_, tls=bool(tls_ca)):
            extra_env = tls_env(tls_ca) if part == "writer_tls" and tls_ca else None
            parts[part].append(run_writer(runner, contact_points, f"{TOPIC_PREFIX[part]}-{run_id}-{round_}", slice_,
                                          slice_rows, extra_env=extra_env, **common))
        if like_for_like:
            parts["writer_batch1"].append(run_writer(runner, contact_points, f"writer1-{run_id}-{round_}", slice_,
                                                     slice_rows, extra_env={"WRITER_BATCH_SIZE": "1"}, **common))
    return summarize(parts, seconds=seconds, rows=rows, rounds=rounds, consistency=consistency)


#: Each writer contender's topic, before the run's id and the round.
TOPIC_PREFIX = {"writer": "writer", "writer_tls": "writertls"}


def writer_order(round_: int, *, tls: bool) -> list[str]:
    """(c), and (d) when measured, in this round's order: (c) first in even rounds, (d) first in odd ones, so
    neither always follows the other (what one leaves behind, a memtable to flush, falls on both alike)."""
    if not tls:
        return ["writer"]
    return ["writer", "writer_tls"] if round_ % 2 == 0 else ["writer_tls", "writer"]
