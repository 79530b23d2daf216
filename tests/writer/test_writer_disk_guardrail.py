"""The writer against Cassandra's disk-usage guardrail, as cassandra.yml sets it (lab/disk.py): one node with
logins on and a guardrail sized so that a few dozen MiB fill it.

Cassandra counts the data directories' size on disk plus the memtables not yet flushed, against
data_disk_usage_max_disk_size, every ``-Dcassandra.disk_usage.monitor_interval_ms`` (30 s by default, 0.5 s
here). Superusers are exempt from guardrails, so the operator fills the disk past the fail threshold with
incompressible blobs while the writer (an ordinary role) writes; the writer's writes are then refused with the
guardrail's error. The writer rides it out as an outage (writer/errors.py says why): it stays up, says which
guardrail and what to do, and resumes without a gap once the operator frees the space.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from lab.auth import writer_grants
from tests.writer.support import assert_no_gap, last_seq
from tests.writer.test_writer_auth import AUTH_JVM_OPTS, KS, OPERATOR_SCHEMA, ROLE, AuthNode, env_for, session_as
from writer.errors import DISK_FULL_HINT

pytestmark = pytest.mark.slow

#: 64 MiB of "disk", writes refused over 50% of it: 32 MiB, which the operator's blobs pass and a fresh node's
#: system tables (a few MiB at most) do not.
GUARDRAIL_OPTS = ("-Dcassandra.settings.data_disk_usage_max_disk_size=64MiB "
                  "-Dcassandra.settings.data_disk_usage_percentage_warn_threshold=40 "
                  "-Dcassandra.settings.data_disk_usage_percentage_fail_threshold=50 "
                  "-Dcassandra.disk_usage.monitor_interval_ms=500 "
                  "-Dcassandra.settings.auto_snapshot=false")  # dropping the filler frees its space at once
BLOB = 1024 * 1024
BLOBS = 40


@pytest.fixture(scope="module")
def guarded_node(cassandra_image):
    node = AuthNode(cassandra_image, env={"JVM_OPTS": f"{AUTH_JVM_OPTS} {GUARDRAIL_OPTS}"}).launch()
    cluster, admin = session_as(node, "cassandra", "cassandra")
    for statement in (*OPERATOR_SCHEMA, *writer_grants(KS, ROLE)):
        admin.execute(statement)
    node.admin = admin
    yield node
    cluster.shutdown()
    node.remove()


def rows(node, topic: str) -> int:
    return node.admin.execute(f"SELECT count(*) FROM {KS}.prj04 WHERE topic = %s", (topic,)).one()[0]


def test_a_full_disk_is_an_outage_the_writer_names_and_rides_out(writers, guarded_node):
    env = env_for(guarded_node, WRITER_MAX_SEQS="1000000", WRITER_RATE="500")
    writer = writers(env)
    writer.wait_for(r"inserted rows to seq 1000$", timeout=120)
    admin = guarded_node.admin
    admin.execute(f"CREATE TABLE {KS}.filler (k int PRIMARY KEY, v blob)")
    insert = admin.prepare(f"INSERT INTO {KS}.filler (k, v) VALUES (?, ?)")
    for k in range(BLOBS):  # as the superuser: exempt from the guardrail, it writes past the threshold
        admin.execute(insert, (k, os.urandom(BLOB)))
    try:
        writer.wait_for(r"write of seq (\d+) failed \(InvalidRequest: .*Guardrail replica_disk_usage "
                                  r"violated: Write request failed because disk usage exceeds failure threshold",
                                  timeout=60)
        writer.wait_for(re.escape(DISK_FULL_HINT), timeout=10)
        held = rows(guarded_node, env["TOPIC"])
        time.sleep(5)
        assert writer.proc.poll() is None, "the writer exited on the guardrail's refusal:\n" + writer.tail()
        assert rows(guarded_node, env["TOPIC"]) == held, "writes went through while the disk was over the guardrail"
        assert "Traceback" not in writer.output
    finally:
        admin.execute(f"DROP TABLE IF EXISTS {KS}.filler")  # the operator frees the space
    writer.wait_for(r"outage over after [\d.]+ s", timeout=60)
    resumed = rows(guarded_node, env["TOPIC"])
    writer.wait_for(r"inserted rows to seq \d+$", timeout=60, after=len(writer.lines))
    assert rows(guarded_node, env["TOPIC"]) > resumed
    assert writer.terminate(30) == 0, writer.tail()
    print("\n".join(line for line in writer.lines if re.search(r"Guardrail|guardrail|outage over", line)))
    stored = last_seq(admin, KS, env["TOPIC"])
    assert assert_no_gap(admin, KS, env["TOPIC"]) >= stored > 1000
