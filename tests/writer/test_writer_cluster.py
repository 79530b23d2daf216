"""The writer against the shared 3-node cluster (replication factor 3): one node killed mid-run.

At QUORUM two replicas suffice, so the writer must keep writing through the kill (we measure its stall
from the write timestamps Cassandra stored); at ALL it must stall, keep retrying, and resume without a gap
once the node is back. Each test restarts the node it killed and waits until the cluster sees it UN.
"""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from conftest import assert_no_gap, connect, free_port, longest_pause, unique_topic, writetimes

pytestmark = pytest.mark.slow

KS = "w3_cluster"
#: The brief's target for the writer's stall when one of three replicas dies at QUORUM.
QUORUM_STALL_TARGET = 2.0


@pytest.fixture(scope="module")
def cql(cassandra_cluster):
    cluster, session = connect(cassandra_cluster.contact_points, cassandra_cluster.local_dc)
    yield session
    cluster.shutdown()


def writer_env(cassandra_cluster, consistency: str, port: int) -> dict[str, str]:
    # The rate cap keeps three small-heap nodes on two cores responsive; 2 s request timeouts bound a hang.
    return {"CASSANDRA_SEEDS": cassandra_cluster.seeds, "CONSISTENCY": consistency, "REPLICATION_FACTOR": "3",
            "KEYSPACE": KS, "TOPIC": unique_topic(consistency.lower()), "WRITER_RATE": "1500",
            "WRITER_REQUEST_TIMEOUT": "2", "LOG_EVERY": "500", "HTTP_PORT": str(port)}


def watermark(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return int(float(re.search(r"^writer_watermark_seq\{[^}]*\} (\S+)$", text, re.M).group(1)))


def test_quorum_keeps_writing_when_a_node_is_killed(writers, cassandra_cluster, cql):
    port = free_port()
    env = writer_env(cassandra_cluster, "QUORUM", port)
    topic = env["TOPIC"]
    writer = writers(env)
    writer.wait_for(rf"{topic}: inserted rows to seq 1500$", 90)
    victim = 0  # the seed, and most likely the driver's control connection: the harder case
    killed_at = time.time()
    cassandra_cluster.kill(victim)
    try:
        before = watermark(port)
        time.sleep(10)
        after = watermark(port)
        assert writer.proc.poll() is None, f"the writer exited:\n{writer.tail()}"
    finally:
        cassandra_cluster.start(victim)
        cassandra_cluster.wait_up(victim, 300)
    assert after - before >= 5000, f"only {after - before} seqs in 10 s with one node down at QUORUM"
    assert writer.terminate() == 0, writer.tail()
    assert assert_no_gap(cql, KS, topic) >= after
    times = [t for _, t in writetimes(cql, KS, topic, first=1)]
    stall = longest_pause(times, killed_at - 0.5, killed_at + 10)
    print(f"QUORUM, node {victim} killed: longest stall {stall:.2f} s; "
          f"{after - before} seqs written in the 10 s after the kill")
    assert stall < QUORUM_STALL_TARGET, f"writer stalled {stall:.2f} s (target < {QUORUM_STALL_TARGET} s)"


def test_all_stalls_while_a_node_is_down_and_resumes_without_gap(writers, cassandra_cluster, cql):
    port = free_port()
    env = writer_env(cassandra_cluster, "ALL", port)
    topic = env["TOPIC"]
    writer = writers(env)
    writer.wait_for(rf"{topic}: inserted rows to seq 1500$", 90)
    victim = 2
    cassandra_cluster.kill(victim)
    try:
        writer.wait_for(rf"{topic}: write of seq \d+ failed .*holding new writes, retrying with backoff", 30)
        time.sleep(3)  # let writes in flight at the kill settle (fail or time out)
        held = watermark(port)
        time.sleep(5)
        assert watermark(port) == held, "the watermark moved at ALL with a replica down"
        assert writer.proc.poll() is None, f"the writer exited:\n{writer.tail()}"
    finally:
        cassandra_cluster.start(victim)
        cassandra_cluster.wait_up(victim, 300)
    over = writer.wait_for(rf"{topic}: outage over after ([\d.]+) s", 60)
    print(f"ALL, node {victim} killed: writes stalled {over.group(1)} s, until the node was back")
    writer.wait_for(rf"{topic}: inserted rows to seq {(held // 500 + 3) * 500}$", 60)
    assert writer.terminate() == 0, writer.tail()
    assert assert_no_gap(cql, KS, topic) > held
