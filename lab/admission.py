"""Why a writer has no pod, or cannot reach Cassandra, in one line each with the fix (for ``invoke status``).

A writer manifest of your own (the assignment's writer.yml) meets two of the lab's rules that ``kubectl get
pods`` does not explain:

- the namespace enforces Pod Security "restricted": a pod without the restricted securityContext is refused at
  creation, so its Deployment's ReplicaSet records a FailedCreate event and no pod exists at all;
- cassandra.yml's NetworkPolicy admits to CQL (9042) only pods carrying the labels it names: any other pod runs,
  but its connections are refused (``dial tcp ...:9042: connect: connection refused``) and it crash-loops.

The pure functions read ``kubectl get -o json`` data and the manifests; ``findings`` fetches both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lab import kubectl, manifests, names
from lab.context import Lab

#: How the lab deploys a writer with both rules met (writer.yml rendered: restricted securityContext, labels).
LAB_RENDERING = "use the lab's writer.yml rendering (`invoke deploy --what writer`)"
#: The securityContext field each Pod Security "restricted" check asks for, by a word of the check's name.
RESTRICTED_FIELDS = {
    "allowPrivilegeEscalation": "allowPrivilegeEscalation: false",
    "capabilities": "capabilities: {drop: [ALL]}",
    "runAsNonRoot": "runAsNonRoot: true",
    "runAsUser": "runAsUser: a non-zero uid",
    "seccompProfile": "seccompProfile: {type: RuntimeDefault}",
    "privileged": "privileged: false",
}
_POD_SECURITY = re.compile(r'violates PodSecurity "([^"]+)": (.*)', re.S)


# -- refused pods (pure) -------------------------------------------------------------------------------

def pod_security_checks(message: str) -> tuple[str, list[str]] | None:
    """(the policy, the names of the checks it failed) from a FailedCreate message of Pod Security admission,
    e.g. ("restricted:latest", ["allowPrivilegeEscalation != false", "seccompProfile"]); None for another refusal."""
    match = _POD_SECURITY.search(message)
    if not match:
        return None
    checks, depth, current = [], 0, ""
    for char in match.group(2):  # "name (detail, more), name (detail)": split on the commas between checks
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            checks.append(current)
            current = ""
        else:
            current += char
    checks.append(current)
    return match.group(1), [check.split(" (", 1)[0].strip() for check in checks if check.strip()]


def restricted_fix(checks: Iterable[str]) -> str:
    """The securityContext fields that meet ``checks`` (each named once, in the checks' order)."""
    fields = [field for check in checks for word, field in RESTRICTED_FIELDS.items() if word in check]
    return ", ".join(dict.fromkeys(fields))


def _when(event: dict[str, Any]) -> str:
    return (event.get("lastTimestamp") or event.get("eventTime") or event.get("metadata", {}).get("creationTimestamp")
            or "")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def refusals(replicasets: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]) -> list[str]:
    """One line per ReplicaSet that wants pods it cannot create (its latest FailedCreate event): the refusal,
    shortened, and the fix. A ReplicaSet that has its pods, or is gone, is not named (its event may linger)."""
    short = {rs["metadata"]["name"] for rs in replicasets
             if int(rs.get("spec", {}).get("replicas") or 0) > int(rs.get("status", {}).get("replicas") or 0)}
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        involved = event.get("involvedObject", {})
        name = involved.get("name", "")
        if event.get("reason") != "FailedCreate" or involved.get("kind") != "ReplicaSet" or name not in short:
            continue
        if name not in latest or _when(event) >= _when(latest[name]):
            latest[name] = event
    lines = []
    for name, event in sorted(latest.items()):
        message = event.get("message", "").removeprefix("Error creating: ")
        found = pod_security_checks(message)
        if found is None:
            lines.append(f"ReplicaSet {name} creates no pod: {_short(message)}")
            continue
        policy, checks = found
        fix = restricted_fix(checks)
        lines.append(f"ReplicaSet {name} creates no pod: PodSecurity \"{policy}\" refuses it ({', '.join(checks)}); "
                     f"fix: {LAB_RENDERING}" + (f", or add the restricted securityContext: {fix}" if fix else ""))
    return lines


# -- pods the NetworkPolicies keep away from Cassandra (pure) -----------------------------------------------

def _ports(rule: dict[str, Any]) -> set[int]:
    return {int(p["port"]) for p in rule.get("ports") or [] if str(p.get("port", "")).isdigit()}


def cql_peers(cassandra_docs: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    """The pod labels each NetworkPolicy of cassandra.yml admits to CQL: the matchLabels of every ``from`` pod
    selector in an ingress rule for port 9042 (a pod with all the labels of one of them gets through)."""
    peers = []
    for doc in cassandra_docs:
        if doc.get("kind") != "NetworkPolicy":
            continue
        for rule in doc.get("spec", {}).get("ingress") or []:
            if names.CQL_PORT in _ports(rule):
                peers += [dict(peer["podSelector"].get("matchLabels") or {}) for peer in rule.get("from") or []
                          if "podSelector" in peer]
    return peers


def writer_peer(peers: Iterable[dict[str, str]], writer_docs: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Of ``peers``, the labels the lab's own writer carries (writer.yml's pod template): what a writer of yours
    must carry too. {} when none matches (the manifests disagree)."""
    deployment = manifests.find(writer_docs, "Deployment") or {}
    labels = deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {}
    return next((peer for peer in peers if peer and _has(labels, peer)), {})


def _has(labels: dict[str, str], wanted: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())


def looks_like_writer(pod: dict[str, Any]) -> bool:
    """A Deployment's pod (owned by a ReplicaSet), or one whose labels say writer (``app: ece573-prj04-writer``)."""
    meta = pod.get("metadata", {})
    owned = any(ref.get("kind") == "ReplicaSet" for ref in meta.get("ownerReferences") or [])
    return owned or any("writer" in str(value) for value in (meta.get("labels") or {}).values())


def unadmitted(pods: Iterable[dict[str, Any]], peers: list[dict[str, str]], writer: dict[str, str]) -> list[str]:
    """One line per live writer-like pod that no peer admits to CQL: the labels of ``writer`` it lacks, and the fix."""
    lines = []
    for pod in pods:
        meta = pod.get("metadata", {})
        if meta.get("deletionTimestamp") or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            continue
        labels = meta.get("labels") or {}
        if not looks_like_writer(pod) or any(_has(labels, peer) for peer in peers if peer):
            continue
        missing = ", ".join(f"{key}={value}" for key, value in writer.items() if labels.get(key) != value)
        lines.append(f"pod {meta.get('name', '?')} lacks the labels Cassandra's NetworkPolicy admits to "
                     f"{names.CQL_PORT} ({missing}): its connections are refused; fix: {LAB_RENDERING}, or add "
                     "them to its pod template's metadata.labels")
    return lines


# -- on the cluster -------------------------------------------------------------------------------------

def findings(lab: Lab) -> list[str]:
    """Refused ReplicaSets and unadmitted writer pods in the lab's namespace, one line each ([] when none).
    Raises LabError when kubectl cannot list them."""
    cfg = lab.cfg
    objects = (kubectl.get_json(lab.runner, lab.kube, "replicasets,pods") or {}).get("items", [])
    events = (kubectl.get_json(lab.runner, lab.kube, "events", field_selector="reason=FailedCreate") or {})
    peers = cql_peers(manifests.load_all(cfg.path(cfg.cassandra_manifest)))
    writer = writer_peer(peers, manifests.load_all(cfg.path(cfg.writer_manifest)))
    return (refusals([o for o in objects if o.get("kind") == "ReplicaSet"], events.get("items", []))
            + unadmitted([o for o in objects if o.get("kind") == "Pod"], peers, writer))
