"""kind's default CNI and storage manifests, read from its Go sources, with our substitute images in them, and
the NetworkPolicy controller (components/kube-router.yaml) added to the CNI manifest."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lab.errors import LabError
from lab.images.kindnode.pins import KUBE_ROUTER_IMAGE, RECIPE, lab_images

#: Where kube-router.yaml names its image; the recipe fills in the one it built.
IMAGE_PLACEHOLDER = "KUBE_ROUTER_IMAGE"


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


def node_manifests(kind_dir: Path, digest: str) -> dict[str, str]:
    """kind's default CNI and storage manifests, with our substitute images named in them; the CNI manifest
    also runs kube-router's NetworkPolicy controller, so the lab's NetworkPolicies are enforced (kind applies
    this file, a Go template, when it creates a cluster; kube-router.yaml has no template actions)."""
    nodeimage = kind_dir / "pkg" / "build" / "nodeimage"
    cni = go_constant((nodeimage / "const_cni.go").read_text(), "defaultCNIManifest")
    storage = go_constant((nodeimage / "const_storage.go").read_text(), "defaultStorageManifest")
    for upstream, ours in lab_images(digest).items():
        cni, storage = cni.replace(upstream, ours), storage.replace(upstream, ours)
    policies = (RECIPE / "components" / "kube-router.yaml").read_text().replace(IMAGE_PLACEHOLDER, KUBE_ROUTER_IMAGE)
    return {"default-cni.yaml": cni.rstrip("\n") + "\n---\n" + policies, "default-storage.yaml": storage}
