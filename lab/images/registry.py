"""The lab's registry image: CNCF distribution's ``registry`` built on the host from the Go module proxy.

``docker build`` here reaches no container registry (there is no ``registry:3`` to pull) and has no CA bundle
for the Go module proxy, so ``go build`` runs on the host, statically (CGO_ENABLED=0), into
``images/registry/build/bin/`` (gitignored), and images/registry/Dockerfile copies the binary into an image
FROM scratch with images/registry/config.yml. The tag is content-addressed (``lab-registry:<digest of
images/registry, the module version and the architecture>``): an existing tag is reused and nothing is built.

    python -m lab.images.registry [--force] [--dry]

prints only the tag on stdout (progress goes to stderr). lab/registry.py runs the image.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
from pathlib import Path

from invoke import Context

from lab import docker
from lab.config import ROOT
from lab.digest import tree_digest
from lab.errors import CommandError, LabError
from lab.images import golang
from lab.images.cli import print_tag
from lab.runner import Runner

#: CNCF distribution, the reference OCI registry (what Docker Hub's ``registry:3`` image runs).
MODULE = "github.com/distribution/distribution/v3"
VERSION = "v3.1.2"
#: Repository part of the tag; the tag itself is the recipe's digest.
IMAGE_NAME = "lab-registry"

IMAGE_DIR = ROOT / "images" / "registry"
#: The Go module that builds the binary (main.go and the pinned go.mod, go.sum).
WRAPPER_DIR = IMAGE_DIR / "go"
BUILD_DIR = IMAGE_DIR / "build"
BIN_DIR = BUILD_DIR / "bin"
BINARY = BIN_DIR / "registry"
#: The folder the Dockerfile copies to /var/lib/registry: empty, so the image gets the folder with its owner.
STORAGE_DIR = BUILD_DIR / "storage"
_STAMP = BIN_DIR / ".stamp"

#: Stripped and stamped with its release, as distribution's own Makefile stamps it (`registry --version`).
LDFLAGS = f"-s -w -X {MODULE}/version.version={VERSION} -X {MODULE}/version.mainpkg={MODULE}"


def image_tag() -> str:
    """``lab-registry:<12 hex>`` from the recipe files, the pinned release and the host's architecture."""
    # Relative paths, so a clone in another folder (CI's) computes the same tag.
    with contextlib.chdir(ROOT):
        digest = tree_digest([IMAGE_DIR.relative_to(ROOT)], extra=(MODULE, VERSION, LDFLAGS, platform.machine()))
    return f"{IMAGE_NAME}:{digest}"


def go_build_args(out: Path = BINARY) -> list[str]:
    """``go build`` of images/registry/go: upstream's registry command with only the filesystem driver. Its
    go.mod requires the pinned release alone, so the release's own go.mod decides every other version."""
    return ["go", "-C", str(WRAPPER_DIR), "build", "-trimpath", "-ldflags", LDFLAGS, "-o", str(out), "."]


def upstream_install_args() -> list[str]:
    """``go install`` of upstream's own registry command, every storage driver included (what the wrapper
    replaces; `python -m lab.bench.gobuild` builds both side by side)."""
    return ["go", "install", "-trimpath", "-ldflags", LDFLAGS, f"{MODULE}/cmd/registry@{VERSION}"]


def build_binary(runner: Runner) -> None:
    """The registry binary into build/bin, unless a previous run built this very release and wrapper."""
    stamp = image_tag()  # covers the wrapper module, the release and the flags
    if BINARY.is_file() and _STAMP.is_file() and _STAMP.read_text().strip() == stamp:
        return
    golang.require_go("(it fetches the toolchain the registry module asks for) to build the lab's registry")
    if not runner.dry:
        BIN_DIR.mkdir(parents=True, exist_ok=True)
        _STAMP.unlink(missing_ok=True)
    try:
        # Static (no libc in a scratch image), without VCS stamping (there is no checkout).
        runner.run(go_build_args(), env=golang.go_env(), hide=True, timeout=3600)
    except CommandError as err:
        raise LabError(f"failed to build the registry ({MODULE}@{VERSION}) from the Go module proxy: {err}") from err
    if not runner.dry:
        _STAMP.write_text(stamp + "\n")


def ensure_image(runner: Runner, *, force: bool = False) -> str:
    """Build the registry image unless its content-addressed tag exists; return the tag."""
    docker.ensure_engine(runner)
    tag = image_tag()
    if not force and docker.image_exists(runner, tag):
        return tag
    build_binary(runner)
    if not runner.dry:
        STORAGE_DIR.mkdir(parents=True, exist_ok=True)
    try:
        docker.build_image(runner, tag, str(IMAGE_DIR))
    except LabError as err:
        raise LabError(f"failed to build {tag}: {err}") from err
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.images.registry", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild the image even when the tag exists")
    parser.add_argument("--dry", action="store_true", help="print the commands instead of running them")
    args = parser.parse_args(argv)
    return print_tag(lambda: ensure_image(Runner(Context(), dry=args.dry), force=args.force))


if __name__ == "__main__":
    sys.exit(main())
