"""Pod and node states in plain words, on kubectl's JSON shapes; restart arithmetic."""

import json

from lab.chaos import replaced_and_ready, restarts_since, watch
from tests.lab.chaosfakes import node, pod


def test_replaced_and_ready():
    old = pod("cassandra-1", "old", True, deleting=True)
    new_starting = pod("cassandra-1", "new", False)
    new_ready = pod("cassandra-1", "new", True)
    other = pod("cassandra-0", "zero", True)
    assert replaced_and_ready([old, other], {"old"}, name="cassandra-1") is None
    assert replaced_and_ready([new_starting, other], {"old"}, name="cassandra-1") is None
    assert replaced_and_ready([other, new_ready], {"old"}, name="cassandra-1") is new_ready
    assert replaced_and_ready([other], {"old"}) is other  # the writer: any new Ready pod


def test_restarts_since():
    assert restarts_since({"a": 3}, {"a": 5}) == 2  # the same pod restarted twice
    assert restarts_since({"a": 3}, {"b": 1}) == 1  # replaced; the new pod restarted once
    assert restarts_since({"a": 3, "b": 0}, {"b": 0}) == 0


def test_pod_state_says_plainly_where_a_pod_is():
    assert watch.pod_state(pod("cassandra-2", "u", True)) == "Ready on kind-worker2"
    assert watch.pod_state(None) == "gone (not yet recreated)"
    assert watch.pod_state(pod("cassandra-2", "u", False, deleting=True)) == "Terminating"
    assert watch.pod_state(pod("cassandra-2", "u", False, deleting=True), down_node="kind-worker2") == (
        "Terminating, waiting for node kind-worker2 to confirm (its kubelet is down)")
    assert watch.pod_state(pod("cassandra-2", "u", False), down_node="kind-worker2") == (
        "not Ready: its node kind-worker2 is down (the pod cannot move; its volume is node-local)")
    pending = pod("cassandra-2", "v", False, phase="Pending", scheduled=False)
    assert watch.pod_state(pending, down_node="kind-worker2") == (
        "Pending, waiting for node kind-worker2 (its volume is node-local): Pending: Unschedulable "
        "0/5 nodes are available: 1 node(s) had volume node affinity conflict.")
    assert watch.pod_state(pending).startswith("Pending: Unschedulable")
    crashing = pod("cassandra-1", "c", False, restarts=3)
    crashing["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
    assert watch.pod_state(crashing) == "CrashLoopBackOff, not Ready, on kind-worker3, restarts 3"


def test_node_state():
    assert watch.node_state("kind-worker2", json.loads(node("kind-worker2", True))) == "Ready"
    assert watch.node_state("kind-worker2", json.loads(node("kind-worker2", False))) == (
        "NotReady (Kubelet stopped posting node status)")
    assert watch.node_ready(None) == "missing"
