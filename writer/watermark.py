"""The contiguous watermark: the highest seq such that it and every seq below it are acknowledged.

Writes complete out of order (many are in flight, some are retried), so `last_seq` may only be set to the
watermark, never to the highest acknowledged seq: after a SIGKILL the next writer resumes at watermark+1
and re-writes (a harmless upsert) whatever had landed above it, so no gap can appear.
"""

from __future__ import annotations


class Watermark:
    """Tracks acknowledged ranges of seqs above ``value`` until they join up with it.

    ``ack(first, last)`` marks the closed range [first, last] as written. Ranges are the units the writer
    issues (one row or one batch), so they never overlap; the pending map holds at most one entry per
    unit in flight, and each ack is O(1) amortised.
    """

    def __init__(self, start: int):
        self.value = start
        self._pending: dict[int, int] = {}  # first seq of an acknowledged range -> its last seq

    def ack(self, first: int, last: int) -> int:
        """Record [first, last] as acknowledged and return the (possibly advanced) watermark."""
        if last < first:
            raise ValueError(f"empty range [{first}, {last}]")
        if last <= self.value:  # a re-write of rows already below the watermark
            return self.value
        if first > self.value + 1:
            self._pending[first] = max(last, self._pending.get(first, last))
            return self.value
        self.value = last
        while (nxt := self._pending.pop(self.value + 1, None)) is not None:
            self.value = max(self.value, nxt)
        return self.value

    def covers(self, first: int, last: int) -> bool:
        """Whether [first, last] is already acknowledged (a late answer for it must not be counted twice)."""
        return last <= self.value or self._pending.get(first, first - 1) >= last

    @property
    def pending(self) -> int:
        """How many acknowledged ranges wait above a hole (a slow or failed write below them)."""
        return len(self._pending)
