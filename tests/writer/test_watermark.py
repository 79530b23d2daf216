"""writer.watermark: last_seq may only reach a seq whose predecessors are all acknowledged."""

import random

import pytest

from writer.watermark import Watermark


def test_in_order_acks_advance_one_by_one():
    mark = Watermark(10)
    assert [mark.ack(s, s) for s in (11, 12, 13)] == [11, 12, 13]


def test_a_hole_holds_the_watermark_until_filled():
    mark = Watermark(0)
    assert mark.ack(2, 2) == 0
    assert mark.ack(3, 5) == 0
    assert mark.pending == 2
    assert mark.ack(1, 1) == 5
    assert mark.pending == 0


def test_rewrites_below_the_watermark_change_nothing():
    mark = Watermark(100)
    assert mark.ack(50, 60) == 100
    assert mark.ack(99, 100) == 100
    assert mark.pending == 0


def test_empty_range_is_rejected():
    with pytest.raises(ValueError):
        Watermark(0).ack(5, 4)


@pytest.mark.parametrize("seed", range(20))
def test_random_completion_order_never_passes_an_unacknowledged_seq(seed):
    rng = random.Random(seed)
    units, seq = [], 0
    while seq < 2000:
        size = rng.randint(1, 9)
        units.append((seq + 1, seq + size))
        seq += size
    rng.shuffle(units)
    mark, acked = Watermark(0), set()
    for first, last in units:
        value = mark.ack(first, last)
        acked.update(range(first, last + 1))
        assert all(s in acked for s in range(1, value + 1))  # nothing at or below the watermark is missing
        assert value + 1 not in acked  # and it is as high as it can be
    assert mark.value == seq
