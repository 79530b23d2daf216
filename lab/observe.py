"""Looking at a running lab: logs, status, and cqlsh/nodetool pass-through into a Cassandra pod."""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from lab import admission, auth, kubectl, names, output, policies, progress, tls
from lab.cassandra import cqlsh_args, nodetool_args
from lab.context import Lab, require_cluster
from lab.errors import CommandError, LabError, PreconditionError

LOG_TARGETS = {
    "writer": (names.WRITERS_SELECTOR, names.WRITER_CONTAINER),  # every topic's writer
    "cassandra": (names.CASSANDRA_SELECTOR, names.CASSANDRA_CONTAINER),
}


def logs_argv(lab: Lab, *, target: str = "writer", follow: bool = False, tail: int | None = None) -> list[str]:
    if target not in LOG_TARGETS:
        raise PreconditionError(f"--target {target!r}: use writer or cassandra")
    selector, container = LOG_TARGETS[target]
    return lab.kube.logs_args(selector=selector, container=container, follow=follow, tail=tail)


def logs(lab: Lab, *, target: str = "writer", follow: bool = False, tail: int | None = None) -> None:
    """``kubectl logs -l ... --prefix``: each line starts with [pod/<name>/<container>]. ``follow`` keeps
    following as pods are replaced or restarted (see ``LogFollower``)."""
    argv = logs_argv(lab, target=target, follow=follow, tail=tail)
    require_cluster(lab)
    if follow and not lab.runner.dry:
        LogFollower(lab, target, tail=tail).run()
        return
    try:
        lab.runner.run(argv, timeout=None if follow else 120)
    except CommandError as err:
        raise LabError(f"failed to read {target} logs: {err}") from err


class LogFollower:
    """``kubectl logs --follow`` for every pod of a target, including pods that appear later.

    One ``kubectl logs -l ... --follow`` follows the pods that exist when it starts and ends with them, so a
    replaced writer pod (a chaos round, a rollout) would silently drop out of the stream. Instead the pods
    are listed every ``every`` seconds and each container run (a pod uid and its restart count) gets its own
    ``kubectl logs <pod> --follow --prefix``: the pods there at the start from ``tail`` lines back, a new pod
    or a restarted container from its first line. Lines are printed whole, one at a time. Runs until
    interrupted (Ctrl-C), or until ``stop()`` returns True (tests).
    """

    def __init__(self, lab: Lab, target: str, *, tail: int | None = None, every: float = 2.0,
                 sleep=time.sleep, stop=lambda: False, out=None):
        self.lab, self.tail, self.every, self.sleep, self.stop = lab, tail, every, sleep, stop
        self.selector, self.container = LOG_TARGETS[target]
        self.out = out
        self.procs: dict[tuple[str, int], Any] = {}  # (pod uid, restarts) -> kubectl logs process
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def run(self) -> None:
        first = True
        try:
            while not self.stop():
                try:
                    pods = kubectl.pods(self.lab.runner, self.lab.kube, self.selector)
                except LabError as err:
                    progress.info(f"warning: cannot list pods ({err}); trying again")
                    pods = []
                for pod in pods:
                    self._follow(pod, tail=self.tail if first else -1)
                first = False
                self.sleep(self.every)
        except KeyboardInterrupt:
            pass
        finally:
            for proc in self.procs.values():
                if proc.poll() is None:
                    proc.terminate()
            for thread in self._threads:
                thread.join(5)

    def _follow(self, pod: dict[str, Any], *, tail: int | None) -> None:
        key = (kubectl.pod_uid(pod), kubectl.pod_restarts(pod))
        if key in self.procs or not kubectl.container_started(pod, self.container):
            return  # already followed, or its container has not started yet (kubectl logs would fail)
        argv = self.lab.kube.logs_args(pod=pod["metadata"]["name"], container=self.container, follow=True,
                                       tail=tail, prefix=True)
        proc = self.lab.runner.spawn(argv)
        self.procs[key] = proc
        thread = threading.Thread(target=self._copy, args=(proc,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _copy(self, proc) -> None:
        for line in proc.stdout:
            with self._lock:
                print(line, end="" if line.endswith("\n") else "\n", file=self.out or sys.stdout, flush=True)


def collect_logs(lab: Lab, *, now: float | None = None) -> tuple[Path, list[str]]:
    """One file per pod and container (and its previous run, if it restarted) under
    <artifacts>/logs/<timestamp>/, like kind's CollectLogs; failures are collected, not fatal."""
    require_cluster(lab)
    folder = lab.cfg.path(lab.cfg.artifacts) / "logs" / output.timestamp(now)
    errors: list[str] = []
    for selector, container in LOG_TARGETS.values():
        try:
            items = kubectl.pods(lab.runner, lab.kube, selector)
        except LabError as err:
            errors.append(f"{selector}: {err}")
            continue
        for pod in items:
            name = pod["metadata"]["name"]
            runs = [False, True] if kubectl.pod_restarts(pod) else [False]
            for previous in runs:
                argv = lab.kube.logs_args(pod=name, container=container, previous=previous)
                outcome = lab.runner.probe(argv, timeout=120)
                if not outcome.ok:
                    errors.append(f"{name}: {outcome.stderr.strip() or 'kubectl logs failed'}")
                    continue
                suffix = ".previous.log" if previous else ".log"
                path = folder / f"{name}_{container}{suffix}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(outcome.stdout)
    return folder, errors


CQLSH_USERS = {"admin": None, "writer": auth.WRITER_CREDENTIALS}


def cqlsh(lab: Lab, *, pod: str = names.CASSANDRA_PODS[0], execute: str = "", user: str = "admin") -> None:
    """cqlsh in ``pod``: interactive with a TTY, or one script with -e; as the lab's superuser or the writer."""
    if user not in CQLSH_USERS:
        raise PreconditionError(f"--user {user!r}: use one of {', '.join(CQLSH_USERS)}")
    require_cluster(lab)
    interactive = not execute
    argv = lab.kube.exec_args(pod, cqlsh_args(execute or None, credentials=CQLSH_USERS[user]),
                              container=names.CASSANDRA_CONTAINER, interactive=interactive)
    try:
        lab.runner.run(argv, timeout=None, pty=interactive)
    except CommandError as err:
        raise LabError(f"cqlsh in {pod} failed: {err}") from err


def nodetool(lab: Lab, *, pod: str = names.CASSANDRA_PODS[0], args: list[str] | None = None) -> None:
    require_cluster(lab)
    argv = lab.kube.exec_args(pod, nodetool_args(*(args or ["status"])), container=names.CASSANDRA_CONTAINER)
    try:
        lab.runner.run(argv, timeout=300)
    except CommandError as err:
        raise LabError(f"nodetool in {pod} failed: {err}") from err


# -- status ---------------------------------------------------------------------------------------------

def _created(item: dict[str, Any]) -> float | None:
    stamp = item.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def node_rows(nodes: dict[str, Any]) -> list[list[str]]:
    """name, Ready, roles, kubelet version, from ``kubectl get nodes -o json``."""
    rows = []
    for node in nodes.get("items", []):
        meta, st = node.get("metadata", {}), node.get("status", {})
        ready = next((c.get("status") for c in st.get("conditions", []) if c.get("type") == "Ready"), "Unknown")
        roles = sorted(k.split("/", 1)[1] for k in meta.get("labels", {}) if k.startswith("node-role.kubernetes.io/"))
        rows.append([meta.get("name", ""), "Ready" if ready == "True" else "NotReady", ",".join(roles) or "<none>",
                     st.get("nodeInfo", {}).get("kubeletVersion", "")])
    return rows


def pod_rows(pods: dict[str, Any], *, now: float | None = None) -> list[list[str]]:
    """name, ready n/m, status, restarts, node, age: what `kubectl get pods -o wide` shows, as data."""
    now = time.time() if now is None else now
    rows = []
    for pod in pods.get("items", []):
        statuses = pod.get("status", {}).get("containerStatuses", []) or []
        ready = sum(1 for cs in statuses if cs.get("ready"))
        reason = kubectl.pod_waiting_reason(pod)
        state = (
            "Terminating"
            if pod.get("metadata", {}).get("deletionTimestamp")
            else (
                "Running"
                if kubectl.pod_ready(pod)
                else (reason.split(":")[0] if reason else pod.get("status", {}).get("phase", ""))
            )
        )
        created = _created(pod)
        rows.append(
            [
                pod["metadata"]["name"],
                f"{ready}/{len(statuses) or len(pod.get('spec', {}).get('containers', []))}",
                state,
                str(kubectl.pod_restarts(pod)),
                pod.get("spec", {}).get("nodeName", "<none>"),
                output.age(now - created) if created else "",
            ]
        )
    return rows


def show_status(lab: Lab) -> bool:
    """Nodes, pods with placement, nodetool status, per-topic progress. False when some part failed."""
    require_cluster(lab)
    ok = True
    try:
        output.table(["node", "status", "roles", "version"],
                        node_rows(kubectl.get_json(lab.runner, lab.kube, "nodes", namespaced=False) or {}),
                        title="Nodes")
        selector = names.LAB_SELECTOR  # Cassandra's pods and every writer's
        print()
        output.table(["pod", "ready", "status", "restarts", "node", "age"],
                        pod_rows(kubectl.get_json(lab.runner, lab.kube, "pods", selector=selector) or {}),
                        title=f"Pods ({lab.cfg.namespace})")
    except LabError as err:
        progress.info(f"cannot list nodes and pods: {err}")
        return False
    try:  # a writer of your own that the namespace refuses or the NetworkPolicies block shows no pod, or a loop
        for line in admission.findings(lab):
            print(f"\n{line}")
    except LabError as err:
        ok = False
        progress.info(f"cannot check the writers' admission: {err}")
    # As deployed, not as configured: lab.cassandra.auth takes effect only with the next deploy.
    statefulset = kubectl.get_json(lab.runner, lab.kube, "statefulset", names.CASSANDRA_STATEFULSET)
    print("\n" + auth.describe(auth.deployed_authenticator(statefulset)))
    print(tls.describe(tls.on_in(statefulset)))
    try:  # what deploy's probe found (recorded on the namespace): status starts no pod of its own
        print(policies.line(policies.recorded(
            kubectl.get_json(lab.runner, lab.kube, "namespace", lab.cfg.namespace, namespaced=False))))
    except LabError as err:
        ok = False
        progress.info(f"cannot read the NetworkPolicy probe's result: {err}")
    cass = lab.cassandra()
    print("\nnodetool status (cassandra-0)")
    try:
        print(lab.runner.output(cass.exec_args(nodetool_args("status")), timeout=90).rstrip())
    except LabError as err:
        ok = False
        progress.info(f"nodetool status failed: {err}")
    try:
        last = cass.last_seqs(consistency="ONE")
    except LabError as err:
        progress.info(f"cannot read writer progress: {err}")
        return False
    rows = []
    for topic, seq in sorted(last.items()):
        try:
            count = str(cass.row_count(topic))
        except LabError as err:  # a slow count(*) must not hide last_seq
            ok, count = False, "?"
            progress.info(f"cannot count rows: {err}")
        rows.append([topic, str(seq), count])
    print()
    output.table(["topic", "last_seq", "rows"], rows or [["(none yet)", "", ""]], title="Writer progress")
    return ok
