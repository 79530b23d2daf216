"""Terminal tables and JSON records: how results leave the lab (stdout for people, artifacts/ for tools)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, stream: TextIO | None = None,
          title: str | None = None) -> str:
    """A plain aligned text table (works in pipes and CI logs, unlike box drawing); also printed."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [title] if title else []
    for n, row in enumerate(cells):
        lines.append("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    text = "\n".join(lines)
    print(text, file=stream or sys.stdout, flush=True)
    return text


def write_json(path: Path, record: dict[str, Any]) -> Path:
    """Write one JSON record (sorted keys, so runs diff cleanly); creates the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    return path


def timestamp(now: float | None = None) -> str:
    """UTC, sortable and safe in file names: 20261125T193000Z."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))


def age(seconds: float) -> str:
    """kubectl-style short age: 45s, 3m, 2h, 5d."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
