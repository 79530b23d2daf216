"""Where a Cassandra pod's start goes, and the writer's longest send gap, from records rather than sampling.

Pure functions over what the cluster already keeps: the pod's own timestamps (created, scheduled, init done,
container started, Ready), its log read with ``kubectl logs --timestamps`` (this node NORMAL in the ring, CQL
open), and the rows' ``WRITETIME`` (microseconds). WRITETIME is a *send* time: the Python driver stamps each
write on the client when it issues it (client-side timestamps), not when a coordinator acknowledges it. With
many writes in flight the writer keeps sending while nothing is acknowledged, so the longest gap between two
WRITETIMEs (the "send gap") can be far shorter than the longest time with no acknowledged progress; that one
comes from the writer's own record of its acknowledgements (/acks, lab.chaos.round), and the bench shows both.
Kubernetes stamps whole seconds; logs and WRITETIME are finer, so the later phases are the precise ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The start's milestones, in the order Cassandra passes them (it joins the ring, NORMAL, before it opens CQL),
#: and the log lines that mark the two read from the log.
MILESTONES = ("created", "scheduled", "initialized", "started", "normal", "cql_open", "ready")
CQL_OPEN = "Starting listening for CQL clients"
NORMAL = "state jump to NORMAL"

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)\s")


def parse_time(text: str | None) -> float | None:
    """RFC 3339 (Kubernetes' ``2026-12-02T14:00:01Z``, kubectl's nanosecond log stamps) as epoch seconds."""
    if not text:
        return None
    match = _STAMP.match(text.strip() + " ")
    if not match:
        return None
    whole, fraction, zone = match.groups()
    stamp = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    return stamp + (float(fraction) if fraction else 0.0)


def first_log_time(log_text: str, needle: str, *, also: str = "") -> float | None:
    """When the first line holding ``needle`` (and ``also``) was logged, from ``--timestamps`` prefixes."""
    for line in log_text.splitlines():
        if needle in line and also in line:
            return parse_time(line)
    return None


def _condition(pod: dict[str, Any], condition: str) -> float | None:
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == condition and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None


def _started(pod: dict[str, Any], container: str) -> float | None:
    for status in pod.get("status", {}).get("containerStatuses") or []:
        if status.get("name") == container:
            return parse_time((status.get("state", {}).get("running") or {}).get("startedAt"))
    return None


def pod_milestones(pod: dict[str, Any], log_text: str, *, container: str) -> dict[str, float | None]:
    """Epoch seconds of each milestone of ``pod``'s current start (None where it has not happened)."""
    ip = pod.get("status", {}).get("podIP", "")
    return {
        "created": parse_time(pod.get("metadata", {}).get("creationTimestamp")),
        "scheduled": _condition(pod, "PodScheduled"),
        "initialized": _condition(pod, "Initialized"),
        "started": _started(pod, container),
        "cql_open": first_log_time(log_text, CQL_OPEN),
        # This node's own jump, not a peer's it learns about through gossip: the line names its address.
        "normal": first_log_time(log_text, NORMAL, also=f"/{ip}:") if ip else None,
        "ready": _condition(pod, "Ready"),
    }


def phase_seconds(milestones: dict[str, float | None], *, since: float | None = None) -> dict[str, float | None]:
    """Seconds from each milestone to the next, named by the later one (None where either end is unknown).
    ``since``: a moment before ``created`` (the deletion a replacement answers); its phase is ``replaced``."""
    points = [(name, milestones.get(name)) for name in MILESTONES]
    if since is not None:
        points.insert(0, ("since", since))
    phases: dict[str, float | None] = {}
    previous = points[0][1]
    for name, at in points[1:]:
        phases["replaced" if name == "created" else name] = (
            round(at - previous, 2) if at is not None and previous is not None else None)
        previous = at if at is not None else previous
    return phases


@dataclass(frozen=True)
class Gap:
    """The longest send gap: the longest time between two consecutive writes *issued* (their WRITETIMEs, stamped
    by the client when it sent them), from ``start`` to ``end``. Not an acknowledgement gap (see the module)."""

    seconds: float
    start: float
    end: float
    writes: int  # how many distinct write times the window held


def longest_write_gap(writetimes_us: list[int]) -> Gap | None:
    """The longest send gap: between consecutive distinct WRITETIMEs (microseconds, client send times)."""
    times = sorted(set(writetimes_us))
    if len(times) < 2:
        return None
    width, at = max((b - a, i) for i, (a, b) in enumerate(zip(times, times[1:], strict=False)))
    return Gap(width / 1e6, times[at] / 1e6, times[at + 1] / 1e6, len(times))


def writetimes_query(table: str, topic: str, low: int, high: int) -> str:
    """The write times of ``topic``'s rows low..high (the caller checks the topic)."""
    return (f"SELECT seq, writetime(value) AS wt FROM {table} WHERE topic = '{topic}' "
            f"AND seq >= {int(low)} AND seq <= {int(high)};")


def median(values: list[float | None]) -> float | None:
    known = sorted(v for v in values if v is not None)
    if not known:
        return None
    mid = len(known) // 2
    return known[mid] if len(known) % 2 else round((known[mid - 1] + known[mid]) / 2, 2)


def worst(values: list[float | None]) -> float | None:
    """The largest measured value (None where nothing was measured): a target such as "under 0.3 s in every
    round" is a maximum."""
    return max((v for v in values if v is not None), default=None)
