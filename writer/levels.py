"""Whether a consistency level can ever be met: the replicas it waits for, against the keyspace and the ring.

A write at a level waits for that many replicas. When the keyspace has fewer (THREE with replication factor
2), or the ring has fewer nodes than the level needs (ALL with factor 5 on 3 nodes: Cassandra places at most 3
replicas, yet ALL waits for 5), every write fails with Unavailable forever: a configuration error, refused at
startup with one line. With enough nodes of which too few are up, it is an outage, waited out as any other.

The counts follow Cassandra's ``ConsistencyLevel.blockFor``: QUORUM and ALL count every datacenter's factor,
LOCAL_* only the local datacenter's (with SimpleStrategy, the whole factor, placed on the local nodes), and
EACH_QUORUM a quorum in every datacenter. Pure: the store reads the numbers from the driver's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Placement:
    """The keyspace's replication and the ring that holds it."""

    keyspace: str
    factors: dict[str, int]  # replicas per datacenter (NetworkTopologyStrategy); SimpleStrategy: {"": factor}
    nodes: dict[str, int]  # the ring's nodes per datacenter, up or down
    local_dc: str | None = None  # the datacenter the writer's driver treats as local (None: not known)

    @property
    def per_dc(self) -> bool:
        return "" not in self.factors


def _quorum(replicas: int) -> int:
    return replicas // 2 + 1


def unmet(level: str, placement: Placement) -> str | None:
    """The one line saying why ``level`` can never be met on ``placement``, or None when it can."""
    factors, nodes, ks = placement.factors, placement.nodes, placement.keyspace
    total = sum(factors.values())
    reach = {dc: min(rf, nodes.get(dc, 0)) for dc, rf in factors.items()}  # NetworkTopologyStrategy's placement
    local = placement.local_dc
    if level.startswith("LOCAL_") and local is not None:
        factor = factors.get(local, 0) if placement.per_dc else total
        need = 1 if level == "LOCAL_ONE" else _quorum(factor)
        return _check(level, need, factor, nodes.get(local, 0), min(factor, nodes.get(local, 0)), ks,
                      f" in datacenter {local}")
    if level == "EACH_QUORUM" and placement.per_dc:
        for dc, factor in sorted(factors.items()):
            if factor > 0 and (line := _check(level, _quorum(factor), factor, nodes.get(dc, 0), reach[dc], ks,
                                              f" in datacenter {dc}")):
                return line
        return None
    need = {"ONE": 1, "TWO": 2, "THREE": 3, "ALL": total, "LOCAL_ONE": 1}.get(level, _quorum(total))
    reachable = sum(reach.values()) if placement.per_dc else min(total, sum(nodes.values()))
    return _check(level, need, total, sum(nodes.values()), reachable, ks, "")


def _check(level: str, need: int, factor: int, nodes: int, reachable: int, ks: str, where: str) -> str | None:
    if need > factor:
        return (f"writer: CONSISTENCY {level} waits for {need} replicas, but keyspace {ks} has replication factor "
                f"{factor}{where}, so no write can ever succeed; choose a level of at most {factor} replicas "
                f"(e.g. QUORUM) or raise the keyspace's replication factor")
    if need > reachable:
        return (f"writer: CONSISTENCY {level} waits for {need} replicas, but the ring has {nodes} node(s){where} "
                f"for keyspace {ks}'s replication factor {factor}, so at most {reachable} replicas exist and no "
                f"write can ever succeed; add nodes, lower the replication factor or choose a lower level")
    return None
