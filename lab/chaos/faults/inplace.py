"""What the faults that leave one Cassandra pod in place share (a partition, packet loss, a paused JVM): the
pod's node and a pid found there with crictl, the ring as the other replicas see it while the fault holds, and
a recovery that notes a restart the round did not ask for (a liveness probe that failed meanwhile)."""

from __future__ import annotations

from lab import kubectl
from lab.cassandra import parse_nodetool_status
from lab.chaos import watch
from lab.chaos.faults.base import Fault
from lab.chaos.faults.pod import other_cassandra
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.errors import LabError, PreconditionError
from lab.names import CASSANDRA_PODS


def ring_view(env: Env, result: RoundResult, observer: str, addresses: dict[str, str]) -> None:
    """Note how the rest of the ring sees each node (nodetool in ``observer``), nodes named by ``addresses``
    (pod IP -> pod name); read-only, a failed read notes nothing."""
    try:
        text = env.runner.output(env.cassandra(observer).exec_args(["nodetool", "status"]), timeout=90)
    except LabError:
        return
    view = ", ".join(
        f"{addresses.get(n.address, n.address)} {n.state}"
        for n in sorted(parse_nodetool_status(text), key=lambda n: addresses.get(n.address, n.address))
    )
    env.note(result, f"ring seen from {observer}", view)


class OnePodInPlace(Fault):
    """A timed fault on one Cassandra pod that stays where it is. A subclass says which flag names the pod, how a
    restart during the fault is explained, and how ``_locate`` finds its node and pid."""

    target = "cassandra"
    timed = True
    flag = ""  # the chaos flag that names the pod, for its error message
    during = ""  # "the cut", "the pause": when an unasked-for restart happened
    restart_cause = ""  # why the kubelet would have restarted it then

    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.node = ""
        self.pid: int | str = "<pid>"
        self.uid, self.restarts = "", 0
        self.addresses: dict[str, str] = {}  # pod IP -> pod name, to name nodes in nodetool's view

    def observer_pod(self) -> str:
        return other_cassandra(self.name)

    def validate(self, env: Env) -> None:
        if self.name not in CASSANDRA_PODS:
            raise PreconditionError(f"{self.flag} {self.name!r}: name a Cassandra pod ({', '.join(CASSANDRA_PODS)})")

    def prepare(self, env: Env) -> None:
        pods = watch.require_ready(env, CASSANDRA_PODS)  # with another replica down, the fault would lose QUORUM
        self._locate(env, pods[self.name])
        self.addresses = {p.get("status", {}).get("podIP", ""): n for n, p in pods.items()}

    def _locate(self, env: Env, pod: dict) -> None:
        """Set ``node``, ``pid``, ``uid`` and ``restarts`` from ``pod``; PreconditionError when its node cannot
        tell."""
        raise NotImplementedError

    def _dry_locate(self, env: Env) -> None:
        """Under --dry: find the node and pid when the pod is there, so the plan names them (read-only)."""
        try:
            pod = kubectl.get_json(env.runner, env.kube, "pod", self.name)
            if pod is not None:
                self._locate(env, pod)
        except LabError:
            pass

    def observe(self, env: Env, result: RoundResult) -> None:
        ring_view(env, result, self.observer_pod(), self.addresses)

    def recover(self, env: Env, result: RoundResult) -> None:
        watch.await_cassandra(env, result, CASSANDRA_PODS, set(), observer=self.observer_pod())
        try:
            pod = kubectl.get_json(env.runner, env.kube, "pod", self.name)
        except LabError:
            return
        if pod is not None and (kubectl.pod_uid(pod) != self.uid or kubectl.pod_restarts(pod) != self.restarts):
            env.note(result, self.name, f"restarted during {self.during} (restarts {self.restarts} -> "
                                        f"{kubectl.pod_restarts(pod)}): {self.restart_cause}")
