"""writer.loop with a fake store: ordering, retries, outages, stop and rate, without Cassandra.

The fake completes writes on its own thread in random order (as the driver's event loop does), so the
watermark logic is exercised under real concurrency. The Cassandra-backed evidence is in the slow tests.
"""

import itertools
import logging
import queue
import random
import threading
import time

import pytest

from writer.config import Config
from writer.loop import WriteLoop, backoff_delay


class FakeStore:
    """Rows land in ``rows``; ``fail(seq)`` decides whether a write of a unit containing seq fails."""

    def __init__(self, fail=lambda seq: False, delay=0.002, start=0):
        self.rows: set[int] = set(range(1, start + 1))  # what earlier runs wrote
        self.last_seq_writes: list[int] = []
        self.fail = fail
        self.delay = delay
        self.violations: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        self._rng = random.Random(7)
        self._lock = threading.Lock()
        threading.Thread(target=self._complete, daemon=True).start()

    def submit_rows(self, first, last, callback, errback, *args):
        self._queue.put((self._rng.random() * self.delay, first, last, callback, errback, args))

    def submit_last_seq(self, seq, callback, errback, *args):
        self._record_last_seq(seq)
        callback(None, *args)

    def write_last_seq(self, seq, timeout):
        self._record_last_seq(seq)

    def _record_last_seq(self, seq):
        with self._lock:
            missing = [s for s in range(1, seq + 1) if s not in self.rows]
        if missing:
            self.violations.append(f"last_seq={seq} stored while {missing[:5]} missing")
        self.last_seq_writes.append(seq)

    def _complete(self):
        while True:
            batch = [self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get())
            random.Random(len(batch)).shuffle(batch)  # completions arrive out of order
            for delay, first, last, callback, errback, args in batch:
                time.sleep(delay / len(batch))
                if any(self.fail(s) for s in range(first, last + 1)):
                    errback(RuntimeError(f"injected failure at {first}"), *args)
                    continue
                with self._lock:
                    self.rows.update(range(first, last + 1))
                callback(None, *args)


def config(**kw):
    base = dict(topic="t", max_seqs=2000, in_flight=16, batch_size=4, http_port=None,
                checkpoint_interval=0.005, stop_timeout=2.0, max_backoff=0.05)
    return Config(**{**base, **kw})


def test_writes_every_seq_once_and_stores_the_end():
    store = FakeStore(start=100)
    loop = WriteLoop(store, config(), start=100)
    assert loop.run() == 2100
    assert store.rows == set(range(1, 2101))
    assert store.last_seq_writes[-1] == 2100 and loop.stored == 2100
    assert store.violations == []
    assert store.last_seq_writes == sorted(store.last_seq_writes)  # last_seq never moves backwards


def test_failed_seqs_are_retried_never_skipped(caplog):
    attempts = {}

    def flaky(seq):  # every 97th seq fails twice before it lands
        if seq % 97:
            return False
        attempts[seq] = attempts.get(seq, 0) + 1
        return attempts[seq] <= 2

    store = FakeStore(fail=flaky)
    with caplog.at_level(logging.WARNING, logger="writer"):
        loop = WriteLoop(store, config(max_seqs=1000), start=0)
        assert loop.run() == 1000
    assert store.rows == set(range(1, 1001))
    assert store.violations == []
    assert loop.retries >= 2 * 10 and loop.errors["RuntimeError"] == loop.retries
    # each failure either opened an outage or, with later writes already acknowledged, was re-sent at once
    assert "holding new writes, retrying with backoff" in caplog.text or "re-sent at once" in caplog.text


class OneSlowFailure:
    """Writes land at once, on the caller's thread, except the unit holding ``seq``: its first attempt fails
    ``after`` seconds later (a coordinator that left with it), while the writes issued after it succeed."""

    def __init__(self, seq: int, after: float = 0.05):
        self.rows: set[int] = set()
        self.seq, self.after, self.failed = seq, after, False
        self.last_seq_writes: list[int] = []

    def submit_rows(self, first, last, callback, errback, *args):
        if first <= self.seq <= last and not self.failed:
            self.failed = True
            threading.Timer(self.after, errback, (RuntimeError("coordinator left"), *args)).start()
            return
        self.rows.update(range(first, last + 1))
        callback(None, *args)

    def submit_last_seq(self, seq, callback, errback, *args):
        self.last_seq_writes.append(seq)
        callback(None, *args)

    def write_last_seq(self, seq, timeout):
        self.last_seq_writes.append(seq)


def test_a_failure_while_later_writes_succeed_is_re_sent_at_once_without_holding_writes(caplog):
    store = OneSlowFailure(seq=40)
    with caplog.at_level(logging.WARNING, logger="writer"):
        loop = WriteLoop(store, config(max_seqs=3000, rate=20000.0), start=0)
        assert loop.run() == 3000
    assert store.rows == set(range(1, 3001))
    assert (loop.isolated_failures, loop.retries, loop.outages) == (1, 1, 0)
    assert "write of seq 37 failed (RuntimeError: coordinator left); re-sent at once" in caplog.text
    assert "holding new writes" not in caplog.text
    assert store.last_seq_writes[-1] == 3000


def test_a_failure_with_nothing_acknowledged_after_it_opens_an_outage(caplog):
    store = OneSlowFailure(seq=2, after=0.0)  # fails before any later write could be acknowledged
    with caplog.at_level(logging.WARNING, logger="writer"):
        loop = WriteLoop(store, config(max_seqs=40, in_flight=1), start=0)
        assert loop.run() == 40
    assert store.rows == set(range(1, 41))
    assert (loop.isolated_failures, loop.outages) == (0, 1)
    assert "holding new writes, retrying with backoff" in caplog.text


def test_an_outage_holds_writes_then_resumes_without_a_gap(caplog):
    down_until = time.monotonic() + 0.6
    store = FakeStore(fail=lambda seq: seq > 300 and time.monotonic() < down_until)
    with caplog.at_level(logging.WARNING, logger="writer"):
        loop = WriteLoop(store, config(max_seqs=600, max_backoff=0.1), start=0)
        assert loop.run() == 600
    assert store.rows == set(range(1, 601)) and store.violations == []
    assert loop.outages >= 1 and loop.outage_seconds >= 0.4
    over = [r.getMessage() for r in caplog.records if "outage over" in r.getMessage()]
    assert over, caplog.text
    # Only the lowest failed unit probes during the outage: retries stay near (duration / backoff), not
    # in_flight times that.
    assert loop.retries < 16 + 0.6 / 0.025 + 5


def test_stop_drains_and_stores_the_watermark():
    store = FakeStore(delay=0.02)
    loop = WriteLoop(store, config(max_seqs=None), start=0)
    threading.Timer(0.3, loop.request_stop).start()
    last = loop.run()
    assert last > 0 and loop.in_flight == 0
    assert loop.stored == last and store.last_seq_writes[-1] == last
    assert set(range(1, last + 1)) <= store.rows and store.violations == []


def test_rate_cap_is_honoured():
    store = FakeStore()
    started = time.monotonic()
    loop = WriteLoop(store, config(max_seqs=100, rate=250.0), start=0)
    assert loop.run() == 100
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 2.0, elapsed


class UnitSizes(FakeStore):
    """Records how many rows each write carried."""

    def __init__(self):
        super().__init__()
        self.sizes: list[int] = []

    def submit_rows(self, first, last, callback, errback, *args):
        self.sizes.append(last - first + 1)
        super().submit_rows(first, last, callback, errback, *args)


@pytest.mark.parametrize("rate, batch_size, rows_per_write", [
    (200.0, 32, 10),  # the lab's pace: 20 writes/s of 10 rows, not 50 of 4
    (10.0, 32, 1),  # below 20 seqs/s every seq is its own write
    (2000.0, 32, 32),  # WRITER_BATCH_SIZE still caps a batch
    (None, 8, 8),  # no rate: full batches
])
def test_a_rate_capped_writer_sends_one_batch_per_50_ms(rate, batch_size, rows_per_write):
    store = UnitSizes()
    loop = WriteLoop(store, config(max_seqs=rows_per_write * 6, rate=rate, batch_size=batch_size), start=0)
    assert loop.run() == rows_per_write * 6
    assert store.sizes == [rows_per_write] * 6


def test_max_seqs_zero_writes_nothing():
    store = FakeStore(start=5)
    assert WriteLoop(store, config(max_seqs=0), start=5).run() == 5
    assert store.rows == set(range(1, 6)) and store.last_seq_writes == []


@pytest.mark.parametrize("attempt, low, high", [(0, 0.25, 0.5), (1, 0.5, 1.0), (3, 1.0, 2.0), (50, 1.0, 2.0)])
def test_backoff_doubles_up_to_the_cap_with_jitter(attempt, low, high):
    assert backoff_delay(attempt, first=0.5, cap=2.0, rand=lambda: 0.0) == pytest.approx(low)
    assert backoff_delay(attempt, first=0.5, cap=2.0, rand=lambda: 1.0) == pytest.approx(high)


class TwiceCompletingStore(FakeStore):
    """Completes every write twice, the second time with an error: what the driver's speculative execution
    can do (ResponseFuture._set_final_result has no guard against a second completion)."""

    def _complete(self):
        while True:
            delay, first, last, callback, errback, args = self._queue.get()
            with self._lock:
                self.rows.update(range(first, last + 1))
            callback(None, *args)
            errback(RuntimeError("late failure of the first attempt"), *args)


def test_a_second_completion_of_the_same_write_is_ignored():
    store = TwiceCompletingStore()
    loop = WriteLoop(store, config(max_seqs=1000), start=0)
    assert loop.run() == 1000
    assert loop.in_flight == 0 and loop.retries == 0 and loop.outages == 0
    assert loop.rows_written == 1000 and store.violations == []


# ---- issue 11: late successes, permanent errors, the end of the int range, rebuild and health -------------


class LatencyStore:
    """Every write lands after exactly ``latency`` seconds (completions from a timer thread, in due order),
    whatever the loop's request timeout: what a cluster slower than WRITER_REQUEST_TIMEOUT looks like."""

    def __init__(self, latency, start=0):
        import heapq

        self.heapq, self.latency = heapq, latency
        self.rows: set[int] = set(range(1, start + 1))
        self.last_seq_writes: list[int] = []
        self.violations: list[str] = []
        self._due: list = []
        self._n = 0
        self._cv = threading.Condition()
        threading.Thread(target=self._complete, daemon=True).start()

    def submit_rows(self, first, last, callback, errback, *args):
        with self._cv:
            self._n += 1
            self.heapq.heappush(self._due, (time.monotonic() + self.latency, self._n, first, last, callback, args))
            self._cv.notify()

    def submit_last_seq(self, seq, callback, errback, *args):
        self.write_last_seq(seq, None)
        callback(None, *args)

    def write_last_seq(self, seq, timeout):
        missing = [s for s in range(1, seq + 1) if s not in self.rows]
        if missing:
            self.violations.append(f"last_seq={seq} stored while {missing[:5]} missing")
        self.last_seq_writes.append(seq)

    def _complete(self):
        while True:
            with self._cv:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._cv.wait(0.002)
                _, _, first, last, callback, args = self.heapq.heappop(self._due)
            self.rows.update(range(first, last + 1))
            callback(None, *args)


def test_a_request_timeout_shorter_than_the_latency_does_not_livelock():
    # Every write answers after 60 ms but the loop stops waiting after 20 ms: every write "fails" and is
    # re-sent, and every one lands. Counting the late answers is what lets the watermark move at all.
    store = LatencyStore(0.06)
    loop = WriteLoop(store, config(max_seqs=2000, request_timeout=0.02, max_backoff=0.05), start=0)
    began = time.monotonic()
    assert loop.run() == 2000
    assert time.monotonic() - began < 20
    assert loop.late_acks > 0 and loop.errors["NoAnswer"] > 0
    assert store.rows >= set(range(1, 2001)) and store.violations == []
    assert loop.rows_written == 2000  # each seq counted once, though many were written twice


def test_a_write_is_re_sent_after_the_attempt_timeout_not_the_request_timeout():
    # A store whose first attempt of seq 1 never answers (a frozen coordinator); the loop's attempt timeout
    # (what writer.latency derives from the p99) re-sends it long before WRITER_REQUEST_TIMEOUT.
    class OneStuck(LatencyStore):
        def submit_rows(self, first, last, callback, errback, *args):
            if first == 1 and not self.stuck:
                self.stuck = True
                return
            super().submit_rows(first, last, callback, errback, *args)

    store = OneStuck(0.001)
    store.stuck = False
    loop = WriteLoop(store, config(max_seqs=50, request_timeout=30), start=0, attempt_timeout=lambda: 0.05)
    began = time.monotonic()
    assert loop.run() == 50
    assert time.monotonic() - began < 10  # not the 30 s of the request timeout
    assert loop.errors["NoAnswer"] == 1 and store.rows >= set(range(1, 51))


class FailThenLateSuccessStore(FakeStore):
    """Reports a failure first, then the success of the same write: a speculative attempt that failed before
    the other one landed. The rows are there, so they count."""

    def _complete(self):
        while True:
            delay, first, last, callback, errback, args = self._queue.get()
            with self._lock:
                self.rows.update(range(first, last + 1))
            errback(RuntimeError("the first attempt failed"), *args)
            callback(None, *args)


def test_a_success_after_a_failure_of_the_same_write_counts_once():
    store = FailThenLateSuccessStore()
    loop = WriteLoop(store, config(max_seqs=1000), start=0)
    assert loop.run() == 1000
    assert loop.late_acks > 0 and loop.in_flight == 0
    assert loop.rows_written == 1000 and store.violations == []


class PermanentStore(FakeStore):
    def _complete(self):
        from cassandra import InvalidRequest

        while True:
            delay, first, last, callback, errback, args = self._queue.get()
            if last > 100:
                errback(InvalidRequest("Error from server: code=2200 [Invalid query] message=\"no\""), *args)
                continue
            with self._lock:
                self.rows.update(range(first, last + 1))
            callback(None, *args)


def test_a_permanent_error_stops_the_loop_with_one_line_instead_of_retrying():
    store = PermanentStore()
    loop = WriteLoop(store, config(max_seqs=None, in_flight=4), start=0)
    began = time.monotonic()
    last = loop.run()
    assert time.monotonic() - began < 5
    assert loop.fatal.startswith("writer: Cassandra refused a request as invalid") and "\n" not in loop.fatal
    assert "InvalidRequest" in loop.fatal and "while writing seq" in loop.fatal
    assert last <= 100 and loop.retries == 0 and store.violations == []
    assert loop.stored == last  # the watermark reached is still stored


def test_the_topic_ends_at_the_largest_int_seq():
    from writer.config import MAX_SEQ

    class TopStore(FakeStore):  # checks last_seq against the rows above the start only (not 2**31 of them)
        def _record_last_seq(self, seq):
            if not set(range(MAX_SEQ - 99, seq + 1)) <= self.rows:
                self.violations.append(f"last_seq={seq} ahead of the rows")
            self.last_seq_writes.append(seq)

    store = TopStore()
    loop = WriteLoop(store, config(max_seqs=None, batch_size=7), start=MAX_SEQ - 100)
    assert loop.run() == MAX_SEQ
    assert loop.topic_full and loop.stored == MAX_SEQ
    assert max(store.rows) == MAX_SEQ and len(store.rows) == 100 and store.violations == []


class RebuildStore(FakeStore):
    """Writes fail (the old addresses) until ``rebuild`` is called; ``fixes`` says if a rebuild helps."""

    def __init__(self, fixes=True, **kw):
        self.rebuilt = 0
        self.fixes = fixes
        super().__init__(fail=lambda seq: seq > 200 and not (self.fixes and self.rebuilt), **kw)

    def rebuild(self):
        self.rebuilt += 1
        return "cassandra-service -> 10.0.0.7"


def test_a_long_outage_re_resolves_and_rebuilds_the_session_then_resumes(caplog):
    store = RebuildStore()
    with caplog.at_level(logging.WARNING, logger="writer"):
        loop = WriteLoop(store, config(max_seqs=600, resolve_after=0.4, unhealthy_after=5), start=0)
        assert loop.run() == 600
    assert store.rebuilt == 1 and loop.rebuilds == 1
    assert store.rows == set(range(1, 601)) and store.violations == []
    assert "re-resolving the seeds and rebuilding the session" in caplog.text
    assert "session rebuilt (seeds cassandra-service -> 10.0.0.7)" in caplog.text
    assert loop.health() == (True, "ok")


def test_health_turns_red_when_a_rebuild_does_not_restore_progress(caplog):
    store = RebuildStore(fixes=False)
    with caplog.at_level(logging.WARNING, logger="writer"):
        loop = WriteLoop(store, config(max_seqs=None, resolve_after=0.3, unhealthy_after=0.5), start=0)
        states = []
        threading.Thread(target=lambda: [states.append(loop.health()) or time.sleep(0.05) for _ in range(40)]
                         + [loop.request_stop()], daemon=True).start()
        loop.run()
    assert states[0] == (True, "ok")
    ok, reason = states[-1]
    assert not ok and "no write succeeded for" in reason and "rebuilding the session, first tried" in reason
    assert "waiting at seq 201" in reason and "injected failure" in reason
    assert store.rebuilt >= 2  # retried while no progress
    assert "/healthz now reports unhealthy" in caplog.text


def test_health_stays_green_while_cassandra_answers_that_replicas_are_missing():
    """All pods deleted: the StatefulSet brings them back one by one, and until two are up the coordinator
    answers Unavailable. That is an outage, not a wedge: no restart of the writer could shorten it."""
    from cassandra import ConsistencyLevel, Unavailable

    class UnavailableStore(RebuildStore):
        def __init__(self):
            super().__init__(fixes=False)
            self.answered = 0

        def _complete(self):  # every failure is the coordinator's answer, as from a live node
            while True:
                delay, first, last, callback, errback, args = self._queue.get()
                time.sleep(delay)
                if any(self.fail(s) for s in range(first, last + 1)):
                    self.answered += 1
                    errback(Unavailable("Cannot achieve consistency level QUORUM",
                                        consistency=ConsistencyLevel.QUORUM, required_replicas=2,
                                        alive_replicas=1), *args)
                    continue
                with self._lock:
                    self.rows.update(range(first, last + 1))
                callback(None, *args)

    store = UnavailableStore()
    loop = WriteLoop(store, config(max_seqs=None, resolve_after=0.2, unhealthy_after=0.4), start=0)
    states = []
    threading.Thread(target=lambda: [states.append(loop.health()) or time.sleep(0.05) for _ in range(40)]
                     + [loop.request_stop()], daemon=True).start()
    loop.run()
    assert store.rebuilt >= 1 and store.answered > 5
    assert loop.outage_since is not None, "the outage should still be open when the loop stopped"
    assert all(state == (True, "ok") for state in states), [s for s in states if not s[0]][:1]


# ---- issue 31: back within seconds when every node returns at a new address ------------------------------


class MovingStore(RebuildStore):
    """Writes fail until a rebuild; ``moved`` (the store's DNS check) reports new addresses from ``moves_at``
    on. WRITER_RESOLVE_AFTER is far away, so only the check every RESOLVE_EVERY seconds can bring it back."""

    def __init__(self, moves_at: float):
        super().__init__()
        self.moves_at = moves_at
        self.checks: list[float] = []
        self.rebuilt_at: float | None = None

    def moved(self):
        now = time.monotonic()
        self.checks.append(now)
        return "cassandra-service -> 10.0.0.7" if now >= self.moves_at else None

    def rebuild(self):
        self.rebuilt_at = time.monotonic()
        return super().rebuild()


def test_new_addresses_found_by_the_dns_check_rebuild_the_session_within_seconds(caplog):
    from writer.loop import RESOLVE_EVERY

    began = time.monotonic()
    store = MovingStore(moves_at=began + 2.5)
    with caplog.at_level(logging.WARNING, logger="writer"):
        loop = WriteLoop(store, config(max_seqs=600, resolve_after=60, unhealthy_after=120), start=0)
        assert loop.run() == 600
    assert store.rebuilt == 1 and loop.rebuilds == 1
    assert store.rebuilt_at - store.moves_at <= RESOLVE_EVERY + 0.5, "the rebuild waited for more than one check"
    assert len(store.checks) >= 2 and store.checks[0] < store.moves_at  # checked before, and no rebuild then
    assert all(b - a >= RESOLVE_EVERY - 0.05 for a, b in itertools.pairwise(store.checks))  # not a busy loop
    assert "the seeds now resolve to new addresses (cassandra-service -> 10.0.0.7); rebuilding" in caplog.text
    assert store.rows == set(range(1, 601)) and store.violations == []


def test_a_rebuild_that_ends_after_its_outage_does_not_leave_the_next_outage_without_timers():
    """CI, 2026-12-07: a rebuild that failed just as its outage ended set the rebuild timer again; the next
    outage found it set, kept the DNS check's timer unset and the loop died comparing with None. Each outage
    now has its own timers (writer.outage), and the rebuild thread moves only those of the outage it began in."""
    from writer.loop import RESOLVE_EVERY

    class SlowFailingRebuild:
        def __init__(self):
            self.started, self.release = threading.Event(), threading.Event()

        def rebuild(self):
            self.started.set()
            assert self.release.wait(10)
            raise ConnectionError("no node answers yet")

    now = [10.0]
    store = SlowFailingRebuild()
    loop = WriteLoop(store, config(max_seqs=None, resolve_after=9), start=0, clock=lambda: now[0])
    with loop._lock:
        loop._begin_outage_locked(10.0)
    first = loop._outage
    now[0] = 19.0
    loop._recover(19.0)  # WRITER_RESOLVE_AFTER passed: a rebuild starts on its own thread
    assert store.started.wait(10)
    with loop._lock:
        loop._end_outage_locked(19.5, log_it=False)  # a write succeeded: the outage is over
    loop._recover(19.6)
    with loop._lock:
        loop._begin_outage_locked(20.0)  # the next outage, while the old rebuild is still out
    now[0] = 21.0
    store.release.set()  # the rebuild fails now and schedules its retry
    deadline = time.monotonic() + 10
    while loop._rebuilding and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not loop._rebuilding
    assert (first.rebuild_first, first.rebuild_next) == (19.0, 21.0 + 5)  # the retry went to its own outage
    loop._recover(21.0)  # raised TypeError before
    second = loop._outage
    assert second is not first
    assert (second.rebuild_next, second.resolve_next, second.rebuild_first) == (20.0 + 9, 20.0 + RESOLVE_EVERY, None)
    assert loop.health(40.0) == (True, "ok")  # no rebuild tried in this outage: not red on the old one's account
