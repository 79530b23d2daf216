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

Order: the kind tiers (marker ``cluster``: tests/cluster, then tests/e2e) run last, and the containers above
are removed before their cluster is made. So the Docker tiers run while `.ci/run` still builds the kind node
image in the background, and the kind tiers have the machine's cores to themselves.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator

import pytest
from testcontainers.core.config import testcontainers_config  # reads its settings lazily, on first use

from tests.cassandra_nodes import DEFAULT_IMAGE, Cluster, SingleNode


def _reaper_disabled() -> str:
    """testcontainers' reaper ("ryuk") removes the containers of a test run that was killed. It is an image from
    Docker Hub: on where the engine has it, off where it does not (a machine without a registry could not
    start it), and then the fixtures below still remove their own containers. TESTCONTAINERS_RYUK_DISABLED
    set by you wins either way. Asked by ``docker_engine``, the first time a test needs Docker (testcontainers
    reads the setting when it starts its first container), never at import: the quick tier runs no Docker."""
    try:
        inspect = subprocess.run(["docker", "image", "inspect", testcontainers_config.ryuk_image],
                                 capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return "true"
    return "false" if inspect.returncode == 0 else "true"



def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def kind_tiers_last(items: list) -> list:
    """``items`` with the tests marked ``cluster`` moved to the end, each group in its own order."""
    return sorted(items, key=lambda item: item.get_closest_marker("cluster") is not None)


def pytest_collection_modifyitems(config, items):
    items[:] = kind_tiers_last(items)


#: Removals of the session's Cassandra containers still running; the kind tier runs them before its cluster.
_CONTAINER_REMOVALS: list[Callable[[], None]] = []


@contextlib.contextmanager
def _removed_by_the_kind_tier(remove: Callable[[], None]) -> Iterator[None]:
    """``remove`` at the session's end, or earlier by ``remove_session_containers`` (it runs once)."""
    _CONTAINER_REMOVALS.append(remove)
    try:
        yield
    finally:
        if remove in _CONTAINER_REMOVALS:
            _CONTAINER_REMOVALS.remove(remove)
            remove()


def remove_session_containers() -> None:
    while _CONTAINER_REMOVALS:
        _CONTAINER_REMOVALS.pop()()


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
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", _reaper_disabled())


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
    with _removed_by_the_kind_tier(node.remove):
        yield node


@pytest.fixture(scope="session")
def cassandra_cluster(cassandra_image):
    """Three Cassandra nodes for the session, started when a test first asks (see the module docstring)."""
    cluster = Cluster(cassandra_image, size=3).launch()
    with _removed_by_the_kind_tier(cluster.close):
        yield cluster


@pytest.fixture(scope="session")
def kind_lab(docker_engine):
    """The session's kind cluster ``lab-e2e``, made by `invoke reset` on first use and taken down at the end
    (tests/kind_lab.py): the cluster tier runs on it, then the end-to-end tier deploys the lab there."""
    from tests.kind_lab import kind_lab as session_lab

    remove_session_containers()  # the Docker tiers are done (they run first): their Cassandras would only eat cores
    with session_lab() as lab:
        yield lab
