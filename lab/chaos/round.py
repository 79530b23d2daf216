"""One chaos round, the same for every fault: check, sample, inflict, (undo,) recover, verify.

1. ``fault.prepare``: the target is healthy (else one line, nothing touched); a restart-count snapshot.
2. Sample each writer's progress in the background (its acknowledged prefix on /metrics, or last_seq via
   cqlsh), a baseline first; every deployed writer (one per topic) is watched. What the samples saw is the
   round's witness: the highest seq acknowledged before the fault, and the highest at any moment.
3. ``fault.inject``; for a timed fault ``hold`` it ``down`` seconds, then ``restore`` (in a ``finally``:
   a failed or interrupted round never leaves a node stopped or a pod cut off).
4. ``fault.recover``: Ready (and UN) again; then every writer must write again within
   ``resume_timeout`` (a wedged writer fails the round), and sampling goes on ``settle`` seconds.
5. Each writer's record of its acknowledged advances (/acks) gives its longest time with no acknowledged
   progress (a writer of your own that serves no /metrics: its progress stall, the plateau of the last_seq it
   stored, read with cqlsh, and named so); the writers' restarts since step 1; verify every seq of every
   writer's topic up to the higher of the stored last_seq and the witness, and the stored last_seq against
   what was witnessed before the fault.

A failed recovery is recorded on the result (``error``), not raised: the data is still verified.
With ``--cpu-weight`` (off by default) the writers' kind nodes get more CPU weight for the round, restored
after it whatever happens; the round records it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab import kind as kind_mod
from lab import kubectl, names
from lab.cassandra import server_words
from lab.chaos import faults as faults_mod
from lab.chaos import watch
from lab.chaos.faults import Fault
from lab.chaos.results import CQL_SOURCE, PROGRESS_STALL, RoundResult
from lab.chaos.sampling import CqlProgress, LastSeqReads, Sampler, metrics_progress
from lab.chaos.watch import ChaosSettings, Env
from lab.config import VerifyGroup
from lab.errors import CommandError, LabError
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.runner import Runner
from lab.stall import Stall, ack_samples, covers, longest_stall
from lab.verify import WATERMARK_METRIC, TopicReport, Witness, value_checks, verify
from lab.writers import Writer

log = logging.getLogger(__name__)


def as_fault(target: Fault | str, settings: ChaosSettings) -> Fault:
    """A Fault for ``target``; a bare pod name ('cassandra-1', 'writer', 'cassandra') as before faults."""
    if isinstance(target, Fault):
        return target
    fault_type = "all-pods" if target == "cassandra" else "pod"
    return faults_mod.make(fault_type, target, force=settings.force)


def run_round(runner: Runner, kube: Kubectl, target: Fault | str, number: int, settings: ChaosSettings, *,
              request_timeout: int = VerifyGroup.request_timeout, clock: Callable[[], float] = time.time,
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
                           deleted_at=clock(), fault=fault.type, down_s=fault.down or None)

    fault.prepare(env)
    weighted = _favour_writer_nodes(env) if settings.cpu_weight else False
    try:
        return _run(env, fault, number, make_progress, weighted)
    finally:
        if weighted:
            _restore_cpu_weight(env)


def _run(env: Env, fault: Fault, number: int, make_progress, weighted: bool) -> RoundResult:
    """The round from its baseline to verify, the fault prepared (``run_round``)."""
    settings, clock, sleep = env.settings, env.clock, env.sleep
    restarts_before = watch.writer_restarts(env)
    watched = _start_sampling(env, fault, make_progress)
    sleep(min(3.0, settings.settle))  # a baseline before the fault
    # At least one reading of each writer before the fault, so "it wrote again" has something to compare with.
    kubectl.wait_until(lambda: all(w.sampler.highest() is not None for w in watched), timeout=15, every=0.5,
                       clock=clock, sleep=sleep)

    _witness_before_fault(env, watched, make_progress)
    first = watched[0]
    result = RoundResult(round=number, pod=fault.name, target=fault.target, force=fault.force, deleted_at=clock(),
                         fault=fault.type, down_s=fault.down or None, progress_source=first.source,
                         sample_every_s=first.every, cpu_weight=weighted)
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
        _stop_sampling(env, result, watched)
    result.writer_restarts = watch.restarts_since(restarts_before, watch.writer_restarts(env))
    if result.writer_restarts:
        result.writer_restart_causes = watch.writer_restart_causes(env, restarts_before)
        for cause in result.writer_restart_causes:
            env.note(result, "writer restarted", cause)
    _verify(env, result, fault.observer_pod(), watched)
    return result


def _favour_writer_nodes(env: Env) -> bool:
    """``--cpu-weight``: the writers' kind nodes get four times the CPU weight of the others for the round.

    The nodes of a kind cluster are containers sharing the host's cores; while a Cassandra node restarts every
    node is busy and the writer waits in the run queue, a wait a cluster of real machines would not have. The
    weight removes that wait, and with it part of what the round measures: it also takes CPU from whatever else
    runs on those nodes (a writer has no anti-affinity, so the victim or the pod whose nodetool ends recovery may
    share its node). So it is off unless asked for, recorded on the round, and undone after it. Returns whether
    any node was weighted (a cluster that is not kind's, or a Docker that refuses, leaves the round as is)."""
    if env.kind is None:
        return False
    pods = kubectl.pods(env.runner, env.kube, names.WRITER_SELECTOR)
    nodes = {pod.get("spec", {}).get("nodeName") or "" for pod in pods} - {""}
    try:
        favoured = kind_mod.weigh_nodes(env.runner, env.kind, nodes)
    except CommandError as err:
        log.warning("could not favour the writers' nodes with CPU weight: %s", err)
        _restore_cpu_weight(env)  # some nodes may have been changed before the refusal
        return False
    if favoured:
        log.info("writers' nodes favoured with CPU weight: %s", ", ".join(favoured))
    return bool(favoured)


def _restore_cpu_weight(env: Env) -> None:
    """Every node of the cluster back to Docker's default CPU weight (a failure is logged: the round's data
    stands, but the weight would stay)."""
    if env.kind is None:  # only a round on kind weighs nodes
        return
    try:
        kind_mod.reset_weights(env.runner, env.kind)
    except CommandError as err:
        log.warning("could not restore Docker's default CPU weight on the kind nodes: %s", err)


@dataclass
class _Watched:
    """One writer's progress, sampled through the round."""

    writer: Writer
    progress: Any
    sampler: Sampler
    source: str
    every: float
    started_at: float = 0.0
    samples: list = field(default_factory=list)  # all of them, once sampling stopped
    #: The writer's acknowledged prefix read once just before the fault, where the round samples cqlsh instead.
    before_fault: int | None = None
    #: Its /metrics was asked for and did not answer: a writer of your own that serves none (or not yet).
    no_metrics: bool = False


def _start_sampling(env: Env, fault: Fault, make_progress) -> list[_Watched]:
    """A sampler per writer: its /metrics where a port-forward can last, else last_seq via cqlsh (one shared
    read for all topics)."""
    settings, watched = env.settings, []
    reads = LastSeqReads(env.cassandra(fault.observer_pod()))
    for writer in env.all_writers():
        asked = fault.sample_metrics(env)
        progress = make_progress(env.runner, env.kube, settings, writer) if asked else None
        if progress is not None:
            source, every = f"metrics:{settings.metric}", settings.sample_every
        else:
            progress = CqlProgress(reads.cass, writer.topic, reads=reads)
            source, every = CQL_SOURCE, max(settings.sample_every, CqlProgress.MIN_EVERY)
        started_at = env.clock()
        sampler = Sampler(progress.read, every=every, clock=env.clock).start()
        watched.append(_Watched(writer, progress, sampler, source, every, started_at,
                                no_metrics=asked and source == CQL_SOURCE))
    return watched


def _witness_before_fault(env: Env, watched: list[_Watched], make_progress) -> None:
    """Where the round samples last_seq with cqlsh (a port-forward to the writer cannot last through this fault),
    one reading of each writer's acknowledged prefix on its /metrics just before the fault, while it still answers:
    the witness stays outside Cassandra. A writer that does not answer leaves the cqlsh samples as the witness."""
    if env.settings.metric != WATERMARK_METRIC:
        return
    for entry in watched:
        if entry.source != CQL_SOURCE or entry.writer.mode == "seed" or entry.no_metrics:
            continue  # a writer that served no /metrics a moment ago is not asked again
        progress = None
        try:
            progress = make_progress(env.runner, env.kube, env.settings, entry.writer)
            entry.before_fault = progress.read() if progress is not None else None
        except (OSError, ValueError, LabError) as err:
            log.info("%s: no reading of its acknowledged prefix before the fault: %s", entry.writer.name, err)
        finally:
            if progress is not None:
                progress.close()


def _stop_sampling(env: Env, result: RoundResult, watched: list[_Watched]) -> None:
    """Stop every sampler; record the first writer's samples (the timeline), each writer's longest stall (sampled,
    and by acknowledgement) and what it was seen to acknowledge. The round's stalls are the longest of them all."""
    for entry in watched:
        samples = entry.sampler.stop()
        ended_at = env.clock()
        ack = _ack_stall(entry, samples, ended_at, result)
        entry.progress.close()
        entry.samples = samples
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
        if ack is not None and (result.ack_stall_s is None or ack["stall_s"] > result.ack_stall_s):
            result.ack_stall_s, result.ack_stall_began_s = ack["stall_s"], ack["began_s"]
            result.ack_stall_source = ack["source"]
            if not ack["open"]:  # its end is the writer's first acknowledged write after it
                result.ack_resumed_at = ack["ended_at"]


def _ack_stall(entry: _Watched, samples, ended_at: float, result: RoundResult) -> dict | None:
    """``entry``'s longest time with no acknowledged progress in [its baseline's start, the end of sampling]: from
    the writer's /acks when its progress reader has it and the record covers the window, else from the samples
    (saying so). Recorded on ``result.ack_stalls``; returns the record (None: nothing to measure)."""
    reader = getattr(entry.progress, "acks", None)
    record = reader(entry.started_at) if callable(reader) else None
    stall: Stall | None = None
    source = f"samples every {entry.every:g} s"
    if record is not None and covers(record["advances"], entry.started_at):
        stall = longest_stall(ack_samples(record["advances"], start=entry.started_at, end=ended_at))
        source = "acks"
    if stall is None:
        stall = longest_stall(samples)
        if record is not None:
            source += " (its /acks did not reach back to the baseline: the writer restarted, or its record is full)"
        elif entry.source.startswith("metrics:"):
            source += " (no /acks: an older writer image)"
        else:  # not an acknowledgement stall: the plateau of the last_seq it stored, as cqlsh read it
            source = f"{PROGRESS_STALL}, {source} ({_why_cql(entry)})"
    if stall is None:
        return None
    found = {"writer": entry.writer.name, "topic": entry.writer.topic, "stall_s": round(stall.seconds, 3),
             "began_s": round(stall.start - result.deleted_at, 3), "ended_at": round(stall.start + stall.seconds, 3),
             "seq": stall.seq, "open": stall.open,
             "source": source}
    result.ack_stalls.append(found)
    return found


def _why_cql(entry: _Watched) -> str:
    """Why ``entry``'s progress came from last_seq via cqlsh."""
    return ("the writer serves no /metrics" if entry.no_metrics
            else "the writer's HTTP port was not reachable through the fault")


#: What a round's samples may witness from: the writer's acknowledged prefix, the last_seq it saw stored, or
#: last_seq read with cqlsh. Another gauge (lab.chaos.metric set to a counter) shows progress but proves nothing.
WITNESS_SOURCES = ("metrics:writer_watermark_seq", "metrics:writer_last_seq", CQL_SOURCE)


def _witness(entry: _Watched, deleted_at: float) -> Witness | None:
    """What ``entry``'s samples saw acknowledged: the highest seq before the fault (the floor for the stored
    last_seq after it) and the highest at any moment (verify's bound)."""
    seen = [(t, seq) for t, seq in entry.samples if seq is not None]
    if entry.before_fault is not None:
        seen.append((deleted_at, entry.before_fault))
    if not seen or entry.source not in WITNESS_SOURCES:
        return None
    before = [seq for t, seq in seen if t <= deleted_at]
    what = ("its acknowledged prefix" if entry.source == "metrics:writer_watermark_seq"
            else entry.source.removeprefix("metrics:"))
    if entry.source.startswith("metrics:"):
        source = f"{entry.writer.name} {what}, sampled every {entry.every:g} s"
    elif entry.before_fault is not None:
        source = (f"{entry.writer.name} its acknowledged prefix, read just before the fault "
                  f"({entry.before_fault}); then last_seq with cqlsh")
    else:
        source = f"last_seq read with cqlsh during the round ({_why_cql(entry)})"
    return Witness(acked=max(seq for _, seq in seen), floor=max(before) if before else None, source=source)


#: Attempts and pause for the round's verify. Right after a fault a QUORUM read of a whole topic can
#: time out on the server (a replica that missed writes makes every read repair it, and the read
#: timeout is 5 s); a read that fails is retried, a read that succeeds is the answer, gaps or not.
VERIFY_ATTEMPTS, VERIFY_PAUSE = 5, 30.0


def _verify(env: Env, result: RoundResult, pod: str, watched: list[_Watched]) -> None:
    witnesses = {e.writer.topic: w for e in watched if e.writer.topic and (w := _witness(e, result.deleted_at))}
    writers = [e.writer for e in watched]
    for attempt in range(1, VERIFY_ATTEMPTS + 1):
        try:
            topics = [w.topic for w in env.all_writers() if w.topic]
            reports: list[TopicReport] = verify(env.cassandra(pod), topics=topics,
                                                consistency=env.settings.consistency, witnesses=witnesses,
                                                values=value_checks(writers, set(env.settings.seed_topics)))
            result.verify = [r.to_dict() for r in reports]
            result.witness = [_witness_row(r, e.writer.name) for r in reports
                              for e in watched if e.writer.topic == r.topic]
            return
        except LabError as err:  # an unrecovered cluster may not answer QUORUM: record it with the round
            why = server_words(err) or str(err)
            if attempt == VERIFY_ATTEMPTS:
                result.error = result.error or f"verify failed {attempt} times: {why}"
                return
            env.note(result, "verify", f"attempt {attempt} failed ({why}); again in {VERIFY_PAUSE:.0f}s")
            env.sleep(VERIFY_PAUSE)


def _witness_row(report: TopicReport, writer: str) -> dict:
    """One topic's witness beside what Cassandra stored after the round."""
    w = report.witness
    return {"topic": report.topic, "writer": writer, "source": w.source if w else "none",
            "acked_before_fault": w.floor if w else None, "acked_highest": w.acked if w else None,
            "stored_last_seq": report.last_seq if report.has_last_seq else None, "checked_to": report.checked_to,
            "below_witness": report.below_witness}


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
        result.resumed_at = max(t for e, above in zip(watched, levels, strict=True)
                                if (t := first_new(e, above)) is not None)
        return
    stuck = [(e, above) for e, above in zip(watched, levels, strict=True) if first_new(e, above) is None]
    names = [f"{e.writer.name} (topic {e.writer.topic})" for e, _ in stuck]
    who = "the writer" if len(watched) == 1 else ", ".join(names)
    at = ", ".join(str(above) if above is not None else "unknown" for _, above in stuck)
    result.error = (f"{who} wrote nothing within {env.settings.resume_timeout:.0f}s after recovery "
                    f"(stuck at seq {at}): wedged?")
