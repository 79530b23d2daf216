"""Files: report.json (the collected dict), the PNGs beside it, report.md and report.html; report.docx
and report.pdf on request. ``load_report`` reads a saved report.json back, for a re-render."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import extras, output
from lab.errors import PreconditionError
from lab.report import to_pdf
from lab.report.model import SCHEMA
from lab.report.to_html import render_html
from lab.report.to_markdown import render_markdown

#: What the user typed to get a .docx: the missing extra's line names it (report.pdf's: to_pdf.NEEDED_BY).
DOCX_NEEDED_BY = "invoke report --docx"


def images_in(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Image items of the sections and of the lesson's steps."""
    items = [i for s in report["sections"].values() for i in s["items"]]
    record = (report.get("lesson") or {}).get("record") or {}
    items += [i for step in (record.get("steps") or {}).values() if isinstance(step, dict)
              for i in step.get("items") or [] if isinstance(i, dict)]
    return [i for i in items if i.get("type") == "image"]


def write_report(report: dict[str, Any], folder: Path) -> dict[str, Path]:
    """report.json, the PNGs (copied beside it), report.md and report.html into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for image in images_in(report):
        source, target = Path(image["source"]), folder / image["path"]
        if source.is_file() and source.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    paths = {"json": output.write_json(folder / "report.json", report)}
    return {**paths, **render_into(report, folder)}


def render_into(report: dict[str, Any], folder: Path) -> dict[str, Path]:
    images = {i["path"]: (folder / i["path"]).read_bytes() for i in images_in(report) if (folder / i["path"]).is_file()}
    md, page = folder / "report.md", folder / "report.html"
    md.write_text(render_markdown(report))
    page.write_text(render_html(report, images))
    return {"md": md, "html": page}


def require_hand_in(*, pdf: bool, docx: bool) -> None:
    """MissingExtra, before anything is collected, when the report extra a hand-in file needs is not installed."""
    if pdf:
        extras.require("weasyprint", needed_by=to_pdf.NEEDED_BY)
    if docx:
        extras.require("docx", needed_by=DOCX_NEEDED_BY)


def write_hand_in(report: dict[str, Any], folder: Path, *, pdf: bool, docx: bool,
                  written: Callable[[Path], None] = lambda path: None) -> dict[str, Path]:
    """report.docx, then report.pdf (from report.html, already in ``folder``); ``written`` hears of each
    file as it lands. The PDF goes last: it needs system libraries, and a machine without them still gets
    every other file (the PreconditionError comes after they are written)."""
    paths = {}
    if docx:
        extras.load("docx", needed_by=DOCX_NEEDED_BY)  # python-docx: the report extra
        from lab.report.to_docx import render_docx

        paths["docx"] = render_docx(report, folder / "report.docx", folder=folder)
        written(paths["docx"])
    if pdf:
        from lab.report.to_pdf import render_pdf

        paths["pdf"] = render_pdf((folder / "report.html").read_text(), folder / "report.pdf", base=folder)
        written(paths["pdf"])
    return paths


def load_report(path: Path) -> dict[str, Any]:
    """A saved report.json (or the folder holding one); PreconditionError when it is not one."""
    path = path / "report.json" if path.is_dir() else path
    try:
        report = json.loads(path.read_text())
    except OSError as err:
        raise PreconditionError(f"cannot read {path}: {err.strerror or err}") from None
    except ValueError as err:
        raise PreconditionError(f"{path} is not JSON: {err}") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA or "sections" not in report:
        raise PreconditionError(f"{path} is not a report.json written by `invoke report` (schema {SCHEMA})")
    return report
