"""The live state of the lab as data: kind nodes, the Cassandra ring, each writer's acknowledged progress and the
last events, built from ``kubectl get -o json``, ``nodetool status`` and the writers' /acks and /metrics answers.

Every function here is pure (the clock is an argument), so the state model is tested on recorded outputs.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from lab import kubectl, names
from lab.cassandra import NodeStatus

#: Seconds without an acknowledgement after which a writer is shown stalled. The writers acknowledge many rows a
#: second, so two seconds of nothing is a stall, not jitter.
STALL_AFTER = 2.0
#: The window of a writer's "rows/s": recent enough to dip during a fault, long enough not to flicker.
RATE_WINDOW = 5.0
#: How much of each writer's acknowledgement record the collector keeps (the dashboard's chart spans it).
HISTORY_SECONDS = 600.0


@dataclass(frozen=True)
class KindNode:
    name: str
    ready: bool
    roles: str


@dataclass(frozen=True)
class RingNode:
    """One Cassandra node: its pod (the one whose IP or host ID nodetool lists; "" when none does), its two-letter
    ``nodetool status`` state ("?" when nodetool does not list it), the pod's phase in words, its worker and
    restarts."""

    pod: str
    state: str
    address: str
    worker: str
    restarts: int
    phase: str


@dataclass(frozen=True)
class WriterState:
    """One writer: its acknowledged seq (``writer_watermark_seq``), rows acknowledged a second over the last
    ``RATE_WINDOW`` seconds, seconds since its last acknowledgement, and ``stalled`` once that passes
    ``STALL_AFTER``. ``error`` says why nothing was read (no forward, no metric)."""

    name: str
    topic: str
    consistency: str
    seq: int | None
    rate: float | None
    since_ack: float | None
    stalled: bool
    error: str = ""


@dataclass(frozen=True)
class Event:
    """Something that happened: ``at`` (epoch seconds), ``source`` ("kube" or "chaos") and what, in words."""

    at: float
    source: str
    text: str


@dataclass
class Snapshot:
    at: float
    nodes: list[KindNode] = field(default_factory=list)
    ring: list[RingNode] = field(default_factory=list)
    writers: list[WriterState] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    #: Why a part could not be read this time ("nodetool: ..."); the rest is still shown.
    errors: list[str] = field(default_factory=list)
    #: The dashboard's chart: per writer name, [[t, acknowledged rows/s], ...] over the last ``HISTORY_SECONDS``.
    rates: dict[str, list[list[float]]] = field(default_factory=dict)
    #: Chaos rounds whose fault began in the chart's span: start, restored, recovered, ack stall (lab.chaos results).
    faults: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """As JSON wants it. The chart's series are handed over, not copied (asdict's deep copy of them was most of a
        dashboard answer's cost): a snapshot is built anew each pass and never changed after."""
        flat = {f: [asdict(item) for item in getattr(self, f)] for f in ("nodes", "ring", "writers", "events")}
        return {"at": self.at, **flat, "errors": list(self.errors), "rates": self.rates, "faults": self.faults}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        """The snapshot ``to_dict`` gave (another viewer's, lab.live.shared)."""
        return cls(at=data["at"], nodes=[KindNode(**n) for n in data["nodes"]],
                   ring=[RingNode(**r) for r in data["ring"]], writers=[WriterState(**w) for w in data["writers"]],
                   events=[Event(**e) for e in data["events"]], errors=list(data["errors"]),
                   rates=dict(data["rates"]), faults=list(data["faults"]))


# -- kind nodes -------------------------------------------------------------------------------------------

def kind_nodes(listing: dict[str, Any]) -> list[KindNode]:
    """The cluster's nodes from ``kubectl get nodes -o json``, by name."""
    out = []
    for node in listing.get("items", []) or []:
        meta = node.get("metadata", {})
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in node.get("status", {}).get("conditions", []) or [])
        roles = sorted(k.split("/", 1)[1] for k in meta.get("labels", {}) or {}
                       if k.startswith("node-role.kubernetes.io/"))
        out.append(KindNode(meta.get("name", ""), ready, ",".join(roles) or "worker"))
    return sorted(out, key=lambda n: n.name)


# -- the ring -----------------------------------------------------------------------------------------------

def pod_phase(pod: dict[str, Any]) -> str:
    """A pod in a word or two: Ready, Terminating, Pending, "Running, not Ready", or why it waits (CrashLoopBackOff)."""
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return "Terminating"
    if kubectl.pod_ready(pod):
        return "Ready"
    phase = pod.get("status", {}).get("phase", "")
    reason = kubectl.pod_waiting_reason(pod).split(":")[0]  # the phase itself when no container waits
    if reason == "Running":
        return "Running, not Ready"
    return reason or phase or "Pending"


def is_cassandra(pod: dict[str, Any]) -> bool:
    return pod.get("metadata", {}).get("name", "").startswith(names.CASSANDRA_STATEFULSET + "-") and \
        pod.get("metadata", {}).get("labels", {}).get("app") == names.CASSANDRA_SELECTOR.split("=", 1)[1]


def ring(pods: list[dict[str, Any]], members: list[NodeStatus] | None, known: dict[str, str]) -> list[RingNode]:
    """Each Cassandra pod with its nodetool state, plus the ring members no pod answers for (a deleted pod's node,
    DN until its replacement rejoins under the same host ID).

    A member is matched to a pod by the pod's IP, else by ``known`` (host ID -> pod, remembered by the caller from
    earlier matches: a replaced pod comes back with a new IP while nodetool still lists the old one). ``members``
    None: nodetool was not read, every state is "?". ``known`` is updated with this call's matches."""
    cassandra = sorted((p for p in pods if is_cassandra(p)), key=lambda p: p["metadata"]["name"])
    by_ip = {m.address: m for m in members or []}
    by_host = {m.host_id: m for m in members or [] if m.host_id}
    matched: set[str] = set()
    out = []
    for pod in cassandra:
        name = pod["metadata"]["name"]
        member = by_ip.get(pod.get("status", {}).get("podIP", ""))
        if member is None:
            member = next((by_host[h] for h, p in known.items() if p == name and h in by_host), None)
        if member is not None:
            matched.add(member.address)
            if member.host_id:
                known[member.host_id] = name
        out.append(RingNode(name, member.state if member else "?", member.address if member else "",
                            pod.get("spec", {}).get("nodeName", ""), kubectl.pod_restarts(pod), pod_phase(pod)))
    for member in members or []:
        if member.address not in matched:
            out.append(RingNode(known.get(member.host_id, ""), member.state, member.address, "", 0, "no pod"))
    return out


# -- writers ------------------------------------------------------------------------------------------------

Point = tuple[float, int]  # (epoch seconds, acknowledged seq)


def merge_points(points: list[Point], new: list[Point], *, now: float, keep: float = HISTORY_SECONDS) -> list[Point]:
    """``points`` extended by the advances in ``new`` (later and higher: an /acks answer repeats the last advance
    before its ``since``, a sample repeats a seq that did not move), trimmed to the last ``keep`` seconds but for
    the newest one before them (the seq then held, for a rate across the cut)."""
    merged = list(points)
    for t, seq in sorted(new):
        if not merged or (t > merged[-1][0] and seq > merged[-1][1]):
            merged.append((t, seq))
    first_kept = bisect_left(merged, (now - keep, float("-inf")))  # the first point at or after the cut
    return merged[first_kept - 1:] if first_kept else merged


def seq_at(points: list[Point], t: float) -> int | None:
    """The acknowledged seq held at time ``t``: the last point at or before it (None before the first). A search,
    not a scan: ten minutes of a writer's advances are thousands of points, and the chart asks 600 times a pass."""
    i = bisect_right(points, (t, float("inf")))  # past every point at ``t``, whatever its seq
    return points[i - 1][1] if i else None


def rate(points: list[Point], *, now: float, window: float = RATE_WINDOW) -> float | None:
    """Rows acknowledged a second over the last ``window`` seconds; None without a point before the window."""
    start, end = seq_at(points, now - window), seq_at(points, now)
    if start is None or end is None:
        return None
    return (end - start) / window


def last_advance(points: list[Point]) -> float | None:
    """When the acknowledged seq last rose (points only hold advances: ``merge_points``)."""
    return points[-1][0] if points else None


def rate_series(points: list[Point], *, now: float, span: float = HISTORY_SECONDS, step: float = 2.0
                ) -> list[list[float]]:
    """[[t, rows/s], ...]: the acknowledged rate in each ``step`` of the last ``span`` seconds that has a known seq
    at both ends (the chart's line; its gaps are when nothing was read)."""
    out = []
    t = now - span
    a = seq_at(points, t)
    while t + step <= now + 1e-9:
        b = seq_at(points, t + step)  # each step's end is the next one's start: one search a step
        if a is not None and b is not None:
            out.append([round(t + step, 3), round((b - a) / step, 2)])
        t, a = t + step, b
    return out


def writer_state(name: str, topic: str, consistency: str, points: list[Point], *, now: float,
                 error: str = "") -> WriterState:
    advanced = last_advance(points)
    since = None if advanced is None else max(0.0, now - advanced)
    return WriterState(name, topic, consistency or "writer.yml's", points[-1][1] if points else None,
                       rate(points, now=now), since, since is not None and since > STALL_AFTER, error)


# -- events ---------------------------------------------------------------------------------------------

def _stamp(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


#: Kubernetes event reasons worth a line: a pod killed or created, not scheduled, restarting, failing probes.
KUBE_REASONS = ("Killing", "SuccessfulCreate", "SuccessfulDelete", "Scheduled", "FailedScheduling", "BackOff",
                "Unhealthy", "Started", "NodeNotReady", "TaintManagerEviction")


def kube_events(listing: dict[str, Any]) -> list[Event]:
    """The namespace's events (``kubectl get events -o json``) of KUBE_REASONS, oldest first."""
    out = []
    for item in listing.get("items", []) or []:
        if item.get("reason") not in KUBE_REASONS:
            continue
        at = (_stamp(item.get("lastTimestamp")) or _stamp(item.get("eventTime"))
              or _stamp(item.get("metadata", {}).get("creationTimestamp")))
        if at is None:
            continue
        obj = item.get("involvedObject", {}).get("name", "")
        message = " ".join(str(item.get("message", "")).split())
        out.append(Event(at, "kube", f"{obj}: {item['reason']}" + (f" ({message})" if message else "")))
    return sorted(out, key=lambda e: e.at)


def pod_transitions(before: dict[str, str], after: dict[str, str], *, now: float) -> list[Event]:
    """What changed between two polls of pod -> phase: a pod gone ("deleted"), new, or in another phase."""
    events = []
    for pod in sorted(set(before) | set(after)):
        if pod not in after:
            events.append(Event(now, "kube", f"{pod}: deleted"))
        elif before.get(pod) != after[pod]:
            events.append(Event(now, "kube", f"{pod}: {after[pod]}"))
    return events


def round_events(record: dict[str, Any]) -> list[Event]:
    """A chaos round's story from its JSON (lab.chaos.results.RoundResult): the fault began, it was undone, the
    ring recovered, the round's result."""
    head = f"chaos round {record.get('round', '?')} ({record.get('pod', '?')})"
    began = record.get("deleted_at")
    if began is None:
        return []
    out = [Event(began, "chaos", f"{head}: {record.get('fault', 'fault')} began")]
    if record.get("restored_at") and record.get("restored_at") != began:
        out.append(Event(record["restored_at"], "chaos", f"{head}: fault undone"))
    if record.get("recovery_s") is not None and record.get("restored_at"):
        out.append(Event(record["restored_at"] + record["recovery_s"], "chaos",
                         f"{head}: recovered in {record['recovery_s']:.1f} s"))
    end = max(e.at for e in out)
    out.append(Event(end, "chaos", f"{head}: ended, {round_outcome(record)}"))
    return out


def round_outcome(record: dict[str, Any]) -> str:
    """"ok", "LOST 12 rows", or the round's error, in a few words."""
    if record.get("ok"):
        return "ok"
    if record.get("lost_rows"):
        return f"LOST {record['lost_rows']} rows"
    return "FAILED" + (f": {record['error']}" if record.get("error") else "")


def fault_mark(record: dict[str, Any], *, file: str = "") -> dict[str, Any]:
    """What the chart marks for a round: when its fault began and was undone, when it recovered, its longest
    acknowledgement stall (start, seconds) and the round's figures."""
    began = record.get("deleted_at")
    stall_at = None
    if record.get("ack_stall_s") is not None and record.get("ack_stall_began_s") is not None and began is not None:
        stall_at = began + record["ack_stall_began_s"]
    recovered = None
    if record.get("recovery_s") is not None and record.get("restored_at"):
        recovered = record["restored_at"] + record["recovery_s"]
    return {"round": record.get("round"), "target": record.get("pod", ""), "fault": record.get("fault", ""),
            "began": began, "restored": record.get("restored_at"), "recovered": recovered,
            "recovery_s": record.get("recovery_s"), "stall_at": stall_at, "stall_s": record.get("ack_stall_s"),
            "lost_rows": record.get("lost_rows", 0), "result": round_outcome(record), "file": file}

