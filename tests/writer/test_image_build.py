"""lab.images.writer without Docker: the tag, the wheel download argv, and what ensure_image runs."""

import re
import sys
from pathlib import Path

import pytest
from invoke import MockContext, Result

from lab.errors import LabError
from lab.images import wheels
from lab.images import writer as writer_image
from lab.runner import Runner


def test_tag_is_content_addressed_and_depends_on_the_base():
    tag = writer_image.image_tag()
    assert re.fullmatch(r"ece573-prj04-writer:[0-9a-f]{12}", tag)
    assert writer_image.image_tag() == tag
    assert writer_image.image_tag("debian:other") != tag


def test_wheels_are_for_the_images_python_not_the_hosts(tmp_path):
    argv = writer_image.wheel_download_args(writer_image.REQUIREMENTS, tmp_path)
    assert argv[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--only-binary=:all:" in argv
    for flag, value in [("--python-version", "3.11"), ("--abi", "cp311"), ("--platform", "manylinux2014_x86_64"),
                        ("--dest", str(tmp_path))]:
        assert argv[argv.index(flag) + 1] == value


def test_existing_image_is_a_no_op():
    tag = writer_image.image_tag()
    ctx = MockContext(run={re.compile(r"^docker image inspect .*"): Result("sha256:abc\n")}, repeat=True)
    assert writer_image.ensure_image(Runner(ctx, echo=False)) == tag
    assert [call.args[0] for call in ctx.run.call_args_list] == [f"docker image inspect --format '{{{{.Id}}}}' {tag}"]


def test_missing_image_is_built_with_the_base_image_argument(tmp_path, monkeypatch):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "x.whl").write_text("")
    (wheels / ".requirements-sha256").write_text(writer_image.wheels_stamp())
    monkeypatch.setattr(writer_image, "WHEELS", wheels)
    monkeypatch.setattr(writer_image.prepare_wheels, "__defaults__", (wheels,))
    ctx = MockContext(run={re.compile(r"^docker image inspect .*"): Result(exited=1),
                           re.compile(r"^docker build .*"): Result("")}, repeat=True)
    tag = writer_image.ensure_image(Runner(ctx, echo=False), base_image="debian:local")
    commands = [call.args[0] for call in ctx.run.call_args_list]
    assert commands[-1].startswith(f"docker build --tag {tag} --file ")
    assert "--build-arg BASE_IMAGE=debian:local" in commands[-1]
    assert not any("pip download" in c for c in commands)  # stamped wheels are reused


@pytest.mark.parametrize("machine, tag", [("x86_64", "manylinux2014_x86_64"), ("AMD64", "manylinux2014_x86_64"),
                                          ("aarch64", "manylinux2014_aarch64"), ("arm64", "manylinux2014_aarch64")])
def test_wheels_are_resolved_for_the_machines_architecture(machine, tag, monkeypatch):
    monkeypatch.setattr(wheels.platform, "machine", lambda: machine)
    argv = writer_image.wheel_download_args(writer_image.REQUIREMENTS, Path("/tmp/w"))
    assert argv[argv.index("--platform") + 1] == tag
    assert writer_image.wheels_stamp().endswith(f" {tag}")  # wheels of another architecture are fetched again


def test_an_architecture_without_wheels_is_one_line(monkeypatch):
    monkeypatch.setattr(wheels.platform, "machine", lambda: "riscv64")
    with pytest.raises(LabError, match=r"^no wheels for the architecture 'riscv64': the images are built for "
                                       r"aarch64 or x86_64 only$"):
        writer_image.image_tag()
