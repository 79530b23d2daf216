"""The Go side of the recipe: go build/install command lines, the module cache, and every binary into build/bin."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab.digest import tree_digest
from lab.images import golang
from lab.images.kindnode.pins import (
    BIN,
    COREDNS_MODULE,
    COREDNS_VERSION,
    ETCD_GIT_SHA,
    ETCD_VERSION,
    GO_COREDNS,
    GO_K8S,
    GO_LOCAL_PATH,
    K8S_COMMANDS,
    K8S_COMMIT,
    K8S_VERSION,
    KUBE_ROUTER_LDFLAGS,
    KUBE_ROUTER_MODULE,
    LOCAL_PATH_MODULE,
    LOCAL_PATH_VERSION,
    PAUSE_VERSION,
    RECIPE,
    k8s_ldflags,
)
from lab.images.kindnode.steps import log, run_step
from lab.runner import Runner

#: What build_binaries leaves in build/bin: the node's binaries and those of its component images.
BINARIES = (*K8S_COMMANDS, "crictl", "etcd", "pause", "coredns", "local-path-provisioner", "kube-router")


def go_env(toolchain: str) -> dict[str, str]:
    return golang.go_env(GOTOOLCHAIN=toolchain)


def go_build_args(module_dir: Path, out: Path, packages: list[str], ldflags: str) -> list[str]:
    """``go build`` in a wrapper module: static, trimmed, stripped, as parallel as the cores allow."""
    return ["go", "-C", str(module_dir), "build", "-p", str(os.cpu_count() or 2), "-trimpath",
            "-ldflags", ldflags, "-o", str(out) + ("/" if len(packages) > 1 else ""), *packages]


def go_install_args(package: str, ldflags: str = "-s -w") -> list[str]:
    return ["go", "install", "-trimpath", "-ldflags", ldflags, package]


def module_dir(runner: Runner, module: str) -> Path:
    """Where the Go module cache holds ``module`` (downloaded on first use)."""
    out = runner.output(["go", "mod", "download", "-json", module], timeout=900)
    return Path(json.loads(out)["Dir"])


def require_go() -> None:
    golang.require_go("(it fetches the pinned toolchains)")


def build_binaries(runner: Runner) -> None:
    """Every Go binary of the node and its images, into build/bin (skipped when the stamp matches)."""
    stamp = tree_digest([RECIPE / "go"], extra=(K8S_VERSION, K8S_COMMIT, ETCD_VERSION, COREDNS_VERSION,
                                                LOCAL_PATH_VERSION, PAUSE_VERSION, GO_K8S, GO_COREDNS,
                                                GO_LOCAL_PATH, k8s_ldflags(), KUBE_ROUTER_MODULE,
                                                KUBE_ROUTER_LDFLAGS))
    stamp_file = BIN / ".stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp and all((BIN / b).exists() for b in BINARIES):
        log("binaries are up to date")
        return
    require_go()
    BIN.mkdir(parents=True, exist_ok=True)
    stamp_file.unlink(missing_ok=True)
    # Two lanes side by side: Kubernetes and what shares its toolchain and modules, and the three `go install`s
    # that each fetch a toolchain and modules of their own. While one lane waits on the network the other
    # compiles.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="go-lane") as lanes:
        for lane in [lanes.submit(_build_kubernetes_lane, runner), lanes.submit(_build_install_lane, runner)]:
            lane.result()  # re-raises a lane's failure (the other lane still runs to its end)
    stamp_file.write_text(stamp)


def _build_kubernetes_lane(runner: Runner) -> None:
    k8s = [f"k8s.io/kubernetes/cmd/{name}" for name in K8S_COMMANDS]
    run_step(runner, "kubernetes", go_build_args(RECIPE / "go" / "k8s", BIN, k8s, k8s_ldflags()),
             env=go_env(GO_K8S))
    run_step(runner, "crictl", go_build_args(
        RECIPE / "go" / "k8s", BIN / "crictl", ["github.com/kubernetes-sigs/cri-tools/cmd/crictl"],
        "-s -w -X github.com/kubernetes-sigs/cri-tools/pkg/version.Version=1.30.0"), env=go_env(GO_K8S))
    run_step(runner, "etcd", go_build_args(
        RECIPE / "go" / "etcd", BIN / "etcd", ["go.etcd.io/etcd/server/v3"],
        f"-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA={ETCD_GIT_SHA}"), env=go_env(GO_K8S))
    run_step(runner, "pause", go_build_args(
        RECIPE / "go" / "pause", BIN / "pause", ["."], f"-s -w -X main.version={PAUSE_VERSION}"),
        env=go_env(GO_K8S))


def _build_install_lane(runner: Runner) -> None:
    run_step(runner, "coredns", go_install_args(
        COREDNS_MODULE, f"-s -w -X github.com/coredns/coredns/coremain.GitCommit={COREDNS_VERSION}"),
        env={**go_env(GO_COREDNS), "GOBIN": str(BIN)})
    run_step(runner, "local-path-provisioner", go_install_args(
        LOCAL_PATH_MODULE, f"-s -w -X main.VERSION={LOCAL_PATH_VERSION}"),
        env={**go_env(GO_LOCAL_PATH), "GOBIN": str(BIN)})
    run_step(runner, "kube-router", go_install_args(KUBE_ROUTER_MODULE, KUBE_ROUTER_LDFLAGS),
             env={**go_env(GO_K8S), "GOBIN": str(BIN)})  # released with Go 1.22, as Kubernetes 1.30
