"""The commands' printed output: what the lab reads from it (pure parsers: text in, data out) and what it keeps of
a command as evidence (``command_item``: the report's sections and the lesson's record keep commands alike).

The parsers read kind, docker, crictl and kubectl's tables and lines, and the writer's log lines (``RESUME``,
``PROGRESS``), for the report, the lesson and the bench.
"""

from __future__ import annotations

import re
import shlex
import time
from typing import Any

from lab.runner import Outcome

#: The writer's start line ("<topic>: start from lastSeq=<n>").
RESUME = re.compile(r"(\S+): start from lastSeq=(\d+)")
#: The writer's progress line ("<topic>: inserted rows to seq <n>"); the lesson and the bench read it too.
PROGRESS = re.compile(r"(\S+): inserted rows to seq (\d+)")
_RUNNING_AT = re.compile(r"^(.+?) is running at (\S+)", re.M)
#: Colour and cursor escapes (kubectl cluster-info colours its output even into a pipe): not text.
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_escapes(text: str) -> str:
    return _ESCAPES.sub("", text)


def kind_nodes(text: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines()
                  if line.strip() and not line.startswith("No kind nodes") and " " not in line.strip())


def docker_ps(text: str) -> list[dict[str, str]]:
    """Rows of ``docker ps --format 'table ...'``: columns are separated by 2+ spaces (tabwriter)."""
    rows = [line for line in text.splitlines() if line.strip()]
    if not rows or not rows[0].startswith("CONTAINER ID"):
        return []
    headers = [h.strip().lower().replace(" ", "_") for h in re.split(r"\s{2,}", rows[0].strip())]
    return [dict(zip(headers, re.split(r"\s{2,}", line.strip()), strict=False)) for line in rows[1:]]


def crictl_names(text: str) -> list[str]:
    """The NAME column of ``crictl ps`` (found by its header, since the columns before it vary)."""
    rows = [line for line in text.splitlines() if line.strip()]
    if not rows or "NAME" not in rows[0]:
        return []
    headers = re.split(r"\s{2,}", rows[0].strip())
    if "NAME" not in headers:
        return []
    at = headers.index("NAME")
    names = []
    for line in rows[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) == len(headers):
            names.append(cells[at])
    return names


def versions(text: str) -> dict[str, str]:
    """``kubectl version``: {'client': 'v1.30.0', 'server': 'v1.30.0'} (server absent without a cluster)."""
    found = {}
    for key, label in (("client", "Client Version"), ("server", "Server Version")):
        match = re.search(rf"^{label}:\s*(\S+)", text, re.M)
        if match:
            found[key] = match.group(1)
    return found


def cluster_info(text: str) -> dict[str, str]:
    """``kubectl cluster-info``: {'Kubernetes control plane': 'https://127.0.0.1:39321', 'CoreDNS': ...}."""
    return {m.group(1).strip(): m.group(2) for m in _RUNNING_AT.finditer(strip_escapes(text))}


def log_starts(lines: list[str]) -> list[tuple[str, int]]:
    """(topic, N) of every ``<topic>: start from lastSeq=N`` line, in order."""
    return [(m.group(1), int(m.group(2))) for m in (RESUME.search(line) for line in lines) if m]


def last_progress(lines: list[str]) -> int | None:
    """The highest ``inserted rows to seq N`` in the lines, or None."""
    seqs = [int(m.group(2)) for m in (PROGRESS.search(line) for line in lines) if m]
    return max(seqs) if seqs else None


#: Lines of a command's output kept in report.json and the lesson record (head and tail); verify's reads list
#: every seq.
KEEP_LINES = 400


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


def command_item(argv: list[str], outcome: Outcome, *, started: float, finished: float, label: str = "",
                 aside: bool = True) -> dict[str, Any]:
    """A command as typed, with its output, exit status, start and duration: the report's evidence (the
    lesson records its commands the same way, so the report renders both alike)."""
    stdout, lines = keep(outcome.stdout)
    stderr, _ = keep(outcome.stderr, 40)
    return {"type": "command", "aside": aside, "label": label, "command": shlex.join(argv), "argv": list(argv),
            "exited": outcome.exited, "stdout": stdout, "stdout_lines": lines, "stderr": stderr,
            "started": utc(started), "seconds": round(finished - started, 2)}
