"""A real 5-node kind cluster from cluster.yml, created once per session with the locally built node image.

The cluster gets its own name and kubeconfig file, so these tests never touch the lab's `kind` cluster or
~/.kube/config. It is deleted at the end of the session (and before, if a previous run left it behind).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from invoke import Context

from lab.digest import tree_digest
from lab.errors import CommandError
from lab.images import kindnode
from lab.runner import Runner

ROOT = Path(__file__).resolve().parents[2]

CLUSTER = "lab-node-test"
NODE_COUNT = 5
READY_TIMEOUT = 300


@dataclass
class Cluster:
    runner: Runner
    kind: str
    kubectl_bin: str
    name: str
    kubeconfig: Path
    image: str
    create_seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def kubectl(self, *args: str, timeout: float = 120, input: str | None = None) -> str:
        """stdout of a kubectl command against this cluster; raises CommandError on failure."""
        argv = [self.kubectl_bin, "--kubeconfig", str(self.kubeconfig), "--context", f"kind-{self.name}", *args]
        return self.runner.output(argv, timeout=timeout, input=input)

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest)

    def json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def nodes(self) -> list[str]:
        out = self.runner.output([self.kind, "get", "nodes", "--name", self.name])
        return sorted(out.split())


def _delete(runner: Runner, kind: str, kubeconfig: Path) -> None:
    runner.probe([kind, "delete", "cluster", "--name", CLUSTER, "--kubeconfig", str(kubeconfig)], timeout=300)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    runner = Runner(Context(), echo=False)
    tools = kindnode.ensure_tools(runner)
    image = kindnode.ensure_image(runner)
    kubeconfig = tmp_path_factory.mktemp("kube") / "config"
    _delete(runner, tools["kind"], kubeconfig)
    started = time.monotonic()
    try:
        try:
            runner.run([tools["kind"], "create", "cluster", "--name", CLUSTER, "--config", str(ROOT / "cluster.yml"),
                        "--image", image, "--kubeconfig", str(kubeconfig), "--retain"], hide=True, timeout=900)
        except CommandError as err:
            nodes = runner.probe([tools["kind"], "get", "nodes", "--name", CLUSTER]).stdout.split()
            report = "\n\n".join(kindnode.node_logs(runner, node) for node in nodes)
            pytest.fail(f"kind create cluster failed: {err}\n{err.output[-3000:]}\n{report}")
        created = Cluster(runner, tools["kind"], tools["kubectl"], CLUSTER, kubeconfig, image,
                          time.monotonic() - started)
        print(f"\nkind create cluster with {image}: {created.create_seconds:.0f}s", file=sys.stderr)
        yield created
    finally:
        _delete(runner, tools["kind"], kubeconfig)


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
    runner = ready_cluster.runner
    here = Path(__file__).parent
    tag = f"localhost/lab-cluster-test:{tree_digest([here / 'Dockerfile'])}"
    runner.run(["docker", "build", "--tag", tag, str(here)], hide=True, env=kindnode.DOCKER_ENV, timeout=600)
    runner.run([ready_cluster.kind, "load", "docker-image", tag, "--name", ready_cluster.name], hide=True,
               timeout=600)
    return tag
