"""Docker CLI: argv builders (pure) and thin wrappers that run them through a Runner."""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from lab.errors import CommandError, PreconditionError
from lab.runner import Runner

DOCKER = "docker"


def build_args(tag: str, context: str, *, dockerfile: str | None = None,
               build_args: dict[str, str] | None = None, target: str | None = None) -> list[str]:
    argv = [DOCKER, "build", "--tag", tag]
    if dockerfile:
        argv += ["--file", dockerfile]
    for key, value in sorted((build_args or {}).items()):
        argv += ["--build-arg", f"{key}={value}"]
    if target:
        argv += ["--target", target]
    return argv + [context]


def ps_args(filter_: str) -> list[str]:
    """Containers matching ``filter_``, in the columns the assignment shows."""
    return [DOCKER, "ps", "--filter", filter_, "--format",
            # docker expands the two characters \t itself (its docs: --format "table {{.ID}}\t{{.Image}}")
            r"table {{.ID}}\t{{.Image}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"]


def exec_args(container: str, command: list[str], *, stdin: bool = False) -> list[str]:
    """A command inside a running container (``docker exec kind-worker crictl ps``); ``stdin``: input piped in."""
    return [DOCKER, "exec", *(["--interactive"] if stdin else []), container, *command]


def stop_args(container: str, *, grace: int | None = None) -> list[str]:
    """``docker stop``: SIGTERM (a kind node's systemd shuts down), SIGKILL after ``grace`` s (docker's 10)."""
    return [DOCKER, "stop", *(["--time", str(grace)] if grace is not None else []), container]


def cpu_shares_args(container: str, shares: int) -> list[str]:
    """``docker update --cpu-shares``: the container's CPU weight against the others while the host's cores are
    all busy (Docker's default is 1024; an idle host gives any container what it asks for)."""
    return [DOCKER, "update", "--cpu-shares", str(shares), container]


def start_args(container: str) -> list[str]:
    return [DOCKER, "start", container]


def image_inspect_args(ref: str) -> list[str]:
    return [DOCKER, "image", "inspect", "--format", "{{.Id}}", ref]


def image_exists(runner: Runner, ref: str) -> bool:
    """True when the engine has ``ref`` locally (asked even under --dry)."""
    return runner.probe(image_inspect_args(ref)).ok


def build_image(runner: Runner, tag: str, context: str, **kwargs) -> None:
    """``docker build``; raises CommandError with the build's last line on failure."""
    runner.run(build_args(tag, context, **kwargs), timeout=3600)


def ensure_engine(runner: Runner) -> None:
    """Fail with one line when the docker CLI is missing or no engine answers."""
    if shutil.which(DOCKER) is None:
        raise PreconditionError("docker not found on PATH; install Docker (https://docs.docker.com/get-docker/)")
    outcome = runner.probe([DOCKER, "version", "--format", "{{.Server.Version}}"], timeout=20)
    if outcome.ok:
        return
    said = next((line.strip() for line in reversed(outcome.stderr.splitlines()) if line.strip()), "")
    if "permission denied" in said.lower():
        raise PreconditionError("the Docker engine refused this user (permission denied on its socket); add yourself "
                                "to the docker group (`sudo usermod -aG docker $USER`, then log in again)")
    raise PreconditionError("the Docker engine does not answer" + (f" ({said})" if said else "")
                            + "; start it (`sudo systemctl start docker`, or start Docker Desktop)")


def pull_args(ref: str) -> list[str]:
    return [DOCKER, "pull", ref]


def tag_args(source: str, target: str) -> list[str]:
    return [DOCKER, "tag", source, target]


def push_args(ref: str) -> list[str]:
    return [DOCKER, "push", ref]


def login_args(registry: str, user: str) -> list[str]:
    """``docker login`` reading the password from standard input (never on the command line)."""
    return [DOCKER, "login", "--username", user, "--password-stdin", registry]


def context_host_args() -> list[str]:
    """The engine endpoint of the current Docker context (``unix:///var/run/docker.sock`` on most machines)."""
    return [DOCKER, "context", "inspect", "--format", "{{.Endpoints.docker.Host}}"]


def pull_image(runner: Runner, ref: str, *, timeout: float = 180) -> bool:
    """``docker pull``; False (not an error) when no registry answers, so callers can build instead."""

    try:
        runner.run(pull_args(ref), timeout=timeout, hide=True)
    except CommandError:
        return False
    return True


def run_detached_args(image: str, *, name: str, env: dict[str, str] | None = None,
                      publish: list[str] | None = None, args: list[str] | None = None, privileged: bool = False,
                      entrypoint: str | None = None, volumes: list[str] | None = None, restart: str | None = None,
                      labels: dict[str, str] | None = None) -> list[str]:
    """``docker run -d --name NAME [--privileged] [--restart POLICY] [--entrypoint E] [--label K=V]... [-e K=V]...
    [-p SPEC]... [-v SPEC]... IMAGE [ARGS]``."""
    argv = [DOCKER, "run", "--detach", "--name", name]
    if privileged:
        argv.append("--privileged")
    if restart:
        argv += ["--restart", restart]
    if entrypoint:
        argv += ["--entrypoint", entrypoint]
    for key, value in sorted((labels or {}).items()):
        argv += ["--label", f"{key}={value}"]
    for key, value in sorted((env or {}).items()):
        argv += ["--env", f"{key}={value}"]
    for spec in publish or []:
        argv += ["--publish", spec]
    for spec in volumes or []:
        argv += ["--volume", spec]
    return argv + [image] + list(args or [])


def commit_args(container: str, tag: str, *, changes: Sequence[str] = ()) -> list[str]:
    """``docker commit [--change INSTRUCTION]... CONTAINER TAG``: a container's filesystem as an image."""
    argv = [DOCKER, "commit"]
    for change in changes:
        argv += ["--change", change]
    return argv + [container, tag]


def save_args(path: str, refs: list[str]) -> list[str]:
    """``docker save --output PATH REF...``: images as one tar (what containerd's ``ctr images import`` reads)."""
    return [DOCKER, "save", "--output", path, *refs]


def remove_images_args(refs: list[str]) -> list[str]:
    """``docker rmi REF...``: without --force, so an image a container still uses stays."""
    return [DOCKER, "rmi", *refs]


def image_refs_args(repository: str) -> list[str]:
    """``docker images REPOSITORY``, one ``repo:tag`` a line."""
    return [DOCKER, "images", repository, "--format", "{{.Repository}}:{{.Tag}}"]


def remove_args(name: str) -> list[str]:
    """``docker rm --force --volumes NAME``: stop and delete a container with its anonymous volumes."""
    return [DOCKER, "rm", "--force", "--volumes", name]


def container_inspect_args(name: str) -> list[str]:
    """``docker container inspect NAME``: a JSON list with the container's state, config and networks."""
    return [DOCKER, "container", "inspect", name]


def network_connect_args(network: str, container: str) -> list[str]:
    return [DOCKER, "network", "connect", network, container]
