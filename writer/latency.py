"""Observed write latency, and what follows it: a speculative-execution policy, the loop's per-attempt timeout,
and which coordinators are sick (answering nothing while the others answer).

A fixed speculative delay is wrong both ways: on a fast local cluster 0.5 s waits far too long for a dead
coordinator, and on a slow one a short delay doubles every request. Sending the second attempt after about
the p99 of recent writes duplicates roughly one request in a hundred and rescues the slow tail.

A gray failure (a JVM frozen in a pause, a node container frozen, a lossy link) leaves a coordinator that
accepts requests and answers none, while the driver still counts it up: its connections stay open, and it
ignores the ring's DOWN events while they do. Measured on three real nodes with one ``docker pause``d, the
driver's own speculative attempt did not rescue those requests (every write whose first attempt went to the
frozen node waited until it was thawed, its second attempt to a live node included), so the writer waited out
its own 5 s timeout for each, and the acknowledged prefix stood still that long. Two things bound that here:
``HostWatch`` notices a coordinator with a request unanswered for longer than the attempt timeout, and
``AvoidSickHosts`` puts it last in every query plan until it answers again; and the loop re-sends a write
after ``attempt_timeout`` (a small multiple of the p99, capped by WRITER_REQUEST_TIMEOUT) instead of after
the cap itself, its first attempt still alive for the late window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from cassandra.policies import (
    LoadBalancingPolicy,
    SpeculativeExecutionPlan,
    SpeculativeExecutionPolicy,
    WrapperPolicy,
)

#: The per-attempt timeout is this many p99s of recent writes: a re-send costs about one write in a hundred
#: on a healthy cluster, and a write stuck on a frozen coordinator is re-sent well within a second.
ATTEMPT_FACTOR = 1.5
#: Its floor: below it a loaded laptop's scheduling jitter alone would re-send writes.
ATTEMPT_MIN = 0.2
#: Seconds a coordinator that was sick stays last in the plans after it answers again.
PROBATION_S = 5.0


class LatencyTracker:
    """The last ``size`` latencies in a ring; ``p99`` recomputed every ``every`` observations (a sort of
    ``size`` floats, so its cost per write stays tiny)."""

    def __init__(self, size: int = 1000, every: int = 100, initial: float = 0.5):
        self._ring: list[float] = []
        self._size, self._every = size, every
        self._next = 0
        self._count = 0
        self._lock = threading.Lock()
        self.p99 = initial  # until enough writes are seen

    def observe(self, seconds: float) -> None:
        with self._lock:
            if len(self._ring) < self._size:
                self._ring.append(seconds)
            else:
                self._ring[self._next] = seconds
                self._next = (self._next + 1) % self._size
            self._count += 1
            if self._count % self._every == 0:
                ordered = sorted(self._ring)
                self.p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class AdaptiveSpeculativePolicy(SpeculativeExecutionPolicy):
    """One speculative attempt after the tracker's p99, clamped to [low, high]."""

    def __init__(self, tracker: LatencyTracker, *, low: float, high: float, max_attempts: int = 1):
        self.tracker, self.low, self.high, self.max_attempts = tracker, low, max(low, high), max_attempts

    @property
    def delay(self) -> float:
        return min(self.high, max(self.low, self.tracker.p99))

    def new_plan(self, keyspace: str | None, statement: Any) -> _Plan:
        return _Plan(self.delay, self.max_attempts)


class _Plan(SpeculativeExecutionPlan):
    def __init__(self, delay: float, attempts: int):
        self.delay, self.remaining = delay, attempts

    def next_execution(self, host: Any) -> float:
        if self.remaining <= 0:
            return -1
        self.remaining -= 1
        return self.delay


def attempt_timeout(tracker: LatencyTracker, cap: float) -> float:
    """How long the loop waits for one attempt of a write before re-sending it: ATTEMPT_FACTOR x p99, at least
    ATTEMPT_MIN, at most ``cap`` (WRITER_REQUEST_TIMEOUT)."""
    return min(cap, max(ATTEMPT_MIN, ATTEMPT_FACTOR * tracker.p99))


class HostWatch:
    """Which coordinators have been sent requests and answered none of them for longer than ``after()`` seconds.

    ``sent(host)`` when a request's first attempt goes to ``host``; ``answered(host)`` when a request completes
    with ``host`` as its coordinator (a result or an error from the server: both are answers). A write the
    driver completed through another coordinator (its speculative attempt) is no answer from the first one:
    that is how a frozen node looks, most of its requests rescued and itself silent. Once thawed it answers
    the requests it held (the driver hands those late answers to our callbacks too), and is healthy again.
    """

    def __init__(self, after: Callable[[], float], clock: Callable[[], float] = time.monotonic):
        self.after, self.clock = after, clock
        self._waiting: dict[object, float] = {}  # host -> first request sent since its last answer
        self._probation: dict[object, float] = {}  # host -> until when a host that was sick still counts as sick
        self._lock = threading.Lock()

    def sent(self, host: object) -> None:
        with self._lock:
            self._waiting.setdefault(host, self.clock())

    def answered(self, host: object) -> None:
        if host is None:  # a client-side timeout: nobody answered
            return
        now = self.clock()
        with self._lock:
            since = self._waiting.pop(host, None)
            if since is not None and since < now - self.after():
                # Its first answers after a freeze are the requests it held; catching up (hints, gossip, a heap
                # full of them) it stays slow a while, and the writer measured its longest stall right then.
                self._probation[host] = now + PROBATION_S

    def forget(self, host: object) -> None:
        """The driver saw ``host`` come up (again): whatever it held died with its old connections."""
        with self._lock:
            self._waiting.pop(host, None)
            self._probation.pop(host, None)

    def sick(self) -> set[object]:
        """Hosts waited on for longer than ``after()`` with no answer, or that were so less than
        PROBATION_S ago."""
        now = self.clock()
        limit = now - self.after()
        with self._lock:
            for host in [h for h, until in self._probation.items() if until <= now]:
                del self._probation[host]
            return {host for host, since in self._waiting.items() if since < limit} | set(self._probation)


class AvoidSickHosts(WrapperPolicy):
    """The child policy's query plan with the hosts ``watch`` finds sick moved to its end: a frozen coordinator
    gets no first attempt (nor a speculative one) while a live replica is left, and is tried again as soon as it
    answers. When every host is sick (the whole cluster slow) the plan is the child's, unchanged."""

    def __init__(self, child_policy: LoadBalancingPolicy, watch: HostWatch):
        super().__init__(child_policy)
        self.watch = watch

    def check_supported(self) -> None:
        self._child_policy.check_supported()

    # A sick host gets no first attempt, so no chance to answer: one that went down (its connections reset, its
    # requests failed by the driver, not answered) is healthy again only through these.
    def on_up(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        self.watch.forget(host)
        return self._child_policy.on_up(host, *args, **kwargs)

    def on_add(self, host: Any, *args: Any, **kwargs: Any) -> Any:
        self.watch.forget(host)
        return self._child_policy.on_add(host, *args, **kwargs)

    def make_query_plan(self, working_keyspace: str | None = None, query: Any = None) -> list[Any]:
        plan = list(self._child_policy.make_query_plan(working_keyspace, query))
        sick = self.watch.sick()
        if not sick:
            return plan
        return [h for h in plan if h not in sick] + [h for h in plan if h in sick]

