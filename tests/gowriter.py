"""The tests' own Go writer (tests/e2e/gowriter), built and run as a student builds and runs the assignment's.

It behaves as the assignment's writer.go: gocql, ``log.Fatalf`` on any error, seq 1 on every start unless
WRITER_RESUME=true (or -resume), no login unless CASSANDRA_USERNAME is set. Its Dockerfile copies a binary
compiled on the host (``build_binary``: the Go module proxy for gocql, the lab's Go build settings), so the image
needs nothing from a registry but debian:bookworm-slim; the e2e tier then builds it with
`invoke build --writer-dir tests/e2e/gowriter`, and the writer tests with the same recipe in-process (``image``).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOWRITER = ROOT / "tests" / "e2e" / "gowriter"
#: What the Dockerfile COPYs (gitignored).
BINARY = GOWRITER / "bin" / "writer"


def build_binary() -> Path:
    """``go build`` of the writer into bin/writer: static, and byte for byte the same for the same sources and Go
    (-trimpath, no VCS stamp), so the image's content tag changes only when the writer does."""
    from lab.images.golang import go_env, require_go

    require_go("to compile the tests' Go writer (tests/e2e/gowriter)")
    done = subprocess.run(["go", "build", "-trimpath", "-ldflags=-s -w", "-o", str(BINARY), "."], cwd=GOWRITER,
                          env={**os.environ, **go_env()}, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"go build of {GOWRITER} failed:\n{done.stderr[-3000:]}"
    return BINARY


def image() -> str:
    """The writer's image, as `invoke build --writer-dir tests/e2e/gowriter` makes it (compiled first)."""
    from invoke import Context

    from lab.images import writer as writer_image
    from lab.runner import Runner

    build_binary()
    return writer_image.ensure_image(Runner(Context(), echo=False), source=GOWRITER, quiet=True)


class GoWriter:
    """The writer's container in the network namespace of a Cassandra container (testcontainers' node), run as
    writer.yml's restricted pod runs it: user 10001, read-only root, no capabilities, no privilege escalation."""

    def __init__(self, container):
        self.container = container

    @classmethod
    def start(cls, image: str, cassandra, env: dict[str, str], volumes: dict[str, dict] | None = None) -> GoWriter:
        """``cassandra`` is the Cassandra container (docker SDK); CASSANDRA_SEEDS its address, as a pod's is.
        ``volumes``: host paths mounted in the writer's container (the docker SDK's form), as a pod mounts Secrets."""
        import docker

        cassandra.reload()
        address = next(n["IPAddress"] for n in cassandra.attrs["NetworkSettings"]["Networks"].values())
        container = docker.from_env().containers.run(
            image, detach=True, environment={"CASSANDRA_SEEDS": address, **env},
            network_mode=f"container:{cassandra.id}", user="10001:10001", read_only=True, cap_drop=["ALL"],
            security_opt=["no-new-privileges"], volumes=volumes or {})
        return cls(container)

    @property
    def logs(self) -> str:
        return self.container.logs().decode()

    def wait_for(self, pattern: str, *, timeout: float) -> re.Match:
        """The first match of ``pattern`` in the log; fails with the log's tail if the writer exits or is slow."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.logs):
                return match
            self.container.reload()
            if self.container.status == "exited":
                break
            time.sleep(0.5)
        raise AssertionError(f"no {pattern!r} in the Go writer's log ({self.container.status}):\n{self.logs[-2000:]}")

    def wait(self, timeout: float) -> int:
        """The exit code, once the writer ended by itself."""
        return int(self.container.wait(timeout=timeout)["StatusCode"])

    def stop(self) -> None:
        """SIGTERM: Go's runtime ends the program (also as PID 1), as a pod deletion does."""
        self.container.stop(timeout=10)

    def remove(self) -> None:
        self.container.remove(force=True)
