"""What earlier tasks decided, for later ones: the image tags that reset and build chose.

``invoke reset`` may build Cassandra locally instead of pulling it, and ``invoke build`` makes a
content-addressed writer tag; ``invoke deploy`` (maybe in a later shell) must apply those same tags. They
live in ``<state_dir>/state.json``. A dry run records nothing on disk: it keeps its values in memory, so
``invoke --dry build deploy`` still shows the tag build would make.
"""

from __future__ import annotations

import json
from pathlib import Path

_DRY: dict[str, str] = {}


def _file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def load(state_dir: Path) -> dict[str, str]:
    path = _file(state_dir)
    data = json.loads(path.read_text()) if path.exists() else {}
    return {**data, **_DRY}


def get(state_dir: Path, key: str) -> str | None:
    return load(state_dir).get(key)


def put(state_dir: Path, key: str, value: str, *, dry: bool = False) -> None:
    if dry:
        _DRY[key] = value
        return
    path = _file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def forget_dry() -> None:
    """Tests start each case clean."""
    _DRY.clear()
