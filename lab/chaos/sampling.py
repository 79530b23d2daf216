"""Sampling the writer's progress during a round: a background sampler over one of two readers.

- ``MetricsProgress``: the writer's /metrics gauge through ``kubectl port-forward`` (sub-second).
- ``CqlProgress``: ``ece573.prj04_last_seq`` via cqlsh in a Cassandra pod (1-2 s a read), for rounds
  where a port-forward cannot last (the writer itself is the target, or its node is) or the metric is
  absent.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable

from lab import names
from lab.cassandra import Cassandra
from lab.kubectl import Kubectl
from lab.net import free_port
from lab.runner import Runner
from lab.stall import Sample
from lab.writers import Writer

log = logging.getLogger(__name__)

_METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_metric(text: str, name: str, *, labels: dict[str, str] | None = None) -> float | None:
    """The value of ``name`` in Prometheus text exposition; with several series, the largest that matches
    ``labels``. None when absent."""
    found: list[float] = []
    for line in text.splitlines():
        match = _METRIC_LINE.match(line)
        if not match or match.group(1) != name:
            continue
        series = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if labels and any(series.get(k) != v for k, v in labels.items()):
            continue
        try:
            found.append(float(match.group(3)))
        except ValueError:
            continue
    return max(found) if found else None


def parse_acks(text: str) -> dict:
    """The writer's /acks answer: ``{"topic", "now", "capacity", "oldest", "advances": [[t, seq], ...]}``, every
    advance of its acknowledged prefix at or after the asked ``since`` (wall-clock seconds), in order, preceded by
    the last one before it. ValueError when it is not that shape."""
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("advances"), list):
        raise ValueError("not an /acks answer (no advances list)")
    data["advances"] = [[float(t), int(seq)] for t, seq in data["advances"]]
    return data


class Sampler:
    """Calls ``read()`` every ``every`` seconds in a thread, keeping (time, seq-or-None) samples."""

    def __init__(self, read: Callable[[], int | None], *, every: float, clock: Callable[[], float] = time.time):
        self.read = read
        self.every = every
        self.clock = clock
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join(timeout=max(5.0, self.every * 4))
        return list(self.samples)

    def highest(self) -> int | None:
        """The highest seq read so far (None before the first good read)."""
        seqs = [s for _, s in list(self.samples) if s is not None]
        return max(seqs) if seqs else None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                value = self.read()
            except Exception as err:  # a failed read is data (a gap in samples), not a reason to stop
                log.debug("progress read failed: %s", err)
                value = None
            self.samples.append((self.clock(), value))
            self._stop.wait(self.every)


class MetricsProgress:
    """The writer's progress metric over ``kubectl port-forward deployment/<writer>``.

    A port-forward ends when its connection to the pod breaks (the writer's pod moved, its node
    stopped); ``read`` then opens a new one, so sampling resumes once a writer answers again.
    """

    #: Seconds between attempts to reopen a dead port-forward.
    REOPEN_EVERY = 5.0

    def __init__(self, runner: Runner, kube: Kubectl, *, remote_port: int, metric: str, topic: str,
                 deployment: str = names.WRITER_DEPLOYMENT):
        self.runner, self.kube = runner, kube
        self.remote_port, self.metric, self.topic, self.deployment = remote_port, metric, topic, deployment
        self.local_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._opened = 0.0

    def _open(self) -> None:
        argv = self.kube.port_forward_args(f"deployment/{self.deployment}", self.local_port, self.remote_port)
        # kubectl prints "Handling connection for ..." per scrape; nobody reads it, and an unread pipe
        # would fill up and stall the forward during a long round.
        self.proc = self.runner.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._opened = time.monotonic()

    def start(self, *, timeout: float = 15) -> bool:
        """Open the port-forward and scrape once; False when the metric is not there (caller falls back)."""
        self._open()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.read() is not None:
                    return True
            except OSError:
                pass
            time.sleep(0.5)
        self.close()
        return False

    def scrape(self) -> str:
        """The writer's /metrics text (reopening a port-forward that died)."""
        return self._get("/metrics")

    def read(self) -> int | None:
        text = self.scrape()
        value = parse_metric(text, self.metric, labels={"topic": self.topic})
        if value is None:
            value = parse_metric(text, self.metric)
        return None if value is None else int(value)

    def acks(self, since: float) -> dict | None:
        """The writer's record of its acknowledged prefix's advances since ``since`` (GET /acks, see
        ``parse_acks``), or None when it serves none (an older writer image, or no writer answers)."""
        try:
            return parse_acks(self._get(f"/acks?since={since:.3f}", timeout=5))
        except Exception as err:  # any failure (404, a broken answer, a dead forward) means: use the samples
            log.info("%s: no /acks (%s); the stall comes from the samples", self.deployment, err)
            return None

    def _get(self, path: str, *, timeout: float = 2) -> str:
        if (
            self.proc is not None
            and self.proc.poll() is not None
            and time.monotonic() - self._opened > self.REOPEN_EVERY
        ):
            log.debug("port-forward exited (%s); reopening", self.proc.returncode)
            self._open()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.local_port}{path}", timeout=timeout) as resp:
            return resp.read().decode()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()


class LastSeqReads:
    """Every topic's ``last_seq``, read with cqlsh at ONE (any live replica answers) and shared between the
    samplers of several writers: one read serves each topic once, so N writers cost one cqlsh a tick, not N."""

    def __init__(self, cass: Cassandra):
        self.cass = cass
        self._lock = threading.Lock()
        self._value: dict[str, int] | None = None
        self._served: set[str] = set()

    def get(self, topic: str) -> int | None:
        with self._lock:
            if self._value is None or topic in self._served:
                self._value, self._served = self.cass.last_seqs(consistency="ONE"), set()
            self._served.add(topic)
            return self._value.get(topic)


class CqlProgress:
    """``last_seq`` of one topic, from ``LastSeqReads``."""

    #: cqlsh costs ~1-2 s a call; sampling faster only queues calls.
    MIN_EVERY = 1.0

    def __init__(self, cass: Cassandra, topic: str, *, reads: LastSeqReads | None = None):
        self.reads, self.topic = reads or LastSeqReads(cass), topic

    def read(self) -> int | None:
        return self.reads.get(self.topic)

    def close(self) -> None:
        pass


def metrics_progress(runner: Runner, kube: Kubectl, settings, writer: Writer | None = None) -> MetricsProgress | None:
    """The default ``make_progress``: ``writer``'s /metrics (default: the first writer's), or None (then the
    round reads cqlsh)."""
    writer = writer or Writer(settings.topic)
    progress = MetricsProgress(runner, kube, remote_port=settings.metrics_port, metric=settings.metric,
                               topic=writer.topic, deployment=writer.name)
    if progress.start():
        return progress
    log.info("%s's metric %s not reachable; sampling last_seq with cqlsh", writer.name, settings.metric)
    return None
