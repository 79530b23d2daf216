"""The writer image: built by lab.images.writer, run read-only as non-root, writing to a Cassandra container."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from invoke import Context

from lab import docker
from lab.images import writer as writer_image
from lab.runner import Runner
from tests.writer.support import assert_no_gap, connect, unique_topic

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runner() -> Runner:
    return Runner(Context(), echo=False)


@pytest.fixture(scope="module")
def image(runner, docker_engine) -> str:
    return writer_image.ensure_image(runner, quiet=True)


def test_image_is_content_addressed_non_root_and_small(runner, image):
    assert re.fullmatch(r"ece573-prj04-writer:[0-9a-f]{12}", image)
    assert image == writer_image.image_tag()
    assert writer_image.ensure_image(runner, quiet=True) == image  # second call: no rebuild, same tag
    user, size = runner.output(["docker", "image", "inspect", "--format", "{{.Config.User}} {{.Size}}", image]).split()
    assert user == "10001:10001"
    print(f"{image}: {int(size) / 1e6:.0f} MB")
    assert int(size) < 300e6


def test_image_writes_to_a_cassandra_container_and_stops_cleanly(runner, image, cassandra_node):
    wrapped = cassandra_node.container.get_wrapped_container()
    wrapped.reload()
    ip = wrapped.attrs["NetworkSettings"]["IPAddress"]
    topic = unique_topic("image")
    name = f"w3-writer-{uuid.uuid4().hex[:6]}"
    # A keyspace of its own at RF 1: this node is shared with other tests, and the seed writer creates
    # `ece573` at RF 3 as the Go writer does, which a QUORUM read on one node could never satisfy.
    keyspace = f"image_{uuid.uuid4().hex[:8]}"
    env = {"TOPIC": topic, "CASSANDRA_SEEDS": ip, "CONSISTENCY": "ONE", "KEYSPACE": keyspace,
           "REPLICATION_FACTOR": "1"}
    argv = docker.run_detached_args(image, name=name, env=env)
    argv[2:2] = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    runner.run(argv, hide=True, timeout=60)
    try:
        deadline, logs = time.monotonic() + 90, ""
        while "inserted rows to seq 2000" not in logs:
            assert time.monotonic() < deadline, f"no progress from the image:\n{logs}"
            time.sleep(1)
            outcome = runner.probe(["docker", "logs", name])
            logs = outcome.stdout + outcome.stderr
        # docker stop: SIGTERM to python as PID 1, which handles it (drain, store last_seq, exit 0).
        runner.run(["docker", "stop", "--time", "20", name], hide=True, timeout=60)
        code = runner.output(["docker", "inspect", "--format", "{{.State.ExitCode}}", name]).strip()
        outcome = runner.probe(["docker", "logs", name])
        logs = outcome.stdout + outcome.stderr
    finally:
        runner.probe(docker.remove_args(name))
    assert code == "0", logs
    assert f"Tables {keyspace}.prj04 and {keyspace}.prj04_last_seq ready." in logs
    assert f"{topic}: start from lastSeq=0" in logs
    stopped = int(re.search(rf"{topic}: stopped at seq (\d+)", logs).group(1))
    cluster, session = connect(cassandra_node.contact_points, cassandra_node.local_dc)
    try:
        assert assert_no_gap(session, keyspace, topic) == stopped >= 2000
        session.execute(f"DROP KEYSPACE {keyspace}")
    finally:
        cluster.shutdown()
