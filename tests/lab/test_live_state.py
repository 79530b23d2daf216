"""The live state model and its collector, over recorded kubectl/nodetool outputs and fake /acks answers."""

from __future__ import annotations

import json

from lab.cassandra import parse_nodetool_status
from lab.live import state
from tests.lab.labfakes import DATA
from tests.lab.livefakes import (
    DELETED_AT,
    Clock,
    FakeProgress,
    recorded_collector,
    recorded_ctx,
    round_record,
    steady,
    text,
)

CASSANDRA_1_HOST = "d69e38d7-9bd7-4774-b855-fb65d6b3c77f"


def _pods(name: str) -> list[dict]:
    return json.loads(text(name))["items"]


def _members():
    return parse_nodetool_status((DATA / "nodetool_status_dn.txt").read_text())


def test_ring_joins_pods_to_nodetool_by_ip_and_a_replaced_pod_by_host_id():
    known = {CASSANDRA_1_HOST: "cassandra-1"}  # seen at its old IP before the deletion
    ring = state.ring(_pods("pods_during.json"), _members(), known)
    assert [(r.pod, r.state, r.address, r.worker, r.restarts, r.phase) for r in ring] == [
        ("cassandra-0", "UN", "10.244.3.3", "kind-worker", 0, "Ready"),
        ("cassandra-1", "DN", "10.244.2.3", "kind-worker2", 0, "Running, not Ready"),  # new IP, not in the ring
        ("cassandra-2", "UJ", "10.244.1.7", "kind-worker3", 1, "Running, not Ready"),
    ]


def test_a_member_no_pod_answers_for_is_its_own_row_and_its_pod_unknown():
    known: dict[str, str] = {}
    ring = state.ring(_pods("pods_during.json"), _members(), known)
    assert [(r.pod, r.state) for r in ring] == [("cassandra-0", "UN"), ("cassandra-1", "?"), ("cassandra-2", "UJ"),
                                                ("", "DN")]
    assert ring[-1].phase == "no pod" and ring[-1].address == "10.244.2.3"
    assert known == {"58ca0279-0b50-4033-901c-e00dfcdc75f6": "cassandra-0",
                     "7a1c4a33-0a55-4c6b-9e1d-2f3e4e5a6b7c": "cassandra-2"}


def test_without_nodetool_every_state_is_unknown():
    assert {r.state for r in state.ring(_pods("pods_before.json"), None, {})} == {"?"}


def test_kind_nodes_ready_and_roles():
    nodes = state.kind_nodes(json.loads(text("nodes.json")))
    assert [(n.name, n.ready, n.roles) for n in nodes][:2] == [("kind-control-plane", True, "control-plane"),
                                                               ("kind-worker", True, "worker")]
    assert [n.name for n in nodes if not n.ready] == ["kind-worker3"]


def test_a_steady_writer_acknowledges_at_its_rate():
    points = steady(100.0, 120.0, per_s=100)
    w = state.writer_state("w", "test", "QUORUM", points, now=120.05)
    assert (w.seq, w.rate, w.stalled) == (points[-1][1], 100.0, False)
    assert w.since_ack is not None and w.since_ack < 0.1


def test_a_writer_with_no_acknowledgement_for_more_than_two_seconds_is_stalled():
    points = steady(100.0, 116.0, per_s=100)  # the last advance at 116.0
    w = state.writer_state("w", "test", "", points, now=120.0)
    assert w.stalled and round(w.since_ack, 3) == 4.0 and w.seq == points[-1][1]
    assert w.rate == (points[-1][1] - state.seq_at(points, 115.0)) / state.RATE_WINDOW
    assert w.consistency == "writer.yml's"
    assert not state.writer_state("w", "test", "", points, now=117.9).stalled


def test_samples_repeating_a_seq_date_the_stall_from_its_first_sample():
    points = state.merge_points([], [(10.0, 5), (11.0, 7), (12.0, 7), (13.0, 7)], now=13.0)
    assert state.last_advance(points) == 11.0
    # merge keeps only later, non-decreasing points: a repeated /acks answer adds nothing
    assert state.merge_points(points, [(11.0, 7), (12.5, 7), (14.0, 9)], now=14.0) == [(10.0, 5), (11.0, 7),
                                                                                       (14.0, 9)]


def test_merge_trims_to_the_history_but_keeps_the_seq_then_held():
    points = state.merge_points([], [(0.0, 1), (100.0, 2), (700.0, 3)], now=800.0)
    assert points == [(100.0, 2), (700.0, 3)]


def test_rate_series_is_rows_per_second_in_each_step_with_gaps_before_the_first_point():
    points = steady(50.0, 60.0, per_s=100)
    series = state.rate_series(points, now=60.0, span=20.0, step=2.0)
    assert [t for t, _ in series] == [52.0, 54.0, 56.0, 58.0, 60.0]
    assert {v for _, v in series} == {100.0}


def test_kube_events_keep_the_reasons_worth_a_line_oldest_first():
    events = state.kube_events(json.loads(text("events.json")))
    assert [e.text for e in events] == [
        "cassandra-1: Killing (Stopping container cassandra)",
        "cassandra: SuccessfulCreate (create Pod cassandra-1 in StatefulSet cassandra successful)",
        "cassandra-1: Scheduled (Successfully assigned default/cassandra-1 to kind-worker2)",
    ]
    assert events[0].at == DELETED_AT


def test_pod_transitions_say_deleted_and_each_new_phase():
    before = {"cassandra-1": "Ready", "cassandra-2": "Ready", "w-1": "Ready"}
    after = {"cassandra-1": "Terminating", "cassandra-2": "Ready", "w-2": "Pending"}
    assert [e.text for e in state.pod_transitions(before, after, now=5.0)] == [
        "cassandra-1: Terminating", "w-1: deleted", "w-2: Pending"]


def test_a_rounds_story_and_its_chart_marks_come_from_its_json():
    record = round_record(began=1000.0, recovery=41.5, stall=3.25, lost=12)
    assert [(e.at, e.text) for e in state.round_events(record)] == [
        (1000.0, "chaos round 1 (cassandra-1): pod began"),
        (1041.5, "chaos round 1 (cassandra-1): recovered in 41.5 s"),
        (1041.5, "chaos round 1 (cassandra-1): ended, LOST 12 rows"),
    ]
    mark = state.fault_mark(record, file="x-round1.json")
    assert (mark["began"], mark["recovered"], mark["stall_at"], mark["stall_s"], mark["lost_rows"]) == (
        1000.0, 1041.5, 1000.4, 3.25, 12)


# -- the collector over recorded outputs -----------------------------------------------------------------

def _writers(now: float) -> dict[str, FakeProgress]:
    return {"test": FakeProgress("test", steady(now - 30, now, per_s=100)),
            "test-2": FakeProgress("test-2", steady(now - 30, now - 6, per_s=50), with_acks=False)}


def test_one_poll_reads_every_source_and_builds_the_snapshot(tmp_path):
    clock = Clock(DELETED_AT + 10)
    ctx = recorded_ctx()
    collector = recorded_collector(tmp_path, ctx, _writers(clock.now), clock)
    collector.poll()  # the first poll learns the writers; their feeds read from the next one
    snap = collector.poll()
    assert [(r.pod, r.state) for r in snap.ring] == [("cassandra-0", "UN"), ("cassandra-1", "?"),
                                                     ("cassandra-2", "UJ"), ("", "DN")]
    assert len(ctx.matching(r"cassandra-0 .*nodetool status")) == 1  # the first Ready pod, once per 5 s
    by_name = {w.name: w for w in snap.writers}
    steady_writer, stalled = by_name["ece573-prj04-writer"], by_name["ece573-prj04-writer-2"]
    assert (steady_writer.topic, steady_writer.consistency, steady_writer.stalled) == ("test", "QUORUM", False)
    assert steady_writer.rate == 100.0
    # the second writer serves no /acks: its gauge, sampled, has not moved in this poll
    assert (stalled.consistency, stalled.seq, stalled.rate) == ("ONE", _writers(clock.now)["test-2"].read(), None)
    assert [e.text for e in snap.events][:1] == ["cassandra-1: Killing (Stopping container cassandra)"]
    assert [n.name for n in snap.nodes if not n.ready] == ["kind-worker3"]
    assert snap.rates["ece573-prj04-writer"] and snap.errors == []


def test_the_stalled_writer_shows_stalled_once_its_samples_do_not_move(tmp_path):
    clock = Clock(DELETED_AT + 10)
    writers = _writers(clock.now)
    collector = recorded_collector(tmp_path, recorded_ctx(), writers, clock)
    collector.poll()
    collector.poll()
    clock.now += 3
    snap = collector.poll()
    stalled = {w.name: w for w in snap.writers}["ece573-prj04-writer-2"]
    assert stalled.stalled and round(stalled.since_ack) == 3


def test_nodetool_is_asked_once_per_interval_and_the_ring_remembers_a_replaced_pod(tmp_path):
    clock = Clock(DELETED_AT - 60)
    ctx = recorded_ctx(pods="pods_before.json")
    # before the fault, every node UN at the pods' first IPs
    ctx.add("nodetool status", (DATA / "nodetool_status_dn.txt").read_text().replace("DN  10.244.2.3", "UN  10.244.2.3")
            .replace("UJ  10.244.1.7", "UN  10.244.1.7"), first=True)
    collector = recorded_collector(tmp_path, ctx, _writers(clock.now), clock)
    assert {r.state for r in collector.poll().ring} == {"UN"}
    clock.now += 1
    collector.poll()
    assert len(ctx.matching("nodetool status")) == 1
    ctx.rules.pop(0)  # now the recorded ring during the fault: cassandra-1 DN under its old IP
    ctx.add(r"get pods --selector", text("pods_during.json"), first=True)
    clock.now += 5
    snap = collector.poll()
    assert len(ctx.matching("nodetool status")) == 2
    assert [(r.pod, r.state) for r in snap.ring] == [("cassandra-0", "UN"), ("cassandra-1", "DN"),
                                                     ("cassandra-2", "UJ")]
    assert [e.text for e in snap.events if e.text.endswith("not Ready")] == [
        "cassandra-1: Running, not Ready", "cassandra-2: Running, not Ready"]


def test_a_failed_read_is_one_line_and_the_rest_still_shows(tmp_path):
    clock = Clock(DELETED_AT)
    ctx = recorded_ctx()
    ctx.add("nodetool status", ("nodetool: Failed to connect to '127.0.0.1:7199'", 1), first=True)
    snap = recorded_collector(tmp_path, ctx, _writers(clock.now), clock).poll()
    assert len(snap.errors) == 1 and snap.errors[0].startswith("nodetool: ")
    assert [r.pod for r in snap.ring] == ["cassandra-0", "cassandra-1", "cassandra-2"]
    assert {r.state for r in snap.ring} == {"?"}


def test_a_chaos_round_appears_as_events_and_a_chart_mark_when_its_json_is_written(tmp_path):
    clock = Clock(DELETED_AT + 30)
    collector = recorded_collector(tmp_path, recorded_ctx(), _writers(clock.now), clock)
    assert collector.poll().faults == []
    path = tmp_path / "artifacts" / "chaos" / "20261207T035900Z-round1.json"
    path.write_text(json.dumps(round_record(began=DELETED_AT, recovery=20.0)))
    clock.now += 5  # events (and rounds) are read every 5 s
    snap = collector.poll()
    assert [f["file"] for f in snap.faults] == [path.name] and snap.faults[0]["recovery_s"] == 20.0
    assert "chaos round 1 (cassandra-1): ended, ok" in [e.text for e in snap.events]


def test_a_writer_that_is_gone_has_its_reader_closed(tmp_path):
    clock = Clock(DELETED_AT)
    ctx = recorded_ctx()
    writers = _writers(clock.now)
    collector = recorded_collector(tmp_path, ctx, writers, clock)
    collector.poll()
    one = json.loads(text("deployments.json"))
    one["items"] = one["items"][:1]
    ctx.add("get deployments", json.dumps(one), first=True)
    clock.now += 10
    snap = collector.poll()
    assert [w.name for w in snap.writers] == ["ece573-prj04-writer"] and writers["test-2"].closed


def test_started_the_collector_polls_in_threads_and_stops_every_reader(tmp_path):
    import time

    now = time.time()
    writers = {"test": FakeProgress("test", steady(now - 60, now + 60)),
               "test-2": FakeProgress("test-2", steady(now - 60, now - 3))}
    collector = recorded_collector(tmp_path, recorded_ctx(), writers, time.time)
    collector.tick = 0.1
    collector.start()
    try:
        deadline = time.time() + 10
        while time.time() < deadline and not all(w.seq for w in collector.latest().writers):
            time.sleep(0.1)
        snap = collector.latest()
    finally:
        collector.stop()
    assert {w.name: w.stalled for w in snap.writers} == {"ece573-prj04-writer": False, "ece573-prj04-writer-2": True}
    assert all(p.closed for p in writers.values()) and len(writers["test"].since) >= 1
