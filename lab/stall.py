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


def covers(advances: list[list[float]] | list[tuple[float, int]], start: float) -> bool:
    """Whether a writer's record of its advances (/acks) knows its level at ``start``: an advance at or before it.
    A writer that started after ``start`` (a restarted process), or whose bounded record no longer reaches back
    that far, does not; its record cannot say what happened before its first advance."""
    return any(t <= start for t, _ in advances)


def ack_samples(advances: list[list[float]] | list[tuple[float, int]], *, start: float, end: float) -> list[Sample]:
    """Every advance of a writer's acknowledged prefix within [start, end], as (time, seq) samples that
    ``longest_stall`` reads exactly: the level at ``start`` (the last advance before it), each advance, and the
    level at ``end``. A stall is then the time between two advances, to the writer's clock's resolution, not a
    sampling interval's."""
    before = [int(seq) for t, seq in advances if t <= start]
    within = [(float(t), int(seq)) for t, seq in advances if start < t <= end]
    points: list[Sample] = [(start, before[-1])] if before else []
    points += within
    if points:
        points.append((end, points[-1][1]))
    return points
