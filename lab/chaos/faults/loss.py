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
from lab.chaos.faults.partition import Partition, rules_script, unrules_script
from lab.chaos.watch import Env
from lab.errors import PreconditionError

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
    """Drop ``percent`` % of packets both ways, sparing loopback and the gateway."""
    drop = f"-m statistic --mode random --probability {probability(percent)} -j DROP"
    return rules_script(CHAIN_IN, CHAIN_OUT, spare="RETURN", drop=drop)


def restore_script() -> str:
    """Undo ``loss_script`` whatever state it left (idempotent); fails only if a chain is still there."""
    return unrules_script(CHAIN_IN, CHAIN_OUT, marker="LAB-LOSS")


@register("loss")
class PacketLoss(Partition):
    """A partition that drops only some packets: same target, same namespace, same recovery."""

    flag = "--loss"
    during = "the loss"

    def __init__(self, name: str, *, percent: float = DEFAULT_PERCENT, **kwargs):
        super().__init__(name, **kwargs)
        self.percent = percent

    def title(self) -> str:
        return f"drop {self.percent:g}% of {self.name}'s packets for {self.down:.0f}s, both ways"

    def validate(self, env: Env) -> None:
        super().validate(env)
        check_percent(self.percent)

    def rules(self) -> str:
        return loss_script(self.percent)

    def unrules(self) -> str:
        return restore_script()

    def in_place(self) -> str:
        return (f"dropping {self.percent:g}% of packets in and out (iptables statistic in its network namespace, "
                f"via node {self.node}, pid {self.pid})")

    def undone(self) -> str:
        return "packets flow again (rules removed)"
