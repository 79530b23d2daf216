"""kind CLI: argv builders (pure) and thin wrappers that run them through a Runner.

Only this module adds ``--name <cluster>``; every call names the cluster, so nothing touches another one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lab import docker
from lab.errors import CommandError, LabError
from lab.runner import Runner


@dataclass(frozen=True)
class Kind:
    """The kind binary and the one cluster it manages."""

    binary: str = "kind"
    name: str = "kind"

    def version_args(self) -> list[str]:
        return [self.binary, "version"]

    def get_clusters_args(self) -> list[str]:
        return [self.binary, "get", "clusters"]

    def get_nodes_args(self) -> list[str]:
        return [self.binary, "get", "nodes", "--name", self.name]

    def create_args(self, config: str, *, image: str | None = None, wait: int = 0) -> list[str]:
        argv = [self.binary, "create", "cluster", "--name", self.name, "--config", config]
        if image:
            # --image overrides every node's image in the config: how a locally built node image is used.
            argv += ["--image", image]
        if wait:
            # kind waits for the control plane only; deploy waits for the workloads itself.
            argv += ["--wait", f"{wait}s"]
        return argv

    def delete_args(self) -> list[str]:
        return [self.binary, "delete", "cluster", "--name", self.name]

    def load_args(self, image: str, nodes: list[str] | None = None) -> list[str]:
        argv = [self.binary, "load", "docker-image", image, "--name", self.name]
        if nodes:
            argv += ["--nodes", ",".join(nodes)]
        return argv


def cluster_exists(runner: Runner, kind: Kind) -> bool:
    """True when ``kind get clusters`` lists the cluster (asked even under --dry)."""
    outcome = runner.probe(kind.get_clusters_args())
    # One name a line; "No kind clusters found." is a sentence, not a list (and contains "kind").
    return outcome.ok and kind.name in (line.strip() for line in outcome.stdout.splitlines())


def nodes(runner: Runner, kind: Kind) -> list[str]:
    """The cluster's node container names; empty when the cluster does not exist."""
    outcome = runner.probe(kind.get_nodes_args())
    if not outcome.ok:
        return []
    return sorted(line.strip() for line in outcome.stdout.splitlines()
                  if line.strip() and not line.startswith("No kind nodes"))


#: Docker's default CPU weight, and the weight ``weigh_nodes`` gives the nodes it favours (``invoke chaos
#: --cpu-weight``, off by default): four times another's.
DEFAULT_CPU_SHARES, FAVOURED_CPU_SHARES = 1024, 4096


def weigh_nodes(runner: Runner, kind: Kind, favoured: set[str]) -> list[str]:
    """Give the cluster's node containers named in ``favoured`` four times the CPU weight of its other nodes,
    and every other node Docker's default again (a favoured node of an earlier call may not be one now).
    Returns the nodes favoured; nothing changes when none of ``favoured`` is a node of this cluster (a context
    that is not this kind cluster)."""
    node_names = nodes(runner, kind)
    chosen = sorted(favoured & set(node_names))
    if chosen:
        for node in node_names:
            shares = FAVOURED_CPU_SHARES if node in favoured else DEFAULT_CPU_SHARES
            runner.run(docker.cpu_shares_args(node, shares), timeout=60)
    return chosen


def reset_weights(runner: Runner, kind: Kind) -> list[str]:
    """Every node container of the cluster back to Docker's default CPU weight (after a ``weigh_nodes``).
    Returns the nodes reset."""
    node_names = nodes(runner, kind)
    for node in node_names:
        runner.run(docker.cpu_shares_args(node, DEFAULT_CPU_SHARES), timeout=60)
    return node_names


def delete_cluster(runner: Runner, kind: Kind) -> None:
    try:
        runner.run(kind.delete_args(), timeout=300)
    except CommandError as err:
        raise LabError(f"failed to delete kind cluster {kind.name}: {err}") from err


def create_cluster(runner: Runner, kind: Kind, config: str, *, image: str | None = None, timeout: int = 600) -> None:
    try:
        runner.run(kind.create_args(config, image=image, wait=min(timeout, 300)), timeout=timeout)
    except CommandError as err:
        raise LabError(f"failed to create kind cluster {kind.name} from {config}: {err}") from err


def node_image_args(node: str, image: str) -> list[str]:
    """Ask the node's containerd about ``image``: JSON whose status.id is the image ID (kind checks this way)."""
    return docker.exec_args(node, ["crictl", "inspecti", "-o", "json", _normalise(image)])


def node_image_id(runner: Runner, node: str, image: str) -> str | None:
    outcome = runner.probe(node_image_args(node, image), timeout=30)
    if not outcome.ok:
        return None
    try:
        return json.loads(outcome.stdout).get("status", {}).get("id") or None
    except ValueError:
        return None


def nodes_missing_image(runner: Runner, node_names: list[str], image: str) -> list[str]:
    """Nodes without ``image`` or with another image under its name (a rebuilt mutable tag), compared by
    image ID against the local engine's copy, as ``kind load`` itself decides."""
    local = runner.probe(docker.image_inspect_args(image), timeout=30)
    local_id = local.stdout.strip() if local.ok else None
    return [n for n in node_names if local_id is None or node_image_id(runner, n, image) != local_id]


def load_image(runner: Runner, kind: Kind, image: str, *, workers_only: bool = False, hide: bool = False) -> list[str]:
    """``kind load docker-image`` into the nodes that lack ``image``; returns the nodes loaded (empty: skipped).
    ``workers_only``: not into the control plane, where no pod of the lab runs (see ``worker_nodes``); ``hide``:
    kind's output captured (a failure still carries it), for a load running beside other steps."""
    all_nodes = worker_nodes(runner, kind) if workers_only else nodes(runner, kind)
    missing = nodes_missing_image(runner, all_nodes, image) if all_nodes else []
    if all_nodes and not missing:
        return []
    # Name the nodes only when some already have it (or the control plane is left out); a dry run on a missing
    # cluster loads into all.
    targets = missing if missing and (len(missing) < len(all_nodes) or workers_only) else None
    try:
        runner.run(kind.load_args(image, targets), timeout=900, hide=hide)
    except CommandError as err:
        raise LabError(f"failed to load image {image} into kind cluster {kind.name}: {err}") from err
    return missing or all_nodes or ["(all)"]


#: The label kind puts on each node container saying its role: control-plane, worker (kind's
#: pkg/cluster/constants, NodeRoleLabelKey).
ROLE_LABEL = "io.x-k8s.kind.role"


def worker_nodes_args(kind: Kind) -> list[str]:
    return [docker.DOCKER, "ps", "--all", "--filter", cluster_label_filter(kind.name), "--filter",
            f"label={ROLE_LABEL}=worker", "--format", "{{.Names}}"]


def worker_nodes(runner: Runner, kind: Kind) -> list[str]:
    """The cluster's worker node containers. kubeadm taints a control plane NoSchedule in a cluster with workers
    (kind lifts it only for a cluster of one node) and no pod of the lab tolerates it, so an image is needed
    on the workers only."""
    outcome = runner.probe(worker_nodes_args(kind), timeout=30)
    return sorted(line.strip() for line in outcome.stdout.splitlines() if line.strip()) if outcome.ok else []


def _normalise(image: str) -> str:
    """containerd names Docker Hub images in full (docker.io/library/cassandra:5.0)."""
    name = image.split("@", 1)[0]
    first = name.split("/", 1)[0]
    if "/" not in name:
        return f"docker.io/library/{name}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{name}"
    return name


#: The Docker network kind puts every cluster's nodes on (kind's pkg/cluster/internal/providers/docker/network.go).
NETWORK = "kind"

#: The label kind puts on every node container of a cluster (kind's pkg/cluster/internal/providers/docker).
CLUSTER_LABEL = "io.x-k8s.kind.cluster"


def cluster_label_filter(cluster: str) -> str:
    """``docker ps --filter`` value selecting one kind cluster's node containers."""
    return f"label={CLUSTER_LABEL}={cluster}"
