"""`invoke bench --lab` composed on a fake cluster: what it reads, how it measures each round, what it keeps."""

import dataclasses
import json

import pytest

from lab import progress
from lab.bench import live
from lab.bench.phases import parse_time
from lab.chaos import RoundResult
from lab.errors import LabError
from tests.lab.labfakes import FakeCtx, make_lab
from tests.lab.test_bench_phases import LOG, POD

T0 = parse_time("2026-12-02T14:00:00Z")
US = 1_000_000

#: cqlsh's answer to the WRITETIME query: a 0.9 s gap between 10.2 and 11.1 s.
WRITETIMES = f"""
 seq | wt
-----+------------------
 101 | {int((T0 + 10.0) * US)}
 102 | {int((T0 + 10.2) * US)}
 103 | {int((T0 + 11.1) * US)}

(3 rows)
"""


#: The writer's log with --prefix --timestamps: a line before the deletion (T0 + 0.5), progress, and two events.
WRITER_LOG = """\
[pod/w-1/writer] 2026-12-02T14:00:00.100000000Z 14:00:00 WARNING test: write of seq 90 failed (earlier)
[pod/w-1/writer] 2026-12-02T14:00:10.300000000Z 14:00:10 INFO test: inserted rows to seq 102
[pod/w-1/writer] 2026-12-02T14:00:10.400000000Z 14:00:10 WARNING test: write of seq 103 failed (ConnectionShutdown)
[pod/w-1/writer] 2026-12-02T14:00:11.000000000Z 14:00:11 WARNING test: outage over after 0.6 s (3 retries so far)
"""


#: The deployed writer runs at ONE whatever the lab's config says: the bench reports the cluster's truth.
WRITER_DEPLOYMENT = {"spec": {"template": {"spec": {"containers": [
    {"name": "writer", "env": [{"name": "TOPIC", "value": "test"}, {"name": "CONSISTENCY", "value": "ONE"}]}]}}}}


@pytest.fixture
def cluster(project):
    ctx = FakeCtx([
        ("get-contexts", "kind-kind\n"),
        (r"get pod cassandra-\d --output json", json.dumps(POD)),
        (r"logs cassandra-\d --container cassandra --timestamps", LOG),
        (r"writetime\(value\)", WRITETIMES),
        (r"get deployment ece573-prj04-writer --output json", json.dumps(WRITER_DEPLOYMENT)),
        (r"logs --selector app=ece573-prj04-writer .*--container writer --timestamps", WRITER_LOG),
    ])
    return make_lab(project, ctx), ctx


def test_each_round_is_a_chaos_round_split_into_phases_with_its_ack_stall_and_send_gap(cluster, monkeypatch, capsys):
    lab, ctx = cluster
    rounds_asked = []

    def fake_round(runner, kube, fault, number, settings, **kwargs):
        return RoundResult(round=number, pod="cassandra-1", target="cassandra", force=False,
                           deleted_at=T0 + 0.5, recovery_s=30.5 + 10 * number, stall_s=1.0,
                           progress=[[T0, 101], [T0 + 10, None], [T0 + 20, 103]], ack_stall_s=3.25 + number,
                           ack_stall_began_s=0.4, ack_stall_source="acks")

    def fake_command(the_lab, command, *, run_round):
        rounds_asked.append(command.line())
        return [run_round(the_lab.runner, the_lab.kube, command.pod, n, None) for n in range(1, command.rounds + 1)]

    monkeypatch.setattr(live, "run_round", fake_round)
    monkeypatch.setattr(live, "run_command", fake_command)
    bench = live.run(lab, rounds=2, pod="cassandra-1", interval=5)

    # invoke chaos's own command, no CPU weight unless asked
    assert rounds_asked == ["invoke chaos --pod cassandra-1 --rounds 2 --interval 5"]
    assert [r.round for r in bench.rounds] == [1, 2]
    first = bench.rounds[0]
    assert first.phases["replaced"] == 3.5 and first.phases["ready"] == 11.25
    # the send gap (WRITETIME: when writes were sent) beside the acknowledgement stall (the writer's own record)
    assert (first.send_gap_s, first.writes_seen, first.sampled_stall_s) == (0.9, 3, 1.0)
    assert (first.ack_stall_s, first.ack_stall_began_s, first.ack_stall_source) == (4.25, 0.4, "acks")
    assert first.send_gap_after_s == 9.7  # the gap starts at T0 + 10.2, the deletion was at T0 + 0.5
    # what the writer said from the deletion on, its progress left out: why the gap lasted
    assert [line.split(" WARNING ")[-1] for line in first.writer_lines] == [
        "test: write of seq 103 failed (ConnectionShutdown)", "test: outage over after 0.6 s (3 retries so far)"]
    # the write times are read for the round's seqs, from a pod the rounds do not delete
    [query] = {c for c in ctx.matching("writetime") if "seq >= 101 AND seq <= 103" in c and "cassandra-0" in c}
    assert query
    assert bench.medians()["send_gap_s"] == 0.9 and bench.medians()["recovery_s"] == 45.5
    assert bench.medians()["ack_stall_s"] == 4.75 and bench.worsts()["ack_stall_s"] == 5.25
    shown = capsys.readouterr().out
    assert "ack stall  stall (sampled)  send gap (WRITETIME)" in shown and "4.250" in shown
    assert "CPU weight" not in shown
    # every pod's start, from its record
    assert set(bench.pods) == {"cassandra-0", "cassandra-1", "cassandra-2"}
    assert bench.pods["cassandra-2"]["cql_open"] == 2.5
    [saved] = (lab.cfg.path(lab.cfg.artifacts) / "bench").glob("lab-*.json")
    record = json.loads(saved.read_text())
    assert record["medians"]["send_gap_s"] == 0.9 and len(record["rounds"]) == 2
    assert record["rounds"][0]["ack_stall_s"] == 4.25 and record["rounds"][0]["cpu_weight"] is False
    assert record["worsts"]["recovery_s"] == 50.5 and record["writer_consistency"] == "ONE" != lab.cfg.consistency


#: The ALL writer's rows in the same round: it waited 25 s for the deleted replica.
ALL_WRITETIMES = f"""
 seq | wt
-----+------------------
 40 | {int((T0 + 1.0) * US)}
 41 | {int((T0 + 26.0) * US)}
 42 | {int((T0 + 26.1) * US)}

(3 rows)
"""


def test_with_several_writers_each_ones_gap_is_measured_in_the_same_rounds(project, monkeypatch, capsys):
    ctx = FakeCtx([
        ("get-contexts", "kind-kind\n"),
        (r"get pod cassandra-\d --output json", json.dumps(POD)),
        (r"logs cassandra-\d --container cassandra --timestamps", LOG),
        (r"writetime\(value\).*test-3", ALL_WRITETIMES),
        (r"writetime\(value\)", WRITETIMES),
        (r"get deployment ece573-prj04-writer --output json", json.dumps(WRITER_DEPLOYMENT)),
        (r"logs --selector app=ece573-prj04-writer", WRITER_LOG),
    ])
    lab = make_lab(project, ctx)
    watched = [{"writer": "ece573-prj04-writer", "topic": "test", "consistency": "QUORUM", "seqs": [101, 103]},
               {"writer": "ece573-prj04-writer-2", "topic": "test-2", "consistency": "ONE", "seqs": [7, 9]},
               {"writer": "ece573-prj04-writer-3", "topic": "test-3", "consistency": "ALL", "seqs": [40, 42]},
               {"writer": "ece573-prj04-writer-4", "topic": "test-4", "consistency": "ONE", "seqs": None}]

    def fake_round(runner, kube, fault, number, settings, **kwargs):
        return RoundResult(round=number, pod="cassandra-1", target="cassandra", force=True, deleted_at=T0 + 0.5,
                           recovery_s=30.0, stall_s=25.0, progress=[[T0, 101], [T0 + 20, 103]], writers=watched,
                           ack_stalls=[{"writer": "ece573-prj04-writer-3", "topic": "test-3", "stall_s": 25.25,
                                        "source": "acks"}])

    monkeypatch.setattr(live, "run_round", fake_round)
    monkeypatch.setattr(live, "run_command", lambda the_lab, command, *, run_round: [
        run_round(the_lab.runner, the_lab.kube, command.pod, n, None) for n in range(1, command.rounds + 1)])
    bench = live.run(lab, rounds=2, pod="cassandra-1", force=True, interval=5)

    assert bench.rounds[0].writer_gaps == [
        {"writer": "test (QUORUM)", "send_gap_s": 0.9, "writes": 3, "ack_stall_s": None},
        {"writer": "test-2 (ONE)", "send_gap_s": 0.9, "writes": 3, "ack_stall_s": None},
        {"writer": "test-3 (ALL)", "send_gap_s": 25.0, "writes": 3, "ack_stall_s": 25.25},
        {"writer": "test-4 (ONE)", "send_gap_s": None, "writes": 0, "ack_stall_s": None}]
    # each topic's write times over the seqs its own samples saw
    spans = {"test-2": "seq >= 7 AND seq <= 9", "test-3": "seq >= 40 AND seq <= 42"}
    queried = {topic for topic, span in spans.items() for c in ctx.matching("writetime") if topic in c and span in c}
    assert queried == set(spans)
    [saved] = (lab.cfg.path(lab.cfg.artifacts) / "bench").glob("lab-*.json")
    gaps = json.loads(saved.read_text())["writer_gaps"]
    assert gaps["test-3 (ALL)"] == {"send_gap_median": 25.0, "send_gap_worst": 25.0, "ack_stall_median": 25.25,
                                    "ack_stall_worst": 25.25}
    assert gaps["test-4 (ONE)"]["send_gap_median"] is None
    shown = capsys.readouterr().out
    assert "Each writer's acknowledgement stall and send gap" in shown and "test-3 (ALL) send gap" in shown
    assert "25.00" in shown and "test-3 (ALL) ack stall" in shown


def test_up_times_both_paths_of_invoke_up_side_by_side(cluster, monkeypatch, capsys):
    lab, _ = cluster
    made, ran = [], []

    def fake_up(the_lab):
        preload = the_lab.cfg.images.preload
        ran.append(preload)
        with progress.step("Creating kind cluster kind"), progress.step("Waiting for nodes"):
            pass
        with progress.step("Loading lab/writer:1 into the " + ("workers" if preload else "nodes")):
            pass

    monkeypatch.setattr(live.workflow, "up", fake_up)
    monkeypatch.setattr(live.workflow, "node_image", lambda the_lab: "kind-node-lab:feed")
    monkeypatch.setattr(live.workflow, "cassandra_image", lambda the_lab: "lab/cassandra:1")
    monkeypatch.setattr(live.workflow, "workers_node_image", lambda the_lab, node, cass: made.append((node, cass)))
    bench = live.run(lab, rounds=0, up=True)

    # the preloaded node image first (not timed in either run), then today's path, then the preloaded one
    assert made == [("kind-node-lab:feed", "lab/cassandra:1")] and ran == [False, True]
    assert list(bench.up_paths) == ["kind load", "preloaded"]
    assert [(s["message"], s["depth"]) for s in bench.up_paths["preloaded"]["steps"]] == [
        ("Waiting for nodes", 1), ("Creating kind cluster kind", 0), ("Loading lab/writer:1 into the workers", 0)]
    rows = live.up_rows(bench.up_paths)
    assert [r[0] for r in rows] == ["  Waiting for nodes", "Creating kind cluster kind",
                                    "Loading lab/writer:1 into the nodes", "Loading lab/writer:1 into the workers",
                                    "the whole invoke up"]
    assert rows[2][2] == "-" and rows[3][1] == "-"  # a step one path has not
    assert bench.rounds == [] and bench.faults == []
    shown = capsys.readouterr().out
    assert "step of invoke up" in shown and "kind load, s" in shown and "preloaded, s" in shown
    [saved] = (lab.cfg.path(lab.cfg.artifacts) / "bench").glob("lab-*.json")
    assert set(json.loads(saved.read_text())["up_paths"]) == {"kind load", "preloaded"}


@pytest.mark.parametrize("kwargs, message", [
    ({"pod": "writer"}, "--pod must be one of cassandra-0, cassandra-1, cassandra-2"),
    ({"rounds": -1}, "--rounds must be 0 or more"),
    ({"up": True, "registry": "local"}, r"--up compares `kind load` with a preloaded node image, and with "
                                        r"lab.images.registry \(local\) the nodes pull instead"),
])
def test_bad_options_are_refused_before_anything_runs(cluster, kwargs, message):
    lab, ctx = cluster
    if "registry" in kwargs:
        images = dataclasses.replace(lab.cfg.images, registry=kwargs.pop("registry"))
        lab = dataclasses.replace(lab, cfg=dataclasses.replace(lab.cfg, images=images))
    with pytest.raises(LabError, match=message):
        live.run(lab, **kwargs)
    assert ctx.commands == []
