"""What the kind node recipe pins: its paths, the versions and Go toolchains, the image names, the version stamp.

A changed pin changes the node image's content tag (node.recipe_digest covers this package), so it rebuilds.
"""

from __future__ import annotations

from lab.config import ROOT

RECIPE = ROOT / "images" / "kind-node"
BUILD = RECIPE / "build"
BIN = BUILD / "bin"
LOGS = BUILD / "logs"
TOOLS_BIN = ROOT / ".cache" / "bin"

KIND_VERSION = "v0.23.0"
K8S_VERSION = "v1.30.0"
#: v1.30.0's commit (the prefix 7c48c2bd72b9 is in cri-tools v1.30.0's pseudo-versions).
K8S_COMMIT = "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a"
K8S_BUILD_DATE = "2024-04-17T17:27:02Z"
ETCD_VERSION = "3.5.12"
ETCD_GIT_SHA = "e7b3bb6cc"
COREDNS_VERSION = "v1.11.1"
LOCAL_PATH_VERSION = "v0.0.30"
PAUSE_VERSION = "3.7"  # kind's containerd config: sandbox_image = "registry.k8s.io/pause:3.7"
#: kube-router, for its NetworkPolicy controller alone: the newest release the Go proxy serves here. (kind's own
#: kindnetd enforces policies from kind v0.24 with kube-network-policies, whose nftables queue this kernel
#: lacks; kube-router programs iptables and ipsets, which it has.)
KUBE_ROUTER_VERSION = "v2.1.0"

#: Go toolchains (fetched by the go command through the module proxy): Kubernetes 1.30 and etcd 3.5 were
#: released with Go 1.22; CoreDNS 1.11.1's quic-go refuses Go >= 1.22; local-path-provisioner v0.0.30
#: requires Go >= 1.23.
GO_K8S = "go1.22.12"
GO_COREDNS = "go1.21.13"
GO_LOCAL_PATH = "go1.23.12"

#: The Go modules installed at their pinned versions (``go install module@version``); kind's also holds the
#: base image's files and the default manifests the node image reads.
KIND_MODULE = f"sigs.k8s.io/kind@{KIND_VERSION}"
COREDNS_MODULE = f"github.com/coredns/coredns@{COREDNS_VERSION}"
LOCAL_PATH_MODULE = f"github.com/rancher/local-path-provisioner@{LOCAL_PATH_VERSION}"
KUBE_ROUTER_PACKAGE = "github.com/cloudnativelabs/kube-router/v2"
KUBE_ROUTER_MODULE = f"{KUBE_ROUTER_PACKAGE}/cmd/kube-router@{KUBE_ROUTER_VERSION}"
#: Stamped as kube-router's own Makefile stamps it (`kube-router --version`).
KUBE_ROUTER_LDFLAGS = f"-s -w -X {KUBE_ROUTER_PACKAGE}/pkg/version.Version={KUBE_ROUTER_VERSION}"

K8S_COMMANDS = ("kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager",
                "kube-scheduler", "kube-proxy")
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")

#: The names kind v0.23.0's manifests use, and what this build loads in their place.
KIND_KINDNETD = "docker.io/kindest/kindnetd:v20240513-cd2ac642"
KIND_PROVISIONER = "docker.io/kindest/local-path-provisioner:v20240513-b9bba138"
KIND_HELPER = "docker.io/kindest/local-path-helper:v20230510-486859a6"
PAUSE_IMAGE = f"registry.k8s.io/pause:{PAUSE_VERSION}"
#: Not one of kind's: the NetworkPolicy controller the recipe adds to kind's default CNI manifest.
KUBE_ROUTER_IMAGE = f"localhost/kind-node-lab/kube-router:{KUBE_ROUTER_VERSION}"

IMAGE_REPO = "kind-node-lab"
BASE_REPO = "kind-node-base-lab"
IPTABLES_REPO = "kind-node-lab-iptables"


def k8s_ldflags(version: str = K8S_VERSION, commit: str = K8S_COMMIT, date: str = K8S_BUILD_DATE) -> str:
    """The version stamp of hack/lib/version.sh: kubeadm and kubelet parse their own versions."""
    major, minor = version.lstrip("v").split(".")[:2]
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "gitCommit": commit,
              "gitTreeState": "clean", "buildDate": date}
    flags = ["-s", "-w"]
    for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        flags += [f"-X '{package}.{key}={value}'" for key, value in values.items()]
    return " ".join(flags)


def lab_images(digest: str) -> dict[str, str]:
    """Our substitutes for kind's CNI and storage images (names chosen by the node's manifests)."""
    return {
        KIND_KINDNETD: f"localhost/kind-node-lab/podnet:{digest}",
        KIND_PROVISIONER: f"localhost/kind-node-lab/local-path-provisioner:{LOCAL_PATH_VERSION}",
        KIND_HELPER: f"localhost/kind-node-lab/local-path-helper:{digest}",
    }
