"""Section IV, build and deploy an application: the writer Deployment, its pods and logs, and the chaos
rounds recorded under <artifacts>/chaos (with their timelines, drawn if missing)."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from lab import command_output, kubectl, names, plot
from lab.chaos import SUMMARY_HEADERS, WRITER_HEADERS, RoundResult, summary_rows, writer_rows
from lab.errors import LabError
from lab.report.model import image, note, table

if TYPE_CHECKING:  # collect.py imports this module
    from lab.report.collect import Collector


def collect(col: Collector) -> None:
    items = col.section("IV")
    rec, data = col.rec, col.data
    if not col.cluster_up:
        items.append(note(f"Not collected: the writer: {col.down_reason}."))
    else:
        # Every writer: the assignment's, and one more per topic when lab.writer.topics names several.
        rec.show(col.kube.get_wide_args("deployments", selector=names.WRITERS_SELECTOR), "The writer Deployments")
        try:
            pods = kubectl.pods(rec, col.kube, names.WRITERS_SELECTOR)
        except LabError as err:
            pods = []
            items.append(note(f"Not collected: the writer's pods: {err}"))
        data["writer_pods"] = [
            {"name": p["metadata"]["name"], "ready": kubectl.pod_ready(p), "restarts": kubectl.pod_restarts(p),
             "state": kubectl.pod_waiting_reason(p) if not kubectl.pod_ready(p) else "Running"} for p in pods]
        if pods:
            items.append(table("Writer pods", ["pod", "ready", "restarts", "state"],
                               [[p["name"], "yes" if p["ready"] else "no", str(p["restarts"]), p["state"]]
                                for p in data["writer_pods"]]))
            # The assignment's writer's log: its progress is the fact the report checks.
            out = rec.show(col.kube.logs_args(selector=names.WRITER_SELECTOR, container=names.WRITER_CONTAINER,
                                              tail=col.tail), f"The writer's last {col.tail} log lines "
                           f"({names.WRITER_DEPLOYMENT})", timeout=60)
            data["writer_progress"] = command_output.last_progress(out.stdout.splitlines()) if out.ok else None
        else:
            items.append(note(f"No writer pod: no pod matches {names.WRITERS_SELECTOR} (`invoke deploy`)."))
    chaos_rounds(col, items)


def chaos_rounds(col: Collector, items: list[dict[str, Any]]) -> None:

    folder = col.cfg.path(col.cfg.artifacts) / "chaos"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    col.data["chaos"] = []
    if not files:
        items.append(note(f"No chaos rounds recorded under {col.show_path(folder)} yet "
                          "(`invoke chaos --pod cassandra-1` records one)."))
        return
    names = {f.name for f in fields(RoundResult)}
    results, paths = [], []
    for path in files:
        try:
            record = json.loads(path.read_text())
            result = RoundResult(**{k: v for k, v in record.items() if k in names})
        except (OSError, ValueError, TypeError) as err:
            items.append(note(f"Cannot read chaos record {col.show_path(path)}: {err}"))
            continue
        results.append(result)
        png = path.with_suffix(".png")
        if not png.exists() and col.plot_missing:

            plot.plot_beside(path)
        paths.append(path)
        col.data["chaos"].append({
            "file": col.show_path(path), "round": result.round, "pod": result.pod, "force": result.force,
            # the fault type (pod deletion, partition, node stop ...); records before fault types were deletions
            "fault": getattr(result, "fault", "pod") or "pod",
            "recovery_s": result.recovery_s, "stall_s": result.stall_s, "stall_open": result.stall_open,
            "writer_restarts": result.writer_restarts, "lost_rows": result.lost_rows, "ok": result.ok,
            "error": result.error, "png": f"chaos/{png.name}" if png.exists() else ""})
    if results:
        rows = [[path.stem.split("-round")[0]] + row for path, row in zip(paths, summary_rows(results), strict=True)]
        items.append(table(f"Chaos rounds recorded under {col.show_path(folder)}", ["run"] + SUMMARY_HEADERS, rows))
        several = [(path, r) for path, r in zip(paths, results, strict=True) if r.writers]
        if several:  # rounds that watched a writer per topic: each one's stall (the table above has the worst)
            items.append(table("Each writer's longest stall, in rounds with several writers", ["run"] + WRITER_HEADERS,
                               [[path.stem.split("-round")[0]] + row for path, r in several
                                for row in writer_rows([r])]))
    for entry, path in zip(col.data["chaos"], paths, strict=False):
        if entry["png"]:
            what = f"delete {entry['pod']}" if entry["fault"] == "pod" else f"{entry['fault']} {entry['pod']}"
            items.append(image(entry["png"], str(path.with_suffix(".png")),
                               f"{path.stem}: {what}, writes per second; the fault and Ready marked"))
