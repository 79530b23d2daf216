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
from lab.chaos.faults.base import register
from lab.chaos.faults.inplace import OnePodInPlace
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.crictl import crictl_args, locate, pid_of, sandbox_of
from lab.errors import CommandError, PreconditionError

CHAIN_IN, CHAIN_OUT = "LAB-PARTITION-IN", "LAB-PARTITION-OUT"


def rules_script(chain_in: str, chain_out: str, *, spare: str, drop: str) -> str:
    """Shell for inside a pod's network namespace: chains ``chain_in``/``chain_out`` hooked into INPUT/OUTPUT that
    let loopback and the gateway (its node: the kubelet's probes) through with ``spare`` (ACCEPT, or RETURN to the
    chain's caller) and treat every other packet with ``drop`` (iptables' words after the chain)."""
    return " && ".join([
        "gw=$(ip route show default | awk '{print $3; exit}')",
        f"{{ iptables -w -N {chain_in} 2>/dev/null || iptables -w -F {chain_in}; }}",
        f"{{ iptables -w -N {chain_out} 2>/dev/null || iptables -w -F {chain_out}; }}",
        f"iptables -w -A {chain_in} -i lo -j {spare}",
        f"iptables -w -A {chain_out} -o lo -j {spare}",
        f'{{ [ -z "$gw" ] || {{ iptables -w -A {chain_in} -s "$gw" -j {spare}'
        f' && iptables -w -A {chain_out} -d "$gw" -j {spare}; }}; }}',
        f"iptables -w -A {chain_in} {drop}",
        f"iptables -w -A {chain_out} {drop}",
        f"{{ iptables -w -C INPUT -j {chain_in} 2>/dev/null || iptables -w -I INPUT -j {chain_in}; }}",
        f"{{ iptables -w -C OUTPUT -j {chain_out} 2>/dev/null || iptables -w -I OUTPUT -j {chain_out}; }}",
    ])


def unrules_script(chain_in: str, chain_out: str, *, marker: str) -> str:
    """Undo ``rules_script`` whatever state it left (idempotent); fails only if a chain named ``marker``... is
    still there."""
    return "; ".join([
        f"while iptables -w -D INPUT -j {chain_in} 2>/dev/null; do :; done",
        f"while iptables -w -D OUTPUT -j {chain_out} 2>/dev/null; do :; done",
        f"iptables -w -F {chain_in} 2>/dev/null",
        f"iptables -w -X {chain_in} 2>/dev/null",
        f"iptables -w -F {chain_out} 2>/dev/null",
        f"iptables -w -X {chain_out} 2>/dev/null",
        f"! iptables -w -S | grep -q {marker}",
    ])


def cut_script() -> str:
    """Drop all but loopback and the gateway, both ways."""
    return rules_script(CHAIN_IN, CHAIN_OUT, spare="ACCEPT", drop="-j DROP")


def restore_script() -> str:
    """Undo ``cut_script`` whatever state it left (idempotent); fails only if a chain is still there."""
    return unrules_script(CHAIN_IN, CHAIN_OUT, marker="LAB-PARTITION")


def in_netns_args(node: str, pid: int | str, script: str) -> list[str]:
    return docker.exec_args(node, ["nsenter", f"--net=/proc/{pid}/ns/net", "sh", "-c", script])


@register("partition")
class Partition(OnePodInPlace):
    flag = "--partition"
    during = "the cut"
    restart_cause = "the kubelet's probes did not get through"

    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.cut = False

    def title(self) -> str:
        return f"cut {self.name} off the network for {self.down:.0f}s, then reconnect it"

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

    def rules(self) -> str:
        """The shell that puts the fault in place in the pod's network namespace (a subclass drops less)."""
        return cut_script()

    def unrules(self) -> str:
        return restore_script()

    def in_place(self) -> str:
        return f"cut off (iptables in its network namespace, via node {self.node}, pid {self.pid})"

    def undone(self) -> str:
        return "reconnected (rules removed)"

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = self.name
        env.note(result, self.name, self.in_place())
        self.cut = True
        env.runner.run(in_netns_args(self.node, self.pid, self.rules()), timeout=60)

    def restore(self, env: Env, result: RoundResult) -> None:
        if not self.cut:
            return
        env.runner.run(in_netns_args(self.node, self.pid, self.unrules()), timeout=60)
        self.cut = False
        result.restored_at = env.clock()
        env.note(result, self.name, self.undone())

    def dry_run(self, env: Env) -> None:
        self._dry_locate(env)
        node = self.node or f"<node of {self.name}>"
        env.runner.run(in_netns_args(node, self.pid, self.rules()), timeout=60)
        print(f"[dry-run] # ... {self.down:.0f}s later")
        env.runner.run(in_netns_args(node, self.pid, self.unrules()), timeout=60)
