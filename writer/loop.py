"""The write loop: pipelined writes of consecutive seqs, a contiguous watermark, retries, checkpoints.

Threads: completions run on the driver's event-loop thread and immediately issue the next write there (the
pattern of the driver's own ``execute_concurrent``: no hand-off between threads per row). The main thread
ticks every few milliseconds to issue what callbacks could not (the first writes, retries after a backoff,
writes held back by the rate cap), to store ``last_seq``, to log progress and to notice a stop request.
One lock guards the shared state; nothing slow runs under it.

Failure rule: a failed unit (one row or one batch) goes to a retry heap and is written again, never skipped.
A failure while writes issued after it have already succeeded is isolated (a coordinator that was leaving,
one replica's timeout): the unit is re-sent at once and new seqs keep flowing. Any other failure opens an
"outage": new seqs are held back and only the lowest failed units are re-tried (a few at a time), with
capped exponential backoff and jitter, until one write issued during the outage succeeds.

A write unanswered after its attempt timeout counts as failed and is re-sent, but its first attempt stays alive
(``late_window``): if it answers later, that late success acknowledges its rows. The attempt timeout follows the
p99 of recent writes (writer.latency: a frozen coordinator then holds a write well under a second), at most
WRITER_REQUEST_TIMEOUT. A permanent error
(writer.errors) stops the loop; ``fatal`` holds the one line to print.

Bounded work. WRITER_IN_FLIGHT bounds the writes the loop waits for, and a first attempt it stopped waiting
for still counts against the driver's budget until the driver answers it: the driver never holds more than
``max_outstanding(in_flight)`` = 2 x WRITER_IN_FLIGHT + 2 unanswered writes (row writes and checkpoints), so
at most twice that in requests, each write having at most one speculative copy (when a write is answered
through one attempt, the other is left to its connection's own timeout). And no new seq goes out more than
WINDOW_UNITS x WRITER_IN_FLIGHT units above the watermark, so a hole (one write that never lands) holds new
seqs instead of growing the acknowledged ranges waiting above it, and bounds what a restart re-writes.

Back within seconds. During an outage the loop asks the store every RESOLVE_EVERY seconds whether the seeds
now resolve to an address its session does not know (``store.moved``: a DNS lookup), and rebuilds the session
as soon as they do (every Cassandra pod back at a new address). An outage longer than WRITER_RESOLVE_AFTER
rebuilds it anyway (same addresses, a session wedged some other way); still no progress
WRITER_UNHEALTHY_AFTER later turns ``health()`` red, so Kubernetes restarts the pod.

Every advance of the watermark is recorded with its wall-clock time in ``acks`` (writer.acks, served on /acks).

One module, longer than the others, on purpose: the watermark, the retry heap and the in-flight units are one
state shared under one lock by the main thread and the driver's callbacks, and its invariants (a unit settles
once; only a write issued during an outage ends it) read best in one place. What needs no lock lives apart:
the contiguous watermark (writer.watermark), one outage's recovery timers (writer.outage) and the rate cap's
token bucket (writer.rate).
"""

from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from writer import errors
from writer.acks import AckLog
from writer.config import MAX_SEQ, Config
from writer.outage import RESOLVE_EVERY, Outage
from writer.rate import TokenBucket
from writer.watermark import Watermark

if TYPE_CHECKING:  # writer.store imports this module (and the driver)
    from writer.store import Store

log = logging.getLogger("writer")

_TICK = 0.01  # seconds between main-thread passes
#: Under WRITER_RATE the writer sends one batch per this many seconds (rate * this rows each). Every write
#: costs each replica a wake-up of several threads, whatever its rows: on a 2-core kind lab the host was 65%
#: idle with no writer, 15-17% idle at 50 writes/s of one row or of four, 52% at 20 writes/s. 50 ms keeps the
#: gaps between acknowledged writes well under the 0.3 s a replica's loss may cost.
_RATE_BATCH_EVERY = 0.05
_FIRST_BACKOFF = 0.05  # a dead coordinator is usually replaced by the next host at once: retry fast first
_STILL_DOWN_EVERY = 10.0  # seconds between "still retrying" lines during a long outage
#: Probes in flight during an outage. More than one, so that a probe routed to a dead coordinator (which the
#: driver has not marked down yet) cannot hold the writer for a whole request timeout while live nodes wait.
_PROBES = 3
#: After a failed rebuild (DNS not answering yet, no node up yet), try again this often.
_REBUILD_RETRY = 5.0
#: Row writes the driver may hold, as a multiple of WRITER_IN_FLIGHT: those the loop waits for, plus as many
#: first attempts it stopped waiting for (re-sent after WRITER_REQUEST_TIMEOUT, alive for the late window).
OUTSTANDING_FACTOR = 2
#: Checkpoints (last_seq writes) the driver may hold at once: one awaited, one unanswered past its timeout.
CHECKPOINTS_ALIVE = 2
#: New seqs wait while the next unit would end more than this many units (x WRITER_IN_FLIGHT) above the
#: watermark: what waits above a hole, and what a restart re-writes, stays under 4 x in_flight x batch rows.
WINDOW_UNITS = 4
#: The driver answers every request within the late window; one not answered this much later is no longer
#: counted as held (a safety net: a future the driver dropped must not shrink the budget forever).
_LATE_GRACE = 5.0


def late_window(config: Config) -> float:
    """How long the driver keeps a write's future after the loop stopped waiting for it (request_timeout).

    The loop re-sends a write after WRITER_REQUEST_TIMEOUT, but the first attempt may still land and answer:
    that late answer counts as an acknowledgement. Without it, a timeout shorter than the real latency would
    fail every write while every write lands, and the writer would livelock. (The store sets it as the
    driver's request timeout.)
    """
    return min(300.0, max(10 * config.request_timeout, config.request_timeout + 10.0))


def max_outstanding(in_flight: int) -> int:
    """The most writes (rows and checkpoints) the driver holds at once; requests are at most twice this."""
    return OUTSTANDING_FACTOR * in_flight + CHECKPOINTS_ALIVE


class NoAnswer(TimeoutError):
    """A write unanswered after WRITER_REQUEST_TIMEOUT: re-sent, and still counted if it answers later."""


class _Sent:
    """A write handed to the driver at ``issued``; ``answered`` once the driver completed it (or gave up)."""

    __slots__ = ("issued", "answered")

    def __init__(self, issued: float):
        self.issued, self.answered = issued, False


class _Unit(_Sent):
    """One write in flight: seqs first..last, issued at ``issued``. ``settled`` makes completion idempotent:
    with speculative execution the driver can complete one future twice (its ``_set_final_result`` has no
    guard), and a second completion must not count a slot or a failure again. A success that arrives after
    the unit was settled as failed (its timeout passed, or a speculative attempt failed first) is a late
    success: its rows did land, so they are acknowledged then (once, see Watermark.covers)."""

    __slots__ = ("first", "last", "settled")

    def __init__(self, first: int, last: int, issued: float):
        super().__init__(issued)
        self.first, self.last, self.settled = first, last, False


def backoff_delay(attempt: int, *, first: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Capped exponential backoff with jitter: first * 2**attempt, at most ``cap``, scaled by 0.5..1.

    The jitter keeps several writers (or one writer's retries) from hitting a recovering node in lockstep.
    """
    delay = min(cap, first * (2.0 ** min(attempt, 30)))
    return delay * (0.5 + rand() / 2)


class WriteLoop:
    """Writes seqs start+1, start+2, ... through ``store`` until stopped or ``config.max_seqs`` are written."""

    def __init__(self, store: Store, config: Config, start: int, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random,
                 observe_latency: Callable[[float], None] | None = None, acks: AckLog | None = None,
                 attempt_timeout: Callable[[], float] | None = None):
        self.store = store
        self.config = config
        self.topic = config.topic
        self.clock, self.sleep, self.rand = clock, sleep, rand
        self.observe_latency = observe_latency or (lambda seconds: None)
        # How long one attempt of a write may take before it is re-sent: WRITER_REQUEST_TIMEOUT unless the store
        # follows the latency (writer.latency.attempt_timeout: a multiple of the p99, capped by it).
        self.attempt_timeout = attempt_timeout or (lambda: config.request_timeout)
        self.start = start
        self.watermark = Watermark(start)
        self.acks = acks if acks is not None else AckLog(config.topic)
        self.acks.record(start)  # the level the loop starts from: the first entry of the record
        self.stored = start  # highest last_seq known to be written
        self.next_seq = start + 1
        # The seq column is a CQL int: the topic ends at MAX_SEQ whatever WRITER_MAX_SEQS says.
        self.end_seq = min(MAX_SEQ, start + config.max_seqs) if config.max_seqs is not None else MAX_SEQ
        self.unit_size = config.batch_size if config.rate is None else max(1, min(
            config.batch_size, int(config.rate * _RATE_BATCH_EVERY)))
        self.in_flight = 0  # units the loop waits for (issued, not settled)
        self.outstanding = 0  # writes the driver holds (issued, not answered): rows and checkpoints
        self.outstanding_max = 0
        self.window = WINDOW_UNITS * config.in_flight * self.unit_size  # seqs above the watermark, at most
        self.late_window = late_window(config)
        self.rows_written = 0
        self.retries = 0
        self.late_acks = 0  # writes acknowledged after they had been counted as failed
        self.rebuilds = 0
        self.fatal: str | None = None  # a permanent error's one line: the loop stopped because of it
        self.errors: Counter[str] = Counter()  # failures by exception class, for /metrics
        self.outage_since: float | None = None
        self._outage: Outage | None = None  # the current outage's recovery timers, set and dropped with outage_since
        self.outage_seconds = 0.0  # total of finished outages
        self._outage_reported = 0.0  # highest total outage_total() returned
        self.outages = 0
        self.stop_requested = False
        self.heartbeat = clock()
        self.first_issue: float | None = None
        self.last_ack: float | None = None
        self._retry: list[tuple[int, int]] = []  # heap of failed units, lowest seq first
        self._retry_at = 0.0
        self._attempt = 0  # probes failed in this outage, drives the backoff
        self._last_error = ""
        self._bucket = TokenBucket(config.rate, float(self.unit_size), clock()) if config.rate is not None else None
        self._checkpoint_busy = False
        self._checkpoint_at = -1e9
        self._issued: deque[_Unit] = deque()  # units in issue order, for the request timeout
        self._late: dict[_Sent, None] = {}  # expired units the driver still holds, oldest first
        self._checkpoints: dict[_Sent, None] = {}  # checkpoints the driver holds, oldest first
        self._held_logged = float("-inf")
        self._issued_in_outage = 0  # probes of the current outage still unsettled
        self._rebuilding = False  # a rebuild thread is out (it may outlive its outage): start no other
        self._answered_at: float | None = None  # last time a Cassandra node answered, even with an error
        self._newest_acked = float("-inf")  # issue time of the newest write acknowledged so far
        self.isolated_failures = 0  # failures re-sent at once, without an outage
        self._isolated_logged = float("-inf")
        self._next_log = (start // config.log_every + 1) * config.log_every
        self._lock = threading.Lock()
        self._local = threading.local()

    # ---- the main thread ----------------------------------------------------------------------------------

    def run(self) -> int:
        """Write until stopped or done; drain, store the final watermark, return it."""
        while not self.stop_requested and not self.done:
            now = self.clock()
            self.heartbeat = now
            self._expire(now)
            self._recover(now)
            self._fill()
            self._checkpoint(now)
            self._log_progress()
            self._log_still_down(now)
            self._log_held(now)
            self.sleep(_TICK)
        self._drain()
        self._log_progress()
        # The watermark checkpointed, not the watermark now: an answer the drain gave up on may still arrive
        # and move it, and the stop line must name the seq the next start resumes from.
        return self._final_checkpoint()

    def request_stop(self) -> None:
        """Stop issuing writes; safe from a signal handler (sets one attribute, takes no lock)."""
        self.stop_requested = True

    @property
    def done(self) -> bool:
        return self.watermark.value >= self.end_seq

    @property
    def topic_full(self) -> bool:
        """The watermark reached the largest seq the schema's int column holds."""
        return self.watermark.value >= MAX_SEQ

    def health(self, now: float | None = None) -> tuple[bool, str]:
        """(healthy, reason). Red only when an outage outlived a session rebuild by WRITER_UNHEALTHY_AFTER
        and no Cassandra node answered in that time either: then waiting longer cannot help and a restart
        (a new process, new DNS answers) might. While nodes answer (Unavailable: replicas still starting,
        as when every pod was deleted and the StatefulSet brings them back one by one), the writer is not
        wedged, and a restart would only add one to RESTARTS."""
        now = self.clock() if now is None else now
        outage = self._outage
        if outage is None or outage.rebuild_first is None:
            return True, "ok"
        since, first = outage.since, outage.rebuild_first
        quiet_since = max(first, self._answered_at or first)
        if now - quiet_since < self.config.unhealthy_after:
            return True, "ok"
        return False, (f"{self.topic}: no write succeeded for {now - since:.0f} s (waiting at seq "
                       f"{self.watermark.value + 1}); re-resolving the seeds and rebuilding the session, first "
                       f"tried {now - first:.0f} s ago, did not restore progress, and no Cassandra node has "
                       f"answered for {now - quiet_since:.0f} s; last error: {self._last_error}")

    def readiness(self, now: float | None = None) -> tuple[bool, str]:
        """(ready, reason): not ready once writes have failed for WRITER_UNREADY_AFTER with none succeeding."""
        now = self.clock() if now is None else now
        since = self.outage_since
        if since is None or now - since < self.config.unready_after:
            return True, "ready"
        return False, (f"{self.topic}: no write succeeded for {now - since:.0f} s (waiting at seq "
                       f"{self.watermark.value + 1}); last error: {self._last_error}")

    def outage_total(self) -> float:
        """Seconds spent in outages, the current one included: read under the lock (an outage ending between
        two reads would count twice) and never less than an earlier answer (a counter must not go back)."""
        with self._lock:
            since = self.outage_since
            total = self.outage_seconds + (self.clock() - since if since is not None else 0.0)
            self._outage_reported = max(self._outage_reported, total)
            return self._outage_reported

    @property
    def seqs_per_second(self) -> float:
        if self.first_issue is None or self.last_ack is None or self.last_ack <= self.first_issue:
            return 0.0
        return self.rows_written / (self.last_ack - self.first_issue)

    def _drain(self) -> None:
        deadline = self.clock() + self.config.stop_timeout
        while self.in_flight and self.clock() < deadline:
            self.heartbeat = self.clock()
            self._expire(self.heartbeat)
            self.sleep(_TICK)
        if self.in_flight:
            log.warning("%s: %d writes still in flight after %.1f s; last_seq stays at the watermark %d",
                        self.topic, self.in_flight, self.config.stop_timeout, self.watermark.value)

    def _checkpoint(self, now: float) -> None:
        """Store the watermark as last_seq, at most one write in flight and one per checkpoint_interval."""
        seq = self.watermark.value
        if self._checkpoint_busy and now - self._checkpoint_at >= self.config.request_timeout:
            self._checkpoint_busy = False  # unanswered: send a newer one (a late answer only raises `stored`)
        if seq <= self.stored or self._checkpoint_busy or now - self._checkpoint_at < self.config.checkpoint_interval:
            return
        sent = _Sent(now)
        with self._lock:
            if len(self._checkpoints) >= CHECKPOINTS_ALIVE:  # the driver still holds the older ones
                return
            self._hold_locked(sent)
            self._checkpoints[sent] = None
        self._checkpoint_busy, self._checkpoint_at = True, now
        try:
            self.store.submit_last_seq(seq, self._on_checkpoint, self._on_checkpoint_failed, seq, sent)
        except Exception as exc:  # noqa: BLE001 - the driver may raise synchronously (session closing)
            self._on_checkpoint_failed(exc, seq, sent)

    def _on_checkpoint(self, _result: object, seq: int, sent: _Sent) -> None:
        with self._lock:
            self._release_locked(sent)
        self.stored = max(self.stored, seq)
        self._checkpoint_busy = False

    def _on_checkpoint_failed(self, exc: BaseException, seq: int, sent: _Sent) -> None:
        # Harmless: the next checkpoint carries a newer watermark; a restart re-writes a few more rows.
        with self._lock:
            self._release_locked(sent)
        self.errors[f"checkpoint:{type(exc).__name__}"] += 1
        self._checkpoint_busy = False
        self._check_permanent(exc, "storing last_seq")

    def _final_checkpoint(self) -> int:
        """Store the watermark before exiting, retrying until stop_timeout (a restart re-writes if it fails);
        returns the watermark it stored (or tried to)."""
        seq = self.watermark.value
        deadline = self.clock() + max(self.config.stop_timeout, 1.0)
        attempt = 0
        while seq > self.stored:
            try:
                # Within the deadline, so the whole stop fits the pod's grace period (config.MAX_STOP_TIMEOUT).
                left = max(0.1, deadline - self.clock())
                self.store.write_last_seq(seq, timeout=min(max(1.0, self.config.request_timeout), left))
                self.stored = seq
            except Exception as exc:  # noqa: BLE001 - any failure: retry until the deadline
                if self.clock() >= deadline or errors.permanent_cause(exc) is not None:
                    log.warning("%s: could not store last_seq=%d (%s); the next start re-writes from %d",
                                self.topic, seq, _describe(exc), self.stored + 1)
                    return seq
                self.sleep(backoff_delay(attempt, first=0.1, cap=1.0, rand=self.rand))
                attempt += 1
        return seq

    def _log_progress(self) -> None:
        """The Go writer's line, once for every LOG_EVERY-th seq the watermark passes."""
        while self.watermark.value >= self._next_log:
            log.info("%s: inserted rows to seq %d", self.topic, self._next_log)
            self._next_log += self.config.log_every

    def _log_held(self, now: float) -> None:
        """One line per 10 s while new seqs wait for the watermark (a hole below WINDOW_UNITS x in_flight units)."""
        if self.outage_since is not None or now - self._held_logged < _STILL_DOWN_EVERY:
            return
        above = self.next_seq - 1 - self.watermark.value
        if above + self.unit_size > self.window and self.next_seq <= self.end_seq:
            self._held_logged = now
            log.warning("%s: holding new seqs: %d seqs written above the watermark, waiting for seq %d (at most "
                        "%d above it)", self.topic, above, self.watermark.value + 1, self.window)

    def _log_still_down(self, now: float) -> None:
        outage = self._outage
        if outage is None:
            return
        if now - outage.since >= _STILL_DOWN_EVERY and now - outage.still_down_logged >= _STILL_DOWN_EVERY:
            outage.still_down_logged = now
            log.warning("%s: still retrying seq %d after %.1f s (%s)", self.topic, self.watermark.value + 1,
                        now - outage.since, self._last_error)

    # ---- issuing (any thread) ----------------------------------------------------------------------------

    def _fill(self) -> None:
        """Issue units while slots are free. Re-entrant calls (a store completing synchronously) are folded
        into the outer call's loop instead of recursing."""
        local = self._local
        if getattr(local, "filling", False):
            local.again = True
            return
        local.filling = True
        try:
            while True:
                local.again = False
                while (unit := self._claim()) is not None:
                    self._submit(unit)
                if not local.again:
                    break
        finally:
            local.filling = False

    def _claim(self) -> _Unit | None:
        """Under the lock: the next unit to write (a retry first), or None when none may go out now."""
        with self._lock:
            if (self.stop_requested or self.in_flight >= self.config.in_flight
                    or self.outstanding >= OUTSTANDING_FACTOR * self.config.in_flight):
                return None
            now = self.clock()
            if self._retry:
                # In an outage only a few probes at a time, and only after the backoff.
                if now < self._retry_at or (self.outage_since is not None and self.in_flight >= _PROBES):
                    return None
                first, last = heapq.heappop(self._retry)
                if self.watermark.covers(first, last):  # its first attempt answered late: nothing to redo
                    return self._claim_locked_again()
            elif self.outage_since is not None:
                if not self._issued_in_outage:
                    # Every failed unit was acknowledged late and no probe is out: nothing is left to prove
                    # the outage is over, and waiting would hold new writes forever.
                    self._end_outage_locked(now)
                    return self._claim_locked_again()
                return None
            else:
                first = self.next_seq
                if self.end_seq is not None and first > self.end_seq:
                    return None
                size = self.unit_size if self.end_seq is None else min(self.unit_size, self.end_seq - first + 1)
                last = first + size - 1
                if last - self.watermark.value > self.window:  # a hole below: hold new seqs (module docstring)
                    return None
                if self._bucket is not None and not self._bucket.take(now, size):
                    return None
                self.next_seq = last + 1
            self.in_flight += 1
            if self.first_issue is None:
                self.first_issue = now
            unit = _Unit(first, last, now)
            self._hold_locked(unit)
            self._issued.append(unit)
            if self.outage_since is not None:
                self._issued_in_outage += 1
            return unit

    def _hold_locked(self, sent: _Sent) -> None:
        self.outstanding += 1
        self.outstanding_max = max(self.outstanding_max, self.outstanding)

    def _release_locked(self, sent: _Sent) -> None:
        """The driver answered ``sent`` (or is presumed to have dropped it): it no longer counts as held."""
        if not sent.answered:
            sent.answered = True
            self.outstanding -= 1
            self._late.pop(sent, None)
            self._checkpoints.pop(sent, None)

    def _claim_locked_again(self) -> _Unit | None:
        """A skipped retry freed nothing; tell the caller's fill loop to look again (outside the lock)."""
        self._local.again = True
        return None

    def _submit(self, unit: _Unit) -> None:
        try:
            self.store.submit_rows(unit.first, unit.last, self._on_written, self._on_failed, unit)
        except Exception as exc:  # noqa: BLE001 - a synchronous driver error is just another failure
            self._on_failed(exc, unit)

    def _expire(self, now: float) -> None:
        """Count writes unanswered after the attempt timeout as failed (they are re-sent; see _Unit); they stay
        held (``outstanding``) until the driver answers them. Past the late window (and a grace), anything the
        driver has not answered is released: it cannot answer any more."""
        timeout, expired = self.attempt_timeout(), []
        gone = now - self.late_window - _LATE_GRACE
        with self._lock:
            issued = self._issued
            while issued and (issued[0].settled or now - issued[0].issued >= timeout):
                unit = issued.popleft()
                if not unit.settled:
                    expired.append(unit)
                    if not unit.answered:
                        self._late[unit] = None
            for held in (self._late, self._checkpoints):
                while held and (oldest := next(iter(held))).issued <= gone:
                    self._release_locked(oldest)
        for unit in expired:
            self._fail(NoAnswer(self._no_answer(timeout)), unit)

    def _no_answer(self, timeout: float) -> str:
        cap = self.config.request_timeout
        if timeout >= cap:
            return f"no answer within WRITER_REQUEST_TIMEOUT={cap:g} s"
        return f"no answer within {timeout:.2f} s (follows the p99 of recent writes; WRITER_REQUEST_TIMEOUT={cap:g} s)"

    def _check_permanent(self, exc: BaseException, doing: str) -> bool:
        """A permanent error stops the loop with its one line (retrying it would loop forever)."""
        try:
            errors.check(exc, doing)
        except errors.Permanent as err:
            if self.fatal is None:
                self.fatal = str(err)
            self.stop_requested = True
            return True
        return False

    # ---- recovery: re-resolve and rebuild when an outage lasts -------------------------------------------

    def _recover(self, now: float) -> None:
        outage = self._outage
        if outage is None:
            return
        ok, reason = self.health(now)
        if not ok and not outage.unhealthy_logged:
            outage.unhealthy_logged = True
            log.warning("%s; /healthz now reports unhealthy so that Kubernetes restarts this writer", reason)
        rebuild = getattr(self.store, "rebuild", None)
        if rebuild is None or self._rebuilding:
            return
        moved = getattr(self.store, "moved", None)
        if now >= outage.rebuild_next:
            moved = None  # the slow fallback: rebuild whatever DNS says
        elif moved is None or now < outage.resolve_next:
            return
        self._rebuilding = True
        threading.Thread(target=self._rebuild, args=(outage, rebuild, moved, now - outage.since), name="rebuild",
                         daemon=True).start()

    def _rebuild(self, outage: Outage, rebuild: Callable[[], str], moved: Callable[[], str | None] | None,
                 down: float) -> None:
        """On its own thread: a DNS lookup or connecting may take seconds, and the main thread must keep ticking.
        With ``moved``, rebuild only if the seeds resolve to an address the session does not know. It moves
        the timers of ``outage`` only, the one it was started for, even if that outage is over by then."""
        try:
            if moved is not None:
                outage.resolve_next = self.clock() + RESOLVE_EVERY
                try:
                    where = moved()
                except Exception as exc:  # noqa: BLE001 - a failed lookup is no news: the next one may answer
                    log.debug("%s: resolving the seeds failed (%s)", self.topic, errors.describe(exc))
                    return
                if where is None:
                    return
                # Pods listed by DNS before their CQL port opens fail each rebuild: one line per 10 s, not per try.
                if self.clock() - outage.moved_logged >= _STILL_DOWN_EVERY:
                    outage.moved_logged = self.clock()
                    log.warning("%s: no write succeeded for %.1f s and the seeds now resolve to new addresses (%s); "
                                "rebuilding the session", self.topic, down, where)
            else:
                log.warning("%s: no write succeeded for %.1f s (%s); re-resolving the seeds and rebuilding the "
                            "session", self.topic, down, self._last_error)
            if outage.rebuild_first is None:
                outage.rebuild_first = self.clock()
            summary = rebuild()
        except Exception as exc:  # noqa: BLE001 - no node answers yet: try again soon
            outage.rebuild_next = self.clock() + min(_REBUILD_RETRY, self.config.resolve_after)
            if self.clock() - outage.rebuild_failed_logged >= _STILL_DOWN_EVERY:  # new pods refuse until CQL is up
                outage.rebuild_failed_logged = self.clock()
                log.warning("%s: rebuilding the session failed (%s); trying again within %.0f s", self.topic,
                            errors.describe(exc), min(_REBUILD_RETRY, self.config.resolve_after))
            self._check_permanent(exc, "rebuilding the session")
        else:
            self.rebuilds += 1
            outage.rebuild_next = self.clock() + self.config.resolve_after
            with self._lock:
                self._retry_at = 0.0  # probe the new session at once
                self._attempt = 0
                # The old session's unanswered writes die with it (shut down just now): no longer held.
                for held in (self._late, self._checkpoints):
                    for sent in list(held):
                        self._release_locked(sent)
            log.warning("%s: session rebuilt (seeds %s); retrying seq %d", self.topic, summary,
                        self.watermark.value + 1)
        finally:
            self._rebuilding = False

    # ---- completions (driver thread) ---------------------------------------------------------------------

    def _settle(self, unit: _Unit) -> bool:
        """Count a unit's completion once (call under the lock): the driver can complete a speculative
        request twice, and a second completion must not move in_flight or the watermark again."""
        if unit.settled:
            return False
        unit.settled = True
        self.in_flight -= 1
        if self.outage_since is not None and unit.issued >= self.outage_since:
            self._issued_in_outage -= 1
        return True

    def _on_written(self, _result: object, unit: _Unit) -> None:
        now = self.clock()
        ended = None
        first, last, issued = unit.first, unit.last, unit.issued
        with self._lock:
            self._release_locked(unit)
            # Settled before: as a success (a second completion, ignored) or as a failure: a late success.
            late = not self._settle(unit)
            if not self.watermark.covers(first, last):
                before = self.watermark.value
                if self.watermark.ack(first, last) > before:
                    self.acks.record(self.watermark.value)
                self.rows_written += last - first + 1
                self.late_acks += late
            elif late:
                return
            self.last_ack = now
            self._newest_acked = max(self._newest_acked, issued)
            # Only a write issued during the outage proves it is over; older ones were already under way.
            if self.outage_since is not None and issued >= self.outage_since:
                ended = self._end_outage_locked(now, log_it=False)
        # Late answers count too: left out, a cluster slowing down as a whole would never lift the p99, and the
        # attempt timeout that follows it would re-send every write.
        self.observe_latency(now - issued)
        if ended is not None:
            self._log_outage_over(ended)
        self._fill()

    def _begin_outage_locked(self, now: float) -> None:
        self.outage_since = now
        self._outage = Outage(now, self.config.resolve_after)
        self._issued_in_outage = 0
        self.outages += 1
        self._attempt = 0
        self._retry_at = now + backoff_delay(0, first=_FIRST_BACKOFF, cap=self.config.max_backoff, rand=self.rand)

    def _end_outage_locked(self, now: float, *, log_it: bool = True) -> float:
        assert self.outage_since is not None, "no outage to end"
        ended = now - self.outage_since
        self.outage_seconds += ended
        self.outage_since = None
        self._outage = None  # a rebuild still out keeps it, and moves only its timers
        self._issued_in_outage = 0
        self._attempt = 0
        self._retry_at = 0.0
        if log_it:
            self._log_outage_over(ended)
        return ended

    def _log_outage_over(self, ended: float) -> None:
        log.warning("%s: outage over after %.1f s (%d retries so far); resuming at seq %d",
                    self.topic, ended, self.retries, self.watermark.value + 1)

    def _on_failed(self, exc: BaseException, unit: _Unit) -> None:
        """The driver's errback (or a synchronous error from it): the driver no longer holds the write."""
        with self._lock:
            self._release_locked(unit)
        self._fail(exc, unit)

    def _fail(self, exc: BaseException, unit: _Unit) -> None:
        now = self.clock()
        started = log_isolated = False
        first, last, issued = unit.first, unit.last, unit.issued
        if self._check_permanent(exc, f"writing seq {first}"):
            with self._lock:
                self._settle(unit)
            return
        with self._lock:
            if not self._settle(unit):
                return
            self.retries += 1
            self.errors[type(exc).__name__] += 1
            self._last_error = _describe(exc)
            if errors.cassandra_answered(exc):
                self._answered_at = now
            heapq.heappush(self._retry, (first, last))
            if self.outage_since is None and self._newest_acked > issued:
                # A write issued after this one has succeeded already: Cassandra takes writes, this one met a
                # bad moment. Holding every new seq for it would turn one coordinator's exit into a stall.
                self.isolated_failures += 1
                self._retry_at = 0.0
                if now - self._isolated_logged >= _STILL_DOWN_EVERY:  # a line per 10 s, not one per failure
                    self._isolated_logged, log_isolated = now, True
            elif self.outage_since is None:
                started = True
                self._begin_outage_locked(now)
            elif issued >= self.outage_since:  # a probe failed: back off further
                self._attempt += 1
                self._retry_at = now + backoff_delay(self._attempt, first=_FIRST_BACKOFF,
                                                     cap=self.config.max_backoff, rand=self.rand)
        if started:
            log.warning("%s: write of seq %d failed (%s); holding new writes, retrying with backoff",
                        self.topic, first, self._last_error)
            if errors.disk_full(exc):
                log.warning("%s: %s", self.topic, errors.DISK_FULL_HINT)
        elif log_isolated:
            log.warning("%s: write of seq %d failed (%s); re-sent at once, later writes succeed (%d such so far)",
                        self.topic, first, self._last_error, self.isolated_failures)


_describe = errors.describe
