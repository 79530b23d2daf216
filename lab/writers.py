"""The writers: one Deployment per topic, cut from writer.yml.

The first writer keeps the assignment's name (ece573-prj04-writer) and selector, so everything the
assignment types still works; the n-th is ece573-prj04-writer-n. Each Deployment selects only its own
pods (app=<its name>: two Deployments must never share pods), while every writer pod also carries the
labels of ``WRITERS_SELECTOR``, which logs, status, chaos and the NetworkPolicies use to see them all.

Which writers exist is read back from the cluster (``deployed``): chaos, status and the report describe
what runs, whatever invoke.yaml says now.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from lab import kubectl, manifests, names
from lab.kubectl import Kubectl
from lab.runner import Runner


@dataclass(frozen=True)
class Writer:
    """One writer: its topic, its place (1 is the assignment's Deployment), its consistency level ("" when
    writer.yml's is kept: a plan without levels, or a Deployment that does not set CONSISTENCY) and, read back from
    a Deployment, its WRITER_MODE ("robust" or "seed"; "" when unknown)."""

    topic: str
    number: int = 1
    consistency: str = ""
    mode: str = ""

    @property
    def name(self) -> str:
        """The Deployment's name, also its pods' ``app`` label."""
        return names.WRITER_DEPLOYMENT if self.number == 1 else f"{names.WRITER_DEPLOYMENT}-{self.number}"

    @property
    def selector(self) -> str:
        """This writer's pods, and no other writer's."""
        return f"app={self.name}"


def planned(topics: tuple[str, ...] | list[str], consistencies: tuple[str, ...] | list[str] = ()) -> list[Writer]:
    """The writers for ``topics`` (lab.writer.topics, or the one lab.writer.topic), in order, each at its level of
    ``consistencies`` (LabConfig.consistencies: one per topic)."""
    levels = list(consistencies) or [""] * len(topics)
    return [Writer(topic, number, level) for number, (topic, level) in enumerate(zip(topics, levels, strict=True),
                                                                               start=1)]


def render(docs: list[dict[str, Any]], writers: list[Writer]) -> list[dict[str, Any]]:
    """writer.yml's objects with its Deployment repeated once per writer (name, selector, TOPIC, CONSISTENCY); the rest
    (the NetworkPolicy, which selects every writer pod) once."""
    out: list[dict[str, Any]] = []
    for doc in docs:
        if doc.get("kind") != "Deployment" or doc.get("metadata", {}).get("name") != names.WRITER_DEPLOYMENT:
            out.append(copy.deepcopy(doc))
            continue
        for writer in writers:
            out.append(_for_writer(doc, writer))
    return out


def _for_writer(doc: dict[str, Any], writer: Writer) -> dict[str, Any]:
    env = {"TOPIC": writer.topic, **({"CONSISTENCY": writer.consistency} if writer.consistency else {})}
    doc = manifests.render([doc], env={names.WRITER_CONTAINER: env})[0]
    doc["metadata"]["name"] = writer.name
    spec = doc["spec"]
    for labels in (doc["metadata"].setdefault("labels", {}), spec["selector"]["matchLabels"],
                   spec["template"]["metadata"].setdefault("labels", {})):
        if "app" in labels:
            labels["app"] = writer.name
        if "app.kubernetes.io/name" in labels:
            labels["app.kubernetes.io/name"] = writer.name
    return doc


#: The n in ece573-prj04-writer-n (none for the first writer).
_NUMBER = re.compile(re.escape(names.WRITER_DEPLOYMENT) + r"(?:-(\d+))?")


def from_deployments(data: dict[str, Any]) -> list[Writer]:
    """The writers in ``kubectl get deployments -o json`` output, by number; their topics from TOPIC."""
    found = []
    for item in data.get("items", []) or []:
        match = _NUMBER.fullmatch(item.get("metadata", {}).get("name", ""))
        if not match:
            continue
        found.append(Writer(_writer_env(item, "TOPIC") or "", int(match.group(1) or 1),
                            _writer_env(item, "CONSISTENCY") or "", (_writer_env(item, "WRITER_MODE") or "").lower()))
    return sorted(found, key=lambda w: w.number)


def _writer_env(deployment: dict[str, Any], name: str) -> str | None:
    """The value of env var ``name`` in a writer Deployment's writer container, None when it is not set."""
    for container in manifests.containers(deployment):
        if container.get("name") == names.WRITER_CONTAINER:
            for var in container.get("env", []) or []:
                if var.get("name") == name:
                    return str(var.get("value", ""))
    return None


def deployed_consistency(runner: Runner, kube: Kubectl) -> str | None:
    """The consistency level the first writer runs at, as deployed (a config can differ from the cluster)."""
    item = kubectl.get_json(runner, kube, "deployment", names.WRITER_DEPLOYMENT)
    return None if item is None else _writer_env(item, "CONSISTENCY")


def deployed(runner: Runner, kube: Kubectl) -> list[Writer]:
    """The writer Deployments in the lab's namespace, first writer first."""
    return from_deployments(kubectl.get_json(runner, kube, "deployments", selector=names.WRITERS_SELECTOR) or {})


def describe(writers: list[Writer]) -> str:
    """``ece573-prj04-writer (test), ece573-prj04-writer-2 (test-2)``; with each level when they differ:
    ``ece573-prj04-writer (test, QUORUM), ece573-prj04-writer-2 (test-2, ALL)``."""
    mixed = len({w.consistency for w in writers}) > 1
    return ", ".join(f"{w.name} ({w.topic or 'no topic'}{', ' + (w.consistency or '?') if mixed else ''})"
                     for w in writers)
