"""The report's vocabulary: its sections, the items a section holds, and the small helpers that make them.

A report is a plain dict (saved as report.json and rendered again from it), so every item is a dict with
a ``type``: ``command`` (as typed, output, exit status, when and how long), ``note``, ``table``,
``lines`` (a code block; ``lang`` "diff" for your writer's change, else text), ``image``, and from the lesson
record also ``observation`` and ``heading``.
"""

from __future__ import annotations

import shlex
import time
from typing import Any

from lab.report.parse import strip_escapes

SCHEMA = 1
#: Lines of a command's output kept in report.json (head and tail); verify's reads list every seq.
KEEP_LINES = 400
#: Lines of a command's output shown in the report (the tail); the JSON keeps more.
SHOW_LINES = 60

SECTIONS = {
    "II": "kind cluster setup",
    "III": "The Cassandra service",
    "IV": "Build and deploy an application",
    "V": "Stateless application",
}

def utc(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def keep(text: str, limit: int = KEEP_LINES) -> tuple[str, int]:
    """(text without terminal escapes, trimmed to its first and last lines; its total line count)."""
    lines = strip_escapes(text).splitlines()
    if len(lines) <= limit:
        return "\n".join(lines) + ("\n" if lines else ""), len(lines)
    half = limit // 2
    cut = len(lines) - 2 * half
    return "\n".join(lines[:half] + [f"... ({cut} lines not kept) ..."] + lines[-half:]) + "\n", len(lines)


def command_item(argv: list[str], outcome, *, started: float, finished: float, label: str = "",
                 aside: bool = True) -> dict[str, Any]:
    """A command as typed, with its output, exit status, start and duration: the report's evidence (the
    lesson records its commands the same way, so the report renders both alike)."""
    stdout, lines = keep(outcome.stdout)
    stderr, _ = keep(outcome.stderr, 40)
    return {"type": "command", "aside": aside, "label": label, "command": shlex.join(argv), "argv": list(argv),
            "exited": outcome.exited, "stdout": stdout, "stdout_lines": lines, "stderr": stderr,
            "started": utc(started), "seconds": round(finished - started, 2)}


def note(text: str) -> dict[str, Any]:
    return {"type": "note", "text": text}


def table(title: str, headers: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"type": "table", "title": title, "headers": headers, "rows": rows}


def lines(title: str, lines: list[str]) -> dict[str, Any]:
    return {"type": "lines", "title": title, "lines": lines}


def image(path: str, source: str, caption: str) -> dict[str, Any]:
    return {"type": "image", "path": path, "source": source, "caption": caption}


def heading(text: str) -> dict[str, Any]:
    return {"type": "heading", "text": text}
