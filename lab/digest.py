"""Content digests: image tags derived from what went into the image, so a rebuild happens only on change."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lab.config import ROOT

_IGNORED_PARTS = {"__pycache__", ".pytest_cache", "build", ".mypy_cache"}

#: Paths are hashed relative to the checkout, so a clone elsewhere (CI's) computes the same tags.


def tree_digest(paths: list[Path | str], *, extra: tuple[str, ...] = (), length: int = 12) -> str:
    """A short sha256 over the relative names and bytes of every file under ``paths``, plus ``extra`` strings.

    Files under __pycache__ or a ``build`` folder are ignored: they are outputs, not inputs.
    """
    digest = hashlib.sha256()
    for value in extra:
        digest.update(b"extra\0" + value.encode() + b"\0")
    for root in sorted(Path(p) for p in paths):
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            name = _stable_name(path)
            if _IGNORED_PARTS.intersection(Path(name).parts) or path.suffix == ".pyc":
                continue
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:length]


def _stable_name(path: Path) -> str:
    """The path as it reads from the repository root (absolute or relative input alike)."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()
