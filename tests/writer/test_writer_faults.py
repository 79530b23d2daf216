"""Issue 11 against one real Cassandra node: permanent errors, the end of the int range, a cluster slower than
the request timeout, and two writers on one topic. Each test writes its own topic in keyspace ``w3_faults``."""

from __future__ import annotations

import random
import re
import time
import urllib.error
import urllib.request

import pytest

from lab.net import free_port
from tests.writer.delayproxy import DelayProxy
from tests.writer.support import assert_no_gap, connect, last_seq, stored_seqs, unique_topic

pytestmark = pytest.mark.slow

KS = "w3_faults"
MAX_SEQ = 2**31 - 1


@pytest.fixture(scope="module")
def cql(cassandra_node):
    cluster, session = connect(cassandra_node.contact_points, cassandra_node.local_dc)
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KS} WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KS}.prj04 (topic text, seq int, value double, "
                    "PRIMARY KEY (topic, seq))")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KS}.prj04_last_seq (topic text, seq int, PRIMARY KEY (topic))")
    yield session
    cluster.shutdown()


@pytest.fixture
def env(cassandra_node):
    return {"CASSANDRA_SEEDS": cassandra_node.seeds, "KEYSPACE": KS, "REPLICATION_FACTOR": "1",
            "CONSISTENCY": "QUORUM", "TOPIC": unique_topic("f")}


@pytest.mark.parametrize("extra, line", [
    ({"KEYSPACE": "select"},
     r"^writer: Cassandra refused a statement as invalid CQL \(check KEYSPACE: a reserved word\?\) while creating "
     r"the schema \(SyntaxException: .*\)$"),
    ({"CASSANDRA_DC": "nowhere"},
     r"^writer: CASSANDRA_DC 'nowhere' matches no Cassandra node \(their datacenters: datacenter1\)$"),
    ({"REPLICATION_FACTOR": "1", "KEYSPACE": "system"},
     r"^writer: .*while creating the schema \((Unauthorized|InvalidRequest|ConfigurationException): .*\)$"),
], ids=["reserved-keyspace", "wrong-dc", "system-keyspace"])
def test_a_permanent_error_exits_2_with_its_line(writers, env, extra, line):
    writer = writers({**env, **extra})
    code = writer.wait(60)
    assert code == 2, writer.tail()
    assert "Traceback" not in writer.output
    assert re.search(line, writer.lines[-1]), writer.tail()
    assert not any("retrying" in text for text in writer.lines), "a permanent error was retried"


def test_the_topic_stops_at_the_largest_int_seq_and_exits_0(writers, env, cql):
    topic = env["TOPIC"]
    cql.execute(f"INSERT INTO {KS}.prj04_last_seq (topic, seq) VALUES (%s, %s)", (topic, MAX_SEQ - 50))
    writer = writers(env)
    assert writer.wait(60) == 0, writer.tail()
    assert f"{topic}: reached seq {MAX_SEQ}, the largest the int column seq holds; this topic is full" in writer.output
    assert last_seq(cql, KS, topic) == MAX_SEQ
    assert stored_seqs(cql, KS, topic) == list(range(MAX_SEQ - 49, MAX_SEQ + 1))
    again = writers(env)  # a restarted writer: the same line at once, nothing written
    assert again.wait(60) == 0, again.tail()
    assert f"{topic}: start from lastSeq={MAX_SEQ}" in again.output and "this topic is full" in again.output
    assert "Traceback" not in writer.output + again.output


def test_a_request_timeout_shorter_than_the_latency_still_makes_progress(writers, env, cql, cassandra_node):
    # Every answer comes 0.3 s late; the writer stops waiting after 0.1 s. Before issue 11 every write
    # "failed" (OperationTimedOut), landed anyway, was re-sent, and the watermark never moved.
    proxy = DelayProxy((cassandra_node.host, cassandra_node.port), delay=0.3)
    try:
        writer = writers({**env, "CASSANDRA_SEEDS": proxy.seeds, "WRITER_REQUEST_TIMEOUT": "0.1",
                          "WRITER_MAX_SEQS": "5000"})
        assert writer.wait(120) == 0, writer.tail()
    finally:
        proxy.close()
    match = re.search(r"stopped at seq (\d+) \(wrote (\d+) rows .* (\d+) late acks, last_seq=(\d+)\)", writer.output)
    assert match, writer.tail()
    stopped, rows, late, stored = map(int, match.groups())
    print(f"timeout 0.1 s, latency +0.3 s: {rows} rows, {late} late acknowledgements")
    assert stopped == stored == 5000 and rows == 5000 and late > 0
    assert stored_seqs(cql, KS, env["TOPIC"]) == list(range(1, 5001))


def test_two_writers_on_one_topic_leave_no_gap(writers, env, cql):
    # What `kubectl delete pod --force` does: the replacement starts while the old writer still runs.
    # Both write the same seqs (idempotent upserts); each stores only its own contiguous watermark, so
    # last_seq may step back when the two interleave but never runs ahead of rows some writer wrote.
    topic, rng = env["TOPIC"], random.Random()
    env = {**env, "WRITER_RATE": "3000"}
    previous = 0
    for round_ in range(4):
        old = writers(env)
        old.wait_for(rf"{topic}: start from lastSeq=\d+$", 60)
        time.sleep(rng.uniform(0.5, 1.5))
        new = writers(env)  # the replacement, while the old one is still writing
        new_start = int(new.wait_for(rf"{topic}: start from lastSeq=(\d+)$", 60).group(1))
        time.sleep(rng.uniform(0.5, 2.0))
        for proc in rng.sample([old, new], 2):  # SIGKILL both, in random order, at random moments
            proc.kill()
            time.sleep(rng.uniform(0, 0.5))
        assert "Traceback" not in old.output + new.output
        stored = assert_no_gap(cql, KS, topic)
        print(f"round {round_}: replacement started at lastSeq={new_start}; after both SIGKILLs last_seq={stored}")
        assert stored >= previous or stored >= new_start - 1
        previous = stored
    assert previous > 0
    final = writers({**env, "WRITER_MAX_SEQS": "500"})
    start = int(final.wait_for(rf"{topic}: start from lastSeq=(\d+)$", 60).group(1))
    assert final.wait(60) == 0, final.tail()
    assert assert_no_gap(cql, KS, topic) == start + 500


def test_an_outage_a_rebuild_cannot_end_turns_healthz_red_with_the_reason_then_green(writers, env, cql,
                                                                                      cassandra_node):
    port = free_port()

    def healthz(path="/healthz"):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    topic = env["TOPIC"]
    writer = writers({**env, "HTTP_PORT": str(port), "WRITER_RATE": "2000", "WRITER_REQUEST_TIMEOUT": "2",
                      "WRITER_RESOLVE_AFTER": "3", "WRITER_UNHEALTHY_AFTER": "4", "WRITER_UNREADY_AFTER": "1"})
    writer.wait_for(rf"{topic}: inserted rows to seq 2000$", 60)
    assert healthz() == (200, "ok\n") and healthz("/readyz") == (200, "ready\n")
    try:
        cassandra_node.stop(timeout=30)
        writer.wait_for(rf"{topic}: no write succeeded for [\d.]+ s .*re-resolving the seeds and rebuilding", 30)
        status, body = healthz("/readyz")  # an outage of 3 s and more: not ready, and why
        assert status == 503 and body.startswith(f"not ready: {topic}: no write succeeded for "), body
        assert "; last error: " in body
        line = writer.wait_for(r".*/healthz now reports unhealthy so that Kubernetes restarts this writer", 30).group(0)
        status, body = healthz()
        print(f"red: {body.strip()}")
        assert status == 503 and body.startswith(f"unhealthy: {topic}: no write succeeded for ")
        assert "rebuilding the session, first tried" in body and "last error:" in body
        assert f"{topic}: no write succeeded for" in line
        assert writer.proc.poll() is None, "the writer exited instead of waiting (the kubelet decides)"
    finally:
        cassandra_node.start(timeout=240)
    writer.wait_for(rf"{topic}: outage over after [\d.]+ s", 90)
    assert healthz() == (200, "ok\n") and healthz("/readyz") == (200, "ready\n")
    assert writer.terminate() == 0, writer.tail()
    cluster, session = connect(cassandra_node.contact_points, cassandra_node.local_dc)  # fresh: node restarted
    try:
        assert assert_no_gap(session, KS, topic) >= 2000
    finally:
        cluster.shutdown()


def test_the_list_shaped_no_host_available_of_a_wrong_dc_is_one_permanent_line(cassandra_node):
    # In process, to see the driver's own error: Session.__init__ opens no pool (every node is in another
    # DC) and raises NoHostAvailable whose `errors` is a *list* of addresses, not a dict. Before issue 11
    # that made _check_fatal raise TypeError: a traceback and a crash loop.
    from cassandra.cluster import NoHostAvailable

    from writer.__main__ import _check_fatal
    from writer.config import load
    from writer.errors import Permanent
    from writer.store import CassandraStore

    config = load({"TOPIC": "t", "CASSANDRA_SEEDS": cassandra_node.seeds, "CASSANDRA_DC": "nowhere"})
    with pytest.raises(Permanent) as info:
        CassandraStore.connect(config)
    cause = info.value.__cause__
    print(f"driver raised {type(cause).__name__} with errors={cause.errors!r}")
    assert isinstance(cause, NoHostAvailable) and isinstance(cause.errors, list)
    assert (
        str(info.value) == "writer: CASSANDRA_DC 'nowhere' matches no Cassandra node (their datacenters: datacenter1)"
    )
    _check_fatal(NoHostAvailable(*cause.args))  # the bare driver error alone: an outage (retried), no TypeError
