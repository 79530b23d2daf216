"""Preflight: are docker, kind and kubectl here, and does the engine answer? One line with the fix if not."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from lab import docker, progress
from lab.config import LabConfig, resolve_tool
from lab.errors import PreconditionError
from lab.runner import Runner

HOW_TO_GET = {
    "kind": (
        "run `invoke images.kind-node` (builds kind, kubectl and a node image from source into {bin_dir}), "
        "or install kind v0.23+ (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), "
        "or set lab.tools.kind in invoke.yaml"
    ),
    "kubectl": (
        "run `invoke images.kind-node` (builds kind, kubectl and a node image from source into {bin_dir}), "
        "or install kubectl (https://kubernetes.io/docs/tasks/tools/), or set lab.tools.kubectl in invoke.yaml"
    ),
}


@dataclass(frozen=True)
class Tools:
    kind: str
    kubectl: str


def find_tool(cfg: LabConfig, name: str) -> str | None:
    return resolve_tool(name, getattr(cfg.tools, name), bin_dir=cfg.tools.bin_dir, root=cfg.root)


def missing_message(cfg: LabConfig, name: str) -> str:
    bin_dir = cfg.tools.bin_dir
    return f"{name} not found on PATH or in {bin_dir}; " + HOW_TO_GET[name].format(bin_dir=bin_dir)


def check(runner: Runner, cfg: LabConfig, *, need: tuple[str, ...] = ("docker", "kind", "kubectl"),
          tools_planned: bool = False) -> Tools:
    """Resolve the tools ``need`` names; raise PreconditionError (exit 2) for the first one missing.

    Under --dry of a task that builds a missing kind/kubectl first (``tools_planned``: reset, up) a missing
    one is a warning and the plan names the bare command, so `invoke --dry up` works on a fresh machine.
    """
    found = {}
    for name in ("kind", "kubectl"):
        path = find_tool(cfg, name)
        if path is None and name in need:
            if not (runner.dry and tools_planned):
                raise PreconditionError(missing_message(cfg, name))
            progress.info(f"warning: {missing_message(cfg, name)}")
        found[name] = path or name
    if "docker" in need:
        if runner.dry and shutil.which(docker.DOCKER) is None:
            progress.info("warning: docker not found on PATH; the plan below still names it")
        elif runner.dry:
            try:
                docker.ensure_engine(runner)
            except PreconditionError as err:
                progress.info(f"warning: {err}")
        else:
            docker.ensure_engine(runner)
    return Tools(kind=found["kind"], kubectl=found["kubectl"])


#: What kind's known-issues page asks for before a multi-node cluster: each node's kubelet and containerd
#: take inotify instances, and at Linux's default of 128 a 5-node cluster can fail to join its workers
#: or its pods die with "too many open files".
INOTIFY_WANTED = {"max_user_instances": 512, "max_user_watches": 524288}


def inotify_warnings(proc: Path = Path("/proc/sys/fs/inotify")) -> list[str]:
    """One line per inotify limit below what kind asks for, with the command that raises it ([] when fine
    or when the limits cannot be read, e.g. not Linux)."""
    lines = []
    for name, wanted in INOTIFY_WANTED.items():
        try:
            value = int((proc / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if value < wanted:
            lines.append(f"warning: fs.inotify.{name} is {value}; a 5-node kind cluster can fail to start below "
                         f"{wanted} (`sudo sysctl fs.inotify.{name}={wanted}`)")
    return lines
