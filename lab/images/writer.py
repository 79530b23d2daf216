"""The writer image: wheels resolved on the host, then ``docker build`` of the top-level Dockerfile.

The tag is content-addressed (``ece573-prj04-writer:<digest of writer/, Dockerfile, .dockerignore, base>``),
so ``ensure_image`` is a no-op when nothing changed. Wheels go to ``build/writer-wheels`` (gitignored) because
``docker build`` here cannot reach PyPI (no CA bundle inside the build); the Dockerfile installs them with
``--no-index`` and falls back to PyPI when the folder is absent (a user with internet and a fresh clone).

A writer of your own (``invoke build --writer-dir PATH``, lab.writer.source) is built from that directory's own
Dockerfile, whatever its language, and tagged by the digest of the directory's files (``.git`` aside) under the
same repository: see ``ensure_source_image``. Its base images must be local or pullable; where one is neither,
the error names it and how to provide it, before docker tries.

``python -m lab.images.writer`` builds if needed and prints only the tag.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

from invoke import Context

from lab import docker
from lab.config import ROOT, ImagesGroup
from lab.digest import tree_digest
from lab.errors import CommandError, LabError, PreconditionError
from lab.images import wheels
from lab.runner import Runner

REPOSITORY = "ece573-prj04-writer"
REQUIREMENTS = ROOT / "writer" / "requirements.txt"
WHEELS = ROOT / "build" / "writer-wheels"
_STAMP = ".requirements-sha256"


def image_tag(base_image: str = "debian:bookworm-slim") -> str:
    """``ece573-prj04-writer:<12 hex>`` from everything that goes into the image."""
    extra = (f"base={base_image}", f"python={wheels.PYTHON_VERSION}", f"platform={wheels.wheel_platform()}")
    digest = tree_digest([ROOT / "writer", ROOT / "Dockerfile", ROOT / ".dockerignore"], extra=extra)
    return f"{REPOSITORY}:{digest}"


def wheel_download_args(requirements: Path, dest: Path) -> list[str]:
    """pip download of binary wheels for the image's interpreter, whatever the host's Python is."""
    return wheels.download_args(dest, requirements=requirements)


def wheels_stamp() -> str:
    """What the wheel folder must have been downloaded for: these exact pins, this architecture."""
    return f"{hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()} {wheels.wheel_platform()}"


def prepare_wheels(runner: Runner, dest: Path = WHEELS) -> Path:
    """Download the pinned wheels unless ``dest`` already holds them for these exact requirements."""
    want = wheels_stamp()
    stamp = dest / _STAMP
    if stamp.is_file() and stamp.read_text().strip() == want and any(dest.glob("*.whl")):
        return dest
    if runner.dry:
        runner.run(wheel_download_args(REQUIREMENTS, dest))
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):  # a changed pin must not leave the old version around for --find-links
        old.unlink()
    try:
        runner.run(wheel_download_args(REQUIREMENTS, dest), hide=True, timeout=600)
    except CommandError as err:
        raise LabError(f"failed to download the writer's wheels from PyPI: {err}") from err
    stamp.write_text(want + "\n")
    return dest


def ensure_image(runner: Runner, *, base_image: str = "debian:bookworm-slim", force: bool = False,
                 quiet: bool = False, source: Path | str | None = None) -> str:
    """Build the writer image unless its content-addressed tag exists; return the tag. With ``source``, the
    writer in that directory instead (``ensure_source_image``; ``base_image`` is then its Dockerfile's)."""
    if source:
        return ensure_source_image(runner, Path(source), force=force, quiet=quiet)
    tag = image_tag(base_image)
    if not force and docker.image_exists(runner, tag):
        return tag
    prepare_wheels(runner)
    try:
        runner.run(docker.build_args(tag, str(ROOT), dockerfile=str(ROOT / "Dockerfile"),
                                     build_args={"BASE_IMAGE": base_image}),
                   hide=quiet, timeout=3600)
    except CommandError as err:
        raise LabError(f"failed to build the writer image {tag}: {err}") from err
    return tag


# -- a writer of your own ---------------------------------------------------------------------------------

#: Not part of what the image is made of: a git checkout's history changes with every commit.
_NOT_CONTENT = {".git"}


def check_source(source: Path) -> Path:
    """The writer directory, resolved, once it holds a Dockerfile; else one line saying what to give."""
    if not source.is_dir():
        raise PreconditionError(f"writer directory {source} not found; give --writer-dir (or lab.writer.source) "
                                "the folder with your writer and its Dockerfile")
    if not (source / "Dockerfile").is_file():
        raise PreconditionError(f"{source} has no Dockerfile; the lab builds a writer of your own with "
                                f"`docker build {source}`, so add one there")
    return source.resolve()


def source_files(source: Path) -> list[Path]:
    """Every file of the writer directory that can go into its image (all but .git), sorted."""
    return sorted(p for p in source.rglob("*") if p.is_file() and not _NOT_CONTENT & set(p.relative_to(source).parts))


def source_tag(source: Path) -> str:
    """``ece573-prj04-writer:<12 hex>`` from the directory's files, named relative to it (a copy elsewhere, or
    another clone, gets the same tag)."""
    digest = hashlib.sha256(b"writer-dir\0")
    for path in source_files(source):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


_FROM = re.compile(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE)


def base_images(dockerfile: str) -> list[str]:
    """The images a Dockerfile builds FROM, in order: not its own earlier stages, not ``scratch``, not a
    reference made of build arguments (``$GO_IMAGE``: docker resolves those, the lab cannot)."""
    stages: set[str] = set()
    found: list[str] = []
    for match in _FROM.finditer(dockerfile):
        image, alias = match.group(1), match.group(2)
        if image.lower() not in stages and image != "scratch" and "$" not in image and image not in found:
            found.append(image)
        if alias:
            stages.add(alias.lower())
    return found


def ensure_base_images(runner: Runner, dockerfile: Path, *, pull_timeout: float = ImagesGroup.pull_timeout) -> None:
    """Each FROM image local, else pulled; one that is neither is one line saying how to provide it."""
    for image in base_images(dockerfile.read_text()):
        if docker.image_exists(runner, image) or docker.pull_image(runner, image, timeout=pull_timeout):
            continue
        raise PreconditionError(
            f"{dockerfile} builds FROM {image}, which is not in the local Docker engine and cannot be pulled here; "
            f"provide it with `docker pull {image}` where a registry answers (`docker save`/`docker load` to bring "
            f"it over), or `docker tag <a local image> {image}`, or change the Dockerfile's FROM")


def ensure_source_image(runner: Runner, source: Path, *, force: bool = False, quiet: bool = False) -> str:
    """Build the writer in ``source`` with its own Dockerfile unless its content tag exists; return the tag."""
    source = check_source(source)
    tag = source_tag(source)
    if not force and docker.image_exists(runner, tag):
        return tag
    dockerfile = source / "Dockerfile"
    ensure_base_images(runner, dockerfile)
    try:
        runner.run(docker.build_args(tag, str(source), dockerfile=str(dockerfile)), hide=quiet, timeout=3600)
    except CommandError as err:
        raise LabError(f"failed to build your writer ({source}) as {tag}: {err}") from err
    return tag


def main(argv: list[str] | None = None) -> int:
    """Print the tag (building first if needed); errors are one line and a non-zero exit."""

    args = sys.argv[1:] if argv is None else argv
    base = args[0] if args else "debian:bookworm-slim"
    runner = Runner(Context(), echo=False)
    try:
        docker.ensure_engine(runner)
        print(ensure_image(runner, base_image=base, quiet=True))
    except LabError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
