"""`invoke clean`: remove what the lab made on this machine, and only that.

Always: its working directories (.cache/: state, rendered manifests, kind and kubectl, the registry's
login; build/ and each image recipe's build/: wheels, jars, Go binaries). With ``images``: the images the lab
built or tagged, found by their repositories (``LAB_REPOSITORIES``, the names the lab's builders give), by the
aliases the lab recorded in its state (``cassandra:5.0`` tagged onto the lab's own build), the untagged stages
its multi-stage builds leave (labelled ``STAGE_LABEL`` in their Dockerfiles), and the node recipe's Kubernetes
component images (``registry.k8s.io/kube-apiserver:v1.30.0`` ...) where they were built here: a locally
built image has no registry digest, a pulled one always has. An image of any other name (a pulled
``cassandra:5.0``, ``debian:bookworm-slim``, yours) is never touched, and ``docker rmi`` runs without
``--force``, so an image a container still uses (a kind node's, before `invoke down`) stays and is named.
With ``everything``: the images too, and artifacts/ and reports/, the records and hand-ins: the machine as it
was before the lab. Under --dry it only lists.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from lab import docker, progress, state
from lab.config import LabConfig
from lab.errors import CommandError
from lab.images import cassandra as cassandra_image
from lab.images import preloaded
from lab.images import registry as registry_image
from lab.images import writer as writer_image
from lab.images.kindnode import pins
from lab.images.kindnode.component_images import components
from lab.runner import Runner

#: The repositories of the images the lab's builders make (lab/images/*), and the prefix of the kind node
#: recipe's component images; the lab's registry copies get ``localhost:<port>/`` in front (``lab_repository``).
LAB_REPOSITORIES = (writer_image.REPOSITORY, cassandra_image.IMAGE_NAME, registry_image.IMAGE_NAME, pins.IMAGE_REPO,
                    pins.BASE_REPO, pins.IPTABLES_REPO, preloaded.REPO)
COMPONENT_PREFIX = "localhost/kind-node-lab/"
#: The node recipe's images under the upstream names kubeadm runs them by: the lab's only when built here.
UPSTREAM_NAMED = frozenset(c.tag for c in components("", "") if not c.tag.startswith(COMPONENT_PREFIX))
#: The label the lab's Dockerfiles give a build stage (the writer's deps, Cassandra's cqlsh).
STAGE_LABEL = "cassandra-kind-lab.stage"
#: What the image recipes build on the host (as .gitignore lists them), beside .cache/ and build/.
RECIPE_BUILDS = ("images/cassandra/build", "images/kind-node/build", "images/registry/build")
#: Where `invoke report` writes unless told otherwise (tasks.py's --out default).
REPORTS = "reports"

_SIZE = re.compile(r"^([\d.]+)\s*([kMGT]?B)$")
_UNITS = {"B": 1, "kB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


@dataclass(frozen=True)
class Removed:
    what: str
    size: int  # bytes, as measured before removing (du for a directory, docker's figure for an image)


def human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "kB") else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def parse_size(text: str) -> int:
    """docker's image size ("184MB", "1.47GB") in bytes (0 when it says something else)."""
    found = _SIZE.match(text.strip())
    return int(float(found.group(1)) * _UNITS[found.group(2)]) if found else 0


def lab_repository(cfg: LabConfig, repository: str) -> bool:
    pushed = f"localhost:{cfg.images.registry_port}/"
    name = repository.removeprefix(pushed)
    return name in LAB_REPOSITORIES or repository.startswith(COMPONENT_PREFIX)


def lab_directories(cfg: LabConfig, *, everything: bool) -> list[Path]:
    names = [".cache", "build", *RECIPE_BUILDS, cfg.state_dir, cfg.tools.bin_dir]
    if everything:
        names += [cfg.artifacts, REPORTS]
    paths: list[Path] = []
    for name in names:
        path = cfg.path(name)
        if path.exists() and not any(path.is_relative_to(p) for p in paths) and path != cfg.root:
            paths.append(path)
    return paths


def lab_images(runner: Runner, cfg: LabConfig) -> list[tuple[str, int]]:
    """(ref, bytes) of every local image that is the lab's: by repository, or an alias the lab recorded."""
    aliases = {key.removeprefix("alias ") for key, value in state.load(cfg.path(cfg.state_dir)).items()
               if key.startswith("alias ") and value}
    listing = runner.probe([docker.DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}\t{{.Size}}\t{{.Digest}}"])
    found = []
    for line in listing.stdout.splitlines() if listing.ok else []:
        ref, size, digest = (line.split("\t") + ["", ""])[:3]
        repository = ref.rsplit(":", 1)[0]
        if ref.endswith(":<none>"):
            continue  # untagged layers go with the image that holds them
        built_here = digest in ("", "<none>")
        if lab_repository(cfg, repository) or ref in aliases or (ref in UPSTREAM_NAMED and built_here):
            found.append((ref, parse_size(size)))
    return found


def lab_stages(runner: Runner) -> list[tuple[str, int]]:
    """(id, bytes) of each untagged stage image the lab's multi-stage builds left (Docker's classic builder keeps
    a stage's last layer as an image of no name); their Dockerfiles label those stages ``STAGE_LABEL``."""
    listing = runner.probe([docker.DOCKER, "images", "--filter", "dangling=true", "--filter", f"label={STAGE_LABEL}",
                            "--format", "{{.ID}}\t{{.Size}}"])
    return [(image, parse_size(size)) for image, _, size in
            (line.partition("\t") for line in (listing.stdout.splitlines() if listing.ok else []))]


def _du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_symlink() and p.is_file())


def clean(runner: Runner, cfg: LabConfig, *, images: bool = False, everything: bool = False) -> list[Removed]:
    """Remove (or under --dry list) what the lab made; returns what went, with its size."""
    removed: list[Removed] = []
    # Listed before .cache/ goes: the aliases are recorded there.
    refs = lab_images(runner, cfg) + lab_stages(runner) if images or everything else []
    for path in lab_directories(cfg, everything=everything):
        size = _du(path)
        if not runner.dry:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        removed.append(Removed(f"{path.relative_to(cfg.root) if path.is_relative_to(cfg.root) else path}/", size))
    for ref, size in refs:
        try:
            runner.run(docker.remove_images_args([ref]))
        except CommandError as err:
            progress.info(f"   kept image {ref}: {err} (a container uses it? `invoke down` first)")
            continue
        removed.append(Removed(f"image {ref}" if ":" in ref else f"untagged build stage {ref}", size))
    return removed


def run(runner: Runner, cfg: LabConfig, *, images: bool = False, everything: bool = False) -> None:
    removed = clean(runner, cfg, images=images, everything=everything)
    verb = "would remove" if runner.dry else "removed"
    for item in removed:
        print(f"{verb} {item.what} ({human(item.size)})")
    total = sum(item.size for item in removed)
    note = " (images as docker sizes each; layers they share are freed once)" if any(
        i.what.startswith(("image ", "untagged ")) for i in removed) else ""
    print(f"clean: {len(removed)} item(s), {human(total)} {'to free' if runner.dry else 'freed'}{note}"
          if removed else "clean: nothing of the lab's to remove")
