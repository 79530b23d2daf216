"""A Cassandra container of the benchmark's own: one node, its CQL port on 127.0.0.1, removed afterwards."""

from __future__ import annotations

import time
import uuid

from lab import docker
from lab.errors import LabError
from lab.net import free_port
from lab.runner import Runner


def start_cassandra(runner: Runner, image: str, *, timeout: float = 300,
                    jvm_opts: str = "") -> tuple[str, list[tuple[str, int]]]:
    """``docker run`` one node with its CQL port on 127.0.0.1; wait until it answers. Returns (name, points).
    ``jvm_opts``: the container's JVM_OPTS (a commitlog_sync mode's flags, lab.bench.commitlog)."""
    from cassandra.cluster import Cluster  # slow to import: see lab.bench.session

    name = f"ece573-bench-{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {"MAX_HEAP_SIZE": "1G", "HEAP_NEWSIZE": "256M", "CASSANDRA_CLUSTER_NAME": "ece573-bench"}
    if jvm_opts:
        env["JVM_OPTS"] = jvm_opts
    runner.run(docker.run_detached_args(image, name=name, env=env, publish=[f"127.0.0.1:{port}:9042"]),
               hide=True, timeout=120)
    points = [("127.0.0.1", port)]
    deadline = time.monotonic() + timeout
    while True:
        cluster = Cluster(points, connect_timeout=5)
        try:
            cluster.connect().execute("SELECT release_version FROM system.local")
            return name, points
        except Exception as err:  # noqa: BLE001 - not up yet, until the deadline
            if time.monotonic() > deadline:
                stop_cassandra(runner, name)
                raise LabError(f"Cassandra from {image} did not answer CQL within {timeout:.0f} s: {err}") from err
        finally:
            cluster.shutdown()
        time.sleep(3)


def stop_cassandra(runner: Runner, name: str) -> None:
    runner.probe(docker.remove_args(name), timeout=120)
