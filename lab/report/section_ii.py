"""Section II, kind cluster setup: the nodes (kind get nodes), their containers (docker ps), what runs
inside a worker (crictl ps), the versions, and whether the cluster answers (kubectl cluster-info).

It also decides ``col.cluster_up``: the later sections ask the cluster only when it answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lab import command_output, docker, kind, kubectl
from lab.report.model import note

if TYPE_CHECKING:  # collect.py imports this module
    from lab.report.collect import Collector


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
