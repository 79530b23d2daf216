"""The Cassandra image is a real Cassandra: nodetool, cqlsh, a 3-node cluster, QUORUM vs ALL, restarts.

The slow tests run against ``CASSANDRA_IMAGE`` (ours, from ``python -m lab.images.cassandra``, or the
official image); they print the measured start-up and stop times (run pytest with ``-s`` to see them).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from lab.images import cassandra as cassandra_image_module
from lab.images import wheels
from tests.cassandra_nodes import SingleNode, cql_query, parse_nodetool_status

slow = pytest.mark.slow

NODETOOL_STATUS = """\
Datacenter: datacenter1
=======================
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address     Load        Tokens  Owns (effective)  Host ID                               Rack
UN  10.213.5.10  120.1 KiB  16      100.0%            6b1c5d8e-5d0a-4f7e-9a53-0d4c1f0e2a11  rack1
DN  10.213.5.11  98.3 KiB   16      100.0%            0f9f7d0e-1c8b-4a57-8e5a-2b7f3a9c4d22  rack1
UJ  10.213.5.12  71.4 KiB   16      ?                 3c2e1b0a-7d6f-4e5a-9b8c-1d0e2f3a4b33  rack1
"""


def test_parse_nodetool_status_maps_each_address_to_its_state():
    assert parse_nodetool_status(NODETOOL_STATUS) == {
        "10.213.5.10": "UN", "10.213.5.11": "DN", "10.213.5.12": "UJ"}


def test_image_tag_is_content_addressed_per_version():
    tag = cassandra_image_module.image_tag("5.0.9")
    assert re.fullmatch(r"cassandra-lab:5\.0\.9-[0-9a-f]{12}", tag)
    assert cassandra_image_module.image_tag("5.0.9") == tag
    assert cassandra_image_module.image_tag("5.0.8").split("-")[-1] != tag.split("-")[-1]


def test_mvn_resolves_the_requested_version_into_build_lib():
    argv = cassandra_image_module.mvn_args("5.0.7")
    assert argv[0] == "mvn" and argv[-1] == "package"
    assert "-Dcassandra.version=5.0.7" in argv
    assert f"-Djars.dir={cassandra_image_module.JARS_DIR}" in argv


def test_cqlsh_wheels_are_fetched_for_the_images_python_whatever_the_hosts(monkeypatch):
    """Debian bookworm's python3 is 3.11: the wheels are pinned to it, so a host on 3.12 fetches the same."""
    monkeypatch.setattr(wheels.platform, "machine", lambda: "aarch64")
    argv = cassandra_image_module.wheel_download_args(Path("/tmp/w"))
    assert argv[1:4] == ["-m", "pip", "download"] and argv[-1] == f"cqlsh=={cassandra_image_module.CQLSH_VERSION}"
    pinned = {argv[i]: argv[i + 1] for i, flag in enumerate(argv[:-1]) if flag.startswith("--") and "=" not in flag}
    assert {k: pinned[k] for k in ("--platform", "--python-version", "--abi", "--dest")} == {
        "--platform": "manylinux2014_aarch64", "--python-version": "3.11", "--abi": "cp311", "--dest": "/tmp/w"}
    assert "--only-binary=:all:" in argv  # wheels only: the image has no compiler


def test_cli_rejects_a_version_that_is_not_5_0_with_one_line(capsys):
    assert cassandra_image_module.main(["--version", "4.1.5"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "not a 5.0.x release" in err


@contextlib.contextmanager
def driver_session(contact_points, local_dc, **profile):
    """A driver session with token-aware routing and no retries (errors surface as they happen)."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, FallthroughRetryPolicy, TokenAwarePolicy

    default = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
                               retry_policy=FallthroughRetryPolicy(), request_timeout=20, **profile)
    cluster = Cluster(contact_points, execution_profiles={EXEC_PROFILE_DEFAULT: default}, protocol_version=5)
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


def _pid1_uid(node_exec) -> int:
    status = node_exec(["cat", "/proc/1/status"])
    return int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1))


@slow
def test_single_node_answers_cql_quickly(cassandra_node):
    print(f"\nMEASURE 1 node: docker run -> CQL ready {cassandra_node.startup_seconds:.1f}s")
    rows = cql_query(cassandra_node.host, cassandra_node.port)
    assert rows[0].release_version.startswith("5.0")
    assert cassandra_node.startup_seconds < 180


@slow
def test_cassandra_runs_as_a_non_root_user(cassandra_node):
    # PID 1 is the JVM itself (the official image drops to its user with gosu; ours starts as it).
    assert _pid1_uid(cassandra_node.exec) != 0


@slow
def test_the_jvm_maps_the_images_class_data_sharing_archive(cassandra_node):
    # The archive bin/cds-archive recorded at build time is in use only if the JVM mapped it: a class path or
    # a flag that does not match would make the JVM start without it, silently (-Xshare:auto).
    maps = cassandra_node.exec(["grep", "-c", "/opt/cassandra/cds/cassandra.jsa", "/proc/1/maps"])
    assert int(maps.strip()) >= 1


@slow
def test_nodetool_status_inside_the_container_shows_the_node_up(cassandra_node):
    states = parse_nodetool_status(cassandra_node.exec(["nodetool", "status"], timeout=120))
    assert list(states.values()) == ["UN"]


@slow
def test_cqlsh_reads_the_row_the_python_driver_wrote(cassandra_node):
    marker = f"driver-{uuid.uuid4().hex}"
    with driver_session(cassandra_node.contact_points, cassandra_node.local_dc) as session:
        session.execute("CREATE KEYSPACE IF NOT EXISTS c2_image WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute("CREATE TABLE IF NOT EXISTS c2_image.notes (id int PRIMARY KEY, body text)")
        session.execute("INSERT INTO c2_image.notes (id, body) VALUES (%s, %s)", (7, marker))
    out = cassandra_node.exec(["cqlsh", "-e", "SELECT id, body FROM c2_image.notes WHERE id = 7"], timeout=120)
    assert marker in out
    assert "(1 rows)" in out


@slow
def test_data_survives_a_restart_and_a_new_container_on_the_same_volume(cassandra_image):
    import docker

    client = docker.from_env()
    volume = client.volumes.create(f"c2-cass-vol-{uuid.uuid4().hex[:8]}")
    nodes: list[SingleNode] = []
    try:
        first = SingleNode(cassandra_image, volume=volume.name)
        nodes.append(first)
        first.launch()
        with driver_session(first.contact_points, first.local_dc) as session:
            session.execute("CREATE KEYSPACE c2_durable WITH replication = "
                            "{'class': 'SimpleStrategy', 'replication_factor': 1}")
            session.execute("CREATE TABLE c2_durable.kv (k int PRIMARY KEY, v text)")
            for k in range(50):
                session.execute("INSERT INTO c2_durable.kv (k, v) VALUES (%s, %s)", (k, f"value-{k}"))

        # docker stop sends SIGTERM to the JVM (PID 1); Cassandra drains and the JVM exits 143 (or 0).
        began = time.monotonic()
        exit_code = first.stop(timeout=60)
        stop_seconds = time.monotonic() - began
        print(f"\nMEASURE docker stop (SIGTERM): exit code {exit_code} after {stop_seconds:.1f}s")
        assert exit_code in (0, 143)
        assert stop_seconds < 30

        first.start()
        assert _rows(first) == {k: f"value-{k}" for k in range(50)}
        first.stop(timeout=60)
        first.remove()

        second = SingleNode(cassandra_image, volume=volume.name)
        nodes.append(second)
        second.launch()
        assert _rows(second) == {k: f"value-{k}" for k in range(50)}
    finally:
        for node in nodes:
            node.remove()
        volume.remove(force=True)


@slow
def test_a_node_that_cannot_start_fails_fast_with_its_log_tail(cassandra_image):
    from tests.cassandra_nodes import CassandraWaitError

    began = time.monotonic()
    with pytest.raises(CassandraWaitError) as failure:
        SingleNode(cassandra_image, env={"CASSANDRA_NUM_TOKENS": "many"}, startup_timeout=120).launch()
    assert time.monotonic() - began < 60  # it exited: no waiting out the whole timeout
    assert "--- last log lines of c2-cass-" in str(failure.value)


def _rows(node: SingleNode) -> dict[int, str]:
    with driver_session(node.contact_points, node.local_dc) as session:
        return {row.k: row.v for row in session.execute("SELECT k, v FROM c2_durable.kv")}


@slow
def test_three_node_cluster_shows_three_up_normal(cassandra_cluster):
    print(f"\nMEASURE 3 nodes: first docker run -> 3x UN {cassandra_cluster.startup_seconds:.1f}s")
    assert cassandra_cluster.status() == {node.ip: "UN" for node in cassandra_cluster.nodes}
    assert len(cassandra_cluster.nodes) == 3


@slow
def test_rf3_reads_at_quorum_with_one_node_killed_but_not_at_all(cassandra_cluster):
    from cassandra import ConsistencyLevel, Unavailable
    from cassandra.query import SimpleStatement

    def select(cl):
        return SimpleStatement("SELECT seq, value FROM c2_rf3.events WHERE topic = 'chaos'", consistency_level=cl)

    cluster = cassandra_cluster
    with driver_session(cluster.contact_points, cluster.local_dc) as session:
        session.execute("CREATE KEYSPACE IF NOT EXISTS c2_rf3 WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 3}")
        session.execute("CREATE TABLE IF NOT EXISTS c2_rf3.events (topic text, seq int, value double, "
                        "PRIMARY KEY (topic, seq))")
        insert = session.prepare("INSERT INTO c2_rf3.events (topic, seq, value) VALUES ('chaos', ?, ?)")
        insert.consistency_level = ConsistencyLevel.ALL  # every replica has every row before the kill
        for seq in range(1, 101):
            session.execute(insert, (seq, seq * 0.5))

        victim = 2
        cluster.kill(victim)
        try:
            cluster.wait_down(victim, timeout=90)
            rows = list(session.execute(select(ConsistencyLevel.QUORUM)))
            assert [(row.seq, row.value) for row in rows] == [(seq, seq * 0.5) for seq in range(1, 101)]

            with pytest.raises(Unavailable) as failure:
                session.execute(select(ConsistencyLevel.ALL))
            assert failure.value.required_replicas == 3
            assert failure.value.alive_replicas == 2
        finally:
            cluster.start(victim)
            cluster.wait_up(victim, timeout=240)

        rows = list(session.execute(select(ConsistencyLevel.ALL)))
        assert len(rows) == 100
    assert set(cluster.status().values()) == {"UN"}


def test_missing_mvn_is_a_precondition_error_naming_the_fix(tmp_path, monkeypatch):
    from lab.errors import PreconditionError

    monkeypatch.setattr(cassandra_image_module, "BUILD_DIR", tmp_path)
    monkeypatch.setattr(cassandra_image_module, "JARS_DIR", tmp_path / "lib")
    monkeypatch.setattr(cassandra_image_module.shutil, "which", lambda name: None)
    with pytest.raises(PreconditionError, match="mvn not found on PATH; install Maven"):
        cassandra_image_module.resolve_jars(runner=None, version="5.0.9")


# -- the seed wait (local image only: the official image documents an initContainer in cassandra.yml) ----

ENTRYPOINT = Path(__file__).resolve().parents[2] / "images/cassandra/bin/docker-entrypoint.sh"


def _seed_wait(seeds: str, budget: int = 2) -> subprocess.CompletedProcess:
    """The entrypoint's own ``die`` and ``wait_for_seeds``, run by bash here: the logic without Docker."""
    text = ENTRYPOINT.read_text()
    functions = "\n".join(re.findall(r"^(?:die|wait_for_seeds)\(\) \{\n.*?^\}\n", text, re.M | re.S))
    script = f"set -euo pipefail\n{functions}\nwait_for_seeds {shlex.quote(seeds)}\necho started"
    return subprocess.run(["bash", "-c", script], env={"PATH": os.environ["PATH"], "CASSANDRA_SEED_WAIT": str(budget)},
                          capture_output=True, text=True, timeout=30)


def test_seed_wait_skips_literal_addresses_and_resolvable_names():
    for seeds in ("10.244.1.5", "10.244.1.5:7000", "[::1]:7000", "localhost", " localhost:7000 ,10.0.0.1"):
        out = _seed_wait(seeds)
        assert (out.returncode, out.stdout, out.stderr) == (0, "started\n", ""), seeds


def test_seed_wait_gives_up_with_one_line_naming_the_seed_when_none_resolves():
    out = _seed_wait("no-such-seed.invalid", budget=2)
    assert out.returncode == 2 and "started" not in out.stdout
    assert "waiting for seeds to resolve (0s of 2s): no-such-seed.invalid" in out.stdout
    assert out.stderr.strip().splitlines() == [
        "docker-entrypoint: no seed resolves after 2s (CASSANDRA_SEED_WAIT): no-such-seed.invalid; is cluster DNS up?"]


def test_seed_wait_starts_with_the_seeds_that_resolve_when_time_is_up():
    out = _seed_wait("no-such-seed.invalid,localhost", budget=1)
    assert out.returncode == 0 and out.stdout.endswith("started\n")
    assert "still do not resolve: no-such-seed.invalid; starting with the others" in out.stderr


def test_seed_wait_refuses_a_bad_budget():
    out = _seed_wait("localhost", budget="soon")  # type: ignore[arg-type]
    assert out.returncode == 2
    assert "CASSANDRA_SEED_WAIT must be a whole number of seconds, got 'soon'" in out.stderr


def _local_image_only(image: str) -> None:
    if not image.startswith("cassandra-lab:"):
        pytest.skip(f"{image} is not the local build: the official image has no seed wait (cassandra.yml "
                    "documents the initContainer that stands in for it)")


def _logs_until(container, needle: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = container.logs().decode(errors="replace")
        if needle in logs:
            return logs
        container.reload()
        if container.status == "exited":
            break
        time.sleep(0.5)
    pytest.fail(f"no {needle!r} in the log within {timeout:.0f}s:\n{container.logs().decode(errors='replace')[-2000:]}")


@slow
def test_the_image_waits_for_an_unresolvable_seed_then_exits_2_naming_it(cassandra_image):
    import docker

    _local_image_only(cassandra_image)
    client = docker.from_env()
    container = client.containers.run(
        cassandra_image,
        detach=True,
        name=f"c2-seedwait-{uuid.uuid4().hex[:8]}",
        environment={"CASSANDRA_SEEDS": "no-such-seed.invalid", "CASSANDRA_SEED_WAIT": "4"},
    )
    try:
        began = time.monotonic()
        code = container.wait(timeout=120)["StatusCode"]
        logs = container.logs().decode(errors="replace")
        assert code == 2, logs
        assert 4 <= time.monotonic() - began < 60
        assert "waiting for seeds to resolve (0s of 4s): no-such-seed.invalid" in logs
        assert "no seed resolves after 4s (CASSANDRA_SEED_WAIT): no-such-seed.invalid" in logs
        assert "CassandraDaemon" not in logs  # the JVM never started
    finally:
        container.remove(force=True)


@slow
def test_the_image_starts_cassandra_once_a_late_seed_resolves(cassandra_image):
    """A seed name that appears on the network 8 s after the node started (as cluster DNS does after a
    kind node restarts): the entrypoint waits, says so, then execs the JVM."""
    import docker

    _local_image_only(cassandra_image)
    client = docker.from_env()
    tag = uuid.uuid4().hex[:8]
    network = client.networks.create(f"c2-seedwait-{tag}")
    seed_name = f"late-seed-{tag}"
    started = []
    try:
        node = client.containers.run(cassandra_image, detach=True, name=f"c2-seedwait-node-{tag}", network=network.name,
                                     environment={"CASSANDRA_SEEDS": seed_name, "CASSANDRA_SEED_WAIT": "120",
                                                  "MAX_HEAP_SIZE": "256M", "HEAP_NEWSIZE": "64M"})
        started.append(node)
        _logs_until(node, f"waiting for seeds to resolve (0s of 120s): {seed_name}", timeout=60)
        time.sleep(8)
        # The same image as a stand-in host that only has the name (no Cassandra runs in it).
        stand_in = client.containers.create(cassandra_image, entrypoint=["sleep", "600"], name=f"c2-seedwait-dns-{tag}")
        started.append(stand_in)
        network.connect(stand_in, aliases=[seed_name])
        stand_in.start()
        logs = _logs_until(node, "docker-entrypoint: cluster=", timeout=60)
        waited = int(re.search(rf"seeds resolve after (\d+)s: {seed_name}", logs).group(1))
        assert waited >= 8
        assert f"seeds={seed_name}" in logs
        assert node.exec_run(["cat", "/proc/1/comm"]).output.decode().strip() == "java"  # the JVM took over
    finally:
        for container in started:
            container.remove(force=True)
        network.remove()
