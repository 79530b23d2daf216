"""Cassandra's disk-usage guardrail, sized from the PVC: what stops a node filling the host's disk.

kind's local-path provisioner does not enforce a PVC's size: a node's data directory can grow until the host's
disk is full. Cassandra 5.0's guardrail bounds it instead. ``data_disk_usage_max_disk_size`` is the size
Cassandra takes its data disk to be (less, if the disk really is smaller); a monitor samples the data
directories' size on disk plus the memtables not yet flushed every 30 s
(``-Dcassandra.disk_usage.monitor_interval_ms``), and over ``data_disk_usage_percentage_fail_threshold`` percent
of it the node refuses writes to every partition it holds a replica of ("Guardrail replica_disk_usage violated:
Write request failed because disk usage exceeds failure threshold"; over the warn threshold, a warning to the
client and the log). Superusers (the operator) are exempt; the writer's role is not. Writes are accepted again
once usage is back under the threshold.

The one place that declares the size is the PVC request of cassandra.yml's volumeClaimTemplate: ``invoke
deploy`` renders the guardrail's flags into Cassandra's JVM_OPTS from it (``with_guardrail``), and the
checked-in JVM_OPTS carry the same flags for a cassandra.yml applied by hand (a test keeps them equal).
"""

from __future__ import annotations

import re
from typing import Any

from lab import manifests, names
from lab.errors import PreconditionError

#: Percent of the PVC's size: a warning first, then refused writes, with room left for a compaction to finish
#: (it writes the new SSTables before it deletes the old ones).
WARN_PERCENT = 80
FAIL_PERCENT = 90

_PREFIX = "-Dcassandra.settings.data_disk_usage_"
#: A Kubernetes quantity in bytes, binary suffixes (Cassandra's own units: KiB, MiB, GiB) or none (bytes).
_QUANTITY = re.compile(r"^(\d+)(Ki|Mi|Gi|Ti)?$")


def cassandra_size(quantity: str) -> str:
    """A PVC's storage quantity ("1Gi") as Cassandra writes a data size ("1GiB"); Ti in GiB (Cassandra has no TiB)."""
    found = _QUANTITY.match(str(quantity).strip())
    if not found:
        raise PreconditionError(f"the Cassandra PVC's storage request {quantity!r} is not a whole number of bytes, "
                                "Ki, Mi, Gi or Ti (e.g. 1Gi); the disk-usage guardrail is sized from it")
    number, unit = int(found.group(1)), found.group(2)
    if unit == "Ti":
        return f"{number * 1024}GiB"
    return f"{number}{unit}B" if unit else f"{number}B"


def flags(size: str) -> list[str]:
    """The guardrail's -Dcassandra.settings.* flags for a data disk of ``size`` (Cassandra's units)."""
    return [f"{_PREFIX}max_disk_size={size}",
            f"{_PREFIX}percentage_warn_threshold={WARN_PERCENT}",
            f"{_PREFIX}percentage_fail_threshold={FAIL_PERCENT}"]


def jvm_opts(current: str, size: str) -> str:
    """``current`` JVM_OPTS with the guardrail's flags for ``size`` where it had them (at the end if it had none):
    the checked-in manifest renders to itself, and a deploy that changes nothing rolls no pod."""
    given = current.split()
    at = next((i for i, flag in enumerate(given) if flag.startswith(_PREFIX)), len(given))
    kept = [flag for flag in given if not flag.startswith(_PREFIX)]
    at -= sum(1 for flag in given[:at] if flag.startswith(_PREFIX))
    return " ".join([*kept[:at], *flags(size), *kept[at:]])


def claimed_size(docs: list[dict[str, Any]]) -> str | None:
    """The storage request of the Cassandra StatefulSet's data claim (names.CASSANDRA_DATA_CLAIM), as written."""
    for doc in docs:
        if doc.get("kind") == "StatefulSet" and doc.get("metadata", {}).get("name") == names.CASSANDRA_STATEFULSET:
            for claim in doc.get("spec", {}).get("volumeClaimTemplates") or []:
                if claim.get("metadata", {}).get("name") == names.CASSANDRA_DATA_CLAIM:
                    return claim.get("spec", {}).get("resources", {}).get("requests", {}).get("storage")
    return None


def with_guardrail(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``docs`` whose Cassandra container's JVM_OPTS set the guardrail from the data claim's size (as
    they are when the manifest has no such claim)."""
    size = claimed_size(docs)
    if size is None:
        return manifests.render(docs)
    current = manifests.env_value(docs, names.CASSANDRA_CONTAINER, "JVM_OPTS")
    return manifests.render(docs, env={names.CASSANDRA_CONTAINER: {"JVM_OPTS": jvm_opts(current,
                                                                                        cassandra_size(size))}})
