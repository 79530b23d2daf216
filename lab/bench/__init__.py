"""The writer benchmark: ways to append seqs, side by side on the same Cassandra in one run.

    (a) seed-style loop   one synchronous INSERT into each table per seq (the assignment's writer.go)
    (b) raw async inserts the driver's execute_concurrent over prepared INSERTs, no bookkeeping: the ceiling
                          of one Python client on this node for single-row writes
    (c) our writer        ``python -m writer`` as a real subprocess, its defaults (plus, for a like-for-like
                          view of the bookkeeping cost, the writer with WRITER_BATCH_SIZE=1)
    (d) over TLS          (c) with CASSANDRA_TLS_CA: the same writer to the same node over TLS, its rounds
                          interleaved with (c)'s; the table shows (d)/(c), what TLS costs the writer

Targets (the product brief): (c) >= 20x (a) and >= 70% of (b). Each contender writes its own topic in
keyspace ``ece573_bench`` for ``seconds`` (or ``rows`` seqs, whichever comes first), after a warm-up that
lets the JVM compile its write path. The writer reports its own rate (first write to last acknowledgement,
so connection setup is not counted) and its peak RSS comes from wait4() of its process.

``python -m lab.bench [--seconds N] [--rows N] [--seeds host:port,...] [--image IMG]`` prints a table; with no
seeds it starts a Cassandra container from ``--image`` or env CASSANDRA_IMAGE, CQL with TLS optional (plaintext
and TLS clients on one port: (a)-(c) plaintext, (d) TLS), and removes it afterwards.

The parts:

    session      a driver session made the way the writer makes one; the bench keyspace and tables
    contenders   (a), (b), (c) and (d), each measured on its own topic
    rounds       run_bench: the contenders in interleaved rounds, combined into one report
    table        the measurements' arithmetic, the targets, (d)/(c) and the table
    container    a Cassandra container of the benchmark's own, when no seeds are given, and its TLS files
    live         ``invoke bench --lab``: the running lab's pod starts and deletion rounds, phase by phase;
                 ``--up``: both paths of ``invoke up`` timed step by step
    phases       the arithmetic of those phases and of the writer's longest send gap by WRITETIME
    faults       ``--fault``: each kind as its ``invoke chaos`` command, its rounds summed up in one row
    __main__     the command line above

This package re-exports the names its callers use.
"""

from lab.bench.container import start_cassandra, stop_cassandra
from lab.bench.rounds import run_bench
from lab.bench.session import KEYSPACE
from lab.bench.table import TARGET_VS_RAW, TARGET_VS_SEED, format_table

__all__ = [
    "KEYSPACE",
    "TARGET_VS_RAW",
    "TARGET_VS_SEED",
    "format_table",
    "run_bench",
    "start_cassandra",
    "stop_cassandra",
]
