"""report.md (pure: report dict in, Markdown out); report.html and the PDF are rendered from it."""

from __future__ import annotations

from typing import Any

from lab.report import document
from lab.report.model import SHOW_LINES


def fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def status_line(item: dict[str, Any]) -> str:
    exited = "timed out" if item.get("exited") is None else f"exit {item['exited']}"
    return f"{exited} · ran {item.get('started', '?')} · {float(item.get('seconds') or 0):.2f} s"


def console_lines(item: dict[str, Any]) -> tuple[list[str], int]:
    """The lines a command block shows (``$ command``, the output's tail, stderr) and the output's length."""
    out = (item.get("stdout") or "").splitlines()
    err = (item.get("stderr") or "").strip()
    shown = out[-SHOW_LINES:]
    body = [f"$ {item['command']}"] + shown
    if err:  # kind and cqlsh say useful things there even on success ("No kind nodes found ...")
        body += [f"[stderr] {line}" for line in err.splitlines()[-10:]]
    if not out and not err:
        body.append("(no output)")
    return body, len(shown)


def command_note(item: dict[str, Any]) -> str:
    """Exit status and time, and how much of a long output is shown."""
    lines = (item.get("stdout") or "").splitlines()
    total = item.get("stdout_lines", len(lines))
    shown = min(len(lines), SHOW_LINES)
    return status_line(item) + (f"; last {shown} of {total} lines shown" if total > shown else "")


def command_md(item: dict[str, Any]) -> str:
    body, _ = console_lines(item)
    parts = [f"**{item['label']}**" if item.get("label") else "", fence("\n".join(body), "console"),
             f"<sub>{command_note(item)}</sub>"]
    return "\n\n".join(p for p in parts if p)


def answer_md(answer: dict[str, Any]) -> str:
    return f"**Q: {answer['question']}**\n\n{document.answer_text(answer)}"


def item_md(item: dict[str, Any]) -> str:
    item_type = item["type"]
    if item_type == "command":
        return command_md(item)
    if item_type == "note":
        return f"> {item['text']}"
    if item_type == "observation":
        return f"**Observed** {item.get('at', '')}: {item.get('text', '')}"
    if item_type == "table":
        return f"**{item['title']}**\n\n" + md_table(item["headers"], item["rows"])
    if item_type == "lines":
        return f"**{item['title']}**\n\n" + fence("\n".join(item["lines"]) or "(none)", item.get("lang", "text"))
    if item_type == "image":
        return f"![{item['caption']}]({item['path']})\n\n<sub>{item['caption']}</sub>"
    if item_type == "heading":
        return "#" * item.get("level", 4) + " " + item["text"]
    if item_type == "answers":
        return "\n\n".join(answer_md(a) for a in item["answers"])
    if item_type == "aside":
        return "Other read-only commands behind this part (their output is in report.json):\n\n" + "\n".join(
            f"- `{cell(a['command'])}`: {status_line(a)}" for a in item["commands"])
    return ""


def render_markdown(report: dict[str, Any]) -> str:
    """report.md: the title block and key facts, then one part per assignment section."""
    head = document.title_block(report)
    out = [f"# {head['title']}",
           f"**Name:** {head['name']}\\\n**Course:** {head['course']}\\\n**Date:** {head['date']}",
           document.provenance(report),
           "## Key facts",
           md_table(document.FACT_HEADERS, document.fact_rows(report))]
    for section in document.sections(report):
        out.append(f"## {section['key']}. {section['title']}")
        out += [text for text in (item_md(i) for i in section["items"]) if text]
    return "\n\n".join(out) + "\n"
