"""``python -m writer``: validate the environment, connect (retrying), create the schema, resume, write.

``WRITER_MODE=seed`` runs the assignment's naive writer instead (writer.seed); robust (or unset) is this one,
which always resumes from last_seq (so WRITER_RESUME, the seed mode's switch, is accepted and ignored).

Settings beyond the package docstring's list: WRITER_RESOLVE_AFTER (60 s without a successful write: re-resolve
the seeds and rebuild the session) and WRITER_UNHEALTHY_AFTER (120 s more without progress: /healthz answers
503 with the reason, so Kubernetes restarts the pod). Every number is bounded, and an unknown WRITER_* name is
refused with the list of known ones (writer.config).

Exit codes:
  0  after SIGTERM/SIGINT, after WRITER_MAX_SEQS, or when the topic is full (seq 2147483647, the largest the
     assignment's ``int`` column holds: the writer says so, stores last_seq and exits; a restarted one exits
     again at once with the same line, so use a new TOPIC). The watermark is stored in each case.
  2  bad configuration or a permanent error (invalid request or schema, refused credentials or permission,
     a value out of range): one line on stderr, no traceback, no retrying.
  1  anything unexpected.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

from writer import config as config_mod
from writer import errors
from writer import log as log_mod
from writer.acks import AckLog
from writer.config import MAX_SEQ
from writer.http import Probes, serve
from writer.latency import LatencyTracker
from writer.loop import WriteLoop, backoff_delay
from writer.metrics import WriterMetrics

log = logging.getLogger("writer")

_STARTUP_FIRST_BACKOFF = 0.5
#: A restarted writer must write within ~2 s of Cassandra becoming reachable, so startup waits stay short.
_STARTUP_MAX_BACKOFF = 2.0


class _Stop:
    """Set by SIGTERM/SIGINT. Handlers only flip attributes: they run between bytecodes of the main thread,
    which may hold a lock at that moment."""

    def __init__(self):
        self.requested = False
        self.loop: WriteLoop | None = None

    def __call__(self, signum, _frame):
        self.requested = True
        if self.loop is not None:
            self.loop.request_stop()


#: Kept for callers of the old name: a startup failure that retrying cannot fix.
_Fatal = errors.Permanent


def _check_fatal(exc: BaseException, doing: str = "connecting to Cassandra") -> None:
    """Raise Permanent (one line) for an error retrying cannot fix; return for an outage. Never raises
    anything else, whatever shape the error has (NoHostAvailable carries a dict, a list, or nothing)."""
    errors.check(exc, doing)


def _retrying(what: str, action, stop: _Stop, cap: float, *, store=None, resolve_after: float = 60.0):
    """Run ``action`` until it succeeds or a stop is requested (then None), logging each failed attempt.

    A permanent error raises errors.Permanent. Failing for longer than ``resolve_after`` with a ``store``
    rebuilds its session from freshly resolved seeds (the nodes may have moved to new addresses).
    """
    attempt, failing_since, rebuild_at = 0, None, None
    while not stop.requested:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - anything but a permanent error is an outage: retried
            _check_fatal(exc, what)
            now = time.monotonic()
            failing_since = failing_since or now
            delay = backoff_delay(attempt, first=_STARTUP_FIRST_BACKOFF, cap=cap)
            attempt += 1
            log.warning("%s failed (attempt %d: %s); retrying in %.1f s", what, attempt, errors.describe(exc), delay)
            if store is not None and now - failing_since >= resolve_after and (rebuild_at is None or now >= rebuild_at):
                rebuild_at = now + resolve_after
                try:
                    log.warning("%s: failing for %.0f s; re-resolving the seeds and rebuilding the session",
                                what, now - failing_since)
                    log.warning("session rebuilt (seeds %s)", store.rebuild())
                except Exception as err:  # noqa: BLE001 - still nothing up: the next attempt retries
                    _check_fatal(err, "rebuilding the session")
                    log.warning("rebuilding the session failed (%s)", errors.describe(err))
            deadline = time.monotonic() + delay
            while not stop.requested and time.monotonic() < deadline:
                time.sleep(0.05)
    return None


def main(env=None) -> int:
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
    probes = Probes(metrics.registry, acks)
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
    cap = min(config.max_backoff, _STARTUP_MAX_BACKOFF)
    store = _retrying("connecting to Cassandra", lambda: CassandraStore.connect(config, tracker), stop, cap)
    if store is None:
        return 0
    try:
        def retry(what, action):
            return _retrying(what, action, stop, cap, store=store, resolve_after=config.resolve_after)

        name = retry("reading the cluster name", store.cluster_name)
        if name is None:
            return 0
        log.info("Connected to cluster %s", name)
        if retry("creating the schema", lambda: store.ensure_schema() or True) is None:
            return 0
        log.info("Tables %s.prj04 and %s.prj04_last_seq ready.", config.keyspace, config.keyspace)
        start = retry("reading last_seq", store.read_last_seq)
        if start is None:
            return 0
        log.info("%s: start from lastSeq=%d", config.topic, start)
        if start >= MAX_SEQ:
            log.warning("%s: %s", config.topic, _FULL)
            return 0

        def observe(seconds: float) -> None:
            metrics.latency.observe(seconds)
            tracker.observe(seconds)

        loop = WriteLoop(store, config, start, observe_latency=observe, acks=acks)
        metrics.attach(loop)
        probes.heartbeat = lambda: loop.heartbeat
        probes.health = loop.health
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
    finally:
        store.close()


_FULL = (f"reached seq {MAX_SEQ}, the largest the int column seq holds; this topic is full and the writer "
         "stops writing it (exit 0); use a new TOPIC")


if __name__ == "__main__":
    sys.exit(main())
