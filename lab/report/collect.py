"""Collecting sections II-V from the running lab into a plain dict, through a RecordingRunner.

Each section has its own module with one ``collect(col)`` that appends items to its section and parsed
values to ``report['data']``; ``Collector`` is what they share (the runner, the config, whether the cluster
answers). A part that cannot be collected (no cluster, no Ready pod) becomes a note in its section, never
an exception. The lesson record (``invoke lesson``) and the answers are added last.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from lab import progress
from lab.cassandra import Cassandra
from lab.command_output import utc
from lab.config import LabConfig
from lab.context import Lab
from lab.names import CASSANDRA_REPLICAS, CLUSTER_NAME
from lab.report import lesson_record, section_ii, section_iii, section_iv, section_v
from lab.report.answers import answers
from lab.report.facts import key_facts
from lab.report.model import SCHEMA, SECTIONS
from lab.report.recording import RecordingRunner

#: Each section's collector, in the assignment's order (a section may use what an earlier one found).
COLLECTORS = [("II", section_ii.collect), ("III", section_iii.collect), ("IV", section_iv.collect),
              ("V", section_v.collect)]


def hand_in(cfg: LabConfig, *, now: float) -> dict[str, str]:
    """The title block from lab.report.*: "today" becomes the UTC date the report is collected."""
    settings = asdict(cfg.report)
    if cfg.report.date == "today":
        settings["date"] = datetime.datetime.fromtimestamp(now, datetime.UTC).date().isoformat()
    return settings


def refresh_hand_in(saved: dict[str, str], settings: Mapping[str, str]) -> dict[str, str]:
    """A re-render's title block: today's lab.report.* settings where set (a name added after collecting),
    the saved ones otherwise; date "today" keeps the day the report was collected."""
    out = dict(saved or {})
    for key, value in settings.items():
        if value and not (key == "date" and value == "today"):
            out[key] = str(value)
    return out


def new_report(cfg: LabConfig, *, now: float) -> dict[str, Any]:
    expected_nodes, expected_workers = _expected_nodes(cfg)
    return {
        "schema": SCHEMA, "generated_at": utc(now), "cluster": cfg.cluster, "context": cfg.kube_context,
        "namespace": cfg.namespace, "topic": cfg.topic, "consistency": cfg.consistency,
        "hand_in": hand_in(cfg, now=now),
        "expected": {"nodes": expected_nodes, "workers": expected_workers, "cassandra_replicas": CASSANDRA_REPLICAS,
                     "cluster_name": CLUSTER_NAME},
        "sections": {key: {"title": title, "items": []} for key, title in SECTIONS.items()},
        "data": {},
        "commands": 0,
        "seconds": 0.0,
    }


def _expected_nodes(cfg: LabConfig) -> tuple[int, int]:
    """Nodes and workers that cluster.yml asks for (the assignment's 5 = 1 control plane + 4 workers)."""
    try:
        nodes = (yaml.safe_load(cfg.path(cfg.cluster_config).read_text()) or {}).get("nodes") or []
    except (OSError, yaml.YAMLError, AttributeError):
        return 5, 4
    return len(nodes), sum(1 for n in nodes if (n or {}).get("role") == "worker")


class Collector:
    """What the section collectors share: the recording runner, the lab, and what earlier sections found."""

    def __init__(self, lab: Lab, *, tail: int, clock: Callable[[], float], plot_missing: bool, writer_base: str = ""):
        self.lab, self.cfg, self.kind, self.kube = lab, lab.cfg, lab.kind, lab.kube
        self.tail, self.clock, self.plot_missing = tail, clock, plot_missing
        self.writer_base = writer_base  # --writer-base: what your writer's change is shown against
        self.rec = RecordingRunner(lab.runner, clock=clock)
        self.report = new_report(lab.cfg, now=clock())
        self.data = self.report["data"]
        self.cluster_up = False
        self.down_reason = ""
        self.exec_pod: str | None = None

    def section(self, key: str) -> list[dict[str, Any]]:
        """The section's item list; commands recorded from now on land in it."""
        items = self.report["sections"][key]["items"]
        self.rec.sink = items
        return items

    def cassandra(self, pod: str) -> Cassandra:
        return Cassandra(self.rec, self.kube, pod=pod, request_timeout=self.cfg.verify.request_timeout)

    def show_path(self, path: Path) -> str:
        return str(path.relative_to(self.cfg.root)) if path.is_relative_to(self.cfg.root) else str(path)


def collect(lab: Lab, *, tail: int = 20, clock: Callable[[], float] = time.time, plot_missing: bool = True,
            writer_base: str = "") -> dict[str, Any]:
    """Collect sections II-V from the running lab into a plain dict (see the module docstring)."""
    col = Collector(lab, tail=tail, clock=clock, plot_missing=plot_missing, writer_base=writer_base)
    started = clock()
    for key, step in COLLECTORS:
        with progress.step(f"Section {key}: {SECTIONS[key]}") as s:
            step(col)
            commands = [i for i in col.report["sections"][key]["items"] if i["type"] == "command"]
            failed = sum(1 for i in commands if i["exited"] != 0)
            s.note(f"{len(commands)} command(s)" + (f", {failed} failed" if failed else ""))
    col.report["lesson"] = lesson_record.read(lab.cfg)
    col.report["commands"] = col.rec.count
    col.report["seconds"] = round(clock() - started, 1)
    derive(col.report)
    return col.report


def derive(report: dict[str, Any]) -> dict[str, Any]:
    """The parts computed from the data (again on a re-render, so a better template fixes old reports)."""
    report["facts"] = [asdict(f) for f in key_facts(report)]
    report["answers"] = [{**asdict(a), "missing": list(a.missing)} for a in answers(report)]  # as JSON has it
    return report
