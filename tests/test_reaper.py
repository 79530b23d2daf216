"""The reaper default (tests/conftest.py): on where the engine has testcontainers' ryuk image, off otherwise."""

import subprocess

import pytest

from tests import conftest


@pytest.mark.parametrize("returncode, disabled", [(0, "false"), (1, "true")])
def test_the_reaper_runs_where_its_image_is_there(monkeypatch, returncode, disabled):
    asked = []

    def run(argv, **kwargs):
        asked.append(argv)
        return subprocess.CompletedProcess(argv, returncode)

    monkeypatch.setattr(conftest.subprocess, "run", run)
    assert conftest._reaper_disabled() == disabled
    assert asked == [["docker", "image", "inspect", conftest.testcontainers_config.ryuk_image]]


def test_without_a_docker_cli_the_reaper_is_off(monkeypatch):
    def run(argv, **kwargs):
        raise FileNotFoundError("docker")

    monkeypatch.setattr(conftest.subprocess, "run", run)
    assert conftest._reaper_disabled() == "true"


def test_importing_the_fixtures_runs_no_docker(tmp_path):
    """The quick tier collects tests/conftest.py too: Docker is asked only when a test needs it."""
    import os
    import sys
    from pathlib import Path

    called = tmp_path / "called"
    fake = tmp_path / "bin/docker"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {called}\n")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("TESTCONTAINERS_RYUK_DISABLED", None)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", "import tests.conftest"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not called.exists(), called.read_text()
