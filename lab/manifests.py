"""The top-level manifests (cluster.yml, cassandra.yml, writer.yml): load, render, cross-check.

Deploy never edits the checked-in files: it renders a copy under the state dir with the image tags and
writer settings filled in, and applies that file, so a dry run prints a command the user can re-run and a
file they can read.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from lab import commitlog

WORKLOAD_KINDS = ("StatefulSet", "Deployment", "DaemonSet", "Job")


def load_all(path: Path | str) -> list[dict[str, Any]]:
    """Every non-empty YAML document in ``path``."""
    with open(path) as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc]


def containers(doc: dict[str, Any], *, init: bool = False) -> list[dict[str, Any]]:
    """The pod template's containers; with ``init``, its init containers first."""
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    first = (spec.get("initContainers") or []) if init else []
    return list(first) + list(spec.get("containers", []) or [])


def find(docs: Iterable[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any] | None:
    for doc in docs:
        if doc.get("kind") == kind and (name is None or doc.get("metadata", {}).get("name") == name):
            return doc
    return None


def render(docs: list[dict[str, Any]], *, images: dict[str, str] | None = None,
           env: dict[str, dict[str, str]] | None = None) -> list[dict[str, Any]]:
    """A copy of ``docs`` with container images and env values replaced, keyed by container name.

    An env var named in ``env`` but absent from the container is appended: config can add, not only change.
    """

    out = copy.deepcopy(docs)
    for doc in out:
        if doc.get("kind") not in WORKLOAD_KINDS:
            continue
        for container in containers(doc, init=True):
            name = container.get("name") or ""
            if images and name in images and images[name]:
                container["image"] = images[name]
            for key, value in ((env or {}).get(name) or {}).items():
                entries = container.setdefault("env", [])
                for entry in entries:
                    if entry.get("name") == key:
                        entry.pop("valueFrom", None)
                        entry["value"] = str(value)
                        break
                else:
                    entries.append({"name": key, "value": str(value)})
    return out


PROBES = ("readinessProbe", "livenessProbe", "startupProbe")


def without_probes(docs: list[dict[str, Any]], container: str) -> list[dict[str, Any]]:
    """A copy of ``docs`` whose ``container`` has no readiness, liveness or startup probe."""

    out = copy.deepcopy(docs)
    for doc in out:
        for c in containers(doc):
            if c.get("name") == container:
                for probe in PROBES:
                    c.pop(probe, None)
    return out


def without_env(docs: list[dict[str, Any]], container: str, names: Iterable[str]) -> list[dict[str, Any]]:
    """A copy of ``docs`` whose ``container`` lacks the env vars ``names``."""
    drop = set(names)
    out = copy.deepcopy(docs)
    for doc in out:
        for c in containers(doc):
            if c.get("name") == container and "env" in c:
                c["env"] = [var for var in c["env"] or [] if var.get("name") not in drop]
    return out


def with_storage_class(docs: list[dict[str, Any]], storage_class: str) -> list[dict[str, Any]]:
    """A copy of ``docs`` whose StatefulSets claim their volumes from ``storage_class`` (lab.storage_class)."""
    out = copy.deepcopy(docs)
    for doc in out:
        if doc.get("kind") == "StatefulSet":
            for claim in doc.get("spec", {}).get("volumeClaimTemplates") or []:
                claim.setdefault("spec", {})["storageClassName"] = storage_class
    return out


def with_replicas(docs: list[dict[str, Any]], workload: str, replicas: int) -> list[dict[str, Any]]:
    """A copy of ``docs`` where the workload named ``workload`` asks for ``replicas`` pods."""
    out = copy.deepcopy(docs)
    for doc in out:
        if doc.get("kind") in WORKLOAD_KINDS and doc.get("metadata", {}).get("name") == workload:
            doc.setdefault("spec", {})["replicas"] = replicas
    return out


def with_commitlog_sync(docs: list[dict[str, Any]], container: str, mode: str) -> list[dict[str, Any]]:
    """A copy of ``docs`` whose ``container`` starts Cassandra in commitlog_sync ``mode``: its JVM_OPTS carry
    the mode's -Dcassandra.settings.* flags instead of the ones it had (lab/commitlog.py)."""
    current = env_value(docs, container, "JVM_OPTS")
    return render(docs, env={container: {"JVM_OPTS": commitlog.jvm_opts(current, mode)}})


def with_ingress_from_namespace(docs: list[dict[str, Any]], policy: str, namespace: str) -> list[dict[str, Any]]:
    """A copy of ``docs`` whose NetworkPolicy ``policy`` also admits every pod of ``namespace`` (by the
    ``kubernetes.io/metadata.name`` label the API server gives each namespace) to the ports of its first ingress
    rule; none when ``namespace`` is empty."""
    out = copy.deepcopy(docs)
    if not namespace:
        return out
    for doc in out:
        if doc.get("kind") == "NetworkPolicy" and doc.get("metadata", {}).get("name") == policy:
            rules = doc.setdefault("spec", {}).setdefault("ingress", [])
            ports = copy.deepcopy(rules[0].get("ports", [])) if rules else []
            selector = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}
            rules.append({"from": [selector], **({"ports": ports} if ports else {})})
    return out


def with_annotation(docs: list[dict[str, Any]], key: str, value: str | None) -> list[dict[str, Any]]:
    """A copy of ``docs`` with annotation ``key: value`` on every workload's pod template (none when ``value`` is
    None). A checksum of a Secret the pods read at start there makes a changed Secret a changed pod template, so
    applying rolls the pods (lab/auth.py, lab/tls.py)."""
    out = copy.deepcopy(docs)
    if value is None:
        return out
    for doc in out:
        if doc.get("kind") in WORKLOAD_KINDS:
            metadata = doc.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
            metadata["annotations"] = {**(metadata.get("annotations") or {}), key: value}
    return out


def env_value(docs: list[dict[str, Any]], container: str, name: str) -> str:
    """The value of env var ``name`` of the workloads' ``container`` ("" when it has none)."""
    return next((entry.get("value", "") for doc in docs if doc.get("kind") in WORKLOAD_KINDS
                 for c in containers(doc) if c.get("name") == container
                 for entry in c.get("env") or [] if entry.get("name") == name), "")


def write(docs: list[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# Rendered by the lab from the file of the same name at the project root; edit that one.\n"
    path.write_text(header + yaml.safe_dump_all(docs, sort_keys=False))
    return path


def image_of(docs: list[dict[str, Any]], container: str) -> str | None:
    for doc in docs:
        for c in containers(doc):
            if c.get("name") == container:
                return c.get("image")
    return None


def with_node_images(cluster_config: dict[str, Any], by_role: dict[str, str]) -> dict[str, Any]:
    """A copy of a kind config whose nodes of each role in ``by_role`` run that image (kind's default role: a
    control plane)."""
    doc = copy.deepcopy(cluster_config)
    for node in doc.get("nodes", []):
        image = by_role.get(node.get("role", "control-plane"))
        if image:
            node["image"] = image
    return doc


def kind_node_images(cluster_config: dict[str, Any]) -> set[str]:
    """The node images a kind config pins (one per node; normally all the same)."""
    return {n["image"] for n in cluster_config.get("nodes", []) if n.get("image")}
