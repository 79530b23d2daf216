"""kind's default CNI and storage manifests, read from its Go sources, with our substitute images in them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from lab.errors import LabError
from lab.images.kindnode.pins import lab_images


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
    """kind's default CNI and storage manifests, with our substitute images named in them."""
    nodeimage = kind_dir / "pkg" / "build" / "nodeimage"
    cni = go_constant((nodeimage / "const_cni.go").read_text(), "defaultCNIManifest")
    storage = go_constant((nodeimage / "const_storage.go").read_text(), "defaultStorageManifest")
    for upstream, ours in lab_images(digest).items():
        cni, storage = cni.replace(upstream, ours), storage.replace(upstream, ours)
    return {"default-cni.yaml": cni, "default-storage.yaml": storage}
