"""The environment every Go build of the lab shares (lab/images/golang.py)."""

from lab.images import golang, registry
from lab.images.kindnode import gobuild


def test_builds_are_static_unstamped_and_collect_less():
    env = golang.go_env()
    assert env == {"CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false -gcflags=all=-dwarf=false", "GOGC": "400"}


def test_each_recipe_adds_its_own_settings_to_the_shared_ones():
    node = gobuild.go_env("go1.22.12")
    assert node["GOTOOLCHAIN"] == "go1.22.12" and node["GOGC"] == golang.BUILD_GOGC
    registry_env = registry.go_env()
    assert registry_env["GOGC"] == golang.BUILD_GOGC
    assert "GOTOOLCHAIN" not in registry_env  # the registry's go.mod names the Go it needs
