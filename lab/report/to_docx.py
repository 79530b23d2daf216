"""report.docx (python-docx): the same parts as report.md, in Word's own structure: headings, tables,
monospace blocks for command output, and the chaos timelines as pictures. Page setup A4, narrow margins,
so wide command output wraps less."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from lab.report import document
from lab.report.to_markdown import command_note, console_lines, status_line

MONO = "DejaVu Sans Mono"
_CODE = re.compile(r"`([^`]+)`")


def _inline(paragraph, text: str, *, bold: bool = False) -> None:
    """Text with `code` spans set in the monospace font."""
    for n, part in enumerate(_CODE.split(text)):
        if part:
            run = paragraph.add_run(part)
            run.bold = bold
            if n % 2:
                _mono(run)


def _mono(run, size: float | None = None) -> None:

    run.font.name = MONO
    run.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), MONO)
    if size:
        run.font.size = Pt(size)


def _shade(paragraph, fill: str) -> None:

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    paragraph.paragraph_format.element.get_or_add_pPr().append(shd)


def _block(doc, lines: list[str]) -> None:
    """A console block: one shaded paragraph, a line break per output line."""

    para = doc.add_paragraph()
    para.paragraph_format.space_after = Pt(2)
    _shade(para, "F2F4F7")
    for n, line in enumerate(lines):
        run = para.add_run(line)
        _mono(run, 6.5)
        if n < len(lines) - 1:
            run.add_break()


def _small(doc, text: str) -> None:

    run = doc.add_paragraph().add_run(text)
    run.font.size = Pt(7.5)
    run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)


def _table(doc, headers: list[str], rows: list[list[Any]], *, size: float = 7.5) -> None:

    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        run = cell.paragraphs[0].add_run(str(text))
        run.bold, run.font.size = True, Pt(size)
    for row in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=False):
            cell.paragraphs[0].add_run("" if text is None else str(text)).font.size = Pt(size)
    doc.add_paragraph()


def _item(doc, item: dict[str, Any], folder: Path) -> None:

    item_type = item["type"]
    if item_type == "command":
        if item.get("label"):
            _inline(doc.add_paragraph(), item["label"], bold=True)
        lines, _ = console_lines(item)
        _block(doc, lines)
        _small(doc, command_note(item))
    elif item_type == "note":
        para = doc.add_paragraph(style="Intense Quote")
        _inline(para, item["text"])
    elif item_type == "observation":
        para = doc.add_paragraph()
        para.add_run(f"Observed {item.get('at', '')}: ").bold = True
        _inline(para, item.get("text", ""))
    elif item_type == "table":
        _inline(doc.add_paragraph(), item["title"], bold=True)
        _table(doc, item["headers"], item["rows"])
    elif item_type == "lines":
        _inline(doc.add_paragraph(), item["title"], bold=True)
        _block(doc, item["lines"] or ["(none)"])
    elif item_type == "image":
        picture = folder / item["path"]
        if picture.is_file():
            doc.add_picture(io.BytesIO(picture.read_bytes()), width=Mm(170))
        _small(doc, item["caption"])
    elif item_type == "heading":
        doc.add_heading(item["text"], level=min(item.get("level", 4) - 1, 9))
    elif item_type == "answers":
        for answer in item["answers"]:
            _inline(doc.add_paragraph(), f"Q: {answer['question']}", bold=True)
            _inline(doc.add_paragraph(), document.answer_text(answer))
    elif item_type == "aside":
        doc.add_paragraph("Other read-only commands behind this part (their output is in report.json):")
        for command in item["commands"]:
            para = doc.add_paragraph(style="List Bullet")
            _mono(para.add_run(command["command"]), 7)
            para.add_run(f": {status_line(command)}")


def render_docx(report: dict[str, Any], target: Path, *, folder: Path) -> Path:
    """Write report.docx; pictures are read from ``folder`` (where write_report copied them)."""

    doc = Document()
    for part in doc.sections:
        part.page_width, part.page_height = Mm(210), Mm(297)
        part.left_margin = part.right_margin = Mm(16)
        part.top_margin = part.bottom_margin = Mm(16)
    doc.styles["Normal"].font.size = Pt(9.5)
    head = document.title_block(report)
    doc.add_heading(head["title"], level=0)
    for label in ("name", "course", "date"):
        para = doc.add_paragraph()
        para.paragraph_format.space_after = Pt(0)
        para.add_run(f"{label.capitalize()}: ").bold = True
        para.add_run(head[label])
    _inline(doc.add_paragraph(), document.provenance(report))
    doc.add_heading("Key facts", level=1)
    _table(doc, document.FACT_HEADERS, document.fact_rows(report))
    for section in document.sections(report):
        doc.add_heading(f"{section['key']}. {section['title']}", level=1)
        for item in section["items"]:
            _item(doc, item, folder)
    doc.core_properties.title = head["title"]
    doc.core_properties.author = (report.get("hand_in") or {}).get("name", "")
    doc.save(str(target))
    return target
