"""Each fault through a whole round under the fake runner: the commands it runs, what it waits for, what
the round records (recovery, observations, errors), and that a timed fault is always undone."""

import json
import random
import re

import pytest

from lab import chaos, crictl, plot
from lab.chaos import ChaosSettings, faults
from lab.chaos.faults import crash as crash_mod
from lab.chaos.faults import dns as dns_mod
from lab.chaos.faults import loss as loss_mod
from lab.chaos.faults import partition as partition_mod
from lab.chaos.sampling import CqlProgress
from lab.errors import CommandError, PreconditionError
from lab.kind import Kind
from lab.runner import Runner
from tests.lab.chaosfakes import (
    DATA,
    NODES,
    WRITER,
    FakeClock,
    FakeProgress,
    K,
    cassandra_pods,
    items,
    node,
    pod,
    round_ctx,
    verify_rules,
)
from tests.lab.labfakes import CqlRows

KIND = Kind("kind", "kind")
KIND_NODES = "kind-control-plane\nkind-worker\nkind-worker2\nkind-worker3\nkind-worker4\n"
DN = (DATA / "nodetool_status_dn.txt").read_text()
UN = (DATA / "nodetool_status_un.txt").read_text()


def settings(**kw):
    """A round's settings for these tests. Their progress is a FakeProgress counting by hundreds while the recorded
    rows end at seq 10, so it is sampled as a counter that witnesses nothing (lab.chaos.round.WITNESS_SOURCES):
    the rows stand on their own here, and the witness has tests of its own."""
    kw.setdefault("timeout", 60)
    kw.setdefault("metric", "writer_rows_written")
    kw.setdefault("settle", 0.0)
    return ChaosSettings(topic="test", sample_every=0.01, resume_timeout=30, **kw)


def play(ctx, target, *, progress=None, **kw):
    clock = FakeClock()
    progress = progress or FakeProgress()
    result = chaos.run_round(Runner(ctx), K, target, 1, kw.pop("settings", None) or settings(), clock=clock,
                             sleep=clock.sleep, make_progress=lambda *a: progress, kind=KIND, **kw)
    return result, progress


# -- one pod ---------------------------------------------------------------------------------------------

def _one_pod_ctx(*, recovers=True, seqs=None):
    return round_ctx([
        ("get pod cassandra-1 ", json.dumps(pod("cassandra-1", "old", True))),
        ("app=ece573-prj04-writer", items(pod("ece573-prj04-writer-x", "w", True, restarts=2))),
        ("get pods --selector app=cassandra", [items(pod("cassandra-1", "old", True, deleting=True)),
                                               items(pod("cassandra-1", "new", recovers))]),
        ("nodetool status", [DN, UN]),
        ("prj04_last_seq", " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"),
        ("SELECT seq", CqlRows(seqs or (DATA / "cqlsh_seqs.txt").read_text())),
    ])


def test_a_cassandra_pod_round_records_recovery_and_verifies():
    ctx = _one_pod_ctx()
    result, progress = play(ctx, "cassandra-1")
    assert ctx.matching("delete pod") == [
        "kubectl --context kind-kind --namespace default delete pod cassandra-1 --wait=false"]
    assert all(" exec cassandra-0 " in c for c in ctx.matching("nodetool|cqlsh"))  # never in the deleted pod
    assert result.recovery_s == 3.0  # two 1 s pod polls, then one 2 s nodetool poll, on the fake clock
    assert result.ready_at - result.deleted_at == 1.0 and result.quorum_ready_at is None  # only all-pods rounds
    assert (result.fault, result.target, result.restored_at) == ("pod", "cassandra", None)
    assert (result.writer_restarts, result.progress_source, progress.closed) == (0, "metrics:writer_rows_written", True)
    assert result.resumed_at is not None and result.resumed_at >= result.up_normal_at
    assert result.verify[0]["gaps"] == [[4, 5], [8, 9]]
    assert result.lost_rows == 4 and not result.ok
    assert ["cassandra-1: Terminating", "cassandra-1: Ready on kind-worker3", "ring: 3 nodes UN"] == [
        what for _, what in result.observed]


TWO_WRITERS = json.dumps({"items": [
    {"metadata": {"name": name}, "spec": {"template": {"spec": {"containers": [
        {"name": "writer", "env": [{"name": "TOPIC", "value": topic}, {"name": "CONSISTENCY", "value": level}]}]}}}}
    for name, topic, level in (("ece573-prj04-writer", "test", "QUORUM"), ("ece573-prj04-writer-2", "test-2", "ALL"))]})


def _two_writers_round():
    ctx = _one_pod_ctx(seqs=" seq\n-----\n" + "".join(f" {n}\n" for n in range(1, 11)) + "\n(10 rows)\n")
    ctx.add("get deployments", TWO_WRITERS, first=True)
    progress = {"ece573-prj04-writer": FakeProgress(), "ece573-prj04-writer-2": FakeProgress(stuck_at=100)}
    clock = FakeClock()
    result = chaos.run_round(Runner(ctx), K, "cassandra-1", 1, settings(), clock=clock, sleep=clock.sleep,
                             make_progress=lambda runner, kube, s, writer: progress[writer.name], kind=KIND)
    return ctx, result


def test_a_round_watches_every_writer_and_verifies_every_topic():
    ctx, result = _two_writers_round()
    # the second writer never moves past seq 100: its stall is open, and it never wrote again
    assert [(w["writer"], w["topic"], w["consistency"]) for w in result.writers] == [
        ("ece573-prj04-writer", "test", "QUORUM"), ("ece573-prj04-writer-2", "test-2", "ALL")]
    first, second = result.writers
    assert second["stall_open"] and not first["stall_open"]
    # the seqs each one's samples saw, for `invoke bench --lab` to read their write times
    assert second["seqs"] == [100, 100] and first["seqs"][0] == 200 < first["seqs"][1]
    worst = max(result.writers, key=lambda w: w["stall_s"])  # the round reports its worst writer
    assert (result.stall_s, result.stall_open) == (worst["stall_s"], worst["stall_open"])
    assert "ece573-prj04-writer-2 (topic test-2) wrote nothing within 30s after recovery" in result.error
    assert "ece573-prj04-writer (topic test)" not in result.error
    assert [r["topic"] for r in result.verify] == ["test", "test-2"]
    read = [c for c in ctx.commands if "SELECT seq FROM" in c]
    assert any("test-2" in c for c in read) and any("test-2" not in c for c in read)


def test_a_round_with_one_writer_records_no_per_writer_list():
    result, _ = play(_one_pod_ctx(), "cassandra-1")
    assert result.writers == [] and result.stall_s is not None


def test_a_round_that_does_not_recover_says_where_it_stuck():
    result, _ = play(_one_pod_ctx(recovers=False), "cassandra-1", settings=settings(timeout=5))
    assert (result.error, result.recovery_s, result.ok) == (
        "cassandra-1 not Ready within 5s: Running, not Ready, on kind-worker3", None, False)
    assert result.verify[0]["gaps"] == [[4, 5], [8, 9]]  # the data is still checked


def test_a_wedged_writer_fails_the_round_after_recovery():
    from tests.lab.chaosfakes import ALL_SEQS

    result, _ = play(_one_pod_ctx(seqs=ALL_SEQS), "cassandra-1", progress=FakeProgress(start=300, stuck_at=300))
    assert result.recovery_s == 3.0 and result.lost_rows == 0
    assert result.error == "the writer wrote nothing within 30s after recovery (stuck at seq 300): wedged?"
    assert result.stall_open and not result.ok


def test_a_round_refuses_a_target_that_is_not_ready():
    ctx = round_ctx([("get pod cassandra-2 ", json.dumps(pod("cassandra-2", "u", False)))])
    with pytest.raises(PreconditionError, match="cassandra-2 is not Ready"):
        chaos.run_round(Runner(ctx), K, "cassandra-2", 1, ChaosSettings(topic="test"))
    assert ctx.matching("delete") == []


def test_a_dry_round_prints_the_deletion_only(capsys):
    ctx = _one_pod_ctx()
    result = chaos.run_round(Runner(ctx, dry=True), K, "cassandra-1", 1, ChaosSettings(topic="test", force=True),
                             make_progress=lambda *a: pytest.fail("no sampling in a dry run"))
    assert capsys.readouterr().out == (
        "[dry-run] kubectl --context kind-kind --namespace default delete pod cassandra-1 --wait=false "
        "--grace-period=0 --force\n")
    assert ctx.matching("delete") == [] and result.recovery_s is None


SEQS_2000 = " seq\n-----\n" + "".join(f" {n}\n" for n in range(1, 2001)) + "\n(2000 rows)\n"


def _writer_round(ctx, target):
    """A round against a writer: progress from cqlsh (a port-forward would die with the writer's pod)."""
    clock = FakeClock()
    return chaos.run_round(Runner(ctx), K, target, 1, settings(timeout=30), clock=clock, sleep=clock.sleep,
                           make_progress=lambda *a: pytest.fail("writer: no port-forward"))


def test_a_writer_round_samples_last_seq_with_cqlsh_and_counts_restarts(monkeypatch):
    monkeypatch.setattr(CqlProgress, "MIN_EVERY", 0.02)  # real seconds between cqlsh reads; 1.0 live
    old = pod("ece573-prj04-writer-a", "w-old", True, restarts=3)
    new = pod("ece573-prj04-writer-b", "w-new", True, restarts=1)
    new["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 2, "reason": "Error"}}
    seq = iter(range(3, 10_000))
    ctx = round_ctx([
        ("logs ece573-prj04-writer-b --container writer --previous --tail 3",
         "2026-12-02 08:29:40 WARNING test: rebuilding the session failed\n"
         "2026-12-02 08:29:41 ERROR writer: the Cassandra role of CASSANDRA_USERNAME lacks a permission\n"),
        ("app=ece573-prj04-writer", [items(old), items(old), items(new)]),
        ("prj04_last_seq", lambda _command: f" topic | seq\n-------+-----\n  test |  {next(seq)}\n\n(1 rows)\n"),
        ("SELECT seq", CqlRows(SEQS_2000)),
    ])
    result = _writer_round(ctx, "writer")
    assert ctx.matching("delete pod") == [
        "kubectl --context kind-kind --namespace default delete pod ece573-prj04-writer-a --wait=false"]
    assert (result.pod, result.target, result.progress_source, result.sample_every_s) == (
        "ece573-prj04-writer-a", "writer", "cql:last_seq", 0.02)
    assert (result.recovery_s, result.writer_restarts, result.ok) == (0.0, 1, True), result.error
    assert result.up_normal_at is None
    # The restart is explained: how the container ended and what it said last.
    assert result.writer_restart_causes == [
        "ece573-prj04-writer-b: exit 2 (Error); its last lines: 2026-12-02 08:29:40 WARNING test: rebuilding the "
        "session failed | 2026-12-02 08:29:41 ERROR writer: the Cassandra role of CASSANDRA_USERNAME lacks a "
        "permission"]
    assert result.observed[-1][1] == "writer restarted: " + result.writer_restart_causes[0]


def test_writer_n_deletes_the_n_th_writers_pod_and_waits_for_its_replacement_only(monkeypatch):
    monkeypatch.setattr(CqlProgress, "MIN_EVERY", 0.02)
    seq = iter(range(3, 10_000))
    ctx = round_ctx([
        ("get deployments", TWO_WRITERS),
        ("app=ece573-prj04-writer-2 ", [items(pod("ece573-prj04-writer-2-a", "w2-old", True)),
                                        items(pod("ece573-prj04-writer-2-a", "w2-old", True)),
                                        items(pod("ece573-prj04-writer-2-b", "w2-new", True))]),
        ("app=ece573-prj04-writer ", items(pod("ece573-prj04-writer-x", "w1", True))),
        ("prj04_last_seq", lambda _command: (f" topic | seq\n-------+-----\n  test |  {next(seq)}\n"
                                    f"  test-2 |  {next(seq)}\n\n(2 rows)\n")),
        ("SELECT seq", CqlRows(SEQS_2000)),
    ])
    result = _writer_round(ctx, "writer-2")
    assert ctx.matching("delete pod") == [
        "kubectl --context kind-kind --namespace default delete pod ece573-prj04-writer-2-a --wait=false"]
    assert (result.pod, result.ok) == ("ece573-prj04-writer-2-a", True), result.error
    assert [w["topic"] for w in result.writers] == ["test", "test-2"]
    with pytest.raises(PreconditionError, match=r"--pod 'writer-3': no such writer; deployed: ece573-prj04-writer "
                                                r"\(test, QUORUM\), ece573-prj04-writer-2 \(test-2, ALL\)"):
        _writer_round(ctx, "writer-3")


def test_a_dry_writer_round_names_the_ready_pod(capsys):
    ctx = round_ctx([("app=ece573-prj04-writer", items(pod("ece573-prj04-writer-a", "w", True)))])
    chaos.run_round(Runner(ctx, dry=True), K, "writer", 1, ChaosSettings(topic="test"))
    assert capsys.readouterr().out.endswith("delete pod ece573-prj04-writer-a --wait=false\n")


# -- all Cassandra pods at once ----------------------------------------------------------------------------

def _all_pods_ctx(*, last="new"):
    return round_ctx([
        ("app=ece573-prj04-writer", WRITER),
        ("get pods --selector app=cassandra", [
            cassandra_pods(),  # prepare
            items(*(pod(n, n, False, deleting=True) for n in ("cassandra-0", "cassandra-1", "cassandra-2"))),
            items(pod("cassandra-0", "c0-new", True), pod("cassandra-1", "c1-new", False, phase="Pending")),
            items(pod("cassandra-0", "c0-new", True), pod("cassandra-1", "c1-new", True),
                  pod("cassandra-2", "cassandra-2" if last == "old" else "c2-new", last != "stuck")),
        ]),
        ("nodetool status", UN),
        *verify_rules(),
    ])


def test_all_pods_go_in_one_deletion_and_the_round_waits_for_three_new_pods():
    ctx = _all_pods_ctx()
    result, _ = play(ctx, "cassandra")
    assert ctx.matching("delete pod") == [
        "kubectl --context kind-kind --namespace default delete pod cassandra-0 cassandra-1 cassandra-2 --wait=false"]
    assert (result.fault, result.pod, result.ok, result.lost_rows) == (
        "all-pods", "cassandra-0,cassandra-1,cassandra-2", True, 0), result.error
    assert result.recovery_s == 2.0  # three pod polls, 1 s apart; the ring was UN at once
    assert "cassandra-2: gone (not yet recreated)" in [w for _, w in result.observed]
    assert all(" exec cassandra-0 " in c for c in ctx.matching("nodetool|cqlsh"))
    # here the second and third pods became Ready in the same poll: a QUORUM came with all three
    assert result.deleted_at < result.quorum_ready_at == result.ready_at
    assert "ring: a QUORUM of nodes Ready (3 of 3: CQL open)" in [w for _, w in result.observed]


def test_all_pods_round_names_every_pod_still_missing():
    result, _ = play(_all_pods_ctx(last="stuck"), "cassandra", settings=settings(timeout=5))
    assert result.error == "cassandra-2 not Ready within 15s (5s a pod): Running, not Ready, on kind-worker2"
    # two of three back: a QUORUM answered CQL (the writer could write again), though the round did not recover
    assert result.quorum_ready_at == result.deleted_at + 2.0 and result.ready_at is None
    assert "ring: a QUORUM of nodes Ready (2 of 3: CQL open)" in [w for _, w in result.observed]


def test_all_pods_needs_all_three_ready_first():
    ctx = round_ctx([("get pods --selector app=cassandra", cassandra_pods(except_ready=("cassandra-1",)))])
    with pytest.raises(PreconditionError, match="cassandra-1 is not Ready"):
        play(ctx, "cassandra")
    assert ctx.matching("delete") == []


# -- a node stopped and started ----------------------------------------------------------------------------

def _node_ctx(*, comes_back=True):
    down = items(pod("cassandra-0", "cassandra-0", True), pod("cassandra-1", "cassandra-1", True),
                 pod("cassandra-2", "cassandra-2", False))
    return round_ctx([
        ("kind get nodes", KIND_NODES),
        ("app=ece573-prj04-writer", WRITER),
        ("get pods --selector app=cassandra", [cassandra_pods(), cassandra_pods(), down, down, down, down,
                                               cassandra_pods()]),
        ("get node kind-worker2", [node("kind-worker2", True)] + [node("kind-worker2", False)] * 8
         + [node("kind-worker2", comes_back)]),
        ("nodetool status", [DN, UN]),
        *verify_rules(),
    ])


def test_a_node_round_stops_then_starts_the_node_and_reports_its_pods():
    ctx = _node_ctx()
    result, _ = play(ctx, faults.make("node", "kind-worker2", down=30))
    assert ctx.matching("^docker (stop|start)") == ["docker stop kind-worker2", "docker start kind-worker2"]
    assert (result.fault, result.target, result.pod, result.down_s) == ("node", "node", "kind-worker2", 30)
    assert result.restored_at - result.deleted_at == 30.0  # held for --down on the fake clock
    assert result.ok, result.error
    assert result.recovery_s == result.up_normal_at - result.restored_at > 0
    seen = [what for _, what in result.observed]
    assert "kind-worker2: stopping; lab pods on it: cassandra-2" in seen
    assert "kind-worker2: NotReady (Kubelet stopped posting node status)" in seen
    assert ("cassandra-2: not Ready: its node kind-worker2 is down (the pod cannot move; its volume is node-local)"
            in seen)
    assert "kind-worker2: container started; waiting for its kubelet to re-register" in seen
    # nodetool ran in a replica on another node
    assert ctx.matching("nodetool") and all(" exec cassandra-0 " in c for c in ctx.matching("nodetool"))


def test_a_node_that_does_not_come_back_is_named_and_was_still_started():
    ctx = _node_ctx(comes_back=False)
    result, _ = play(ctx, faults.make("node", "kind-worker2", down=10), settings=settings(timeout=8))
    assert result.error == ("node kind-worker2 not Ready within 8s of `docker start` "
                            "(NotReady (Kubelet stopped posting node status))")
    assert ctx.matching("^docker start") == ["docker start kind-worker2"]


def test_an_interrupted_node_round_still_starts_the_node():
    ctx = _node_ctx()
    clock = FakeClock()

    def sleep(seconds):
        if clock.now > 1010:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    with pytest.raises(KeyboardInterrupt):
        chaos.run_round(Runner(ctx), K, faults.make("node", "kind-worker2", down=60), 1, settings(), clock=clock,
                        sleep=sleep, make_progress=lambda *a: FakeProgress(), kind=KIND)
    assert ctx.matching("^docker (stop|start)") == ["docker stop kind-worker2", "docker start kind-worker2"]


@pytest.mark.parametrize("name, message", [
    ("kind-worker9", "--node 'kind-worker9': not a worker of kind cluster 'kind' (workers: kind-worker, "
                     "kind-worker2, kind-worker3, kind-worker4)"),
    ("kind-control-plane", "--node 'kind-control-plane': the control plane serves the API this round watches"),
])
def test_a_node_round_refuses_what_is_not_a_worker(name, message):
    ctx = round_ctx([("kind get nodes", KIND_NODES)])
    with pytest.raises(PreconditionError) as err:
        play(ctx, faults.make("node", name, down=30))
    assert str(err.value).startswith(message)
    assert ctx.matching("docker") == []


def test_a_writer_on_the_stopped_node_is_sampled_with_cqlsh():
    ctx = _node_ctx()
    ctx.add("app=ece573-prj04-writer", items(pod("ece573-prj04-writer-x", "w", True, node="kind-worker2")),
            first=True)
    fault = faults.make("node", "kind-worker2", down=5)
    fault.validate(_env(ctx))
    fault.prepare(_env(ctx))
    assert fault.sample_metrics(_env(ctx)) is False and fault.observer_pod() == "cassandra-0"


def _env(ctx):
    clock = FakeClock()
    return chaos.watch.Env(Runner(ctx), K, settings(), clock, clock.sleep, kind=KIND)


# -- a pod cut off the network -----------------------------------------------------------------------------

CRICTL_INSPECT = json.dumps({"status": {"id": "cid-cassandra-2"}, "info": {"sandboxID": "sb-2", "pid": 4242}})
CRICTL_INSPECTP = json.dumps({"status": {"id": "sb-2"}, "info": {"pid": 777}})


def _partition_ctx():
    return round_ctx([
        ("crictl inspect cid-cassandra-2", CRICTL_INSPECT),
        ("crictl inspectp sb-2", CRICTL_INSPECTP),
        ("app=ece573-prj04-writer", WRITER),
        ("get pods --selector app=cassandra", cassandra_pods()),
        ("get pod cassandra-2 ", json.dumps(pod("cassandra-2", "cassandra-2", True))),
        ("nodetool status", [UN, CUT_VIEW, CUT_VIEW, UN]),
        *verify_rules(),
    ])


CUT_VIEW = UN.replace("UN  10.244.4.3", "DN  10.244.4.3")  # cassandra-2 seen down by the others


def test_a_partition_cuts_the_pods_netns_from_its_node_then_restores_it():
    ctx = _partition_ctx()
    result, _ = play(ctx, faults.make("partition", "cassandra-2", down=20))
    netns = ctx.matching("nsenter")
    assert len(netns) == 2
    assert all(c.startswith("docker exec kind-worker2 nsenter --net=/proc/777/ns/net sh -c ") for c in netns)
    assert "iptables -w -A LAB-PARTITION-IN -j DROP" in netns[0] and "-D INPUT -j LAB-PARTITION-IN" in netns[1]
    assert ctx.matching("delete") == []  # nothing is deleted
    assert (result.fault, result.pod, result.down_s, result.ok) == ("partition", "cassandra-2", 20, True), result.error
    assert result.restored_at - result.deleted_at == 20.0
    seen = [what for _, what in result.observed]
    assert "ring seen from cassandra-0: cassandra-0 UN, cassandra-1 UN, cassandra-2 DN" in seen
    assert "cassandra-2: reconnected (rules removed)" in seen
    assert all(" exec cassandra-0 " in c for c in ctx.matching("nodetool|cqlsh"))


def test_a_failed_partition_round_still_removes_the_rules():
    ctx = _partition_ctx()
    ctx.add("LAB-PARTITION-IN -j DROP", ("iptables: Resource temporarily unavailable.", 4), first=True)
    from lab.errors import CommandError

    with pytest.raises(CommandError):
        play(ctx, faults.make("partition", "cassandra-2", down=20))
    assert len(ctx.matching("nsenter")) == 2 and "-D INPUT" in ctx.matching("nsenter")[1]


def test_a_restarted_cassandra_during_the_cut_is_reported():
    ctx = _partition_ctx()
    ctx.add("get pod cassandra-2 ", json.dumps(pod("cassandra-2", "cassandra-2", True, restarts=1)), first=True)
    result, _ = play(ctx, faults.make("partition", "cassandra-2", down=10))
    assert any("restarted during the cut (restarts 0 -> 1)" in w for _, w in result.observed)


@pytest.mark.parametrize("name", ["writer", "cassandra-7", "cassandra"])
def test_a_partition_takes_a_cassandra_pod_only(name):
    with pytest.raises(PreconditionError, match=rf"--partition '{name}': name a Cassandra pod \(cassandra-0, "):
        play(round_ctx(), faults.make("partition", name, down=10))


def test_the_cut_keeps_loopback_and_the_gateway_and_drops_the_rest_both_ways():
    cut = partition_mod.cut_script()
    assert cut.index("-i lo -j ACCEPT") < cut.index("-A LAB-PARTITION-IN -j DROP")
    assert '-s "$gw" -j ACCEPT' in cut and '-d "$gw" -j ACCEPT' in cut
    assert "-I INPUT -j LAB-PARTITION-IN" in cut and "-I OUTPUT -j LAB-PARTITION-OUT" in cut
    restore = partition_mod.restore_script()
    assert restore.endswith("! iptables -w -S | grep -q LAB-PARTITION")


def test_crictl_parsers():
    assert crictl.sandbox_of(CRICTL_INSPECT) == "sb-2"
    assert crictl.pid_of(CRICTL_INSPECTP) == 777
    with pytest.raises(ValueError):
        crictl.pid_of('{"info": {}}')
    assert crictl.container_id(pod("cassandra-2", "x", True)) == "cid-x"
    assert crictl.locate(pod("cassandra-2", "x", True, node="kind-worker2")) == ("kind-worker2", "cid-x")
    with pytest.raises(ValueError, match="no node or container id"):
        crictl.locate(pod("cassandra-2", "x", False, scheduled=False))  # not scheduled yet: no node, no container
    assert crictl.kill_args("kind-worker2", 4242) == ["docker", "exec", "kind-worker2", "kill", "-KILL", "4242"]


def test_a_dry_partition_prints_both_rule_changes(capsys):
    ctx = _partition_ctx()
    chaos.run_round(Runner(ctx, dry=True), K, faults.make("partition", "cassandra-2", down=15), 1, settings())
    out = capsys.readouterr().out.splitlines()
    assert [line.split(" sh -c ")[0] for line in out if "nsenter" in line] == [
        "[dry-run] docker exec kind-worker2 nsenter --net=/proc/777/ns/net"] * 2
    assert "[dry-run] # ... 15s later" in out
    assert ctx.matching("nsenter") == []


def test_every_fault_kind_is_registered_once():
    assert sorted(faults.FAULTS) == ["all-pods", "crash", "dns", "freeze", "loss", "node", "partition", "pause", "pod"]
    with pytest.raises(ValueError, match="registered twice"):
        faults.register("pod")(type("Again", (faults.Fault,), {}))


def test_a_verify_that_times_out_once_is_retried_and_a_persistent_failure_is_the_error():
    from tests.lab.chaosfakes import ALL_SEQS

    timeout = ("ReadTimeout: Error from server: code=1200 [Coordinator node timed out waiting for replica nodes' "
               "responses]", 2)
    ctx = _one_pod_ctx()
    ctx.add("SELECT seq", [timeout, CqlRows(ALL_SEQS)], first=True)
    result, _ = play(ctx, "cassandra-1")
    assert result.ok and result.lost_rows == 0, result.error
    assert any(
        what.startswith("verify: attempt 1 failed (ReadTimeout: Error from server: code=1200")
        for _, what in result.observed
    )

    ctx = _one_pod_ctx()
    ctx.add("SELECT seq", timeout, first=True)
    result, _ = play(ctx, "cassandra-1")
    assert result.error.startswith("verify failed 5 times: ReadTimeout: Error from server") and not result.ok
    assert len(ctx.matching("SELECT seq")) == 5


def test_a_slow_observation_does_not_stretch_a_timed_fault():
    import threading
    import time

    release = threading.Event()

    class Slow(faults.Fault):
        timed = True

        def observe(self, env, result):
            release.wait(10)  # nodetool on a loaded laptop

    env = chaos.watch.Env(Runner(round_ctx()), K, settings(), time.time, time.sleep)
    began = time.monotonic()
    Slow("x", down=0.3).hold(env, chaos.RoundResult(round=1, pod="x", target="cassandra", force=False, deleted_at=0))
    release.set()
    assert time.monotonic() - began < 2


# -- every Cassandra JVM killed in place (--crash) ---------------------------------------------------------

PIDS = {"cassandra-0": 4240, "cassandra-1": 4241, "cassandra-2": 4242}
#: Where each kill lands after the agreed instant, in ns (the fake nodes report it as `date +%s%N` would).
LATE_NS = {4240: 0, 4241: 3_000_000, 4242: 7_000_000}


def settings_table(mode="periodic", period="10000ms", window=None):
    rows = [("commitlog_sync", mode), ("commitlog_sync_period", period)]
    if window:
        rows.append(("commitlog_sync_group_window", window))
    body = "".join(f" {name} | {value}\n" for name, value in rows)
    return f"Consistency level set to ONE.\nDisabled Query paging.\n\n name | value\n------+------\n{body}\n" \
           f"({len(rows)} rows)\n"


class FakeNodes:
    """The kind nodes' shells: each kill script answers with its instant; ``meet`` kills must be in flight at the
    same time (a barrier: issued one after another, the first would wait alone and the test fail)."""

    def __init__(self, meet: int, fails: dict[int, str] | None = None):
        import threading

        self.gate = threading.Barrier(meet, timeout=5) if meet > 1 else None
        self.fails = fails or {}
        self.threads: set[int] = set()
        self.clock: FakeClock | None = None  # a kill returns after its instant: the round's clock moves there

    def __call__(self, command):
        import re
        import threading

        self.threads.add(threading.get_ident())
        if self.gate is not None:
            self.gate.wait()
        at_ns = int(re.search(r"d=\$\(\( (\d+) - ", command).group(1))
        pid = int(re.search(r"kill -KILL (\d+)", command).group(1))
        if pid in self.fails:
            return self.fails[pid], 1
        if self.clock is not None:
            self.clock.now = max(self.clock.now, (at_ns + LATE_NS[pid]) / 1e9)
        return f"{at_ns + LATE_NS[pid]}\n", 0


def crash_round(ctx, nodes, name, **kw):
    clock = FakeClock()
    nodes.clock = clock
    return chaos.run_round(Runner(ctx), K, faults.make("crash", name), 1, kw.pop("settings", None) or settings(),
                           clock=clock, sleep=clock.sleep, make_progress=lambda *a: FakeProgress(), kind=KIND)


def _crash_ctx(victims, *, nodes, restarted=True, mode=None):
    def pods(restarts, ready=True):
        return items(*(pod(n, n, ready, restarts=restarts if n in victims else 0) for n in NODES))

    return round_ctx([
        *[(f"crictl inspect cid-{n}", json.dumps({"info": {"sandboxID": "sb", "pid": PIDS[n]}})) for n in NODES],
        ("sh -c .*kill -KILL", nodes),
        ("system_views.settings", mode or settings_table()),
        ("app=ece573-prj04-writer", WRITER),
        # before; just killed (the kubelet has not noticed); restarted, replaying its commitlog; Ready again
        ("get pods --selector app=cassandra", [pods(0), pods(0)] + ([pods(1, ready=False), pods(1)] if restarted
                                                                   else [pods(0)])),
        ("nodetool status", UN),
        *verify_rules(),
    ])


def test_a_crash_kills_every_cassandra_jvm_from_its_node_at_one_instant():
    nodes = FakeNodes(meet=3)
    ctx = _crash_ctx(NODES, nodes=nodes)
    result = crash_round(ctx, nodes, "cassandra")
    kills = ctx.matching("kill -KILL")
    assert sorted(c.split(" sh -c ")[0] for c in kills) == [
        "docker exec kind-worker", "docker exec kind-worker2", "docker exec kind-worker3"]
    assert sorted(c.rsplit("kill -KILL ", 1)[1].split()[0] for c in kills) == ["4240", "4241", "4242"]
    assert len(nodes.threads) == 3  # each kill on its own thread, all three in flight at once (the barrier)
    assert len({re.search(r"d=\$\(\( (\d+) - ", c).group(1) for c in kills}) == 1  # one agreed instant
    assert ctx.matching("delete") == []  # nothing is deleted: the pods restart in place
    assert (result.fault, result.target, result.pod) == ("crash", "cassandra", "cassandra-0,cassandra-1,cassandra-2")
    assert result.ok, result.error
    assert result.kill_spread_ms == 7.0
    assert result.commitlog_sync == "periodic (fsync every 10000ms)"
    assert result.deleted_at == 1000.0 + crash_mod.LEAD_S  # the first kill, not when the shells were started
    assert result.recovery_s == pytest.approx(result.up_normal_at - result.deleted_at, abs=0.01)
    assert result.recovery_s > 0
    seen = [what for _, what in result.observed]
    assert "commitlog_sync: periodic (fsync every 10000ms)" in seen
    assert "cassandra-2: SIGKILL to pid 4242 on kind-worker2 at +7 ms" in seen
    assert "cassandra-0: killed; waiting for the kubelet to restart it" in seen
    assert "cassandra-0: Running, not Ready, on kind-worker, restarts 1" in seen
    assert all(" exec cassandra-0 " in c for c in ctx.matching("nodetool"))
    # the mode is read from each node's running configuration, at ONE (a virtual table is node-local)
    assert sorted(c.split(" exec ")[1].split()[0] for c in ctx.matching("system_views.settings")) == list(NODES)
    assert all("CONSISTENCY ONE" in c for c in ctx.matching("system_views.settings"))
    assert json.loads(json.dumps(result.to_dict()))["kill_spread_ms"] == 7.0


def test_a_crash_of_one_pod_kills_that_jvm_only_and_watches_the_ring_from_another():
    nodes = FakeNodes(meet=1)
    ctx = _crash_ctx(("cassandra-1",), nodes=nodes, mode=settings_table("group", "0ms", window="15ms"))
    result = crash_round(ctx, nodes, "cassandra-1")
    [kill] = ctx.matching("kill -KILL")
    assert kill.startswith("docker exec kind-worker3 sh -c ") and "kill -KILL 4241 && date +%s%N" in kill
    assert (result.pod, result.ok, result.kill_spread_ms) == ("cassandra-1", True, 0.0), result.error
    assert result.commitlog_sync == "group (window 15ms)"
    assert ctx.matching("crictl inspect") == ["docker exec kind-worker3 crictl inspect cid-cassandra-1"]
    assert all(" exec cassandra-0 " in c for c in ctx.matching("nodetool"))


def test_a_crash_that_the_kubelet_does_not_restart_is_named():
    nodes = FakeNodes(meet=3)
    ctx = _crash_ctx(NODES, nodes=nodes, restarted=False)
    result = crash_round(ctx, nodes, "cassandra", settings=settings(timeout=5))
    assert result.error == ("cassandra-0, cassandra-1, cassandra-2 not restarted within 5s of the kill")
    assert not result.ok


def test_a_failed_kill_is_the_rounds_error_and_recovery_waits_for_the_killed_only():
    nodes = FakeNodes(meet=3, fails={4241: "sh: 1: kill: No such process"})
    ctx = _crash_ctx(("cassandra-0", "cassandra-2"), nodes=nodes)
    result = crash_round(ctx, nodes, "cassandra")
    assert result.error.startswith("the kill failed for cassandra-1: ")
    assert result.kill_spread_ms == 7.0 and result.up_normal_at is not None  # the two killed came back


def test_a_cluster_half_way_through_a_rollout_records_each_pods_mode():
    assert crash_mod.cluster_mode({"cassandra-0": "batch", "cassandra-1": "batch", "cassandra-2": "batch"}) == "batch"
    assert crash_mod.cluster_mode({"cassandra-1": "periodic (fsync every 10000ms)", "cassandra-0": "batch"}) == (
        "cassandra-0 batch, cassandra-1 periodic (fsync every 10000ms)")


@pytest.mark.parametrize("name", ["writer", "cassandra-3", "kind-worker2", "all"])
def test_a_crash_takes_cassandra_or_one_of_its_pods_only(name):
    message = (f"--crash '{name}': name 'cassandra' (every Cassandra JVM at once) or one pod (cassandra-0, "
               "cassandra-1, cassandra-2)")
    ctx = round_ctx()
    with pytest.raises(PreconditionError) as err:
        play(ctx, faults.make("crash", name))
    assert str(err.value) == message and err.value.exit_code == 2
    with pytest.raises(PreconditionError) as err:
        chaos.plan(crash=name)
    assert str(err.value) == message
    assert ctx.commands == []


def test_a_dry_crash_prints_the_three_kills(capsys):
    ctx = _crash_ctx(NODES, nodes=FakeNodes(meet=1))
    chaos.run_round(Runner(ctx, dry=True), K, faults.make("crash", "cassandra"), 1, settings())
    out = [line for line in capsys.readouterr().out.splitlines() if "kill -KILL" in line]
    assert [line.split(" sh -c ")[0] for line in out] == [
        "[dry-run] docker exec kind-worker", "[dry-run] docker exec kind-worker3", "[dry-run] docker exec kind-worker2"]
    assert ctx.matching("kill -KILL") == []


def test_the_kill_script_sleeps_until_the_instant_then_kills_and_says_when(tmp_path):
    """The script as the kind nodes' sh (dash) runs it, on a real process: not before the instant, then dead."""
    import subprocess
    import time

    victim = subprocess.Popen(["sleep", "60"])
    at = time.time() + 0.5
    try:
        done = subprocess.run(["sh", "-c", crash_mod.kill_at_script(victim.pid, int(at * 1e9))],
                              capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, done.stderr
        killed = crash_mod.killed_at(done.stdout)
        assert victim.wait(timeout=5) == -9  # SIGKILL
        assert at <= killed < at + 1.0  # not before; after by scheduling only (a loaded 2-core machine: 0.3 s failed)
    finally:
        victim.kill()
    late = subprocess.run(["sh", "-c", crash_mod.kill_at_script(victim.pid, int((time.time() - 5) * 1e9))],
                          capture_output=True, text=True, timeout=10)
    assert late.returncode != 0  # already gone: the kill fails, and nothing is printed as an instant
    with pytest.raises(ValueError, match="no kill instant"):
        crash_mod.killed_at(late.stdout)


def test_crash_rounds_are_planned_alone_and_without_down():
    assert chaos.plan(crash="cassandra", rounds=2) == [("crash", "cassandra")] * 2
    assert chaos.plan(crash="cassandra-2") == [("crash", "cassandra-2")]
    with pytest.raises(PreconditionError, match=r"^--pod and --crash: give one target a run$"):
        chaos.plan(pod="cassandra-1", crash="cassandra")
    with pytest.raises(PreconditionError, match="^--down applies to --node, --partition, --pause, --freeze, --loss, "
                                                "--dns and random timed faults only$"):
        chaos.plan(crash="cassandra", down=30)


# -- the witness and the acknowledgement stall -------------------------------------------------------------

class Watermark(FakeProgress):
    """A writer's acknowledged prefix on /metrics, one seq further each read from 100; with ``acks``, its record of
    each advance (/acks): one every 10 ms, except none for 3 s from half a second after the baseline began."""

    def __init__(self, clock, *, acks=True):
        super().__init__(start=100)
        self.clock, self.serves_acks, self.asked = clock, acks, []

    def read(self):
        self.value += 1
        return self.value

    def acks(self, since):
        self.asked.append(since)
        if not self.serves_acks:
            return None
        times = [since - 1 + i / 100 for i in range(int((self.clock() - since + 1) * 100))]
        kept = [t for t in times if not since + 0.5 < t < since + 3.5]
        return {"topic": "test", "now": self.clock(), "capacity": 65536, "oldest": kept[0],
                "advances": [[round(t, 3), 100 + i] for i, t in enumerate(kept)]}


def _witness_round(last_seq, *, acks=True):
    """One cassandra-1 round sampling the writer's watermark; Cassandra stores rows 1..20000, and as last_seq
    ``last_seq(progress)`` (the writer's progress fake, read when verify asks)."""
    clock = FakeClock()
    progress = Watermark(clock, acks=acks)
    ctx = _one_pod_ctx(seqs=list(range(1, 20_001)))
    ctx.add("prj04_last_seq", lambda _c: f" topic | seq\n-------+-----\n  test |  {last_seq(progress)}\n\n(1 rows)\n",
            first=True)
    result = chaos.run_round(Runner(ctx), K, "cassandra-1", 1, settings(metric="writer_watermark_seq", settle=5),
                             clock=clock, sleep=clock.sleep, make_progress=lambda *a: progress, kind=KIND)
    return result, progress


def test_the_round_witnesses_what_the_writer_acknowledged_and_checks_up_to_it():
    """The stored last_seq follows the writer (its checkpoint): the round passes, the witness and the stored
    last_seq side by side, and verify checked every seq up to the highest witnessed."""
    result, progress = _witness_round(lambda progress: progress.value)
    assert result.ok, (result.error, result.verify_problems())
    [witness] = result.witness
    assert witness["source"] == "ece573-prj04-writer its acknowledged prefix, sampled every 0.01 s"
    assert 100 < witness["acked_before_fault"] < witness["acked_highest"] <= witness["stored_last_seq"]
    assert witness["checked_to"] == witness["stored_last_seq"] and not witness["below_witness"]
    assert result.verify[0]["witness"]["floor"] == witness["acked_before_fault"]


def test_a_stored_last_seq_below_the_witness_fails_the_round_with_no_row_missing():
    """Cassandra lost the checkpoint (last_seq back at 50) while the writer had acknowledged past 100 before the
    fault: every row is there, but the bound moved back, and the round says so."""
    result, _ = _witness_round(lambda progress: 50)
    assert result.lost_rows == 0 and not result.ok and not result.error
    [problem] = result.verify_problems()
    assert problem.startswith("topic test: stored last_seq 50 is below ")
    assert "witnessed acknowledged (ece573-prj04-writer its acknowledged prefix" in problem
    [witness] = result.witness
    assert witness["stored_last_seq"] == 50 and witness["below_witness"] and witness["acked_before_fault"] > 100


def test_the_round_reads_the_acknowledgement_stall_from_the_writers_record():
    """The writer stopped acknowledging for 3 s: the round reports >= 3 s, beginning half a second after the
    baseline began, relative to the fault, from /acks."""
    result, progress = _witness_round(lambda progress: 20_000)
    [since] = progress.asked
    assert result.ack_stall_source == "acks" and result.ack_stall_s >= 3.0
    assert result.ack_stall_began_s == round(since + 0.5 - result.deleted_at, 3) < 0  # during the baseline
    [entry] = result.ack_stalls
    assert (entry["writer"], entry["source"], entry["open"]) == ("ece573-prj04-writer", "acks", False)
    # its end is the first acknowledged write after it: recorded as the round's ack_resumed_at
    assert result.ack_resumed_at == entry["ended_at"] == pytest.approx(since + 0.5 + result.ack_stall_s, abs=0.002)


def test_without_acks_the_stall_comes_from_the_samples_and_says_so():
    result, _ = _witness_round(lambda progress: 20_000, acks=False)
    assert result.ack_stall_source == "samples every 0.01 s (no /acks: an older writer image)"
    assert result.ack_stall_s == round(result.stall_s, 3)  # the same samples: the sampling interval's resolution


def test_a_writer_round_reads_the_acknowledged_prefix_once_before_the_fault(monkeypatch):
    """The writer is the target, so the round samples last_seq with cqlsh; just before the deletion it reads the
    writer's watermark once on /metrics (2400, ahead of the stored 2000): the witness, outside Cassandra. The
    replacement resumed and stored 3000, so the round passes, and its record shows what was compared."""
    monkeypatch.setattr(CqlProgress, "MIN_EVERY", 0.02)
    old, new = pod("ece573-prj04-writer-a", "w-old", True), pod("ece573-prj04-writer-b", "w-new", True)
    ctx = round_ctx([("app=ece573-prj04-writer", [items(old), items(old), items(new)]),
                   ("SELECT seq|SELECT count", CqlRows(list(range(1, 3001))))])
    stored = lambda _c: f" topic | seq\n-------+-----\n  test |  {3000 if ctx.matching('delete pod') else 2000}\n\n(1 rows)\n"  # noqa: E501, E731
    ctx.add("prj04_last_seq", stored, first=True)
    read = []

    def make_progress(runner, kube, s, writer):
        read.append((s.metric, writer.name))
        return FakeProgress(start=2300)  # its first read: 2400

    clock = FakeClock()
    result = chaos.run_round(Runner(ctx), K, "writer", 1, settings(timeout=30, metric="writer_watermark_seq"),
                             clock=clock, sleep=clock.sleep, make_progress=make_progress)
    assert read == [("writer_watermark_seq", "ece573-prj04-writer")] and result.progress_source == "cql:last_seq"
    assert result.ok, (result.error, result.verify_problems())
    [witness] = result.witness
    assert (witness["acked_before_fault"], witness["stored_last_seq"]) == (2400, 3000)
    assert witness["source"] == ("ece573-prj04-writer its acknowledged prefix, read just before the fault (2400); "
                                 "then last_seq with cqlsh")


# -- gray faults: a paused JVM, a frozen node, a lossy link, DNS down -------------------------------------------


def interrupting(after: float):
    """A clock and a sleep that raises KeyboardInterrupt (Ctrl-C) once the fake clock passed ``after``."""
    clock = FakeClock()

    def sleep(seconds):
        if clock.now > after:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    return clock, sleep


def interrupted_round(ctx, fault):
    clock, sleep = interrupting(1010)
    with pytest.raises(KeyboardInterrupt):
        chaos.run_round(Runner(ctx), K, fault, 1, settings(), clock=clock, sleep=sleep,
                        make_progress=lambda *a: FakeProgress(), kind=KIND)


def _pause_ctx():
    return round_ctx([
        ("crictl inspect cid-cassandra-2", CRICTL_INSPECT),
        ("app=ece573-prj04-writer", WRITER),
        ("get pods --selector app=cassandra", cassandra_pods()),
        ("get pod cassandra-2 ", json.dumps(pod("cassandra-2", "cassandra-2", True))),
        ("nodetool status", [UN, CUT_VIEW, CUT_VIEW, UN]),
        *verify_rules(),
    ])


def test_a_pause_stops_the_jvm_from_its_node_then_continues_it():
    ctx = _pause_ctx()
    result, _ = play(ctx, faults.make("pause", "cassandra-2", down=20))
    assert ctx.matching("^docker exec kind-worker2 kill") == ["docker exec kind-worker2 kill -STOP 4242",
                                                              "docker exec kind-worker2 kill -CONT 4242"]
    assert ctx.matching("delete") == []  # pod and node stay
    assert (result.fault, result.pod, result.down_s, result.ok) == ("pause", "cassandra-2", 20, True), result.error
    assert result.restored_at - result.deleted_at == 20.0
    seen = [what for _, what in result.observed]
    assert "cassandra-2: JVM paused (SIGSTOP to pid 4242 on kind-worker2); pod and node stay up" in seen
    assert "ring seen from cassandra-0: cassandra-0 UN, cassandra-1 UN, cassandra-2 DN" in seen
    assert "cassandra-2: JVM resumed (SIGCONT to pid 4242)" in seen


def test_a_failed_pause_still_continues_the_jvm():
    ctx = _pause_ctx()
    ctx.add("kill -STOP", ("Error response from daemon: container is restarting", 1), first=True)
    with pytest.raises(CommandError):
        play(ctx, faults.make("pause", "cassandra-2", down=20))
    assert ctx.matching("kill -(STOP|CONT)")[-1] == "docker exec kind-worker2 kill -CONT 4242"


def test_an_interrupted_pause_still_continues_the_jvm():
    ctx = _pause_ctx()
    interrupted_round(ctx, faults.make("pause", "cassandra-2", down=60))
    assert ctx.matching("kill -(STOP|CONT)") == ["docker exec kind-worker2 kill -STOP 4242",
                                                 "docker exec kind-worker2 kill -CONT 4242"]


def test_a_restart_during_the_pause_is_reported():
    ctx = _pause_ctx()
    ctx.add("get pod cassandra-2 ", json.dumps(pod("cassandra-2", "cassandra-2", True, restarts=1)), first=True)
    result, _ = play(ctx, faults.make("pause", "cassandra-2", down=10))
    assert any("restarted during the pause (restarts 0 -> 1)" in w for _, w in result.observed)


@pytest.mark.parametrize("fault_type", ["pause", "loss"])
@pytest.mark.parametrize("name", ["writer", "cassandra-7", "cassandra"])
def test_a_pause_or_a_loss_takes_a_cassandra_pod_only(fault_type, name):
    with pytest.raises(PreconditionError, match=rf"--{fault_type} '{name}': name a Cassandra pod \(cassandra-0, "):
        play(round_ctx(), faults.make(fault_type, name, down=10))


def test_a_freeze_pauses_the_node_container_then_unpauses_it():
    ctx = _node_ctx()
    result, _ = play(ctx, faults.make("freeze", "kind-worker2", down=30))
    assert ctx.matching("^docker (stop|start|pause|unpause)") == ["docker pause kind-worker2",
                                                                  "docker unpause kind-worker2"]
    assert (result.fault, result.target, result.pod, result.down_s) == ("freeze", "node", "kind-worker2", 30)
    assert result.ok, result.error
    assert result.restored_at - result.deleted_at == 30.0
    seen = [what for _, what in result.observed]
    assert "kind-worker2: frozen (docker pause); lab pods on it: cassandra-2" in seen
    assert "kind-worker2: thawed (docker unpause); waiting for its kubelet to report" in seen


def test_a_failed_or_interrupted_freeze_still_unpauses_the_node():
    ctx = _node_ctx()
    ctx.add("^docker pause", ("Error response from daemon: cannot pause", 1), first=True)
    with pytest.raises(CommandError):
        play(ctx, faults.make("freeze", "kind-worker2", down=30))
    assert ctx.matching("^docker (un)?pause") == ["docker pause kind-worker2", "docker unpause kind-worker2"]
    ctx = _node_ctx()
    interrupted_round(ctx, faults.make("freeze", "kind-worker2", down=60))
    assert ctx.matching("^docker (un)?pause") == ["docker pause kind-worker2", "docker unpause kind-worker2"]


def test_a_freeze_refuses_what_is_not_a_worker():
    ctx = round_ctx([("kind get nodes", KIND_NODES)])
    with pytest.raises(PreconditionError, match=r"^--freeze 'kind-control-plane': the control plane serves"):
        play(ctx, faults.make("freeze", "kind-control-plane", down=30))
    assert ctx.matching("docker") == []


def test_a_loss_drops_a_share_of_the_pods_packets_both_ways_then_removes_the_rules():
    ctx = _partition_ctx()
    result, _ = play(ctx, faults.make("loss", "cassandra-2", down=20, percent=30))
    netns = ctx.matching("nsenter")
    assert len(netns) == 2
    assert all(c.startswith("docker exec kind-worker2 nsenter --net=/proc/777/ns/net sh -c ") for c in netns)
    drop = "-m statistic --mode random --probability 0.3 -j DROP"
    assert f"-A LAB-LOSS-IN {drop}" in netns[0] and f"-A LAB-LOSS-OUT {drop}" in netns[0]
    assert "-D INPUT -j LAB-LOSS-IN" in netns[1] and "-D OUTPUT -j LAB-LOSS-OUT" in netns[1]
    assert (result.fault, result.pod, result.down_s, result.ok) == ("loss", "cassandra-2", 20, True), result.error
    seen = [what for _, what in result.observed]
    assert any(w.startswith("cassandra-2: dropping 30% of packets in and out") for w in seen)
    assert "cassandra-2: packets flow again (rules removed)" in seen


def test_a_failed_or_interrupted_loss_still_removes_the_rules():
    ctx = _partition_ctx()
    ctx.add("LAB-LOSS-IN -m statistic", ("iptables: No chain/target/match by that name.", 1), first=True)
    with pytest.raises(CommandError):
        play(ctx, faults.make("loss", "cassandra-2", down=20))
    assert len(ctx.matching("nsenter")) == 2 and "! iptables -w -S | grep -q LAB-LOSS" in ctx.matching("nsenter")[1]
    ctx = _partition_ctx()
    interrupted_round(ctx, faults.make("loss", "cassandra-2", down=60))
    assert len(ctx.matching("nsenter")) == 2 and "-D INPUT -j LAB-LOSS-IN" in ctx.matching("nsenter")[1]


def test_the_loss_spares_loopback_and_the_gateway_and_its_share_is_a_probability():
    script = loss_mod.loss_script(12.5)
    assert script.index("-i lo -j RETURN") < script.index("-A LAB-LOSS-IN -m statistic")
    assert '-s "$gw" -j RETURN' in script and '-d "$gw" -j RETURN' in script
    assert "--probability 0.125 -j DROP" in script
    assert [loss_mod.probability(p) for p in (30, 1, 99, 33.33)] == ["0.3", "0.01", "0.99", "0.3333"]
    for bad in (0, 100, 150):
        with pytest.raises(PreconditionError, match=rf"^--percent {bad}: give a share of packets to drop between 1"):
            loss_mod.check_percent(bad)


def coredns(replicas, ready):
    return json.dumps({"metadata": {"name": "coredns"}, "spec": {"replicas": replicas},
                       "status": {"readyReplicas": ready} if ready else {}})


def _dns_ctx(*, back=True):
    return round_ctx([
        ("get deployment coredns", [coredns(2, 2), coredns(0, 0), coredns(0, 0), coredns(2, 1),
                                    coredns(2, 2 if back else 1)]),
        ("app=ece573-prj04-writer", WRITER),
        ("get pods --selector app=cassandra", cassandra_pods()),
        ("nodetool status", UN),
        *verify_rules(),
    ])


def test_dns_down_scales_coredns_to_zero_then_back_to_its_replicas():
    ctx = _dns_ctx()
    result, _ = play(ctx, faults.make("dns", "coredns", down=20))
    assert ctx.matching(" scale ") == [
        "kubectl --context kind-kind --namespace kube-system scale deployment/coredns --replicas=0",
        "kubectl --context kind-kind --namespace kube-system scale deployment/coredns --replicas=2"]
    assert (result.fault, result.pod, result.down_s, result.ok) == ("dns", "coredns", 20, True), result.error
    seen = [what for _, what in result.observed]
    assert "coredns: scaled from 2 replica(s) to 0: names stop resolving" in seen
    assert "coredns: scaled back to 2 replica(s)" in seen and "coredns: 2 of 2 replica(s) Ready" in seen


def test_dns_not_back_in_time_is_the_rounds_error():
    ctx = _dns_ctx(back=False)
    result, _ = play(ctx, faults.make("dns", "coredns", down=10), settings=settings(timeout=5))
    assert result.error == "CoreDNS not back within 5s of scaling it to 2 (1 of 2 replica(s) Ready)"


def test_failed_or_interrupted_dns_down_still_scales_coredns_back():
    ctx = _dns_ctx()
    ctx.add("--replicas=0", ("Error from server (Conflict)", 1), first=True)
    with pytest.raises(CommandError):
        play(ctx, faults.make("dns", "coredns", down=20))
    assert ctx.matching(" scale ")[-1].endswith("scale deployment/coredns --replicas=2")
    ctx = _dns_ctx()
    interrupted_round(ctx, faults.make("dns", "coredns", down=60))
    assert [c.rsplit(" ", 1)[-1] for c in ctx.matching(" scale ")] == ["--replicas=0", "--replicas=2"]


def test_dns_down_needs_coredns_ready_first():
    ctx = _dns_ctx()
    ctx.add("get deployment coredns", coredns(2, 1), first=True)
    with pytest.raises(PreconditionError, match="^CoreDNS has 1 of 2 replicas Ready; wait for it before a round$"):
        play(ctx, faults.make("dns", "coredns", down=20))
    assert ctx.matching(" scale ") == []
    assert dns_mod.replicas(None) == (0, 0)


def test_dry_gray_rounds_print_inflict_and_undo(capsys):
    for ctx, fault, lines in [
        (_pause_ctx(), faults.make("pause", "cassandra-2", down=15),
         ["docker exec kind-worker2 kill -STOP 4242", "docker exec kind-worker2 kill -CONT 4242"]),
        (_node_ctx(), faults.make("freeze", "kind-worker2", down=15),
         ["docker pause kind-worker2", "docker unpause kind-worker2"]),
        (_dns_ctx(), faults.make("dns", "coredns", down=15),
         ["kubectl --context kind-kind --namespace kube-system scale deployment/coredns --replicas=0",
          "kubectl --context kind-kind --namespace kube-system scale deployment/coredns --replicas=2"]),
    ]:
        chaos.run_round(Runner(ctx, dry=True), K, fault, 1, settings(), kind=KIND)
        out = capsys.readouterr().out.splitlines()
        assert [line for line in out if line.startswith("[dry-run] ") and "#" not in line] == [
            f"[dry-run] {line}" for line in lines]
        assert "[dry-run] # ... 15s later" in out
        assert ctx.matching("kill -|docker (un)?pause| scale ") == []


def test_gray_faults_are_planned_with_down_and_drawn_by_among():
    assert chaos.plan(pause="cassandra-1", down=10) == [("pause", "cassandra-1")]
    assert chaos.plan(freeze="kind-worker2", rounds=2) == [("freeze", "kind-worker2")] * 2
    assert chaos.plan(loss="cassandra-0", percent=20) == [("loss", "cassandra-0")]
    assert chaos.plan(dns=True, down=10) == [("dns", "coredns")]
    drawn = chaos.plan(pod="random", among="pause,freeze,loss,dns", rounds=40, rng=random.Random(5),
                       workers=("kind-worker", "kind-worker3"))
    assert {fault_type for fault_type, _ in drawn} == {"pause", "freeze", "loss", "dns"}
    assert {name for fault_type, name in drawn if fault_type in ("pause", "loss")} == {
        "cassandra-0", "cassandra-1", "cassandra-2"}
    assert {name for fault_type, name in drawn if fault_type == "freeze"} == {"kind-worker", "kind-worker3"}


@pytest.mark.parametrize("kwargs, message", [
    ({"pause": "cassandra-1", "dns": True}, "--pause and --dns: give one target a run"),
    ({"loss": "writer"}, "--loss 'writer': name a Cassandra pod (cassandra-0, cassandra-1, cassandra-2)"),
    ({"pause": "cassandra-1", "percent": 20}, "--percent applies to --loss (and random losses) only"),
    ({"loss": "cassandra-1", "percent": 100}, "--percent 100: give a share of packets to drop between 1 and 99"),
    ({"pod": "random", "among": "freeze"}, "--among freeze: no worker node hosts a Cassandra pod"),
    ({"crash": "cassandra", "down": 30}, "--down applies to --node, --partition, --pause, --freeze, --loss, --dns"),
])
def test_bad_gray_input_is_one_line(kwargs, message):
    with pytest.raises(PreconditionError) as err:
        chaos.plan(**kwargs)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_gray_rounds_are_named_in_their_timelines():
    assert [plot.fault_label({"fault": fault_type, "pod": target, "down_s": 10}) for fault_type, target in (
        ("pause", "cassandra-1"), ("freeze", "kind-worker2"), ("loss", "cassandra-2"), ("dns", "coredns"))] == [
        "SIGSTOP cassandra-1 for 10 s", "freeze kind-worker2 for 10 s", "drop packets of cassandra-2 for 10 s",
        "stop coredns for 10 s"]


# -- a writer of your own that serves no /metrics (lab.writer.source): its rows' progress in Cassandra -----------

def _own_writer_deployment() -> str:
    env = [{"name": "TOPIC", "value": "test"}, {"name": "CONSISTENCY", "value": "ALL"},
           {"name": "WRITER_MODE", "value": "own"}]
    return json.dumps({"items": [{"metadata": {"name": "ece573-prj04-writer"}, "spec": {"template": {"spec": {
        "containers": [{"name": "writer", "env": env}]}}}}]})


def test_a_writer_without_metrics_is_measured_from_its_last_seq_via_cql_and_its_stall_named_so(monkeypatch):
    """The Go writer of section IV (no HTTP at all) under a cassandra-1 deletion: asked once for /metrics, it answers
    nothing, so every reading is its stored last_seq read with cqlsh; its pod restarts (log.Fatalf on the failed write)
    and its last_seq stands still, then moves again. Recovery, the stall, the restart and verify all come from that,
    and the record says so: the progress source, the stall as a progress stall of last_seq (not an acknowledgement
    stall: no writer said what it acknowledged), the witness as last_seq read with cqlsh."""
    monkeypatch.setattr(CqlProgress, "MIN_EVERY", 0.02)
    crashed = pod("ece573-prj04-writer-x", "w", True, restarts=1)
    crashed["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error"}}
    ctx = _one_pod_ctx(seqs=list(range(1, 3001)))
    ctx.add("get deployments --selector", _own_writer_deployment(), first=True)
    running = items(pod("ece573-prj04-writer-x", "w", True, restarts=0))
    ctx.add("app=ece573-prj04-writer", lambda _c: items(crashed) if ctx.matching("delete pod") else running, first=True)
    ctx.add("logs ece573-prj04-writer-x --container writer --previous --tail 3",
            "2026/12/07 10:00:03 Cannot write 1812 to table ece573.prj04: Cannot achieve consistency level ALL\n",
            first=True)
    reads = iter(range(100_000))

    def stored(_command):  # rising, then standing still for 30 reads once cassandra-1 is deleted, then rising again
        n = next(reads)
        if ctx.matching("delete pod") and not deleted:
            deleted.append(n)
        seq = 1000 + 10 * n if not deleted else 1000 + 10 * deleted[0] + 10 * max(0, n - deleted[0] - 30)
        return f" topic | seq\n-------+-----\n  test |  {min(seq, 3000)}\n\n(1 rows)\n"
    deleted: list[int] = []
    ctx.add("prj04_last_seq", stored, first=True)
    asked = []
    clock = FakeClock()
    result = chaos.run_round(Runner(ctx), K, "cassandra-1", 1, settings(metric="writer_watermark_seq", settle=1),
                             clock=clock, sleep=clock.sleep, kind=KIND,
                             make_progress=lambda runner, kube, s, writer: asked.append(writer.name))
    assert asked == ["ece573-prj04-writer"], "a writer that served no /metrics is not asked again before the fault"
    assert result.ok, (result.error, result.verify_problems())
    assert (result.progress_source, result.recovery_s is not None, result.writer_restarts) == ("cql:last_seq", True, 1)
    assert result.writer_restart_causes[0].endswith("Cannot achieve consistency level ALL")
    assert result.ack_stall_source == ("progress stall (last_seq via CQL), samples every 0.02 s (the writer serves "
                                       "no /metrics)")
    assert result.ack_stall_s == round(result.stall_s, 3) > 0
    [witness] = result.witness
    assert witness["source"] == "last_seq read with cqlsh during the round (the writer serves no /metrics)"
    row = chaos.summary_rows([result])[0]
    assert row[4].endswith(" (progress stall, last_seq via CQL)") and "sampled" not in row[4]
