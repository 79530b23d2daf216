"""Fixtures for the lab's fast tests (the fakes themselves live in labfakes.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lab.errors import PreconditionError
from lab.report import to_pdf
from tests.lab.labfakes import FakeCtx, executable
from tests.lab.reportdata import add_chaos, add_lesson

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture(scope="module")
def weasyprint():
    """The weasyprint module for the PDF tests: skipped where it cannot load, failed under CI=true."""
    try:
        return to_pdf.load_weasyprint()
    except PreconditionError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and WeasyPrint cannot load: {err}")
        pytest.skip(f"{err} (then run the tests again; under CI=true this fails instead of skipping)")
