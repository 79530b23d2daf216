"""The images preloaded into the node, under the names kubeadm and kind's manifests run them by.

The control plane, kube-proxy, etcd, CoreDNS and pause from build/bin; our substitutes for kind's CNI
(``podnet``) and storage (local-path-provisioner and its helper); kube-router, the pod network's
NetworkPolicy controller; the iptables base kube-proxy, podnet and kube-router share. check_names holds
the list against what the built kubeadm says it will run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab import docker
from lab.errors import LabError
from lab.images.kindnode.dockerbuild import build_context, docker_build
from lab.images.kindnode.pins import (
    BIN,
    BUILD,
    CONTROL_PLANE,
    COREDNS_VERSION,
    ETCD_VERSION,
    IPTABLES_REPO,
    K8S_VERSION,
    KIND_HELPER,
    KIND_KINDNETD,
    KIND_PROVISIONER,
    KUBE_ROUTER_IMAGE,
    PAUSE_IMAGE,
    RECIPE,
    lab_images,
)
from lab.runner import Runner


@dataclass(frozen=True)
class Component:
    """One image preloaded into the node: its Dockerfile under components/, the files it copies, its tag."""

    tag: str
    dockerfile: str
    files: tuple[str, ...]
    build_args: tuple[tuple[str, str], ...] = ()


def components(digest: str, iptables_base: str) -> list[Component]:
    subs = lab_images(digest)
    static = [Component(f"registry.k8s.io/{name}:{K8S_VERSION}", "static.Dockerfile", (f"bin/{name}",),
                        (("NAME", name),)) for name in CONTROL_PLANE]
    return static + [
        Component(f"registry.k8s.io/kube-proxy:{K8S_VERSION}", "kube-proxy.Dockerfile", ("bin/kube-proxy",),
                  (("BASE_IMAGE", iptables_base),)),
        Component(f"registry.k8s.io/etcd:{ETCD_VERSION}-0", "static.Dockerfile", ("bin/etcd",),
                  (("NAME", "etcd"),)),
        Component(f"registry.k8s.io/coredns/coredns:{COREDNS_VERSION}", "coredns.Dockerfile", ("bin/coredns",)),
        Component(PAUSE_IMAGE, "pause.Dockerfile", ("bin/pause",)),
        Component(subs[KIND_PROVISIONER], "static.Dockerfile", ("bin/local-path-provisioner",),
                  (("NAME", "local-path-provisioner"),)),
        Component(subs[KIND_KINDNETD], "podnet.Dockerfile", ("components/podnet.sh",),
                  (("BASE_IMAGE", iptables_base),)),
        Component(KUBE_ROUTER_IMAGE, "kube-router.Dockerfile", ("bin/kube-router",),
                  (("BASE_IMAGE", iptables_base),)),
    ]


def iptables_tag(digest: str) -> str:
    """The base of kube-proxy and podnet: Debian's iptables and a wrapper that matches the node's backend."""
    return f"{IPTABLES_REPO}:{digest}"


def build_component_images(runner: Runner, digest: str, base_image: str) -> list[str]:
    """Every preloaded image, tagged as the node expects; returns the tags."""
    iptables = iptables_tag(digest)
    ctx = build_context("iptables", {"Dockerfile": RECIPE / "components" / "iptables.Dockerfile",
                                     "iptables-wrapper": RECIPE / "components" / "iptables-wrapper"})
    docker_build(runner, "iptables-image", iptables, ctx, {"BASE_IMAGE": base_image})
    tags = []
    for comp in components(digest, iptables):
        files = {"Dockerfile": RECIPE / "components" / comp.dockerfile}
        for rel in comp.files:
            files[Path(rel).name] = (BUILD / rel) if rel.startswith("bin/") else (RECIPE / rel)
        ctx = build_context("component", files)
        name = comp.tag.rsplit("/", 1)[-1].split(":")[0]
        docker_build(runner, f"image-{name}", comp.tag, ctx, dict(comp.build_args))
        tags.append(comp.tag)
    helper = lab_images(digest)[KIND_HELPER]
    runner.run(docker.tag_args(base_image, helper), hide=True)  # sh, mkdir and rm are all it needs
    return tags + [helper]


def expected_kubeadm_images(version: str = K8S_VERSION) -> list[str]:
    """What ``kubeadm config images list`` must print for the pinned versions (checked at build time)."""
    return [f"registry.k8s.io/{name}:{version}" for name in (*CONTROL_PLANE, "kube-proxy")] + [
        f"registry.k8s.io/coredns/coredns:{COREDNS_VERSION}",
        "registry.k8s.io/pause:3.9",
        f"registry.k8s.io/etcd:{ETCD_VERSION}-0",
    ]


def kubeadm_images(runner: Runner) -> list[str]:
    """``kubeadm config images list`` of the built kubeadm: the exact names kubeadm will run."""
    out = runner.output([str(BIN / "kubeadm"), "config", "images", "list", "--kubernetes-version", K8S_VERSION])
    return out.split()


def check_names(kubeadm_list: list[str], built: list[str]) -> None:
    """Every image kubeadm runs, except its pause (kind uses containerd's sandbox_image), must be built."""
    missing = [name for name in kubeadm_list if "pause" not in name and name not in built]
    if missing:
        raise LabError(f"kubeadm {K8S_VERSION} expects images this recipe does not build: {', '.join(missing)}; "
                       "update the versions in lab/images/kindnode/pins.py")
