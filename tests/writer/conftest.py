"""Fixtures of the writer's tests (the helpers they use are in support.py)."""

from __future__ import annotations

import pytest

from tests.writer.support import WriterProcess, connect, started_processes


@pytest.fixture
def writers():
    """Start writers with ``writers(env)``; any still running at the end of the test is killed."""
    with started_processes(WriterProcess) as start:
        yield start


@pytest.fixture(scope="session")
def gowriter_image(docker_engine) -> str:
    """The tests' Go writer in its image (tests/gowriter.py), compiled and built once a session."""
    from tests import gowriter

    return gowriter.image()


@pytest.fixture
def go_writers(gowriter_image):
    """Start the Go writer beside a Cassandra node with ``go_writers(node, **env)`` (a GoWriter); every one is
    removed at the end of the test."""
    from tests.gowriter import GoWriter

    started: list[GoWriter] = []

    def start(node, volumes: dict[str, dict] | None = None, **env: str) -> GoWriter:
        started.append(GoWriter.start(gowriter_image, node.container.get_wrapped_container(), env, volumes))
        return started[-1]

    yield start
    for writer in started:
        writer.remove()


@pytest.fixture(scope="module")
def cluster_cql(cassandra_cluster):
    """A driver session on the 3-node fixture, for reading back what a writer stored."""
    cluster, session = connect(cassandra_cluster.contact_points, cassandra_cluster.local_dc)
    yield session
    cluster.shutdown()
