"""The lab notebook behind ``invoke report``: the evidence the assignment asks for, sections II to V.

Three steps, each testable on its own:

- ``collect(lab)`` runs read-only commands (through ``RecordingRunner``, a Runner that records every
  probe and refuses to change anything) and returns a plain dict: per section, each command as typed with
  its output, exit status, start time and duration; tables, log lines and chaos pictures; and the parsed
  ``data`` behind them. A part that cannot be collected (no cluster, no Ready pod) becomes a note in its
  section, never an exception.
- ``key_facts(report)`` is pure: node count, nodes UN, the writer's progress and restarts, gaps, resume.
- ``render_markdown(report)`` / ``render_html(report, images)`` are pure: dict in, text out.

``write_report`` puts report.json, report.md, report.html and the chaos PNGs in reports/<timestamp>/;
``rerender_report`` renders a saved report.json again (after a template change, or for a recorded run).
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import shlex
import shutil
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

import yaml

from lab import docker, kind, kubectl, reporting, status
from lab.cassandra import (LAST_SEQS_QUERY, Cassandra, count_query, cqlsh_args, nodetool_args, parse_cqlsh_table,
                           parse_nodetool_status, select_script)
from lab.errors import LabError, PreconditionError
from lab.runner import Outcome, Runner

log = logging.getLogger(__name__)

SCHEMA = 1
#: The Cassandra cluster name cassandra.yml sets (CASSANDRA_CLUSTER_NAME); the writer logs it too.
CLUSTER_NAME = "ece573-prj04"
CASSANDRA_REPLICAS = 3
#: Lines of a command's output kept in report.json (head and tail); verify's reads list every seq.
KEEP_LINES = 400
#: Lines of a command's output shown in the report (the tail); the JSON keeps more.
SHOW_LINES = 60

SECTIONS = {
    "II": "kind cluster setup",
    "III": "The Cassandra service",
    "IV": "Build and deploy an application",
    "V": "Stateless application",
}

_RESUME = re.compile(r"(\S+): start from lastSeq=(\d+)")
_PROGRESS = re.compile(r"(\S+): inserted rows to seq (\d+)")


# -- recording ------------------------------------------------------------------------------------------

def _utc(stamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


def _keep(text: str, limit: int = KEEP_LINES) -> tuple[str, int]:
    """(text trimmed to its first and last lines, total line count)."""
    lines = text.splitlines()
    if len(lines) <= limit:
        return text, len(lines)
    half = limit // 2
    cut = len(lines) - 2 * half
    return "\n".join(lines[:half] + [f"... ({cut} lines not kept) ..."] + lines[-half:]) + "\n", len(lines)


class RecordingRunner(Runner):
    """A Runner for reports: every probe (also those made inside lab.verify, lab.kubectl ...) becomes a
    command block in ``sink``; anything that would change the cluster is refused."""

    def __init__(self, runner: Runner, *, clock: Callable[[], float] = time.time):
        super().__init__(runner.ctx, dry=False, echo=False)
        self.clock = clock
        self.sink: list[dict[str, Any]] = []
        self.count = 0

    def probe(self, argv: list[str], *, timeout: float | None = 60, input: str | None = None) -> Outcome:
        started = self.clock()
        outcome = super().probe(argv, timeout=timeout, input=input)
        stdout, lines = _keep(outcome.stdout)
        stderr, _ = _keep(outcome.stderr, 40)
        self.count += 1
        self.sink.append({"type": "command", "aside": True, "label": "", "command": shlex.join(argv),
                          "argv": list(argv), "exited": outcome.exited, "stdout": stdout, "stdout_lines": lines,
                          "stderr": stderr, "started": _utc(started), "seconds": round(self.clock() - started, 2)})
        return outcome

    def show(self, argv: list[str], label: str, *, timeout: float | None = 60) -> Outcome:
        """Probe, and show the command with its output in the report (not only in the list of reads)."""
        outcome = self.probe(argv, timeout=timeout)
        self.sink[-1].update(aside=False, label=label)
        return outcome

    def run(self, argv, **kwargs):
        raise LabError(f"report is read-only; refused to run `{shlex.join(argv)}`")

    def spawn(self, argv, **kwargs):
        raise LabError(f"report is read-only; refused to start `{shlex.join(argv)}`")


def _note(text: str) -> dict[str, Any]:
    return {"type": "note", "text": text}


def _table(title: str, headers: list[str], rows: list[list[str]]) -> dict[str, Any]:
    return {"type": "table", "title": title, "headers": headers, "rows": rows}


def _lines(title: str, lines: list[str]) -> dict[str, Any]:
    return {"type": "lines", "title": title, "lines": lines}


def _image(path: str, source: str, caption: str) -> dict[str, Any]:
    return {"type": "image", "path": path, "source": source, "caption": caption}


# -- parsers (pure) -------------------------------------------------------------------------------------

def parse_kind_nodes(text: str) -> list[str]:
    return sorted(line.strip() for line in text.splitlines()
                  if line.strip() and not line.startswith("No kind nodes") and " " not in line.strip())


def parse_docker_ps(text: str) -> list[dict[str, str]]:
    """Rows of ``docker ps --format 'table ...'``: columns are separated by 2+ spaces (tabwriter)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("CONTAINER ID"):
        return []
    headers = [h.strip().lower().replace(" ", "_") for h in re.split(r"\s{2,}", lines[0].strip())]
    return [dict(zip(headers, re.split(r"\s{2,}", line.strip()))) for line in lines[1:]]


def parse_versions(text: str) -> dict[str, str]:
    """``kubectl version``: {'client': 'v1.30.0', 'server': 'v1.30.0'} (server absent without a cluster)."""
    found = {}
    for key, label in (("client", "Client Version"), ("server", "Server Version")):
        match = re.search(rf"^{label}:\s*(\S+)", text, re.M)
        if match:
            found[key] = match.group(1)
    return found


def log_starts(lines: list[str]) -> list[tuple[str, int]]:
    """(topic, N) of every ``<topic>: start from lastSeq=N`` line, in order."""
    return [(m.group(1), int(m.group(2))) for m in (_RESUME.search(line) for line in lines) if m]


def last_progress(lines: list[str]) -> int | None:
    """The highest ``inserted rows to seq N`` in the lines, or None."""
    seqs = [int(m.group(2)) for m in (_PROGRESS.search(line) for line in lines) if m]
    return max(seqs) if seqs else None


# -- collection -----------------------------------------------------------------------------------------

def new_report(cfg, *, now: float) -> dict[str, Any]:
    expected_nodes, expected_workers = _expected_nodes(cfg)
    return {
        "schema": SCHEMA, "generated_at": _utc(now), "cluster": cfg.cluster, "context": cfg.kube_context,
        "namespace": cfg.namespace, "topic": cfg.topic, "consistency": cfg.consistency,
        "expected": {"nodes": expected_nodes, "workers": expected_workers, "cassandra_replicas": CASSANDRA_REPLICAS,
                     "cluster_name": CLUSTER_NAME},
        "sections": {key: {"title": title, "items": []} for key, title in SECTIONS.items()},
        "data": {},
        "commands": 0,
        "seconds": 0.0,
    }


def _expected_nodes(cfg) -> tuple[int, int]:
    """Nodes and workers that cluster.yml asks for (the assignment's 5 = 1 control plane + 4 workers)."""
    try:
        nodes = (yaml.safe_load(cfg.path(cfg.cluster_config).read_text()) or {}).get("nodes") or []
    except (OSError, yaml.YAMLError, AttributeError):
        return 5, 4
    return len(nodes), sum(1 for n in nodes if (n or {}).get("role") == "worker")


class _Collector:
    def __init__(self, lab, *, tail: int, clock: Callable[[], float], plot_missing: bool):
        self.lab, self.cfg, self.kind, self.kube = lab, lab.cfg, lab.kind, lab.kube
        self.tail, self.clock, self.plot_missing = tail, clock, plot_missing
        self.rec = RecordingRunner(lab.runner, clock=clock)
        self.report = new_report(lab.cfg, now=clock())
        self.data = self.report["data"]
        self.cluster_up = False
        self.down_reason = ""
        self.exec_pod: str | None = None

    def section(self, key: str) -> list[dict[str, Any]]:
        items = self.report["sections"][key]["items"]
        self.rec.sink = items
        return items

    def cassandra(self, pod: str) -> Cassandra:
        return Cassandra(self.rec, self.kube, pod=pod, request_timeout=int(self.cfg.verify.get("request_timeout", 120)))

    # II ---------------------------------------------------------------------------------------------
    def nodes(self) -> None:
        items = self.section("II")
        out = self.rec.show(self.kind.get_nodes_args(), "The cluster's nodes")
        nodes = parse_kind_nodes(out.stdout) if out.ok else []
        self.data["kind_nodes"] = nodes
        out = self.rec.show(docker.ps_args(kind.cluster_label_filter(self.cfg.cluster)), "Each node is a Docker container")
        self.data["node_containers"] = parse_docker_ps(out.stdout) if out.ok else []
        workers = [n for n in nodes if "worker" in n]
        if workers:
            out = self.rec.show(docker.exec_args(workers[0], ["crictl", "ps"]),
                                f"Kubernetes containers inside {workers[0]} (crictl, the CRI client)", timeout=60)
            self.data["crictl"] = {"node": workers[0], "containers": max(0, len(out.stdout.splitlines()) - 1) if out.ok else None}
        else:
            items.append(_note(f"Not collected: `crictl ps` inside a worker: kind cluster {self.cfg.cluster} has no "
                               "worker node (no cluster? `invoke up` creates it)."))
        out = self.rec.show(self.kind.version_args(), "kind's version")
        self.data["versions"] = {"kind": out.stdout.strip() if out.ok else ""}
        self.cluster_up = kubectl.context_exists(self.rec, self.kube)
        if not self.cluster_up:
            self.down_reason = (f"kube context {self.kube.context} not found: kind cluster {self.cfg.cluster} is not "
                                "running (`invoke up` creates it)")
        elif self.cfg.is_kind_context and not nodes:
            # A context left behind in the kubeconfig: every kubectl call would wait on a dead API server.
            self.cluster_up = False
            self.down_reason = (f"kind cluster {self.cfg.cluster} has no nodes (its kube context is stale; "
                                "`invoke up` creates the cluster)")
        out = self.rec.show(self.kube.version_args(), "kubectl and Kubernetes versions")
        self.data["versions"].update(parse_versions(out.stdout))
        if "client" not in self.data["versions"]:  # without the context kubectl prints only the error
            out = self.rec.show(self.kube.version_args(client=True), "kubectl's own version")
            self.data["versions"].update(parse_versions(out.stdout))
        images = sorted({c.get("image", "") for c in self.data["node_containers"]} - {""})
        self.data["versions"]["node_image"] = ", ".join(images)
        if self.cluster_up:
            self.rec.show(self.kube.get_wide_args("nodes", namespaced=False), "Nodes as Kubernetes sees them")
        else:
            items.append(_note(f"Not collected: `kubectl get nodes`: {self.down_reason}."))

    # III --------------------------------------------------------------------------------------------
    def cassandra_service(self) -> None:
        items = self.section("III")
        if not self.cluster_up:
            items.append(_note(f"Not collected: {self.down_reason}."))
            return
        self.rec.show(self.kube.get_wide_args("services,statefulsets,pods"), "The Service, the StatefulSet and the pods")
        self.rec.show(self.kube.get_wide_args("persistentvolumeclaims"),
                      "Each Cassandra pod's volume (a PVC per pod, kept when the pod is deleted)")
        try:
            pods = kubectl.pods(self.rec, self.kube, kubectl.CASSANDRA_SELECTOR)
        except LabError as err:
            items.append(_note(f"Not collected: the Cassandra pods: {err}"))
            return
        self.data["cassandra_pods"] = [
            {"name": p["metadata"]["name"], "ready": kubectl.pod_ready(p), "restarts": kubectl.pod_restarts(p),
             "node": p.get("spec", {}).get("nodeName", "")} for p in pods]
        ready = [p["name"] for p in self.data["cassandra_pods"] if p["ready"]]
        if not ready:
            items.append(_note(f"Not collected: `nodetool status` and cqlsh: no Ready pod matches {kubectl.CASSANDRA_SELECTOR}."))
            return
        self.exec_pod = "cassandra-0" if "cassandra-0" in ready else sorted(ready)[0]
        cass = self.cassandra(self.exec_pod)
        out = self.rec.show(cass.exec_args(nodetool_args("status")), f"nodetool status (in {self.exec_pod})", timeout=90)
        self.data["nodetool"] = [asdict(n) for n in parse_nodetool_status(out.stdout)] if out.ok else None
        query = "SELECT cluster_name, release_version FROM system.local;"
        out = self.rec.show(cass.exec_args(cqlsh_args(query, request_timeout=cass.request_timeout)),
                            f"A cqlsh round trip (in {self.exec_pod})", timeout=cass.request_timeout + 30)
        rows = parse_cqlsh_table(out.stdout) if out.ok else []
        self.data["cqlsh"] = rows[0] if rows else {}

    # IV ---------------------------------------------------------------------------------------------
    def writer(self) -> None:
        items = self.section("IV")
        if not self.cluster_up:
            items.append(_note(f"Not collected: the writer: {self.down_reason}."))
        else:
            self.rec.show(self.kube.get_wide_args(f"deployment/{kubectl.WRITER_DEPLOYMENT}"), "The writer Deployment")
            try:
                pods = kubectl.pods(self.rec, self.kube, kubectl.WRITER_SELECTOR)
            except LabError as err:
                pods = []
                items.append(_note(f"Not collected: the writer's pods: {err}"))
            self.data["writer_pods"] = [
                {"name": p["metadata"]["name"], "ready": kubectl.pod_ready(p), "restarts": kubectl.pod_restarts(p),
                 "state": kubectl.pod_waiting_reason(p) if not kubectl.pod_ready(p) else "Running"} for p in pods]
            if pods:
                items.append(_table("Writer pods", ["pod", "ready", "restarts", "state"],
                                    [[p["name"], "yes" if p["ready"] else "no", str(p["restarts"]), p["state"]]
                                     for p in self.data["writer_pods"]]))
                out = self.rec.show(self.kube.logs_args(selector=kubectl.WRITER_SELECTOR, container=kubectl.WRITER_CONTAINER,
                                                        tail=self.tail), f"The writer's last {self.tail} log lines",
                                    timeout=60)
                self.data["writer_progress"] = last_progress(out.stdout.splitlines()) if out.ok else None
            else:
                items.append(_note(f"No writer pod: no pod matches {kubectl.WRITER_SELECTOR} (`invoke deploy`)."))
        self.chaos_rounds(items)

    def chaos_rounds(self, items: list[dict[str, Any]]) -> None:
        from lab.chaos import SUMMARY_HEADERS, RoundResult, summary_rows

        folder = self.cfg.path(self.cfg.artifacts) / "chaos"
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        self.data["chaos"] = []
        if not files:
            items.append(_note(f"No chaos rounds recorded under {self._show_path(folder)} yet "
                               "(`invoke chaos --pod cassandra-1` records one)."))
            return
        names = {f.name for f in fields(RoundResult)}
        results, rows = [], []
        for path in files:
            try:
                record = json.loads(path.read_text())
                result = RoundResult(**{k: v for k, v in record.items() if k in names})
            except (OSError, ValueError, TypeError) as err:
                items.append(_note(f"Cannot read chaos record {self._show_path(path)}: {err}"))
                continue
            results.append(result)
            png = path.with_suffix(".png")
            if not png.exists() and self.plot_missing:
                from lab import plot

                plot.plot_beside(path)
            rows.append(path)
            self.data["chaos"].append({
                "file": self._show_path(path), "round": result.round, "pod": result.pod, "force": result.force,
                "recovery_s": result.recovery_s, "stall_s": result.stall_s, "stall_open": result.stall_open,
                "writer_restarts": result.writer_restarts, "lost_rows": result.lost_rows, "ok": result.ok,
                "error": result.error, "png": f"chaos/{png.name}" if png.exists() else ""})
        if results:
            table_rows = [[path.stem.split("-round")[0]] + row for path, row in zip(rows, summary_rows(results))]
            items.append(_table(f"Chaos rounds recorded under {self._show_path(folder)}", ["run"] + SUMMARY_HEADERS,
                                table_rows))
        for entry, path in zip(self.data["chaos"], rows):
            if entry["png"]:
                items.append(_image(entry["png"], str(path.with_suffix(".png")),
                                    f"{path.stem}: delete {entry['pod']}, writes per second; kill and Ready marked"))

    def _show_path(self, path: Path) -> str:
        return str(path.relative_to(self.cfg.root)) if path.is_relative_to(self.cfg.root) else str(path)

    # V ----------------------------------------------------------------------------------------------
    def stateless(self) -> None:
        items = self.section("V")
        if not self.cluster_up:
            items.append(_note(f"Not collected: progress and verify: {self.down_reason}."))
        elif self.exec_pod is None:
            items.append(_note("Not collected: progress and verify: no Ready Cassandra pod to run cqlsh in."))
        else:
            self.progress(items)
        self.resume(items)

    def progress(self, items: list[dict[str, Any]]) -> None:
        from lab import verify as verify_lib

        cass = self.cassandra(self.exec_pod)
        level = str(self.cfg.verify.get("consistency", "QUORUM"))
        out = self.rec.show(cass.exec_args(cqlsh_args(select_script(LAST_SEQS_QUERY, consistency=level),
                                                      request_timeout=cass.request_timeout)),
                            "Each topic's last_seq, the writer's stored progress", timeout=cass.request_timeout + 30)
        if not out.ok:
            missing = "unconfigured table" in out.stdout + out.stderr or "does not exist" in out.stdout + out.stderr
            items.append(_note("No progress table yet: the writer has not started." if missing
                               else "Not collected: last_seq (cqlsh failed; its output is above)."))
            return
        last = {r["topic"]: int(r["seq"]) for r in parse_cqlsh_table(out.stdout) if r.get("seq", "").lstrip("-").isdigit()}
        self.data["progress"] = {t: {"last_seq": s, "rows": None} for t, s in sorted(last.items())}
        for topic in sorted(last):
            out = self.rec.show(cass.exec_args(cqlsh_args(select_script(count_query(topic), consistency=level),
                                                          request_timeout=cass.request_timeout)),
                                f"Rows of topic {topic}", timeout=cass.request_timeout + 30)
            rows = parse_cqlsh_table(out.stdout) if out.ok else []
            if rows and rows[0].get("count", "").isdigit():
                self.data["progress"][topic]["rows"] = int(rows[0]["count"])
        try:
            reports = verify_lib.verify(cass, topics=sorted(last) or None, consistency=level)
        except LabError as err:
            self.data["verify"] = {"consistency": level, "error": str(err)}
            items.append(_note(f"verify failed: {err}"))
            return
        self.data["verify"] = {"consistency": level, "topics": [r.to_dict() for r in reports],
                               "ok": bool(reports) and all(r.ok for r in reports)}
        items.append(_table(f"verify at {level} (lab.verify: every seq 1..last_seq read back)",
                            verify_lib.HEADERS, verify_lib.report_rows(reports)))

    def resume(self, items: list[dict[str, Any]]) -> None:
        """``start from lastSeq=N`` lines: saved logs first (older), then each writer pod's previous and
        current run. N > 0 means a writer resumed from progress stored in Cassandra."""
        found: list[dict[str, Any]] = []
        folder = self.cfg.path(self.cfg.artifacts) / "logs"
        for path in sorted(folder.glob(f"*/{kubectl.WRITER_DEPLOYMENT}-*.log")) if folder.is_dir() else []:
            try:
                lines = path.read_text(errors="replace").splitlines()
            except OSError:
                continue
            found += [{"source": self._show_path(path), "line": line, "seq": n}
                      for line in lines for _, n in log_starts([line])]
        if self.cluster_up:
            for pod in self.data.get("writer_pods", []):
                runs = [True, False] if pod["restarts"] else [False]
                for previous in runs:
                    argv = self.kube.logs_args(pod=pod["name"], container=kubectl.WRITER_CONTAINER, previous=previous)
                    out = self.rec.probe(argv, timeout=60)
                    if out.ok:
                        source = f"pod {pod['name']}, {'previous run' if previous else 'current run'}"
                        found += [{"source": source, "line": line, "seq": n}
                                  for line in out.stdout.splitlines() for _, n in log_starts([line])]
        resumed = [f for f in found if f["seq"] > 0]
        self.data["resume"] = {"starts": found, "resumed": bool(resumed),
                               "seq": resumed[-1]["seq"] if resumed else None,
                               "source": resumed[-1]["source"] if resumed else ""}
        if found:
            items.append(_lines("Writer starts (`start from lastSeq=N`; N > 0: resumed from Cassandra)",
                                [f"[{f['source']}] {f['line'].strip()}" for f in found]))
        else:
            items.append(_note("No `start from lastSeq=` line found in the writer's logs (current, previous, or saved "
                               "with `invoke logs --save`)."))
        if found and not resumed:
            items.append(_note("No resume recorded yet: every start was from lastSeq=0. "
                               "`invoke chaos --pod writer` deletes the writer; its replacement resumes."))


def collect(lab, *, tail: int = 20, clock: Callable[[], float] = time.time, plot_missing: bool = True) -> dict[str, Any]:
    """Collect sections II-V from the running lab into a plain dict (see the module docstring)."""
    col = _Collector(lab, tail=tail, clock=clock, plot_missing=plot_missing)
    started = clock()
    steps = [("II", col.nodes), ("III", col.cassandra_service), ("IV", col.writer), ("V", col.stateless)]
    for key, step in steps:
        with status.step(f"Section {key}: {SECTIONS[key]}") as s:
            step()
            commands = [i for i in col.report["sections"][key]["items"] if i["type"] == "command"]
            failed = sum(1 for i in commands if i["exited"] != 0)
            s.note(f"{len(commands)} command(s)" + (f", {failed} failed" if failed else ""))
    col.report["commands"] = col.rec.count
    col.report["seconds"] = round(clock() - started, 1)
    col.report["facts"] = [asdict(f) for f in key_facts(col.report)]
    return col.report


# -- key facts (pure) -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fact:
    """One thing the report shows at a glance; ``ok`` None for information without a bar."""

    section: str
    name: str
    value: str
    expected: str = ""
    ok: bool | None = None


NOT_COLLECTED = "not collected"


def key_facts(report: dict[str, Any]) -> list[Fact]:
    """What each section proves, from ``report['data']``: facts with an expected value pass or fail."""
    data, expected = report.get("data", {}), report.get("expected", {})
    facts: list[Fact] = []

    def add(section, name, value, want="", ok=None):
        facts.append(Fact(section, name, NOT_COLLECTED if value is None else str(value), str(want), ok))

    nodes = data.get("kind_nodes")
    want_nodes = expected.get("nodes", 5)
    add("II", "kind nodes", len(nodes) if nodes else (0 if nodes == [] else None), want_nodes,
        bool(nodes) and len(nodes) == want_nodes)
    containers = data.get("node_containers")
    up = [c for c in containers or [] if c.get("status", "").startswith("Up")]
    add("II", "node containers running", len(up) if containers is not None else None, want_nodes,
        containers is not None and len(up) == want_nodes)
    versions = data.get("versions", {})
    add("II", "kubectl (client)", versions.get("client"))
    add("II", "Kubernetes (server)", versions.get("server"))
    add("II", "node image", versions.get("node_image") or None)

    replicas = expected.get("cassandra_replicas", CASSANDRA_REPLICAS)
    pods = data.get("cassandra_pods")
    add("III", "Cassandra pods Ready", None if pods is None else f"{sum(p['ready'] for p in pods)}/{len(pods)}",
        f"{replicas}/{replicas}", pods is not None and len(pods) == replicas and all(p["ready"] for p in pods))
    ring = data.get("nodetool")
    un = sum(1 for n in ring or [] if n.get("state") == "UN")
    add("III", "nodes UN (nodetool status)", None if ring is None else f"{un} of {len(ring)}", f"{replicas} of {replicas}",
        ring is not None and un == replicas == len(ring))
    cql = data.get("cqlsh")
    add("III", "cqlsh: cluster_name", (cql or {}).get("cluster_name") if cql is not None else None,
        expected.get("cluster_name", CLUSTER_NAME), bool(cql) and cql.get("cluster_name") == expected.get("cluster_name", CLUSTER_NAME))
    add("III", "cqlsh: release_version", (cql or {}).get("release_version") if cql else None)

    writers = data.get("writer_pods")
    add("IV", "writer pods Ready", None if writers is None else f"{sum(p['ready'] for p in writers)}/{len(writers)}",
        "1/1", writers is not None and len(writers) == 1 and writers[0]["ready"])
    add("IV", "writer restarts", None if writers is None else sum(p["restarts"] for p in writers), 0,
        writers is not None and bool(writers) and sum(p["restarts"] for p in writers) == 0)
    add("IV", "writer progress (log)", None if data.get("writer_progress") is None
        else f"inserted rows to seq {data['writer_progress']}", "> 0", (data.get("writer_progress") or 0) > 0)
    rounds = data.get("chaos")
    # No rounds yet, or no writer restart yet, is no failure: the report shows them "when one was recorded".
    add("IV", "chaos rounds ok", "none recorded" if not rounds else f"{sum(r['ok'] for r in rounds)} of {len(rounds)}",
        "all", None if not rounds else all(r["ok"] for r in rounds))
    if rounds:
        worst = max(rounds, key=lambda r: r.get("stall_s") or 0)
        add("IV", "longest writer stall in a round", f"{worst.get('stall_s')} s ({worst['file']})")

    for topic, prog in sorted((data.get("progress") or {}).items()):
        add("V", f"topic {topic}: last_seq / rows", f"{prog['last_seq']} / {prog['rows'] if prog['rows'] is not None else '?'}")
    ver = data.get("verify")
    if ver is None or "error" in ver:
        add("V", "gaps (verify)", None, 0, False)
    else:
        missing = sum(t.get("missing", 0) for t in ver.get("topics", []))
        add("V", f"gaps (verify at {ver.get('consistency')})", f"{missing} missing in {len(ver.get('topics', []))} topic(s)",
            "0 missing", bool(ver.get("topics")) and missing == 0)
    resume = data.get("resume")
    add("V", "resume (start from lastSeq=N)", None if resume is None else
        (f"lastSeq={resume['seq']} ({resume['source']})" if resume.get("resumed") else "none recorded"),
        "N > 0", True if resume and resume.get("resumed") else None)
    return facts


# -- rendering (pure) -----------------------------------------------------------------------------------

def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


def _status(item: dict[str, Any]) -> str:
    exited = "timed out" if item["exited"] is None else f"exit {item['exited']}"
    return f"{exited} · ran {item['started']} · {item['seconds']:.2f} s"


def _command_md(item: dict[str, Any]) -> str:
    lines = (item.get("stdout") or "").splitlines()
    err = (item.get("stderr") or "").strip()
    shown = lines[-SHOW_LINES:]
    body = [f"$ {item['command']}"] + shown
    if err:  # kind and cqlsh say useful things there even on success ("No kind nodes found ...")
        body += [f"[stderr] {line}" for line in err.splitlines()[-10:]]
    if not lines and not err:
        body.append("(no output)")
    parts = [f"**{item['label']}**" if item.get("label") else "", _fence("\n".join(body), "console"),
             f"<sub>{_status(item)}"
             + (f"; last {len(shown)} of {item.get('stdout_lines', len(lines))} lines shown" if item.get("stdout_lines", len(lines)) > len(shown) else "")
             + "</sub>"]
    return "\n\n".join(p for p in parts if p)


def render_markdown(report: dict[str, Any]) -> str:
    """report.md: key facts first, then one part per assignment section."""
    facts = [Fact(**f) for f in report.get("facts", [])] or key_facts(report)
    out = [f"# Lab report: kind cluster `{report['cluster']}`",
           f"Collected {report['generated_at']} by `invoke report` from context `{report['context']}`, namespace "
           f"`{report['namespace']}` (writer topic `{report['topic']}`, consistency {report['consistency']}): "
           f"{report.get('commands', 0)} read-only commands in {report.get('seconds', 0)} s. Each command below is "
           "shown as typed, with its output, exit status and when it ran.",
           "## Key facts",
           _md_table(["section", "fact", "value", "expected", ""],
                     [[f.section, f.name, f.value, f.expected, "" if f.ok is None else ("✓" if f.ok else "✗")] for f in facts])]
    for key, section in report["sections"].items():
        out.append(f"## {key}. {section['title']}")
        aside = []
        for item in section["items"]:
            item_type = item["type"]
            if item_type == "command" and item.get("aside"):
                aside.append(item)
            elif item_type == "command":
                out.append(_command_md(item))
            elif item_type == "note":
                out.append(f"> {item['text']}")
            elif item_type == "table":
                out.append(f"**{item['title']}**\n\n" + _md_table(item["headers"], item["rows"]))
            elif item_type == "lines":
                out.append(f"**{item['title']}**\n\n" + _fence("\n".join(item["lines"]) or "(none)", "text"))
            elif item_type == "image":
                out.append(f"![{item['caption']}]({item['path']})\n\n<sub>{item['caption']}</sub>")
        if aside:
            out.append("Other read-only commands behind this section (output in report.json):\n\n" + "\n".join(
                f"- `{_cell(a['command'])}`: {_status(a)}" for a in aside))
    return "\n\n".join(out) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
pre{background:#f6f8fa;padding:.75rem;overflow-x:auto;font-size:.85rem;line-height:1.35}
code{font-family:ui-monospace,monospace}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;font-size:.9rem}
blockquote{border-left:4px solid #e0a800;margin:.5rem 0;padding:.25rem .75rem;background:#fff8e1}
img{max-width:100%;border:1px solid #ddd}h2{border-bottom:1px solid #ddd;padding-bottom:.25rem;margin-top:2.5rem}"""


def render_html(report: dict[str, Any], images: dict[str, bytes] | None = None) -> str:
    """report.html: the Markdown rendered (markdown-it, CommonMark + tables), PNGs embedded as data URIs
    so the file stands alone; an image not in ``images`` stays a relative link."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": True}).enable("table").render(render_markdown(report))
    images = images or {}

    def embed(match: re.Match) -> str:
        src = html.unescape(match.group(1))
        if src in images:
            return f'src="data:image/png;base64,{base64.b64encode(images[src]).decode()}"'
        return match.group(0)

    body = re.sub(r'src="([^"]+)"', embed, body)
    title = html.escape(f"Lab report: kind cluster {report['cluster']}, {report['generated_at']}")
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<style>{_CSS}</style></head>\n<body>\n{body}</body></html>\n")


# -- files ----------------------------------------------------------------------------------------------

def _images_in(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for s in report["sections"].values() for i in s["items"] if i["type"] == "image"]


def write_report(report: dict[str, Any], folder: Path) -> dict[str, Path]:
    """report.json, the PNGs (copied beside it), report.md and report.html into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for image in _images_in(report):
        source, target = Path(image["source"]), folder / image["path"]
        if source.is_file() and source.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    paths = {"json": reporting.write_json(folder / "report.json", report)}
    return {**paths, **_render_into(report, folder)}


def _render_into(report: dict[str, Any], folder: Path) -> dict[str, Path]:
    images = {i["path"]: (folder / i["path"]).read_bytes() for i in _images_in(report) if (folder / i["path"]).is_file()}
    md, page = folder / "report.md", folder / "report.html"
    md.write_text(render_markdown(report))
    page.write_text(render_html(report, images))
    return {"md": md, "html": page}


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


def rerender_report(path: Path) -> dict[str, Path]:
    """Render a saved report.json again (facts recomputed) into its own folder."""
    report = load_report(path)
    folder = path if path.is_dir() else path.parent
    report["facts"] = [asdict(f) for f in key_facts(report)]
    return _render_into(report, folder)


def run_report(lab, *, out: str = "reports", tail: int = 20, now: float | None = None) -> Path:
    """``invoke report``: collect, write reports/<timestamp>/, print the key facts; returns the folder."""
    if tail < 1:
        raise PreconditionError(f"--tail {tail}: need at least 1 line")
    base = lab.cfg.path(out)
    if base.exists() and not base.is_dir():
        raise PreconditionError(f"--out {out}: {base} is a file, not a folder")
    report = collect(lab, tail=tail)
    folder = base / reporting.timestamp(now)
    try:
        paths = write_report(report, folder)
    except OSError as err:
        raise PreconditionError(f"cannot write the report into {folder}: {err.strerror or err}") from None
    facts = [Fact(**f) for f in report["facts"]]
    reporting.table(["section", "fact", "value", "expected", ""],
                    [[f.section, f.name, f.value, f.expected, "" if f.ok is None else ("ok" if f.ok else "NO")] for f in facts],
                    title="Key facts")
    for name in ("md", "html", "json"):
        print(paths[name])
    return folder


def failed_facts(report_folder: Path) -> list[Fact]:
    """Facts with a bar that the report in ``report_folder`` does not meet (for ``invoke report --check``)."""
    return [f for f in (Fact(**d) for d in load_report(report_folder)["facts"]) if f.ok is False]


def run(open_lab: Callable[[], Any], *, out: str = "reports", tail: int = 20, rerender: str = "",
        check: bool = False) -> Path:
    """The ``report`` task: collect and write (or re-render a saved report.json); with ``check``, LabError
    (exit 1) naming each key fact that misses its bar. Returns the report's folder."""
    if rerender:
        paths = rerender_report(Path(rerender))
        folder = paths["md"].parent
        print(paths["md"], paths["html"], sep="\n")
    else:
        folder = run_report(open_lab(), out=out, tail=tail)
    missed = failed_facts(folder) if check else []
    if missed:
        raise LabError("report: " + "; ".join(f"{f.name} is {f.value}, expected {f.expected}" for f in missed))
    return folder


__all__ = ["collect", "key_facts", "render_markdown", "render_html", "write_report", "rerender_report", "run_report", "run",
           "RecordingRunner", "Fact"]
