"""Section II, kind cluster setup: the nodes (kind get nodes), their containers (docker ps), what runs
inside a worker (crictl ps), the versions, and whether the cluster answers (kubectl cluster-info). Here are
what it collects (``collect``), its key facts (``facts``) and its answers, one function per question.

``collect`` also decides ``col.cluster_up``: the later sections ask the cluster only when it answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab import command_output, docker, kind, kubectl
from lab.config import LabSettings
from lab.report.model import Answer, Fact, fact, note

if TYPE_CHECKING:  # collect.py imports this module
    from lab.report.collect import Collector

#: The nodes cluster.yml asks for, for a report whose ``expected`` does not say (saved before it did).
CLUSTER_NODES = 5


def collect(col: Collector) -> None:
    items = col.section("II")
    cfg, rec, data = col.cfg, col.rec, col.data
    out = rec.show(col.kind.get_nodes_args(), "The cluster's nodes")
    nodes = command_output.kind_nodes(out.stdout) if out.ok else []
    data["kind_nodes"] = nodes
    out = rec.show(docker.ps_args(kind.cluster_label_filter(cfg.cluster)), "Each node is a Docker container")
    data["node_containers"] = command_output.docker_ps(out.stdout) if out.ok else []
    workers = [n for n in nodes if "worker" in n]
    if workers:
        out = rec.show(docker.exec_args(workers[0], ["crictl", "ps"]),
                       f"Kubernetes containers inside {workers[0]} (crictl, the CRI client)", timeout=60)
        names = command_output.crictl_names(out.stdout) if out.ok else []
        data["crictl"] = {"node": workers[0], "containers": len(names) if out.ok else None, "names": names}
    else:
        items.append(note(f"Not collected: `crictl ps` inside a worker: kind cluster {cfg.cluster} has no "
                          "worker node (no cluster? `invoke up` creates it)."))
    out = rec.show(col.kind.version_args(), "kind's version")
    data["versions"] = {"kind": out.stdout.strip() if out.ok else ""}
    col.cluster_up = kubectl.context_exists(rec, col.kube)
    if not col.cluster_up:
        col.down_reason = (f"kube context {col.kube.context} not found: kind cluster {cfg.cluster} is not "
                           "running (`invoke up` creates it)")
    elif cfg.is_kind_context and not nodes:
        # A context left behind in the kubeconfig: every kubectl call would wait on a dead API server.
        col.cluster_up = False
        col.down_reason = (f"kind cluster {cfg.cluster} has no nodes (its kube context is stale; "
                           "`invoke up` creates the cluster)")
    out = rec.show(col.kube.version_args(), "kubectl and Kubernetes versions")
    data["versions"].update(command_output.versions(out.stdout))
    if "client" not in data["versions"]:  # without the context kubectl prints only the error
        out = rec.show(col.kube.version_args(client=True), "kubectl's own version")
        data["versions"].update(command_output.versions(out.stdout))
    images = sorted({c.get("image", "") for c in data["node_containers"]} - {""})
    data["versions"]["node_image"] = ", ".join(images)
    if col.cluster_up:
        # What kind create cluster tells the user to type: the control plane's address proves it answers.
        out = rec.show(
            col.kube.cluster_info_args(), "The cluster answers (as `kind create cluster` suggests)", timeout=30
        )
        data["cluster_info"] = command_output.cluster_info(out.stdout) if out.ok else None
        rec.show(col.kube.get_wide_args("nodes", namespaced=False), "Nodes as Kubernetes sees them")
    else:
        items.append(note(f"Not collected: `kubectl cluster-info --context {col.kube.context}` and "
                          f"`kubectl get nodes`: {col.down_reason}."))


# -- key facts (pure) ------------------------------------------------------------------------------------

def facts(report: dict[str, Any]) -> list[Fact]:
    data, expected = report.get("data", {}), report.get("expected", {})
    nodes = data.get("kind_nodes")
    want_nodes = expected.get("nodes", CLUSTER_NODES)
    containers = data.get("node_containers")
    up = [c for c in containers or [] if c.get("status", "").startswith("Up")]
    versions = data.get("versions", {})
    info = data.get("cluster_info")
    return [
        fact("II", "kind nodes", len(nodes) if nodes else (0 if nodes == [] else None), want_nodes,
             bool(nodes) and len(nodes) == want_nodes),
        fact("II", "node containers running", len(up) if containers is not None else None, want_nodes,
             containers is not None and len(up) == want_nodes),
        fact("II", "kubectl (client)", versions.get("client")),
        fact("II", "Kubernetes (server)", versions.get("server")),
        fact("II", "node image", versions.get("node_image") or None),
        fact("II", "control plane (kubectl cluster-info)",
             (info or {}).get("Kubernetes control plane") if info else None),
    ]


# -- answers (pure), one function per question -----------------------------------------------------------

def answers(report: dict[str, Any]) -> list[Answer]:
    return [cluster_running(report), what_the_nodes_are(report), inside_a_worker(report),
            kubectl_reaches_it(report)]


def cluster_running(report: dict[str, Any]) -> Answer:
    q = "Is the kind cluster running, with the nodes cluster.yml asks for? (`kind get nodes`)"
    nodes = report.get("data", {}).get("kind_nodes") or []
    if not nodes:
        cluster = report.get("cluster", LabSettings.cluster)
        return Answer("II", q, f"No: kind cluster {cluster} has no nodes, so there is nothing to show yet.",
                      ("invoke up",))
    workers = [n for n in nodes if "worker" in n]
    want = report.get("expected", {}).get("nodes", CLUSTER_NODES)
    verdict = "as cluster.yml asks" if len(nodes) == want else f"but cluster.yml asks for {want}"
    return Answer("II", q, f"Yes: `kind get nodes` lists {len(nodes)} nodes ({', '.join(nodes)}): "
                           f"{len(nodes) - len(workers)} control plane and {len(workers)} workers, {verdict}.")


def what_the_nodes_are(report: dict[str, Any]) -> Answer:
    q = "What are the nodes? (`docker ps`)"
    containers = report.get("data", {}).get("node_containers") or []
    if not containers:
        return Answer("II", q, "Not answered yet: `docker ps` shows no container of the cluster.", ("invoke up",))
    images = sorted({c.get("image", "") for c in containers} - {""})
    up = [c for c in containers if c.get("status", "").startswith("Up")]
    return Answer("II", q, f"Each node is a Docker container: `docker ps` lists {len(containers)} containers "
                           f"({len(up)} up) from the image {', '.join(images) or 'unknown'}, named like the "
                           "nodes. Kubernetes' own containers run nested inside them.")


def inside_a_worker(report: dict[str, Any]) -> Answer:
    q = "What runs inside a worker node? (`docker exec kind-worker crictl ps`)"
    crictl = report.get("data", {}).get("crictl") or {}
    if not crictl.get("names"):
        return Answer("II", q, "Not answered yet: no worker node to run `crictl ps` in.", ("invoke up",))
    return Answer("II", q, f"Inside {crictl['node']}, `crictl ps` lists {len(crictl['names'])} running "
                           f"containers: {', '.join(crictl['names'])}. They run in the node's own "
                           "containerd, which is why the host's `docker ps` does not show them.")


def kubectl_reaches_it(report: dict[str, Any]) -> Answer:
    data, context = report.get("data", {}), report.get("context", "kind-kind")
    q = f"Does kubectl reach the cluster? (`kubectl cluster-info --context {context}`)"
    info = data.get("cluster_info") or {}
    plane = info.get("Kubernetes control plane")
    if not plane:
        return Answer("II", q, f"Not answered yet: kube context {context} does not answer.", ("invoke up",))
    versions = data.get("versions", {})
    server = f" running Kubernetes {versions['server']}" if versions.get("server") else ""
    return Answer("II", q, f"Yes: the Kubernetes control plane is running at {plane}{server}"
                           + (f"; CoreDNS at {info['CoreDNS']}" if info.get("CoreDNS") else "") + ".")
