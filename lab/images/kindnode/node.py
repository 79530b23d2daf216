"""The node image itself: its content tag, the base image, the node layer, the preload and commit, the prune.

``ensure_image`` is the entry point: it reuses an image whose tag (recipe_digest) exists, else runs the whole
recipe (Go binaries, component images, base, node layer, preload) and removes superseded tags.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from lab import docker
from lab.digest import tree_digest
from lab.images.kindnode.component_images import build_component_images, check_names, iptables_tag, kubeadm_images
from lab.images.kindnode.dockerbuild import build_context, docker_build
from lab.images.kindnode.gobuild import build_binaries, module_dir, require_go
from lab.images.kindnode.kind_manifests import node_manifests
from lab.images.kindnode.lock import build_lock
from lab.images.kindnode.pins import (
    BASE_REPO,
    BIN,
    BUILD,
    COREDNS_VERSION,
    ETCD_VERSION,
    GO_COREDNS,
    GO_K8S,
    GO_LOCAL_PATH,
    IMAGE_REPO,
    IPTABLES_REPO,
    K8S_COMMIT,
    K8S_VERSION,
    KIND_MODULE,
    KIND_VERSION,
    LOCAL_PATH_VERSION,
    PAUSE_VERSION,
    RECIPE,
)
from lab.images.kindnode.steps import log, run_step
from lab.runner import Runner

#: The recipe's own code: every module of this package, so a change to any step changes the tag.
RECIPE_CODE = sorted(Path(__file__).parent.glob("*.py"))


def recipe_digest() -> str:
    """Digest of everything that decides the image: versions, the recipe files and this package's modules."""
    extra = (KIND_VERSION, K8S_VERSION, K8S_COMMIT, ETCD_VERSION, COREDNS_VERSION, LOCAL_PATH_VERSION,
             PAUSE_VERSION, GO_K8S, GO_COREDNS, GO_LOCAL_PATH)
    inputs = [RECIPE / "Dockerfile.base", RECIPE / "Dockerfile.node", RECIPE / "components", RECIPE / "go"]
    return tree_digest([*inputs, *RECIPE_CODE], extra=extra)  # not README.md: docs do not rebuild


def image_tag(digest: str | None = None) -> str:
    return f"{IMAGE_REPO}:{K8S_VERSION}-{digest or recipe_digest()}"


def build_base(runner: Runner, kind_dir: Path) -> str:
    """Debian + systemd + containerd + runc + CNI plugins + kind's files: cached by its own digest."""
    files = kind_dir / "images" / "base" / "files"
    tag = f"{BASE_REPO}:{tree_digest([RECIPE / 'Dockerfile.base', files], extra=(KIND_VERSION,))}"
    if not docker.image_exists(runner, tag):
        ctx = build_context("base", {"Dockerfile": RECIPE / "Dockerfile.base", "files/etc": files / "etc",
                                     "files/kind": files / "kind", "files/usr": files / "usr"})
        docker_build(runner, "base-image", tag, ctx)
    return tag


def _preload(runner: Runner, stage: str, tar: Path, tag: str) -> None:
    """Import ``tar`` into the stage image's containerd (namespace k8s.io) and commit the result as ``tag``."""
    name = f"kind-node-lab-preload-{os.getpid()}"
    runner.run(docker.run_detached_args(stage, name=name, privileged=True, entrypoint="sleep",
                                        volumes=[f"{tar}:/preload.tar:ro"], args=["infinity"]), hide=True)
    try:
        script = (
            "set -e; containerd >/tmp/containerd.log 2>&1 & pid=$!; "
            "for i in $(seq 60); do ctr version >/dev/null 2>&1 && break; sleep 1; done; "
            "ctr -n k8s.io images import --all-platforms --no-unpack --digests /preload.tar; "
            "ctr -n k8s.io images ls -q; kill $pid; wait $pid || true; rm -rf /tmp/* /run/containerd"
        )
        run_step(runner, "preload", docker.exec_args(name, ["bash", "-c", script]), timeout=1800)
        runner.run(docker.stop_args(name, grace=5), hide=True)
        # ENV container=docker and STOPSIGNAL carry over from the stage image.
        run_step(runner, "commit", docker.commit_args(name, tag, changes=[
            'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]', "CMD []"]))
    finally:
        runner.probe(docker.remove_args(name))


def build_image(runner: Runner, tag: str, digest: str) -> None:
    docker.ensure_engine(runner)
    require_go()
    started = time.monotonic()
    kind_dir = module_dir(runner, KIND_MODULE)
    build_binaries(runner)
    base = build_base(runner, kind_dir)
    built = build_component_images(runner, digest, "debian:bookworm-slim")
    check_names(kubeadm_images(runner), built)

    manifests = node_manifests(kind_dir, digest)
    kind_files = BUILD / "kind-files"
    shutil.rmtree(kind_files, ignore_errors=True)
    (kind_files / "manifests").mkdir(parents=True)
    (kind_files / "version").write_text(K8S_VERSION + "\n")
    for name, text in manifests.items():
        (kind_files / "manifests" / name).write_text(text)
    ctx = build_context("node", {"Dockerfile": RECIPE / "Dockerfile.node", "kind": kind_files,
                                 **{f"bin/{b}": BIN / b for b in ("kubeadm", "kubelet", "kubectl", "crictl")}})
    stage = f"{IMAGE_REPO}-stage:{digest}"
    docker_build(runner, "node-layer", stage, ctx, {"BASE_IMAGE": base})

    tar = BUILD / "preload.tar"
    run_step(runner, "save", docker.save_args(str(tar), list(built)))
    try:
        _preload(runner, stage, tar, tag)
    finally:
        tar.unlink(missing_ok=True)
        runner.probe(docker.remove_images_args([stage]))
    log(f"built {tag} in {time.monotonic() - started:.0f}s")
    prune(runner, keep={tag, base, iptables_tag(digest), *built})


def prune(runner: Runner, keep: set[str]) -> None:
    """Remove this recipe's superseded tags (each node image is ~1.4 GB); images in use stay (no --force)."""
    repos = (IMAGE_REPO, BASE_REPO, IPTABLES_REPO, "localhost/kind-node-lab/podnet",
             "localhost/kind-node-lab/local-path-helper")
    for repo in repos:
        listed = runner.probe(docker.image_refs_args(repo)).stdout
        stale = [ref for ref in listed.split() if ref not in keep and not ref.endswith(":<none>")]
        if stale:
            runner.probe(docker.remove_images_args(stale))


def ensure_image(runner: Runner, *, force: bool = False) -> str:
    """The node image's tag, building it unless an image with the same recipe digest exists."""
    digest = recipe_digest()
    tag = image_tag(digest)
    with build_lock("the node image"):  # a build already under way ends first, and its image is then reused
        if not force and docker.image_exists(runner, tag):
            log(f"reusing {tag}")
            return tag
        build_image(runner, tag, digest)
    return tag
