"""The cold Go build benchmark's parts (lab/bench/gobuild.py); `invoke bench --go` runs the real builds."""

from pathlib import Path

import pytest

from lab.bench import gobuild
from lab.images import registry


def test_each_way_builds_what_it_names_with_its_gogc(tmp_path):
    assert gobuild.build_argv("a", tmp_path)[-1] == "github.com/distribution/distribution/v3/cmd/registry@v3.1.2"
    assert gobuild.build_argv("b", tmp_path) == gobuild.build_argv("c", tmp_path) == \
        registry.go_build_args(tmp_path / "registry")
    envs = {way: gobuild.build_env(way, tmp_path / "cache", tmp_path) for way in gobuild.WAYS}
    assert [envs[way]["GOGC"] for way in "abc"] == ["100", "100", "400"]
    assert [("-dwarf=false" in envs[way]["GOFLAGS"]) for way in "abc"] == [False, False, True]
    assert all(env["GOCACHE"] == str(tmp_path / "cache") and env["CGO_ENABLED"] == "0" for env in envs.values())


def test_summary_takes_medians_per_way_and_compares_the_labs_build():
    builds = [gobuild.Build("a", 100.0, 180.0), gobuild.Build("b", 60.0, 100.0), gobuild.Build("c", 50.0, 80.0),
              gobuild.Build("a", 120.0, 200.0), gobuild.Build("b", 64.0, 104.0), gobuild.Build("c", 54.0, 84.0)]
    medians = gobuild.summary(builds)
    assert medians["a"] == {"wall_s": 110.0, "cpu_s": 190.0}
    assert medians["c"] == {"wall_s": 52.0, "cpu_s": 82.0}
    assert medians["c/a"] == {"wall_s": 0.47, "cpu_s": 0.43}
    assert medians["c/b"] == {"wall_s": 0.84, "cpu_s": 0.8}


def test_a_failed_build_is_one_line_naming_the_way(tmp_path, monkeypatch):
    monkeypatch.setattr(gobuild, "build_argv", lambda way, out: ["sh", "-c", "echo 'no such module' >&2; exit 1"])
    with pytest.raises(SystemExit, match=r"build \(b\) lab wrapper .* failed: no such module"):
        gobuild.timed_build("b", Path(tmp_path))


def test_rounds_must_be_positive(capsys):
    assert gobuild.main(["--rounds", "0"]) == 2
    assert "--rounds must be positive" in capsys.readouterr().err


def test_a_failed_download_says_what_failed_and_asks_about_the_proxy():
    with pytest.raises(SystemExit, match=r"ERROR: sh -c .* failed \(is the Go module proxy reachable\?\): boom"):
        gobuild._go(["sh", "-c", "echo boom >&2; exit 1"])
