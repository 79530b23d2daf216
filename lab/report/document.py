"""The order of the hand-in, once for every output format: a title block, the key facts, then per
section its answers, what the cluster shows now, and (IV, V) the lesson as recorded.

``sections(report)`` returns per section a flat list of items in the report's vocabulary plus three
layout items: ``answers``, ``heading`` (with a level) and ``aside`` (the read-only commands behind a part,
listed rather than printed). Renderers walk that list; none decides order on its own."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from lab.report import lesson_record
from lab.report.answers import answers as write_answers
from lab.report.facts import key_facts
from lab.report.model import Fact

FACT_HEADERS = ["section", "fact", "value", "expected", ""]


def title_block(report: dict[str, Any]) -> dict[str, str]:
    hand_in = report.get("hand_in") or {}
    return {"title": hand_in.get("title") or f"Lab report: kind cluster {report['cluster']}",
            "name": hand_in.get("name") or "(not set: lab.report.name in invoke.yaml)",
            "course": hand_in.get("course") or "", "date": hand_in.get("date") or report["generated_at"][:10]}


def provenance(report: dict[str, Any]) -> str:
    return (
        f"Collected {report['generated_at']} by `invoke report` from kind cluster `{report['cluster']}` (context "
        f"`{report['context']}`, namespace `{report['namespace']}`, writer topic `{report['topic']}`, consistency "
        f"{report['consistency']}): {report.get('commands', 0)} read-only commands in {report.get('seconds', 0)} s. "
        "Each command is shown as typed, with its output, exit status, when it ran and how long it took."
    )


def facts(report: dict[str, Any]) -> list[Fact]:
    return [Fact(**f) for f in report.get("facts", [])] or key_facts(report)


def fact_rows(report: dict[str, Any]) -> list[list[str]]:
    return [
        [f.section, f.name, f.value, f.expected, "" if f.ok is None else ("✓" if f.ok else "✗")] for f in facts(report)
    ]


def answers(report: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = report.get("answers")
    if found is None:
        found = [{**asdict(a), "missing": list(a.missing)} for a in write_answers(report)]
    return [a for a in found if a["section"] == key]


def answer_text(answer: dict[str, Any]) -> str:
    """"A: ..." and, for an answer still missing data, the commands that record it."""
    text = f"A: {answer['answer']}"
    if answer.get("missing"):
        text += " Run " + " or ".join(f"`{c}`" for c in answer["missing"]) + " to record it."
    return text


def _group(title: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A part of a section; the read-only commands behind it are listed at the end of each sub-part."""
    out: list[dict[str, Any]] = [{"type": "heading", "level": 3, "text": title}]
    aside: list[dict[str, Any]] = []
    for item in items + [{"type": "end"}]:
        if item["type"] == "command" and item.get("aside"):
            aside.append(item)
            continue
        if item["type"] in ("heading", "end") and aside:
            out.append({"type": "aside", "commands": aside})
            aside = []
        if item["type"] != "end":
            out.append(item if item["type"] != "heading" else {"level": 4, **item})
    return out


def sections(report: dict[str, Any]) -> list[dict[str, Any]]:
    """[{"key", "title", "items"}] in the assignment's order."""
    out = []
    for key, section in report["sections"].items():
        items: list[dict[str, Any]] = [{"type": "answers", "answers": answers(report, key)}]
        items += _group("What the cluster shows", section["items"])
        if key in ("IV", "V"):
            items += _group("The lesson, as recorded by invoke lesson", lesson_record.items_for(report, key))
        out.append({"key": key, "title": section["title"], "items": items})
    return out
