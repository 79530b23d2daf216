"""Stop a worker node's container for ``down`` seconds, then start it again: a machine that goes away.

What to expect, and what the round reports as it happens: after about 40 s without its kubelet the node
turns NotReady and its pods not Ready. A Cassandra pod cannot move: its PersistentVolume is a
local-path directory on that node, so it waits for the node (after 5 minutes the node controller evicts
it, and the recreated pod stays Pending until the node is back). Once the container runs again, systemd
boots the node, the kubelet re-registers, and the pods restart there; a writer pod on the node restarts
too (its restart count grows: the bar of zero restarts holds only for a writer on another node).
"""

from __future__ import annotations

from lab import docker, kind, kubectl, names
from lab.chaos import watch
from lab.chaos.faults.base import Fault, register
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.errors import LabError, PreconditionError
from lab.names import CASSANDRA_PODS


def node_pods(items: list[dict], node: str) -> list[str]:
    """Names of the pods in ``items`` scheduled on ``node``."""
    return sorted(p["metadata"]["name"] for p in items if p.get("spec", {}).get("nodeName") == node)


@register("node")
class StopNode(Fault):
    target = "node"
    timed = True

    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.observer = "cassandra-0"
        self.writer_here = False
        self.stopped = False

    def title(self) -> str:
        return f"stop node {self.name} for {self.down:.0f}s, then start it"

    def observer_pod(self) -> str:
        return self.observer

    def sample_metrics(self, env: Env) -> bool:
        return not self.writer_here  # a port-forward to a writer on the stopped node dies with it

    def validate(self, env: Env) -> None:
        if env.kind is None:
            raise PreconditionError("--node needs the kind cluster's node list (no kind CLI configured)")
        nodes = kind.nodes(env.runner, env.kind)
        workers = [n for n in nodes if not n.endswith("-control-plane")]
        if self.name in nodes and self.name not in workers:
            raise PreconditionError(f"--node {self.name!r}: the control plane serves the API this round watches; "
                                    f"stop a worker ({', '.join(workers)})")
        if nodes and self.name not in workers:
            raise PreconditionError(f"--node {self.name!r}: not a worker of kind cluster {env.kind.name!r} "
                                    f"(workers: {', '.join(workers) or 'none'})")
        if not nodes and not env.runner.dry:
            raise PreconditionError(f"kind cluster {env.kind.name!r} has no nodes; create it with `invoke reset`")

    def prepare(self, env: Env) -> None:
        pods = watch.require_ready(env, CASSANDRA_PODS)
        _, writers = watch.ready_writers(env)
        if not writers:
            raise PreconditionError("no Ready writer pod; run `invoke deploy` first")
        here = node_pods(list(pods.values()), self.name)
        self.observer = next(p for p in CASSANDRA_PODS if p not in here)  # one replica per worker: two are left
        self.writer_here = bool(node_pods(writers, self.name))

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = self.name
        items = self._lab_pods(env)
        on_node = node_pods(items, self.name)
        env.note(result, self.name, f"stopping; lab pods on it: {', '.join(on_node) or 'none'}")
        self.stopped = True
        env.runner.run(docker.stop_args(self.name), timeout=180)

    def observe(self, env: Env, result: RoundResult) -> None:
        try:
            env.note(result, self.name, watch.node_state(self.name, self._node(env)))
            # Once the node is started again its pods are described as any others (the waits do that).
            for pod in self._lab_pods(env) if self.stopped else []:
                if pod.get("spec", {}).get("nodeName") in (self.name, None, ""):
                    env.note(result, pod["metadata"]["name"], watch.pod_state(pod, down_node=self.name))
        except LabError:
            pass  # a failed read is not a failed round; the waits below decide that

    def restore(self, env: Env, result: RoundResult) -> None:
        if not self.stopped:
            return
        env.runner.run(docker.start_args(self.name), timeout=180)
        self.stopped = False
        result.restored_at = env.clock()
        env.note(result, self.name, "container started; waiting for its kubelet to re-register")

    def recover(self, env: Env, result: RoundResult) -> None:
        timeout = env.settings.timeout

        def node_back() -> bool:
            self.observe(env, result)
            return watch.node_ready(self._node(env)) == "True"

        if not kubectl.wait_until(node_back, timeout=timeout, every=2.0, clock=env.clock, sleep=env.sleep):
            result.error = (f"node {self.name} not Ready within {timeout:.0f}s of `docker start` "
                            f"({watch.node_state(self.name, self._node(env))})")
            return
        # Pods come back on the node under the same names (and uids, unless they were evicted meanwhile).
        if not watch.await_writer(env, result, set()):
            return
        watch.await_cassandra(env, result, CASSANDRA_PODS, set(), observer=self.observer, down_node=None,
                              poll=lambda: self.observe(env, result))

    def dry_run(self, env: Env) -> None:
        env.runner.run(docker.stop_args(self.name), timeout=180)
        print(f"[dry-run] # ... {self.down:.0f}s later")
        env.runner.run(docker.start_args(self.name), timeout=180)

    def _node(self, env: Env) -> dict | None:
        return kubectl.get_json(env.runner, env.kube, "node", self.name, namespaced=False)

    def _lab_pods(self, env: Env) -> list[dict]:
        return (kubectl.pods(env.runner, env.kube, names.CASSANDRA_SELECTOR)
                + kubectl.pods(env.runner, env.kube, names.WRITER_SELECTOR))
