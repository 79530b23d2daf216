"""The report's vocabulary: its sections, the items a section holds, its key facts and answers, and the small
helpers that make them.

A report is a plain dict (saved as report.json and rendered again from it), so every item is a dict with
a ``type``: ``command`` (as typed, output, exit status, when and how long), ``note``, ``table``,
``lines`` (a code block; ``lang`` "diff" for your writer's change, else text), ``image``, and from the lesson
record also ``observation`` and ``heading``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA = 1
#: Lines of a command's output shown in the report (the tail); the JSON keeps more.
SHOW_LINES = 60

SECTIONS = {
    "II": "kind cluster setup",
    "III": "The Cassandra service",
    "IV": "Build and deploy an application",
    "V": "Stateless application",
}

@dataclass(frozen=True)
class Fact:
    """One thing the report shows at a glance (its key facts); ``ok`` None for information without a bar."""

    section: str
    name: str
    value: str
    expected: str = ""
    ok: bool | None = None


NOT_COLLECTED = "not collected"


def fact(section: str, name: str, value: Any, expected: Any = "", ok: bool | None = None) -> Fact:
    """A key fact; ``value`` None: not collected."""
    return Fact(section, name, NOT_COLLECTED if value is None else str(value), str(expected), ok)


@dataclass(frozen=True)
class Answer:
    """One of the assignment's questions answered from this cluster's data."""

    section: str
    question: str
    answer: str
    missing: tuple[str, ...] = ()  # the commands that produce the data still missing from the answer


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
