"""The environment every Go build of the lab shares (lab/images/golang.py)."""

import pytest

from lab.errors import PreconditionError
from lab.images import golang
from lab.images.kindnode import gobuild


def test_builds_are_static_unstamped_and_collect_less():
    env = golang.go_env()
    assert env == {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -gcflags=all=-dwarf=false", "GOGC": "400"}


def test_each_recipe_adds_its_own_settings_to_the_shared_ones():
    node = gobuild.go_env("go1.22.12")
    assert node["GOTOOLCHAIN"] == "go1.22.12" and node["GOGC"] == golang.BUILD_GOGC
    registry_env = golang.go_env()  # what lab.images.registry builds with, unchanged
    assert registry_env["GOGC"] == golang.BUILD_GOGC
    assert "GOTOOLCHAIN" not in registry_env  # the registry's go.mod names the Go it needs


def test_a_missing_go_is_one_line_saying_what_to_install_and_why(monkeypatch):
    monkeypatch.setattr(golang.shutil, "which", lambda name: None)
    with pytest.raises(PreconditionError, match=r"^go not found on PATH; install Go >= 1.21 to build the registry$"):
        golang.require_go("to build the registry")
    with pytest.raises(PreconditionError, match=r"\(it fetches the pinned toolchains\)$"):
        gobuild.require_go()
