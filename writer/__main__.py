"""``python -m writer``: validate the environment, connect (retrying), create the schema, resume, write.

Exit codes: 0 after SIGTERM/SIGINT or WRITER_MAX_SEQS (watermark stored), 2 for bad configuration
(one line, no traceback), 1 for anything unexpected.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

from writer import config as config_mod
from writer import log as log_mod
from writer.http import Probes, serve
from writer.loop import WriteLoop, _describe, backoff_delay
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


class _Fatal(Exception):
    """A startup failure that retrying cannot fix; its message is the one line to print."""


def _check_fatal(exc: Exception) -> None:
    """Wrong credentials are bad input, not an outage: say so once and exit 2 instead of retrying forever."""
    from cassandra import AuthenticationFailed

    errors = list(getattr(exc, "errors", None) or {})  # NoHostAvailable: {endpoint: error}
    errors = [exc.errors[k] for k in errors] if errors else [exc]
    if errors and all(isinstance(err, AuthenticationFailed) for err in errors):
        raise _Fatal("writer: Cassandra rejected CASSANDRA_USERNAME/CASSANDRA_PASSWORD "
                     f"({_describe(errors[0])})") from exc


def _retrying(what: str, action, stop: _Stop, cap: float):
    """Run ``action`` until it succeeds or a stop is requested (then None), logging each failed attempt."""
    attempt = 0
    while not stop.requested:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - any failure to reach Cassandra is retried, never fatal
            _check_fatal(exc)
            delay = backoff_delay(attempt, first=_STARTUP_FIRST_BACKOFF, cap=cap)
            attempt += 1
            log.warning("%s failed (attempt %d: %s); retrying in %.1f s", what, attempt, _describe(exc), delay)
            deadline = time.monotonic() + delay
            while not stop.requested and time.monotonic() < deadline:
                time.sleep(0.05)
    return None


def main(env=None) -> int:
    log_mod.setup()
    try:
        config = config_mod.load(os.environ if env is None else env)
    except config_mod.ConfigError as err:
        print(err, file=sys.stderr)
        return 2

    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    metrics = WriterMetrics(config.topic)
    probes = Probes(metrics.registry)
    if config.http_port:
        try:
            serve(probes, config.http_port)
        except OSError as err:
            print(f"writer: cannot serve HTTP on port {config.http_port}: {err.strerror}", file=sys.stderr)
            return 2

    # Imported here so a configuration error never pays for loading the driver.
    from writer.store import CassandraStore

    log.info("Connecting cluster at %s with consistency %s for topic %s",
             config.seed_text, config.consistency, config.topic)
    cap = min(config.max_backoff, _STARTUP_MAX_BACKOFF)
    try:
        store = _retrying("connecting to Cassandra", lambda: CassandraStore.connect(config), stop, cap)
    except _Fatal as err:
        print(err, file=sys.stderr)
        return 2
    if store is None:
        return 0
    try:
        name = _retrying("reading the cluster name", store.cluster_name, stop, cap)
        if name is None:
            return 0
        log.info("Connected to cluster %s", name)
        if _retrying("creating the schema", lambda: store.ensure_schema() or True, stop, cap) is None:
            return 0
        log.info("Tables %s.prj04 and %s.prj04_last_seq ready.", config.keyspace, config.keyspace)
        start = _retrying("reading last_seq", store.read_last_seq, stop, cap)
        if start is None:
            return 0
        log.info("%s: start from lastSeq=%d", config.topic, start)

        loop = WriteLoop(store, config, start, observe_latency=metrics.latency.observe)
        metrics.attach(loop)
        probes.heartbeat = lambda: loop.heartbeat
        probes.ready = True
        stop.loop = loop
        if stop.requested:  # a signal between the checks above and here
            loop.request_stop()
        last = loop.run()
        probes.ready = False
        log.info("%s: stopped at seq %d (wrote %d rows in this run, %.0f seqs/s, %d retries, last_seq=%d)",
                 config.topic, last, loop.rows_written, loop.seqs_per_second, loop.retries, loop.stored)
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
