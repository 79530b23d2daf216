"""Observed write latency, and a speculative-execution policy whose delay follows it.

A fixed speculative delay is wrong both ways: on a fast local cluster 0.5 s waits far too long for a dead
coordinator, and on a slow one a short delay doubles every request. Sending the second attempt after about
the p99 of recent writes duplicates roughly one request in a hundred and rescues the slow tail.
"""

from __future__ import annotations

import threading

from cassandra.policies import SpeculativeExecutionPlan, SpeculativeExecutionPolicy


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

    def new_plan(self, keyspace, statement):
        return _Plan(self.delay, self.max_attempts)


class _Plan(SpeculativeExecutionPlan):
    def __init__(self, delay: float, attempts: int):
        self.delay, self.remaining = delay, attempts

    def next_execution(self, host):
        if self.remaining <= 0:
            return -1
        self.remaining -= 1
        return self.delay
