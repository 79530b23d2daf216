"""Section IV, build and deploy an application: the writer Deployment, its pods and logs, and the chaos
rounds recorded under <artifacts>/chaos (with their timelines, drawn if missing). Here are what it collects
(``collect``), its key facts (``facts``) and its answers, one function per question, written from the
collected data and the lesson record (steps 1, 2 and 4)."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from lab import command_output, kubectl, names, plot
from lab.chaos import SUMMARY_HEADERS, WRITER_HEADERS, RoundResult, summary_rows, writer_rows
from lab.config import WriterGroup
from lab.errors import LabError
from lab.report import lesson_record, lesson_table
from lab.report.model import Answer, Fact, fact, image, note, table
from lab.report.wording import cap, code, is_int, number, writer_named

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
            "error": result.error, "png": f"chaos/{png.name}" if png.exists() else "",
            "cpu_weight": result.cpu_weight})
    if results:
        rows = [[path.stem.split("-round")[0]] + row for path, row in zip(paths, summary_rows(results), strict=True)]
        # A round run with --cpu-weight favoured the writer's node: its figures are not the lab's own, say so.
        weighted = sum(r.cpu_weight for r in results)
        title = f"Chaos rounds recorded under {col.show_path(folder)}"
        if weighted:
            title += f"; {weighted} of them WITH 4x CPU weight on the writers' nodes (--cpu-weight)"
        items.append(table(title, ["run"] + SUMMARY_HEADERS, rows))
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


# -- key facts (pure) ------------------------------------------------------------------------------------

def facts(report: dict[str, Any]) -> list[Fact]:
    data = report.get("data", {})
    writers = data.get("writer_pods")
    rounds = data.get("chaos")
    ready = None if writers is None else f"{sum(p['ready'] for p in writers)}/{len(writers)}"
    found = [
        fact("IV", "writer pods Ready", ready, "1/1",
             writers is not None and len(writers) == 1 and writers[0]["ready"]),
        fact("IV", "writer restarts", None if writers is None else sum(p["restarts"] for p in writers), 0,
             writers is not None and bool(writers) and sum(p["restarts"] for p in writers) == 0),
        fact("IV", "writer progress (log)", None if data.get("writer_progress") is None
             else f"inserted rows to seq {data['writer_progress']}", "> 0", (data.get("writer_progress") or 0) > 0),
        # No rounds yet, or no writer restart yet, is no failure: the report shows them "when one was recorded".
        fact("IV", "chaos rounds ok", "none recorded" if not rounds else f"{sum(r['ok'] for r in rounds)} of "
             f"{len(rounds)}", "all", None if not rounds else all(r["ok"] for r in rounds)),
    ]
    if rounds:
        worst = max(rounds, key=lambda r: r.get("stall_s") or 0)
        found.append(fact("IV", "longest writer stall in a round", f"{worst.get('stall_s')} s ({worst['file']})"))
    return found


# -- answers (pure), one function per question -----------------------------------------------------------
#
# Each quotes the numbers and log lines this cluster produced, and its wording is chosen by them, not by the
# lesson the assignment expects: whether a restart happened (RESTARTS before and after), a graceful deletion
# or a crash, and which writer ran. When the data behind an answer is missing, ``missing`` names the command
# that produces it.

def answers(report: dict[str, Any]) -> list[Answer]:
    return [something_wrong(report), why_the_pod_is_still_there(report), writer_when_a_pod_fails(report)]


def something_wrong(report: dict[str, Any]) -> Answer:
    q = "Do you notice that something is wrong with our writer application?"
    one, two = lesson_record.step_facts(report, "1"), lesson_record.step_facts(report, "2")
    if one is not None:
        return Answer("IV", q, crash_loop(one, two, report.get("topic", WriterGroup.topic)))
    crashing = [p for p in report.get("data", {}).get("writer_pods") or [] if p.get("state") == "CrashLoopBackOff"]
    if crashing:
        return Answer("IV", q, f"Yes: the writer pod {crashing[0]['name']} is in CrashLoopBackOff with "
                               f"{crashing[0]['restarts']} restarts; its log says why.")
    return Answer("IV", q, "Not answered yet: lesson step 1 (the seed writer without a topic) has not been recorded.",
                  (lesson_record.command_for("1"),))


def why_the_pod_is_still_there(report: dict[str, Any]) -> Answer:
    q = "After `kubectl delete pod cassandra-1`, why is the pod still there?"
    two = lesson_record.step_facts(report, "2")
    rounds = deletions(report.get("data", {}))
    chaos = ""
    if rounds:
        last = rounds[-1]
        chaos = (f" `invoke chaos --pod {last['pod']}` measured the same: back Ready and UN after "
                 f"{number(last['recovery_s'])} s" + (" (a forced deletion)" if last.get("force") else "") + ".")
    if two is not None and two.get("pod_age_s") is not None:
        return Answer("IV", q, pod_still_there(two, chaos))
    if rounds:
        return Answer("IV", q, "Because only the pod was deleted, not the StatefulSet that owns it: the StatefulSet "
                               "controller recreates cassandra-1 under the same name with its own volume." + chaos
                      + " The seed writer's side is lesson step 2.", (lesson_record.command_for("2"),))
    return Answer("IV", q, "Not answered yet: no pod deletion has been recorded.",
                  (lesson_record.command_for("2"), "invoke chaos --pod cassandra-1"))


def writer_when_a_pod_fails(report: dict[str, Any]) -> Answer:
    q = "What happens to the writer when a Cassandra pod fails?"
    two, four = lesson_record.step_facts(report, "2"), lesson_record.step_facts(report, "4")
    rounds = deletions(report.get("data", {}))
    parts, missing = [], []
    if two is not None and is_int(two.get("seed_restarts_before")) and is_int(two.get("seed_restarts_after")):
        parts.append(seed_under_fault(two))
    else:
        missing.append(lesson_record.command_for("2"))
    if four is not None and is_int(four.get("robust_restarts")):
        parts.append(robust_under_fault(two, four, lesson_record.steps(report)))
    elif rounds:
        last = rounds[-1]
        stall = f", stall {number(last['stall_s'])} s" if last.get("stall_s") is not None else ""
        parts.append(f"The lab's robust writer under `invoke chaos --pod {last['pod']}`: "
                     f"{last.get('writer_restarts', 0)} restarts{stall}.")
    else:
        missing.append(lesson_record.command_for("4"))
    if parts:
        return Answer("IV", q, " ".join(parts), tuple(missing))
    return Answer("IV", q, "Not answered yet: the writer under a pod deletion has not been recorded.", tuple(missing))


def deletions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Chaos rounds that deleted one Cassandra pod and saw it recover (what section IV does by hand),
    cassandra-1 (the assignment's) last so it is the one quoted; partitions and node stops are not."""
    rounds = [r for r in data.get("chaos") or [] if r.get("fault", "pod") == "pod" and r.get("recovery_s") is not None
              and str(r.get("pod", "")).startswith("cassandra-") and "," not in str(r.get("pod"))]
    return sorted(rounds, key=lambda r: r.get("pod") == "cassandra-1")


def crash_loop(one: dict[str, Any], two: dict[str, Any] | None, topic: str) -> str:
    """Lesson step 1: did the writer without a topic crash-loop, and does its log say why?"""
    who, line, restarts, state = writer_named(one, "seed"), one.get("unknown_topic_line") or "", one.get("restarts"), \
        one.get("state")
    looped = bool(one.get("crashloop")) or (is_int(restarts) and restarts > 0)
    seen = ", ".join(x for x in (state, f"{restarts} restarts" if restarts is not None else "") if x)
    if looped and line:
        second = one.get("unknown_consistency_line") or ""
        fix = (f" With TOPIC set (here {topic}) but CONSISTENCY still unset it crash-looped again "
               f"({one.get('consistency_restarts')} restarts): {code(second)}, the assignment's remaining issue."
               if second else "")
        both = " and CONSISTENCY" if second else ""
        fix += (f" With TOPIC set (here {topic}){both} rows flowed in lesson step 2." if two is not None
                else " Setting TOPIC in writer.yml is the fix; lesson step 2 runs the writer with it.")
        return (f"Yes: {who} crash-looped because TOPIC was unset in writer.yml ({seen}); `kubectl logs -l "
                f"app=ece573-prj04-writer` shows {code(line)}. It exits when it has no topic, as the assignment's "
                "writer does, and the Deployment starts it again, with a growing back-off." + fix)
    if looped:
        return (f"Yes, {who} kept restarting ({seen}), but its log shows no `Unknown topic` line, so this record "
                "does not show why.")
    if line:
        return (f"Not shown in this run: {who} logged {code(line)}, but it was not seen restarting (RESTARTS "
                f"{restarts}), so the record does not show a crash loop.")
    return (f"No, not in this run: {who} without a topic did not crash-loop in lesson step 1 (RESTARTS {restarts}, "
            "no `Unknown topic` in its log).")


def _how_deleted(facts: dict[str, Any]) -> str:
    crashed = facts.get("crashed")
    if crashed is True:
        return " (crashed first: its JVM frozen from its node, then the pod deleted with --force)"
    return " (gracefully)" if crashed is False else ""


def pod_still_there(two: dict[str, Any], chaos: str) -> str:
    """Lesson step 2: the victim recreated by its StatefulSet; its AGE and RESTARTS as recorded."""
    pod, restarts = two.get("deleted_pod") or "cassandra-1", two.get("pod_restarts")
    text = (f"Because only the pod was deleted{_how_deleted(two)}, not the StatefulSet that owns it: the StatefulSet "
            f"controller saw a replica missing and recreated {pod} under the same name, with its own volume (PVC) and "
            f"so its data: AGE {number(two['pod_age_s'])} s, RESTARTS {restarts if restarts is not None else '?'}. "
            "RESTARTS counts container restarts inside a pod, and a replacement pod starts from 0")
    if is_int(restarts) and restarts > 0:
        text += (f", so the new {pod}'s own container has restarted {restarts} time(s) since it was created: it did "
                 f"not start cleanly (`kubectl describe pod {pod}` says why).")
    elif restarts == 0:
        text += ", so it shows 0."
    else:
        text += "; this record does not hold the new pod's count."
    return text + chaos


def seed_under_fault(two: dict[str, Any]) -> str:
    """Lesson step 2: was the seed writer restarted? Its RESTARTS before and after decide, nothing else."""
    who, pod = writer_named(two, "seed"), two.get("deleted_pod") or "cassandra-1"
    # Any: both counts are in every step-2 record (a record without them fails here, as it always did).
    before: Any = two.get("seed_restarts_before")
    after: Any = two.get("seed_restarts_after")
    crashed = two.get("crashed")
    if after < before:
        return (f"{cap(who)}'s RESTARTS went from {before} to {after}: its pod was replaced (a new pod counts from "
                "0), so this record does not show whether it died.")
    if after == before:
        fault = (f"even when {pod} crashed (its JVM frozen, then the pod deleted with --force) after a graceful "
                 "deletion" if crashed is True else f"through the deletion of {pod}")
        return (f"{cap(who)} was not restarted in this run: its RESTARTS stayed {before}, {fault}. This run does "
                "not show the failure the assignment describes.")
    if crashed is True:
        how = (f"{cap(who)} survived the graceful deletion of {pod} (Cassandra shut down cleanly, finishing the "
               f"writes in flight), so the lesson crashed {pod} (its JVM frozen, then the pod deleted with --force); "
               "then the writer was restarted")
    else:
        how = f"{cap(who)} was restarted when {pod} was deleted" + (" gracefully" if crashed is False else "")
    if "seed_error_line" not in two:  # a record from before the lesson kept the dead container's last words
        why = " It has no retry logic: a failed write ends the process, and Kubernetes started it again."
    elif two["seed_error_line"]:
        why = (f" It has no retry logic: its first failed write ended the process ({code(two['seed_error_line'])})"
               " and Kubernetes started it again.")
    else:
        why = (" Its previous container's log holds no `Cannot write` line, so the record does not show which "
               "failure ended it.")
    return f"{how}: its RESTARTS went from {before} to {after}.{why}"


def robust_under_fault(two: dict[str, Any] | None, four: dict[str, Any], steps: dict[str, Any]) -> str:
    """Lesson step 4: the robust writer under step 2's fault; its stall compared with the seed's only when the
    two steps recorded the same fault."""
    who, pod = writer_named(four, "robust"), (two or {}).get("deleted_pod") or "cassandra-1"
    restarts = four["robust_restarts"]
    stall = f", longest stall {number(four['robust_stall_s'])} s" if four.get("robust_stall_s") is not None else ""
    crashed = four.get("crashed")
    fault = (f"a crash of {pod}: its JVM frozen, then the pod deleted with --force" if crashed is True else
             f"a graceful deletion of {pod}" if crashed is False else f"a deletion of {pod}, its kind not recorded")
    under = f"under the same fault as step 2 ({fault})" if two is not None and not lesson_table.unlike(steps) \
        else f"under {fault}"
    if restarts == 0:
        text = f"{cap(who)} {under}: 0 restarts{stall}; it retries with back-off instead of exiting."
    else:
        text = (f"{cap(who)} {under}: restarted {restarts} time(s){stall}, so it did not ride the fault out this "
                "time" + (f" ({four['error']})" if four.get("error") else "") + ".")
    reason = lesson_table.unlike(steps)
    if reason:
        text += f" Its stall is not compared with the seed writer's: {reason}."
    elif two is not None and two.get("seed_stall_s") is not None and four.get("robust_stall_s") is not None:
        text += (f" Under the same fault the seed writer's longest stall was {number(two['seed_stall_s'])} s, the "
                 f"robust writer's {number(four['robust_stall_s'])} s.")
    return text
