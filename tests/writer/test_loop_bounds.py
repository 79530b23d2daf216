"""writer.loop's bounds on work: what the driver holds, and how far new seqs may run above the watermark.

The fakes play the driver: a write handed to ``submit_rows`` is *held* until its callback or errback runs,
whatever the loop thinks of it (the loop stops waiting after WRITER_REQUEST_TIMEOUT and re-sends; the driver
keeps the first attempt for the late window). Each fake counts what it holds, the figure that is bounded.
"""

import logging
import re
import threading
import time

from prometheus_client import generate_latest

from tests.writer.drivers import DriverLike
from writer.config import Config
from writer.loop import OUTSTANDING_FACTOR, WINDOW_UNITS, WriteLoop, max_outstanding
from writer.metrics import WriterMetrics


def config(**kw):
    base = dict(topic="t", max_seqs=None, in_flight=8, batch_size=4, http_port=None, checkpoint_interval=0.005,
                stop_timeout=2.0, max_backoff=0.05, request_timeout=0.05)
    return Config(**{**base, **kw})


def test_slow_writes_re_sent_after_the_timeout_keep_the_driver_within_its_budget():
    # Every write takes 0.4 s, eight times the request timeout: each is re-sent after 0.05 s while its first
    # attempt is still held. Unbounded, the driver would hold about 0.4 / 0.05 = 8 x in_flight writes.
    slow_until = time.monotonic() + 1.5
    store = DriverLike(lambda seq, _: 0.4 if time.monotonic() < slow_until else 0.002)
    loop = WriteLoop(store, config(max_seqs=3000), start=0)
    metrics = WriterMetrics("t")
    metrics.attach(loop)
    began = time.monotonic()
    assert loop.run() == 3000  # and writing went on after the slow period
    assert time.monotonic() - began < 20
    budget = OUTSTANDING_FACTOR * loop.config.in_flight
    assert loop.errors["NoAnswer"] > 0 and loop.late_acks > 0  # the slow period did re-send
    assert store.peak <= budget, f"the driver held {store.peak} writes; budget {budget}"
    assert store.peak >= loop.config.in_flight + 1  # expired attempts did count, up to the budget
    assert loop.outstanding_max <= max_outstanding(loop.config.in_flight)
    scraped = generate_latest(metrics.registry).decode()
    assert f'writer_requests_outstanding_peak{{topic="t"}} {float(loop.outstanding_max)}' in scraped
    held = float(re.search(r'^writer_requests_outstanding\{topic="t"\} (\S+)$', scraped, re.M).group(1))
    assert 0 <= held <= loop.outstanding_max  # late first attempts may still be held when the run ends
    assert store.peak <= loop.outstanding_max  # what the driver held is what the metric reports, or less
    assert store.rows >= set(range(1, 3001)) and loop.rows_written == 3000
    assert store.last_seq_writes[-1] == 3000


def test_a_hole_holds_new_seqs_within_the_window_then_writing_goes_on(caplog):
    # The unit holding seq 41 is never answered for a second (every attempt of it: a replica that swallows
    # one mutation); everything else lands at once. New seqs must stop WINDOW_UNITS x in_flight units above
    # the watermark instead of running on for the whole hole.
    hole_open = threading.Event()
    store = DriverLike(lambda seq, _: None if seq == 41 and not hole_open.is_set() else 0.001)
    cfg = config(max_seqs=4000)
    window = WINDOW_UNITS * cfg.in_flight * cfg.batch_size
    loop = WriteLoop(store, cfg, start=0)
    above, pending = [], []

    def sample():
        while not hole_open.is_set():
            next_seq = loop.next_seq  # read before the watermark: a fair upper bound of what ran above it
            above.append(next_seq - 1 - loop.watermark.value)
            pending.append(loop.watermark.pending)
            time.sleep(0.005)

    def close_hole():
        time.sleep(1.0)
        hole_open.set()
        store.release()

    threading.Thread(target=sample, daemon=True).start()
    threading.Thread(target=close_hole, daemon=True).start()
    with caplog.at_level(logging.WARNING, logger="writer"):
        assert loop.run() == 4000
    assert loop.window == window
    assert max(above) <= window, f"{max(above)} seqs ran above the watermark; bound {window}"
    assert max(above) > window - 2 * cfg.batch_size  # the hole did fill the window: new seqs were held
    assert max(pending) <= WINDOW_UNITS * cfg.in_flight
    assert store.peak <= OUTSTANDING_FACTOR * cfg.in_flight  # the re-sends of the hole stayed in budget
    assert "holding new seqs" in caplog.text and "waiting for seq 41" in caplog.text
    assert store.rows >= set(range(1, 4001)) and store.last_seq_writes[-1] == 4000


def test_the_stop_returns_the_watermark_it_stored_though_late_answers_move_it_after():
    """CI under load: the drain gave up on writes whose answers came later and moved the watermark past the
    stored last_seq, so the stop line said "stopped at seq 4864 ... last_seq=4576"."""
    slow_from = 400  # from here every write answers after 0.6 s, beyond the drain (stop_timeout 0.1 s)

    class SlowCheckpoint(DriverLike):  # the final last_seq write takes long enough for those answers to land
        def write_last_seq(self, seq, timeout):
            time.sleep(0.8)
            super().write_last_seq(seq, timeout)

    store = SlowCheckpoint(lambda first, last: 0.6 if last > slow_from else 0.001)
    # No checkpoint while running: the stop's is the one that stores the watermark.
    loop = WriteLoop(store, config(stop_timeout=0.1, request_timeout=0.05, checkpoint_interval=60), start=0)
    runner = threading.Thread(target=lambda: setattr(runner, "result", loop.run()), daemon=True)
    runner.start()
    deadline = time.monotonic() + 10
    while loop.watermark.value < slow_from and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # slow writes issued and unanswered
    loop.request_stop()
    runner.join(10)
    stopped = runner.result
    assert stopped == loop.stored == store.last_seq_writes[-1]
    assert loop.watermark.value > stopped, "no answer came after the drain: the test shows nothing"
