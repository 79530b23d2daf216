"""`invoke chaos` end to end under the fake runner: targets to faults, random draws, bad input refused
with one line, JSON records, the table and the soak totals."""

import json
import random
import re

import pytest

from lab import chaos
from lab.chaos import plan
from lab.errors import LabError, PreconditionError
from tests.lab.chaosfakes import WRITER, FakeClock, FakeProgress, cassandra_pods, items, pod, round_ctx, verify_rules
from tests.lab.labfakes import DATA, CqlRows, make_lab


def test_plan_maps_each_flag_to_its_fault():
    assert plan(pod="cassandra-2", rounds=2) == [("pod", "cassandra-2")] * 2
    assert plan() == [("pod", "cassandra-1")]
    assert plan(pod="writer") == [("pod", "writer")]
    assert plan(pod="cassandra") == [("all-pods", "cassandra")]
    assert plan(node="kind-worker3", down=45) == [("node", "kind-worker3")]
    assert plan(partition="cassandra-0", rounds=3) == [("partition", "cassandra-0")] * 3


def test_random_rounds_draw_from_the_default_set_reproducibly():
    first = plan(pod="random", rounds=40, rng=random.Random(7))
    assert first == plan(pod="random", rounds=40, rng=random.Random(7))
    types = {fault_type for fault_type, _ in first}
    targets = {name for _, name in first}
    assert types == {"pod", "partition"}  # all three at once only when --among asks for it
    assert targets <= {"cassandra-0", "cassandra-1", "cassandra-2", "writer"}
    assert "writer" in targets and len(targets) == 4


def test_random_rounds_among_a_chosen_set():
    picks = plan(pod="random", among="cassandra,writer", rounds=20, rng=random.Random(1))
    assert set(picks) == {("all-pods", "cassandra"), ("pod", "writer")}


@pytest.mark.parametrize("kwargs, message", [
    ({"pod": "cassandra-1", "node": "kind-worker"}, "--pod and --node: give one target a run"),
    ({"node": "kind-worker", "down": 2}, "--down 2: give seconds between 5 and 600"),
    ({"partition": "cassandra-1", "down": 601}, "--down 601: give seconds between 5 and 600"),
    ({"pod": "cassandra-1", "down": 30}, "--down applies to --node, --partition, --pause, --freeze, --loss, --dns "
                                         "and random timed faults only"),
    ({"pod": "random", "among": "writer", "down": 30}, "--down applies to"),
    ({"pod": "cassandra-1", "among": "writer"}, "--among applies to --pod random only"),
    ({"pod": "random", "among": "writer,coredns"}, "--among 'writer,coredns': a comma-separated list of"),
    ({"pod": "coredns-0"}, "--pod 'coredns-0': name a Cassandra pod (cassandra-0..2), the writer ('writer', or "
         "'writer-N' for the N-th topic's)"),
    ({"pod": "cassandra-1", "rounds": 0}, "--rounds 0: need at least 1"),
])
def test_bad_input_is_one_line(kwargs, message):
    with pytest.raises(PreconditionError) as err:
        plan(**kwargs)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def _round_ctx():
    return round_ctx([
        ("get-contexts", "kind-kind\n"),
        ("get pod cassandra-1 ", json.dumps(pod("cassandra-1", "old", True))),
        ("app=ece573-prj04-writer", WRITER),
        ("get pods --selector app=cassandra", [items(pod("cassandra-1", "old", True, deleting=True)),
                                               items(pod("cassandra-1", "new", True))]),
        ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
        ("prj04_last_seq", " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"),
        ("SELECT seq", CqlRows((DATA / "cqlsh_seqs.txt").read_text())),
    ])


def _fake_round(clock):
    return lambda *a, **kw: chaos.run_round(*a, clock=clock, sleep=clock.sleep,
                                            make_progress=lambda *x: FakeProgress(), **kw)


def test_rounds_write_json_and_fail_on_lost_rows(project, capsys):
    lab = make_lab(project, _round_ctx(), chaos={"sample_every": 0.01, "settle": 0, "metric": "writer_rows_written"})
    clock = FakeClock()
    with pytest.raises(LabError, match=r"chaos: 1 of 1 round\(s\) failed, 4 row\(s\) missing"):
        chaos.run_rounds(lab, "cassandra-1", rounds=1, interval=0, run_round=_fake_round(clock))
    record = json.loads(next((project / "artifacts/chaos").glob("*-round1.json")).read_text())
    assert (record["pod"], record["fault"], record["lost_rows"], record["ok"]) == ("cassandra-1", "pod", 4, False)
    assert record["progress"] and record["progress"][0][1] > 100 and record["samples"] == len(record["progress"])
    captured = capsys.readouterr()
    assert ("round  fault  target       recovery s  writer stall s (sampled)  ack stall s (from fault)  "
            "acked before / stored after  writer restarts  lost rows  result") in captured.out
    assert "CPU weight" not in captured.out and record["cpu_weight"] is False
    assert not (project / "artifacts/chaos/soak").exists()  # totals only for several rounds
    # The round's line names both files, and the timeline was drawn.
    png = next((project / "artifacts/chaos").glob("*-round1.png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.search(rf"FAILED: lost rows; artifacts/chaos/\S+-round1.json and its timeline {png.name}", captured.err)


def test_a_round_gives_no_cpu_weight_unless_asked(project):
    """The weight flatters the figure a round is judged by: off by default, no node touched."""
    ctx = _round_ctx()
    ctx.add("kind get nodes", "kind-control-plane\nkind-worker\nkind-worker2\nkind-worker3\nkind-worker4\n", first=True)
    lab = make_lab(project, ctx, chaos={"sample_every": 0.01, "settle": 0, "metric": "writer_rows_written"})
    with pytest.raises(LabError):  # the recorded rows miss 4 seqs: this test is about the weight
        chaos.run_rounds(lab, "cassandra-1", rounds=1, interval=0, run_round=_fake_round(FakeClock()))
    assert ctx.matching("docker update") == []


def test_cpu_weight_when_asked_favours_the_writers_node_then_restores_every_node(project, capsys):
    """--cpu-weight: the writer's node (kind-worker4 here) gets 4x the weight before the fault; after the round every
    node is back to Docker's default, and the round, its table and its picture say the weight was on."""
    ctx = _round_ctx()
    ctx.add("kind get nodes", "kind-control-plane\nkind-worker\nkind-worker2\nkind-worker3\nkind-worker4\n", first=True)
    lab = make_lab(project, ctx, chaos={"sample_every": 0.01, "settle": 0, "metric": "writer_rows_written"})
    with pytest.raises(LabError):
        chaos.run_rounds(lab, "cassandra-1", rounds=1, interval=0, cpu_weight=True, run_round=_fake_round(FakeClock()))
    updates = ctx.matching("docker update")
    assert updates[4] == "docker update --cpu-shares 4096 kind-worker4" and len(updates) == 10
    assert all("--cpu-shares 1024" in u for u in updates[:4] + updates[5:])  # restored: all five nodes
    deleted = next(i for i, c in enumerate(ctx.commands) if "delete pod cassandra-1" in c)
    weighted = [i for i, c in enumerate(ctx.commands) if "docker update" in c]
    assert weighted[4] < deleted < weighted[5]
    record = json.loads(next((project / "artifacts/chaos").glob("*-round1.json")).read_text())
    assert record["cpu_weight"] is True
    assert "WITH 4x CPU weight on the writers' nodes (1 round(s), --cpu-weight)" in capsys.readouterr().out


def test_the_weight_is_restored_when_the_round_fails(project):
    """A round that raises (here the verify read is refused) still puts every node back to the default."""
    ctx = _round_ctx()
    ctx.add("kind get nodes", "kind-control-plane\nkind-worker\n", first=True)
    ctx.add("app=ece573-prj04-writer", items(pod("ece573-prj04-writer-x", "w", True, node="kind-worker")), first=True)
    lab = make_lab(project, ctx, chaos={"sample_every": 0.01, "settle": 0, "metric": "writer_rows_written"})

    def failing_round(*a, **kw):
        clock = FakeClock()
        return chaos.run_round(*a, clock=clock, sleep=clock.sleep, make_progress=lambda *x: _Exploding(), **kw)

    with pytest.raises(RuntimeError, match="sampler broke"):
        chaos.run_rounds(lab, "cassandra-1", rounds=1, interval=0, cpu_weight=True, run_round=failing_round)
    assert ctx.matching("docker update")[-2:] == ["docker update --cpu-shares 1024 kind-control-plane",
                                                  "docker update --cpu-shares 1024 kind-worker"]


class _Exploding(FakeProgress):
    def close(self):
        raise RuntimeError("sampler broke")


def test_random_rounds_record_target_fault_seed_and_totals(project, monkeypatch):
    from lab import plot

    monkeypatch.setattr(plot, "plot_beside", lambda path: None)  # pictures are test_plot's business
    ctx = round_ctx([("get-contexts", "kind-kind\n"), ("app=ece573-prj04-writer", WRITER),
                   ("get pods --selector app=cassandra", cassandra_pods()), *verify_rules()])
    lab = make_lab(project, ctx, chaos={"sample_every": 0.01, "settle": 0, "metric": "writer_rows_written"})
    seen = []

    def fake_round(runner, kube, fault, number, settings, **kw):
        seen.append((fault.type, fault.name, fault.down))
        result = chaos.RoundResult(round=number, pod=fault.name, target=fault.target, force=False, deleted_at=0.0,
                                   fault=fault.type, recovery_s=10.0, stall_s=1.0,
                                   verify=[{"missing": 0, "rows": 100 * number}])
        return result

    chaos.run_rounds(lab, "random", rounds=6, interval=0, seed=42, down=20, run_round=fake_round)
    assert seen == [(k, n, 20.0 if k == "partition" else 0.0)
                    for k, n in plan(pod="random", rounds=6, rng=random.Random(42))]
    records = [json.loads(p.read_text()) for p in sorted((project / "artifacts/chaos").glob("*-round*.json"))]
    assert [(r["fault"], r["pod"], r["seed"]) for r in records] == [(k, n, 42) for k, n, _ in seen]
    [soak] = [json.loads(p.read_text()) for p in (project / "artifacts/chaos/soak").glob("*.json")]
    assert (soak["rounds"], soak["rows"], soak["lost_rows"], soak["writer_restarts"], soak["seed"]) == (
        6,
        600,
        0,
        0,
        42,
    )
    assert len(soak["rounds_table"]) == 6 and soak["rounds_table"][0]["fault"] == seen[0][0]


def test_crash_rounds_name_the_commitlog_mode_in_the_table(project, monkeypatch, capsys):
    from lab import plot

    monkeypatch.setattr(plot, "plot_beside", lambda path: None)
    lab = make_lab(project, round_ctx([("get-contexts", "kind-kind\n")]), chaos={"sample_every": 0.01, "settle": 0})

    def fake_round(runner, kube, fault, number, settings, **kw):
        return chaos.RoundResult(round=number, pod=fault.name, target=fault.target, force=False, deleted_at=0.0,
                                 fault=fault.type, recovery_s=30.0, commitlog_sync="batch", kill_spread_ms=4.0,
                                 verify=[{"topic": "test", "missing": 0, "rows": 100}])

    chaos.run_rounds(lab, crash="cassandra", rounds=1, interval=0, run_round=fake_round)
    out = capsys.readouterr().out
    assert "Chaos: crash of every Cassandra JVM, 1 round(s), topic test, commitlog_sync batch" in out
    [record] = [json.loads(p.read_text()) for p in (project / "artifacts/chaos").glob("*-round1.json")]
    assert (record["fault"], record["commitlog_sync"], record["kill_spread_ms"]) == ("crash", "batch", 4.0)


def test_rounds_refuse_a_foreign_context(project):
    lab = make_lab(project, round_ctx(), context="prod")
    with pytest.raises(PreconditionError, match="refusing to delete pods in kube context 'prod'"):
        chaos.run_rounds(lab, "cassandra-1", rounds=1, interval=0)
    with pytest.raises(PreconditionError, match="refusing to inflict faults in kube context 'prod'"):
        chaos.run_rounds(lab, node="kind-worker2", rounds=1, interval=0)
    assert lab.runner.ctx.commands == []


def test_an_unknown_node_is_refused_before_anything_runs(project):
    ctx = round_ctx([("get-contexts", "kind-kind\n"), ("kind get nodes", "kind-control-plane\nkind-worker\n")])
    lab = make_lab(project, ctx)
    with pytest.raises(PreconditionError, match=r"--node 'kind-worker7': not a worker of kind cluster 'kind' "
                                                r"\(workers: kind-worker\)"):
        chaos.run_rounds(lab, node="kind-worker7", rounds=1, interval=0)
    assert ctx.matching("docker|delete") == []


def test_a_dry_node_round_prints_stop_then_start(project, capsys):
    ctx = round_ctx([("get-contexts", "kind-kind\n"), ("kind get nodes", "kind-control-plane\nkind-worker2\n")])
    chaos.run_rounds(make_lab(project, ctx, dry=True), node="kind-worker2", down=40, rounds=1, interval=0)
    assert [line for line in capsys.readouterr().out.splitlines() if line.startswith("[dry-run]")] == [
        "[dry-run] docker stop kind-worker2", "[dry-run] # ... 40s later", "[dry-run] docker start kind-worker2"]
    assert ctx.matching("^docker") == []
