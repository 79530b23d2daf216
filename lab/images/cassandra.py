"""The lab's Cassandra image: jars from Maven Central and cqlsh wheels from PyPI, built without a registry.

A ``docker build`` behind a proxy or without a registry may reach Debian's mirror yet lack the CA bundle
that Maven Central and PyPI need, so both are fetched on the host into ``images/cassandra/build/``
(gitignored) and COPYed in.
The tag is content-addressed (``cassandra-lab:<version>-<digest of images/cassandra and the
versions>``): an unchanged image is found, not rebuilt, and nothing is fetched for it.

    python -m lab.images.cassandra [--version 5.0.9] [--force]

prints only the tag on stdout (progress goes to stderr), for ``export CASSANDRA_IMAGE=$(...)``.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
from pathlib import Path

from invoke import Context

from lab import docker
from lab.config import ROOT
from lab.digest import tree_digest
from lab.errors import LabError, PreconditionError
from lab.images import wheels
from lab.images.cli import print_tag
from lab.runner import Runner

#: Apache Cassandra release packed into the image (5.0.x: the first line that runs on Java 17).
DEFAULT_VERSION = "5.0.9"
#: cqlsh from PyPI; 6.2 speaks Cassandra 5.0's protocol.
CQLSH_VERSION = "6.2.2"
#: Repository part of the tag; the tag itself is ``<version>-<digest>``.
IMAGE_NAME = "cassandra-lab"

IMAGE_DIR = ROOT / "images" / "cassandra"
BUILD_DIR = IMAGE_DIR / "build"
JARS_DIR = BUILD_DIR / "lib"
WHEELS_DIR = BUILD_DIR / "wheels"



def image_tag(version: str = DEFAULT_VERSION) -> str:
    """The content-addressed tag for ``version``, computed from the image's sources alone."""
    # Relative paths, so a clone in another folder (CI's) computes the same tag.
    with contextlib.chdir(ROOT):
        digest = tree_digest([IMAGE_DIR.relative_to(ROOT)], extra=(version, CQLSH_VERSION))
    return f"{IMAGE_NAME}:{version}-{digest}"


def mvn_args(version: str, jars_dir: Path = JARS_DIR) -> list[str]:
    """``mvn`` resolving cassandra-all ``version`` and its runtime dependencies into ``jars_dir``."""
    return ["mvn", "--batch-mode", "--quiet", "--file", str(IMAGE_DIR / "pom.xml"),
            f"-Dcassandra.version={version}", f"-Djars.dir={jars_dir}", "package"]


def wheel_download_args(wheels_dir: Path = WHEELS_DIR) -> list[str]:
    """cqlsh and its dependencies as binary wheels for the image's python3 (lab.images.wheels): no build tools
    in the image, and any host Python will do."""
    return wheels.download_args(wheels_dir, packages=(f"cqlsh=={CQLSH_VERSION}",))


def resolve_jars(runner: Runner, version: str) -> None:
    """Fill build/lib with ``version``'s jars, unless a previous run already did."""
    stamp = BUILD_DIR / "jars.version"
    if _stamped(stamp, version) and (JARS_DIR / f"cassandra-all-{version}.jar").is_file():
        return
    if shutil.which("mvn") is None:
        raise PreconditionError(
            "mvn not found on PATH; install Maven 3 (apt-get install maven) to fetch Cassandra's jars"
        )
    # Another version's jars left beside these would end up on the same classpath.
    if not runner.dry:
        shutil.rmtree(JARS_DIR, ignore_errors=True)
        stamp.unlink(missing_ok=True)
    try:
        runner.run(mvn_args(version), timeout=1800)
    except LabError as err:
        raise LabError(f"failed to resolve cassandra-all {version} from Maven Central: {err}") from err
    if not runner.dry:
        stamp.write_text(version + "\n")


def fetch_wheels(runner: Runner) -> None:
    """Fill build/wheels with cqlsh's wheels, unless a previous run already did."""
    stamp = BUILD_DIR / "wheels.version"
    wanted = f"{CQLSH_VERSION} {wheels.wheel_platform()}"
    if _stamped(stamp, wanted) and any(WHEELS_DIR.glob("cqlsh-*.whl")):
        return
    if not runner.dry:
        shutil.rmtree(WHEELS_DIR, ignore_errors=True)
        stamp.unlink(missing_ok=True)
    try:
        runner.run(wheel_download_args(), timeout=900)
    except LabError as err:
        raise LabError(f"failed to fetch cqlsh {CQLSH_VERSION} from PyPI: {err}") from err
    if not runner.dry:
        stamp.write_text(wanted + "\n")


def ensure_image(runner: Runner, *, version: str = DEFAULT_VERSION, force: bool = False) -> str:
    """Build the Cassandra image for ``version`` unless its content-addressed tag exists; return the tag.

    Raises PreconditionError when docker or mvn are missing, LabError when a fetch or the
    build fails.
    """
    docker.ensure_engine(runner)
    tag = image_tag(version)
    if not force and docker.image_exists(runner, tag):
        return tag
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    resolve_jars(runner, version)
    fetch_wheels(runner)
    try:
        docker.build_image(runner, tag, str(IMAGE_DIR))
    except LabError as err:
        raise LabError(f"failed to build {tag}: {err}") from err
    return tag


def _stamped(stamp: Path, value: str) -> bool:
    return stamp.is_file() and stamp.read_text().strip() == value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.images.cassandra", description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=DEFAULT_VERSION, help="Apache Cassandra 5.0.x release to pack")
    parser.add_argument("--force", action="store_true", help="rebuild even when the tag exists")
    parser.add_argument("--dry", action="store_true", help="print the commands instead of running them")
    args = parser.parse_args(argv)
    if not args.version.startswith("5.0."):
        print(f"error: Cassandra {args.version} is not a 5.0.x release (the image runs Java 17)", file=sys.stderr)
        return 2
    return print_tag(lambda: ensure_image(Runner(Context(), dry=args.dry), version=args.version, force=args.force))


if __name__ == "__main__":
    sys.exit(main())
