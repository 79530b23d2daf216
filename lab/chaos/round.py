"""One chaos round, the same for every fault: check, sample, inflict, (undo,) recover, verify.

1. ``fault.prepare``: the target is healthy (else one line, nothing touched); a restart-count snapshot.
2. Sample each writer's progress in the background (its /metrics, or last_seq via cqlsh), a baseline
   first; every deployed writer (one per topic) is watched.
3. ``fault.inject``; for a timed fault ``hold`` it ``down`` seconds, then ``restore`` (in a ``finally``:
   a failed or interrupted round never leaves a node stopped or a pod cut off).
4. ``fault.recover``: Ready (and UN) again; then every writer must write again within
   ``resume_timeout`` (a wedged writer fails the round), and sampling goes on ``settle`` seconds.
5. The writers' restarts since step 1; verify every seq of every writer's topic.

A failed recovery is recorded on the result (``error``), not raised: the data is still verified.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lab import kind as kind_mod
from lab import kubectl, names
from lab.cassandra import server_words
from lab.chaos import faults as faults_mod
from lab.chaos import watch
from lab.chaos.faults import Fault
from lab.chaos.results import RoundResult
from lab.chaos.sampling import CqlProgress, LastSeqReads, Sampler, metrics_progress
from lab.chaos.watch import ChaosSettings, Env
from lab.errors import CommandError, LabError
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.runner import Runner
from lab.stall import longest_stall
from lab.verify import TopicReport, verify
from lab.writers import Writer

log = logging.getLogger(__name__)


def as_fault(target: Fault | str, settings: ChaosSettings) -> Fault:
    """A Fault for ``target``; a bare pod name ('cassandra-1', 'writer', 'cassandra') as before faults."""
    if isinstance(target, Fault):
        return target
    kind = "all-pods" if target == "cassandra" else "pod"
    return faults_mod.make(kind, target, force=settings.force)


def run_round(runner: Runner, kube: Kubectl, target: Fault | str, number: int, settings: ChaosSettings, *,
              request_timeout: int = 120, clock: Callable[[], float] = time.time,
              sleep: Callable[[float], None] = time.sleep, make_progress=metrics_progress,
              kind: Kind | None = None) -> RoundResult:
    """One round of ``target`` (a Fault, or a pod name); returns what happened.

    ``make_progress(runner, kube, settings, writer)`` returns an object with ``read()``/``close()`` or None
    (then last_seq is read with cqlsh); tests pass a fake. Every deployed writer (one per topic) is sampled.
    """
    fault = as_fault(target, settings)
    env = Env(runner, kube, settings, clock, sleep, request_timeout=request_timeout, kind=kind)
    fault.validate(env)
    env.find_writers()
    if runner.dry:
        fault.dry_run(env)  # the plan: only the mutating commands print (readiness/progress are reads)
        return RoundResult(round=number, pod=fault.name, target=fault.target, force=fault.force,
                           deleted_at=clock(), fault=fault.kind, down_s=fault.down or None)

    fault.prepare(env)
    _favour_writer_nodes(env)
    restarts_before = watch.writer_restarts(env)
    watched = _start_sampling(env, fault, make_progress)
    sleep(min(3.0, settings.settle))  # a baseline before the fault
    # At least one reading of each writer before the fault, so "it wrote again" has something to compare with.
    kubectl.wait_until(lambda: all(w.sampler.highest() is not None for w in watched), timeout=15, every=0.5,
                       clock=clock, sleep=sleep)

    first = watched[0]
    result = RoundResult(round=number, pod=fault.name, target=fault.target, force=fault.force, deleted_at=clock(),
                         fault=fault.kind, down_s=fault.down or None, progress_source=first.source,
                         sample_every_s=first.every)
    try:
        try:
            fault.inject(env, result)
            if fault.timed:
                fault.hold(env, result)
        finally:
            fault.restore(env, result)
        fault.recover(env, result)
        if not result.error:
            _await_resume(env, result, watched)
        if not result.error:
            sleep(settings.settle)  # let a stalled writer show whether it keeps going
    finally:
        _stop_sampling(result, watched)
    result.writer_restarts = watch.restarts_since(restarts_before, watch.writer_restarts(env))
    if result.writer_restarts:
        result.writer_restart_causes = watch.writer_restart_causes(env, restarts_before)
        for cause in result.writer_restart_causes:
            env.note(result, "writer restarted", cause)
    _verify(env, result, fault.observer_pod())
    return result


def _favour_writer_nodes(env: Env) -> None:
    """The nodes of a kind cluster are containers sharing the host's cores. While a Cassandra node restarts,
    every node is busy, the writer's node gets a fifth of a 2-core host, and the writer waits in the run queue:
    0.1-0.4 s with nothing sent, a stall a cluster of real machines would not have. So the writers' nodes get
    four times the CPU weight of the others for the round (`invoke bench --lab`, 10 deletions back to back on
    one lab: the writer's longest gap 0.14 s median, worst 0.41, without; 0.10, worst 0.14, with; README run G).
    A tuning, not a condition: a cluster that is not kind's, or a Docker that refuses, leaves the round as is."""
    if env.kind is None:
        return
    pods = kubectl.pods(env.runner, env.kube, names.WRITER_SELECTOR)
    nodes = {pod.get("spec", {}).get("nodeName") or "" for pod in pods} - {""}
    try:
        favoured = kind_mod.weigh_nodes(env.runner, env.kind, nodes)
    except CommandError as err:
        log.warning("could not favour the writers' nodes with CPU weight: %s", err)
        return
    if favoured:
        log.info("writers' nodes favoured with CPU weight: %s", ", ".join(favoured))


@dataclass
class _Watched:
    """One writer's progress, sampled through the round."""

    writer: Writer
    progress: Any
    sampler: Sampler
    source: str
    every: float


def _start_sampling(env: Env, fault: Fault, make_progress) -> list[_Watched]:
    """A sampler per writer: its /metrics where a port-forward can last, else last_seq via cqlsh (one shared
    read for all topics)."""
    settings, watched = env.settings, []
    reads = LastSeqReads(env.cassandra(fault.observer_pod()))
    for writer in env.all_writers():
        progress = make_progress(env.runner, env.kube, settings, writer) if fault.sample_metrics(env) else None
        if progress is not None:
            source, every = f"metrics:{settings.metric}", settings.sample_every
        else:
            progress = CqlProgress(reads.cass, writer.topic, reads=reads)
            source, every = "cql:last_seq", max(settings.sample_every, CqlProgress.MIN_EVERY)
        sampler = Sampler(progress.read, every=every, clock=env.clock).start()
        watched.append(_Watched(writer, progress, sampler, source, every))
    return watched


def _stop_sampling(result: RoundResult, watched: list[_Watched]) -> None:
    """Stop every sampler; record the first writer's samples (the timeline) and each writer's longest stall.
    The round's ``stall_s`` is the longest of them all."""
    for entry in watched:
        samples = entry.sampler.stop()
        entry.progress.close()
        stall = longest_stall(samples)
        if entry is watched[0]:
            result.samples = len(samples)
            result.progress = [[round(t, 3), seq] for t, seq in samples]
        if len(watched) > 1:
            seqs = [seq for _, seq in samples if seq is not None]
            result.writers.append({"writer": entry.writer.name, "topic": entry.writer.topic,
                                   "consistency": entry.writer.consistency, "samples": len(samples),
                                   "seqs": [min(seqs), max(seqs)] if seqs else None,
                                   "stall_s": None if stall is None else round(stall.seconds, 2),
                                   "stall_open": bool(stall and stall.open)})
        if stall is not None and (result.stall_s is None or stall.seconds > result.stall_s):
            result.stall_s, result.stall_from_seq, result.stall_open = round(stall.seconds, 2), stall.seq, stall.open


#: Attempts and pause for the round's verify. Right after a fault a QUORUM read of a whole topic can
#: time out on the server (a replica that missed writes makes every read repair it, and the read
#: timeout is 5 s); a read that fails is retried, a read that succeeds is the answer, gaps or not.
VERIFY_ATTEMPTS, VERIFY_PAUSE = 5, 30.0


def _verify(env: Env, result: RoundResult, pod: str) -> None:
    for attempt in range(1, VERIFY_ATTEMPTS + 1):
        try:
            topics = [w.topic for w in env.all_writers() if w.topic]
            reports: list[TopicReport] = verify(env.cassandra(pod), topics=topics,
                                                consistency=env.settings.consistency)
            result.verify = [r.to_dict() for r in reports]
            return
        except LabError as err:  # an unrecovered cluster may not answer QUORUM: record it with the round
            why = server_words(err) or str(err)
            if attempt == VERIFY_ATTEMPTS:
                result.error = result.error or f"verify failed {attempt} times: {why}"
                return
            env.note(result, "verify", f"attempt {attempt} failed ({why}); again in {VERIFY_PAUSE:.0f}s")
            env.sleep(VERIFY_PAUSE)


def _await_resume(env: Env, result: RoundResult, watched: list[_Watched]) -> None:
    """After recovery every writer must write again: a seq above the highest it reached by the moment of
    recovery, within ``resume_timeout``. A writer that never stopped passes at its next sample."""
    since = result.up_normal_at or result.ready_at or env.clock()  # the moment it recovered

    def level(entry: _Watched) -> int | None:
        before = [seq for t, seq in list(entry.sampler.samples) if seq is not None and t <= since]
        return max(before) if before else None

    levels = [level(entry) for entry in watched]

    def first_new(entry: _Watched, above: int | None) -> float | None:
        return next((t for t, seq in list(entry.sampler.samples)
                     if seq is not None and (above is None or seq > above) and t >= since), None)

    def all_resumed() -> bool:
        return all(first_new(e, above) is not None for e, above in zip(watched, levels, strict=True))

    if kubectl.wait_until(all_resumed, timeout=env.settings.resume_timeout, every=0.5, clock=env.clock,
                          sleep=env.sleep):
        result.resumed_at = max(first_new(e, above) for e, above in zip(watched, levels, strict=True))
        return
    stuck = [(e, above) for e, above in zip(watched, levels, strict=True) if first_new(e, above) is None]
    names = [f"{e.writer.name} (topic {e.writer.topic})" for e, _ in stuck]
    who = "the writer" if len(watched) == 1 else ", ".join(names)
    at = ", ".join(str(above) if above is not None else "unknown" for _, above in stuck)
    result.error = (f"{who} wrote nothing within {env.settings.resume_timeout:.0f}s after recovery "
                    f"(stuck at seq {at}): wedged?")
