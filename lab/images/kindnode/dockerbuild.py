"""Docker builds of the recipe: a fresh build context under build/ctx/, then ``docker build`` as a logged step."""

from __future__ import annotations

import shutil
from pathlib import Path

from lab import docker
from lab.images.kindnode.pins import BUILD
from lab.images.kindnode.steps import run_step
from lab.runner import Runner

DOCKER_ENV = {"DOCKER_BUILDKIT": "0"}  # the classic builder: works where the buildx plugin is not installed


def build_context(name: str, files: dict[str, Path]) -> Path:
    """A fresh build context under build/ctx/<name> holding ``files`` (name in context -> source)."""
    ctx = BUILD / "ctx" / name
    shutil.rmtree(ctx, ignore_errors=True)
    for target, source in files.items():
        dest = ctx / target
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest)
        else:
            shutil.copy2(source, dest)
    for path in [ctx, *ctx.rglob("*")]:  # the module cache is read-only
        path.chmod(path.stat().st_mode | 0o200)
    return ctx


def docker_build(runner: Runner, step: str, tag: str, ctx: Path, build_args: dict[str, str] | None = None) -> None:
    run_step(runner, step, docker.build_args(tag, str(ctx), build_args=build_args), env=DOCKER_ENV)
