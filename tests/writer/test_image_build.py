"""lab.images.writer without Docker: the tag, the wheel download argv, and what ensure_image runs."""

import re
import sys
from pathlib import Path

import pytest
from invoke import MockContext, Result

from lab.errors import LabError, PreconditionError
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


# -- a writer directory of your own -------------------------------------------------------------------------

GO_DOCKERFILE = """# syntax=docker/dockerfile:1
FROM --platform=$BUILDPLATFORM golang:1.22-bookworm AS build
COPY . /src
from build as test
FROM debian:bookworm-slim
COPY --from=build /writer /writer
FROM scratch
FROM ${BASE}
"""


def test_base_images_are_the_froms_that_are_not_stages_scratch_or_arguments():
    assert writer_image.base_images(GO_DOCKERFILE) == ["golang:1.22-bookworm", "debian:bookworm-slim"]
    assert writer_image.base_images("FROM python:3.12-slim\nRUN pip install cassandra-driver\n") == [
        "python:3.12-slim"]


def _writer_dir(folder: Path, main: str = "package main") -> Path:
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "Dockerfile").write_text("FROM debian:bookworm-slim\nCOPY writer /writer\n")
    (folder / "main.go").write_text(main)
    return folder


def test_a_writer_directory_is_tagged_by_its_files_wherever_it_lies_and_not_by_its_git_history(tmp_path):
    one, two = _writer_dir(tmp_path / "one"), _writer_dir(tmp_path / "elsewhere" / "two")
    tag = writer_image.source_tag(one)
    assert re.fullmatch(r"ece573-prj04-writer:[0-9a-f]{12}", tag) and tag != writer_image.image_tag()
    assert writer_image.source_tag(two) == tag
    (two / ".git" / "HEAD").write_text("ref: refs/heads/other\n")
    assert writer_image.source_tag(two) == tag
    (two / "main.go").write_text("package main // resume from last_seq")
    assert writer_image.source_tag(two) != tag


def test_a_missing_directory_or_dockerfile_is_one_line_exit_2(tmp_path):
    with pytest.raises(PreconditionError, match=r"^writer directory .*/nowhere not found; give --writer-dir \(or "
                                                r"lab.writer.source\) the folder with your writer and its Dockerfile$"):
        writer_image.ensure_image(Runner(MockContext(), echo=False), source=tmp_path / "nowhere")
    (tmp_path / "main.go").write_text("package main")
    with pytest.raises(PreconditionError, match=r"has no Dockerfile; the lab builds a writer of your own with "
                                                r"`docker build .*`, so add one there$") as err:
        writer_image.ensure_image(Runner(MockContext(), echo=False), source=tmp_path)
    assert err.value.exit_code == 2


def test_a_writer_directory_is_built_with_its_own_dockerfile_once_its_base_is_here(tmp_path):
    source = _writer_dir(tmp_path / "gowriter")
    tag = writer_image.source_tag(source)
    ctx = MockContext(run={re.compile(r"^docker image inspect .*debian:bookworm-slim$"): Result("sha256:d\n"),
                           re.compile(r"^docker image inspect .*"): Result(exited=1),
                           re.compile(r"^docker build .*"): Result("")}, repeat=True)
    assert writer_image.ensure_image(Runner(ctx, echo=False), source=source) == tag
    assert [call.args[0] for call in ctx.run.call_args_list][-1] == \
        f"docker build --tag {tag} --file {source}/Dockerfile {source}"


def test_a_base_image_that_is_neither_here_nor_pullable_is_named_with_how_to_provide_it(tmp_path):
    source = _writer_dir(tmp_path / "gowriter")
    (source / "Dockerfile").write_text(GO_DOCKERFILE)
    ctx = MockContext(run={re.compile(r"^docker image inspect .*debian:bookworm-slim$"): Result("sha256:d\n"),
                           re.compile(r"^docker image inspect .*"): Result(exited=1),
                           re.compile(r"^docker pull .*"): Result(stderr="dial tcp: lookup registry-1.docker.io",
                                                                  exited=1)}, repeat=True)
    with pytest.raises(PreconditionError) as err:
        writer_image.ensure_image(Runner(ctx, echo=False), source=source)
    assert str(err.value) == (
        f"{source}/Dockerfile builds FROM golang:1.22-bookworm, which is not in the local Docker engine and cannot be "
        "pulled here; provide it with `docker pull golang:1.22-bookworm` where a registry answers (`docker save`/"
        "`docker load` to bring it over), or `docker tag <a local image> golang:1.22-bookworm`, or change the "
        "Dockerfile's FROM")
    assert not [call for call in ctx.run.call_args_list if call.args[0].startswith("docker build")]
