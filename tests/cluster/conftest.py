"""The session's 5-node kind cluster (tests/kind_lab.py: `invoke reset` from cluster.yml and the node image the
lab's policy gives, lab.images.kind_node_source; here, with no registry, the locally built one), checked before
the end-to-end tier deploys the lab on it.

These checks run in a namespace of their own (``node-checks``), deleted when the module is done, so the lab
finds the cluster as `invoke reset` left it. `kind`, `kubectl` and `docker` run through `sh`, as a user types
them; the lab's Runner only serves the lab's own functions (kind and kubectl when missing, the node logs).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sh
from invoke import Context

from lab.digest import tree_digest
from lab.images import kindnode
from lab.runner import Runner
from tests.commands import FAILED
from tests.kind_lab import CLUSTER, KUBECONFIG

NODE_COUNT = 5
READY_TIMEOUT = 300
#: Where these checks put their pods, PVCs and StatefulSet: not the lab's namespace.
NAMESPACE = "node-checks"


@dataclass
class Cluster:
    runner: Runner  # the lab's, for kindnode.node_logs
    kind: sh.Command
    kubectl_bin: str
    name: str
    kubeconfig: Path
    namespace: str

    def kubectl(self, *args: str, timeout: float = 120, input: str | None = None) -> str:
        """stdout of a kubectl command against this cluster; raises one of tests.commands.FAILED on failure."""
        on_cluster = sh.Command(self.kubectl_bin).bake("--kubeconfig", str(self.kubeconfig),
                                                       "--context", f"kind-{self.name}",
                                                       "--namespace", self.namespace, _tty_out=False)
        return on_cluster(*args, _timeout=timeout, _in=input)

    def apply(self, manifest: str) -> None:
        self.kubectl("apply", "-f", "-", input=manifest)

    def json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def nodes(self) -> list[str]:
        return sorted(self.kind("get", "nodes", "--name", self.name, _timeout=120).split())


@pytest.fixture(scope="module")
def cluster(kind_lab):
    """The session's cluster, seen through a namespace of these checks' own (deleted afterwards)."""
    runner = Runner(Context(), echo=False)
    tools = kindnode.ensure_tools(runner)
    kind = sh.Command(tools["kind"]).bake(_tty_out=False)
    made = Cluster(runner, kind, tools["kubectl"], CLUSTER, KUBECONFIG, NAMESPACE)
    made.kubectl("create", "namespace", NAMESPACE)
    yield made
    with contextlib.suppress(*FAILED):  # best effort: the lab does not need it gone to deploy
        made.kubectl("delete", "namespace", NAMESPACE, "--wait=false")


@pytest.fixture(scope="module")
def ready_cluster(cluster):
    """The cluster once every node is Ready; otherwise fail with each unready node's kubelet/containerd logs."""
    deadline = time.monotonic() + READY_TIMEOUT
    unready: list[str] = []
    while time.monotonic() < deadline:
        items = cluster.json("nodes")["items"]
        unready = [item["metadata"]["name"] for item in items if not _ready(item)]
        if len(items) == NODE_COUNT and not unready:
            return cluster
        time.sleep(5)
    missing = sorted(set(cluster.nodes()) - {i["metadata"]["name"] for i in cluster.json("nodes")["items"]})
    report = "\n\n".join(kindnode.node_logs(cluster.runner, node) for node in (unready + missing))
    pytest.fail(f"nodes not Ready after {READY_TIMEOUT}s: {unready + missing}\n{report}")


def _ready(node: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))


@pytest.fixture(scope="module")
def test_image(ready_cluster):
    """A locally built image (tests/cluster/Dockerfile), loaded into every node with `kind load docker-image`."""
    here = Path(__file__).parent
    tag = f"localhost/lab-cluster-test:{tree_digest([here / 'Dockerfile'])}"
    sh.docker("build", "--tag", tag, str(here), _env={**os.environ, **kindnode.DOCKER_ENV}, _timeout=600,
              _tty_out=False)
    ready_cluster.kind("load", "docker-image", tag, "--name", ready_cluster.name, _timeout=600)
    return tag
