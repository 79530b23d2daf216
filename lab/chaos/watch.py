"""Watching a round: what the pods and nodes are doing, said plainly, and the waits for recovery.

The pure half (``replaced_and_ready``, ``pod_state``, ``restarts_since``) works on ``kubectl get -o json``
data and is tested on recorded shapes; the waits poll through kubectl and nodetool and record what
changed on the round (``RoundResult.observe``), so a round that does not recover says where it stuck
("cassandra-2: Pending, waiting for node kind-worker2") instead of only that it timed out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab import kubectl, names, progress, writers
from lab.cassandra import Cassandra, all_up_normal
from lab.chaos.results import RoundResult
from lab.config import ChaosGroup, LabConfig, TimeoutsGroup, VerifyGroup
from lab.errors import LabError, PreconditionError
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.names import CASSANDRA_REPLICAS
from lab.runner import Runner
from lab.writers import Writer

#: The settings' defaults, from the model (lab/config.py), where a round is set up without a configuration.
_CHAOS, _VERIFY, _TIMEOUTS = ChaosGroup(), VerifyGroup(), TimeoutsGroup()


@dataclass
class ChaosSettings:
    topic: str
    consistency: str = _VERIFY.consistency
    sample_every: float = _CHAOS.sample_every
    settle: float = _CHAOS.settle
    timeout: float = _TIMEOUTS.pod
    metrics_port: int = _CHAOS.metrics_port
    #: The gauge sampled on /metrics: the writer's acknowledged contiguous prefix, which is also the round's
    #: witness of what the writer had acknowledged (writer_last_seq, the stored checkpoint, lags it).
    metric: str = _CHAOS.metric
    force: bool = False
    #: After recovery, how long the writer may take to write again before the round calls it wedged
    #: (lab.chaos.resume_timeout).
    resume_timeout: float = _CHAOS.resume_timeout
    #: Give the writers' kind nodes 4x the CPU weight during the round (``--cpu-weight``; lab.chaos.cpu_weight).
    cpu_weight: bool = False
    #: Topics the seed writer wrote (random values by design): verify does not check their values.
    seed_topics: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, cfg: LabConfig, *, force: bool = False, cpu_weight: bool | None = None) -> ChaosSettings:
        """The settings a round takes from invoke.yaml (lab.chaos, lab.verify, lab.timeouts) and the lesson's record
        (every topic it ever gave the seed writer: values unchecked rather than miscalled; ``run_rounds`` narrows it
        to this cluster's, lab.verify.lab_seed_topics); ``cpu_weight`` (the flag) beats lab.chaos.cpu_weight."""
        from lab.verify import seed_topics  # lab.verify is no part of lab.chaos: imported when asked

        chaos = cfg.chaos
        return cls(topic=cfg.topic, consistency=cfg.verify.consistency, sample_every=chaos.sample_every,
                   settle=chaos.settle, timeout=float(cfg.timeouts.pod), metrics_port=chaos.metrics_port,
                   metric=chaos.metric, force=force, resume_timeout=chaos.resume_timeout,
                   cpu_weight=chaos.cpu_weight if cpu_weight is None else cpu_weight,
                   seed_topics=tuple(sorted(seed_topics(cfg.path(cfg.artifacts)))))


@dataclass
class Env:
    """What every fault and wait needs: the CLIs, the settings, the clock (fake in tests)."""

    runner: Runner
    kube: Kubectl
    settings: ChaosSettings
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    request_timeout: int = _VERIFY.request_timeout
    kind: Kind | None = None
    #: The writers the round watches (every topic's Deployment, ``find_writers``); empty: the configured one.
    writers: list[Writer] = field(default_factory=list)
    _seen: dict[str, str] = field(default_factory=dict)

    def all_writers(self) -> list[Writer]:
        return self.writers or [Writer(self.settings.topic)]

    def find_writers(self) -> list[Writer]:
        """Read which writers are deployed (lab/writers.py) and keep them for the round."""
        self.writers = writers.deployed(self.runner, self.kube)
        return self.all_writers()

    def cassandra(self, pod: str) -> Cassandra:
        return Cassandra(self.runner, self.kube, pod=pod, request_timeout=self.request_timeout)

    def note(self, result: RoundResult, key: str, state: str) -> None:
        """Record ``key: state`` on the round when it differs from the last state seen for ``key``."""
        if self._seen.get(key) != state:
            self._seen[key] = state
            now = self.clock()
            result.observe(now, f"{key}: {state}")
            # Live too: a long round (a node down for minutes) shows where it is as it happens.
            progress.info(f"   +{now - result.deleted_at:4.0f}s  {key}: {state}")


# -- pure ----------------------------------------------------------------------------------------------

def replaced_and_ready(items: list[dict[str, Any]], old_uids: set[str], *, name: str | None = None) -> dict | None:
    """The Ready pod that replaced the deleted one (a new uid; same name for a StatefulSet pod), or None."""
    for pod in items:
        if name and pod.get("metadata", {}).get("name") != name:
            continue
        if kubectl.pod_uid(pod) not in old_uids and kubectl.pod_ready(pod):
            return pod
    return None


def node_ready(node: dict[str, Any] | None) -> str:
    """A node's Ready condition: "True", "False", "Unknown" (the kubelet stopped reporting) or "missing"."""
    if not node:
        return "missing"
    for cond in node.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status", "Unknown"))
    return "Unknown"


def node_state(name: str, node: dict[str, Any] | None) -> str:
    ready = node_ready(node)
    if ready == "True":
        return "Ready"
    if ready == "missing":
        return "not registered"
    for cond in (node or {}).get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Ready" and cond.get("message"):
            return f"NotReady ({cond['message'].rstrip('.')})"
    return "NotReady"


def pod_state(pod: dict[str, Any] | None, *, down_node: str | None = None) -> str:
    """One plain phrase for where a pod is on its way back ("Ready", "Terminating", "Pending, waiting for
    node kind-worker2 ...") ; ``down_node`` is the node a round stopped, if any."""
    if pod is None:
        return "gone (not yet recreated)"
    meta, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {})
    node = spec.get("nodeName") or ""
    on_down_node = bool(down_node) and node == down_node
    if meta.get("deletionTimestamp"):
        if on_down_node:
            return f"Terminating, waiting for node {node} to confirm (its kubelet is down)"
        return "Terminating"
    if kubectl.pod_ready(pod):
        return f"Ready on {node}" if node else "Ready"
    phase = status.get("phase", "")
    if not node:
        reason = kubectl.pod_waiting_reason(pod)
        if down_node and phase == "Pending":
            # A StatefulSet pod's PVC is bound to a local-path volume on one node: the scheduler can only
            # put it back there, so it waits until that node is Ready again.
            return f"Pending, waiting for node {down_node} (its volume is node-local)" + (
                f": {reason}" if reason and reason != "Pending" else "")
        return reason or "Pending"
    if on_down_node:
        return f"not Ready: its node {node} is down (the pod cannot move; its volume is node-local)"
    reason = kubectl.pod_waiting_reason(pod)
    restarts = kubectl.pod_restarts(pod)
    text = f"{reason or phase or 'starting'}, not Ready, on {node}"
    return text + (f", restarts {restarts}" if restarts else "")


def restart_counts(items: list[dict[str, Any]]) -> dict[str, int]:
    """uid -> container restarts, for the writer's pods."""
    return {kubectl.pod_uid(p): kubectl.pod_restarts(p) for p in items}


def restarts_since(before: dict[str, int], after: dict[str, int]) -> int:
    """Restarts that happened between two snapshots: growth of surviving pods plus all restarts of new
    pods (a deleted pod takes its count with it; a replacement pod starts from 0)."""
    return sum(max(0, count - before.get(uid, 0)) for uid, count in after.items())


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p.get("metadata", {}).get("name", ""): p for p in items}


# -- reads and waits -------------------------------------------------------------------------------------

def writer_pods(env: Env, writer: Writer | None = None) -> list[dict[str, Any]]:
    """The pods of ``writer``, or of every writer the round watches."""
    chosen = [writer] if writer else env.all_writers()
    return [p for w in chosen for p in kubectl.pods(env.runner, env.kube, w.selector)]


def writer_restarts(env: Env) -> dict[str, int]:
    return restart_counts(writer_pods(env))


def writer_restart_causes(env: Env, before: dict[str, int], *, lines: int = 3) -> list[str]:
    """Why a writer restarted since ``before``: per restarted pod, how its container ended and the last
    lines its previous run logged (a permanent error's one line, or the unhealthy /healthz the kubelet
    acted on). A restart the round cannot explain would leave "writer restarts 1" a riddle."""
    causes = []
    for pod in writer_pods(env):
        if kubectl.pod_restarts(pod) <= before.get(kubectl.pod_uid(pod), 0):
            continue
        name = pod.get("metadata", {}).get("name", "")
        argv = env.kube.logs_args(pod=name, container=names.WRITER_CONTAINER, previous=True, tail=lines)
        logged = env.runner.probe(argv, timeout=30)
        tail = " | ".join(line.strip() for line in logged.stdout.splitlines() if line.strip()) or "no log"
        causes.append(f"{name}: {kubectl.pod_last_exit(pod) or 'restarted'}; its last lines: {tail}")
    return causes


def require_ready(env: Env, pod_names: tuple[str, ...] | list[str]) -> dict[str, dict[str, Any]]:
    """The named Cassandra pods, each Ready, or one line saying which is not (before any fault)."""

    pods = by_name(kubectl.pods(env.runner, env.kube, names.CASSANDRA_SELECTOR))
    for name in pod_names:
        if name not in pods:
            raise PreconditionError(f"{name} not found; run `invoke deploy` (StatefulSet cassandra has "
                                    f"{', '.join(sorted(pods)) or 'no pods'})")
        if not kubectl.pod_ready(pods[name]):
            raise PreconditionError(f"{name} is not Ready; run `invoke status` and wait before a chaos round")
    return pods


def ready_writers(env: Env, writer: Writer | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The pods of ``writer`` (default: every writer the round watches), and those of them Ready."""
    items = writer_pods(env, writer)
    return items, [p for p in items if kubectl.pod_ready(p)]


def await_cassandra(env: Env, result: RoundResult, pod_names: tuple[str, ...] | list[str], old_uids: set[str], *,
                    observer: str, down_node: str | None = None, poll: Callable[[], None] | None = None) -> bool:
    """Wait until every pod in ``pod_names`` is Ready under a uid not in ``old_uids`` (pass an empty set when
    the same pod object comes back, as after a node restart), then until nodetool in ``observer`` lists
    every node UN.

    Records ready_at / up_normal_at / recovery_s on ``result``, or a plain error naming where it stuck.
    ``poll`` runs each round of the wait (a fault's own observation, e.g. the node's state).
    The timeout (lab.timeouts.pod) is per pod: the StatefulSet starts them together (Parallel), but a ring
    that must form again can bring them back one after another.
    """
    timeout = env.settings.timeout * max(1, len(pod_names))
    states: dict[str, str] = {}

    def ready() -> bool:
        if poll is not None:
            poll()
        pods = by_name(kubectl.pods(env.runner, env.kube, names.CASSANDRA_SELECTOR))
        back = 0
        for name in pod_names:
            pod = pods.get(name)
            states[name] = pod_state(pod, down_node=down_node)
            env.note(result, name, states[name])
            if pod is not None and kubectl.pod_uid(pod) not in old_uids and kubectl.pod_ready(pod):
                back += 1
        if len(pod_names) == CASSANDRA_REPLICAS and back > CASSANDRA_REPLICAS // 2 and result.quorum_ready_at is None:
            result.quorum_ready_at = env.clock()
            env.note(result, "ring", f"a QUORUM of nodes Ready ({back} of {CASSANDRA_REPLICAS}: CQL open)")
        return back == len(pod_names)

    if not kubectl.wait_until(ready, timeout=timeout, every=1.0, clock=env.clock, sleep=env.sleep):
        stuck = [n for n in pod_names if not states.get(n, "").startswith("Ready")] or list(pod_names)
        per_pod = f" ({env.settings.timeout:.0f}s a pod)" if len(pod_names) > 1 else ""
        result.error = (f"{', '.join(stuck)} not Ready within {timeout:.0f}s{per_pod}: "
                        + "; ".join(f"{n} {states.get(n, 'unknown')}" if len(stuck) > 1 else states.get(n, "unknown")
                                    for n in stuck))
        return False
    result.ready_at = env.clock()
    _set_recovery(result, result.ready_at)
    return await_up_normal(env, result, observer=observer)


def await_up_normal(env: Env, result: RoundResult, *, observer: str) -> bool:
    """Wait until nodetool in ``observer`` lists every replica UN; records up_normal_at or the error."""
    cass = env.cassandra(observer)
    last: list[str] = []

    def up_normal() -> bool:
        try:
            nodes = cass.nodetool_status()
        except LabError:
            return False
        last[:] = [f"{n.address} {n.state}" for n in nodes]
        return all_up_normal(nodes, CASSANDRA_REPLICAS)

    timeout = env.settings.timeout
    if not kubectl.wait_until(up_normal, timeout=timeout, every=2.0, clock=env.clock, sleep=env.sleep):
        result.error = f"not every node UN within {timeout:.0f}s" + (f" ({', '.join(last)})" if last else "")
        return False
    result.up_normal_at = env.clock()
    _set_recovery(result, result.up_normal_at)
    env.note(result, "ring", f"{CASSANDRA_REPLICAS} nodes UN")
    return True


def await_writer(env: Env, result: RoundResult, old_uids: set[str], *, only: Writer | None = None) -> bool:
    """Wait until ``only`` (default: every writer the round watches) has a Ready pod that is not one of
    ``old_uids`` (any Ready one when empty)."""
    timeout = env.settings.timeout
    targets = [only] if only else env.all_writers()
    state = [""]

    def replaced() -> bool:
        pods = {w.name: kubectl.pods(env.runner, env.kube, w.selector) for w in targets}
        state[0] = "; ".join(f"{p['metadata']['name']}: {pod_state(p)}" for items in pods.values() for p in items) \
            or "no pod"
        return all(replaced_and_ready(items, old_uids) is not None for items in pods.values())

    if not kubectl.wait_until(replaced, timeout=timeout, every=1.0, clock=env.clock, sleep=env.sleep):
        result.error = f"writer not Ready within {timeout:.0f}s ({state[0]})"
        return False
    result.ready_at = env.clock()
    _set_recovery(result, result.ready_at)
    return True


def _set_recovery(result: RoundResult, at: float) -> None:
    start = result.restored_at if result.restored_at is not None else result.deleted_at
    result.recovery_s = round(at - start, 2)

