"""Fixtures for the lab's fast tests (the fakes themselves live in labfakes.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

# The project root on sys.path, so `import lab` works under a bare `pytest` without an installed package.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from labfakes import FakeCtx, executable  # noqa: E402
from reportdata import add_chaos, add_lesson  # noqa: E402

from lab import state  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_dry_state():
    state.forget_dry()
    yield
    state.forget_dry()


@pytest.fixture
def project(tmp_path):
    """A project root with the real manifests and fake kind/kubectl in .cache/bin."""
    for name in ("cluster.yml", "cassandra.yml", "writer.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    executable(tmp_path / ".cache/bin/kind")
    executable(tmp_path / ".cache/bin/kubectl")
    return tmp_path


@pytest.fixture
def ctx():
    return FakeCtx()


@pytest.fixture
def with_chaos(project):
    """A project with one recorded chaos round (the report tests)."""
    return add_chaos(project)


@pytest.fixture
def full_lab(project):
    """A project with a chaos round and the recorded lesson: every answer has its data."""
    return add_lesson(add_chaos(project))
