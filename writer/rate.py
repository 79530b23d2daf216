"""WRITER_RATE as a token bucket: the loop may issue a unit of ``size`` rows only when it holds that many tokens."""

from __future__ import annotations

#: The burst, in seconds of rate: a pause (an outage, a slow tick) is not made up in a rush afterwards.
BURST = 0.1


class TokenBucket:
    """Tokens flow in at ``rate`` per second, up to BURST seconds of rate (at least one unit, or none could go)."""

    def __init__(self, rate: float, tokens: float, now: float):
        self.rate, self.tokens, self.at = rate, tokens, now

    def take(self, now: float, size: int) -> bool:
        """Take ``size`` tokens if the bucket holds them at ``now``; False leaves the unit for a later tick."""
        self.tokens = min(max(float(size), self.rate * BURST), self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < size:
            return False
        self.tokens -= size
        return True
