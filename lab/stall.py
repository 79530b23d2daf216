"""The writer's longest stall in (time, seq) progress samples: pure arithmetic.

A leaf module on purpose: chaos rounds (lab.chaos) record the stall and their pictures (lab.plot) shade
it, and neither should have to import the other to agree on what a stall is.
"""

from __future__ import annotations

from dataclasses import dataclass

#: One progress reading: (epoch seconds, seq), seq None when the read failed.
Sample = tuple[float, "int | None"]


@dataclass(frozen=True)
class Stall:
    """The longest time the writer's progress stood still: from ``start`` (first sample at ``seq``) to
    ``end`` (first sample past it); ``open`` when it had not moved again by the last sample."""

    seconds: float
    start: float
    end: float
    seq: int
    open: bool = False


def longest_stall(samples: list[Sample]) -> Stall | None:
    """Longest plateau in (time, seq) samples; failed reads (seq None) neither start nor end one.

    Resolution is the sampling interval: a writer that never stops shows stalls of about one interval.
    """
    points = sorted((t, s) for t, s in samples if s is not None)
    if len(points) < 2:
        return None
    best: Stall | None = None
    since, level = points[0]
    for t, seq in points[1:]:
        if seq > level:
            if best is None or t - since > best.seconds:
                best = Stall(t - since, since, t, level)
            since, level = t, seq
    last_t = points[-1][0]
    if last_t > since and (best is None or last_t - since > best.seconds):
        best = Stall(last_t - since, since, last_t, level, open=True)
    return best
