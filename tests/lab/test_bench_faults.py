"""`invoke bench --lab --fault`: each kind as the `invoke chaos` command it is, its rounds summed up, one row each."""

import json

import pytest

from lab.bench import faults, live
from lab.chaos import RoundResult
from lab.errors import LabError, PreconditionError
from tests.lab.test_bench_live import POD, T0, cluster  # noqa: F401 (a fixture)


@pytest.mark.parametrize("kind, line", [
    ("pod", "invoke chaos --pod cassandra-2 --rounds 5 --interval 10 --force"),
    ("all-pods", "invoke chaos --pod cassandra --rounds 5 --interval 10 --force"),
    ("pause", "invoke chaos --pause cassandra-2 --down 20 --rounds 5 --interval 10"),
    ("freeze", "invoke chaos --freeze kind-worker3 --down 20 --rounds 5 --interval 10"),
    ("crash", "invoke chaos --crash cassandra-2 --rounds 5 --interval 10"),
    ("loss", "invoke chaos --loss cassandra-2 --percent 30 --down 20 --rounds 5 --interval 10"),
    ("dns", "invoke chaos --dns --down 20 --rounds 5 --interval 10"),
], ids=lambda v: v if v in faults.FAULT_KINDS else "")
def test_each_kind_is_one_invoke_chaos_command(kind, line):
    command = faults.command_for(kind, pod="cassandra-2", node="kind-worker3", rounds=5, interval=10, force=True,
                                 down=20, percent=30)
    # --force only for deletions, --down only for the timed kinds, --percent only for a loss
    assert command.line() == line
    assert command.check()[0] == {"all-pods": "all-pods"}.get(kind, kind)


@pytest.mark.parametrize("given, kinds", [
    ([], ("pod",)),
    (["pause,freeze", "crash"], ("pause", "freeze", "crash")),
    (["loss", "loss, dns"], ("loss", "dns")),
])
def test_fault_is_repeatable_and_comma_separated(given, kinds):
    assert faults.parse_faults(given) == kinds


def test_an_unknown_kind_is_one_line():
    with pytest.raises(PreconditionError, match=r"--fault node: give one of pod, pause, freeze, crash, loss"):
        faults.parse_faults(["pause,node"])


def test_the_tools_a_run_needs():
    assert faults.tools(("pod", "all-pods", "dns")) == ("kubectl",)
    assert faults.tools(("pod", "freeze")) == ("docker", "kind", "kubectl")


def _result(number, fault, *, recovery, stall, source="acks", down=None, missing=0, restarts=0):
    return RoundResult(round=number, pod="cassandra-1", target="cassandra", force=False, deleted_at=T0 + 0.5,
                       fault=fault, down_s=down, recovery_s=recovery, stall_s=1.0, ack_stall_s=stall,
                       ack_stall_source=source, writer_restarts=restarts,
                       verify=[{"topic": "test", "rows": 100, "missing": missing, "ok": not missing,
                                "problems": ["gaps"] if missing else []}],
                       progress=[[T0, 101], [T0 + 20, 103]])


def test_summary_is_median_and_worst_with_the_conditions():
    command = faults.command_for("pause", pod="cassandra-1", rounds=3, interval=5, down=30)
    results = [_result(1, "pause", recovery=2.0, stall=0.25, down=30.0),
               _result(2, "pause", recovery=5.5, stall=0.39, down=30.0, restarts=1),
               _result(3, "pause", recovery=3.0, stall=None, source="samples every 0.5 s", down=30.0)]
    summary = faults.summarize("pause", command, results, consistency="QUORUM")
    assert summary.figures() == {"recovery_median_s": 3.0, "recovery_worst_s": 5.5, "ack_stall_median_s": 0.32,
                                 "ack_stall_worst_s": 0.39}
    assert (summary.rounds, summary.lost_rows, summary.writer_restarts, summary.sampled_stalls) == (3, 0, 1, 1)
    assert summary.conditions == {"writer": "QUORUM", "cpu_weight": "off", "down_s": 30.0}
    [row] = faults.rows([summary])
    assert row[:9] == ["pause", "3", "3.000", "5.500", "0.320*", "0.390*", "0", "1", "0"]
    assert row[9] == "writer QUORUM, cpu_weight off, down_s 30.0"


def test_several_kinds_give_one_row_each_through_invoke_chaos(cluster, monkeypatch, capsys):  # noqa: F811
    lab, ctx = cluster
    ctx.add(r"get pod cassandra-1 --output json", json.dumps({**POD, "spec": {"nodeName": "kind-worker2"}}),
            first=True)
    ran, slept = [], []
    stalls = {"pod": 0.44, "freeze": 0.18, "loss": 0.13}

    def fake_round(runner, kube, fault, number, settings, **kwargs):
        return _result(number, fault, recovery=10.0 * number, stall=stalls[fault] * number,
                       down=None if fault == "pod" else 30.0, missing=7 if fault == "loss" and number == 2 else 0)

    def fake_command(the_lab, command, *, run_round):
        ran.append(command.line())
        kind = command.check()[0]
        results = [run_round(the_lab.runner, the_lab.kube, kind, n, None) for n in range(1, command.rounds + 1)]
        if any(not r.ok for r in results):  # as run_rounds does, after its own table
            raise LabError("chaos: 1 of 2 round(s) failed, 7 row(s) missing")
        return results

    monkeypatch.setattr(live, "run_round", fake_round)
    monkeypatch.setattr(live, "run_command", fake_command)
    with pytest.raises(LabError, match="bench --lab: loss: chaos: 1 of 2 round.s. failed, 7 row.s. missing"):
        live.run(lab, rounds=2, pod="cassandra-1", interval=5, faults=("pod", "freeze", "loss"), sleep=slept.append)

    # the freeze hits the node the cluster says hosts --pod; the kinds run one after the other, interval apart
    assert ran == ["invoke chaos --pod cassandra-1 --rounds 2 --interval 5",
                   "invoke chaos --freeze kind-worker2 --rounds 2 --interval 5",
                   "invoke chaos --loss cassandra-1 --rounds 2 --interval 5"]
    assert slept == [5, 5]
    [saved] = (lab.cfg.path(lab.cfg.artifacts) / "bench").glob("lab-*.json")
    record = json.loads(saved.read_text())
    by_kind = {f["fault"]: f for f in record["faults"]}
    assert list(by_kind) == ["pod", "freeze", "loss"]
    assert by_kind["freeze"]["ack_stall_median_s"] == 0.27 and by_kind["freeze"]["ack_stall_worst_s"] == 0.36
    assert by_kind["freeze"]["recovery_worst_s"] == 20.0 and by_kind["freeze"]["lost_rows"] == 0
    assert (by_kind["loss"]["lost_rows"], by_kind["loss"]["failed"]) == (7, 1)
    assert by_kind["loss"]["error"].startswith("chaos: 1 of 2")
    assert by_kind["pod"]["conditions"] == {"writer": "ONE", "cpu_weight": "off", "deletion": "graceful"}
    # the single deletion keeps its phases beside the closing table
    assert len(record["rounds"]) == 2 and record["rounds"][0]["phases"]["replaced"] == 3.5
    shown = capsys.readouterr().out
    assert "Each fault kind, as `invoke chaos` runs it" in shown
    assert [line.split()[0] for line in shown.splitlines() if line.split()[:1] in (["pod"], ["freeze"], ["loss"])
            and "writer ONE" in line] == ["pod", "freeze", "loss"]


def test_a_bad_down_is_refused_before_anything_runs(cluster):  # noqa: F811
    lab, ctx = cluster
    with pytest.raises(PreconditionError, match="--down 2: give seconds between 5 and 600"):
        live.run(lab, faults=("pod", "pause"), down=2)
    assert ctx.commands == []
