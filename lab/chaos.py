"""Chaos rounds: delete a pod, time its recovery and the writer's longest stall, then verify the data.

A round: check the target is Ready (and every Cassandra node UN); sample the writer's progress in the
background; ``kubectl delete pod``; wait until a new pod is Ready (and UN again, for Cassandra); sample a
little longer; compare the writer's restart count; run verify. The arithmetic (``longest_stall``,
``parse_metric``, ``replaced_and_ready``) is pure and tested on recorded samples.

Progress comes from the writer's /metrics through ``kubectl port-forward`` (sub-second samples), or from
``ece573.prj04_last_seq`` via cqlsh when the writer itself is the target (a port-forward dies with its pod)
or the metric is absent.
"""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from lab import kubectl
from lab.cassandra import Cassandra, all_up_normal
from lab.errors import LabError, PreconditionError
from lab.kubectl import Kubectl
from lab.runner import Runner
from lab.verify import TopicReport, verify

log = logging.getLogger(__name__)

CASSANDRA_REPLICAS = 3

Sample = tuple[float, "int | None"]


# -- pure ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stall:
    """The longest time the writer's progress stood still: from ``start`` (first sample at ``seq``) to
    ``end`` (first sample past it); ``open`` when it had not moved again by the last sample."""

    seconds: float
    start: float
    end: float
    seq: int
    open: bool = False


def longest_stall(samples: list[Sample]) -> Stall | None:
    """Longest plateau in (time, seq) samples; failed reads (seq None) neither start nor end one.

    Resolution is the sampling interval: a writer that never stops shows stalls of about one interval.
    """
    points = sorted((t, s) for t, s in samples if s is not None)
    if len(points) < 2:
        return None
    best: Stall | None = None
    since, level = points[0]
    for t, seq in points[1:]:
        if seq > level:
            if best is None or t - since > best.seconds:
                best = Stall(t - since, since, t, level)
            since, level = t, seq
    last_t = points[-1][0]
    if last_t > since and (best is None or last_t - since > best.seconds):
        best = Stall(last_t - since, since, last_t, level, open=True)
    return best


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


def replaced_and_ready(items: list[dict[str, Any]], old_uids: set[str], *, name: str | None = None) -> dict | None:
    """The Ready pod that replaced the deleted one (a new uid; same name for a StatefulSet pod), or None."""
    for pod in items:
        if name and pod.get("metadata", {}).get("name") != name:
            continue
        if kubectl.pod_uid(pod) not in old_uids and kubectl.pod_ready(pod):
            return pod
    return None


@dataclass
class RoundResult:
    """One chaos round, as written to artifacts/chaos/<stamp>-round<N>.json."""

    round: int
    pod: str
    target: str  # "cassandra" or "writer"
    force: bool
    deleted_at: float
    ready_at: float | None = None
    up_normal_at: float | None = None
    recovery_s: float | None = None
    stall_s: float | None = None
    stall_from_seq: int | None = None
    stall_open: bool = False
    progress_source: str = ""
    sample_every_s: float = 0.0
    samples: int = 0
    progress: list[list[Any]] = field(default_factory=list)  # [time, seq or None]: the stall's evidence
    writer_restarts: int = 0
    verify: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""

    @property
    def lost_rows(self) -> int:
        return sum(t.get("missing", 0) for t in self.verify)

    @property
    def ok(self) -> bool:
        return not self.error and self.lost_rows == 0 and self.recovery_s is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(lost_rows=self.lost_rows, ok=self.ok)
        return data


def summary_rows(results: list[RoundResult]) -> list[list[str]]:
    """Rows for the terminal table, one per round."""
    def secs(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"
    return [[str(r.round), r.pod, secs(r.recovery_s), secs(r.stall_s) + ("+" if r.stall_open else ""),
             str(r.writer_restarts), str(r.lost_rows), "ok" if r.ok else (r.error or "LOST ROWS")] for r in results]


SUMMARY_HEADERS = ["round", "pod", "recovery s", "writer stall s", "writer restarts", "lost rows", "result"]


# -- progress samplers ---------------------------------------------------------------------------------

class Sampler:
    """Calls ``read()`` every ``every`` seconds in a thread, keeping (time, seq-or-None) samples."""

    def __init__(self, read: Callable[[], int | None], *, every: float, clock: Callable[[], float] = time.time):
        self.read = read
        self.every = every
        self.clock = clock
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> "Sampler":
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join(timeout=max(5.0, self.every * 4))
        return list(self.samples)

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
    """The writer's progress metric over ``kubectl port-forward deployment/<writer>``."""

    def __init__(self, runner: Runner, kube: Kubectl, *, remote_port: int, metric: str, topic: str):
        self.runner, self.kube = runner, kube
        self.remote_port, self.metric, self.topic = remote_port, metric, topic
        self.local_port = _free_port()
        self.proc = None

    def start(self, *, timeout: float = 15) -> bool:
        """Open the port-forward and scrape once; False when the metric is not there (caller falls back)."""
        argv = self.kube.port_forward_args(f"deployment/{kubectl.WRITER_DEPLOYMENT}", self.local_port, self.remote_port)
        # kubectl prints "Handling connection for ..." per scrape; nobody reads it, and an unread pipe
        # would fill up and stall the forward during a long round.
        self.proc = self.runner.spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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

    def read(self) -> int | None:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.local_port}/metrics", timeout=2) as resp:
            text = resp.read().decode()
        value = parse_metric(text, self.metric, labels={"topic": self.topic})
        if value is None:
            value = parse_metric(text, self.metric)
        return None if value is None else int(value)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- a round -------------------------------------------------------------------------------------------

@dataclass
class ChaosSettings:
    topic: str
    consistency: str = "QUORUM"
    sample_every: float = 0.5
    settle: float = 10.0
    timeout: float = 600.0
    metrics_port: int = 8080
    metric: str = "writer_last_seq"
    force: bool = False


def target_kind(pod: str) -> str:
    if re.fullmatch(r"cassandra-\d+", pod):
        return "cassandra"
    if pod == "writer" or pod.startswith(kubectl.WRITER_DEPLOYMENT):
        return "writer"
    raise PreconditionError(f"--pod {pod!r}: name a Cassandra pod (cassandra-0..2) or the writer ('writer')")


def restart_counts(items: list[dict[str, Any]]) -> dict[str, int]:
    """uid -> container restarts, for the writer's pods."""
    return {kubectl.pod_uid(p): kubectl.pod_restarts(p) for p in items}


def restarts_since(before: dict[str, int], after: dict[str, int]) -> int:
    """Restarts that happened between two snapshots: growth of surviving pods plus all restarts of new
    pods (a deleted pod takes its count with it; a replacement pod starts from 0)."""
    return sum(max(0, count - before.get(uid, 0)) for uid, count in after.items())


def writer_restarts(runner: Runner, kube: Kubectl) -> dict[str, int]:
    return restart_counts(kubectl.pods(runner, kube, kubectl.WRITER_SELECTOR))


def _probe_pod(pod: str) -> str:
    """A Cassandra pod other than the target to run cqlsh/nodetool in while the target is down."""
    return "cassandra-1" if pod == "cassandra-0" else "cassandra-0"


def _metrics_progress(runner: Runner, kube: Kubectl, settings: ChaosSettings) -> MetricsProgress | None:
    progress = MetricsProgress(runner, kube, remote_port=settings.metrics_port, metric=settings.metric,
                               topic=settings.topic)
    if progress.start():
        return progress
    log.info("writer metric %s not reachable; sampling last_seq with cqlsh", settings.metric)
    return None


def _dry_round(runner: Runner, kube: Kubectl, pod: str, target: str, number: int, settings: ChaosSettings,
               clock: Callable[[], float]) -> RoundResult:
    """The plan only: the deletion is the one mutating command (readiness and progress are read-only)."""
    victim = pod
    if target == "writer":
        try:
            ready = [p for p in kubectl.pods(runner, kube, kubectl.WRITER_SELECTOR) if kubectl.pod_ready(p)]
        except LabError:
            ready = []
        victim = ready[0]["metadata"]["name"] if ready else f"<a Ready pod of {kubectl.WRITER_SELECTOR}>"
    runner.run(kube.delete_pod_args(victim, force=settings.force), timeout=120)
    return RoundResult(round=number, pod=victim, target=target, force=settings.force, deleted_at=clock())


def run_round(runner: Runner, kube: Kubectl, pod: str, number: int, settings: ChaosSettings, *,
              request_timeout: int = 120, clock: Callable[[], float] = time.time,
              sleep: Callable[[float], None] = time.sleep, make_progress=_metrics_progress) -> RoundResult:
    """One round against ``pod`` ('cassandra-N' or 'writer'); a failed recovery is recorded, not raised.

    ``make_progress(runner, kube, settings)`` returns an object with ``read()``/``close()`` or None (then
    last_seq is read with cqlsh); tests pass a fake.
    """
    target = target_kind(pod)
    cass = Cassandra(runner, kube, pod=_probe_pod(pod), request_timeout=request_timeout)
    if runner.dry:
        return _dry_round(runner, kube, pod, target, number, settings, clock)

    if target == "cassandra":
        before = kubectl.get_json(runner, kube, "pod", pod)
        if before is None or not kubectl.pod_ready(before):
            raise PreconditionError(f"{pod} is not Ready; run `invoke status` and wait before a chaos round")
        old_uids = {kubectl.pod_uid(before)}
        victim = pod
    else:
        items = kubectl.pods(runner, kube, kubectl.WRITER_SELECTOR)
        ready = [p for p in items if kubectl.pod_ready(p)]
        if not ready:
            raise PreconditionError("no Ready writer pod; run `invoke deploy` first")
        old_uids = {kubectl.pod_uid(p) for p in items}
        victim = ready[0]["metadata"]["name"]
    restarts_before = writer_restarts(runner, kube)

    progress = None
    if target == "cassandra":
        progress = make_progress(runner, kube, settings)
    if progress is not None:
        read, source, every = progress.read, f"metrics:{settings.metric}", settings.sample_every
    else:
        def read() -> int | None:
            return cass.last_seqs(consistency="ONE").get(settings.topic)
        # cqlsh costs ~1-2 s a call; sampling faster only queues calls.
        source, every = "cql:last_seq", max(settings.sample_every, 1.0)
    sampler = Sampler(read, every=every, clock=clock).start()
    sleep(min(3.0, settings.settle))  # a baseline before the deletion

    result = RoundResult(round=number, pod=victim, target=target, force=settings.force, deleted_at=clock(),
                         progress_source=source, sample_every_s=every)
    try:
        runner.run(kube.delete_pod_args(victim, force=settings.force), timeout=120)
        _await_recovery(runner, kube, cass, pod, target, old_uids, result, settings, clock=clock, sleep=sleep)
        if not result.error:
            sleep(settings.settle)  # let a stalled writer show whether it resumes
    finally:
        samples = sampler.stop()
        if progress is not None:
            progress.close()
        stall = longest_stall(samples)
        result.samples = len(samples)
        result.progress = [[round(t, 3), seq] for t, seq in samples]
        if stall is not None:
            result.stall_s, result.stall_from_seq, result.stall_open = round(stall.seconds, 2), stall.seq, stall.open
    result.writer_restarts = restarts_since(restarts_before, writer_restarts(runner, kube))
    try:
        reports: list[TopicReport] = verify(cass, topics=[settings.topic], consistency=settings.consistency)
        result.verify = [r.to_dict() for r in reports]
    except LabError as err:  # an unrecovered cluster may not answer QUORUM: record it with the round
        result.error = result.error or f"verify failed: {err}"
    return result


def _await_recovery(runner: Runner, kube: Kubectl, cass: Cassandra, pod: str, target: str, old_uids: set[str],
                    result: RoundResult, settings: ChaosSettings, *, clock, sleep) -> None:
    """Wait for a new Ready pod (and every node UN, for Cassandra); record times or the error."""
    selector = kubectl.CASSANDRA_SELECTOR if target == "cassandra" else kubectl.WRITER_SELECTOR

    def replaced() -> bool:
        items = kubectl.pods(runner, kube, selector)
        return replaced_and_ready(items, old_uids, name=pod if target == "cassandra" else None) is not None

    if not kubectl.wait_until(replaced, timeout=settings.timeout, every=1.0, clock=clock, sleep=sleep):
        result.error = f"{pod} not Ready within {settings.timeout:.0f}s"
        return
    result.ready_at = clock()
    result.recovery_s = round(result.ready_at - result.deleted_at, 2)
    if target != "cassandra":
        return

    def up_normal() -> bool:
        try:
            return all_up_normal(cass.nodetool_status(), CASSANDRA_REPLICAS)
        except LabError:
            return False

    if not kubectl.wait_until(up_normal, timeout=settings.timeout, every=2.0, clock=clock, sleep=sleep):
        result.error = f"not every node UN within {settings.timeout:.0f}s"
        return
    result.up_normal_at = clock()
    result.recovery_s = round(result.up_normal_at - result.deleted_at, 2)


# -- rounds ---------------------------------------------------------------------------------------------

def run_rounds(lab, pod: str, *, rounds: int, interval: float, force: bool = False,
               sleep: Callable[[float], None] = time.sleep) -> list[RoundResult]:
    """``rounds`` rounds against ``pod``, ``interval`` seconds apart: a table on stdout, one JSON file per
    round under <artifacts>/chaos/. Raises LabError (exit 1) when any round lost rows or did not recover."""
    from lab import plot, reporting, status
    from lab.workflow import _require_cluster, guard_context

    cfg = lab.cfg
    if rounds < 1:
        raise PreconditionError(f"--rounds {rounds}: need at least 1")
    target_kind(pod)
    guard_context(cfg, action="delete pods")
    _require_cluster(lab)
    chaos_cfg = cfg.chaos
    settings = ChaosSettings(topic=cfg.topic, consistency=str(cfg.verify.get("consistency", "QUORUM")),
                             sample_every=float(chaos_cfg.get("sample_every", 0.5)),
                             settle=float(chaos_cfg.get("settle", 10)), timeout=float(cfg.timeouts.pod),
                             metrics_port=int(chaos_cfg.get("metrics_port", 8080)),
                             metric=str(chaos_cfg.get("metric", "writer_last_seq")), force=force)
    stamp = reporting.timestamp()
    folder = cfg.path(cfg.artifacts) / "chaos"
    results = []
    for number in range(1, rounds + 1):
        if number > 1:
            sleep(interval)
        with status.step(f"Chaos round {number}/{rounds}: delete {pod}{' (forced)' if force else ''}") as s:
            result = run_round(lab.runner, lab.kube, pod, number, settings,
                               request_timeout=int(cfg.verify.get("request_timeout", 120)))
            if not lab.runner.dry:
                path = reporting.write_json(folder / f"{stamp}-round{number}.json", result.to_dict())
                plot.plot_beside(path)  # the timeline PNG beside the JSON (lab.plot); never fails a round
                s.note(f"{'ok' if result.ok else 'FAILED'}; {path.relative_to(cfg.root) if path.is_relative_to(cfg.root) else path}")
        results.append(result)
    if lab.runner.dry:
        return results
    reporting.table(SUMMARY_HEADERS, summary_rows(results), title=f"Chaos: {pod}, {rounds} round(s), topic {cfg.topic}")
    failed = [r for r in results if not r.ok]
    if failed:
        lost = sum(r.lost_rows for r in failed)
        raise LabError(f"chaos: {len(failed)} of {len(results)} round(s) failed"
                       + (f", {lost} row(s) missing" if lost else f": {failed[0].error}"))
    return results
