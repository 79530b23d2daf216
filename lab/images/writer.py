"""The writer image: wheels resolved on the host, then ``docker build`` of the top-level Dockerfile.

The tag is content-addressed (``ece573-prj04-writer:<digest of writer/, Dockerfile, .dockerignore, base>``),
so ``ensure_image`` is a no-op when nothing changed. Wheels go to ``build/writer-wheels`` (gitignored) because
``docker build`` here cannot reach PyPI (no CA bundle inside the build); the Dockerfile installs them with
``--no-index`` and falls back to PyPI when the folder is absent (a user with internet and a fresh clone).

``python -m lab.images.writer`` builds if needed and prints only the tag.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from invoke import Context

from lab import docker
from lab.config import ROOT
from lab.digest import tree_digest
from lab.errors import CommandError, LabError
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
                 quiet: bool = False) -> str:
    """Build the writer image unless its content-addressed tag exists; return the tag."""
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
