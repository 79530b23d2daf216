"""The tests' Go writer (tests/gowriter.py) in its image against a real Cassandra without logins, as the
assignment's writer runs on its cluster: the log lines students read, rows written from seq 1, a crash on a bad
setting, and the resume that section V asks for. With logins on, see test_writer_auth.py."""

from __future__ import annotations

import re

import pytest
from cassandra.cluster import Cluster

from tests.writer.support import assert_no_gap, unique_topic

pytestmark = pytest.mark.slow

KS = "ece573"  # fixed in the Go writer, as in writer.go


@pytest.fixture(scope="module")
def session(cassandra_node):
    cluster = Cluster(cassandra_node.contact_points)  # LOCAL_ONE reads: one node, writer.go's replication 3
    yield cluster.connect()
    cluster.shutdown()


def test_it_writes_from_seq_1_and_logs_what_the_assignment_shows(go_writers, cassandra_node, session):
    topic = unique_topic("go")
    name = session.execute("SELECT cluster_name FROM system.local").one().cluster_name
    writer = go_writers(cassandra_node, TOPIC=topic, CONSISTENCY="ONE")
    writer.wait_for(rf"{re.escape(topic)}: inserted rows to seq 2000", timeout=120)
    writer.stop()
    assert f"Connected to cluster {name}" in writer.logs
    assert f"{topic}: start from lastSeq=0" in writer.logs
    assert f"{topic}: inserted rows to seq 1000" in writer.logs
    assert assert_no_gap(session, KS, topic) >= 2000


def test_it_starts_from_seq_1_again_unless_told_to_resume(go_writers, cassandra_node, session):
    """Without resume a restart writes seq 1, 2 ... again and stores them as last_seq (the assignment's flaw); with
    WRITER_RESUME=true it starts after the topic's stored last_seq, whatever that is then."""
    topic = unique_topic("go-resume")
    for run in range(2):
        writer = go_writers(cassandra_node, TOPIC=topic, CONSISTENCY="ONE")
        writer.wait_for(rf"{re.escape(topic)}: inserted rows to seq 1000", timeout=120)
        writer.stop()
        assert f"{topic}: start from lastSeq=0" in writer.logs, f"run {run + 1} did not start from 0"
    stored = session.execute(f"SELECT seq FROM {KS}.prj04_last_seq WHERE topic = %s", (topic,)).one().seq
    resumed = go_writers(cassandra_node, TOPIC=topic, CONSISTENCY="ONE", WRITER_RESUME="true")
    line = resumed.wait_for(rf"{re.escape(topic)}: start from lastSeq=(\d+)", timeout=60)
    resumed.wait_for(rf"{re.escape(topic)}: inserted rows to seq {(stored // 1000 + 1) * 1000}", timeout=120)
    resumed.stop()
    assert int(line.group(1)) == stored >= 1000
    assert assert_no_gap(session, KS, topic) > stored


@pytest.mark.parametrize("env, line", [
    ({"TOPIC": "", "CONSISTENCY": "ONE"}, "Unknown topic"),
    ({"TOPIC": "t", "CONSISTENCY": "SOME"}, "Unknown consistency level SOME"),
    ({"TOPIC": "t"}, "Unknown consistency level "),
], ids=["no-topic", "bad-level", "no-level"])
def test_a_bad_setting_is_fatal_at_once_as_in_writer_go(go_writers, cassandra_node, env, line):
    writer = go_writers(cassandra_node, **env)
    assert writer.wait(60) == 1
    assert re.fullmatch(rf"\d{{4}}/\d\d/\d\d \d\d:\d\d:\d\d {re.escape(line)}", writer.logs.rstrip("\n")), writer.logs
