"""A kind node image with the lab's Cassandra image already in its containerd, so ``invoke up`` loads none.

``kind load docker-image`` saves the image to a tar and streams it into every node's containerd, which stores
and unpacks it there: about a minute for the 518 MB Cassandra image into five nodes on two cores, at every
``invoke up``. kind puts its own images (kube-apiserver, CoreDNS ...) into its node images once, at build time,
instead: run the node image, ``ctr -n k8s.io images import`` with containerd started by hand, ``docker commit``.
This module does the same for the images given, on top of lab.images.kind_node:

- the tag is content-addressed, ``kind-node-lab-preloaded:<digest of the node image's ID, each image's ID and
  the script>``: built once per pair, reused after, and a rebuilt Cassandra image gets a new one;
- the import is ``--no-unpack`` (as kind's own build and lab.images.kindnode do: no overlay snapshots inside
  the build container), so a node unpacks the image only when a pod first runs it, on the nodes that run one;
- the images are not pinned against the kubelet's image garbage collection, as ``kind load`` does not pin
  either (the lab's node image runs containerd 1.6, whose ``ctr images import`` has no ``--label``);
- at ``kind create cluster`` each node's ``/var`` volume starts as a copy of the image's, preloaded images
  included (that is how kind's own arrive on the nodes).

It is not lab.images.kindnode's preload step, although it follows it: every module of that package is part of
the node image's content tag, and sharing code there would rebuild the node image (tens of minutes).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from lab import docker
from lab.errors import CommandError, LabError
from lab.runner import Runner

REPO = "kind-node-lab-preloaded"

#: Inside the build container: containerd by hand (no systemd: the entrypoint is sleep), the import, then
#: containerd stopped so its database is closed before the commit.
SCRIPT = (
    "set -e; containerd >/tmp/containerd.log 2>&1 & pid=$!; "
    "for i in $(seq 60); do ctr version >/dev/null 2>&1 && break; sleep 1; done; "
    "ctr -n k8s.io images import --all-platforms --no-unpack --digests /preload.tar; "
    "ctr -n k8s.io images ls -q; kill $pid; wait $pid || true; rm -rf /tmp/* /run/containerd"
)

#: What ``docker commit`` puts back: kind's entrypoint, which the build container replaced with sleep.
COMMIT_CHANGES = ('ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]', "CMD []")


def image_id(runner: Runner, ref: str) -> str:
    """The local engine's ID of ``ref``; one line when it has none (a dry run plans on a made-up one)."""
    outcome = runner.probe(docker.image_inspect_args(ref), timeout=30)
    if not outcome.ok or not outcome.stdout.strip():
        if runner.dry:
            return f"(the ID {ref} will have)"
        raise LabError(f"image {ref} is not in the local engine; it must be before it can be preloaded")
    return outcome.stdout.strip()


def tag_for(node_id: str, image_ids: list[str]) -> str:
    """The content tag of ``node_id`` with ``image_ids`` preloaded (in that order)."""
    digest = hashlib.sha256("\0".join([SCRIPT, *COMMIT_CHANGES, node_id, *image_ids]).encode()).hexdigest()
    return f"{REPO}:{digest[:12]}"


def ensure_image(runner: Runner, node_image: str, images: list[str]) -> tuple[str, bool]:
    """The node image with ``images`` preloaded: (its tag, whether it was built now). Reused when the tag exists;
    after a build, this repository's other tags are removed (each holds a copy of the images)."""
    tag = tag_for(image_id(runner, node_image), [image_id(runner, ref) for ref in images])
    if docker.image_exists(runner, tag):
        return tag, False
    with tempfile.TemporaryDirectory(prefix="lab-preload-") as tmp:
        tar = Path(tmp) / "preload.tar"
        try:
            runner.run(docker.save_args(str(tar), images), timeout=900)
            _import_and_commit(runner, node_image, tar, tag)
        except CommandError as err:
            raise LabError(f"failed to preload {', '.join(images)} into a node image from {node_image}: {err}") \
                from err
    _prune(runner, keep=tag)
    return tag, True


def _import_and_commit(runner: Runner, node_image: str, tar: Path, tag: str) -> None:
    name = f"kind-node-lab-preloading-{os.getpid()}"
    runner.run(docker.run_detached_args(node_image, name=name, privileged=True, entrypoint="sleep",
                                        volumes=[f"{tar}:/preload.tar:ro"], args=["infinity"]), hide=True, timeout=120)
    try:
        runner.run(docker.exec_args(name, ["bash", "-c", SCRIPT]), hide=True, timeout=900)
        runner.run(docker.stop_args(name, grace=5), hide=True, timeout=60)
        runner.run(docker.commit_args(name, tag, changes=COMMIT_CHANGES), hide=True, timeout=900)
    finally:
        runner.probe(docker.remove_args(name), timeout=120)


def _prune(runner: Runner, *, keep: str) -> None:
    listed = runner.probe(docker.image_refs_args(REPO), timeout=30).stdout.split()
    stale = [ref for ref in listed if ref != keep and not ref.endswith(":<none>")]
    if stale:
        runner.probe(docker.remove_images_args(stale), timeout=300)  # no --force: one a cluster still runs stays
