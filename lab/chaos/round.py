"""One chaos round, the same for every fault: check, sample, inflict, (undo,) recover, verify.

1. ``fault.prepare``: the target is healthy (else one line, nothing touched); a restart-count snapshot.
2. Sample the writer's progress in the background (its /metrics, or last_seq via cqlsh), a baseline
   first.
3. ``fault.inject``; for a timed fault ``hold`` it ``down`` seconds, then ``restore`` (in a ``finally``:
   a failed or interrupted round never leaves a node stopped or a pod cut off).
4. ``fault.recover``: Ready (and UN) again; then the writer must write again within
   ``resume_timeout`` (a wedged writer fails the round), and sampling goes on ``settle`` seconds.
5. The writer's restarts since step 1; verify every seq of the topic.

A failed recovery is recorded on the result (``error``), not raised: the data is still verified.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from lab import kubectl
from lab.chaos import faults as faults_mod
from lab.chaos import watch
from lab.chaos.faults import Fault
from lab.chaos.results import RoundResult
from lab.chaos.sampling import CqlProgress, Sampler, metrics_progress
from lab.chaos.watch import ChaosSettings, Env
from lab.errors import CommandError, LabError
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.runner import Runner
from lab.stall import longest_stall
from lab.verify import TopicReport, verify

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

    ``make_progress(runner, kube, settings)`` returns an object with ``read()``/``close()`` or None (then
    last_seq is read with cqlsh); tests pass a fake.
    """
    fault = as_fault(target, settings)
    env = Env(runner, kube, settings, clock, sleep, request_timeout=request_timeout, kind=kind)
    fault.validate(env)
    if runner.dry:
        fault.dry_run(env)  # the plan: only the mutating commands print (readiness/progress are reads)
        return RoundResult(round=number, pod=fault.name, target=fault.target, force=fault.force,
                           deleted_at=clock(), fault=fault.kind, down_s=fault.down or None)

    fault.prepare(env)
    restarts_before = watch.writer_restarts(runner, kube)
    progress = make_progress(runner, kube, settings) if fault.sample_metrics(env) else None
    if progress is not None:
        source, every = f"metrics:{settings.metric}", settings.sample_every
    else:
        progress = CqlProgress(env.cassandra(fault.observer_pod()), settings.topic)
        source, every = "cql:last_seq", max(settings.sample_every, CqlProgress.MIN_EVERY)
    sampler = Sampler(progress.read, every=every, clock=clock).start()
    sleep(min(3.0, settings.settle))  # a baseline before the fault
    # At least one reading before the fault, so "the writer wrote again" has something to compare with.
    kubectl.wait_until(lambda: sampler.highest() is not None, timeout=15, every=0.5, clock=clock, sleep=sleep)

    result = RoundResult(round=number, pod=fault.name, target=fault.target, force=fault.force, deleted_at=clock(),
                         fault=fault.kind, down_s=fault.down or None, progress_source=source, sample_every_s=every)
    try:
        try:
            fault.inject(env, result)
            if fault.timed:
                fault.hold(env, result)
        finally:
            fault.restore(env, result)
        fault.recover(env, result)
        if not result.error:
            _await_resume(env, result, sampler)
        if not result.error:
            sleep(settings.settle)  # let a stalled writer show whether it keeps going
    finally:
        samples = sampler.stop()
        progress.close()
        stall = longest_stall(samples)
        result.samples = len(samples)
        result.progress = [[round(t, 3), seq] for t, seq in samples]
        if stall is not None:
            result.stall_s, result.stall_from_seq, result.stall_open = round(stall.seconds, 2), stall.seq, stall.open
    result.writer_restarts = watch.restarts_since(restarts_before, watch.writer_restarts(runner, kube))
    if result.writer_restarts:
        result.writer_restart_causes = watch.writer_restart_causes(runner, kube, restarts_before)
        for cause in result.writer_restart_causes:
            env.note(result, "writer restarted", cause)
    _verify(env, result, fault.observer_pod())
    return result


#: Attempts and pause for the round's verify. Right after a fault a QUORUM read of a whole topic can
#: time out on the server (a replica that missed writes makes every read repair it, and the read
#: timeout is 5 s); a read that fails is retried, a read that succeeds is the answer, gaps or not.
VERIFY_ATTEMPTS, VERIFY_PAUSE = 5, 30.0


def _verify(env: Env, result: RoundResult, pod: str) -> None:
    for attempt in range(1, VERIFY_ATTEMPTS + 1):
        try:
            reports: list[TopicReport] = verify(env.cassandra(pod), topics=[env.settings.topic],
                                                consistency=env.settings.consistency)
            result.verify = [r.to_dict() for r in reports]
            return
        except LabError as err:  # an unrecovered cluster may not answer QUORUM: record it with the round
            why = _server_error(err) or str(err)
            if attempt == VERIFY_ATTEMPTS:
                result.error = result.error or f"verify failed {attempt} times: {why}"
                return
            env.note(result, "verify", f"attempt {attempt} failed ({why}); again in {VERIFY_PAUSE:.0f}s")
            env.sleep(VERIFY_PAUSE)


def _server_error(err: LabError) -> str:
    """Cassandra's own words from a failed cqlsh (ReadTimeout, Unavailable ...), which kubectl's last
    line ("command terminated with exit code 2") hides."""
    cause = err if isinstance(err, CommandError) else err.__cause__
    if not isinstance(cause, CommandError):
        return ""
    lines = [line.strip() for line in f"{cause.stdout}\n{cause.stderr}".splitlines()]
    return next((line for line in reversed(lines) if "Error" in line or "Timeout" in line or "Unavailable" in line), "")


def _await_resume(env: Env, result: RoundResult, sampler: Sampler) -> None:
    """After recovery the writer must write again: a seq above the highest seen by the moment of recovery,
    within ``resume_timeout``. A writer that never stopped passes at its next sample."""
    since = result.up_normal_at or result.ready_at or env.clock()  # the moment it recovered
    before = [seq for t, seq in list(sampler.samples) if seq is not None and t <= since]
    level = max(before) if before else None

    def first_new() -> float | None:
        return next((t for t, seq in list(sampler.samples)
                     if seq is not None and (level is None or seq > level) and t >= since), None)

    if kubectl.wait_until(lambda: first_new() is not None, timeout=env.settings.resume_timeout, every=0.5,
                          clock=env.clock, sleep=env.sleep):
        result.resumed_at = first_new()
        return
    result.error = (f"the writer wrote nothing within {env.settings.resume_timeout:.0f}s after recovery "
                    f"(stuck at seq {level if level is not None else 'unknown'}): wedged?")
