"""The pinned kind CLI and a kubectl built from the node's own Kubernetes sources, in .cache/bin."""

from __future__ import annotations

import shutil
from pathlib import Path

from lab.images.kindnode.gobuild import go_build_args, go_env, go_install_args, require_go
from lab.images.kindnode.lock import build_lock
from lab.images.kindnode.pins import BIN, GO_K8S, K8S_VERSION, KIND_MODULE, KIND_VERSION, RECIPE, TOOLS_BIN, k8s_ldflags
from lab.images.kindnode.steps import run_step
from lab.runner import Runner


def _version_of(runner: Runner, argv: list[str]) -> str:
    outcome = runner.probe(argv, timeout=30)
    return outcome.stdout if outcome.ok else ""


def _is_pinned_kubectl(runner: Runner, path: Path) -> bool:
    return f'"gitVersion": "{K8S_VERSION}"' in _version_of(runner, [str(path), "version", "--client", "-o", "json"])


def ensure_tools(runner: Runner) -> dict[str, str]:
    """The pinned ``kind`` and a ``kubectl`` built from the same Kubernetes sources, in .cache/bin."""
    TOOLS_BIN.mkdir(parents=True, exist_ok=True)
    with build_lock("kind and kubectl"):
        return _ensure_tools(runner)


def _ensure_tools(runner: Runner) -> dict[str, str]:
    kind, kubectl = TOOLS_BIN / "kind", TOOLS_BIN / "kubectl"
    if f"kind {KIND_VERSION} " not in _version_of(runner, [str(kind), "version"]):
        require_go()
        run_step(runner, "kind", go_install_args(KIND_MODULE), env={**go_env(GO_K8S), "GOBIN": str(TOOLS_BIN)})
    if not _is_pinned_kubectl(runner, kubectl):
        if _is_pinned_kubectl(runner, BIN / "kubectl"):  # the node image's own, when that was built first
            shutil.copy2(BIN / "kubectl", kubectl)
        else:
            require_go()
            run_step(runner, "kubectl", go_build_args(RECIPE / "go" / "k8s", kubectl,
                                                      ["k8s.io/kubernetes/cmd/kubectl"], k8s_ldflags()),
                     env=go_env(GO_K8S))
    return {"kind": str(kind), "kubectl": str(kubectl)}
