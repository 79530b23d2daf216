"""A real 5-node kind cluster from cluster.yml, created once per session from the node image the lab's policy
gives (lab.images.kind_node_source, as for `invoke reset`: here, with no registry, the locally built one).

The cluster gets its own name and kubeconfig file, so these tests never touch the lab's `kind` cluster or
~/.kube/config. It is deleted at the end of the session (and before, if a previous run left it behind).
`kind`, `kubectl` and `docker` run through `sh`, as a user types them; the lab's Runner only serves the lab's
own functions (kind and kubectl when missing, the node image, the node logs).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sh
from invoke import Context

from lab import suites
from lab.config import LabConfig
from lab.digest import tree_digest
from lab.images import kindnode
from lab.runner import Runner
from tests.commands import FAILED, run

ROOT = Path(__file__).resolve().parents[2]

CLUSTER = "lab-node-test"
NODE_COUNT = 5
READY_TIMEOUT = 300


@dataclass
class Cluster:
    runner: Runner  # the lab's, for kindnode.node_logs
    kind: sh.Command
    kubectl_bin: str
    name: str
    kubeconfig: Path
    image: str
    create_seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def kubectl(self, *args: str, timeout: float = 120, input: str | None = None) -> str:
        """stdout of a kubectl command against this cluster; raises one of tests.commands.FAILED on failure."""
        on_cluster = sh.Command(self.kubectl_bin).bake("--kubeconfig", str(self.kubeconfig),
                                                       "--context", f"kind-{self.name}", _tty_out=False)
        return on_cluster(*args, _timeout=timeout, _in=input)

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest)

    def json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def nodes(self) -> list[str]:
        return sorted(self.kind("get", "nodes", "--name", self.name, _timeout=120).split())


def _delete(kind: sh.Command, kubeconfig: Path) -> None:
    """Best effort, before the session (a run that left its cluster) and after it: a failure is not the test's."""
    with contextlib.suppress(*FAILED):
        kind("delete", "cluster", "--name", CLUSTER, "--kubeconfig", str(kubeconfig), _timeout=300)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    runner = Runner(Context(), echo=False)
    tools = kindnode.ensure_tools(runner)
    # The user's lab.images.kind_node_source (invoke.yaml, INVOKE_LAB_*), as `invoke reset` would use it.
    image = suites.kind_node_image_for_tests(runner, LabConfig.from_project(ROOT))
    kind = sh.Command(tools["kind"]).bake(_tty_out=False)
    kubeconfig = tmp_path_factory.mktemp("kube") / "config"
    _delete(kind, kubeconfig)
    started = time.monotonic()
    try:
        try:
            kind("create", "cluster", "--name", CLUSTER, "--config", str(ROOT / "cluster.yml"), "--image", image,
                 "--kubeconfig", str(kubeconfig), "--retain", _timeout=900)
        except FAILED as err:
            nodes = run(kind, "get", "nodes", "--name", CLUSTER, _timeout=60).stdout.split()
            report = "\n\n".join(kindnode.node_logs(runner, node) for node in nodes)
            pytest.fail(f"kind create cluster failed: {_failure(err)}\n{report}")
        created = Cluster(runner, kind, tools["kubectl"], CLUSTER, kubeconfig, image, time.monotonic() - started)
        print(f"\nkind create cluster with {image}: {created.create_seconds:.0f}s", file=sys.stderr)
        yield created
    finally:
        _delete(kind, kubeconfig)


def _failure(err: Exception) -> str:
    """What a failed command said: its exit and the tail of its output (a timeout has none)."""
    if isinstance(err, sh.TimeoutException):
        return f"`{err.full_cmd}` timed out"
    output = (err.stdout + err.stderr).decode(errors="replace")
    return f"`{err.full_cmd}` exited {err.exit_code}\n{output[-3000:]}"


@pytest.fixture(scope="session")
def ready_cluster(cluster):
    """The cluster once every node is Ready; otherwise fail with each unready node's kubelet/containerd logs."""
    deadline = time.monotonic() + READY_TIMEOUT
    unready: list[str] = []
    while time.monotonic() < deadline:
        items = cluster.json("nodes")["items"]
        unready = [item["metadata"]["name"] for item in items if not _ready(item)]
        if len(items) == NODE_COUNT and not unready:
            cluster.timings["ready"] = cluster.create_seconds + READY_TIMEOUT - (deadline - time.monotonic())
            return cluster
        time.sleep(5)
    missing = sorted(set(cluster.nodes()) - {i["metadata"]["name"] for i in cluster.json("nodes")["items"]})
    report = "\n\n".join(kindnode.node_logs(cluster.runner, node) for node in (unready + missing))
    pytest.fail(f"nodes not Ready after {READY_TIMEOUT}s: {unready + missing}\n{report}")


def _ready(node: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))


@pytest.fixture(scope="session")
def test_image(ready_cluster):
    """A locally built image (tests/cluster/Dockerfile), loaded into every node with `kind load docker-image`."""
    here = Path(__file__).parent
    tag = f"localhost/lab-cluster-test:{tree_digest([here / 'Dockerfile'])}"
    sh.docker("build", "--tag", tag, str(here), _env={**os.environ, **kindnode.DOCKER_ENV}, _timeout=600,
              _tty_out=False)
    ready_cluster.kind("load", "docker-image", tag, "--name", ready_cluster.name, _timeout=600)
    return tag
