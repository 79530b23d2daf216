"""Key facts: what each section proves at a glance, from ``report['data']`` (pure). A fact with an expected
value passes or fails (``invoke report --check`` exits 1 on a failed one); one without is information."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.names import CASSANDRA_REPLICAS, CLUSTER_NAME


@dataclass(frozen=True)
class Fact:
    """One thing the report shows at a glance; ``ok`` None for information without a bar."""

    section: str
    name: str
    value: str
    expected: str = ""
    ok: bool | None = None


NOT_COLLECTED = "not collected"


def key_facts(report: dict[str, Any]) -> list[Fact]:
    """What each section proves, from ``report['data']``: facts with an expected value pass or fail."""
    data, expected = report.get("data", {}), report.get("expected", {})
    facts: list[Fact] = []

    def add(section, name, value, want="", ok=None):
        facts.append(Fact(section, name, NOT_COLLECTED if value is None else str(value), str(want), ok))

    nodes = data.get("kind_nodes")
    want_nodes = expected.get("nodes", 5)
    add("II", "kind nodes", len(nodes) if nodes else (0 if nodes == [] else None), want_nodes,
        bool(nodes) and len(nodes) == want_nodes)
    containers = data.get("node_containers")
    up = [c for c in containers or [] if c.get("status", "").startswith("Up")]
    add("II", "node containers running", len(up) if containers is not None else None, want_nodes,
        containers is not None and len(up) == want_nodes)
    versions = data.get("versions", {})
    add("II", "kubectl (client)", versions.get("client"))
    add("II", "Kubernetes (server)", versions.get("server"))
    add("II", "node image", versions.get("node_image") or None)
    info = data.get("cluster_info")
    add("II", "control plane (kubectl cluster-info)", (info or {}).get("Kubernetes control plane") if info else None)

    replicas = expected.get("cassandra_replicas", CASSANDRA_REPLICAS)
    pods = data.get("cassandra_pods")
    add("III", "Cassandra pods Ready", None if pods is None else f"{sum(p['ready'] for p in pods)}/{len(pods)}",
        f"{replicas}/{replicas}", pods is not None and len(pods) == replicas and all(p["ready"] for p in pods))
    ring = data.get("nodetool")
    un = sum(1 for n in ring or [] if n.get("state") == "UN")
    add(
        "III",
        "nodes UN (nodetool status)",
        None if ring is None else f"{un} of {len(ring)}",
        f"{replicas} of {replicas}",
        ring is not None and un == replicas == len(ring),
    )
    cql = data.get("cqlsh")
    add(
        "III",
        "cqlsh: cluster_name",
        (cql or {}).get("cluster_name") if cql is not None else None,
        expected.get("cluster_name", CLUSTER_NAME),
        bool(cql) and cql.get("cluster_name") == expected.get("cluster_name", CLUSTER_NAME),
    )
    add("III", "cqlsh: release_version", (cql or {}).get("release_version") if cql else None)

    writers = data.get("writer_pods")
    add("IV", "writer pods Ready", None if writers is None else f"{sum(p['ready'] for p in writers)}/{len(writers)}",
        "1/1", writers is not None and len(writers) == 1 and writers[0]["ready"])
    add("IV", "writer restarts", None if writers is None else sum(p["restarts"] for p in writers), 0,
        writers is not None and bool(writers) and sum(p["restarts"] for p in writers) == 0)
    add("IV", "writer progress (log)", None if data.get("writer_progress") is None
        else f"inserted rows to seq {data['writer_progress']}", "> 0", (data.get("writer_progress") or 0) > 0)
    rounds = data.get("chaos")
    # No rounds yet, or no writer restart yet, is no failure: the report shows them "when one was recorded".
    add("IV", "chaos rounds ok", "none recorded" if not rounds else f"{sum(r['ok'] for r in rounds)} of {len(rounds)}",
        "all", None if not rounds else all(r["ok"] for r in rounds))
    if rounds:
        worst = max(rounds, key=lambda r: r.get("stall_s") or 0)
        add("IV", "longest writer stall in a round", f"{worst.get('stall_s')} s ({worst['file']})")

    for topic, prog in sorted((data.get("progress") or {}).items()):
        add(
            "V",
            f"topic {topic}: last_seq / rows",
            f"{prog['last_seq']} / {prog['rows'] if prog['rows'] is not None else '?'}",
        )
    ver = data.get("verify")
    if ver is None or "error" in ver:
        add("V", "gaps (verify)", None, 0, False)
    else:
        missing = sum(t.get("missing", 0) for t in ver.get("topics", []))
        add(
            "V",
            f"gaps (verify at {ver.get('consistency')})",
            f"{missing} missing in {len(ver.get('topics', []))} topic(s)",
            "0 missing",
            bool(ver.get("topics")) and missing == 0,
        )
    resume = data.get("resume")
    add("V", "resume (start from lastSeq=N)", None if resume is None else
        (f"lastSeq={resume['seq']} ({resume['source']})" if resume.get("resumed") else "none recorded"),
        "N > 0", True if resume and resume.get("resumed") else None)
    return facts
