"""The lesson's record and table (pure), and its refusals; the steps themselves run on kind in tests/e2e."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml

from lab import lesson, workflow
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.errors import LabError, PreconditionError
from lab.report import lesson_table
from tests.lab.chaosfakes import FAULT_ACTIONS, round_ctx
from tests.lab.labfakes import make_lab


def _lesson_ctx(rules=()):
    """What the lesson's steps cause beyond a chaos round's faults, answered with success: the pod listing and
    writer log it shows, the writer's deletion and deployment between steps."""
    return round_ctx(rules, ok=(*FAULT_ACTIONS, r" get pods$", r" logs -l app=\S+ --tail \d+$", r" delete --filename ",
                                r" apply --filename "))


def _step(facts):
    return {"title": "t", "section": "IV", "started": "", "finished": "", "items": [], "facts": facts}


def test_side_by_side_from_facts():
    steps = {
        "2": _step({"seed_restarts_before": 0, "seed_restarts_after": 2, "seed_stall_s": 41.0,
                    "seed_resumed_from": 0, "gaps": 0, "crashed": True}),
        "3": _step({"start_without_resume": 0, "start_with_resume": 5123, "resume_restarts": 0, "gaps": 0}),
        "4": _step({"robust_restarts": 0, "robust_stall_s": 0.8, "gaps": 0, "crashed": True}),
    }
    crash = "crash (JVM frozen, then pod deleted with --force)"
    assert lesson_table.side_by_side(steps) == [
        ["seed", crash, 2, 41.0, 0, 0],
        ["seed + resume", "redeployed", 0, "n/a", 5123, 0],
        ["robust", crash, 0, 0.8, "no restart", 0],
    ]
    assert lesson_table.title(steps) == "The writers side by side (invoke lesson)"


def test_side_by_side_refuses_to_compare_the_stalls_of_unlike_faults():
    """Step 2 crashed the pod, step 4 (a record from before step 4 followed step 2) deleted it gracefully: a
    crash against a clean shutdown is no comparison, so the table says so instead of setting 41.0 beside 0.8."""
    steps = {"2": _step({"seed_restarts_before": 0, "seed_restarts_after": 1, "seed_stall_s": 41.0,
                         "crashed": True}),
             "4": _step({"robust_restarts": 0, "robust_stall_s": 0.8, "crashed": False})}
    rows = lesson_table.side_by_side(steps)
    assert [row[3] for row in rows] == ["41.0 (not comparable)", "0.8 (not comparable)"]
    assert [row[1] for row in rows] == ["crash (JVM frozen, then pod deleted with --force)", "graceful delete"]
    assert lesson_table.title(steps).endswith(
        ": the stalls are not comparable (step 2's fault was a crash (JVM frozen, then pod deleted with --force), "
        "step 4's a graceful delete)")
    del steps["4"]["facts"]["crashed"]  # a step 4 recorded before it kept its fault
    assert lesson_table.side_by_side(steps)[1][1] == "not recorded"
    assert "step 4's not recorded" in lesson_table.title(steps)


def test_side_by_side_skips_steps_not_run_and_says_so():
    rows = lesson_table.side_by_side({"2": _step({"seed_restarts_after": 3})})
    assert rows == [["seed", "not recorded", "not run", "n/a", "n/a", "n/a"]]
    assert lesson_table.side_by_side({}) == []
    robust = lesson_table.side_by_side({"4": _step({"robust_restarts": 1, "crashed": False})})
    assert robust == [["robust", "graceful delete", 1, "n/a", "n/a", "n/a"]]  # restarted: no "no restart"


def test_merge_step_keeps_other_steps_and_updates_table():
    record = lesson.load_record(lesson.Path("/nonexistent/lesson.json"))
    assert record["steps"] == {} and record["table"]["headers"] == lesson_table.HEADERS
    lesson.merge_step(record, 4, _step({"robust_restarts": 0, "robust_stall_s": 1.2, "gaps": 0}), now=0)
    lesson.merge_step(record, 2, _step({"seed_restarts_before": 1, "seed_restarts_after": 2}), now=60)
    assert sorted(record["steps"]) == ["2", "4"]
    assert record["updated"] == "1970-01-01T00:01:00Z"
    assert [row[0] for row in record["table"]["rows"]] == ["seed", "robust"]
    assert record["table"]["rows"][0][2] == 1


@pytest.mark.parametrize("text, why", [("{not json", "not a lesson record"),
                                        (json.dumps({"schema": 99, "steps": {}}), "schema 1"),
                                        (json.dumps([1, 2]), "schema 1")])
def test_a_damaged_record_is_refused_not_overwritten(tmp_path, text, why):
    path = tmp_path / "lesson.json"
    path.write_text(text)
    with pytest.raises(PreconditionError, match=why):
        lesson.load_record(path)
    assert path.read_text() == text


def test_pod_age_from_creation_timestamp():
    pod = {"metadata": {"creationTimestamp": "2026-12-01T10:00:00Z"}}
    now = 1796119200.0 + 12  # 2026-12-01T10:00:12Z
    assert lesson.pod_age(pod, now=now) == 12.0
    assert lesson.pod_age({}, now=now) is None


def test_first_match_finds_the_go_writer_lines():
    logs = "2026/12/01 10:00:00 Connecting cluster at cassandra-service\n2026/12/01 10:00:00 Unknown topic\n"
    match = lesson.first_match(re.compile("Unknown topic"), logs)
    assert match and match.string == "2026/12/01 10:00:00 Unknown topic"
    assert lesson.first_match(lesson.RESUME, "x: start from lastSeq=42").group(2) == "42"


def test_unknown_step_is_refused(project):
    lab = make_lab(project, _lesson_ctx())
    with pytest.raises(PreconditionError, match="--step 7: the lesson has steps 1, 2, 3, 4"):
        lesson.run_lesson(lab, steps=[7])


@pytest.mark.parametrize("values, steps", [([], []), (["3", "1", "3"], [1, 3]), ([" 2"], [2])])
def test_parse_steps(values, steps):
    assert lesson.parse_steps(values) == steps


@pytest.mark.parametrize("value", ["x", "0", "5", "-1", "2.5"])
def test_parse_steps_refuses(value):
    with pytest.raises(PreconditionError, match=f"--step {re.escape(value)}: the lesson has steps 1, 2, 3, 4"):
        lesson.parse_steps([value])


def test_foreign_context_is_refused(project):
    lab = make_lab(project, _lesson_ctx(), context="prod")
    with pytest.raises(PreconditionError, match="refusing to run the lesson"):
        lesson.run_lesson(lab, steps=[1])


def test_no_dry_run(project):
    ctx = _lesson_ctx([(r"config get-contexts", ("kind-kind\n", 0))])
    lab = make_lab(project, ctx, dry=True)
    with pytest.raises(PreconditionError, match="no dry run"):
        lesson.run_lesson(lab, steps=[1])
    assert not ctx.matching(r"apply|delete")


def test_the_start_seq_is_read_from_the_new_pod_not_the_one_terminating(project):
    """Section V's check: the replaced pod may still be terminating, with its own 'start from lastSeq=0';
    the resumed writer's start is read from the live pod only (seen on a loaded machine: a 0 read too soon)."""
    old = {"metadata": {"name": "ece573-prj04-writer-old", "uid": "o", "deletionTimestamp": "2026-12-02T10:46:36Z"}}
    new = {"metadata": {"name": "ece573-prj04-writer-new", "uid": "n"}}
    ctx = _lesson_ctx([
        ("get pods --selector app=ece573-prj04-writer", json.dumps({"items": [old, new]})),
        ("logs ece573-prj04-writer-old", "2026/12/02 10:46:21 test: start from lastSeq=0\n"),
        ("logs ece573-prj04-writer-new", ["", "2026/12/02 10:46:39 test: start from lastSeq=2604\n"]),
    ])
    clock = iter(range(1000))
    run = lesson.Lesson(make_lab(project, ctx), clock=lambda: next(clock), sleep=lambda s: None, wait=30)
    step = lesson._Step(run.lab, 3, clock=lambda: 0.0)
    assert run._start_seq(step, "with resume") == 2604
    assert not ctx.matching("logs ece573-prj04-writer-old") and not ctx.matching("logs --selector")


def _victim(uid: str, *, ready: bool = True) -> str:
    return json.dumps({"metadata": {"name": "cassandra-1", "uid": uid}, "spec": {"nodeName": "kind-worker2"},
                       "status": {"conditions": [{"type": "Ready", "status": str(ready)}],
                                  "containerStatuses": [{"name": "cassandra", "containerID": f"containerd://c-{uid}"}]}})


def test_the_crash_freezes_the_jvm_from_the_node_then_deletes_the_pod(project):
    """A forced deletion still sends SIGTERM (and Cassandra shuts down cleanly within the kubelet's 2 s), so the
    lesson's crash freezes the JVM by its host pid on the node, then deletes the pod; the new one is awaited."""
    ctx = _lesson_ctx([
        ("get pod cassandra-1", [_victim("old"), _victim("new")]),
        ("crictl inspect c-old", json.dumps({"info": {"sandboxID": "sb", "pid": 4242}})),
        ("get pods --selector app=ece573-prj04-writer", json.dumps({"items": []})),  # no writer to watch
    ])
    clock = iter(range(1000))
    run = lesson.Lesson(make_lab(project, ctx), clock=lambda: next(clock), sleep=lambda s: None, wait=30)
    step = lesson._Step(run.lab, 2, clock=lambda: 0.0)
    run._delete_and_wait(step, crash=True)
    kill, = ctx.matching(r"docker exec kind-worker2 kill")
    delete, = ctx.matching(r"delete pod cassandra-1")
    assert kill.endswith("kill -STOP 4242") and "--grace-period=0 --force" in delete
    assert ctx.commands.index(kill) < ctx.commands.index(delete)
    assert step.facts["crashed"] is True and step.facts["recovery_s"] > 0


def _writer_with_restarts(count: int) -> str:
    return json.dumps({"items": [{"metadata": {"name": "ece573-prj04-writer-x", "uid": "w"},
                                  "status": {"containerStatuses": [{"name": "writer", "restartCount": count}]}}]})


@pytest.mark.parametrize(("restarts", "waited"), [(1, 0.0), (0, 20.0)])
def test_after_the_pod_is_back_the_wait_for_the_writers_restart_ends_when_it_shows(project, restarts, waited):
    """Up to 20 s for the seed writer's RESTARTS to grow after the pod is back; not a second once it has."""
    ctx = _lesson_ctx([("get pod cassandra-1", [_victim("old"), _victim("new")]),
                   ("get pods --selector app=ece573-prj04-writer", _writer_with_restarts(restarts))])
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds
    run = lesson.Lesson(make_lab(project, ctx), clock=lambda: now[0], sleep=sleep, wait=30)
    run._delete_and_wait(lesson._Step(run.lab, 2, clock=lambda: now[0]), crash=False, restarts_before=0)
    assert sum(slept) == waited  # the new pod is Ready at the first poll: every sleep is the restart's wait


def test_a_crash_without_a_pid_stops_with_one_line_and_deletes_nothing(project):
    ctx = _lesson_ctx([("get pod cassandra-1", _victim("old")), ("crictl inspect", '{"info": {}}')])
    run = lesson.Lesson(make_lab(project, ctx), clock=lambda: 0.0, sleep=lambda s: None, wait=30)
    with pytest.raises(LabError, match="crictl on kind-worker2 did not give cassandra-1's pid"):
        run._delete_and_wait(lesson._Step(run.lab, 2, clock=lambda: 0.0), crash=True)
    assert not ctx.matching("kill|delete pod")


# -- step 4 applies step 2's fault: like with like ----------------------------------------------------------------

def _step4(project, monkeypatch, record, rules=()):
    """Lesson step 4 on fakes: ``chaos.run_round`` (whose waits and sampling have their own tests) injects the
    fault it is given against the FakeCtx and returns a measured-looking round; the robust writer's rollout is
    skipped. Returns (the commands, the step's record, the faults given to the round)."""
    ctx = _lesson_ctx(list(rules))
    faults = []

    def one_round(runner, kube, target, number, settings, **kwargs):
        faults.append(target)
        env = Env(runner, kube, settings, clock=lambda: 0.0, sleep=lambda s: None)
        result = RoundResult(round=number, pod=target.name, target=target.target, force=target.force, deleted_at=0.0)
        target.inject(env, result)
        result.writer_restarts, result.stall_s, result.recovery_s = 0, 1.2, 40.0
        result.verify = [{"topic": "test", "missing": 0}]
        return result
    monkeypatch.setattr(lesson.chaos, "run_round", one_round)
    run = lesson.Lesson(make_lab(project, ctx), record=record, clock=lambda: 0.0, sleep=lambda s: None, wait=30)
    monkeypatch.setattr(run, "restore", lambda step: None)
    step = lesson._Step(run.lab, 4, clock=lambda: 0.0)
    run.step4(step)
    return ctx, step.finish(), faults


def _record_with_step2(**facts):
    return {"steps": {"2": _step({"seed_restarts_before": 0, "seed_restarts_after": 1, **facts})}}


def test_step_4_crashes_the_pod_when_step_2_had_to(project, monkeypatch):
    """Step 2 escalated (the seed writer survived the graceful deletion): step 4 freezes the JVM and forces the
    deletion too, in that order, and records crashed=True; the table then compares like with like."""
    ctx, step, faults = _step4(project, monkeypatch, _record_with_step2(crashed=True), [
        ("get pod cassandra-1", _victim("old")),
        ("crictl inspect c-old", json.dumps({"info": {"sandboxID": "sb", "pid": 4242}})),
    ])
    kill, = ctx.matching(r"docker exec kind-worker2 kill")
    delete, = ctx.matching(r"delete pod cassandra-1")
    assert kill.endswith("kill -STOP 4242") and "--grace-period=0 --force" in delete
    assert ctx.commands.index(kill) < ctx.commands.index(delete)
    assert faults[0].title() == "crash cassandra-1 (JVM frozen, then the pod deleted with --force)"
    assert step["facts"]["crashed"] is True and step["facts"]["robust_stall_s"] == 1.2
    assert any("The same fault as step 2: crash (JVM frozen, then pod deleted with --force) of cassandra-1" in i["text"]
               for i in step["items"] if i["type"] == "note")
    steps = {"2": _record_with_step2(crashed=True)["steps"]["2"], "4": step}
    assert not lesson_table.unlike(steps)


def test_step_4_deletes_gracefully_when_step_2_did(project, monkeypatch):
    ctx, step, faults = _step4(project, monkeypatch, _record_with_step2(crashed=False))
    delete, = ctx.matching(r"delete pod cassandra-1")
    assert "--force" not in delete and not ctx.matching(r"kill|crictl")
    assert faults[0].title() == "delete cassandra-1" and step["facts"]["crashed"] is False


@pytest.mark.parametrize(("record", "note"), [
    ({"steps": {}}, "Step 2 has not been recorded: a graceful deletion, the assignment's fault."),
    (_record_with_step2(), "Step 2's record does not say which fault it applied: a graceful deletion, and the two "
                           "stalls are not compared."),
])
def test_step_4_without_step_2s_fault_deletes_gracefully_and_says_so(project, monkeypatch, record, note):
    ctx, step, _ = _step4(project, monkeypatch, record)
    assert "--force" not in ctx.matching(r"delete pod cassandra-1")[0] and step["facts"]["crashed"] is False
    assert [i["text"] for i in step["items"] if i["type"] == "note" and i["text"].startswith(note)]


def test_a_recreated_writer_is_gone_before_the_stored_last_seq_is_read(project):
    """Step 3 records the last_seq stored while no writer runs (what a resumed start must equal): the Deployment's
    pod can still write after `kubectl delete -f` returns, so the read waits until the pod is gone."""
    writer = {"metadata": {"name": "ece573-prj04-writer-a", "uid": "a"}}
    fresh = {"metadata": {"name": "ece573-prj04-writer-b", "uid": "b"}}
    robust = {"metadata": {"name": "ece573-prj04-writer-c", "uid": "c"}}
    ctx = _lesson_ctx([
        ("get pods --selector app=ece573-prj04-writer", [json.dumps({"items": [writer]})] * 3
         + [json.dumps({"items": p}) for p in ([], [fresh], [fresh], [robust])]),
        ("prj04_last_seq", " topic | seq\n-------+------\n  test | 4187\n\n(1 rows)\n"),
    ])
    run = lesson.Lesson(make_lab(project, ctx, images={"writer": "ece573-prj04-writer:t"}), clock=lambda: 0.0,
                        sleep=lambda s: None, wait=30)
    step = lesson._Step(run.lab, 3, clock=lambda: 0.0)
    assert run.deploy_writer(step, mode="seed", topic="test", resume=True, recreate=True) == 4187
    read, = ctx.matching("prj04_last_seq")
    polls = [i for i, c in enumerate(ctx.commands) if "get pods --selector app=ece573-prj04-writer" in c]
    assert len(polls) == 5 and polls[3] < ctx.commands.index(read) < ctx.commands.index(ctx.matching(" apply ")[0])
    assert step.facts["writer_mode"] == "seed"
    assert run.deploy_writer(step, mode="robust", topic="test", resume=False) is None
    assert step.facts["writer_mode"] == "robust"


# -- step 1: both of the assignment's configuration failures, in order ----------------------------------------------

class _CrashLoopingWriters:
    """A namespace where every writer.yml applied crash-loops at once: after the N-th apply the writer pods are the
    N-th (new, its log the line its env calls for) and, still listed after it by name, the one it replaces. Records
    each applied writer's env."""

    def __init__(self):
        self.envs: list[dict[str, str]] = []

    def apply(self, command: str) -> tuple[str, int]:
        path = command.split("--filename ")[1].split()[0]
        deployment = next(d for d in yaml.safe_load_all(Path(path).read_text()) if d and d["kind"] == "Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        self.envs.append({v["name"]: v.get("value", "") for v in container["env"] if "value" in v})
        return "deployment.apps/ece573-prj04-writer configured", 0

    def _pod(self, n: int) -> dict:
        return {"metadata": {"name": f"ece573-prj04-writer-{'zyx'[n - 1]}", "uid": f"u{n}"},
                "status": {"phase": "Running", "containerStatuses": [
                    {"name": "writer", "restartCount": n + 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}

    def pods(self, command: str) -> tuple[str, int]:
        n = len(self.envs)
        return json.dumps({"items": [self._pod(k) for k in (n, n - 1) if k >= 1]}), 0

    def logs(self, command: str) -> tuple[str, int]:
        env = self.envs[-1]
        if not env.get("TOPIC"):
            return "2026/12/07 10:00:01 Unknown topic\n", 0
        if not env.get("CONSISTENCY"):
            return f"2026/12/07 10:01:01 Unknown consistency level {env.get('CONSISTENCY', '')}\n", 0
        return "2026/12/07 10:02:01 test: start from lastSeq=0\n", 0


def test_step_1_shows_the_missing_topic_then_the_missing_consistency_level(project):
    """The assignment's order: writer.yml without TOPIC and CONSISTENCY dies on the topic; with the topic fixed it
    dies on the consistency level (the pod it replaced, crash-looping, is not taken for the new one)."""
    cluster = _CrashLoopingWriters()
    ctx = _lesson_ctx([(r" apply ", cluster.apply), ("get pods --selector app=ece573-prj04-writer", cluster.pods),
                   ("logs -l app=ece573-prj04-writer", cluster.logs)])
    run = lesson.Lesson(make_lab(project, ctx, images={"writer": "ece573-prj04-writer:t"}), clock=lambda: 0.0,
                        sleep=lambda s: None, wait=30)
    step = lesson._Step(run.lab, 1, clock=lambda: 0.0)
    run.step1(step)
    assert [(e.get("TOPIC"), "CONSISTENCY" in e) for e in cluster.envs] == [("", False), ("test", False)]
    facts = step.finish()["facts"]
    assert facts["unknown_topic_line"].endswith("Unknown topic") and facts["restarts"] == 2 and facts["crashloop"]
    assert facts["unknown_consistency_line"].endswith("Unknown consistency level")
    assert facts["consistency_restarts"] == 3 and facts["consistency_crashloop"]
    labels = [i["label"] for i in step.data["items"] if i["type"] == "command" and " apply " in i["command"]]
    assert labels == ["writer: WRITER_MODE=seed, TOPIC='', CONSISTENCY unset, WRITER_RESUME=false",
                      "writer: WRITER_MODE=seed, TOPIC='test', CONSISTENCY unset, WRITER_RESUME=false"]


def test_step_1_stops_when_the_writer_without_consistency_does_not_say_so(project):
    cluster = _CrashLoopingWriters()
    ctx = _lesson_ctx([(r" apply ", cluster.apply), ("get pods --selector app=ece573-prj04-writer", cluster.pods),
                   ("logs -l app=ece573-prj04-writer",
                    lambda c: ("Unknown topic\n", 0) if not cluster.envs[-1]["TOPIC"] else ("panic: nil\n", 0))])
    run = lesson.Lesson(make_lab(project, ctx, images={"writer": "ece573-prj04-writer:t"}), clock=lambda: 0.0,
                        sleep=lambda s: None, wait=30)
    with pytest.raises(LabError, match="did not log 'Unknown consistency level'"):
        run.step1(lesson._Step(run.lab, 1, clock=lambda: 0.0))


# -- a writer of your own (lab.writer.source, or `invoke build --writer-dir`) in place of the seed writer -------------

def test_step_1_with_your_writer_deploys_it_as_built_and_names_it(project):
    """`invoke build --writer-dir gowriter` recorded the directory: step 1 deploys that image (no HTTP probes, as
    `invoke deploy` runs it), says WRITER_MODE=own, and its notes and facts name your writer, not the seed one."""
    from lab import state

    state.put(project / ".cache/lab", "writer_source", str(project / "gowriter"))
    state.put(project / ".cache/lab", "writer_image", "ece573-prj04-writer:0a1b2c3d4e5f")
    cluster = _CrashLoopingWriters()
    applied: list[dict] = []

    def apply(command: str):
        path = command.split("--filename ")[1].split()[0]
        applied.append(next(d for d in yaml.safe_load_all(Path(path).read_text()) if d and d["kind"] == "Deployment"))
        return cluster.apply(command)

    ctx = _lesson_ctx([(r" apply ", apply), ("get pods --selector app=ece573-prj04-writer", cluster.pods),
                       ("logs -l app=ece573-prj04-writer", cluster.logs)])
    lab = make_lab(project, ctx)
    run = lesson.Lesson(dataclasses.replace(lab, cfg=workflow.with_built_writer(lab.cfg)), clock=lambda: 0.0,
                        sleep=lambda s: None, wait=30)
    step = lesson._Step(run.lab, 1, clock=lambda: 0.0)
    run.step1(step)
    containers = [d["spec"]["template"]["spec"]["containers"][0] for d in applied]
    assert {c["image"] for c in containers} == {"ece573-prj04-writer:0a1b2c3d4e5f"}
    assert not any({"livenessProbe", "readinessProbe"} & set(c) for c in containers)
    assert [(cluster.envs[n].get("TOPIC"), cluster.envs[n].get("WRITER_MODE")) for n in (0, 1)] == [
        ("", "own"), ("test", "own")]
    facts = step.finish()["facts"]
    assert facts["writer_mode"] == "own" and facts["unknown_consistency_line"].endswith("Unknown consistency level")
    labels = [i["label"] for i in step.data["items"] if i["type"] == "command" and " apply " in i["command"]]
    assert labels[0] == "writer: WRITER_MODE=own, TOPIC='', CONSISTENCY unset, WRITER_RESUME=false"
    notes = [i["text"] for i in step.data["items"] if i["type"] == "note"]
    assert notes[0].startswith("writer.yml of the assignment sets neither TOPIC nor CONSISTENCY: your writer "
                               "(gowriter) logs 'Unknown topic'")


def test_with_your_writer_the_lesson_runs_steps_1_to_3_and_leaves_your_writer(project, monkeypatch):
    """Step 4 is the lab's robust writer, whose image is not there while yours is: the whole lesson is steps 1-3, and
    the lab is left with your writer (resume as lab.writer.resume says), as `invoke deploy` would leave it."""
    from lab import state

    state.put(project / ".cache/lab", "writer_source", str(project / "gowriter"))
    ran, left = [], []
    for n in (1, 2, 3, 4):
        monkeypatch.setattr(lesson.Lesson, f"step{n}", lambda self, step, n=n: ran.append(n))
    monkeypatch.setattr(lesson.Lesson, "deploy_writer", lambda self, step, **kw: left.append(kw))
    monkeypatch.setattr(lesson.kubectl, "rollout_status", lambda *a, **kw: None)
    ctx = _lesson_ctx([("get-contexts", "kind-kind\n")])
    record = lesson.run_lesson(make_lab(project, ctx, writer={"resume": True}), clock=lambda: 0.0)
    assert ran == [1, 2, 3] and set(record["steps"]) == {"1", "2", "3"}
    assert left == [{"mode": "robust", "topic": "test", "resume": True}]
    with pytest.raises(PreconditionError, match=r"lesson step 4 runs the lab's robust writer, and the writer image is "
                                                r"yours \(.*/gowriter\): run `invoke build` \(no --writer-dir"):
        lesson.run_lesson(make_lab(project, ctx), steps=[4])


def test_the_side_by_side_table_names_your_writer():
    steps = {"2": _step({"writer_mode": "own", "seed_restarts_before": 0, "seed_restarts_after": 1, "crashed": False,
                         "seed_stall_s": 12.0, "seed_resumed_from": 0, "gaps": 0}),
             "3": _step({"writer_mode": "own", "resume_restarts": 0, "start_with_resume": 5123, "gaps": 0})}
    assert [row[0] for row in lesson_table.side_by_side(steps)] == ["your writer", "your writer + resume"]
