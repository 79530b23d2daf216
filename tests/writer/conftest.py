"""Fixtures of the writer's tests (the helpers they use are in support.py)."""

from __future__ import annotations

import pytest

from tests.writer.support import WriterProcess, started_processes


@pytest.fixture
def writers():
    """Start writers with ``writers(env)``; any still running at the end of the test is killed."""
    with started_processes(WriterProcess) as start:
        yield start
