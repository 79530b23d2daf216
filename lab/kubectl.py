"""kubectl CLI: argv builders (pure) and thin wrappers that run them through a Runner.

Only this module adds ``--context`` and ``-n``: every command names the kube context explicitly, so the
lab never acts on whatever ``kubectl config current-context`` happens to be.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lab.config import LabSettings
from lab.errors import CommandError, LabError, PreconditionError
from lab.runner import Runner


@dataclass(frozen=True)
class Kubectl:
    """The kubectl binary, the context and the namespace that every argv carries."""

    binary: str = "kubectl"
    context: str = "kind-kind"
    namespace: str = LabSettings.namespace

    def base(self, *, namespaced: bool = True) -> list[str]:
        argv = [self.binary, "--context", self.context]
        return argv + (["--namespace", self.namespace] if namespaced else [])

    # -- reads -------------------------------------------------------------------------------------
    def version_args(self, *, client: bool = False) -> list[str]:
        """Client and server versions; the server half needs the cluster (``client=True`` does not)."""
        if client:
            return [self.binary, "version", "--client"]
        return self.base(namespaced=False) + ["version"]

    def cluster_info_args(self) -> list[str]:
        """``kubectl cluster-info --context kind-kind``, in the order kind prints it after creating a cluster."""
        return [self.binary, "cluster-info", "--context", self.context]

    def contexts_args(self) -> list[str]:
        return [self.binary, "config", "get-contexts", "--output", "name"]

    def get_json_args(self, kind: str, name: str | None = None, *, selector: str | None = None,
                      namespaced: bool = True, field_selector: str | None = None) -> list[str]:
        argv = self.base(namespaced=namespaced) + ["get", kind]
        if name:
            argv.append(name)
        if selector:
            argv += ["--selector", selector]
        if field_selector:
            argv += ["--field-selector", field_selector]
        return argv + ["--output", "json"]

    def get_wide_args(self, kind: str, *, selector: str | None = None, namespaced: bool = True) -> list[str]:
        argv = self.base(namespaced=namespaced) + ["get", kind]
        if selector:
            argv += ["--selector", selector]
        return argv + ["--output", "wide"]

    def events_args(self, name: str) -> list[str]:
        return self.base() + ["get", "events", "--field-selector", f"involvedObject.name={name}",
                              "--sort-by", ".lastTimestamp"]

    def logs_args(self, *, selector: str | None = None, pod: str | None = None, container: str | None = None,
                  follow: bool = False, tail: int | None = None, previous: bool = False,
                  prefix: bool = False, timestamps: bool = False) -> list[str]:
        """``timestamps``: each line starts with the kubelet's RFC 3339 time of it (nanoseconds)."""
        argv = self.base() + ["logs"]
        if pod:
            argv.append(pod)
        if selector:
            # --prefix names the pod on each line; a selector otherwise caps at 5 pods and 10 lines each.
            argv += ["--selector", selector, "--prefix", "--max-log-requests", "10"]
        elif prefix:
            argv.append("--prefix")
        if container:
            argv += ["--container", container]
        if follow:
            argv.append("--follow")
        if previous:
            argv.append("--previous")
        if timestamps:
            argv.append("--timestamps")
        argv += ["--tail", str(tail if tail is not None else -1)]
        return argv

    def exec_args(self, pod: str, command: list[str], *, container: str | None = None,
                  interactive: bool = False, stdin: bool = False) -> list[str]:
        """``interactive``: a terminal (stdin and a TTY); ``stdin``: input piped in, no TTY."""
        argv = self.base() + ["exec"]
        if interactive:
            argv += ["--stdin", "--tty"]
        elif stdin:
            argv.append("--stdin")
        argv.append(pod)
        if container:
            argv += ["--container", container]
        return argv + ["--"] + command

    # -- writes ------------------------------------------------------------------------------------
    def apply_args(self, path: str, *, namespaced: bool = True) -> list[str]:
        """``namespaced=False`` for a file whose objects name their own namespace (kube-public's ConfigMap):
        kubectl refuses an object whose namespace differs from ``--namespace``."""
        return self.base(namespaced=namespaced) + ["apply", "--filename", path]

    def delete_file_args(self, path: str, *, timeout: int) -> list[str]:
        return self.base() + ["delete", "--filename", path, "--ignore-not-found", "--wait", f"--timeout={timeout}s"]

    def delete_args(self, kind: str, name: str | None = None, *, selector: str | None = None,
                    timeout: int, orphan: bool = False) -> list[str]:
        """Delete one object (``name``) or those ``selector`` matches, and wait until they are gone; objects
        already gone are fine. ``orphan``: the objects it owns (a StatefulSet's pods) stay."""
        argv = self.base() + ["delete", kind] + ([name] if name else [])
        argv += ["--selector", selector] if selector else []
        argv += ["--cascade=orphan"] if orphan else []
        return argv + ["--ignore-not-found", "--wait", f"--timeout={timeout}s"]

    def scale_args(self, resource: str, replicas: int) -> list[str]:
        return self.base() + ["scale", resource, f"--replicas={replicas}"]

    def wait_deleted_args(self, resource: str, *, timeout: int) -> list[str]:
        """Block until ``resource`` no longer exists (at once when it never did)."""
        return self.base() + ["wait", "--for=delete", resource, f"--timeout={timeout}s"]

    def delete_pod_args(self, pod: str, *, force: bool = False) -> list[str]:
        return self.delete_pods_args([pod], force=force)

    def delete_pods_args(self, pods: list[str], *, force: bool = False) -> list[str]:
        """One ``kubectl delete pod`` for several pods: they go at the same moment (chaos: all replicas)."""
        # --wait=false: chaos times recovery from the moment of deletion, not from when the old pod is gone.
        argv = self.base() + ["delete", "pod", *pods, "--wait=false"]
        if force:
            # The API object goes at once and the kubelet allows its minimum grace (2 s) before SIGKILL: a
            # shutdown in a hurry, not a crash (Cassandra's own SIGTERM hook usually finishes in time).
            argv += ["--grace-period=0", "--force"]
        return argv

    def rollout_status_args(self, resource: str, *, timeout: int) -> list[str]:
        return self.base() + ["rollout", "status", resource, "--watch", f"--timeout={timeout}s"]

    def proxy_args(self, unix_socket: str) -> list[str]:
        """The API server on a Unix socket (kubectl proxy's default filters: no exec, no attach)."""
        return self.base(namespaced=False) + ["proxy", "--unix-socket", unix_socket]

    def port_forward_args(self, resource: str, local: int, remote: int) -> list[str]:
        return self.base() + ["port-forward", resource, f"{local}:{remote}", "--address", "127.0.0.1"]


# -- wrappers ----------------------------------------------------------------------------------------

def context_exists(runner: Runner, kube: Kubectl) -> bool:
    outcome = runner.probe(kube.contexts_args(), timeout=20)
    return outcome.ok and kube.context in outcome.stdout.split()


def require_context(runner: Runner, kube: Kubectl) -> None:
    """One line when the kubeconfig has no such context (the cluster was never created, or was deleted)."""
    if not context_exists(runner, kube):
        raise PreconditionError(f"kube context {kube.context} not found; create the cluster with `invoke reset`")


def get_json(runner: Runner, kube: Kubectl, kind: str, name: str | None = None, *,
             selector: str | None = None, namespaced: bool = True,
             field_selector: str | None = None) -> dict[str, Any] | None:
    """``kubectl get -o json``; None when the object does not exist."""
    argv = kube.get_json_args(kind, name, selector=selector, namespaced=namespaced, field_selector=field_selector)
    outcome = runner.probe(argv, timeout=60)
    if not outcome.ok:
        if "NotFound" in outcome.stderr or "not found" in outcome.stderr:
            return None
        raise CommandError(argv, outcome.exited, outcome.stdout, outcome.stderr)
    return json.loads(outcome.stdout or "{}")


def pods(runner: Runner, kube: Kubectl, selector: str) -> list[dict[str, Any]]:
    return (get_json(runner, kube, "pods", selector=selector) or {}).get("items", [])


def apply(runner: Runner, kube: Kubectl, path: str, *, namespaced: bool = True) -> None:
    try:
        runner.run(kube.apply_args(path, namespaced=namespaced), timeout=120)
    except CommandError as err:
        raise LabError(f"failed to apply {path}: {err}") from err


#: kubectl apply's refusal of a change to a StatefulSet field fixed at creation (podManagementPolicy,
#: volumeClaimTemplates, serviceName, selector).
IMMUTABLE_STATEFULSET = "updates to statefulset spec for fields other than"


def apply_statefulset(runner: Runner, kube: Kubectl, path: str, name: str) -> bool:
    """Apply ``path``; when Kubernetes refuses it because a field the StatefulSet ``name`` cannot change
    differs, delete that StatefulSet alone (``--cascade=orphan``: its pods and PVCs keep running) and apply
    again: the new StatefulSet adopts the running pods by their labels. True when it was replaced."""
    try:
        runner.run(kube.apply_args(path), timeout=120)
        return False
    except CommandError as err:
        if IMMUTABLE_STATEFULSET not in err.stderr + err.stdout:
            raise LabError(f"failed to apply {path}: {err}") from err
    try:
        runner.run(kube.delete_args("statefulset", name, timeout=60, orphan=True), timeout=90)
        runner.run(kube.apply_args(path), timeout=120)
    except CommandError as err:
        raise LabError(f"failed to replace statefulset {name} (a field it cannot change differs) with "
                       f"{path}: {err}") from err
    return True


def rollout_status(runner: Runner, kube: Kubectl, resource: str, *, timeout: int) -> None:
    # ctx.run's own timeout sits a little above kubectl's, so kubectl reports first and says why.
    runner.run(kube.rollout_status_args(resource, timeout=timeout), timeout=timeout + 30)


# -- pod facts (pure, on `kubectl get -o json` data) ---------------------------------------------------

def pod_ready(pod: dict[str, Any]) -> bool:
    """Ready condition True and not being deleted."""
    if pod.get("metadata", {}).get("deletionTimestamp"):
        return False
    for cond in pod.get("status", {}).get("conditions", []) or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def pod_restarts(pod: dict[str, Any]) -> int:
    return sum(int(cs.get("restartCount", 0)) for cs in pod.get("status", {}).get("containerStatuses", []) or [])


def pod_last_exit(pod: dict[str, Any]) -> str:
    """How a container of the pod last ended ("exit 2 (Error)", "exit 137 (OOMKilled)"), or '' if none did."""
    for cs in pod.get("status", {}).get("containerStatuses", []) or []:
        ended = (cs.get("lastState") or {}).get("terminated")
        if ended:
            return f"exit {ended.get('exitCode', '?')} ({ended.get('reason') or 'Terminated'})"
    return ""


def container_started(pod: dict[str, Any], container: str) -> bool:
    """The container runs or has run to its end: ``kubectl logs`` has something to show (not while waiting)."""
    for cs in pod.get("status", {}).get("containerStatuses", []) or []:
        if cs.get("name") == container:
            state = cs.get("state", {}) or {}
            return "running" in state or "terminated" in state
    return False


def pod_uid(pod: dict[str, Any]) -> str:
    return pod.get("metadata", {}).get("uid", "")


def pod_waiting_reason(pod: dict[str, Any]) -> str:
    """Why a pod is not running (CrashLoopBackOff, ErrImageNeverPull, Pending: Unschedulable ...), or ''."""
    status = pod.get("status", {})
    for cs in status.get("containerStatuses", []) or []:
        state = cs.get("state", {})
        if "waiting" in state:
            return state["waiting"].get("reason", "Waiting")
        if "terminated" in state:
            return state["terminated"].get("reason", "Terminated")
    for cond in status.get("conditions", []) or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return f"Pending: {cond.get('reason', '')} {cond.get('message', '')}".strip()
    return status.get("phase", "")


def wait_until(predicate: Callable[[], bool], *, timeout: float, every: float = 2.0,
               clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; True when it held."""
    clock = clock or time.monotonic
    sleep = sleep or time.sleep
    deadline = clock() + timeout
    while True:
        if predicate():
            return True
        if clock() >= deadline:
            return False
        sleep(every)


def diagnose(runner: Runner, kube: Kubectl, selector: str, *, container: str | None = None,
             tail: int = 20) -> list[str]:
    """Why pods under ``selector`` are not Ready: their state, events and the tail of their logs."""
    lines: list[str] = []
    try:
        items = pods(runner, kube, selector)
    except LabError as err:
        return [f"could not list pods ({err})"]
    if not items:
        lines.append(f"no pods match {selector}")
    for pod in items:
        if pod_ready(pod):
            continue
        name = pod["metadata"]["name"]
        lines.append(f"--- {name}: {pod_waiting_reason(pod) or 'not Ready'}, restarts {pod_restarts(pod)}")
        events = runner.probe(kube.events_args(name), timeout=30)
        lines += [f"    {line}" for line in events.stdout.splitlines()[-8:]]
        logs = runner.probe(kube.logs_args(pod=name, container=container, tail=tail), timeout=30)
        lines += [f"    | {line}" for line in logs.stdout.splitlines()[-tail:]]
    return lines
