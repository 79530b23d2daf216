"""``python -m writer``: validate the environment, connect (retrying), create the schema, resume, write.

``WRITER_MODE=seed`` runs the assignment's naive writer instead (writer.seed); robust (or unset) is this one,
which always resumes from last_seq (so WRITER_RESUME, the seed mode's switch, is accepted and ignored).

Settings beyond the package docstring's list: WRITER_RESOLVE_AFTER (60 s without a successful write: re-resolve
the seeds and rebuild the session) and WRITER_UNHEALTHY_AFTER (120 s more without progress: /healthz answers
503 with the reason, so Kubernetes restarts the pod). Every number is bounded; an unknown WRITER_* name, or any
name a typo away from a known one (CASANDRA_SEEDS), is refused (writer.config).

Startup retries each step with backoff up to WRITER_MAX_BACKOFF, logging one line when the step starts failing
and one per 30 s after that. Once the schema is there, a CONSISTENCY the keyspace can never meet (more replicas
than its replication factor, or than the ring's nodes can hold) is refused (writer.levels).

Exit codes:
  0  after SIGTERM/SIGINT, after WRITER_MAX_SEQS, or when the topic is full (seq 2147483647, the largest the
     assignment's ``int`` column holds: the writer says so, stores last_seq and exits; a restarted one exits
     again at once with the same line, so use a new TOPIC). The watermark is stored in each case.
  2  bad configuration or a permanent error (invalid request or schema, refused credentials or permission,
     a value out of range, a consistency level the keyspace cannot meet): one line on stderr, no traceback,
     no retrying.
  1  anything unexpected.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

from writer import config as config_mod
from writer import errors, levels
from writer import log as log_mod
from writer.acks import AckLog
from writer.config import MAX_SEQ
from writer.http import Probes, serve
from writer.latency import LatencyTracker
from writer.loop import WriteLoop, backoff_delay
from writer.metrics import WriterMetrics

if TYPE_CHECKING:  # the driver loads at run time only (see _run)
    from writer.store import CassandraStore

log = logging.getLogger("writer")
T = TypeVar("T")

_STARTUP_FIRST_BACKOFF = 0.5
#: During a failing startup step: one line when it starts failing, then one per this many seconds (with the
#: count of attempts), instead of one per attempt.
_STILL_FAILING_EVERY = 30.0


class _Stop:
    """Set by SIGTERM/SIGINT. Handlers only flip attributes: they run between bytecodes of the main thread,
    which may hold a lock at that moment."""

    def __init__(self) -> None:
        self.requested = False
        self.loop: WriteLoop | None = None

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.requested = True
        if self.loop is not None:
            self.loop.request_stop()


class Stopped(Exception):
    """A stop request interrupted startup: ``_run`` exits 0, as after a stop while writing (nothing was
    written yet, so there is no watermark to store)."""


#: Kept for callers of the old name: a startup failure that retrying cannot fix.
_Fatal = errors.Permanent


def _check_fatal(exc: BaseException, doing: str = "connecting to Cassandra") -> None:
    """Raise Permanent (one line) for an error retrying cannot fix; return for an outage. Never raises
    anything else, whatever shape the error has (NoHostAvailable carries a dict, a list, or nothing)."""
    errors.check(exc, doing)


def _retrying(what: str, action: Callable[[], T], stop: _Stop, config: config_mod.Config, *,
              store: CassandraStore | None = None, probes: Probes | None = None,
              clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``action`` until it succeeds; raise Stopped if a stop is requested first.

    Failed attempts back off exponentially from 0.5 s to WRITER_MAX_BACKOFF (jittered). The log gets one line
    when the step starts failing and then one per _STILL_FAILING_EVERY seconds with the count of attempts, each
    with the whole reason. A permanent error raises errors.Permanent. Failing for longer than
    WRITER_RESOLVE_AFTER with a ``store`` rebuilds its session from freshly resolved seeds (the nodes may have
    moved to new addresses). ``probes`` learns the step and its last error, for an unhealthy /healthz.
    """
    attempt, failing_since, rebuild_at, logged_at = 0, None, None, None
    if probes is not None:
        probes.startup_step = what
    while not stop.requested:
        try:
            result = action()
        except Exception as exc:  # noqa: BLE001 - anything but a permanent error is an outage: retried
            _check_fatal(exc, what)
            now = clock()
            failing_since = failing_since if failing_since is not None else now
            delay = backoff_delay(attempt, first=_STARTUP_FIRST_BACKOFF, cap=config.max_backoff)
            attempt += 1
            reason = errors.describe(exc)
            if probes is not None:
                probes.startup_error = reason
            if logged_at is None:
                logged_at = now
                log.warning("%s failed (%s); retrying with backoff up to %g s, a line every %.0f s while it fails",
                            what, reason, config.max_backoff, _STILL_FAILING_EVERY)
            elif now - logged_at >= _STILL_FAILING_EVERY:
                logged_at = now
                log.warning("%s still failing after %.0f s and %d attempts (%s)", what, now - failing_since,
                            attempt, reason)
            if store is not None and now - failing_since >= config.resolve_after and (
                    rebuild_at is None or now >= rebuild_at):
                rebuild_at = now + config.resolve_after
                try:
                    log.warning("%s: failing for %.0f s; re-resolving the seeds and rebuilding the session",
                                what, now - failing_since)
                    log.warning("session rebuilt (seeds %s)", store.rebuild())
                except Exception as err:  # noqa: BLE001 - still nothing up: the next attempt retries
                    _check_fatal(err, "rebuilding the session")
                    log.warning("rebuilding the session failed (%s)", errors.describe(err))
            deadline = clock() + delay
            while not stop.requested and clock() < deadline:
                sleep(0.05)
        else:
            if failing_since is not None:
                log.info("%s succeeded after %.1f s and %d failed attempts", what, clock() - failing_since, attempt)
            return result
    raise Stopped(what)


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    # Before any validation of ours: the seed mode is the assignment's writer, with its own (naive) rules.
    if (env.get("WRITER_MODE") or "").strip().lower() == "seed":
        from writer import seed
        return seed.main(env)
    log_mod.setup()
    try:
        config = config_mod.load(env)
    except config_mod.ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    try:
        return _run(config)
    except errors.Permanent as err:
        print(err, file=sys.stderr)
        return 2


def _run(config: config_mod.Config) -> int:
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    metrics = WriterMetrics(config.topic)
    acks = AckLog(config.topic)  # served on /acks from the start: empty until the loop runs
    probes = Probes(metrics.registry, acks, startup_budget=config.startup_budget)
    if config.http_port:
        try:
            serve(probes, config.http_port)
        except OSError as err:
            print(f"writer: cannot serve HTTP on port {config.http_port}: {err.strerror}", file=sys.stderr)
            return 2

    # Imported here so a configuration error never pays for loading the driver.
    from writer.store import CassandraStore

    tracker = LatencyTracker()
    log.info("Connecting cluster at %s with consistency %s for topic %s",
             config.seed_text, config.consistency, config.topic)
    store = None
    try:
        store = _retrying("connecting to Cassandra", lambda: CassandraStore.connect(config, tracker), stop, config,
                          probes=probes)

        start = _prepare(store, config, stop, probes)
        if start >= MAX_SEQ:
            log.warning("%s: %s", config.topic, _FULL)
            return 0

        def observe(seconds: float) -> None:
            metrics.latency.observe(seconds)
            tracker.observe(seconds)

        loop = WriteLoop(store, config, start, observe_latency=observe, acks=acks,
                         attempt_timeout=store.attempt_timeout)
        metrics.attach(loop)
        probes.heartbeat = lambda: loop.heartbeat
        probes.health = loop.health
        probes.readiness = loop.readiness
        probes.ready = True
        stop.loop = loop
        if stop.requested:  # a signal between the checks above and here
            loop.request_stop()
        last = loop.run()
        probes.ready = False
        log.info("%s: stopped at seq %d (wrote %d rows in this run, %.0f seqs/s, %d retries, %d late acks, "
                 "last_seq=%d)", config.topic, last, loop.rows_written, loop.seqs_per_second, loop.retries,
                 loop.late_acks, loop.stored)
        if loop.fatal is not None:
            raise errors.Permanent(loop.fatal)
        if loop.topic_full:
            log.warning("%s: %s", config.topic, _FULL)
        return 0
    except Stopped:  # during startup: the loop never ran, nothing to store
        return 0
    finally:
        if store is not None:
            store.close()


def _prepare(store: CassandraStore, config: config_mod.Config, stop: _Stop, probes: Probes) -> int:
    """The startup steps after connecting, each retried: the cluster's name, the schema, the level check, the
    seq to resume from (last_seq)."""

    def retry(what: str, action: Callable[[], T]) -> T:
        return _retrying(what, action, stop, config, store=store, probes=probes)

    log.info("Connected to cluster %s", retry("reading the cluster name", store.cluster_name))
    retry("creating the schema", store.ensure_schema)
    log.info("Tables %s.prj04 and %s.prj04_last_seq ready.", config.keyspace, config.keyspace)
    placement = store.placement()
    if placement is not None and (line := levels.unmet(config.consistency, placement)):
        raise errors.Permanent(line)
    start = retry("reading last_seq", store.read_last_seq)
    log.info("%s: start from lastSeq=%d", config.topic, start)
    return start


_FULL = (f"reached seq {MAX_SEQ}, the largest the int column seq holds; this topic is full and the writer "
         "stops writing it (exit 0); use a new TOPIC")


if __name__ == "__main__":
    sys.exit(main())
