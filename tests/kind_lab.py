"""The one kind cluster of a test session (``lab-e2e``), made by `invoke reset` as a user makes it.

The cluster tier (tests/cluster: nodes, DNS, the pod network, PVCs, `kind load`) and the end-to-end tier
(tests/e2e: the README workflow) both run on it, so a run creates five kind nodes once, not twice: the
cluster tier first, in a namespace of its own, then the end-to-end tier deploys the lab. Both run after every other test
(tests/conftest.py). The end-to-end tier takes the cluster down when it is done; whoever uses the cluster
last, ``invoke down`` runs once more at the end of the session, and the session then checks that no other
kind cluster was touched and that ``lab-e2e`` is gone.

Safe beside your own lab: every command runs with its own kind cluster name (``lab-e2e``), its own kubeconfig
file and its own lab state (chosen images, rendered manifests) under the artifacts folder, so a `kind` cluster
of yours, ~/.kube/config and your .cache/lab are never touched, not even read.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sh

from tests.commands import INVOKE, Ran, run

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("LAB_E2E_ARTIFACTS", ROOT / "artifacts" / "e2e"))
#: Not kind's default name: the user's own lab (cluster `kind`) must survive running the tests.
CLUSTER = "lab-e2e"
KUBECONFIG = ARTIFACTS / "kubeconfig"
#: The lab's state (chosen images, rendered manifests) for this run only: a user's own .cache/lab stays theirs.
STATE_DIR = ARTIFACTS / "state"
#: What a session writes under ARTIFACTS about its own cluster, cleared before the next one is made.
EARLIER_RECORDS = ("chaos", "verify", "lesson", "reports", "reports-go-writer", "bench")
#: The container name kind gives the control plane of a cluster named `kind` (kind's default name).
BYSTANDER = "kind-control-plane"


def lab_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every `invoke` of the tests runs in: ``lab-e2e``, its kubeconfig, state and artifacts."""
    return {**os.environ, "INVOKE_LAB_ARTIFACTS": str(ARTIFACTS), "INVOKE_LAB_CLUSTER": CLUSTER,
            "INVOKE_LAB_STATE_DIR": str(STATE_DIR), "KUBECONFIG": str(KUBECONFIG), **(env or {})}


def invoke(*args: str, env: dict[str, str] | None = None, timeout: float = 1800, check: bool = True) -> Ran:
    """``invoke <args>`` from the repository root against ``lab-e2e``, its output echoed into the test log
    (whatever its exit code: the log shows a failed step's output before the assertion fails)."""
    started = time.monotonic()
    proc = run(INVOKE, *args, _env=lab_env(env), _timeout=timeout)
    print(f"$ invoke {' '.join(args)}  # exit {proc.returncode} after {time.monotonic() - started:.0f}s")
    print(proc.stdout[-6000:], proc.stderr[-3000:], sep="\n")
    if check:
        assert proc.returncode == 0, f"invoke {' '.join(args)} exited {proc.returncode}: {proc.stderr[-500:]}"
    return proc


def docker(*args: str) -> Ran:
    """``docker <args>``, any exit code: the callers read it (`container inspect` of a missing container is 1)."""
    return run(sh.Command("docker"), *args, _timeout=120)


@contextlib.contextmanager
def bystander_kind_cluster() -> Iterator[None]:
    """A cluster named `kind` beside the run, so "no other cluster is touched" is checked, not assumed.

    A user's own `kind` cluster, if there is one, is the bystander and is only looked at. Otherwise a stand-in
    is made: a container created (never started) with the labels by which kind finds the control plane of
    cluster `kind`, so `kind get clusters` lists `kind` and a `kind delete cluster` aimed at the default
    name would remove it. It is ours, so it is removed at the end.
    """
    if docker("ps", "--all", "--quiet", "--filter", "label=io.x-k8s.kind.cluster=kind").stdout.strip() \
            or docker("container", "inspect", BYSTANDER).returncode == 0:
        yield
        return
    image = os.environ.get("CASSANDRA_IMAGE") or "debian:bookworm-slim"
    made = docker("create", "--name", BYSTANDER, "--label", "io.x-k8s.kind.cluster=kind",
                  "--label", "io.x-k8s.kind.role=control-plane", image, "true")
    assert made.returncode == 0, f"could not create the bystander `kind` cluster's container: {made.stderr}"
    try:
        yield
    finally:
        docker("rm", "--force", BYSTANDER)


def other_kind_nodes() -> set[tuple[str, str]]:
    """(container id, cluster) of every kind node container not ours: they must be the same afterwards."""
    out = docker("ps", "--all", "--filter", "label=io.x-k8s.kind.cluster", "--format",
                 '{{.ID}} {{.Label "io.x-k8s.kind.cluster"}}')
    assert out.returncode == 0, out.stderr
    return {tuple(line.split()) for line in out.stdout.splitlines() if line.split()[1:] != [CLUSTER]}


def our_nodes() -> list[str]:
    """The names of lab-e2e's node containers, running or not."""
    out = docker("ps", "--all", "--filter", f"label=io.x-k8s.kind.cluster={CLUSTER}", "--format", "{{.Names}}")
    assert out.returncode == 0, out.stderr
    return sorted(out.stdout.split())


@dataclass
class KindLab:
    """The session's cluster: made by `invoke reset`; ``down()`` (idempotent) is `invoke down`."""

    timings: dict[str, float] = field(default_factory=dict)
    is_up: bool = False

    def reset(self) -> None:
        started = time.monotonic()
        # Long enough for reset to build the node image, or to wait for the build `.ci/run` started beside the
        # Docker tiers (lab.images.kindnode.lock): tens of minutes on 2 cores, cold.
        invoke("reset", timeout=3600)
        self.timings["reset_s"] = time.monotonic() - started
        self.is_up = True

    def down(self) -> None:
        if self.is_up:
            self.is_up = False
            invoke("down", check=False)
            (ARTIFACTS / "timings.json").write_text(json.dumps(self.timings, indent=2))


@contextlib.contextmanager
def kind_lab() -> Iterator[KindLab]:
    """The cluster for the session: reset on entry, down on exit whatever happened, then the checks that it is
    gone and that every other kind cluster (a bystander `kind` at least) is as it was."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # The records of an earlier session's cluster (ours, under ARTIFACTS) are of a ring that is gone: a report of
    # this session must not count them (a witness-caught round of the last run failed `report --check` here).
    for folder in EARLIER_RECORDS:
        shutil.rmtree(ARTIFACTS / folder, ignore_errors=True)
    print(f"kind lab: cluster {CLUSTER!r} with kubeconfig {KUBECONFIG}; no other cluster is touched")
    with bystander_kind_cluster():
        others = other_kind_nodes()
        assert "kind" in {name for _, name in others}, "no bystander cluster `kind` to prove the run leaves it alone"
        lab = KindLab()
        try:
            lab.reset()
            yield lab
        finally:
            lab.is_up = True  # down whatever happened: a failed reset can leave nodes behind
            lab.down()
        assert our_nodes() == [], f"invoke down left {CLUSTER}'s nodes behind: {our_nodes()}"
        assert other_kind_nodes() == others, "the run changed a kind cluster it did not create"
        if others:
            print(f"kind lab: other kind clusters untouched: {sorted({name for _, name in others})}")
