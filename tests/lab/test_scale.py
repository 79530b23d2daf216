"""invoke scale: what it refuses, and the order of its steps (join, cleanup; decommission, shrink, PVC).

The real 3 -> 4 -> 3 with the writer running is in the end-to-end tier (tests/e2e/test_e2e.py)."""

import json

import pytest

from lab import ring, scale
from lab.errors import PreconditionError
from tests.lab.labfakes import AUTH_RULES, DATA, FakeCtx, make_lab, tls_rules

UN3 = (DATA / "nodetool_status_un.txt").read_text()
UN4 = UN3 + "UN  10.244.1.7  66.01 KiB   16      48.2%             7d1e6f0a-3c55-4d0e-9a51-0c2b8f3c4e11  rack1\n"

REPLICATION = """
 keyspace_name      | replication
--------------------+-------------------------------------------------------------------------------------
        system_auth | {'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '3'}
      system_schema |                                {'class': 'org.apache.cassandra.locator.LocalStrategy'}
            ece573  | {'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '3'}
 system_distributed | {'class': 'org.apache.cassandra.locator.SimpleStrategy', 'replication_factor': '2'}
             system |                                {'class': 'org.apache.cassandra.locator.LocalStrategy'}

(5 rows)
"""


def _node(name, *, ready=True, taint=None, cordoned=False):
    spec = {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": taint}] if taint else []}
    if cordoned:
        spec["unschedulable"] = True
    return {"metadata": {"name": name}, "spec": spec,
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


NODES = json.dumps({"items": [_node("kind-control-plane", taint="NoSchedule"), _node("kind-worker"),
                              _node("kind-worker2"), _node("kind-worker3"), _node("kind-worker4")]})


#: What scaling does to the cluster and waits for, answered with success: the StatefulSet scaled and rolled out,
#: nodetool's cleanup and decommission, the removed pod gone and its claim deleted.
SCALING = (" scale statefulset/cassandra ", " rollout status statefulset/cassandra ",
           r" -- nodetool (cleanup|decommission)$", " wait --for=delete pod/", " delete persistentvolumeclaim ")


def _ctx(replicas: int, status_answers) -> FakeCtx:
    return FakeCtx([
        ("get-contexts", "kind-kind\n"),
        ("get statefulset cassandra", json.dumps({"spec": {"replicas": replicas}})),
        ("get nodes", NODES),
        ("system_schema.keyspaces", REPLICATION),
        ("nodetool status", status_answers),
        *AUTH_RULES,
        *tls_rules(3),
        *((action, FakeCtx.ANY_OK) for action in (*SCALING, " apply --filename .* --server-side "))
    ])


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch):
    monkeypatch.setattr("lab.kubectl.time.sleep", lambda s: None)


def test_replication_factors_skip_local_keyspaces_and_take_the_widest_datacenter():
    rows = [{"keyspace_name": "ece573", "replication": "{'class': 'SimpleStrategy', 'replication_factor': '3'}"},
            {"keyspace_name": "system", "replication": "{'class': 'org.apache.cassandra.locator.LocalStrategy'}"},
            {"keyspace_name": "multi", "replication": "{'class': 'NetworkTopologyStrategy', 'dc1': '2', 'dc2': '5'}"}]
    assert ring.replication_factors(rows) == {"ece573": 3, "multi": 5}


def test_schedulable_workers_leave_out_the_control_plane_cordoned_and_not_ready_nodes(project):
    listing = json.dumps({"items": [_node("cp", taint="NoSchedule"), _node("w1"), _node("w2", cordoned=True),
                                    _node("w3", ready=False), _node("w4", taint="PreferNoSchedule")]})
    lab = make_lab(project, FakeCtx([("get nodes", listing)]))
    assert ring.schedulable_workers(lab.runner, lab.kube) == ["w1", "w4"]


@pytest.mark.parametrize(("target", "message"), [
    (2, r"--replicas 2: keyspace ece573 keeps 3 copies of every row .* keep at least 3"),
    (5, r"--replicas 5: anti-affinity puts one Cassandra pod on each worker and 4 can take one now"),
    (0, r"a ring needs at least one node"),
])
def test_sizes_the_ring_cannot_take_are_refused(target, message):
    with pytest.raises(PreconditionError, match=message):
        scale.check_target(target, keyspace="ece573", replication_factor=3, workers=4)


def test_a_refused_size_changes_nothing(project):
    ctx = _ctx(3, UN3)
    with pytest.raises(PreconditionError, match="--replicas 5: anti-affinity"):
        scale.scale(make_lab(project, ctx), 5)
    assert not ctx.matching(r"kubectl .* scale |decommission|cleanup|delete ")


def test_an_unhealthy_ring_is_not_scaled(project):
    ctx = _ctx(3, UN3.replace("UN  10.244.2.3", "DN  10.244.2.3"))
    with pytest.raises(PreconditionError, match=r"the ring is not 3 nodes UN \(2/3 UN; 10.244.2.3 DN\)"):
        scale.scale(make_lab(project, ctx, timeouts={"cassandra": 1}), 4)
    assert not ctx.matching(r"kubectl .* scale ")


def test_growing_adds_one_node_waits_for_it_then_cleans_up_the_others(project):
    ctx = _ctx(3, [UN3, UN3, UN4])  # the check, then the new node still joining, then UN
    steps = scale.scale(make_lab(project, ctx), 4)
    mutating = ctx.matching(r" scale |rollout status|nodetool (cleanup|decommission)|delete | apply ")
    # cassandra-3's certificate is in Secret cassandra-tls before its pod exists (its init container copies it)
    assert " apply --filename " in mutating[0] and "--server-side" in mutating[0]
    mutating = mutating[1:]
    assert mutating[0].endswith("scale statefulset/cassandra --replicas=4")
    assert "rollout status statefulset/cassandra" in mutating[1]
    assert [c.split(" -- ")[0].split()[-3] for c in mutating[2:]] == ["cassandra-0", "cassandra-1", "cassandra-2"]
    assert all(c.endswith("nodetool cleanup") for c in mutating[2:])
    assert [s.message.split(" (")[0] for s in steps] == [
        "Certificates for cassandra-3 in Secret cassandra-tls", "cassandra-3 joins the ring",
        "nodetool cleanup in cassandra-0", "nodetool cleanup in cassandra-1",
        "nodetool cleanup in cassandra-2"]


def test_shrinking_decommissions_first_then_removes_the_pod_and_its_claim(project):
    ctx = _ctx(4, [UN4, UN4, UN3])  # the check, the node still leaving, then gone
    steps = scale.scale(make_lab(project, ctx), 3)
    mutating = ctx.matching(r" scale |nodetool (cleanup|decommission)|delete |wait --for")
    assert "exec cassandra-3 --container cassandra -- nodetool decommission" in mutating[0]
    assert mutating[1].endswith("scale statefulset/cassandra --replicas=3")
    assert "wait --for=delete pod/cassandra-3" in mutating[2]
    assert "delete persistentvolumeclaim cassandra-data-cassandra-3 --ignore-not-found" in mutating[3]
    assert len(mutating) == 4
    # The decommission waited for the others to list 3 nodes UN before the pod went away.
    assert len(ctx.matching("nodetool status")) == 3
    assert [s.message.split(" (")[0] for s in steps] == [
        "nodetool decommission in cassandra-3", "cassandra-3 removed, and its PVC cassandra-data-cassandra-3"]


def test_the_same_size_is_a_no_op(project, capsys):
    ctx = _ctx(3, UN3)
    assert scale.scale(make_lab(project, ctx), 3) == []
    assert "the ring already has 3 nodes; nothing to do" in capsys.readouterr().err
    assert not ctx.matching(r" scale ")
