"""The kind node image, built without a registry, and the pinned kind and kubectl CLIs.

kind's ``build node-image`` pulls its base and every preloaded image from registries, which a machine
without a container registry cannot reach. This package assembles an equivalent image from package registries only:

1. Go binaries from the Go module proxy (images/kind-node/go/*: wrapper modules that pin Kubernetes v1.30.0
   with its staging replaces, etcd, and a small Go pause), plus ``go install`` of kind, CoreDNS and
   local-path-provisioner at pinned versions. Outputs go to images/kind-node/build/bin (gitignored).
2. Component images under the exact names kubeadm prints (``kubeadm config images list``) and the names
   in the node's containerd config and default manifests (images/kind-node/components/*.Dockerfile).
3. The base (Dockerfile.base: Debian's systemd, containerd, runc and CNI plugins plus kind's own files from
   the kind module in the Go module cache), then the node layer (Dockerfile.node).
4. The component images imported into the node's containerd (``ctr -n k8s.io images import``) in a
   privileged container, then ``docker commit`` with kind's entrypoint.

The tag is content-addressed: ``kind-node-lab:v1.30.0-<digest of versions + recipe>``, where the recipe is
images/kind-node and every module of this package; an existing tag is reused. Each step's output is written to
images/kind-node/build/logs/<step>.log, and a failure names it.

Two substitutions, both visible in the node's manifests: the kindnetd module is not served by the Go proxy
here, so kind's CNI DaemonSet runs ``podnet`` (components/podnet.sh); local-path-provisioner is v0.0.30 (the
newest release the proxy serves) instead of kind's v0.0.24 build.

    python -m lab.images.kindnode tools   # prints {"kind": path, "kubectl": path} as JSON
    python -m lab.images.kindnode image   # prints the node image tag

The parts, in the order the recipe uses them:

    pins             paths, versions, Go toolchains and modules, image names, Kubernetes' version stamp
    steps            one build step, logged to build/logs/<step>.log
    gobuild          go build/install command lines, the module cache, every binary into build/bin (1.)
    tools            kind and kubectl into .cache/bin
    dockerbuild      fresh build contexts and ``docker build`` steps
    component_images the preloaded images and their names, checked against kubeadm's list (2.)
    kind_manifests   kind's default CNI and storage manifests, read from its Go sources
    node             the content tag, base image, node layer, preload and commit, prune (3., 4.)
    diagnostics      a running node's kubelet and containerd journals, for error reports
    __main__         the command line above

This package re-exports the names its callers use.
"""

from lab.images.kindnode.component_images import Component, check_names, components, expected_kubeadm_images
from lab.images.kindnode.diagnostics import node_logs
from lab.images.kindnode.dockerbuild import DOCKER_ENV
from lab.images.kindnode.gobuild import build_binaries, go_build_args, go_env, go_install_args
from lab.images.kindnode.kind_manifests import go_constant, node_manifests
from lab.images.kindnode.node import ensure_image, image_tag, recipe_digest
from lab.images.kindnode.pins import K8S_VERSION, KIND_VERSION, PAUSE_IMAGE, k8s_ldflags, lab_images
from lab.images.kindnode.tools import ensure_tools

__all__ = [
    "DOCKER_ENV",
    "K8S_VERSION",
    "KIND_VERSION",
    "PAUSE_IMAGE",
    "Component",
    "build_binaries",
    "check_names",
    "components",
    "ensure_image",
    "ensure_tools",
    "expected_kubeadm_images",
    "go_build_args",
    "go_constant",
    "go_env",
    "go_install_args",
    "image_tag",
    "k8s_ldflags",
    "lab_images",
    "node_logs",
    "node_manifests",
    "recipe_digest",
]
