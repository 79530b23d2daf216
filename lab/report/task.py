"""The ``report`` task: collect (or re-render a saved report.json), write the files, print the key facts
and the paths; ``--pdf``/``--docx`` add the hand-in; ``--check`` fails on a key fact below its bar."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lab import output
from lab.context import Lab
from lab.errors import LabError, PreconditionError
from lab.report import writer_change
from lab.report.collect import collect, derive, refresh_hand_in
from lab.report.files import load_report, render_into, require_hand_in, write_hand_in, write_report
from lab.report.model import Fact


def _rerender(path: Path, hand_in: Mapping[str, str] | None = None) -> tuple[dict[str, Any], Path, dict[str, Path]]:
    """A saved report.json rendered again as md and html (facts and answers recomputed, the title block
    refreshed from ``hand_in``, today's lab.report.*) in its folder."""
    report = load_report(path)
    if hand_in is not None:
        report["hand_in"] = refresh_hand_in(report.get("hand_in") or {}, hand_in)
    report = derive(report)
    folder = path if path.is_dir() else path.parent
    return report, folder, render_into(report, folder)


def rerender_report(path: Path, *, pdf: bool = False, docx: bool = False,
                    hand_in: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Render a saved report.json again into its own folder; the hand-in files on request."""
    report, folder, paths = _rerender(path, hand_in)
    return {**paths, **write_hand_in(report, folder, pdf=pdf, docx=docx)}


def run_report(lab: Lab, *, out: str = "reports", tail: int = 20, now: float | None = None, pdf: bool = False,
               docx: bool = False, writer_base: str = "") -> Path:
    """``invoke report``: collect, write reports/<timestamp>/, print the key facts; returns the folder."""
    if tail < 1:
        raise PreconditionError(f"--tail {tail}: need at least 1 line")
    if writer_base:
        writer_change.check_base(lab.runner, lab.cfg, writer_base)
    base = lab.cfg.path(out)
    if base.exists() and not base.is_dir():
        raise PreconditionError(f"--out {out}: {base} is a file, not a folder")
    report = collect(lab, tail=tail, writer_base=writer_base)
    folder = base / output.timestamp(now)
    try:
        paths = write_report(report, folder)
    except OSError as err:
        raise PreconditionError(f"cannot write the report into {folder}: {err.strerror or err}") from None
    facts = [Fact(**f) for f in report["facts"]]
    output.table(
        ["section", "fact", "value", "expected", ""],
        [[f.section, f.name, f.value, f.expected, "" if f.ok is None else ("ok" if f.ok else "NO")] for f in facts],
        title="Key facts",
    )
    _print_paths(paths)
    # Each path is printed as it is written: if the PDF cannot be made, the user sees what is there.
    write_hand_in(report, folder, pdf=pdf, docx=docx, written=print)
    if not report["hand_in"].get("name") and (pdf or docx):
        flags = " --pdf" * pdf + " --docx" * docx
        print("note: the title block has no name; set lab.report.name in invoke.yaml and re-render with "
              f"`invoke report --rerender {folder}{flags}`")
    return folder


def _print_paths(paths: dict[str, Path]) -> None:
    for name in ("md", "html", "json"):
        if name in paths:
            print(paths[name])


def failed_facts(report_folder: Path) -> list[Fact]:
    """Facts with a bar that the report in ``report_folder`` does not meet (for ``invoke report --check``)."""
    return [f for f in (Fact(**d) for d in load_report(report_folder)["facts"]) if f.ok is False]


def run(open_lab: Callable[[], Any], *, out: str = "reports", tail: int = 20, rerender: str = "",
        check: bool = False, pdf: bool = False, docx: bool = False, hand_in: Mapping[str, str] | None = None,
        writer_base: str = "") -> Path:
    """The ``report`` task: collect and write (or re-render a saved report.json); with ``check``, LabError
    (exit 1) naming each key fact that misses its bar. ``hand_in`` (lab.report.*) refreshes a re-render's
    title block. Returns the report's folder."""
    require_hand_in(pdf=pdf, docx=docx)  # a missing extra is said before a minute of collecting, not after
    if rerender:
        report, folder, paths = _rerender(Path(rerender), hand_in)
        _print_paths(paths)
        write_hand_in(report, folder, pdf=pdf, docx=docx, written=print)
    else:
        folder = run_report(open_lab(), out=out, tail=tail, pdf=pdf, docx=docx, writer_base=writer_base)
    missed = failed_facts(folder) if check else []
    if missed:
        raise LabError("report: " + "; ".join(f"{f.name} is {f.value}, expected {f.expected}" for f in missed))
    return folder
