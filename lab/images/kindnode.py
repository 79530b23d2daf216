"""The kind node image, built without a registry, and the pinned kind and kubectl CLIs.

kind's ``build node-image`` pulls its base and every preloaded image from registries, which a machine
without a container registry cannot reach. This module assembles an equivalent image from package registries only:

1. Go binaries from the Go module proxy (images/kind-node/go/*: wrapper modules that pin Kubernetes v1.30.0
   with its staging replaces, etcd, and a small Go pause), plus ``go install`` of kind, CoreDNS and
   local-path-provisioner at pinned versions. Outputs go to images/kind-node/build/bin (gitignored).
2. Component images under the exact names kubeadm prints (``kubeadm config images list``) and the names
   in the node's containerd config and default manifests (images/kind-node/components/*.Dockerfile).
3. The base (Dockerfile.base: Debian's systemd, containerd, runc and CNI plugins plus kind's own files from
   the kind module in the Go module cache), then the node layer (Dockerfile.node).
4. The component images imported into the node's containerd (``ctr -n k8s.io images import``) in a
   privileged container, then ``docker commit`` with kind's entrypoint.

The tag is content-addressed: ``kind-node-lab:v1.30.0-<digest of versions + recipe>``; an existing tag is
reused. Each step's output is written to images/kind-node/build/logs/<step>.log, and a failure names it.

Two substitutions, both visible in the node's manifests: the kindnetd module is not served by the Go proxy
here, so kind's CNI DaemonSet runs ``podnet`` (components/podnet.sh); local-path-provisioner is v0.0.30 (the
newest release the proxy serves) instead of kind's v0.0.24 build.

    python -m lab.images.kindnode tools   # prints {"kind": path, "kubectl": path} as JSON
    python -m lab.images.kindnode image   # prints the node image tag

One module although it is past 400 lines: it is one recipe read top to bottom (pins, Go builds, component
images, the node image), and the image's content tag covers this file, so the recipe and its tag change
together.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from invoke import Context

from lab import docker
from lab.config import ROOT
from lab.digest import tree_digest
from lab.errors import CommandError, LabError, PreconditionError
from lab.runner import Runner

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

#: Go toolchains (fetched by the go command through the module proxy): Kubernetes 1.30 and etcd 3.5 were
#: released with Go 1.22; CoreDNS 1.11.1's quic-go refuses Go >= 1.22; local-path-provisioner v0.0.30
#: requires Go >= 1.23.
GO_K8S = "go1.22.12"
GO_COREDNS = "go1.21.13"
GO_LOCAL_PATH = "go1.23.12"

K8S_COMMANDS = ("kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager",
                "kube-scheduler", "kube-proxy")
CONTROL_PLANE = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")

#: The names kind v0.23.0's manifests use, and what this build loads in their place.
KIND_KINDNETD = "docker.io/kindest/kindnetd:v20240513-cd2ac642"
KIND_PROVISIONER = "docker.io/kindest/local-path-provisioner:v20240513-b9bba138"
KIND_HELPER = "docker.io/kindest/local-path-helper:v20230510-486859a6"
PAUSE_IMAGE = f"registry.k8s.io/pause:{PAUSE_VERSION}"

IMAGE_REPO = "kind-node-lab"
BASE_REPO = "kind-node-base-lab"
DOCKER_ENV = {"DOCKER_BUILDKIT": "0"}  # the classic builder: works where the buildx plugin is not installed
GO_TIMEOUT = 3600


def _log(message: str) -> None:
    print(f"kind-node: {message}", file=sys.stderr, flush=True)


# --- versions and names -------------------------------------------------------------------------------

def k8s_ldflags(version: str = K8S_VERSION, commit: str = K8S_COMMIT, date: str = K8S_BUILD_DATE) -> str:
    """The version stamp of hack/lib/version.sh: kubeadm and kubelet parse their own versions."""
    major, minor = version.lstrip("v").split(".")[:2]
    values = {"gitVersion": version, "gitMajor": major, "gitMinor": minor, "gitCommit": commit,
              "gitTreeState": "clean", "buildDate": date}
    flags = ["-s", "-w"]
    for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        flags += [f"-X '{package}.{key}={value}'" for key, value in values.items()]
    return " ".join(flags)


def recipe_digest() -> str:
    """Digest of everything that decides the image: versions, the recipe files and this module."""
    extra = (KIND_VERSION, K8S_VERSION, K8S_COMMIT, ETCD_VERSION, COREDNS_VERSION, LOCAL_PATH_VERSION,
             PAUSE_VERSION, GO_K8S, GO_COREDNS, GO_LOCAL_PATH)
    inputs = [RECIPE / "Dockerfile.base", RECIPE / "Dockerfile.node", RECIPE / "components", RECIPE / "go"]
    return tree_digest([*inputs, Path(__file__)], extra=extra)  # not README.md: docs do not rebuild


def image_tag(digest: str | None = None) -> str:
    return f"{IMAGE_REPO}:{K8S_VERSION}-{digest or recipe_digest()}"


def lab_images(digest: str) -> dict[str, str]:
    """Our substitutes for kind's CNI and storage images (names chosen by the node's manifests)."""
    return {
        KIND_KINDNETD: f"localhost/kind-node-lab/podnet:{digest}",
        KIND_PROVISIONER: f"localhost/kind-node-lab/local-path-provisioner:{LOCAL_PATH_VERSION}",
        KIND_HELPER: f"localhost/kind-node-lab/local-path-helper:{digest}",
    }


def expected_kubeadm_images(version: str = K8S_VERSION) -> list[str]:
    """What ``kubeadm config images list`` must print for the pinned versions (checked at build time)."""
    return [f"registry.k8s.io/{name}:{version}" for name in (*CONTROL_PLANE, "kube-proxy")] + [
        f"registry.k8s.io/coredns/coredns:{COREDNS_VERSION}",
        "registry.k8s.io/pause:3.9",
        f"registry.k8s.io/etcd:{ETCD_VERSION}-0",
    ]


def go_constant(source: str, name: str) -> str:
    """The value of a Go string constant built from raw strings and other constants (kind's manifests).

    kind keeps its default manifests as Go constants, e.g. ``const m = `...` + image + `...```.
    """
    constants: dict[str, str] = {}
    pattern = re.compile(r'^const (\w+) = ("(?:[^"\\]|\\.)*"|`[^`]*`(?:\s*\+\s*(?:\w+|`[^`]*`))*)', re.M)
    for match in pattern.finditer(source):
        const, expr = match.groups()
        if expr.startswith('"'):
            constants[const] = json.loads(expr)
            continue
        parts = re.findall(r"`([^`]*)`|(\w+)", expr)
        constants[const] = "".join(raw if raw or not ident else constants[ident] for raw, ident in parts)
    if name not in constants:
        raise LabError(f"kind's sources have no constant {name}; was KIND_VERSION changed?")
    return constants[name]


# --- go -----------------------------------------------------------------------------------------------

def go_env(toolchain: str) -> dict[str, str]:
    return {"GOTOOLCHAIN": toolchain, "CGO_ENABLED": "0", "GOFLAGS": "-buildvcs=false"}


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


def _step(runner: Runner, name: str, argv: list[str], *, env: dict[str, str] | None = None,
          timeout: float = GO_TIMEOUT) -> str:
    """Run one build step with its output in build/logs/<name>.log; a failure names the step and log."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{name}.log"
    started = time.monotonic()
    _log(f"{name} ...")
    try:
        outcome = runner.run(argv, env=env, hide=True, timeout=timeout)
    except CommandError as err:
        log.write_text(f"$ {' '.join(argv)}\n{err.output}\n")
        tail = " | ".join(err.output.strip().splitlines()[-3:])
        raise LabError(f"building {name} failed (see {log}): {tail}") from err
    log.write_text(f"$ {' '.join(argv)}\n{outcome.stdout}{outcome.stderr}")
    _log(f"{name} done in {time.monotonic() - started:.0f}s")
    return outcome.stdout


def _require_go() -> None:
    if shutil.which("go") is None:
        raise PreconditionError("go not found on PATH; install Go >= 1.21 (it fetches the pinned toolchains)")


BINARIES = (*K8S_COMMANDS, "crictl", "etcd", "pause", "coredns", "local-path-provisioner")


def build_binaries(runner: Runner) -> None:
    """Every Go binary of the node and its images, into build/bin (skipped when the stamp matches)."""
    stamp = tree_digest([RECIPE / "go"], extra=(K8S_VERSION, K8S_COMMIT, ETCD_VERSION, COREDNS_VERSION,
                                                LOCAL_PATH_VERSION, PAUSE_VERSION, GO_K8S, GO_COREDNS,
                                                GO_LOCAL_PATH, k8s_ldflags()))
    stamp_file = BIN / ".stamp"
    if stamp_file.exists() and stamp_file.read_text() == stamp and all((BIN / b).exists() for b in BINARIES):
        _log("binaries are up to date")
        return
    _require_go()
    BIN.mkdir(parents=True, exist_ok=True)
    stamp_file.unlink(missing_ok=True)
    k8s = [f"k8s.io/kubernetes/cmd/{name}" for name in K8S_COMMANDS]
    _step(runner, "kubernetes", go_build_args(RECIPE / "go" / "k8s", BIN, k8s, k8s_ldflags()),
          env=go_env(GO_K8S))
    _step(runner, "crictl", go_build_args(
        RECIPE / "go" / "k8s", BIN / "crictl", ["github.com/kubernetes-sigs/cri-tools/cmd/crictl"],
        "-s -w -X github.com/kubernetes-sigs/cri-tools/pkg/version.Version=1.30.0"), env=go_env(GO_K8S))
    _step(runner, "etcd", go_build_args(
        RECIPE / "go" / "etcd", BIN / "etcd", ["go.etcd.io/etcd/server/v3"],
        f"-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA={ETCD_GIT_SHA}"), env=go_env(GO_K8S))
    _step(runner, "pause", go_build_args(
        RECIPE / "go" / "pause", BIN / "pause", ["."], f"-s -w -X main.version={PAUSE_VERSION}"),
        env=go_env(GO_K8S))
    _step(runner, "coredns", go_install_args(
        f"github.com/coredns/coredns@{COREDNS_VERSION}",
        f"-s -w -X github.com/coredns/coredns/coremain.GitCommit={COREDNS_VERSION}"),
        env={**go_env(GO_COREDNS), "GOBIN": str(BIN)})
    _step(runner, "local-path-provisioner", go_install_args(
        f"github.com/rancher/local-path-provisioner@{LOCAL_PATH_VERSION}",
        f"-s -w -X main.VERSION={LOCAL_PATH_VERSION}"),
        env={**go_env(GO_LOCAL_PATH), "GOBIN": str(BIN)})
    stamp_file.write_text(stamp)


# --- tools --------------------------------------------------------------------------------------------

def _version_of(runner: Runner, argv: list[str]) -> str:
    outcome = runner.probe(argv, timeout=30)
    return outcome.stdout if outcome.ok else ""


def _is_pinned_kubectl(runner: Runner, path: Path) -> bool:
    return f'"gitVersion": "{K8S_VERSION}"' in _version_of(runner, [str(path), "version", "--client", "-o", "json"])


def ensure_tools(runner: Runner) -> dict[str, str]:
    """The pinned ``kind`` and a ``kubectl`` built from the same Kubernetes sources, in .cache/bin."""
    TOOLS_BIN.mkdir(parents=True, exist_ok=True)
    kind, kubectl = TOOLS_BIN / "kind", TOOLS_BIN / "kubectl"
    if f"kind {KIND_VERSION} " not in _version_of(runner, [str(kind), "version"]):
        _require_go()
        _step(runner, "kind", go_install_args(f"sigs.k8s.io/kind@{KIND_VERSION}"),
              env={**go_env(GO_K8S), "GOBIN": str(TOOLS_BIN)})
    if not _is_pinned_kubectl(runner, kubectl):
        if _is_pinned_kubectl(runner, BIN / "kubectl"):  # the node image's own, when that was built first
            shutil.copy2(BIN / "kubectl", kubectl)
        else:
            _require_go()
            _step(runner, "kubectl", go_build_args(RECIPE / "go" / "k8s", kubectl, ["k8s.io/kubernetes/cmd/kubectl"],
                                                   k8s_ldflags()), env=go_env(GO_K8S))
    return {"kind": str(kind), "kubectl": str(kubectl)}


# --- images -------------------------------------------------------------------------------------------

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
    ]


def _context(name: str, files: dict[str, Path]) -> Path:
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


def _docker_build(runner: Runner, step: str, tag: str, ctx: Path, build_args: dict[str, str] | None = None) -> None:
    _step(runner, step, docker.build_args(tag, str(ctx), build_args=build_args), env=DOCKER_ENV)


def build_base(runner: Runner, kind_dir: Path) -> str:
    """Debian + systemd + containerd + runc + CNI plugins + kind's files: cached by its own digest."""
    files = kind_dir / "images" / "base" / "files"
    tag = f"{BASE_REPO}:{tree_digest([RECIPE / 'Dockerfile.base', files], extra=(KIND_VERSION,))}"
    if not docker.image_exists(runner, tag):
        ctx = _context("base", {"Dockerfile": RECIPE / "Dockerfile.base", "files/etc": files / "etc",
                                "files/kind": files / "kind", "files/usr": files / "usr"})
        _docker_build(runner, "base-image", tag, ctx)
    return tag


def kubeadm_images(runner: Runner) -> list[str]:
    """``kubeadm config images list`` of the built kubeadm: the exact names kubeadm will run."""
    out = runner.output([str(BIN / "kubeadm"), "config", "images", "list", "--kubernetes-version", K8S_VERSION])
    return out.split()


def node_manifests(kind_dir: Path, digest: str) -> dict[str, str]:
    """kind's default CNI and storage manifests, with our substitute images named in them."""
    nodeimage = kind_dir / "pkg" / "build" / "nodeimage"
    cni = go_constant((nodeimage / "const_cni.go").read_text(), "defaultCNIManifest")
    storage = go_constant((nodeimage / "const_storage.go").read_text(), "defaultStorageManifest")
    for upstream, ours in lab_images(digest).items():
        cni, storage = cni.replace(upstream, ours), storage.replace(upstream, ours)
    return {"default-cni.yaml": cni, "default-storage.yaml": storage}


def build_component_images(runner: Runner, digest: str, base_image: str) -> list[str]:
    """Every preloaded image, tagged as the node expects; returns the tags."""
    iptables = f"kind-node-lab-iptables:{digest}"
    ctx = _context("iptables", {"Dockerfile": RECIPE / "components" / "iptables.Dockerfile",
                                "iptables-wrapper": RECIPE / "components" / "iptables-wrapper"})
    _docker_build(runner, "iptables-image", iptables, ctx, {"BASE_IMAGE": base_image})
    tags = []
    for comp in components(digest, iptables):
        files = {"Dockerfile": RECIPE / "components" / comp.dockerfile}
        for rel in comp.files:
            files[Path(rel).name] = (BUILD / rel) if rel.startswith("bin/") else (RECIPE / rel)
        ctx = _context("component", files)
        name = comp.tag.rsplit("/", 1)[-1].split(":")[0]
        _docker_build(runner, f"image-{name}", comp.tag, ctx, dict(comp.build_args))
        tags.append(comp.tag)
    helper = lab_images(digest)[KIND_HELPER]
    runner.run(docker.tag_args(base_image, helper), hide=True)  # sh, mkdir and rm are all it needs
    return tags + [helper]


def check_names(kubeadm_list: list[str], built: list[str]) -> None:
    """Every image kubeadm runs, except its pause (kind uses containerd's sandbox_image), must be built."""
    missing = [name for name in kubeadm_list if "pause" not in name and name not in built]
    if missing:
        raise LabError(f"kubeadm {K8S_VERSION} expects images this recipe does not build: {', '.join(missing)}; "
                       "update the versions in lab/images/kindnode.py")


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
        _step(runner, "preload", docker.exec_args(name, ["bash", "-c", script]), timeout=1800)
        runner.run(docker.stop_args(name, grace=5), hide=True)
        # ENV container=docker and STOPSIGNAL carry over from the stage image.
        _step(runner, "commit", docker.commit_args(name, tag, changes=[
            'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]', "CMD []"]))
    finally:
        runner.probe(docker.remove_args(name))


def build_image(runner: Runner, tag: str, digest: str) -> None:
    docker.ensure_engine(runner)
    _require_go()
    started = time.monotonic()
    kind_dir = module_dir(runner, f"sigs.k8s.io/kind@{KIND_VERSION}")
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
    ctx = _context("node", {"Dockerfile": RECIPE / "Dockerfile.node", "kind": kind_files,
                            **{f"bin/{b}": BIN / b for b in ("kubeadm", "kubelet", "kubectl", "crictl")}})
    stage = f"{IMAGE_REPO}-stage:{digest}"
    _docker_build(runner, "node-layer", stage, ctx, {"BASE_IMAGE": base})

    tar = BUILD / "preload.tar"
    _step(runner, "save", docker.save_args(str(tar), list(built)))
    try:
        _preload(runner, stage, tar, tag)
    finally:
        tar.unlink(missing_ok=True)
        runner.probe(docker.remove_images_args([stage]))
    _log(f"built {tag} in {time.monotonic() - started:.0f}s")
    prune(runner, keep={tag, base, f"kind-node-lab-iptables:{digest}", *built})


def prune(runner: Runner, keep: set[str]) -> None:
    """Remove this recipe's superseded tags (each node image is ~1.4 GB); images in use stay (no --force)."""
    repos = (IMAGE_REPO, BASE_REPO, "kind-node-lab-iptables", "localhost/kind-node-lab/podnet",
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
    if not force and docker.image_exists(runner, tag):
        _log(f"reusing {tag}")
        return tag
    build_image(runner, tag, digest)
    return tag


def node_logs(runner: Runner, node: str, lines: int = 25) -> str:
    """The last lines of kubelet's and containerd's journals inside a kind node container, for error reports."""
    parts = []
    for unit in ("kubelet", "containerd"):
        outcome = runner.probe(docker.exec_args(node, ["journalctl", "--unit", unit, "--lines", str(lines),
                                "--no-pager", "--output", "short-precise"]), timeout=30)
        text = (outcome.stdout or outcome.stderr).rstrip() or "(no output)"
        parts.append(f"--- {node}: {unit}, last {lines} lines ---\n{text}")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("tools", "image"):
        print("usage: python -m lab.images.kindnode tools|image [--force]", file=sys.stderr)
        return 2
    runner = Runner(Context(), echo=False)
    try:
        if args[0] == "tools":
            print(json.dumps(ensure_tools(runner)))
        else:
            print(ensure_image(runner, force="--force" in args))
    except LabError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
