import json

import pytest

from lab import chaos
from lab.chaos import ChaosSettings, RoundResult, Stall, longest_stall, parse_metric, replaced_and_ready
from lab.errors import LabError, PreconditionError
from lab.kubectl import Kubectl
from lab.runner import Runner

from labfakes import DATA, FakeCtx, make_lab

K = Kubectl("kubectl", "kind-kind", "default")

# Recorded shape: a writer at ~1000 rows/s sampled every 0.5 s; cassandra-1 deleted at t=2.0, writes
# blocked (QUORUM with a slow coordinator failover) from t=2.5 until t=4.0, then a failed scrape at 4.5.
SAMPLES = [(0.0, 0), (0.5, 480), (1.0, 990), (1.5, 1500), (2.0, 1990), (2.5, 2400), (3.0, 2400), (3.5, 2400),
           (4.0, 2950), (4.5, None), (5.0, 3900)]


def test_longest_stall_on_recorded_samples():
    assert longest_stall(SAMPLES) == Stall(seconds=1.5, start=2.5, end=4.0, seq=2400)


def test_longest_stall_still_open_at_the_end():
    assert longest_stall([(0, 1), (1, 2), (2, 2), (5, 2)]) == Stall(4, 1, 5, 2, open=True)


def test_longest_stall_needs_two_readings():
    assert longest_stall([(0, None), (1, 5)]) is None
    assert longest_stall([(0, 1), (0.5, 2)]) == Stall(0.5, 0, 0.5, 1)


def test_parse_metric_from_the_writers_exposition():
    text = (DATA / "writer_metrics.txt").read_text()
    assert parse_metric(text, "writer_last_seq") == 41990
    assert parse_metric(text, "writer_last_seq", labels={"topic": "test"}) == 41990
    assert parse_metric(text, "writer_last_seq", labels={"topic": "other"}) is None
    assert parse_metric(text, "writer_retries_total", labels={"error": "WriteTimeout"}) == 3
    assert parse_metric(text, "writer_last") is None  # a prefix is not a name


def _pod(name, uid, ready, restarts=0, deleting=False):
    meta = {"name": name, "uid": uid}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-25T19:30:00Z"
    return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                                          "containerStatuses": [{"restartCount": restarts}]}}


def test_replaced_and_ready():
    old = _pod("cassandra-1", "old", True, deleting=True)
    new_starting = _pod("cassandra-1", "new", False)
    new_ready = _pod("cassandra-1", "new", True)
    other = _pod("cassandra-0", "zero", True)
    assert replaced_and_ready([old, other], {"old"}, name="cassandra-1") is None
    assert replaced_and_ready([new_starting, other], {"old"}, name="cassandra-1") is None
    assert replaced_and_ready([other, new_ready], {"old"}, name="cassandra-1") is new_ready
    assert replaced_and_ready([other], {"old"}) is other  # the writer: any new Ready pod


@pytest.mark.parametrize("pod, kind", [("cassandra-0", "cassandra"), ("cassandra-12", "cassandra"), ("writer", "writer"),
                                       ("ece573-prj04-writer-7bcccffd6d-2s87k", "writer")])
def test_target_kind(pod, kind):
    assert chaos.target_kind(pod) == kind


def test_target_kind_refuses_other_pods():
    with pytest.raises(PreconditionError, match=r"--pod 'coredns-1': name a Cassandra pod"):
        chaos.target_kind("coredns-1")


def test_summary_rows():
    good = RoundResult(round=1, pod="cassandra-1", target="cassandra", force=False, deleted_at=0, recovery_s=41.24,
                       stall_s=1.5, verify=[{"missing": 0}])
    bad = RoundResult(round=2, pod="cassandra-1", target="cassandra", force=True, deleted_at=0, recovery_s=None,
                      stall_s=30.0, stall_open=True, writer_restarts=1, verify=[{"missing": 7}],
                      error="cassandra-1 not Ready within 600s")
    assert chaos.summary_rows([good, bad]) == [
        ["1", "cassandra-1", "41.2", "1.5", "0", "0", "ok"],
        ["2", "cassandra-1", "-", "30.0+", "1", "7", "cassandra-1 not Ready within 600s"]]
    assert bad.to_dict()["lost_rows"] == 7 and bad.to_dict()["ok"] is False


class FakeProgress:
    def __init__(self, values):
        self.values = list(values)
        self.closed = False

    def read(self):
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]

    def close(self):
        self.closed = True


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def _cassandra_round_ctx(*, recovers=True):
    writer = json.dumps({"items": [_pod("ece573-prj04-writer-x", "w", True, restarts=2)]})
    rules = [
        ("get pod cassandra-1 ", json.dumps(_pod("cassandra-1", "old", True))),
        ("app=ece573-prj04-writer", writer),
        ("get pods --selector app=cassandra", [json.dumps({"items": [_pod("cassandra-1", "old", True, deleting=True)]}),
                                               json.dumps({"items": [_pod("cassandra-1", "new", recovers)]})]),
        ("nodetool status", [(DATA / "nodetool_status_dn.txt").read_text(), (DATA / "nodetool_status_un.txt").read_text()]),
        ("prj04_last_seq", " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"),
        ("SELECT seq", (DATA / "cqlsh_seqs.txt").read_text()),
    ]
    return FakeCtx(rules)


def test_a_cassandra_round_records_recovery_and_verifies():
    ctx, clock = _cassandra_round_ctx(), FakeClock()
    progress = FakeProgress([100, 200, 300])
    settings = ChaosSettings(topic="test", sample_every=0.01, settle=0.0, timeout=60)
    result = chaos.run_round(Runner(ctx), K, "cassandra-1", 1, settings, clock=clock, sleep=clock.sleep,
                             make_progress=lambda *a: progress)
    assert ctx.matching("delete pod") == [
        "kubectl --context kind-kind --namespace default delete pod cassandra-1 --wait=false"]
    # nodetool and cqlsh run in a pod that was not deleted
    assert all(" exec cassandra-0 " in c for c in ctx.matching("nodetool|cqlsh"))
    assert result.recovery_s == 3.0  # two 1 s pod polls, then one 2 s nodetool poll, on the fake clock
    assert result.ready_at - result.deleted_at == 1.0
    assert (result.writer_restarts, result.progress_source, progress.closed) == (0, "metrics:writer_last_seq", True)
    assert result.verify[0]["gaps"] == [[4, 5], [8, 9]]
    assert result.lost_rows == 4 and not result.ok


def test_a_round_that_does_not_recover_records_why():
    ctx, clock = _cassandra_round_ctx(recovers=False), FakeClock()
    settings = ChaosSettings(topic="test", sample_every=0.01, settle=0.0, timeout=5)
    result = chaos.run_round(Runner(ctx), K, "cassandra-1", 1, settings, clock=clock, sleep=clock.sleep,
                             make_progress=lambda *a: FakeProgress([1]))
    assert (result.error, result.recovery_s, result.ok) == ("cassandra-1 not Ready within 5s", None, False)
    assert result.verify[0]["gaps"] == [[4, 5], [8, 9]]  # the data is still checked


def test_a_round_refuses_a_target_that_is_not_ready():
    ctx = FakeCtx([("get pod cassandra-2 ", json.dumps(_pod("cassandra-2", "u", False)))])
    with pytest.raises(PreconditionError, match="cassandra-2 is not Ready"):
        chaos.run_round(Runner(ctx), K, "cassandra-2", 1, ChaosSettings(topic="test"))
    assert ctx.matching("delete") == []


def test_a_dry_round_prints_the_deletion_only(capsys):
    ctx = _cassandra_round_ctx()
    result = chaos.run_round(Runner(ctx, dry=True), K, "cassandra-1", 1, ChaosSettings(topic="test", force=True),
                             make_progress=lambda *a: pytest.fail("no sampling in a dry run"))
    assert capsys.readouterr().out == (
        "[dry-run] kubectl --context kind-kind --namespace default delete pod cassandra-1 --wait=false "
        "--grace-period=0 --force\n")
    assert ctx.matching("delete") == [] and result.recovery_s is None


def test_rounds_write_json_and_fail_on_lost_rows(project, capsys, monkeypatch):
    ctx = _cassandra_round_ctx()
    ctx.add("get-contexts", "kind-kind\n", first=True)
    lab = make_lab(project, ctx, chaos={"sample_every": 0.01, "settle": 0})
    original, clock = chaos.run_round, FakeClock()
    monkeypatch.setattr(chaos, "run_round", lambda *a, **kw: original(
        *a, clock=clock, sleep=clock.sleep, make_progress=lambda *x: FakeProgress([5]), **kw))
    with pytest.raises(LabError, match=r"chaos: 1 of 1 round\(s\) failed, 4 row\(s\) missing"):
        chaos.run_rounds(lab, "cassandra-1", rounds=1, interval=0)
    record = json.loads(next((project / "artifacts/chaos").glob("*-round1.json")).read_text())
    assert (record["pod"], record["lost_rows"], record["ok"]) == ("cassandra-1", 4, False)
    assert record["progress"] and record["progress"][0][1] == 5 and record["samples"] == len(record["progress"])
    assert "round  pod          recovery s  writer stall s  writer restarts  lost rows  result" in capsys.readouterr().out


def test_rounds_refuse_a_foreign_context(project):
    lab = make_lab(project, FakeCtx(), context="prod")
    with pytest.raises(PreconditionError, match="refusing to delete pods in kube context 'prod'"):
        chaos.run_rounds(lab, "cassandra-1", rounds=1, interval=0)
    assert lab.runner.ctx.commands == []


def test_a_writer_round_samples_last_seq_with_cqlsh_and_counts_restarts():
    old = _pod("ece573-prj04-writer-a", "w-old", True, restarts=3)
    new = _pod("ece573-prj04-writer-b", "w-new", True, restarts=1)
    ctx = FakeCtx([
        ("app=ece573-prj04-writer", [json.dumps({"items": [old]}), json.dumps({"items": [old]}),
                                     json.dumps({"items": [new]})]),
        ("prj04_last_seq", " topic | seq\n-------+-----\n  test |  3\n\n(1 rows)\n"),
        ("SELECT seq", " seq\n-----\n 1\n 2\n 3\n\n(3 rows)\n"),
    ])
    clock = FakeClock()
    result = chaos.run_round(Runner(ctx), K, "writer", 1, ChaosSettings(topic="test", settle=0.0, timeout=30),
                             clock=clock, sleep=clock.sleep, make_progress=lambda *a: pytest.fail("writer: no port-forward"))
    assert ctx.matching("delete pod") == [
        "kubectl --context kind-kind --namespace default delete pod ece573-prj04-writer-a --wait=false"]
    assert (result.pod, result.target, result.progress_source, result.sample_every_s) == (
        "ece573-prj04-writer-a", "writer", "cql:last_seq", 1.0)
    assert (result.recovery_s, result.writer_restarts, result.lost_rows, result.ok) == (0.0, 1, 0, True)
    assert result.up_normal_at is None


def test_a_dry_writer_round_names_the_ready_pod(capsys):
    ctx = FakeCtx([("app=ece573-prj04-writer", json.dumps({"items": [_pod("ece573-prj04-writer-a", "w", True)]}))])
    chaos.run_round(Runner(ctx, dry=True), K, "writer", 1, ChaosSettings(topic="test"))
    assert capsys.readouterr().out.endswith("delete pod ece573-prj04-writer-a --wait=false\n")


def test_restarts_since():
    assert chaos.restarts_since({"a": 3}, {"a": 5}) == 2  # the same pod restarted twice
    assert chaos.restarts_since({"a": 3}, {"b": 1}) == 1  # replaced; the new pod restarted once
    assert chaos.restarts_since({"a": 3, "b": 0}, {"b": 0}) == 0


def test_metrics_progress_reads_the_writers_gauge_over_http():
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    body = (DATA / "writer_metrics.txt").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        progress = chaos.MetricsProgress(Runner(FakeCtx()), K, remote_port=8080, metric="writer_last_seq", topic="test")
        progress.local_port = server.server_address[1]  # stands in for the port-forward's local end
        assert progress.read() == 41990
        progress.topic = "other"  # no series for that topic: fall back to the unlabelled maximum
        assert progress.read() == 41990
        progress.metric = "writer_missing"
        assert progress.read() is None
    finally:
        server.shutdown()
