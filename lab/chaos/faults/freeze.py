"""Freeze a worker node's container for ``down`` seconds, then thaw it: a machine that stops being scheduled
(a VM paused by its host, a kernel stuck) while its network stays up.

``docker pause`` freezes every process of the node (kubelet, containerd, the pods) in the cgroup freezer;
``docker unpause`` lets them run on from where they stood, nothing restarted. Unlike ``--node`` (which stops
the container) the node's addresses keep answering at the TCP level, so peers and clients see connections
that accept and never reply. After about 40 s without its kubelet the node turns NotReady; once thawed it
reports Ready again within seconds. The round waits for that, the writers and every node UN, as ``--node``
does (lab.chaos.faults.node).
"""

from __future__ import annotations

from lab import docker
from lab.chaos.faults.base import register
from lab.chaos.faults.node import StopNode, node_pods
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.errors import PreconditionError


def pause_args(container: str) -> list[str]:
    return [docker.DOCKER, "pause", container]


def unpause_args(container: str) -> list[str]:
    return [docker.DOCKER, "unpause", container]


@register("freeze")
class FreezeNode(StopNode):
    """A node stopped in place instead of shut down: same targets, same recovery as ``--node``."""

    def title(self) -> str:
        return f"freeze node {self.name} for {self.down:.0f}s (docker pause), then thaw it"

    def validate(self, env: Env) -> None:
        try:
            super().validate(env)
        except PreconditionError as err:
            raise PreconditionError(str(err).replace("--node ", "--freeze ", 1)) from None

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = self.name
        on_node = ", ".join(node_pods(self._lab_pods(env), self.name)) or "none"
        env.note(result, self.name, f"frozen (docker pause); lab pods on it: {on_node}")
        self.stopped = True
        env.runner.run(pause_args(self.name), timeout=180)

    def restore(self, env: Env, result: RoundResult) -> None:
        if not self.stopped:
            return
        env.runner.run(unpause_args(self.name), timeout=180)
        self.stopped = False
        result.restored_at = env.clock()
        env.note(result, self.name, "thawed (docker unpause); waiting for its kubelet to report")

    def dry_run(self, env: Env) -> None:
        env.runner.run(pause_args(self.name), timeout=180)
        print(f"[dry-run] # ... {self.down:.0f}s later")
        env.runner.run(unpause_args(self.name), timeout=180)
