"""invoke report, answers and the lesson: the assignment's questions answered from the collected data and
the lesson record (tests/lab/data/notebook/artifacts/lesson/lesson.json), or the command that records them."""

import json
import shutil

import pytest

from lab import report as report_lib
from lab.report import lesson_record
from lab.report.answers import answers
from lab.report.collect import derive
from lab.report.to_markdown import render_markdown
from tests.lab.labfakes import DATA, FakeCtx, make_lab
from tests.lab.reportdata import LESSON, Clock, add_lesson, down_rules, healthy_report


def by_question(report):
    return {a.question: a for a in answers(report)}


def find(found, start):
    [answer] = [a for q, a in found.items() if q.startswith(start)]
    return answer


def test_every_answer_is_written_from_the_data_when_all_is_recorded(full_lab):
    report = healthy_report(full_lab)
    found = by_question(report)
    assert [a.section for a in found.values()] == ["II"] * 4 + ["III"] * 2 + ["IV"] * 3 + ["V"] * 2
    assert all(not a.missing for a in found.values()), [a for a in found.values() if a.missing]
    assert (
        "lists 5 nodes (kind-control-plane, kind-worker, kind-worker2, kind-worker3, kind-worker4): 1 control plane "
        "and 4 workers, as cluster.yml asks" in find(found, "Is the kind cluster running").answer
    )
    assert "from the image kindest/node:v1.30.0" in find(found, "What are the nodes?").answer
    assert "lists 3 running containers: cassandra, kindnet-cni, kube-proxy" in find(found, "What runs inside").answer
    assert "control plane is running at https://127.0.0.1:39321 running Kubernetes v1.30.0" in \
        find(found, "Does kubectl reach").answer
    assert "3 of 3 pods Ready" in find(found, "Are the Cassandra Service").answer
    assert find(found, "Is Cassandra actually").answer.startswith(
        "Yes: `nodetool status` shows 3 of 3 nodes UN (Up, Normal), and cqlsh connects to cluster ece573-prj04 "
        "(Cassandra 5.0.9).")
    wrong = find(found, "Do you notice that something is wrong").answer
    assert wrong.startswith(
        "Yes: the seed writer (the lab's Python writer in WRITER_MODE=seed, which reproduces the assignment's Go "
        "writer) crash-looped because TOPIC was unset in writer.yml (CrashLoopBackOff, 3 restarts)"
    )
    assert "shows `2026/11/25 20:06:41 Unknown topic`" in wrong and "rows flowed in lesson step 2" in wrong
    still = find(found, "After `kubectl delete pod cassandra-1`, why is the pod still there?").answer
    assert "recreated cassandra-1 under the same name" in still and "AGE 12.4 s, RESTARTS 0" in still
    assert "deleted (gracefully)" in still and "so it shows 0." in still
    assert "back Ready and UN after 41.2 s" in still  # the chaos round, too
    writer = find(found, "What happens to the writer").answer
    assert "was restarted when cassandra-1 was deleted gracefully: its RESTARTS went from 0 to 1" in writer
    assert "(`2026/11/25 20:08:11 Cannot write 2417 to table ece573.prj04: Cannot achieve" in writer
    assert "under the same fault as step 2 (a graceful deletion of cassandra-1): 0 restarts, longest stall 1.5 s" \
        in writer
    assert "the seed writer's longest stall was 21.5 s, the robust writer's 1.5 s" in writer
    again = find(found, "Why does the writer start again from seq 1").answer
    assert "logged `start from lastSeq=0` while ece573.prj04_last_seq held 1480" in again
    assert "began again at seq 1, over the rows 1..1480 already stored" in again
    resume = find(found, "Can we have a writer").answer
    assert resume.startswith("Yes, by keeping the progress in Cassandra")
    assert "logged `start from lastSeq=4187`, the last_seq stored when it was redeployed, so it went on at seq 4188" \
        in resume
    assert "start from lastSeq=2990" in resume and "at QUORUM: 0 missing" in resume


def test_the_lesson_steps_land_in_sections_iv_and_v(full_lab):
    md = render_markdown(healthy_report(full_lab))
    iv = md.split("## IV.")[1].split("## V.")[0]
    v = md.split("## V.")[1]
    steps_iv = [line for line in iv.splitlines() if line.startswith("#### Lesson step")]
    assert [s.split(":")[0] for s in steps_iv] == ["#### Lesson step 1", "#### Lesson step 2", "#### Lesson step 4"]
    assert "(2026-11-25T20:05:10Z to 2026-11-25T20:06:44Z)" in steps_iv[0]
    assert "$ kubectl --context kind-kind --namespace default logs -l app=ece573-prj04-writer --tail 20\n" \
           "2026/11/25 20:06:41 Unknown topic" in iv
    assert "ece573-prj04-writer-7bcccffd6d-2s87k   0/1     CrashLoopBackOff   3 (32s ago)" in iv
    assert "**Observed** 2026-11-25T20:09:05Z: cassandra-1 Ready after 38.6 s, AGE 12.4 s" in iv
    assert "Not recorded yet" not in md
    assert "#### Lesson step 3: Stateless" in v and "test: start from lastSeq=4187" in v
    assert "| seed | graceful delete | 1 | 21.5 | 0 | 0 |" in v
    assert "| robust | graceful delete | 0 | 1.5 | no restart | 0 |" in v
    assert v.index("**The writers side by side (invoke lesson)**") < v.index("#### Lesson step 3")  # the summary first


def test_a_partial_lesson_names_the_steps_still_to_run(with_chaos):
    record = json.loads(LESSON.read_text())
    record["steps"] = {"1": record["steps"]["1"]}
    record["table"]["rows"] = []
    add_lesson(with_chaos, record)
    report = healthy_report(with_chaos)
    found = by_question(report)
    assert not find(found, "Do you notice").missing
    # the pod deletion is answered from the chaos round; the seed writer's side still needs step 2
    assert find(found, "After `kubectl delete pod").missing == ("invoke lesson --step 2",)
    assert "back Ready and UN after 41.2 s" in find(found, "After `kubectl delete pod").answer
    assert find(found, "What happens to the writer").missing == ("invoke lesson --step 2",)
    assert find(found, "Why does the writer start again").missing == ("invoke lesson --step 3",)
    md = render_markdown(report)
    assert "> Not recorded yet: `invoke lesson --step 2`" in md and "> Not recorded yet: `invoke lesson --step 4`" in md
    assert "No side-by-side table yet" in md


def test_without_cluster_or_lesson_each_answer_says_which_command_produces_it(project):
    report = report_lib.collect(make_lab(project, FakeCtx(down_rules())), clock=Clock(), plot_missing=False)
    found = by_question(report)
    assert all(a.missing for a in found.values())
    assert find(found, "Is the kind cluster running").missing == ("invoke up",)
    assert find(found, "After `kubectl delete pod").missing == (
        "invoke lesson --step 2",
        "invoke chaos --pod cassandra-1",
    )
    assert "Run `invoke lesson --step 1` to record it." in render_markdown(report)


def test_a_damaged_lesson_record_is_a_note_not_a_crash(with_chaos):
    (with_chaos / "artifacts/lesson").mkdir(parents=True)
    (with_chaos / "artifacts/lesson/lesson.json").write_text("{not json")
    report = healthy_report(with_chaos)
    assert (
        report["lesson"]["record"] is None and "cannot read artifacts/lesson/lesson.json" in report["lesson"]["error"]
    )
    assert "The lesson record is unusable (cannot read artifacts/lesson/lesson.json" in render_markdown(report)


def test_only_a_pod_deletion_answers_why_the_pod_is_still_there():
    """A partition or a node stop is not what section IV does; a deletion of any one Cassandra pod is."""
    def asked(rounds):
        report = {"data": {"chaos": rounds}, "sections": {}}
        return find(by_question(report), "After `kubectl delete pod")

    partition = {"pod": "cassandra-2", "fault": "partition", "recovery_s": 41.3, "writer_restarts": 0, "stall_s": 7.9}
    assert asked([partition]).answer.startswith("Not answered yet")
    deletion = {"pod": "cassandra-2", "fault": "pod", "recovery_s": 52.0, "writer_restarts": 0, "stall_s": 0.8}
    assert "`invoke chaos --pod cassandra-2` measured the same: back Ready and UN after 52 s." in \
        asked([partition, deletion]).answer
    older = {"pod": "cassandra-1", "recovery_s": 41.2, "writer_restarts": 0, "stall_s": 2.0}  # before fault types
    assert "--pod cassandra-1` measured the same: back Ready and UN after 41.2 s" in asked([older, deletion]).answer


# -- answers that follow the data: each answer fed facts that contradict the lesson it expects -----------------

def lesson_report(changes=None, drop=(), data=None):
    """The recorded lesson (LESSON) as a report, its steps' facts changed by ``changes`` ({step: {fact: value}})
    and without the (step, fact) pairs in ``drop`` (a record written before the lesson kept that fact)."""
    record = json.loads(LESSON.read_text())
    for step, facts in (changes or {}).items():
        record["steps"][step]["facts"].update(facts)
    for step, fact in drop:
        record["steps"][step]["facts"].pop(fact)
    return {"data": data or {}, "lesson": {"record": record}, "topic": "test", "sections": {}}


def asked(report, start):
    return find(by_question(report), start).answer


def test_no_answer_names_a_writer_this_lab_does_not_run(full_lab):
    """The lab runs its Python writer, in seed mode (the assignment's Go writer reproduced) or robust; never
    writer.go itself."""
    texts = [a.answer for a in answers(healthy_report(full_lab))]
    assert not [t for t in texts if "writer.go" in t]
    assert sum("the seed writer (the lab's Python writer in WRITER_MODE=seed" in t for t in texts) >= 3


def test_a_writer_not_restarted_is_not_said_to_be_restarted():
    """Contradiction 1 of the issue: RESTARTS 0 -> 0 once read "was restarted ... Kubernetes started it again"."""
    text = asked(lesson_report({"2": {"seed_restarts_after": 0}}), "What happens to the writer")
    assert "The seed writer (the lab's Python writer in WRITER_MODE=seed, which reproduces the assignment's Go " \
           "writer) was not restarted in this run: its RESTARTS stayed 0, through the deletion of cassandra-1." in text
    assert "does not show the failure the assignment describes" in text
    assert "was restarted" not in text and "started it again" not in text


def test_a_writer_not_restarted_even_by_the_crash_says_so():
    text = asked(lesson_report({"2": {"seed_restarts_after": 0, "crashed": True}, "4": {"crashed": True}}),
                 "What happens to the writer")
    assert "was not restarted in this run: its RESTARTS stayed 0, even when cassandra-1 crashed" in text


def test_a_seed_writer_that_survived_the_graceful_deletion_died_of_the_crash():
    text = asked(lesson_report({"2": {"crashed": True}, "4": {"crashed": True}}), "What happens to the writer")
    assert "survived the graceful deletion of cassandra-1" in text and "so the lesson crashed cassandra-1" in text
    assert "then the writer was restarted: its RESTARTS went from 0 to 1" in text
    assert "under the same fault as step 2 (a crash of cassandra-1: its JVM frozen, then the pod deleted with " \
           "--force): 0 restarts" in text
    assert "Under the same fault the seed writer's longest stall was 21.5 s, the robust writer's 1.5 s." in text


def test_a_replaced_writer_pod_is_no_evidence_either_way():
    text = asked(lesson_report({"2": {"seed_restarts_before": 3, "seed_restarts_after": 0}}),
                 "What happens to the writer")
    assert "RESTARTS went from 3 to 0: its pod was replaced" in text and "does not show whether it died" in text


def test_a_death_without_last_words_does_not_invent_them():
    text = asked(lesson_report({"2": {"seed_error_line": ""}}), "What happens to the writer")
    assert "holds no `Cannot write` line, so the record does not show which failure ended it" in text
    assert "first failed write" not in text


def test_a_robust_writer_that_restarted_is_not_said_to_ride_it_out():
    text = asked(lesson_report({"4": {"robust_restarts": 2, "error": "writer did not write again within 120s"}}),
                 "What happens to the writer")
    assert "The lab's robust writer under the same fault as step 2 (a graceful deletion of cassandra-1): restarted 2 " \
           "time(s), longest stall 1.5 s, so it did not ride the fault out this time (writer did not write " in text
    assert "retries with back-off" not in text


@pytest.mark.parametrize(("changes", "drop", "reason"), [
    ({"2": {"crashed": True}}, (), "step 2's fault was a crash (JVM frozen, then pod deleted with --force), step 4's "
                                   "a graceful delete"),
    ({}, [("2", "crashed"), ("4", "crashed")], "step 2's fault was not recorded, step 4's not recorded"),
    ({"2": {"crashed": True}}, [("4", "crashed")], "step 2's fault was a crash (JVM frozen, then pod deleted with "
                                                   "--force), step 4's not recorded"),
])
def test_stalls_of_unlike_faults_are_not_compared(changes, drop, reason):
    """Like with like: a crash against a graceful deletion (or a fault a record from before this check does not
    name) is no comparison; the answer and the side-by-side table say so and compare nothing."""
    report = lesson_report(changes, drop)
    text = asked(report, "What happens to the writer")
    assert f"Its stall is not compared with the seed writer's: {reason}." in text
    assert "Under the same fault" not in text and "under the same fault" not in text
    [table] = [i for i in lesson_record.items_for(report, "V") if i["type"] == "table"]
    assert table["title"] == f"The writers side by side (invoke lesson): the stalls are not comparable ({reason})"
    stalls = {row[0]: row[3] for row in table["rows"]}
    assert stalls["seed"] == "21.5 (not comparable)" and stalls["robust"] == "1.5 (not comparable)"


def test_a_pod_that_restarted_after_it_was_recreated_is_not_said_to_show_0():
    """Contradiction 2 of the issue: RESTARTS 3 once read "... so it shows 0"."""
    text = asked(lesson_report({"2": {"pod_restarts": 3}}), "After `kubectl delete pod")
    assert "AGE 12.4 s, RESTARTS 3." in text
    assert "the new cassandra-1's own container has restarted 3 time(s) since it was created" in text
    assert "shows 0" not in text


def test_the_pod_deleted_after_a_crash_says_how():
    text = asked(lesson_report({"2": {"crashed": True}}), "After `kubectl delete pod")
    assert text.startswith("Because only the pod was deleted (crashed first: its JVM frozen from its node, then the "
                           "pod deleted with --force), not the StatefulSet")


@pytest.mark.parametrize(("facts", "says", "never"), [
    ({"restarts": 0, "crashloop": False, "state": "", "unknown_topic_line": ""},
     "No, not in this run: the seed writer (the lab's Python writer in WRITER_MODE=seed, which reproduces the "
     "assignment's Go writer) without a topic did not crash-loop in lesson step 1 (RESTARTS 0, no `Unknown topic`",
     "crash-looped because"),
    ({"restarts": 0, "crashloop": False, "state": ""},
     "Not shown in this run: the seed writer (the lab's Python writer in WRITER_MODE=seed, which reproduces the "
     "assignment's Go writer) logged `2026/11/25 20:06:41 Unknown topic`, but it was not seen restarting (RESTARTS 0)",
     "crash-looped"),
    ({"unknown_topic_line": ""}, "kept restarting (CrashLoopBackOff, 3 restarts), but its log shows no `Unknown "
                                 "topic` line, so this record does not show why", "because TOPIC"),
    ({"state": "Error", "restarts": 1}, "crash-looped because TOPIC was unset in writer.yml (Error, 1 restarts)",
     "CrashLoopBackOff"),
    ({"unknown_consistency_line": "2026/12/07 10:01:01 Unknown consistency level", "consistency_restarts": 2},
     "With TOPIC set (here test) but CONSISTENCY still unset it crash-looped again (2 restarts): `2026/12/07 "
     "10:01:01 Unknown consistency level`, the assignment's remaining issue. With TOPIC set (here test) and "
     "CONSISTENCY rows flowed in lesson step 2.", "still unset it crash-looped again (None"),
])
def test_the_crash_loop_answer_says_what_step_1_saw(facts, says, never):
    text = asked(lesson_report({"1": facts}), "Do you notice")
    assert says in text and never not in text


def test_a_start_above_0_without_resume_is_not_said_to_begin_at_seq_1():
    """Contradiction 3 of the issue: `lastSeq=5000` logged, then "every start begins at seq 1"."""
    text = asked(lesson_report({"3": {"start_without_resume": 5000}}), "Why does the writer start again")
    assert text.startswith("Not in this run: redeployed without resume, the seed writer")
    assert "logged `start from lastSeq=5000` while ece573.prj04_last_seq held 1480, not 0, so it did not start " \
           "again from seq 1" in text
    assert "began again" not in text


def test_a_start_from_0_with_nothing_stored_shows_no_loss():
    text = asked(lesson_report({"3": {"stored_before_without_resume": None}}), "Why does the writer start again")
    assert "logged `start from lastSeq=0` with no last_seq stored in ece573.prj04_last_seq: nothing was stored " \
           "yet, so this start does not show the loss" in text


def test_a_record_without_the_stored_seq_claims_no_rows_written_again():
    text = asked(lesson_report(drop=[("3", "stored_before_without_resume")]), "Why does the writer start again")
    assert "began again at seq 1. (This record does not hold the last_seq stored before that start" in text
    assert "held" not in text


def test_a_resume_from_0_with_rows_missing_is_no_yes():
    """Contradiction 4 of the issue: a resumed start of 0 and 7 rows missing once read "Yes ... went on at
    seq 1 ... 7 missing"."""
    data = {"verify": {"consistency": "QUORUM", "topics": [{"topic": "test", "missing": 7}]}}
    text = asked(lesson_report({"3": {"start_with_resume": 0, "gaps": 7}}, data=data), "Can we have a writer")
    assert text.startswith("No, not in this run: with WRITER_RESUME=true the seed writer")
    assert "still logged `start from lastSeq=0` while ece573.prj04_last_seq held 4187: it did not resume, and " \
           "began again at seq 1 (seqs 1..4187 written again)." in text
    assert "verify after the step found 7 seq(s) missing in 1..last_seq: the data has holes" in text
    assert "at QUORUM: 7 missing" in text
    assert "Yes" not in text and "went on at" not in text


def test_a_resume_with_nothing_stored_had_nothing_to_resume_from():
    text = asked(lesson_report({"3": {"start_with_resume": 0, "stored_before_with_resume": None}}),
                 "Can we have a writer")
    assert "No, not in this run" in text and "there was nothing stored to resume from" in text


@pytest.mark.parametrize(("start", "says"), [
    (4000, "logged `start from lastSeq=4000` while ece573.prj04_last_seq held 4187: seqs 4001..4187 are written "
           "again."),
    (4300, "logged `start from lastSeq=4300` while ece573.prj04_last_seq held 4187: seqs 4188..4300 are never "
           "written."),
])
def test_a_resume_from_another_seq_than_the_stored_one_says_which_seqs_it_costs(start, says):
    text = asked(lesson_report({"3": {"start_with_resume": start}}), "Can we have a writer")
    assert text.startswith("It resumed, but not from where it stopped: with WRITER_RESUME=true the seed writer")
    assert says in text and "Yes" not in text


def test_a_resume_from_the_stored_seq_with_holes_is_not_a_complete_yes():
    text = asked(lesson_report({"3": {"gaps": 7}}), "Can we have a writer")
    assert text.startswith("It resumed, by keeping the progress in Cassandra")
    assert "found 7 seq(s) missing in 1..last_seq: the data has holes, so this run does not show a complete " \
           "resume" in text


def test_a_resume_without_the_stored_seq_recorded_does_not_claim_they_match():
    text = asked(lesson_report(drop=[("3", "stored_before_with_resume")]), "Can we have a writer")
    assert "so it went on at seq 4188. (This record does not hold the stored last_seq to compare that start with.)" \
        in text
    assert "the last_seq stored when it was redeployed" not in text


KIND = DATA / "notebook/kind"


def test_the_recorded_kind_report_no_longer_claims_a_resume_it_never_saw(tmp_path):
    """Contradiction 5 of the issue: the real report of tests/lab/data/notebook/kind answered "Yes, by keeping
    the progress in Cassandra ... and reading it before the loop" on a record whose only start is lastSeq=0.
    Re-rendered (`invoke report --rerender DIR`), the answer follows its data."""
    folder = tmp_path / "kind"
    shutil.copytree(KIND, folder)
    saved = json.loads((folder / "report.json").read_text())
    assert [s["seq"] for s in saved["data"]["resume"]["starts"]] == [0]
    md = report_lib.rerender_report(folder)["md"].read_text()
    [answer] = [a for a in derive(report_lib.load_report(folder))["answers"]
                if a["question"].startswith("Can we have a writer")]
    assert answer["answer"].startswith(
        "Not shown by this run's data: every writer start recorded is `start from lastSeq=0` (1 start(s), e.g. pod "
        "ece573-prj04-writer-78676f9b75-8n775, current run), a start that resumed nothing.")
    assert "verify read every seq 1..last_seq back at QUORUM: 0 missing." in answer["answer"]
    assert answer["missing"] == ["invoke lesson --step 3", "invoke chaos --pod writer"]
    assert f"A: {answer['answer']}" in md and "Yes, by keeping the progress" not in md


def test_a_resume_seen_in_the_logs_answers_without_the_lesson():
    data = {"resume": {"resumed": True, "seq": 2990, "source": "pod w, previous run", "starts": []}}
    answer = find(by_question({"data": data, "sections": {}}), "Can we have a writer")
    assert answer.answer.startswith("Yes, by keeping the progress in Cassandra (ece573.prj04_last_seq)")
    assert "pod w, previous run logged `start from lastSeq=2990`" in answer.answer
    assert answer.missing == ("invoke lesson --step 3",)
