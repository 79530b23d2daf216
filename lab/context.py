"""A configured lab, and the checks every task makes before it acts on the cluster.

``Lab`` is what each task resolves once (settings, the runner, the kind/kubectl CLIs and the image builders);
``guard_context`` keeps destructive tasks on the lab's own kind context; ``require_cluster`` stops a kubectl
task early, with one line, when the context does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lab import kubectl, preflight
from lab.cassandra import Cassandra
from lab.config import LabConfig
from lab.errors import PreconditionError
from lab.images.builders import ImageBuilders
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.names import CASSANDRA_PODS
from lab.runner import Runner


@dataclass
class Lab:
    """A configured lab: settings, the runner, the two CLIs and who builds the images, resolved once per task."""

    cfg: LabConfig
    runner: Runner
    kind: Kind
    kube: Kubectl
    builders: ImageBuilders = field(default_factory=ImageBuilders)
    #: A dry run's earlier step planned the cluster (`invoke --dry up`'s reset): later steps plan on it.
    cluster_planned: bool = False

    @property
    def state_dir(self) -> Path:
        return self.cfg.path(self.cfg.state_dir)

    def cassandra(self, pod: str = CASSANDRA_PODS[0]) -> Cassandra:
        return Cassandra(self.runner, self.kube, pod=pod,
                         request_timeout=self.cfg.verify.request_timeout)


def open_lab(runner: Runner, cfg: LabConfig, *, need: tuple[str, ...] = ("docker", "kind", "kubectl"),
             builders: ImageBuilders | None = None, tools_planned: bool = False) -> Lab:
    """Preflight the tools ``need`` names and build the CLI wrappers around them; ``builders`` default to the
    real image recipes; ``tools_planned``: the task builds a missing kind/kubectl (reset, up)."""
    tools = preflight.check(runner, cfg, need=need, tools_planned=tools_planned)
    return Lab(cfg=cfg, runner=runner, kind=Kind(tools.kind, cfg.cluster),
               kube=Kubectl(tools.kubectl, cfg.kube_context, cfg.namespace), builders=builders or ImageBuilders())


def guard_context(cfg: LabConfig, *, action: str) -> None:
    """Destructive tasks act only on kind-<cluster>, unless lab.allow_context names the other context."""
    if cfg.is_kind_context or (cfg.allow_context and cfg.allow_context == cfg.kube_context):
        return
    raise PreconditionError(
        f"refusing to {action} in kube context {cfg.kube_context!r}: it is not kind-{cfg.cluster}; "
        f"set lab.allow_context to {cfg.kube_context!r} (e.g. INVOKE_LAB_ALLOW_CONTEXT) to allow it")


def require_cluster(lab: Lab) -> None:
    """kubectl tasks need the cluster's context. A dry run goes on without it only where its own reset step
    planned the cluster (`invoke --dry up`); any other task's plan reads the running lab, so it stops here."""
    if lab.cluster_planned or kubectl.context_exists(lab.runner, lab.kube):
        return
    if lab.runner.dry and lab.cfg.is_kind_context:
        raise PreconditionError(f"kube context {lab.kube.context} not found: this dry run reads the running lab; "
                                "create it with `invoke up` (`invoke --dry up` shows that plan)")
    if lab.cfg.is_kind_context:
        raise PreconditionError(f"kube context {lab.kube.context} not found; create the cluster with `invoke reset`")
    raise PreconditionError(f"kube context {lab.kube.context} not found in your kubeconfig")
