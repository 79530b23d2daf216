"""What earlier commands left behind, for the dashboard's history: every chaos round and soak, every verify, every
report and the lesson record, read from <artifacts>/ and the reports folder each time it is asked (a few dozen small
JSON files; a round finished in another terminal shows up on the next read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lab.live.state import round_outcome


def load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # a file being written, or not ours: left out, not an error
    return data if isinstance(data, dict) else None


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def rounds(artifacts: Path, root: Path) -> list[dict[str, Any]]:
    """One row per round JSON (artifacts/chaos/<stamp>-round<N>.json), oldest first, with its PNG when drawn."""
    out = []
    for path in sorted((artifacts / "chaos").glob("*-round*.json")):
        record = load_json(path)
        if record is None:
            continue
        png = path.with_suffix(".png")
        out.append({"stamp": path.name.split("-round")[0], **round_row(record),
                    "json": _rel(path, root), "png": _rel(png, root) if png.exists() else ""})
    return out


def round_row(record: dict[str, Any]) -> dict[str, Any]:
    """A round's figures as the history shows them, from its JSON (RoundResult.to_dict): the stall by
    acknowledgement where the writer kept a record, else the sampled one."""
    stall = record.get("ack_stall_s") if record.get("ack_stall_s") is not None else record.get("stall_s")
    return {"round": record.get("round"), "target": record.get("pod", ""), "fault": record.get("fault", ""),
            "began": record.get("deleted_at"), "recovery_s": record.get("recovery_s"), "stall_s": stall,
            "stall_source": "acks" if record.get("ack_stall_source") == "acks" else "samples",
            "lost_rows": record.get("lost_rows", 0), "result": round_outcome(record)}


def soaks(artifacts: Path, root: Path) -> list[dict[str, Any]]:
    """The totals of each multi-round run (artifacts/chaos/soak/<stamp>.json)."""
    out = []
    for path in sorted((artifacts / "chaos" / "soak").glob("*.json")):
        record = load_json(path)
        if record is not None:
            out.append({"stamp": path.stem, "target": record.get("target", ""), "rounds": record.get("rounds"),
                        "ok": record.get("ok"), "lost_rows": record.get("lost_rows"), "json": _rel(path, root)})
    return out


def verifies(artifacts: Path, root: Path) -> list[dict[str, Any]]:
    """Each verify run (artifacts/verify/<stamp>.json): its level and, per topic, rows read, missing, ok."""
    out = []
    for path in sorted((artifacts / "verify").glob("*.json")):
        record = load_json(path)
        if record is None:
            continue
        topics = [{"topic": t.get("topic"), "rows": t.get("rows"), "missing": t.get("missing"), "ok": t.get("ok")}
                  for t in record.get("topics", []) or []]
        out.append({"stamp": path.stem, "consistency": record.get("consistency", ""), "topics": topics,
                    "ok": bool(topics) and all(t["ok"] for t in topics), "json": _rel(path, root)})
    return out


def reports(folder: Path, root: Path) -> list[dict[str, Any]]:
    """Each report folder (reports/<stamp>/) with the files it has: HTML, and PDF when asked for."""
    out = []
    for sub in sorted(p for p in folder.glob("*") if p.is_dir()):
        files = {ext: _rel(sub / f"report.{ext}", root) for ext in ("html", "pdf", "docx")
                 if (sub / f"report.{ext}").exists()}
        if files:
            out.append({"stamp": sub.name, **files})
    return out


def lesson(artifacts: Path, root: Path) -> dict[str, Any] | None:
    """The lesson record (artifacts/lesson/lesson.json): its table and when it was last updated."""
    path = artifacts / "lesson" / "lesson.json"
    record = load_json(path)
    if record is None:
        return None
    table = record.get("table") or {}
    return {"updated": record.get("updated", ""), "headers": table.get("headers", []), "rows": table.get("rows", []),
            "json": _rel(path, root)}


def history(root: Path, artifacts: Path, reports_folder: Path) -> dict[str, Any]:
    return {"rounds": rounds(artifacts, root), "soaks": soaks(artifacts, root), "verify": verifies(artifacts, root),
            "reports": reports(reports_folder, root), "lesson": lesson(artifacts, root)}
