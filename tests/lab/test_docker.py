"""lab.docker: exact argv lists, and the wrappers over a FakeCtx (no Docker).

ensure_engine's two engine errors (permission denied, no daemon) are covered in test_preflight.py.
"""

import pytest

from lab import docker
from lab.errors import PreconditionError
from lab.runner import Runner
from tests.lab.labfakes import FakeCtx


def test_build_args():
    assert docker.build_args("lab/writer:abc", "images/writer") == [
        "docker", "build", "--tag", "lab/writer:abc", "images/writer"]
    assert docker.build_args("lab/writer:abc", ".", dockerfile="images/writer/Dockerfile",
                             build_args={"BASE": "debian:bookworm-slim", "APP": "writer"}, target="runtime") == [
        "docker", "build", "--tag", "lab/writer:abc", "--file", "images/writer/Dockerfile",
        "--build-arg", "APP=writer", "--build-arg", "BASE=debian:bookworm-slim", "--target", "runtime", "."]


def test_simple_argv_builders():
    assert docker.pull_args("cassandra:5.0") == ["docker", "pull", "cassandra:5.0"]
    assert docker.tag_args("lab/c:1", "cassandra:5.0") == ["docker", "tag", "lab/c:1", "cassandra:5.0"]
    assert docker.push_args("reg:5000/w:1") == ["docker", "push", "reg:5000/w:1"]
    assert docker.stop_args("kind-worker") == ["docker", "stop", "kind-worker"]
    assert docker.start_args("kind-worker") == ["docker", "start", "kind-worker"]
    assert docker.remove_args("proxy") == ["docker", "rm", "--force", "--volumes", "proxy"]
    assert docker.exec_args("kind-worker", ["crictl", "ps"]) == ["docker", "exec", "kind-worker", "crictl", "ps"]
    assert docker.image_inspect_args("w:1") == ["docker", "image", "inspect", "--format", "{{.Id}}", "w:1"]


def test_run_detached_args():
    assert docker.run_detached_args("registry:2", name="reg") == [
        "docker", "run", "--detach", "--name", "reg", "registry:2"]
    assert docker.run_detached_args("cassandra:5.0", name="c1", env={"MAX_HEAP_SIZE": "512M", "CASSANDRA_DC": "dc1"},
                                    publish=["9042:9042", "127.0.0.1::7000"], args=["-f", "-R"]) == [
        "docker", "run", "--detach", "--name", "c1", "--env", "CASSANDRA_DC=dc1", "--env", "MAX_HEAP_SIZE=512M",
        "--publish", "9042:9042", "--publish", "127.0.0.1::7000", "cassandra:5.0", "-f", "-R"]


def test_the_registrys_argv_builders():
    """What lab.registry runs: its container, its network, a file piped into a node."""
    assert docker.run_detached_args("lab-registry:1", name="kind-registry", restart="always",
                                    labels={"lab.registry": "kind"}, publish=["127.0.0.1:5001:5000"]) == [
        "docker", "run", "--detach", "--name", "kind-registry", "--restart", "always", "--label", "lab.registry=kind",
        "--publish", "127.0.0.1:5001:5000", "lab-registry:1"]
    assert docker.container_inspect_args("kind-registry") == ["docker", "container", "inspect", "kind-registry"]
    assert docker.network_connect_args("kind", "kind-registry") == ["docker", "network", "connect", "kind",
                                                                    "kind-registry"]
    assert docker.exec_args("kind-worker", ["cp", "/dev/stdin", "/x"], stdin=True) == [
        "docker", "exec", "--interactive", "kind-worker", "cp", "/dev/stdin", "/x"]


def test_the_node_image_recipes_argv_builders():
    """What lab.images.kindnode runs to preload its images (every docker argv is built in lab.docker)."""
    assert docker.run_detached_args("stage:1", name="preload", privileged=True, entrypoint="sleep",
                                    volumes=["/b/preload.tar:/preload.tar:ro"], args=["infinity"]) == [
        "docker", "run", "--detach", "--name", "preload", "--privileged", "--entrypoint", "sleep",
        "--volume", "/b/preload.tar:/preload.tar:ro", "stage:1", "infinity"]
    assert docker.stop_args("preload", grace=5) == ["docker", "stop", "--time", "5", "preload"]
    assert docker.commit_args("preload", "node:1", changes=['ENTRYPOINT ["/sbin/init"]', "CMD []"]) == [
        "docker", "commit", "--change", 'ENTRYPOINT ["/sbin/init"]', "--change", "CMD []", "preload", "node:1"]
    assert docker.save_args("/b/preload.tar", ["a:1", "b:2"]) == [
        "docker", "save", "--output", "/b/preload.tar", "a:1", "b:2"]
    assert docker.remove_images_args(["a:1", "b:2"]) == ["docker", "rmi", "a:1", "b:2"]
    assert docker.image_refs_args("kind-node-lab") == [
        "docker", "images", "kind-node-lab", "--format", "{{.Repository}}:{{.Tag}}"]


@pytest.mark.parametrize("exited, exists", [(0, True), (1, False)])
def test_image_exists_asks_docker_even_under_dry(exited, exists):
    ctx = FakeCtx([("docker image inspect", ("sha256:ab\n" if exited == 0 else "No such image", exited))])
    assert docker.image_exists(Runner(ctx, dry=True), "cassandra:5.0") is exists
    assert ctx.commands == ["docker image inspect --format '{{.Id}}' cassandra:5.0"]


def test_pull_image_is_false_when_no_registry_answers():
    assert docker.pull_image(Runner(FakeCtx([("docker pull", "5.0: Pulling from library/cassandra\n")])),
                             "cassandra:5.0") is True
    ctx = FakeCtx([("docker pull", ("Error response from daemon: Get https://registry-1.docker.io/v2/", 1))])
    assert docker.pull_image(Runner(ctx), "cassandra:5.0", timeout=5) is False
    assert ctx.commands == ["docker pull cassandra:5.0"]
    assert (ctx.kwargs[0]["timeout"], ctx.kwargs[0]["hide"]) == (5, True)


def test_build_image_runs_the_build_with_an_hour_to_finish():
    ctx = FakeCtx([("docker build", FakeCtx.ANY_OK)])
    docker.build_image(Runner(ctx), "lab/w:1", "images/writer", build_args={"A": "1"})
    assert ctx.commands == ["docker build --tag lab/w:1 --build-arg A=1 images/writer"]
    assert ctx.kwargs[0]["timeout"] == 3600


def test_ensure_engine_without_the_cli(monkeypatch):
    monkeypatch.setattr("lab.docker.shutil.which", lambda name: None)
    ctx = FakeCtx()
    with pytest.raises(PreconditionError) as err:
        docker.ensure_engine(Runner(ctx))
    assert str(err.value) == "docker not found on PATH; install Docker (https://docs.docker.com/get-docker/)"
    assert ctx.commands == []


def test_ensure_engine_passes_when_the_server_answers(monkeypatch):
    monkeypatch.setattr("lab.docker.shutil.which", lambda name: f"/usr/bin/{name}")
    ctx = FakeCtx([("docker version", "27.3.1\n")])
    assert docker.ensure_engine(Runner(ctx)) is None
    assert ctx.commands == ["docker version --format '{{.Server.Version}}'"]


def test_ensure_engine_without_any_words_from_docker(monkeypatch):
    monkeypatch.setattr("lab.docker.shutil.which", lambda name: f"/usr/bin/{name}")
    with pytest.raises(PreconditionError) as err:
        docker.ensure_engine(Runner(FakeCtx([("docker version", ("", 1))])))
    assert str(err.value) == ("the Docker engine does not answer; start it "
                              "(`sudo systemctl start docker`, or start Docker Desktop)")
