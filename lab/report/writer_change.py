"""Section V's hand-in of your own writer: the change you made to its source, as ``git diff`` shows it, beside
the resume the lab observed (``start from lastSeq=N``, N against the last_seq stored in Cassandra).

The writer directory is the one ``invoke build --writer-dir`` recorded (or lab.writer.source). The diff is of
that directory's files, from the first commit that holds them (or ``--writer-base REF``) to the working tree, so
an uncommitted change counts too. The lab's own writer has no such part; a directory that is not a git
checkout gets one sentence saying so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab import workflow
from lab.config import LabConfig
from lab.errors import PreconditionError
from lab.report.model import lines, note
from lab.runner import Runner

if TYPE_CHECKING:  # collect.py imports this module
    from lab.report.collect import Collector

#: Lines of the diff shown in the report; a longer one is cut there, and the report says so.
DIFF_LINES = 400


def source_dir(cfg: LabConfig) -> Path | None:
    """Your writer's directory (the one the writer image was built from), or None for the lab's writer."""
    return workflow.writer_source_dir(workflow.with_built_writer(cfg))


def _git(folder: Path, *args: str) -> list[str]:
    return ["git", "-C", str(folder), *args]


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def is_checkout(runner: Runner, folder: Path) -> bool:
    return runner.probe(_git(folder, "rev-parse", "--is-inside-work-tree"), timeout=30).stdout.strip() == "true"


def first_commit(runner: Runner, folder: Path) -> str | None:
    """The oldest commit holding the directory's files (its writer as first committed), or None if none does."""
    out = runner.probe(_git(folder, "rev-list", "--reverse", "HEAD", "--", "."), timeout=60)
    if not out.ok:
        return None
    return _first_line(out.stdout) or None


def check_base(runner: Runner, cfg: LabConfig, base: str) -> None:
    """``--writer-base REF`` names a commit of your writer's checkout; else one PreconditionError line."""
    folder = source_dir(cfg)
    if folder is None:
        raise PreconditionError(f"--writer-base {base}: the writer is the lab's own; it applies to a writer built "
                                "with `invoke build --writer-dir PATH`")
    if not is_checkout(runner, folder):
        raise PreconditionError(f"--writer-base {base}: the writer directory {folder} is not a git checkout")
    if not runner.probe(_git(folder, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"), timeout=30).ok:
        raise PreconditionError(f"--writer-base {base}: no such commit in {folder}")


def collect(col: Collector, items: list[dict[str, Any]], *, base: str = "") -> None:
    """Append the writer's change (or why there is none) to section V's ``items``; record it in the data."""
    folder = source_dir(col.cfg)
    if folder is None:
        return
    if not is_checkout(col.rec, folder):
        col.data["writer_change"] = {"dir": str(folder), "git": False}
        items.append(note(f"Your writer's directory {folder} is not a git checkout, so the report cannot show "
                          "your change to it (`git init` there and commit the assignment's writer before you change "
                          "it)."))
        return
    base = base or first_commit(col.rec, folder) or ""
    if not base:
        items.append(note(f"Your writer's checkout {folder} has no commit holding its files yet: no change to show."))
        return
    out = col.rec.probe(_git(folder, "diff", "--no-color", "--no-ext-diff", base, "--", "."), timeout=60)
    if not out.ok:
        items.append(note(f"Not collected: your change to the writer (git diff failed: "
                          f"{_first_line(out.stderr) or 'no output'})."))
        return
    diff = out.stdout.splitlines()
    shown = diff[:DIFF_LINES]
    col.data["writer_change"] = {"dir": str(folder), "git": True, "base": base, "lines": len(diff),
                                 "cut": len(diff) > len(shown)}
    command = f"git diff {base[:12]} -- ."
    if not diff:
        items.append(note(f"Your writer's source in {folder} is unchanged since {base[:12]} (`{command}` is empty)."))
    else:
        items.append({**lines(f"Your change to the writer: `{command}` in {folder}", shown), "lang": "diff"})
        if len(diff) > len(shown):
            items.append(note(f"The diff is cut at {DIFF_LINES} of its {len(diff)} lines; `git -C {folder} "
                              f"diff {base[:12]} -- .` shows all of it."))
    items.append(note(observed(col.data, col.cfg.topic)))


def observed(data: dict[str, Any], topic: str) -> str:
    """What the lab saw the changed writer do: its last ``start from lastSeq=N`` against the stored last_seq."""
    starts = (data.get("resume") or {}).get("starts") or []
    stored = ((data.get("progress") or {}).get(topic) or {}).get("last_seq")
    now = f"; topic {topic}'s last_seq stored in Cassandra is {stored} now" if stored is not None else ""
    if not starts:
        return ("Observed on the lab: no `start from lastSeq=` line in the writer's logs yet, so the change's effect "
                f"is not shown{now}.")
    last = starts[-1]
    seen = f"Observed on the lab: the writer's last start was `start from lastSeq={last['seq']}` ({last['source']})"
    if last["seq"] == 0:
        return seen + f": from 0, not from stored progress{now}."
    if stored is None:
        return seen + ": it resumed from progress stored in Cassandra."
    if last["seq"] <= stored:
        return (seen + f": it resumed from progress stored in Cassandra{now} (at or above N: the writer wrote on "
                "since it started).")
    return seen + f", above the last_seq stored now ({stored}): it did not start from the stored progress."
