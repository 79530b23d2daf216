"""A pod's containers as its kind node sees them: ``crictl`` inside the node container.

Kubernetes names a container by its CRI id ("containerd://<id>" in the pod's status); the node's runtime
knows the rest: which sandbox holds it and the host pid of each, in the node's pid namespace. That pid is
what a fault needs from outside the pod: ``nsenter`` into the sandbox's network namespace (a partition),
or a signal the container cannot ignore (SIGKILL or SIGSTOP sent to a container's PID 1 from inside its own
pid namespace is ignored, sent from the node it is not).
"""

from __future__ import annotations

import json

from lab import docker, names


def container_id(pod: dict, container: str = names.CASSANDRA_CONTAINER) -> str:
    """The CRI id of ``container`` in a pod's status ("containerd://<id>" -> "<id>"), or ''."""
    for cs in pod.get("status", {}).get("containerStatuses", []) or []:
        if cs.get("name") == container and cs.get("containerID"):
            return cs["containerID"].split("://", 1)[-1]
    return ""


def locate(pod: dict, container: str = names.CASSANDRA_CONTAINER) -> tuple[str, str]:
    """The pod's node and the CRI id of ``container`` in it; ValueError when its status does not say yet."""
    node, cid = pod.get("spec", {}).get("nodeName", ""), container_id(pod, container)
    if not node or not cid:
        raise ValueError("no node or container id in its status")
    return node, cid


def crictl_args(node: str, *args: str) -> list[str]:
    return docker.exec_args(node, ["crictl", *args])


def sandbox_of(inspect_json: str) -> str:
    """The pod sandbox id from ``crictl inspect <container>`` output."""
    return str(json.loads(inspect_json).get("info", {}).get("sandboxID") or "")


def pid_of(inspect_json: str) -> int:
    """The host pid from ``crictl inspect <container>`` or ``crictl inspectp <sandbox>`` output."""
    pid = json.loads(inspect_json).get("info", {}).get("pid")
    if not isinstance(pid, int) or pid <= 0:
        raise ValueError("no pid in crictl's output")
    return pid


def kill_args(node: str, pid: int | str, signal: str = "KILL") -> list[str]:
    """Signal a process of ``node`` by its pid there (``docker exec kind-worker kill -KILL 4242``)."""
    return docker.exec_args(node, ["kill", f"-{signal}", str(pid)])
