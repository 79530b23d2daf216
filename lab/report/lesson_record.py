"""The lesson record (``invoke lesson`` writes <artifacts>/lesson/lesson.json): read it into the report,
and place its steps in sections IV (steps 1, 2, 4) and V (step 3 and the side-by-side table).

The record may be absent (no lesson run yet) or hold only some steps (``--step N``): each missing step
becomes a note that names the command producing it, so the hand-in says what is left to do."""

from __future__ import annotations

import json
from typing import Any

from lab.config import LabConfig
from lab.report import lesson_table
from lab.report.model import heading, note, table

SCHEMA = 1
#: The lesson's steps: the section each belongs to and what it shows (used when a step is missing).
STEPS = {
    "1": ("IV", "The seed writer without a topic crash-loops, then without a consistency level"),
    "2": ("IV", "A Cassandra pod deleted under the seed writer: the StatefulSet recreates it; does the writer die?"),
    "4": ("IV", "The robust writer under step 2's fault"),
    "3": ("V", "Stateless: the seed writer redeployed without resume, then with WRITER_RESUME=true"),
}


def path_of(cfg: LabConfig):
    return cfg.path(cfg.artifacts) / "lesson" / "lesson.json"


def read(cfg: LabConfig) -> dict[str, Any]:
    """{"path", "record" (None when absent or unreadable), "error"} for report['lesson']."""
    path = path_of(cfg)
    shown = str(path.relative_to(cfg.root)) if path.is_relative_to(cfg.root) else str(path)
    entry: dict[str, Any] = {"path": shown, "record": None, "error": ""}
    if not path.exists():
        return entry
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        entry["error"] = f"cannot read {shown}: {err}"
        return entry
    if not isinstance(record, dict) or record.get("schema") != SCHEMA or not isinstance(record.get("steps"), dict):
        entry["error"] = f"{shown} is not a lesson record of schema {SCHEMA}"
        return entry
    entry["record"] = record
    return entry


def steps(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The recorded steps by number ("1".."4"); {} without a lesson."""
    record = (report.get("lesson") or {}).get("record") or {}
    return {str(k): v for k, v in (record.get("steps") or {}).items() if isinstance(v, dict)}


def step_facts(report: dict[str, Any], number: str) -> dict[str, Any] | None:
    """A step's facts, or None when the step has not been recorded."""
    step = steps(report).get(number)
    return None if step is None else dict(step.get("facts") or {})


def _section_of(number: str, step: dict[str, Any] | None) -> str:
    """Where a step goes: as its record says, else as the lesson's plan says."""
    return (step or {}).get("section") or STEPS.get(number, ("IV", ""))[0]


def command_for(number: str) -> str:
    return f"invoke lesson --step {number}"


def items_for(report: dict[str, Any], section: str) -> list[dict[str, Any]]:
    """The items section IV or V shows for the lesson: each step's heading and record, or what runs it."""
    lesson = report.get("lesson") or {}
    recorded = steps(report)
    out: list[dict[str, Any]] = []
    if lesson.get("error"):
        out.append(
            note(f"The lesson record is unusable ({lesson['error']}): move it away and run `invoke lesson` again.")
        )
    if section == "V":  # the comparison first, then the steps behind it (derived again: see lesson_table)
        rows = lesson_table.side_by_side(recorded)
        if rows:
            out.append(table(lesson_table.title(recorded), lesson_table.HEADERS, rows))
        elif recorded:
            out.append(
                note("No side-by-side table yet: it fills in as steps 2, 3 and 4 are recorded (`invoke lesson`).")
            )
    for number in sorted(set(STEPS) | set(recorded), key=lambda n: (len(n), n)):
        step = recorded.get(number)
        if _section_of(number, step) != section:
            continue
        if step is None:
            out.append(heading(f"Lesson step {number}: {STEPS[number][1]}"))
            out.append(
                note(f"Not recorded yet: `{command_for(number)}` runs this step on your cluster and records it here.")
            )
            continue
        # the plan's title (a recorded one may claim an outcome the step's facts do not show)
        title = STEPS[number][1] if number in STEPS else step.get("title") or ""
        span = " to ".join(str(t) for t in (step.get("started"), step.get("finished")) if t)
        out.append(heading(f"Lesson step {number}: {title}" + (f" ({span})" if span else "")))
        out.extend(i for i in step.get("items") or [] if isinstance(i, dict) and "type" in i)
    return out
