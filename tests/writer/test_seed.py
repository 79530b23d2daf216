"""``WRITER_MODE=seed``: the assignment's Go writer, reproduced, as a real subprocess.

What sections IV and V of the assignment show must happen here too: ``Unknown topic`` and exit 1, the
Go ``log`` format line for line, one fatal line and exit 1 on the first failed write, ``start from lastSeq=0``
on every start unless WRITER_RESUME=true. The Cassandra tests use the shared ``cassandra_node`` and the Go
writer's own keyspace (ece573, which it creates with replication factor 3: ONE is what one node can serve),
each with its own topic.
"""

from __future__ import annotations

import re
import signal
import time

import pytest

from tests.writer.support import GO_PREFIX, SeedProcess, last_seq, started_processes, stored_seqs, unique_topic

KS = "ece573"
@pytest.fixture
def seed():
    with started_processes(SeedProcess) as start:
        yield start


# -- bad input: no Cassandra needed -------------------------------------------------------------------

BAD_INPUT = [
    ({}, "Unknown topic"),
    ({"TOPIC": "", "CONSISTENCY": "ONE"}, "Unknown topic"),  # Kubernetes' `value: ""`
    ({"TOPIC": "test"}, "Unknown consistency level "),  # the assignment's second gap in writer.yml
    ({"TOPIC": "test", "CONSISTENCY": "LOCAL_QUORUM"}, "Unknown consistency level LOCAL_QUORUM"),
    ({"TOPIC": "test", "CONSISTENCY": "one", "WRITER_RESUME": "sometimes"},
     "Unknown WRITER_RESUME value sometimes (use true or false)"),
    ({"TOPIC": "test", "CONSISTENCY": "ONE", "WRITER_RATE": "fast"},
     "Unknown WRITER_RATE value fast (seqs per second, a positive number)"),
    ({"TOPIC": "test", "CONSISTENCY": "ONE", "CASSANDRA_USERNAME": "writer"},
     "CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together"),
    ({"TOPIC": "test", "CONSISTENCY": "ONE", "CASSANDRA_TLS_CA": "/no/such/ca.pem"},
     "CASSANDRA_TLS_CA '/no/such/ca.pem': no such file (the CA's PEM file)"),
]


@pytest.mark.parametrize("env, message", BAD_INPUT, ids=[f"{i}-{m.split()[-1]}" for i, (_, m) in enumerate(BAD_INPUT)])
def test_bad_input_is_one_go_log_line_and_exit_1(seed, env, message):
    writer = seed(env)
    assert writer.wait(30) == 1
    assert writer.messages() == [message]


def test_no_cassandra_is_fatal_at_once_with_no_retry(seed):
    """writer.go's CreateSession error is log.Fatalf: the crash loop the assignment shows before Cassandra runs."""
    writer = seed({"TOPIC": "test", "CONSISTENCY": "QUORUM", "CASSANDRA_SEEDS": "127.0.0.1:1"})
    assert writer.wait(30) == 1
    messages = writer.messages()
    assert messages[0] == "Connecting cluster at 127.0.0.1:1 with consistency QUORUM for topic test"
    assert messages[1].startswith("Cannot connect to cluster at 127.0.0.1:1: NoHostAvailable: "), messages
    assert len(messages) == 2


def test_empty_seeds_is_gocqls_no_hosts(seed):
    writer = seed({"TOPIC": "test", "CONSISTENCY": "ALL"})
    assert writer.wait(30) == 1
    assert writer.messages() == ["Connecting cluster at  with consistency ALL for topic test",
                                 "Cannot connect to cluster at : no hosts provided"]


# -- against Cassandra --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cql(cassandra_node):
    """Reads at ONE: ece573 has replication factor 3 and the node is alone, so QUORUM is unavailable."""
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import ConstantReconnectionPolicy, RoundRobinPolicy

    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), consistency_level=ConsistencyLevel.ONE,
                               request_timeout=30)
    # Reconnect every second: a test pauses the node, and the driver's default backoff would outlast it.
    cluster = Cluster(cassandra_node.contact_points, execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None))
    yield cluster.connect()
    cluster.shutdown()


@pytest.fixture
def env(cassandra_node):
    return {"CASSANDRA_SEEDS": cassandra_node.seeds, "CONSISTENCY": "ONE", "TOPIC": unique_topic("seed")}


@pytest.mark.slow
def test_unknown_topic_with_cassandra_up_still_exits_1_before_connecting(seed, env):
    writer = seed({**env, "TOPIC": ""})
    assert writer.wait(30) == 1
    assert writer.messages() == ["Unknown topic"]


@pytest.mark.slow
def test_logs_line_for_line_like_the_go_writer(seed, env, cql, cassandra_node):
    topic = env["TOPIC"]
    before = time.time()
    writer = seed(env)
    writer.wait_for(rf"^\S+ \S+ {topic}: inserted rows to seq 2000$", 120)
    writer.proc.send_signal(signal.SIGTERM)
    assert writer.wait(20) == 128 + signal.SIGTERM  # the signal ends it at once, without a word, as in Go
    messages = writer.messages()
    name = cql.execute("SELECT cluster_name FROM system.local").one().cluster_name
    assert messages[:4] == [
        f"Connecting cluster at {cassandra_node.seeds} with consistency ONE for topic {topic}",
        f"Connected to cluster {name}",
        "Tables ece573.prj04 and ece573.prj04_last_seq ready.",
        f"{topic}: start from lastSeq=0",
    ]
    progress = messages[4:]
    assert progress[:2] == [f"{topic}: inserted rows to seq 1000", f"{topic}: inserted rows to seq 2000"]
    assert all(re.fullmatch(rf"{topic}: inserted rows to seq \d+000", m) for m in progress), progress
    # Go's log prints local wall-clock time, to the second.
    stamps = [time.mktime(time.strptime(GO_PREFIX.match(line).group(1), "%Y/%m/%d %H:%M:%S")) for line in writer.lines]
    assert before - 1 <= stamps[0] <= stamps[-1] <= time.time() + 1
    # One row per seq and last_seq after it: nothing from 1 to last_seq is missing.
    last = last_seq(cql, KS, topic)
    assert last >= 2000
    assert stored_seqs(cql, KS, topic)[:last] == list(range(1, last + 1))


@pytest.mark.slow
def test_restarts_from_seq_1_unless_resume_reads_the_stored_last_seq(seed, env, cql):
    topic = env["TOPIC"]
    first = seed(env)
    first.wait_for(rf"{topic}: inserted rows to seq 1000$", 120)
    first.kill()
    reached = last_seq(cql, KS, topic)
    assert reached >= 1000

    again = seed(env)  # section IV: the writer knows nothing of what it wrote before
    again.wait_for(rf"{topic}: start from lastSeq=0$", 60)
    again.wait_for(rf"{topic}: inserted rows to seq 1000$", 120)
    again.kill()
    stored = last_seq(cql, KS, topic)  # seq 1.. rewritten: last_seq went back down, then up again
    assert stored >= 1000

    resumed = seed({**env, "WRITER_RESUME": "true"})  # section V's fix
    resumed.wait_for(rf"{topic}: start from lastSeq={stored}$", 60)
    target = (stored // 1000 + 1) * 1000
    resumed.wait_for(rf"{topic}: inserted rows to seq {target}$", 120)
    resumed.kill()
    assert resumed.messages()[3] == f"{topic}: start from lastSeq={stored}"
    assert last_seq(cql, KS, topic) >= target
    seqs = set(stored_seqs(cql, KS, topic))
    assert set(range(stored + 1, target + 1)) <= seqs


@pytest.mark.slow
def test_resume_of_a_new_topic_starts_from_0(seed, env):
    writer = seed({**env, "WRITER_RESUME": "TRUE"})
    writer.wait_for(rf"{env['TOPIC']}: start from lastSeq=0$", 60)
    writer.kill()


@pytest.mark.slow
def test_rate_cap_paces_the_loop(seed, env, cql):
    topic = env["TOPIC"]
    writer = seed({**env, "WRITER_RATE": "200"})
    writer.wait_for(rf"{topic}: start from lastSeq=0$", 60)
    began = time.monotonic()
    writer.wait_for(rf"{topic}: inserted rows to seq 1000$", 60)
    took = time.monotonic() - began
    writer.kill()
    assert took >= 4.5, f"1000 seqs at 200/s took {took:.1f} s"


@pytest.mark.slow
def test_first_write_error_ends_the_process(seed, env, cql, cassandra_node):
    """A Cassandra that stops answering mid-run: one fatal line naming the seq, exit 1, nothing after it."""
    topic = env["TOPIC"]
    writer = seed(env)
    writer.wait_for(rf"{topic}: inserted rows to seq 1000$", 120)
    container = cassandra_node.container.get_wrapped_container()
    container.pause()  # answers nothing: the write times out after gocql's 11 s, and is not retried
    try:
        code = writer.wait(60)
    finally:
        container.unpause()
    assert code == 1, writer.tail()
    last = writer.messages()[-1]
    match = re.fullmatch(r"Cannot write (\d+) to table ece573\.prj04(_last_seq)?: (\w+): .+", last)
    assert match, writer.tail()
    assert int(match.group(1)) > 1000
    assert match.group(3) in ("OperationTimedOut", "WriteTimeout", "NoHostAvailable"), last
    cassandra_node.wait_cql(60)
