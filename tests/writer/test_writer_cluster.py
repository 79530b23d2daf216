"""The writer against the shared 3-node cluster (replication factor 3): one node killed mid-run.

At QUORUM two replicas suffice, so the writer must keep writing through the kill (we measure its stall
from the write timestamps Cassandra stored); at ALL it must stall, keep retrying, and resume without a gap
once the node is back. Both writers run through the same kill (a restart costs a minute or more on a
small machine); the test restarts the node and waits until the cluster sees it UN.
"""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from lab.net import free_port
from tests.writer.support import assert_no_gap, longest_pause, unique_topic, writetimes

pytestmark = pytest.mark.slow

KS = "w3_cluster"
#: The brief's target for the writer's stall when one of three replicas dies at QUORUM: reported, not asserted,
#: because a timing bar in a test flakes on a loaded machine (the chaos benchmark on kind measures it).
QUORUM_STALL_TARGET = 2.0
#: What is asserted: the QUORUM writer rode through the kill, far below an ALL writer's wait for the node.
QUORUM_STALL_CEILING = 10.0


def writer_env(cassandra_cluster, consistency: str, port: int) -> dict[str, str]:
    # The rate cap keeps three small-heap nodes on two cores responsive; 2 s request timeouts bound a hang.
    return {"CASSANDRA_SEEDS": cassandra_cluster.seeds, "CONSISTENCY": consistency, "REPLICATION_FACTOR": "3",
            "KEYSPACE": KS, "TOPIC": unique_topic(consistency.lower()), "WRITER_RATE": "1500",
            "WRITER_REQUEST_TIMEOUT": "2", "LOG_EVERY": "500", "HTTP_PORT": str(port)}


def watermark(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return int(float(re.search(r"^writer_watermark_seq\{[^}]*\} (\S+)$", text, re.M).group(1)))


def test_one_node_killed_quorum_keeps_writing_all_stalls_then_both_resume(writers, cassandra_cluster, cluster_cql):
    # One kill and one restart serve both levels: a restart costs a minute or more on a small machine.
    q_port, a_port = free_port(), free_port()
    q_env, a_env = writer_env(cassandra_cluster, "QUORUM", q_port), writer_env(cassandra_cluster, "ALL", a_port)
    q_writer, a_writer = writers(q_env), writers(a_env)
    q_writer.wait_for(rf"{q_env['TOPIC']}: inserted rows to seq 1500$", 90)
    a_writer.wait_for(rf"{a_env['TOPIC']}: inserted rows to seq 1500$", 90)
    victim = 0  # the seed, and most likely the drivers' control connection: the harder case
    killed_at = time.time()
    cassandra_cluster.kill(victim)
    try:
        q_before = watermark(q_port)
        a_writer.wait_for(rf"{a_env['TOPIC']}: write of seq \d+ failed .*holding new writes, retrying with backoff",
                          30)
        time.sleep(3)  # let ALL writes in flight at the kill settle (fail or time out)
        held = watermark(a_port)
        time.sleep(max(0.0, killed_at + 12 - time.time()))
        q_after = watermark(q_port)
        assert watermark(a_port) == held, "the watermark moved at ALL with a replica down"
        for writer in (q_writer, a_writer):
            assert writer.proc.poll() is None, f"a writer exited:\n{writer.tail()}"
    finally:
        restarted_line = len(a_writer.lines)  # the outage must end after this point, not before
        cassandra_cluster.start(victim)
        cassandra_cluster.wait_up(victim, 300)

    # QUORUM: two of three replicas suffice, so writing went on; its longest pause comes from Cassandra's
    # own write timestamps (the client's clock, the same as ours).
    # A floor, not a rate: a loaded CI machine slows everything, but the writer must not have stopped.
    assert q_after - q_before >= 1000, f"only {q_after - q_before} seqs in ~12 s with one node down at QUORUM"
    times = [t for _, t in writetimes(cluster_cql, KS, q_env["TOPIC"], first=1)]
    stall = longest_pause(times, killed_at - 0.5, killed_at + 10)
    print(f"QUORUM, node {victim} killed: longest stall {stall:.2f} s; {q_after - q_before} seqs after the kill")

    # ALL: stalled while the node was down, resumes by itself once it is back.
    events = [line for line in a_writer.lines if "outage" in line or "holding" in line or "still retrying" in line]
    print("ALL writer:\n  " + "\n  ".join(events))
    over = a_writer.wait_for(rf"{a_env['TOPIC']}: outage over after ([\d.]+) s", 60, after=restarted_line)
    print(f"ALL, node {victim} killed: writes stalled {over.group(1)} s, until the node was back")
    a_writer.wait_for(rf"{a_env['TOPIC']}: inserted rows to seq {(held // 500 + 3) * 500}$", 60)

    for writer in (q_writer, a_writer):
        assert writer.terminate() == 0, writer.tail()
    assert assert_no_gap(cluster_cql, KS, q_env["TOPIC"]) >= q_after
    assert assert_no_gap(cluster_cql, KS, a_env["TOPIC"]) > held
    verdict = "met" if stall < QUORUM_STALL_TARGET else f"MISSED by {stall - QUORUM_STALL_TARGET:.2f} s"
    print(f"QUORUM stall {stall:.2f} s vs the brief's target {QUORUM_STALL_TARGET} s: {verdict}")
    assert stall < QUORUM_STALL_CEILING, (
        f"QUORUM writer stalled {stall:.2f} s (ceiling {QUORUM_STALL_CEILING} s): "
        f"it waited for the node instead of writing on; its log:\n{q_writer.tail(15)}"
    )
