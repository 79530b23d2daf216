"""``invoke lesson``: sections IV and V of the assignment lived on the running lab.

The assignment is about watching things break: its writer crash-loops with ``Unknown topic``, dies when a
Cassandra pod is deleted (and Kubernetes restarts it), and starts again from seq 1 until it is made
stateless. The lab's own writer does none of that, so this task deploys the assignment's behaviour on
demand (``WRITER_MODE=seed``) and walks the story in four steps:

1. the seed writer as the assignment's writer.yml first runs it, with neither TOPIC nor CONSISTENCY:
   CrashLoopBackOff, ``Unknown topic`` in ``kubectl logs -l ...``; then with the topic fixed, its
   "remaining issue": CrashLoopBackOff again, ``Unknown consistency level`` (step 2 sets both: it writes);
2. a topic set, rows flow; ``kubectl delete pod cassandra-1``: the StatefulSet recreates the pod (AGE
   resets, RESTARTS 0) while the seed writer dies on its first failed write and is restarted; if it survives
   the graceful deletion, the same pod is crashed instead (its JVM frozen, then deleted with --force);
3. redeployed without resume it starts from ``lastSeq=0``; with ``WRITER_RESUME=true`` from ``lastSeq=N``
   (each start recorded beside the last_seq stored while no writer ran);
4. the robust writer under step 2's fault, whichever step 2 finally applied (graceful, or the crash), so the
   two stalls compare like with like; its restarts and stall measured.

With a writer of your own (lab.writer.source, or `invoke build --writer-dir`), steps 1-3 run it in place of the
seed writer: the same deployments (WRITER_RESUME=true in step 3: your writer may read it, or resume anyway once
changed), its own log lines read (the assignment's ``Unknown topic``, ``inserted rows to seq N``, ``start from
lastSeq=N``). Step 4 needs the lab's robust writer, whose image `invoke build` without a writer directory makes:
the whole lesson then runs steps 1-3 and leaves your writer deployed, as `invoke deploy` would.

Every command (as typed, output, exit status, time), note and observation is recorded, with timestamps,
into ``<artifacts>/lesson/lesson.json`` (merged step by step, so ``--step N`` can be re-run alone), which
``invoke report`` turns into sections IV and V. Whatever step runs, the task ends with the robust writer
deployed, so the lab is left as ``invoke deploy`` would leave it.

Longer than most modules because it is the assignment's story in order: four short scripts of commands and
observations, and the few building blocks only they use.
"""

from __future__ import annotations

import calendar
import dataclasses
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import chaos, crictl, kubectl, names, output, progress, workflow
from lab.chaos.faults.pod import DeletePod
from lab.command_output import PROGRESS, RESUME, command_item, utc
from lab.config import LabConfig
from lab.context import Lab, guard_context, require_cluster
from lab.errors import CommandError, LabError, PreconditionError
from lab.report import lesson_record, lesson_table
from lab.runner import Outcome
from lab.verify import verify

SCHEMA = 1
#: The steps in the order they run (their titles and sections: lesson_record.STEPS, which the report reads).
STEPS = {int(n): lesson_record.STEPS[n] for n in sorted(lesson_record.STEPS)}
#: The pod the assignment deletes in section IV.
VICTIM = "cassandra-1"

_UNKNOWN_TOPIC = re.compile(r"Unknown topic")
_UNKNOWN_CONSISTENCY = re.compile(r"Unknown consistency level")
#: What the assignment's writer.yml leaves out at first: step 1 deploys the writer without it.
_CONSISTENCY = "CONSISTENCY"
_CANNOT_WRITE = re.compile(r"Cannot (write|connect|query)")


# -- the record (pure) ---------------------------------------------------------------------------------

def record_path(cfg: LabConfig) -> Path:
    return cfg.path(cfg.artifacts) / "lesson" / "lesson.json"


def load_record(path: Path) -> dict[str, Any]:
    """The lesson so far; a missing file is an empty lesson, a damaged one an error (never overwritten)."""
    if not path.exists():
        return {"schema": SCHEMA, "updated": "", "steps": {}, "table": {"headers": lesson_table.HEADERS, "rows": []}}
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise PreconditionError(
            f"{path} is not a lesson record ({err}); move it away and run the lesson again"
        ) from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA or not isinstance(record.get("steps"), dict):
        raise PreconditionError(
            f"{path} is not a lesson record of schema {SCHEMA}; move it away and run the lesson again"
        )
    return record


def merge_step(record: dict[str, Any], number: int, step: dict[str, Any], *, now: float) -> dict[str, Any]:
    record["steps"][str(number)] = step
    record["updated"] = utc(now)
    record["table"] = {"headers": lesson_table.HEADERS, "rows": lesson_table.side_by_side(record["steps"])}
    return record


def first_match(pattern: re.Pattern, text: str) -> re.Match | None:
    for line in text.splitlines():
        if match := pattern.search(line):
            return match
    return None


def pod_age(pod: dict[str, Any], *, now: float) -> float | None:
    stamp = pod.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return None
    return round(now - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")), 1)


# -- one step on the cluster ---------------------------------------------------------------------------

class _Step:
    """What one step records: commands with their output, notes (why), observations (what was seen)."""

    def __init__(self, lab: Lab, number: int, *, clock: Callable[[], float]):
        self.lab, self.number, self.clock = lab, number, clock
        section, title = STEPS[number]
        self.data: dict[str, Any] = {"title": title, "section": section, "started": utc(clock()), "items": [],
                                     "facts": {}}

    @property
    def facts(self) -> dict[str, Any]:
        return self.data["facts"]

    def note(self, text: str) -> None:
        """Why this matters, printed for the student and kept for the report."""
        progress.info(f"   {text}")
        self.data["items"].append({"type": "note", "text": text})

    def observe(self, text: str) -> None:
        progress.info(f"   seen: {text}")
        self.data["items"].append({"type": "observation", "at": utc(self.clock()), "text": text})

    def command(self, argv: list[str], label: str = "", *, mutate: bool = False, timeout: float = 120,
                show: bool = True) -> Outcome:
        """Run ``argv`` (a change when ``mutate``, else a read-only probe) and record it as typed."""
        started = self.clock()
        runner = self.lab.runner
        if mutate:
            try:
                outcome = runner.run(argv, timeout=timeout, hide=True)
            except CommandError as err:  # recorded like any outcome; the caller decides what it means
                outcome = Outcome(tuple(argv), err.exited, err.stdout, err.stderr)
        else:
            outcome = runner.probe(argv, timeout=timeout)
        if show and outcome.stdout.strip():
            for line in outcome.stdout.splitlines()[-15:]:
                progress.info(f"     {line}")
        self.data["items"].append(command_item(argv, outcome, started=started, finished=self.clock(), label=label,
                                               aside=not show))
        return outcome

    def finish(self) -> dict[str, Any]:
        self.data["finished"] = utc(self.clock())
        return self.data


class _CrashPod(DeletePod):
    """Step 2's crash as a chaos round's fault (step 4): ``freeze`` stops the victim's JVM from its node, then
    the pod is deleted with --force, as step 2 did."""

    def __init__(self, name: str, freeze: Callable[[], None]):
        super().__init__(name, force=True)
        self.freeze = freeze

    def title(self) -> str:
        return f"crash {self.name} (JVM frozen, then the pod deleted with --force)"

    def inject(self, env, result) -> None:
        self.freeze()
        super().inject(env, result)


class Lesson:
    """The four steps against a live lab. ``record`` is the lesson so far (step 4 applies the fault step 2
    recorded); ``clock``/``sleep`` are injectable for the unit tests."""

    def __init__(self, lab: Lab, *, record: dict[str, Any] | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, wait: float = 240):
        self.lab, self.clock, self.sleep, self.wait = lab, clock, sleep, wait
        self.kube = lab.kube
        self.record = record if record is not None else {"steps": {}}
        #: Who steps 1-3 deploy: the seed writer, or your own (lab.writer.source; its image is the built one).
        self.student = f"your writer ({Path(lab.cfg.writer_source).name})" if lab.cfg.own_writer else "the seed writer"

    # -- building blocks ---------------------------------------------------------------------------

    def _writer_pods(self) -> list[dict[str, Any]]:
        return kubectl.pods(self.lab.runner, self.kube, names.WRITER_SELECTOR)

    def _live_writer(self) -> dict[str, Any] | None:
        pods = [p for p in self._writer_pods() if not p.get("metadata", {}).get("deletionTimestamp")]
        return pods[-1] if pods else None

    def _restarts(self) -> int:
        pod = self._live_writer()
        return kubectl.pod_restarts(pod) if pod else 0

    def _until(self, predicate: Callable[[], bool], what: str, *, timeout: float | None = None,
               every: float = 2.0) -> None:
        timeout = self.wait if timeout is None else timeout
        if not kubectl.wait_until(predicate, timeout=timeout, every=every, clock=self.clock, sleep=self.sleep):
            raise LabError(f"lesson: {what} did not happen within {timeout:.0f}s; `invoke status` shows the pods")

    def deploy_writer(self, step: _Step, *, mode: str, topic: str, resume: bool, recreate: bool = False,
                      unset: tuple[str, ...] = ()) -> int | str | None:
        """Render writer.yml with these settings and apply it, without waiting for a rollout (a crash-looping
        writer never rolls out, and that is the point of step 1). ``recreate``: first `kubectl delete -f`,
        as section V has students recreate the Deployment from scratch (an unchanged apply starts nothing),
        and wait until its pod is gone; then returns the last_seq stored while no writer ran (what a
        resuming writer must start from; see ``stored_last_seq``). Without ``recreate``: None. ``unset``: env vars
        the writer is deployed without (step 1: CONSISTENCY)."""
        cfg = self.lab.cfg.with_writer(mode=mode, resume=resume, topic=topic)
        lab = dataclasses.replace(self.lab, cfg=cfg)
        path = workflow.render_writer(lab, unset=unset)
        old = {kubectl.pod_uid(p) for p in self._writer_pods()}
        stored: int | str | None = None
        if recreate:
            timeout = self.lab.cfg.timeouts.writer
            outcome = step.command(self.kube.delete_file_args(str(path), timeout=timeout),
                                   "kubectl delete -f writer.yml: the Deployment and its pod are gone", mutate=True,
                                   timeout=timeout + 30)
            if not outcome.ok:
                raise LabError(f"lesson: deleting the writer failed: {outcome.stderr.strip()[:200]}")
            # The Deployment goes first and its pod after it, still writing until it stops: the stored last_seq
            # is only final once the pod is gone.
            self._until(lambda: not self._writer_pods(), "the deleted writer's pod gone", timeout=timeout)
            stored = self.stored_last_seq(step)
        mode = names.OWN_WRITER_MODE if cfg.own_writer else mode  # what render_writer gave it
        step.facts["writer_mode"] = mode
        left_out = "".join(f", {name} unset" for name in unset)
        outcome = step.command(self.kube.apply_args(str(path)), f"writer: WRITER_MODE={mode}, TOPIC={topic!r}"
                               f"{left_out}, WRITER_RESUME={str(resume).lower()}", mutate=True)
        if not outcome.ok:
            raise LabError(f"lesson: applying the writer failed: {outcome.stderr.strip()[:200]}")

        def replaced() -> bool:  # any new pod: the one it replaces may still be listed after it
            return any(kubectl.pod_uid(p) not in old for p in self._writer_pods()
                       if not p.get("metadata", {}).get("deletionTimestamp"))
        self._until(replaced, "a new writer pod")
        return stored

    def stored_last_seq(self, step: _Step) -> int | str | None:
        """The topic's stored last_seq (None: no row), or "not read" when Cassandra did not answer."""
        try:
            level = self.lab.cfg.verify.consistency  # as the writer reads it, not ONE
            stored: int | str | None = self.lab.cassandra().last_seqs(consistency=level).get(self.lab.cfg.topic)
        except LabError as err:
            step.observe(f"the stored last_seq could not be read: {err}")
            return "not read"
        step.observe(f"no writer runs; last_seq stored for {self.lab.cfg.topic}: {stored}")
        return stored

    def writer_logs(self, step: _Step, *, previous: bool = False, show: bool = True) -> str:
        """``kubectl logs -l app=ece573-prj04-writer`` as the assignment types it (plus our context)."""
        argv = self.kube.base() + ["logs", "-l", names.WRITER_SELECTOR, "--tail", "20"]
        if previous:
            argv.append("--previous")
        return step.command(argv, "the writer's log" + (" (previous container)" if previous else ""),
                            show=show).stdout

    def get_pods(self, step: _Step, label: str) -> None:
        step.command(self.kube.base() + ["get", "pods"], label)

    def _verify_gaps(self, step: _Step) -> int | str:
        try:
            reports = verify(self.lab.cassandra(), topics=[self.lab.cfg.topic],
                             consistency=self.lab.cfg.verify.consistency)
        except LabError as err:
            step.observe(f"verify could not read the data: {err}")
            return "not verified"
        missing = sum(r.missing for r in reports)
        step.observe(f"verify: {missing} seq(s) missing in 1..last_seq")
        return missing

    # -- the steps ---------------------------------------------------------------------------------

    def step1(self, step: _Step) -> None:
        cfg = self.lab.cfg
        step.note(f"writer.yml of the assignment sets neither TOPIC nor CONSISTENCY: {self.student} logs 'Unknown "
                  "topic' and exits 1; Kubernetes restarts it with growing back-off (CrashLoopBackOff).")
        self.deploy_writer(step, mode="seed", topic="", resume=False, unset=(_CONSISTENCY,))
        pod, line = self._crash_loop(step, _UNKNOWN_TOPIC, "without a topic")
        state = kubectl.pod_waiting_reason(pod)
        step.facts.update(restarts=kubectl.pod_restarts(pod), state=state,
                          crashloop=state in ("CrashLoopBackOff", "Error"), unknown_topic_line=line)
        step.observe(f"writer restarts {step.facts['restarts']}, state {state or 'Running'}; "
                     f"log: {line or 'no Unknown topic line'}")
        if not line:
            raise LabError(f"lesson: {self.student} did not log 'Unknown topic'; see `invoke logs`")
        step.note(f"The assignment's remaining issue: with TOPIC={cfg.topic} but still no CONSISTENCY, the writer "
                  "gets past the topic and crash-loops on 'Unknown consistency level'. Step 2 sets both.")
        looped = {kubectl.pod_uid(p) for p in self._writer_pods()}  # its RESTARTS are not the new pod's
        self.deploy_writer(step, mode="seed", topic=cfg.topic, resume=False, unset=(_CONSISTENCY,))
        pod, line = self._crash_loop(step, _UNKNOWN_CONSISTENCY, "without a consistency level", exclude=looped)
        state = kubectl.pod_waiting_reason(pod)
        step.facts.update(consistency_restarts=kubectl.pod_restarts(pod), consistency_state=state,
                          consistency_crashloop=state in ("CrashLoopBackOff", "Error"),
                          unknown_consistency_line=line)
        step.observe(f"with TOPIC={cfg.topic}: writer restarts {step.facts['consistency_restarts']}, state "
                     f"{state or 'Running'}; log: {line or 'no Unknown consistency level line'}")
        if not line:
            raise LabError(f"lesson: {self.student} without CONSISTENCY did not log 'Unknown consistency level'; "
                           "see `invoke logs`")

    def _crash_loop(self, step: _Step, pattern: re.Pattern, what: str,
                    exclude: set[str] | frozenset[str] = frozenset()) -> tuple[dict[str, Any], str]:
        """Wait until the writer deployed last restarts (a pod whose uid is not in ``exclude``: the one it replaces
        may still be there), then record `kubectl get pods` and the log; returns the pod and the log line matching
        ``pattern`` (this run's or, once restarted, the previous run's), or ''."""
        def current() -> dict[str, Any] | None:
            pods = [p for p in self._writer_pods()
                    if kubectl.pod_uid(p) not in exclude and not p.get("metadata", {}).get("deletionTimestamp")]
            return pods[-1] if pods else None

        def crashed() -> bool:
            pod = current()
            return pod is not None and (kubectl.pod_restarts(pod) >= 1
                                        or kubectl.pod_waiting_reason(pod) == "CrashLoopBackOff")
        self._until(crashed, f"a writer restart ({what})")
        self.sleep(5)  # let the RESTARTS column show more than the first attempt
        self.get_pods(step, f"kubectl get pods ({what}): the writer is not Ready and its RESTARTS grow")
        pod = current() or {}
        match = first_match(pattern, self.writer_logs(step)) or first_match(pattern,
                                                                            self.writer_logs(step, previous=True))
        return pod, match.string.strip() if match else ""

    def _wait_progress(self, step: _Step) -> int:
        seen: list[int] = []

        def flowing() -> bool:
            out = self.lab.runner.probe(self.kube.logs_args(selector=names.WRITER_SELECTOR, tail=5), timeout=30)
            seen[:] = [int(m.group(2)) for m in map(PROGRESS.search, out.stdout.splitlines()) if m]
            return bool(seen)
        self._until(flowing, "writer progress ('inserted rows to seq')", every=3.0)
        return seen[-1]

    def step2(self, step: _Step) -> None:
        cfg = self.lab.cfg
        step.note(f"Now with TOPIC={cfg.topic} and CONSISTENCY={cfg.consistency}: {self.student} makes one "
                  "synchronous insert per table per seq and exits on its first failed write.")
        self.deploy_writer(step, mode="seed", topic=cfg.topic, resume=False)
        seq = self._wait_progress(step)
        step.observe(f"rows flow: inserted rows to seq {seq}")
        before = self._restarts()
        step.facts.update(seed_restarts_before=before, deleted_pod=VICTIM)
        cass = self.lab.cassandra("cassandra-0")
        sampler = chaos.Sampler(lambda: cass.last_seqs(consistency="ONE").get(cfg.topic), every=1.0,
                                clock=self.clock).start()
        try:
            step.note(f"kubectl delete pod {VICTIM}: the StatefulSet controller creates a new pod with the same "
                      "name, identity and volume.")
            self._delete_and_wait(step, crash=False, restarts_before=before)
            if self._restarts() == before:
                # A graceful deletion lets Cassandra shut down (SIGTERM: it stops taking requests, finishes
                # those in flight and tells its peers and clients it leaves), so the seed writer's one
                # synchronous write rarely meets it. A crashed machine gives no notice: it stops answering,
                # its connections stay open, and the write on it hangs until it fails, which is fatal to
                # the seed writer. `--grace-period=0 --force` alone is not that (the kubelet still sends
                # SIGTERM and waits 2 s, long enough for Cassandra's shutdown), and neither is a bare SIGKILL
                # (the kernel closes the sockets at once and the driver routes around them). So the JVM is
                # frozen from its node (SIGSTOP, which a process cannot ignore), then the pod is deleted.
                step.observe(f"{self.student} survived the graceful deletion ({VICTIM} shut down cleanly: its "
                             "in-flight writes finished); now the same pod crashes instead")
                step.note(f"A crash: {VICTIM}'s Cassandra process frozen on its node (SIGSTOP: it stops answering "
                          "without closing a connection, as a crashed machine), then the pod deleted with --force.")
                self._delete_and_wait(step, crash=True, restarts_before=before)
        finally:
            samples = sampler.stop()
        self.get_pods(step, f"kubectl get pods: {VICTIM}'s AGE and RESTARTS; the writer's RESTARTS")
        pod = kubectl.get_json(self.lab.runner, self.kube, "pod", VICTIM) or {}
        after = self._restarts()
        stall = chaos.longest_stall(samples)
        step.facts.update(pod_age_s=pod_age(pod, now=self.clock()), pod_restarts=kubectl.pod_restarts(pod),
                          seed_restarts_after=after, seed_stall_s=round(stall.seconds, 1) if stall else None)
        if after > before:  # the container that died: its last words
            died = first_match(_CANNOT_WRITE, self.writer_logs(step, previous=True))
            step.facts["seed_error_line"] = died.string.strip() if died else ""
        logs = self.writer_logs(step)
        start = [int(m.group(2)) for m in map(RESUME.search, logs.splitlines()) if m]
        step.facts["seed_resumed_from"] = start[-1] if start else "n/a"
        step.observe(f"{VICTIM} Ready after {step.facts['recovery_s']} s, AGE {step.facts['pod_age_s']} s, "
                     f"RESTARTS {step.facts['pod_restarts']}; {self.student}: restarts {before} -> {after}")
        step.facts["gaps"] = self._verify_gaps(step)

    def _crash(self, step: _Step, pod: dict[str, Any]) -> None:
        """Freeze the victim's Cassandra process from its kind node (its host pid from ``crictl inspect``)."""
        try:
            node, cid = crictl.locate(pod)
        except ValueError as err:
            raise LabError(f"lesson: {VICTIM} has {err}; `invoke status`") from err
        inspect = step.command(crictl.crictl_args(node, "inspect", cid), f"{VICTIM}'s container on {node}",
                               show=False)
        try:
            pid = crictl.pid_of(inspect.stdout)
        except ValueError as err:
            raise LabError(f"lesson: crictl on {node} did not give {VICTIM}'s pid ({err}); is the node up?") from err
        outcome = step.command(crictl.kill_args(node, pid, "STOP"),
                               f"freeze {VICTIM}'s Cassandra (SIGSTOP to pid {pid} on {node})", mutate=True)
        if not outcome.ok:
            raise LabError(f"lesson: freezing {VICTIM}'s Cassandra failed: {outcome.stderr.strip()[:200]}")

    def _delete_and_wait(self, step: _Step, *, crash: bool, restarts_before: int = 0) -> None:
        """Delete the victim as the assignment types it (or crash it first), wait until its successor is Ready,
        then up to 20 s more for the seed writer's RESTARTS to pass ``restarts_before``: a restart (and its
        back-off) can show there a little after the pod is back. One that already shows ends the wait."""
        pod = kubectl.get_json(self.lab.runner, self.kube, "pod", VICTIM) or {}
        old_uid = kubectl.pod_uid(pod)
        deleted = self.clock()
        if crash:
            self._crash(step, pod)
        argv = self.kube.base() + ["delete", "pod", VICTIM] + (["--grace-period=0", "--force"] if crash else [])
        step.command(argv, f"delete {VICTIM}" + (" (after the crash)" if crash else ""), mutate=True, timeout=300)

        def back() -> bool:
            pod = kubectl.get_json(self.lab.runner, self.kube, "pod", VICTIM)
            return pod is not None and kubectl.pod_uid(pod) != old_uid and kubectl.pod_ready(pod)
        self._until(back, f"{VICTIM} Ready again", timeout=max(self.wait, 600), every=2.0)
        step.facts["recovery_s"] = round(self.clock() - deleted, 1)
        step.facts["crashed"] = crash
        kubectl.wait_until(lambda: self._restarts() > restarts_before, timeout=20, every=2.0, clock=self.clock,
                           sleep=self.sleep)

    def _start_seq(self, step: _Step, label: str) -> int:
        """The seq the new writer pod says it starts from. Only its own log counts: the pod it replaced may
        still be terminating, and its older "start from lastSeq=0" must not be read as the new start."""
        found: list[int] = []

        def started() -> bool:
            pod = self._live_writer()
            if pod is None:
                return False
            argv = self.kube.logs_args(pod=pod["metadata"]["name"], container=names.WRITER_CONTAINER, tail=50)
            out = self.lab.runner.probe(argv, timeout=30)
            found[:] = [int(m.group(2)) for m in map(RESUME.search, out.stdout.splitlines()) if m]
            return bool(found)
        self._until(started, f"'start from lastSeq=' ({label})")
        self.writer_logs(step)
        return found[-1]

    def step3(self, step: _Step) -> None:
        cfg = self.lab.cfg
        step.note("A Deployment's pods are interchangeable and keep nothing: progress must live in Cassandra. "
                  f"Redeployed without resume, {self.student} starts from 0 again.")
        stored = self.deploy_writer(step, mode="seed", topic=cfg.topic, resume=False, recreate=True)
        step.facts["stored_before_without_resume"] = stored
        step.facts["start_without_resume"] = self._start_seq(step, "without resume")
        self._wait_progress(step)
        self.sleep(5)
        step.observe(f"without resume: start from lastSeq={step.facts['start_without_resume']} "
                     f"(last_seq stored before it: {stored})")
        step.note("WRITER_RESUME=true reads ece573.prj04_last_seq before the loop (the section V fix)." if not
                  cfg.own_writer else "Redeployed with WRITER_RESUME=true: your writer resumes from "
                  "ece573.prj04_last_seq if your change reads it (or always, if it resumes unasked).")
        stored = self.deploy_writer(step, mode="seed", topic=cfg.topic, resume=True, recreate=True)
        step.facts["stored_before_with_resume"] = stored
        step.facts["start_with_resume"] = self._start_seq(step, "with resume")
        step.facts["resume_restarts"] = self._restarts()
        step.observe(f"with resume: start from lastSeq={step.facts['start_with_resume']} "
                     f"(last_seq stored before it: {stored})")
        step.facts["gaps"] = self._verify_gaps(step)

    def step4(self, step: _Step) -> None:
        cfg = self.lab.cfg
        crash = self._step2_crashed(step)
        self.restore(step)
        settings = chaos.ChaosSettings.from_config(cfg)
        fault = _CrashPod(VICTIM, lambda: self._crash(step, kubectl.get_json(self.lab.runner, self.kube, "pod",
                                                                              VICTIM) or {})) if crash \
            else DeletePod(VICTIM)
        result = chaos.run_round(self.lab.runner, self.kube, fault, 1, settings,
                                 request_timeout=cfg.verify.request_timeout)
        self.get_pods(step, f"kubectl get pods after the {fault.title()}: the writer's RESTARTS")
        step.facts.update(robust_restarts=result.writer_restarts, robust_stall_s=result.stall_s,
                          recovery_s=result.recovery_s, crashed=crash, gaps=result.lost_rows, error=result.error)
        step.observe(f"robust writer after the {fault.title()}: restarts {result.writer_restarts}, longest stall "
                     f"{result.stall_s} s, {VICTIM} back in {result.recovery_s} s, {result.lost_rows} row(s) missing")

    def _step2_crashed(self, step: _Step) -> bool:
        """Whether step 2 finally crashed the pod (step 4 does the same); a note says what is compared."""
        two = (self.record.get("steps", {}).get("2") or {}).get("facts") or {}
        crashed = two.get("crashed")
        if not two:
            step.note("Step 2 has not been recorded: a graceful deletion, the assignment's fault. Run steps 2 and 4 "
                      "to see both writers under the same fault.")
        elif not isinstance(crashed, bool):
            step.note("Step 2's record does not say which fault it applied: a graceful deletion, and the two stalls "
                      "are not compared.")
        else:
            step.note("The lab's writer: pipelined writes, retries with backoff, progress in Cassandra. The same "
                      f"fault as step 2: {lesson_table.fault(two)} of {VICTIM}.")
        return crashed is True

    def restore(self, step: _Step) -> None:
        """The robust writer (or your own, with lab.writer.resume as set), rolled out: how every lesson run leaves
        the lab, as `invoke deploy` would."""
        cfg = self.lab.cfg
        self.deploy_writer(step, mode="robust", topic=cfg.topic, resume=cfg.own_writer and cfg.writer_resume)
        timeout = cfg.timeouts.writer
        kubectl.rollout_status(self.lab.runner, self.kube, f"deployment/{names.WRITER_DEPLOYMENT}", timeout=timeout)


def parse_steps(values: list[str]) -> list[int]:
    """``--step`` values as step numbers; anything else is one clear line."""
    steps = []
    for value in values:
        if not str(value).strip().isdigit() or int(value) not in STEPS:
            raise PreconditionError(f"--step {value}: the lesson has steps {', '.join(map(str, STEPS))}")
        steps.append(int(value))
    return sorted(set(steps))


#: The steps a writer of your own runs in (step 4 is the lab's robust writer under step 2's fault).
OWN_WRITER_STEPS = (1, 2, 3)


def run_lesson(lab: Lab, *, steps: list[int] | None = None, clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """Run ``steps`` (default all; with a writer of your own 1-3) in order, saving the record after each; print the
    side-by-side table."""
    lab = dataclasses.replace(lab, cfg=workflow.with_built_writer(lab.cfg))  # `invoke build --writer-dir` made it
    workflow.check_built_writer(lab)  # a lab.writer.source the image was not built from: one line, as deploy says
    own = lab.cfg.own_writer
    if own and 4 in (steps or ()):
        raise PreconditionError("lesson step 4 runs the lab's robust writer, and the writer image is yours "
                                f"({lab.cfg.writer_source}): run `invoke build` (no --writer-dir, lab.writer.source "
                                "unset) first")
    steps = steps or list(OWN_WRITER_STEPS if own else sorted(STEPS))
    unknown = [n for n in steps if n not in STEPS]
    if unknown:
        raise PreconditionError(f"--step {unknown[0]}: the lesson has steps {', '.join(map(str, STEPS))}")
    guard_context(lab.cfg, action="run the lesson (it redeploys the writer and deletes a pod)")
    require_cluster(lab)
    if lab.runner.dry:
        raise PreconditionError("the lesson watches the cluster react; it has no dry run (run it for real)")
    path = record_path(lab.cfg)
    record = load_record(path)
    lesson = Lesson(lab, record=record, clock=clock)
    try:
        for number in steps:
            section, title = STEPS[number]
            step = _Step(lab, number, clock=clock)
            with progress.step(f"Lesson step {number} (section {section}): {title}"):
                getattr(lesson, f"step{number}")(step)
            merge_step(record, number, step.finish(), now=clock())
            output.write_json(path, record)
    finally:
        if steps[-1] != 4:  # step 4 ends on the robust writer already
            with progress.step(f"Leaving the lab with {'your' if own else 'the robust'} writer (invoke deploy's "
                               "writer)"):
                lesson.restore(_Step(lab, steps[-1], clock=clock))
    output.table(lesson_table.HEADERS, record["table"]["rows"], title=lesson_table.title(record["steps"]))
    progress.info(f"   recorded in {path}; `invoke report --pdf` turns it into sections IV and V")
    return record
