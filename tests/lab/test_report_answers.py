"""invoke report, answers and the lesson: the assignment's questions answered from the collected data and
the lesson record (tests/lab/data/notebook/artifacts/lesson/lesson.json), or the command that records them."""

import json

from lab import report as report_lib
from lab.report.answers import answers
from lab.report.to_markdown import render_markdown
from tests.lab.labfakes import FakeCtx, make_lab
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
        "Yes: the writer crash-looped because TOPIC was unset in writer.yml (CrashLoopBackOff, 3 restarts)"
    )
    assert "shows `2026/11/25 20:06:41 Unknown topic`" in wrong
    still = find(found, "After `kubectl delete pod cassandra-1`, why is the pod still there?").answer
    assert "recreated cassandra-1 under the same name" in still and "AGE 12.4 s, RESTARTS 0" in still
    assert "back Ready and UN after 41.2 s" in still  # the chaos round, too
    writer = find(found, "What happens to the writer").answer
    assert "RESTARTS went from 0 to 1" in writer and "0 restarts, longest stall 1.5 s" in writer
    assert "logged `start from lastSeq=0`" in find(found, "Why does the writer start again from seq 1").answer
    resume = find(found, "Can we have a writer").answer
    assert "logged `start from lastSeq=4187`, so it went on at seq 4188" in resume
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
    assert "| seed | 1 | 21.5 | 0 | 0 |" in v and "| robust | 0 | 1.5 | no restart | 0 |" in v
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
    older = {"pod": "cassandra-1", "recovery_s": 41.2, "writer_restarts": 0, "stall_s": 2.0}  # before fault kinds
    assert "--pod cassandra-1` measured the same: back Ready and UN after 41.2 s" in asked([older, deletion]).answer
