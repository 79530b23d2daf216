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
