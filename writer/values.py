"""The value written with each seq: a pure function of (topic, seq), so every write of a seq is the same row.

A re-send after a timeout, a re-write after a restart, or another pod resuming the topic writes exactly the
value that may already be acknowledged: an upsert that changes nothing. And anyone can check what Cassandra
stored without asking the writer (``invoke verify`` compares values, not only presence).

The value is a multiple of 2**-20 in [0, 1): a sum of up to 2**33 of them is exact in a double whatever the
order of the additions, so a range's ``sum(value)`` computed by Cassandra equals the sum computed locally,
bit for bit, and any changed value shows.
"""

from __future__ import annotations

import hashlib

#: Bits of the hash kept in a value; values are multiples of 2**-BITS.
BITS = 20
RESOLUTION = 2.0 ** -BITS


def value_units(topic: str, seq: int) -> int:
    """The value of ``seq`` in ``topic`` as an integer count of RESOLUTION (0 <= units < 2**BITS)."""
    digest = hashlib.blake2b(f"{topic}\x00{seq}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - BITS)


def value_for(topic: str, seq: int) -> float:
    """The value written for ``seq`` of ``topic``: in [0, 1), exact in a double, the same on every call."""
    return value_units(topic, seq) * RESOLUTION


def sum_units(topic: str, first: int, last: int) -> int:
    """The sum of the values of seqs first..last (inclusive), in units of RESOLUTION."""
    return sum(value_units(topic, seq) for seq in range(first, last + 1))
