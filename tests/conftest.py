"""Fixtures shared by every test folder: a real Cassandra, one node or a cluster, in Docker.

Interface (keep it stable: the writer's and the lab's tests use it):

- ``cassandra_image`` (session): the image name, from env ``CASSANDRA_IMAGE``; default ``cassandra:5.0``
  (the official image, for users with Docker Hub). Here, build ours with
  ``export CASSANDRA_IMAGE=$(python -m lab.images.cassandra)``. A missing image fails the test (in CI
  and outside); only a missing Docker engine skips, and never in CI (``CI=true``).
- ``cassandra_node`` (session): a ``SingleNode`` (see tests/cassandra_nodes.py): ``.host``, ``.port``,
  ``.contact_points`` (a list of ``(host, port)`` tuples), ``.seeds`` (``"host:port"``),
  ``.local_dc``, ``.container`` (testcontainers' CassandraContainer), ``.stop()``, ``.start()``
  (the same container again: same data, same port), ``.wait_cql(timeout)``, ``.exec(argv)``.
  Shared by the whole session: a test that stops it must start it again.
- ``cassandra_cluster`` (session, started on first use): a 3-node ``Cluster`` on its own Docker
  network, node 0 the seed: ``.nodes`` (each ``.name``, ``.ip``, ``.container``), ``.contact_points``
  (``(ip, 9042)`` tuples), ``.seeds``, ``.kill(i)``, ``.stop(i)``, ``.start(i)``, ``.wait_up(i, timeout)``,
  ``.wait_down(i, timeout)``, ``.status()`` ({ip: "UN"/"DN"/...}), ``.wait_all_up(timeout)``.
  A test that kills or stops a node must start it again and ``wait_up`` before it returns.

Every wait has a timeout and fails with the cause and the container's log tail (CassandraWaitError).
"""

from __future__ import annotations

import os
import subprocess

import pytest
from testcontainers.core.config import testcontainers_config  # reads its settings lazily, on first use


def _reaper_disabled() -> str:
    """testcontainers' reaper ("ryuk") removes the containers of a test run that was killed. It is an image from
    Docker Hub: on where the engine has it, off where it does not (a machine without a registry could not
    start it), and then the fixtures below still remove their own containers. TESTCONTAINERS_RYUK_DISABLED
    set by you wins either way."""
    try:
        inspect = subprocess.run(["docker", "image", "inspect", testcontainers_config.ryuk_image],
                                 capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "true"
    return "false" if inspect.returncode == 0 else "true"


os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", _reaper_disabled())

from tests.cassandra_nodes import DEFAULT_IMAGE, Cluster, SingleNode  # noqa: E402  (testcontainers after the env)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """A Docker engine that answers; skips outside CI when there is none, fails in CI."""
    from invoke import Context

    from lab.docker import ensure_engine
    from lab.errors import PreconditionError
    from lab.runner import Runner

    try:
        ensure_engine(Runner(Context(), echo=False))
    except PreconditionError as err:
        if in_ci():
            pytest.fail(f"CI needs Docker: {err}", pytrace=False)
        pytest.skip(f"no Docker engine: {err}")


@pytest.fixture(scope="session")
def cassandra_image(docker_engine) -> str:
    """The Cassandra image to test against (env CASSANDRA_IMAGE, default the official cassandra:5.0)."""
    import docker
    import docker.errors

    image = os.environ.get("CASSANDRA_IMAGE") or DEFAULT_IMAGE
    client = docker.from_env()
    try:
        client.images.get(image)
        return image
    except docker.errors.ImageNotFound:
        pass
    hint = "build one here with: export CASSANDRA_IMAGE=$(python -m lab.images.cassandra)"
    if in_ci() or "CASSANDRA_IMAGE" in os.environ:
        pytest.fail(f"Cassandra image {image} is not present locally; {hint}", pytrace=False)
    try:
        client.images.pull(image)
    except docker.errors.DockerException as err:
        pytest.fail(f"cannot pull {image} ({err.__class__.__name__}); {hint}", pytrace=False)
    return image


@pytest.fixture(scope="session")
def cassandra_node(cassandra_image):
    """One Cassandra node for the session (see the module docstring for its interface)."""
    node = SingleNode(cassandra_image).launch()
    yield node
    node.remove()


@pytest.fixture(scope="session")
def cassandra_cluster(cassandra_image):
    """Three Cassandra nodes for the session, started when a test first asks (see the module docstring)."""
    cluster = Cluster(cassandra_image, size=3).launch()
    yield cluster
    cluster.close()


@pytest.fixture(scope="session")
def kind_lab(docker_engine):
    """The session's kind cluster ``lab-e2e``, made by `invoke reset` on first use and taken down at the end
    (tests/kind_lab.py): the cluster tier runs on it, then the end-to-end tier deploys the lab there."""
    from tests.kind_lab import kind_lab as session_lab

    with session_lab() as lab:
        yield lab
