"""Section III, the Cassandra service: the Service, StatefulSet, pods and volumes, then ``nodetool status``
and a cqlsh round trip inside a Ready pod (which ``col.exec_pod`` names for section V)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from lab import kubectl, names
from lab.cassandra import cqlsh_args, nodetool_args, parse_cqlsh_table, parse_nodetool_status
from lab.errors import LabError
from lab.report.model import note

if TYPE_CHECKING:  # collect.py imports this module
    from lab.report.collect import Collector


def collect(col: Collector) -> None:
    items = col.section("III")
    rec, data = col.rec, col.data
    if not col.cluster_up:
        items.append(note(f"Not collected: {col.down_reason}."))
        return
    rec.show(col.kube.get_wide_args("services,statefulsets,pods"), "The Service, the StatefulSet and the pods")
    rec.show(col.kube.get_wide_args("persistentvolumeclaims"),
             "Each Cassandra pod's volume (a PVC per pod, kept when the pod is deleted)")
    try:
        pods = kubectl.pods(rec, col.kube, names.CASSANDRA_SELECTOR)
    except LabError as err:
        items.append(note(f"Not collected: the Cassandra pods: {err}"))
        return
    data["cassandra_pods"] = [
        {"name": p["metadata"]["name"], "ready": kubectl.pod_ready(p), "restarts": kubectl.pod_restarts(p),
         "node": p.get("spec", {}).get("nodeName", "")} for p in pods]
    ready = [p["name"] for p in data["cassandra_pods"] if p["ready"]]
    if not ready:
        items.append(
            note(f"Not collected: `nodetool status` and cqlsh: no Ready pod matches {names.CASSANDRA_SELECTOR}.")
        )
        return
    col.exec_pod = "cassandra-0" if "cassandra-0" in ready else sorted(ready)[0]
    cass = col.cassandra(col.exec_pod)
    out = rec.show(cass.exec_args(nodetool_args("status")), f"nodetool status (in {col.exec_pod})", timeout=90)
    data["nodetool"] = [asdict(n) for n in parse_nodetool_status(out.stdout)] if out.ok else None
    query = "SELECT cluster_name, release_version FROM system.local;"
    out = rec.show(cass.exec_args(cqlsh_args(query, request_timeout=cass.request_timeout)),
                   f"A cqlsh round trip (in {col.exec_pod})", timeout=cass.request_timeout + 30)
    rows = parse_cqlsh_table(out.stdout) if out.ok else []
    data["cqlsh"] = rows[0] if rows else {}
