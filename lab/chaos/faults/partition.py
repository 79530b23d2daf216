"""Cut one Cassandra pod off the network for ``down`` seconds without deleting it, then reconnect it.

The cut is iptables rules in the pod's own network namespace, entered from its kind node:
``docker exec <node> nsenter --net=/proc/<pid>/ns/net sh -c '<rules>'``, where <pid> is the pod
sandbox's (found with ``crictl inspect`` / ``crictl inspectp`` on the node), so the rules survive a
restart of the Cassandra container and leave with the pod. Every kind node image carries iptables
(kube-proxy needs it), nsenter (util-linux) and crictl.

What stays allowed: loopback (nodetool's JMX, the readiness probe) and the pod's gateway, which is the
node itself (the kubelet's liveness probe comes from there; without it the kubelet would restart the
"dead" Cassandra after two minutes and the round would test a restart, not a partition). Everything
else, peers and the writer alike, is dropped both ways. The writer at QUORUM keeps writing to the other
two replicas; the cut replica catches up from hints once it is back.
"""

from __future__ import annotations

from lab import docker, kubectl
from lab.cassandra import parse_nodetool_status
from lab.chaos import watch
from lab.chaos.faults.base import Fault, register
from lab.chaos.faults.pod import other_cassandra
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.crictl import crictl_args, locate, pid_of, sandbox_of
from lab.errors import CommandError, LabError, PreconditionError
from lab.names import CASSANDRA_PODS

CHAIN_IN, CHAIN_OUT = "LAB-PARTITION-IN", "LAB-PARTITION-OUT"


def cut_script() -> str:
    """Shell for inside the pod's network namespace: drop all but loopback and the gateway, both ways."""
    return " && ".join([
        "gw=$(ip route show default | awk '{print $3; exit}')",
        f"{{ iptables -w -N {CHAIN_IN} 2>/dev/null || iptables -w -F {CHAIN_IN}; }}",
        f"{{ iptables -w -N {CHAIN_OUT} 2>/dev/null || iptables -w -F {CHAIN_OUT}; }}",
        f"iptables -w -A {CHAIN_IN} -i lo -j ACCEPT",
        f"iptables -w -A {CHAIN_OUT} -o lo -j ACCEPT",
        f'{{ [ -z "$gw" ] || {{ iptables -w -A {CHAIN_IN} -s "$gw" -j ACCEPT'
        f' && iptables -w -A {CHAIN_OUT} -d "$gw" -j ACCEPT; }}; }}',
        f"iptables -w -A {CHAIN_IN} -j DROP",
        f"iptables -w -A {CHAIN_OUT} -j DROP",
        f"{{ iptables -w -C INPUT -j {CHAIN_IN} 2>/dev/null || iptables -w -I INPUT -j {CHAIN_IN}; }}",
        f"{{ iptables -w -C OUTPUT -j {CHAIN_OUT} 2>/dev/null || iptables -w -I OUTPUT -j {CHAIN_OUT}; }}",
    ])


def restore_script() -> str:
    """Undo ``cut_script`` whatever state it left (idempotent); fails only if a chain is still there."""
    return "; ".join([
        f"while iptables -w -D INPUT -j {CHAIN_IN} 2>/dev/null; do :; done",
        f"while iptables -w -D OUTPUT -j {CHAIN_OUT} 2>/dev/null; do :; done",
        f"iptables -w -F {CHAIN_IN} 2>/dev/null",
        f"iptables -w -X {CHAIN_IN} 2>/dev/null",
        f"iptables -w -F {CHAIN_OUT} 2>/dev/null",
        f"iptables -w -X {CHAIN_OUT} 2>/dev/null",
        "! iptables -w -S | grep -q LAB-PARTITION",
    ])


def in_netns_args(node: str, pid: int | str, script: str) -> list[str]:
    return docker.exec_args(node, ["nsenter", f"--net=/proc/{pid}/ns/net", "sh", "-c", script])


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


@register("partition")
class Partition(Fault):
    target = "cassandra"
    timed = True

    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.node = ""
        self.pid: int | str = "<pid>"
        self.uid = ""
        self.restarts = 0
        self.cut = False
        self.addresses: dict[str, str] = {}  # pod IP -> pod name, to name nodes in nodetool's view

    def title(self) -> str:
        return f"cut {self.name} off the network for {self.down:.0f}s, then reconnect it"

    def observer_pod(self) -> str:
        return other_cassandra(self.name)

    def validate(self, env: Env) -> None:
        if self.name not in CASSANDRA_PODS:
            raise PreconditionError(f"--partition {self.name!r}: name a Cassandra pod ({', '.join(CASSANDRA_PODS)})")

    def prepare(self, env: Env) -> None:
        pods = watch.require_ready(env, CASSANDRA_PODS)  # a cut with another replica down would lose QUORUM
        self._locate(env, pods[self.name])
        self.addresses = {p.get("status", {}).get("podIP", ""): n for n, p in pods.items()}

    def _locate(self, env: Env, pod: dict) -> None:
        """The pod's node and its sandbox's pid; PreconditionError when the node cannot tell."""
        self.uid, self.restarts = kubectl.pod_uid(pod), kubectl.pod_restarts(pod)
        try:
            self.node, cid = locate(pod)
        except ValueError as err:
            raise PreconditionError(f"{self.name}: {err}; is it running?") from err
        try:
            sandbox = sandbox_of(env.runner.output(crictl_args(self.node, "inspect", cid), timeout=60))
            self.pid = pid_of(env.runner.output(crictl_args(self.node, "inspectp", sandbox), timeout=60))
        except (CommandError, ValueError) as err:
            raise PreconditionError(f"{self.name}: cannot find its network namespace on node {self.node} "
                                    f"with crictl: {err}") from err

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = self.name
        env.note(
            result, self.name, f"cut off (iptables in its network namespace, via node {self.node}, pid {self.pid})"
        )
        self.cut = True
        env.runner.run(in_netns_args(self.node, self.pid, cut_script()), timeout=60)

    def observe(self, env: Env, result: RoundResult) -> None:
        ring_view(env, result, self.observer_pod(), self.addresses)

    def restore(self, env: Env, result: RoundResult) -> None:
        if not self.cut:
            return
        env.runner.run(in_netns_args(self.node, self.pid, restore_script()), timeout=60)
        self.cut = False
        result.restored_at = env.clock()
        env.note(result, self.name, "reconnected (rules removed)")

    def recover(self, env: Env, result: RoundResult) -> None:
        watch.await_cassandra(env, result, CASSANDRA_PODS, set(), observer=self.observer_pod())
        pod = kubectl.get_json(env.runner, env.kube, "pod", self.name)
        if pod is not None and (kubectl.pod_uid(pod) != self.uid or kubectl.pod_restarts(pod) != self.restarts):
            env.note(result, self.name, f"restarted during the cut (restarts {self.restarts} -> "
                                        f"{kubectl.pod_restarts(pod)}): the kubelet's probes did not get through")

    def dry_run(self, env: Env) -> None:
        self._dry_locate(env)
        node = self.node or f"<node of {self.name}>"
        env.runner.run(in_netns_args(node, self.pid, cut_script()), timeout=60)
        print(f"[dry-run] # ... {self.down:.0f}s later")
        env.runner.run(in_netns_args(node, self.pid, restore_script()), timeout=60)

    def _dry_locate(self, env: Env) -> None:
        """Under --dry: find the node and pid when the pod is there, so the plan names them (read-only)."""
        try:
            pod = kubectl.get_json(env.runner, env.kube, "pod", self.name)
            if pod is not None:
                self._locate(env, pod)
        except LabError:
            pass
