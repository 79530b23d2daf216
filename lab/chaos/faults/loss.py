"""Drop a share of one Cassandra pod's packets for ``down`` seconds, both ways: a lossy link, the node up.

The rules sit where the partition's do (lab.chaos.faults.partition): in the pod's own network namespace,
entered from its kind node through the pod sandbox's pid, in chains of their own. Each packet in or out is
dropped with probability P/100 (iptables' ``statistic --mode random``), except loopback and the pod's gateway
(its node: the kubelet's probes), as for the partition. Loss only: the kind nodes' kernel has no netem
(``tc qdisc ... netem delay``), so this fault adds no delay of its own; what delay there is comes from TCP
retransmitting what was dropped.
"""

from __future__ import annotations

from lab.chaos.faults.base import register
from lab.chaos.faults.partition import Partition, in_netns_args
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.errors import PreconditionError
from lab.names import CASSANDRA_PODS

CHAIN_IN, CHAIN_OUT = "LAB-LOSS-IN", "LAB-LOSS-OUT"
#: Per cent of packets dropped unless --percent says otherwise (the loss measured in issue 35).
DEFAULT_PERCENT = 30.0
PERCENT_RANGE = (1.0, 99.0)


def check_percent(percent: float) -> float:
    low, high = PERCENT_RANGE
    if not low <= percent <= high:
        raise PreconditionError(f"--percent {percent:g}: give a share of packets to drop between {low:g} and {high:g} "
                                "(100 is a partition: --partition)")
    return float(percent)


def probability(percent: float) -> str:
    """iptables' --probability for ``percent``: a fraction with at most four decimals (30 -> '0.3')."""
    return f"{percent / 100:.4f}".rstrip("0").rstrip(".")


def loss_script(percent: float) -> str:
    """Shell for inside the pod's network namespace: drop ``percent`` % of packets both ways, sparing loopback
    and the gateway."""
    drop = f"-m statistic --mode random --probability {probability(percent)} -j DROP"
    return " && ".join([
        "gw=$(ip route show default | awk '{print $3; exit}')",
        f"{{ iptables -w -N {CHAIN_IN} 2>/dev/null || iptables -w -F {CHAIN_IN}; }}",
        f"{{ iptables -w -N {CHAIN_OUT} 2>/dev/null || iptables -w -F {CHAIN_OUT}; }}",
        f"iptables -w -A {CHAIN_IN} -i lo -j RETURN",
        f"iptables -w -A {CHAIN_OUT} -o lo -j RETURN",
        f'{{ [ -z "$gw" ] || {{ iptables -w -A {CHAIN_IN} -s "$gw" -j RETURN'
        f' && iptables -w -A {CHAIN_OUT} -d "$gw" -j RETURN; }}; }}',
        f"iptables -w -A {CHAIN_IN} {drop}",
        f"iptables -w -A {CHAIN_OUT} {drop}",
        f"{{ iptables -w -C INPUT -j {CHAIN_IN} 2>/dev/null || iptables -w -I INPUT -j {CHAIN_IN}; }}",
        f"{{ iptables -w -C OUTPUT -j {CHAIN_OUT} 2>/dev/null || iptables -w -I OUTPUT -j {CHAIN_OUT}; }}",
    ])


def restore_script() -> str:
    """Undo ``loss_script`` whatever state it left (idempotent); fails only if a chain is still there."""
    return "; ".join([
        f"while iptables -w -D INPUT -j {CHAIN_IN} 2>/dev/null; do :; done",
        f"while iptables -w -D OUTPUT -j {CHAIN_OUT} 2>/dev/null; do :; done",
        f"iptables -w -F {CHAIN_IN} 2>/dev/null",
        f"iptables -w -X {CHAIN_IN} 2>/dev/null",
        f"iptables -w -F {CHAIN_OUT} 2>/dev/null",
        f"iptables -w -X {CHAIN_OUT} 2>/dev/null",
        "! iptables -w -S | grep -q LAB-LOSS",
    ])


@register("loss")
class PacketLoss(Partition):
    """A partition that drops only some packets: same target, same namespace, same recovery."""

    def __init__(self, name: str, *, percent: float = DEFAULT_PERCENT, **kwargs):
        super().__init__(name, **kwargs)
        self.percent = percent

    def title(self) -> str:
        return f"drop {self.percent:g}% of {self.name}'s packets for {self.down:.0f}s, both ways"

    def validate(self, env: Env) -> None:
        if self.name not in CASSANDRA_PODS:
            raise PreconditionError(f"--loss {self.name!r}: name a Cassandra pod ({', '.join(CASSANDRA_PODS)})")
        check_percent(self.percent)

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = self.name
        env.note(result, self.name, f"dropping {self.percent:g}% of packets in and out (iptables statistic in its "
                                    f"network namespace, via node {self.node}, pid {self.pid})")
        self.cut = True
        env.runner.run(in_netns_args(self.node, self.pid, loss_script(self.percent)), timeout=60)

    def restore(self, env: Env, result: RoundResult) -> None:
        if not self.cut:
            return
        env.runner.run(in_netns_args(self.node, self.pid, restore_script()), timeout=60)
        self.cut = False
        result.restored_at = env.clock()
        env.note(result, self.name, "packets flow again (rules removed)")

    def dry_run(self, env: Env) -> None:
        self._dry_locate(env)
        node = self.node or f"<node of {self.name}>"
        env.runner.run(in_netns_args(node, self.pid, loss_script(self.percent)), timeout=60)
        print(f"[dry-run] # ... {self.down:.0f}s later")
        env.runner.run(in_netns_args(node, self.pid, restore_script()), timeout=60)
