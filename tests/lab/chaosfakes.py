"""Shapes and fakes shared by the chaos tests: kubectl JSON for pods and nodes, a fake clock, progress."""

from __future__ import annotations

import json
import time

from lab.kubectl import Kubectl
from tests.lab.labfakes import DATA, CqlRows, lab_ctx

K = Kubectl("kubectl", "kind-kind", "default")
NODES = {"cassandra-0": "kind-worker", "cassandra-1": "kind-worker3", "cassandra-2": "kind-worker2"}
IPS = {"cassandra-0": "10.244.3.3", "cassandra-1": "10.244.2.3", "cassandra-2": "10.244.4.3"}
LAST_SEQ = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
ALL_SEQS = " seq\n-----\n" + "".join(f" {n}\n" for n in range(1, 11)) + "\n(10 rows)\n"


def pod(name, uid, ready, restarts=0, deleting=False, node=None, phase="Running", scheduled=True):
    meta = {"name": name, "uid": uid}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-25T19:30:00Z"
    status = {"phase": phase, "podIP": IPS.get(name, "10.244.1.9"),
              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
              "containerStatuses": [{"name": "cassandra" if name.startswith("cassandra") else "writer",
                                     "restartCount": restarts, "containerID": f"containerd://cid-{uid}"}]}
    if not scheduled:
        status["containerStatuses"] = []
        status["conditions"].append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/5 nodes are available: 1 node(s) had volume node affinity conflict.",
            }
        )
    spec = {"nodeName": node or NODES.get(name, "kind-worker4")} if scheduled else {}
    return {"metadata": meta, "spec": spec, "status": status}


def items(*pods) -> str:
    return json.dumps({"items": list(pods)})


def cassandra_pods(ready=True, *, suffix="", except_ready=()) -> str:
    """All three Cassandra pods; uids 'cassandra-N<suffix>'; those in ``except_ready`` not Ready."""
    return items(*(pod(n, n + suffix, ready and n not in except_ready) for n in NODES))


def node(name, ready) -> str:
    status = "True" if ready else "Unknown"
    message = "kubelet is posting ready status" if ready else "Kubelet stopped posting node status."
    return json.dumps({"metadata": {"name": name}, "status": {"conditions": [
        {"type": "Ready", "status": status, "message": message}]}})


WRITER = items(pod("ece573-prj04-writer-x", "w", True, node="kind-worker4"))


#: The commands that inflict and undo the faults, answered with success unless a test's rules say otherwise:
#: pod deletions, node containers stopped/started/paused, a JVM stopped/continued, iptables in a pod's netns,
#: CoreDNS scaled, the nodes' CPU weight.
FAULT_ACTIONS = (
    " delete pod ",
    r"^docker (stop|start|pause|unpause) kind-",
    r"^docker exec kind-\S+ kill -(STOP|CONT) ",
    r"^docker exec kind-\S+ nsenter --net=\S+ sh -c .*iptables",
    " scale deployment/coredns ",
    r"^docker update --cpu-shares ",
)


def round_ctx(rules=(), *, ok=FAULT_ACTIONS):
    """A FakeCtx for a chaos round (``lab_ctx``): the fault's own commands succeed unless ``rules`` say otherwise."""
    return lab_ctx(rules, ok=ok)


def verify_rules():
    return [("prj04_last_seq", LAST_SEQ), ("SELECT seq", CqlRows(ALL_SEQS))]


class FakeClock:
    """Epoch-like seconds that move only when slept; each sleep also yields a millisecond of real time
    so the sampler's thread gets to read while a wait loops."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        time.sleep(0.001)


class FakeProgress:
    """A writer that keeps writing: every read is 100 seqs further (``stuck_at`` freezes it there)."""

    def __init__(self, start=100, stuck_at=None):
        self.value = start
        self.stuck_at = stuck_at
        self.closed = False

    def read(self):
        if self.stuck_at is None or self.value < self.stuck_at:
            self.value += 100
        return self.value

    def close(self):
        self.closed = True


__all__ = ["DATA", "K", "FakeClock", "FakeProgress", "cassandra_pods", "items", "node", "pod",
           "round_ctx", "verify_rules", "WRITER"]
