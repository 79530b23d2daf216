"""What the loop reports to /metrics and how it stops: writer_outage_seconds read whole and never going back,
and the final last_seq write kept inside WRITER_STOP_TIMEOUT so the pod's grace period covers it."""

from writer.config import MAX_STOP_TIMEOUT, Config, load
from writer.loop import WriteLoop


class Clock:
    def __init__(self, now=1000.0):
        self.now = now
        self.on_read = None  # called on each read: what another thread does at that moment

    def __call__(self):
        if self.on_read is not None:
            self.on_read()
        return self.now


def test_outage_seconds_counts_an_outage_once_when_it_ends_during_a_scrape():
    """The driver's thread ends the outage while /metrics reads: the old code added it twice, then went back."""
    from writer.metrics import WriterMetrics

    clock = Clock()
    loop = WriteLoop(store=None, config=Config(topic="t"), start=0, clock=clock)
    loop.outage_since = 990.0  # an outage of 10 s so far
    metrics = WriterMetrics("t")
    metrics.attach(loop)

    def outage_ends():  # as WriteLoop._on_written does, unless the scrape holds the lock
        clock.on_read = None
        if loop._lock.acquire(blocking=False):
            try:
                loop._end_outage_locked(clock.now, log_it=False)
            finally:
                loop._lock.release()

    def scrape() -> float:
        family = next(f for f in metrics.collect() if f.name == "writer_outage_seconds")
        return family.samples[0].value

    clock.on_read = outage_ends
    values = [scrape()]  # the outage ends at 1000 while this scrape reads
    outage_ends()  # (or right after it, once the scrape let go of the lock)
    for _ in range(2):
        clock.now += 1
        values.append(scrape())
    assert values == [10.0, 10.0, 10.0]  # the old read: 20 (the 10 s counted twice), then back to 10


def test_outage_seconds_never_goes_back_when_an_outage_ends_at_an_earlier_instant():
    """_on_written reads its clock before it takes the lock: a scrape in between saw a later instant."""
    clock = Clock()
    loop = WriteLoop(store=None, config=Config(topic="t"), start=0, clock=clock)
    loop.outage_since = 990.0
    assert loop.outage_total() == 10.0
    with loop._lock:
        loop._end_outage_locked(999.5, log_it=False)  # the success's own instant, before the scrape above
    assert loop.outage_total() == 10.0
    loop.outage_since = 1000.0
    clock.now = 1002.0
    assert loop.outage_total() == 11.5


class SlowCheckpointStore:
    """A last_seq write that takes its whole timeout and fails: what an unanswered final checkpoint costs."""

    def __init__(self, clock):
        self.clock, self.timeouts = clock, []

    def write_last_seq(self, seq, timeout):
        self.timeouts.append(timeout)
        self.clock.now += timeout
        raise TimeoutError(f"no answer in {timeout} s")


def test_the_final_last_seq_write_stays_inside_the_stop_timeout_whatever_the_request_timeout():
    """SIGTERM: drain for at most WRITER_STOP_TIMEOUT, then the final last_seq write for as long again, even
    with WRITER_REQUEST_TIMEOUT 120: the pod's 30 s grace period must cover the stop (writer.yml)."""
    clock = Clock()
    config = load({"TOPIC": "t", "WRITER_STOP_TIMEOUT": str(MAX_STOP_TIMEOUT), "WRITER_REQUEST_TIMEOUT": "120"})
    store = SlowCheckpointStore(clock)
    loop = WriteLoop(store=store, config=config, start=0, clock=clock, sleep=lambda s: setattr(
        clock, "now", clock.now + s), rand=lambda: 1.0)
    loop.watermark.ack(1, 50)
    began = clock.now
    loop._final_checkpoint()
    assert store.timeouts and max(store.timeouts) <= MAX_STOP_TIMEOUT
    assert clock.now - began <= MAX_STOP_TIMEOUT + 1.1, store.timeouts  # the last backoff may overshoot by 1 s
    assert loop.stored == 0  # never answered: the next start re-writes from 1
