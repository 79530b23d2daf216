"""writer.rate: WRITER_RATE's token bucket, on a clock the test moves."""

from writer.rate import TokenBucket


def test_a_unit_goes_out_only_once_its_rows_have_flowed_in():
    bucket = TokenBucket(rate=100.0, tokens=5.0, now=0.0)
    assert bucket.take(0.0, 5)  # the first unit at once
    assert not bucket.take(0.01, 5)  # 1 token so far
    assert bucket.take(0.05, 5)  # 5 tokens after 50 ms at 100 rows/s
    assert not bucket.take(0.05, 5)


def test_a_pause_is_not_made_up_in_a_rush():
    """After 10 s idle the bucket holds 100 ms of rate (10 rows), not 10 s of it."""
    bucket = TokenBucket(rate=100.0, tokens=0.0, now=0.0)
    taken = sum(bucket.take(10.0, 1) for _ in range(50))
    assert taken == 10


def test_a_unit_larger_than_the_burst_still_goes_out():
    """At 5 rows/s the burst is half a row: a unit of 4 must still be able to fill the bucket."""
    bucket = TokenBucket(rate=5.0, tokens=0.0, now=0.0)
    assert not bucket.take(0.5, 4)
    assert bucket.take(0.8, 4)
