"""The Cassandra ring as it is now: how many nodes the StatefulSet runs, whether all of them are UN, how many
copies the keyspaces keep, and where another node could go.

``deploy`` keeps the size ``invoke scale`` left (a re-applied cassandra.yml must not shrink a ring behind
Cassandra's back), chaos refuses a ring that is not the size its rounds are written for, and ``scale`` plans
from all four facts.
"""

from __future__ import annotations

import re

from lab import kubectl, names, progress
from lab.cassandra import Cassandra, all_up_normal, ring_summary
from lab.errors import CommandError, LabError
from lab.kubectl import Kubectl
from lab.runner import Runner

#: ``system_schema.keyspaces.replication`` as cqlsh prints it: {'class': '...SimpleStrategy',
#: 'replication_factor': '3'}, or one entry per datacenter for NetworkTopologyStrategy.
_REPLICATION_ENTRY = re.compile(r"'([^']+)':\s*'(\d+)'")

REPLICATION_QUERY = "SELECT keyspace_name, replication FROM system_schema.keyspaces;"


def live_replicas(runner: Runner, kube: Kubectl) -> int | None:
    """The StatefulSet's desired replicas (``spec.replicas``, which the API server always fills in); None when
    there is no StatefulSet."""
    sts = kubectl.get_json(runner, kube, "statefulset", names.CASSANDRA_STATEFULSET) or {}
    replicas = sts.get("spec", {}).get("replicas")
    return int(replicas) if replicas is not None else None


def pod_name(ordinal: int) -> str:
    return f"{names.CASSANDRA_STATEFULSET}-{ordinal}"


def replication_factors(rows: list[dict[str, str]]) -> dict[str, int]:
    """keyspace -> the most copies it keeps in any datacenter, from REPLICATION_QUERY's rows. Keyspaces of
    LocalStrategy (system, system_schema: one copy on each node, by definition) have no factor and are left out."""
    factors = {}
    for row in rows:
        counts = [int(n) for key, n in _REPLICATION_ENTRY.findall(row.get("replication", "")) if key != "class"]
        if counts:
            factors[row.get("keyspace_name", "")] = max(counts)
    return factors


def widest_keyspace(cass: Cassandra) -> tuple[str, int]:
    """The keyspace with the highest replication factor and that factor: fewer nodes than it cannot hold it."""
    try:
        factors = replication_factors(cass.query(REPLICATION_QUERY, consistency="ONE"))
    except CommandError as err:
        raise LabError(f"failed to read the keyspaces' replication in {cass.pod}: {err}") from err
    if not factors:
        raise LabError(f"cqlsh in {cass.pod} listed no keyspace with a replication factor")
    name = max(sorted(factors), key=lambda keyspace: factors[keyspace])
    return name, factors[name]


def _node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in node.get("status", {}).get("conditions", []))


def schedulable_workers(runner: Runner, kube: Kubectl) -> list[str]:
    """Ready nodes a Cassandra pod may land on: not cordoned, no NoSchedule/NoExecute taint (the control
    plane's). Anti-affinity allows one Cassandra pod on each."""
    listing = kubectl.get_json(runner, kube, "nodes", namespaced=False) or {}
    out = []
    for node in listing.get("items", []):
        spec = node.get("spec", {})
        tainted = any(t.get("effect") in ("NoSchedule", "NoExecute") for t in spec.get("taints", []) or [])
        if _node_ready(node) and not spec.get("unschedulable") and not tainted:
            out.append(node["metadata"]["name"])
    return sorted(out)


def wait_up_normal(cass: Cassandra, expected: int, *, timeout: float, step: progress.Step | None = None) -> bool:
    """Poll ``nodetool status`` in ``cass``'s pod until exactly ``expected`` nodes are listed, all UN; says how far
    it is on ``step``. False on timeout."""
    def up_normal() -> bool:
        try:
            nodes = cass.nodetool_status()
        except LabError:
            if step:
                step.waiting(f"nodetool in {cass.pod} does not answer yet")
            return False
        if step:
            step.waiting(ring_summary(nodes, expected))
        return all_up_normal(nodes, expected)
    return kubectl.wait_until(up_normal, timeout=timeout, every=5.0)
