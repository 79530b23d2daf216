"""Parsers for the tools' printed output (pure: text in, data out)."""

from __future__ import annotations

import re

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
