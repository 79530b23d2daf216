"""``invoke scale --replicas N``: grow or shrink the Cassandra ring without losing a row.

Kubernetes can add and remove pods at any time; Cassandra cannot take nodes that way. A node that joins must
bootstrap (stream its share of the data) before the next one starts, and one that leaves must hand its data to
the others first, or the copies it held are simply gone. So the lab drives the StatefulSet one node at a time
and lets Cassandra say when each step is over, as K8ssandra's operator does:

- Up, per node: ``kubectl scale`` one replica more, wait for the new pod to be Ready and every node ``UN``.
  Then ``nodetool cleanup`` on the nodes that were there before: they still hold the ranges the newcomers took.
- Down, per node, highest ordinal first (the pod a StatefulSet removes): ``nodetool decommission`` in that pod
  (it streams its ranges away and leaves the ring), wait until the others list one node fewer, all ``UN``; then
  ``kubectl scale`` one replica fewer, wait for the pod to be gone and delete its PVC. A stale PVC would bring
  the old node's data and identity back on a later scale-up, a node the ring has already written off.

Refused with one line: fewer nodes than the widest keyspace's replication factor (it could not keep its
copies), more than the workers anti-affinity allows (one Cassandra pod per worker), or a ring that is not
healthy to begin with. The PodDisruptionBudget (maxUnavailable: 1) holds at every size, so nothing here touches it.
"""

from __future__ import annotations

from lab import kubectl, names, progress, ring, tls
from lab.cassandra import all_up_normal, nodetool_args, ring_summary
from lab.context import Lab, guard_context, require_cluster
from lab.errors import CommandError, LabError, PreconditionError
from lab.output import table


def check_target(target: int, *, keyspace: str, replication_factor: int, workers: int) -> None:
    """Refuse a size the ring cannot take, with what to do instead."""
    if target < 1:
        raise PreconditionError(f"--replicas {target}: a ring needs at least one node")
    if target < replication_factor:
        raise PreconditionError(
            f"--replicas {target}: keyspace {keyspace} keeps {replication_factor} copies of every row (replication "
            f"factor {replication_factor}), which {target} node(s) cannot hold; keep at least {replication_factor}")
    if target > workers:
        raise PreconditionError(
            f"--replicas {target}: anti-affinity puts one Cassandra pod on each worker and {workers} can take one "
            f"now; add workers to the cluster config (lab.cluster_config) and `invoke reset`, or ask for at most "
            f"{workers}")


def scale(lab: Lab, replicas: int) -> list[progress.Finished]:
    """Bring the ring from its live size to ``replicas`` nodes, one node at a time; returns its steps, timed."""
    cfg = lab.cfg
    guard_context(cfg, action="scale Cassandra")
    require_cluster(lab)
    runner, kube = lab.runner, lab.kube
    current = ring.live_replicas(runner, kube)
    if current is None:
        raise PreconditionError(f"no StatefulSet {names.CASSANDRA_STATEFULSET}; run `invoke deploy` first")
    if current < 1:  # no pod to ask about the ring, nor to bootstrap a new one from
        raise PreconditionError(f"StatefulSet {names.CASSANDRA_STATEFULSET} has 0 replicas; "
                                "`invoke deploy --what cassandra` first")
    cass = lab.cassandra(ring.pod_name(0))  # never removed: a ring keeps at least one node
    if lab.runner.dry:
        progress.info(f"[dry-run] scale {names.CASSANDRA_STATEFULSET} from {current} to {replicas}, one node at a time")
        return []
    with progress.step(f"Checking the ring ({current} nodes) before scaling to {replicas}") as s:
        try:
            nodes = cass.nodetool_status()
        except CommandError as err:
            raise LabError(f"nodetool status in {cass.pod} failed: {err}") from err
        if not all_up_normal(nodes, current):
            raise PreconditionError(f"the ring is not {current} nodes UN ({ring_summary(nodes, current)}); scale a "
                                    "healthy ring only (`invoke status` shows what is wrong)")
        keyspace, factor = ring.widest_keyspace(cass)
        workers = ring.schedulable_workers(runner, kube)
        check_target(replicas, keyspace=keyspace, replication_factor=factor, workers=len(workers))
        s.note(f"{current} UN; {keyspace} replication factor {factor}; {len(workers)} schedulable workers")
    if replicas == current:
        progress.info(f"the ring already has {current} nodes; nothing to do")
        return []
    with progress.recording() as finished:
        if replicas > current:
            _grow(lab, current, replicas)
        else:
            _shrink(lab, current, replicas)
    timings = [f for f in finished if f.depth == 0]
    table(["step", "seconds"], [[t.message, f"{t.seconds:.1f}"] for t in timings],
          title=f"Scaled {names.CASSANDRA_STATEFULSET} from {current} to {replicas} nodes")
    return timings


def _set_replicas(lab: Lab, replicas: int) -> None:
    try:
        lab.runner.run(lab.kube.scale_args(f"statefulset/{names.CASSANDRA_STATEFULSET}", replicas), timeout=60)
    except CommandError as err:
        raise LabError(f"failed to scale StatefulSet {names.CASSANDRA_STATEFULSET} to {replicas}: {err}") from err


def _grow(lab: Lab, current: int, target: int) -> None:
    timeout = lab.cfg.timeouts.cassandra
    cass = lab.cassandra(ring.pod_name(0))
    if lab.cfg.security.tls:  # a new pod's init container copies its own certificate: it must exist first
        new = ", ".join(ring.pod_name(ordinal) for ordinal in range(current, target))
        with progress.step(f"Certificates for {new} in Secret {tls.SECRET} (the others' kept)"):
            tls.ensure(lab.runner, lab.kube, target, lab.cfg.namespace)
    for ordinal in range(current, target):
        pod = ring.pod_name(ordinal)
        with progress.step(f"{pod} joins the ring (bootstrap, then UN)") as s:
            _set_replicas(lab, ordinal + 1)
            s.waiting(f"{pod} starting")
            try:
                kubectl.rollout_status(lab.runner, lab.kube, f"statefulset/{names.CASSANDRA_STATEFULSET}",
                                       timeout=timeout)
            except CommandError as err:
                raise LabError(f"{pod} not Ready within {timeout}s: {_pod_state(lab, pod)}") from err
            if not ring.wait_up_normal(cass, ordinal + 1, timeout=timeout, step=s):
                raise LabError(f"{pod} is Ready but the ring is not {ordinal + 1} nodes UN within {timeout}s "
                               f"({s.awaiting})")
    for ordinal in range(current):
        pod = ring.pod_name(ordinal)
        with progress.step(f"nodetool cleanup in {pod} (drops the ranges the new nodes own now)"):
            _nodetool(lab, pod, "cleanup", timeout=timeout)


def _shrink(lab: Lab, current: int, target: int) -> None:
    timeout = lab.cfg.timeouts.cassandra
    cass = lab.cassandra(ring.pod_name(0))
    for ordinal in reversed(range(target, current)):
        pod = ring.pod_name(ordinal)
        with progress.step(f"nodetool decommission in {pod} (streams its data to the others)") as s:
            _nodetool(lab, pod, "decommission", timeout=timeout)
            if not ring.wait_up_normal(cass, ordinal, timeout=timeout, step=s):
                raise LabError(f"{pod} was decommissioned but the ring is not {ordinal} nodes UN within {timeout}s "
                               f"({s.awaiting}); `invoke status` shows it")
        with progress.step(f"{pod} removed, and its PVC {_claim(pod)}"):
            _set_replicas(lab, ordinal)
            try:
                lab.runner.run(lab.kube.wait_deleted_args(f"pod/{pod}", timeout=timeout), timeout=timeout + 30)
                lab.runner.run(lab.kube.delete_args("persistentvolumeclaim", _claim(pod), timeout=timeout),
                               timeout=timeout + 30)
            except CommandError as err:
                raise LabError(f"failed to remove {pod} or its PVC {_claim(pod)}: {err}") from err


def _claim(pod: str) -> str:
    """The PVC the StatefulSet made for ``pod`` from its volumeClaimTemplate (cassandra.yml)."""
    return f"{names.CASSANDRA_DATA_CLAIM}-{pod}"


def _nodetool(lab: Lab, pod: str, command: str, *, timeout: int) -> None:
    cass = lab.cassandra(pod)
    try:
        lab.runner.run(cass.exec_args(nodetool_args(command)), timeout=timeout)
    except CommandError as err:
        raise LabError(f"nodetool {command} in {pod} failed: {err}") from err


def _pod_state(lab: Lab, pod: str) -> str:
    found = kubectl.get_json(lab.runner, lab.kube, "pod", pod)
    return kubectl.pod_waiting_reason(found) if found else "no such pod"
