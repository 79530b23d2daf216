"""A driver-like fake store for the write loop's tests and figures: each write is answered on its own thread
after a delay chosen when it is handed over, the way the Cassandra driver answers a request (or gives up on it).

``latency(first_seq, last_seq)`` gives the delay in seconds, or None for "not answered until ``release()``";
``fails(first_seq, last_seq)`` (asked at the same moment) makes the answer an OperationTimedOut, as the driver reports a
request nobody answered. ``held`` counts the writes handed over and not answered yet (what a driver holds),
``peak`` its highest value: the figure the loop's bounds are about.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable


class DriverLike:
    def __init__(self, latency: Callable[[int, int], float | None],
                 fails: Callable[[int, int], bool] = lambda first, last: False, *, keep_rows: bool = True):
        self.latency, self.fails, self.keep_rows = latency, fails, keep_rows
        self.rows: set[int] = set()  # every seq acknowledged (unless keep_rows is off: a long run's memory)
        self.held = self.peak = 0
        self.last_seq_writes: list[int] = []
        self._due: list = []
        self._parked: list = []
        self._n = 0
        self._cv = threading.Condition()
        threading.Thread(target=self._complete, daemon=True).start()

    def submit_rows(self, first, last, callback, errback, *args):
        delay, failed = self.latency(first, last), self.fails(first, last)
        with self._cv:
            self.held += 1
            self.peak = max(self.peak, self.held)
            self._n += 1
            entry = (self._n, first, last, failed, callback, errback, args)
            if delay is None:
                self._parked.append(entry)
            else:
                heapq.heappush(self._due, (time.monotonic() + delay, *entry))
            self._cv.notify()

    def release(self):
        """Answer every parked write now (they landed after all)."""
        with self._cv:
            for entry in self._parked:
                heapq.heappush(self._due, (time.monotonic(), *entry))
            self._parked.clear()
            self._cv.notify()

    def submit_last_seq(self, seq, callback, errback, *args):
        self.last_seq_writes.append(seq)
        callback(None, *args)

    def write_last_seq(self, seq, timeout):
        self.last_seq_writes.append(seq)

    def _complete(self):
        while True:
            with self._cv:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._cv.wait(0.002)
                _, _, first, last, failed, callback, errback, args = heapq.heappop(self._due)
                self.held -= 1
            if failed:
                errback(TimeoutError("OperationTimedOut: no answer within the late window"), *args)
            else:
                if self.keep_rows:
                    self.rows.update(range(first, last + 1))
                callback(None, *args)
