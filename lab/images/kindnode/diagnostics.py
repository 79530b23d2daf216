"""What a running kind node's kubelet and containerd said last, for the error report of a cluster that failed."""

from __future__ import annotations

from lab import docker
from lab.runner import Runner


def node_logs(runner: Runner, node: str, lines: int = 25) -> str:
    """The last lines of kubelet's and containerd's journals inside a kind node container, for error reports."""
    parts = []
    for unit in ("kubelet", "containerd"):
        outcome = runner.probe(docker.exec_args(node, ["journalctl", "--unit", unit, "--lines", str(lines),
                                "--no-pager", "--output", "short-precise"]), timeout=30)
        text = (outcome.stdout or outcome.stderr).rstrip() or "(no output)"
        parts.append(f"--- {node}: {unit}, last {lines} lines ---\n{text}")
    return "\n".join(parts)
