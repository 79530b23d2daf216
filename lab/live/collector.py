"""One poller of the lab's state, shared by every viewer: ``invoke watch`` and each dashboard tab read its latest
``Snapshot`` and never ask the cluster themselves, so two views cost what one does.

What it asks, and how often (``Intervals``): the lab's pods every 2 s, nodes and events every 5 s, the writer
Deployments every 10 s, all through ``reads`` (lab.live.api: one long-lived ``kubectl proxy`` for the views, not a
kubectl process a read); ``nodetool status`` (a ``kubectl exec``, the one process a poll still starts) every 5 s
while anything moves (a pod not Ready or changed in the last ``nodetool_quiet`` seconds, a node not UN) and every
``nodetool_quiet`` seconds while all is still, in the first Ready Cassandra pod, so a deleted cassandra-0 does not
blind it; and each writer's /acks every second through a port-forward of its own (lab.chaos.sampling.MetricsProgress,
which reopens a forward that died with its pod). A writer's reads run in a thread of their own: a forward being
reopened must not hold up the ring. Several viewers share one collector: lab.live.shared.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lab import writers as writers_mod
from lab.cassandra import Cassandra, NodeStatus
from lab.chaos.sampling import MetricsProgress
from lab.config import ChaosGroup
from lab.errors import LabError
from lab.kubectl import Kubectl
from lab.live import state
from lab.live.api import KubectlReads, Reads
from lab.live.history import load_json
from lab.runner import Runner
from lab.writers import Writer

log = logging.getLogger(__name__)


def every(tick: float, step: Callable[[], object], *, until: threading.Event, name: str) -> threading.Thread:
    """``step`` every ``tick`` seconds in a daemon thread until ``until`` is set. A failed pass is logged and the
    next one runs: a view that dies on one odd answer (or one torn snapshot file) is worse than a stale second."""

    def loop() -> None:
        while not until.wait(tick):
            try:
                step()
            except Exception:
                log.exception("%s: a pass failed", name)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread

#: Events kept (the views show the last few).
EVENTS_KEPT = 200


@dataclass(frozen=True)
class Intervals:
    """Seconds between reads of each source (see the module's docstring for why these)."""

    pods: float = 2.0
    nodes: float = 5.0
    events: float = 5.0
    nodetool: float = 5.0
    nodetool_quiet: float = 15.0
    writers: float = 10.0
    acks: float = 1.0


class Progress(Protocol):
    """What the collector needs of a writer's progress reader (MetricsProgress; a fake in tests)."""

    def start(self, *, timeout: float = 15) -> bool: ...

    def read(self) -> int | None: ...

    def acks(self, since: float) -> dict | None: ...

    def close(self) -> None: ...


def metrics_progress_for(runner: Runner, kube: Kubectl, *, port: int = ChaosGroup.metrics_port,
                         metric: str = ChaosGroup.metric) -> Callable[[Writer], Progress]:
    """The real readers: ``writer``'s /metrics and /acks through ``kubectl port-forward deployment/<writer>``."""
    def make(writer: Writer) -> Progress:
        return MetricsProgress(runner, kube, remote_port=port, metric=metric, topic=writer.topic,
                               deployment=writer.name)
    return make


class WriterFeed:
    """One writer's acknowledged seqs over time: its /acks advances (to the millisecond), or, from a writer that
    keeps no record, its /metrics gauge sampled each poll."""

    #: Seconds between attempts to reach a writer whose /metrics never answered.
    RETRY = 5.0

    def __init__(self, writer: Writer, progress: Progress, *, clock: Callable[[], float]):
        self.writer, self.progress, self.clock = writer, progress, clock
        self.points: list[state.Point] = []
        self.error = "connecting"
        self._opened = False
        self._tried = float("-inf")
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> None:
        now = self.clock()
        if not self._opened:
            if now - self._tried < self.RETRY:
                return
            self._tried = now
            self._opened = self.progress.start(timeout=10)
            if not self._opened:
                self.error = "no /metrics answer (is the writer running?)"
                return
        since = self.points[-1][0] if self.points else now - state.HISTORY_SECONDS
        try:
            answer = self.progress.acks(since)
            if answer is not None:
                new = [(float(t), int(seq)) for t, seq in answer["advances"]]
            else:
                seq = self.progress.read()
                new = [] if seq is None else [(now, seq)]
        except Exception as err:  # a dead forward (being reopened) is a gap, not the end of the view
            self.error = f"no answer from the writer ({err.__class__.__name__})"
            return
        with self._lock:
            self.points = state.merge_points(self.points, new, now=now)
            self.error = ""

    def view(self, now: float) -> tuple[state.WriterState, list[list[float]]]:
        with self._lock:
            points, error = list(self.points), self.error
        w = self.writer
        return (state.writer_state(w.name, w.topic, w.consistency, points, now=now, error=error),
                state.rate_series(points, now=now))

    def run(self, every: float) -> None:
        def loop():
            while not self._stop.is_set():
                self.poll()
                self._stop.wait(every)
        self._thread = threading.Thread(target=loop, name=f"live-{self.writer.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.progress.close()


class Collector:
    """Polls the cluster and keeps the latest ``Snapshot``. ``poll()`` does one pass of whatever is due (the tests
    call it with a fake runner and fake progress readers); ``start()`` runs it every ``tick`` seconds in a thread,
    with each writer's reads in a thread of its own. ``reads``: how the Kubernetes lists are read (default: a
    ``kubectl get`` each); ``publish``: given each pass's snapshot (lab.live.shared hands it to other viewers)."""

    def __init__(self, runner: Runner, kube: Kubectl, *, artifacts: Path,
                 progress_for: Callable[[Writer], Progress], intervals: Intervals = Intervals(),
                 clock: Callable[[], float] = time.time, tick: float = 0.5, reads: Reads | None = None,
                 publish: Callable[[state.Snapshot], None] | None = None):
        self.runner, self.kube, self.artifacts = runner, kube, artifacts
        self.reads = reads or KubectlReads(runner, kube)
        self.publish = publish
        self.progress_for, self.intervals, self.clock, self.tick = progress_for, intervals, clock, tick
        self.feeds: dict[str, WriterFeed] = {}
        self._due: dict[str, float] = {}
        self._pods: list[dict[str, Any]] = []
        self._phases: dict[str, str] | None = None
        self._nodes: list[state.KindNode] = []
        self._members: list[NodeStatus] | None = None
        self._nodetool_at = float("-inf")
        self._changed_at = float("-inf")  # when a pod last changed phase (or appeared, or went)
        self._known: dict[str, str] = {}  # host ID -> pod, remembered across a pod's new IP
        self._events: dict[tuple[float, str], state.Event] = {}
        self._rounds: dict[str, dict[str, Any]] = {}  # round JSON (relative name) -> its record
        self._errors: dict[str, str] = {}
        self._threaded = False
        self._lock = threading.Lock()
        self._latest = state.Snapshot(at=clock())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- polling ----------------------------------------------------------------------------------------

    def _is_due(self, what: str, now: float) -> bool:
        if now < self._due.get(what, float("-inf")):
            return False
        self._due[what] = now + getattr(self.intervals, what)
        return True

    def _read(self, what: str, read: Callable[[], Any]) -> Any:
        """``read()``, or None with the failure kept as one line for the views (the other parts still show)."""
        try:
            value = read()
        except LabError as err:
            self._errors[what] = f"{what}: {str(err).splitlines()[0] if str(err) else err.__class__.__name__}"
            return None
        self._errors.pop(what, None)
        return value

    def poll(self) -> state.Snapshot:
        now = self.clock()
        if self._is_due("pods", now):
            listing = self._read("pods", lambda: self.reads.get("pods"))
            if listing is not None:
                self._pods = listing.get("items", []) or []
                phases = {p["metadata"]["name"]: state.pod_phase(p) for p in self._pods}
                if self._phases is not None:
                    changes = state.pod_transitions(self._phases, phases, now=now)
                    if changes:
                        self._changed_at = now
                    self._add(changes)
                self._phases = phases
        if self._is_due("nodes", now):
            listing = self._read("nodes", lambda: self.reads.get("nodes"))
            if listing is not None:
                self._nodes = state.kind_nodes(listing)
        if self._is_due("events", now):
            listing = self._read("events", lambda: self.reads.get("events"))
            if listing is not None:
                self._add(e for e in state.kube_events(listing) if e.at >= now - state.HISTORY_SECONDS)
            self._read_rounds(now)
        if self._nodetool_due(now):
            self._nodetool_at = now
            self._nodetool()
        if self._is_due("writers", now):
            self._sync_writers()
        if not self._threaded:
            for feed in list(self.feeds.values()):
                feed.poll()
        snapshot = self._build(now)
        with self._lock:
            self._latest = snapshot
        if self.publish is not None:
            self.publish(snapshot)
        return snapshot

    def _nodetool_due(self, now: float) -> bool:
        """Every ``nodetool`` seconds while anything moves, every ``nodetool_quiet`` while all is still: each is a
        kubectl process here and a JVM in the pod, and a still ring has nothing new to say."""
        waited = now - self._nodetool_at
        if waited >= self.intervals.nodetool_quiet:
            return True
        if waited < self.intervals.nodetool:
            return False
        cassandra = [p for p in self._pods if state.is_cassandra(p)]
        still = (self._members is not None and all(m.state == "UN" for m in self._members)
                 and bool(cassandra) and all(state.pod_phase(p) == "Ready" for p in cassandra)
                 and now - self._changed_at >= self.intervals.nodetool_quiet)
        return not still

    def _nodetool(self) -> None:
        ready = [p["metadata"]["name"] for p in self._pods if state.is_cassandra(p) and state.pod_phase(p) == "Ready"]
        if not ready:
            self._members = None
            self._errors["nodetool"] = "nodetool: no Cassandra pod is Ready to ask"
            return
        pod = sorted(ready)[0]
        members = self._read("nodetool", lambda: Cassandra(self.runner, self.kube, pod=pod,
                                                           request_timeout=30).nodetool_status())
        if members is not None:
            self._members = members

    def _sync_writers(self) -> None:
        listing = self._read("writers", lambda: self.reads.get("deployments") or {})  # none: no writers
        if listing is None:
            return
        deployed = writers_mod.from_deployments(listing)
        wanted = {w.name: w for w in deployed}
        for name in [n for n in self.feeds if n not in wanted]:
            self.feeds.pop(name).close()
        for name, writer in wanted.items():
            if name not in self.feeds or self.feeds[name].writer != writer:
                if name in self.feeds:
                    self.feeds.pop(name).close()
                feed = WriterFeed(writer, self.progress_for(writer), clock=self.clock)
                self.feeds[name] = feed
                if self._threaded:
                    feed.run(self.intervals.acks)

    def _read_rounds(self, now: float) -> None:
        """Chaos rounds as their JSON files appear (a round writes it when it ends): their story as events."""
        for path in sorted((self.artifacts / "chaos").glob("*-round*.json")):
            if path.name in self._rounds:
                continue
            record = load_json(path)
            if record is None:
                continue  # half-written: read on the next pass
            self._rounds[path.name] = record
            self._add(e for e in state.round_events(record) if e.at >= now - state.HISTORY_SECONDS)

    def _add(self, events) -> None:
        for event in events:
            self._events[(event.at, event.text)] = event
        if len(self._events) > EVENTS_KEPT:
            for key in sorted(self._events)[:-EVENTS_KEPT]:
                del self._events[key]

    def _build(self, now: float) -> state.Snapshot:
        views = {name: feed.view(now) for name, feed in sorted(self.feeds.items(), key=lambda kv: kv[1].writer.number)}
        faults = [state.fault_mark(r, file=name) for name, r in sorted(self._rounds.items())
                  if (r.get("deleted_at") or 0) >= now - state.HISTORY_SECONDS]
        return state.Snapshot(
            at=now, nodes=list(self._nodes), ring=state.ring(self._pods, self._members, self._known),
            writers=[v[0] for v in views.values()], events=sorted(self._events.values(), key=lambda e: e.at)[-50:],
            errors=sorted(self._errors.values()), rates={name: v[1] for name, v in views.items()}, faults=faults)

    # -- the thread ------------------------------------------------------------------------------------

    def latest(self) -> state.Snapshot:
        with self._lock:
            return self._latest

    def start(self) -> Collector:
        self._threaded = True
        self.poll()
        self._thread = every(self.tick, self.poll, until=self._stop, name="live-collector")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for feed in self.feeds.values():
            feed.close()
        self.reads.close()
