"""Whether the cluster's pod network enforces the lab's NetworkPolicies: a probe, not a guess from names.

A pod network that ignores NetworkPolicy (kindnet before kind v0.24, the default of the official
``kindest/node`` v1.30 image) accepts the policies of cassandra.yml and writer.yml without a word, and any pod
then reaches CQL. So ``invoke deploy``, once Cassandra serves, starts a short-lived pod of the namespace without
the writers' labels (restricted securityContext, Cassandra's own image: it is on every node) that tries to open
a TCP connection to ``cassandra-0``'s CQL port. Cassandra's policy admits only the writers and Cassandra's pods,
so where policies are enforced every try is refused or times out; a connection means they are not.

Deploy records the verdict and its time on the namespace (annotations), so ``invoke status`` reports it without
starting a pod. ``lab.security.require_enforced_policies`` turns a verdict other than "enforced" into a refusal.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lab import kubectl, manifests, names, registry, registry_auth
from lab.context import Lab
from lab.errors import CommandError, LabError

#: The probe pod's name; deleted before and after each probe.
PROBE_POD = "lab-policy-probe"
#: Namespace annotations where deploy records the verdict and when it was probed (UTC, ISO 8601).
RESULT_ANNOTATION = "ece573-prj04/network-policies"
PROBED_AT_ANNOTATION = "ece573-prj04/network-policies-probed-at"

#: The verdicts, as recorded on the namespace (one word each: an annotation value, unquoted).
ENFORCED, NOT_ENFORCED, UNKNOWN = "enforced", "not-enforced", "unknown"
#: The probe pod's last line for each verdict it can reach by itself.
_WORDS = {"refused": ENFORCED, "connected": NOT_ENFORCED}

#: Tries, seconds each may wait for the connection, and seconds between them: a refusing policy answers at once
#: (kube-router rejects), a dropping one times out; three tries so that one lost packet proves nothing.
TRIES, CONNECT_TIMEOUT = 3, 3
#: Seconds the probe pod may take from creation to its end (scheduling, an image already on the node).
PROBE_DEADLINE = 60

#: How to get enforcement, for the warning and the refusal.
HOW_TO_ENFORCE = ("the lab's own kind node image enforces them (lab.images.kind_node_source: build, then "
                  "`invoke reset`), as do kindest/node images of kind v0.24 or later (kindnetd with "
                  "kube-network-policies) and pod networks such as Calico or Cilium")

# Runs in the probe pod: one word on its last line, "connected" at the first connection, else "refused".
_SCRIPT = f"""
for try in $(seq {TRIES}); do
  if timeout {CONNECT_TIMEOUT} bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$TARGET" "$PORT" 2>/dev/null; then
    echo connected; exit 0
  fi
  sleep 1
done
echo refused
"""


def probe_pod(image: str, target: str, port: int = names.CQL_PORT) -> dict[str, Any]:
    """The probe pod: none of the writers' or Cassandra's labels, the namespace's restricted standard met, no
    service-account token, gone after PROBE_DEADLINE seconds whatever happens."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": PROBE_POD, "labels": {"app": PROBE_POD}},
        "spec": {
            "restartPolicy": "Never", "activeDeadlineSeconds": PROBE_DEADLINE,
            "automountServiceAccountToken": False, "enableServiceLinks": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 999, "runAsGroup": 999,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "probe", "image": image, "imagePullPolicy": "IfNotPresent",
                "command": ["bash", "-c", _SCRIPT],
                "env": [{"name": "TARGET", "value": target}, {"name": "PORT", "value": str(port)}],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi", "ephemeral-storage": "1Mi"},
                              "limits": {"cpu": "100m", "memory": "64Mi", "ephemeral-storage": "16Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
        },
    }


def verdict(phase: str, log: str) -> str:
    """ENFORCED, NOT_ENFORCED or UNKNOWN from the probe pod's phase and log: only a pod that ran to its end and
    said its word decides; a pod that never ran (no node, no image, the deadline) proves nothing."""
    lines = log.strip().splitlines()
    if phase not in ("Succeeded", "Failed") or not lines:
        return UNKNOWN
    return _WORDS.get(lines[-1].strip(), UNKNOWN)


@dataclass(frozen=True)
class Probed:
    """A verdict and when it was reached (epoch seconds), or no probe at all (``result`` None)."""

    result: str | None
    at: float | None = None


def line(probed: Probed, *, now: float | None = None, port: int = names.CQL_PORT) -> str:
    """One line for deploy and status: enforced, NOT enforced (and how to get enforcement), unknown, or never
    probed; with when, if known."""
    if probed.result is None:
        return "NetworkPolicies: not probed yet (`invoke deploy` probes them once Cassandra serves)"
    when = ""
    if probed.at is not None:
        stamp = datetime.fromtimestamp(probed.at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        ago = max(0.0, (time.time() if now is None else now) - probed.at)
        when = f" (probed by deploy {stamp}, {_ago(ago)} ago)"
    target = f"{names.CASSANDRA_PODS[0]}:{port}"
    if probed.result == ENFORCED:
        return f"NetworkPolicies: enforced{when}: a pod without the writers' labels was refused on {target}"
    if probed.result == NOT_ENFORCED:
        return (f"NetworkPolicies: NOT enforced{when}: a pod without the writers' labels connected to {target}, so "
                f"any pod reaches Cassandra; {HOW_TO_ENFORCE}")
    return (f"NetworkPolicies: unknown{when}: the probe pod did not run to its end; `invoke deploy` probes again")


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def refusal(probed: Probed) -> str:
    """The ERROR line of lab.security.require_enforced_policies when the verdict is not ENFORCED."""
    said = line(probed).removeprefix("NetworkPolicies: ")
    how = "" if probed.result == NOT_ENFORCED else f"; {HOW_TO_ENFORCE}"  # NOT enforced's line says it already
    return (f"lab.security.require_enforced_policies is true and the NetworkPolicies are {said}{how}; "
            "the writer was not deployed")


# -- on the cluster ---------------------------------------------------------------------------------------

def probe(lab: Lab, image: str, *, clock=time.time) -> Probed:
    """Run the probe pod against cassandra-0's pod address (no DNS in the way), wait for its end, read its word,
    delete it (whatever happened), and record the verdict on the namespace."""
    runner, kube = lab.runner, lab.kube
    pod = kubectl.get_json(runner, kube, "pod", names.CASSANDRA_PODS[0]) or {}
    target = pod.get("status", {}).get("podIP", "")
    if not target:
        return record(lab, Probed(UNKNOWN, clock()))
    doc = probe_pod(image, target)
    if registry.login(lab.cfg) is not None and image.startswith(registry.host(lab.cfg) + "/"):
        # Cassandra's image from the lab's registry: the node that runs the probe may have to pull it, logged in.
        doc["spec"]["imagePullSecrets"] = [{"name": registry_auth.PULL_SECRET}]
    path = manifests.write([doc], lab.state_dir / "rendered" / f"{PROBE_POD}.yml")
    try:
        runner.probe(kube.delete_args("pod", PROBE_POD, timeout=60), timeout=90)  # left by an interrupted deploy
        kubectl.apply(runner, kube, str(path))
        phase = [""]

        def ended() -> bool:
            try:
                found = kubectl.get_json(runner, kube, "pod", PROBE_POD) or {}
            except LabError:  # one failed look (the API server busy): look again
                return False
            phase[0] = found.get("status", {}).get("phase", "")
            return phase[0] in ("Succeeded", "Failed")

        kubectl.wait_until(ended, timeout=PROBE_DEADLINE + 10, every=1.0)
        log = runner.probe(kube.logs_args(pod=PROBE_POD), timeout=30).stdout if phase[0] else ""
        result = verdict(phase[0], log)
    finally:
        runner.probe(kube.delete_pod_args(PROBE_POD), timeout=60)
    return record(lab, Probed(result, clock()))


def record(lab: Lab, probed: Probed) -> Probed:
    """The verdict and its time as annotations of the lab's namespace (``invoke status`` reads them)."""
    stamp = datetime.fromtimestamp(probed.at or time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    argv = lab.kube.base(namespaced=False) + ["annotate", "namespace", lab.cfg.namespace, "--overwrite",
                                              f"{RESULT_ANNOTATION}={probed.result}",
                                              f"{PROBED_AT_ANNOTATION}={stamp}"]
    try:
        lab.runner.run(argv, hide=True, timeout=60)
    except CommandError as err:
        raise LabError(f"cannot record the NetworkPolicy probe on namespace {lab.cfg.namespace}: {err}") from err
    return probed


def recorded(namespace: dict[str, Any] | None) -> Probed:
    """What deploy recorded on the namespace (``kubectl get namespace -o json``); Probed(None) when nothing."""
    notes = ((namespace or {}).get("metadata") or {}).get("annotations") or {}
    result = notes.get(RESULT_ANNOTATION)
    if result not in (ENFORCED, NOT_ENFORCED, UNKNOWN):
        return Probed(None)
    try:
        at = datetime.strptime(notes.get(PROBED_AT_ANNOTATION, ""), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC).timestamp()
    except ValueError:
        at = None
    return Probed(result, at)
