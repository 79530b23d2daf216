"""What earlier tasks decided, for later ones: the image tags that reset and build chose.

``invoke reset`` may build Cassandra locally instead of pulling it, and ``invoke build`` makes a
content-addressed writer tag; ``invoke deploy`` (maybe in a later shell) must apply those same tags. They
live in ``<state_dir>/state.json``. A dry run records nothing on disk: it keeps its values in the record of the
command line it belongs to (``planning``, opened by each task), so ``invoke --dry build deploy`` still shows
the tag build would make, and nothing of it outlives that command line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The dry runs' records, innermost last: empty outside a task (then a dry ``put`` has nowhere to go).
_records: list[dict[str, str]] = []


@contextmanager
def planning(record: dict[str, str]) -> Iterator[dict[str, str]]:
    """Inside the block, a dry ``put`` goes to ``record`` and ``load`` reads it over the file."""
    _records.append(record)
    try:
        yield record
    finally:
        _records.remove(record)


def _file(state_dir: Path) -> Path:
    return state_dir / "state.json"


def load(state_dir: Path) -> dict[str, str]:
    path = _file(state_dir)
    data = json.loads(path.read_text()) if path.exists() else {}
    return {**data, **(_records[-1] if _records else {})}


def get(state_dir: Path, key: str) -> str | None:
    return load(state_dir).get(key)


def put(state_dir: Path, key: str, value: str, *, dry: bool = False) -> None:
    if dry:
        if not _records:
            raise RuntimeError("a dry run records its values inside state.planning()")
        _records[-1][key] = value
        return
    path = _file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
