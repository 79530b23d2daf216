"""Section III, the Cassandra service: the Service, StatefulSet, pods and volumes, then ``nodetool status``
and a cqlsh round trip inside a Ready pod (which ``col.exec_pod`` names for section V). Here are what it
collects (``collect``), its key facts (``facts``) and its answers, one function per question."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from lab import kubectl, names
from lab.cassandra import cqlsh_args, nodetool_args, parse_cqlsh_table, parse_nodetool_status
from lab.errors import LabError
from lab.names import CASSANDRA_REPLICAS, CLUSTER_NAME
from lab.report.model import Answer, Fact, fact, note

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


# -- key facts (pure) ------------------------------------------------------------------------------------

def facts(report: dict[str, Any]) -> list[Fact]:
    data, expected = report.get("data", {}), report.get("expected", {})
    replicas = expected.get("cassandra_replicas", CASSANDRA_REPLICAS)
    pods = data.get("cassandra_pods")
    ring = data.get("nodetool")
    un = sum(1 for n in ring or [] if n.get("state") == "UN")
    cql = data.get("cqlsh")
    cluster_name = expected.get("cluster_name", CLUSTER_NAME)
    return [
        fact("III", "Cassandra pods Ready", None if pods is None else f"{sum(p['ready'] for p in pods)}/{len(pods)}",
             f"{replicas}/{replicas}", pods is not None and len(pods) == replicas and all(p["ready"] for p in pods)),
        fact("III", "nodes UN (nodetool status)", None if ring is None else f"{un} of {len(ring)}",
             f"{replicas} of {replicas}", ring is not None and un == replicas == len(ring)),
        fact("III", "cqlsh: cluster_name", (cql or {}).get("cluster_name") if cql is not None else None,
             cluster_name, bool(cql) and cql.get("cluster_name") == cluster_name),
        fact("III", "cqlsh: release_version", (cql or {}).get("release_version") if cql else None),
    ]


# -- answers (pure), one function per question -----------------------------------------------------------

def answers(report: dict[str, Any]) -> list[Answer]:
    return [service_running(report), cassandra_healthy(report)]


def service_running(report: dict[str, Any]) -> Answer:
    q = "Are the Cassandra Service and StatefulSet running? (`kubectl get services,statefulsets,pods`)"
    pods = report.get("data", {}).get("cassandra_pods")
    if not pods:
        return Answer("III", q, "Not answered yet: no Cassandra pod was found.", ("invoke deploy --what cassandra",))
    replicas = report.get("expected", {}).get("cassandra_replicas", CASSANDRA_REPLICAS)
    ready = [p for p in pods if p["ready"]]
    where = ", ".join(f"{p['name']} on {p['node'] or '?'}" for p in sorted(pods, key=lambda p: p["name"]))
    return Answer("III", q, f"The StatefulSet cassandra has {len(ready)} of {len(pods)} pods Ready "
                            f"({replicas} wanted): {where}. A StatefulSet starts its pods one after "
                            "another, cassandra-0 first, each with a stable name behind the headless "
                            "Service cassandra-service.")


def cassandra_healthy(report: dict[str, Any]) -> Answer:
    q = "Is Cassandra actually running properly? (`kubectl exec cassandra-0 -- nodetool status`, cqlsh)"
    data = report.get("data", {})
    ring, cql = data.get("nodetool"), data.get("cqlsh") or {}
    if not ring:
        return Answer("III", q, "Not answered yet: no Ready Cassandra pod to run nodetool in.",
                      ("invoke deploy --what cassandra",))
    replicas = report.get("expected", {}).get("cassandra_replicas", CASSANDRA_REPLICAS)
    un = [n for n in ring if n.get("state") == "UN"]
    text = f"`nodetool status` shows {len(un)} of {len(ring)} nodes UN (Up, Normal)"
    if cql.get("cluster_name"):
        text += (
            f", and cqlsh connects to cluster {cql['cluster_name']} (Cassandra {cql.get('release_version', '?')})"
            + ("" if cql["cluster_name"] == CLUSTER_NAME else f", not {CLUSTER_NAME}")
        )
    verdict = "Yes" if len(un) == len(ring) == replicas else "Not fully"
    return Answer("III", q, f"{verdict}: {text}.")
