"""The acknowledgement record: when each advance of the contiguous watermark happened, in a bounded ring.

The lab measures a stall as the longest time with no acknowledged progress. Sampling ``/metrics`` every half
second cannot resolve that below its own period, and a row's WRITETIME is when the write was *sent*, not when
it was acknowledged. So the writer keeps the wall-clock time (``time.time()``, comparable with the lab's
clock) of every advance, and serves them on ``GET /acks`` (writer.http).

Compact: two flat arrays (8 bytes of time and 8 of seq per advance), filled up to CAPACITY and then
overwritten oldest first. At the lab's pace (20 writes a second) that is hours; uncapped, minutes.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from array import array
from collections.abc import Callable
from typing import Any

#: Advances kept (16 bytes each: 3.2 MB when full).
CAPACITY = 200_000


class AckLog:
    """Thread-safe ring of (wall-clock time, watermark) pairs, appended in time order by ``record``."""

    def __init__(self, topic: str, capacity: int = CAPACITY, *, clock: Callable[[], float] = time.time):
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.topic, self.capacity, self.clock = topic, capacity, clock
        self._times = array("d")
        self._seqs = array("q")
        self._head = 0  # index of the oldest entry once the ring is full
        self._lock = threading.Lock()

    def record(self, seq: int, at: float | None = None) -> None:
        """The watermark reached ``seq`` at ``at`` (now when not given). Times never go backwards in the
        ring: a wall clock stepped back is recorded at the last time seen, so the order stays searchable."""
        at = self.clock() if at is None else at
        with self._lock:
            if self._times:
                at = max(at, self._times[self._head - 1])
            if len(self._times) < self.capacity:
                self._times.append(at)
                self._seqs.append(seq)
            else:
                self._times[self._head], self._seqs[self._head] = at, seq
                self._head = (self._head + 1) % self.capacity

    def __len__(self) -> int:
        return len(self._times)

    def advances(self, since: float | None = None) -> list[list[float]]:
        """[[t, seq], ...] in time order: every entry with t >= since, preceded by the last one before
        ``since`` if any (the level at ``since``); everything kept when ``since`` is None."""
        with self._lock:
            times = self._times[self._head:] + self._times[:self._head]
            seqs = self._seqs[self._head:] + self._seqs[:self._head]
        start = 0 if since is None else max(0, bisect.bisect_left(times, since) - 1)
        return [[t, s] for t, s in zip(times[start:], seqs[start:], strict=True)]

    def snapshot(self, since: float | None = None) -> dict[str, Any]:
        """The body of ``GET /acks``: topic, now, capacity, oldest (time of the oldest entry kept or None)."""
        if since is not None and not math.isfinite(since):
            raise ValueError(f"since must be a finite number of epoch seconds, got {since}")
        now = self.clock()
        advances = self.advances(since)
        with self._lock:
            oldest = self._times[self._head] if self._times else None
        return {"topic": self.topic, "now": now, "capacity": self.capacity, "oldest": oldest,
                "advances": advances}
