"""Answers to the assignment's questions, written from the collected data and the lesson record (pure).

Each section of the assignment asks something ("Do you notice that something is wrong with our writer
application?", "Why?" the deleted pod is still there, why the writer starts again from seq 1). An answer
quotes the numbers and log lines this cluster produced, and its wording is chosen by them, not by the lesson
the assignment expects: whether a restart happened (RESTARTS before and after), the seq a writer started
from against the last_seq stored before it, a graceful deletion or a crash, and which writer ran (the lab's
Python writer, in seed mode or robust). When the data contradicts the expected lesson the answer says so
plainly. When the data behind an answer is missing, the answer says so and ``missing`` names the command
that produces it, so the hand-in shows what is left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

from lab.names import CLUSTER_NAME
from lab.report import lesson_record, lesson_table


@dataclass(frozen=True)
class Answer:
    section: str
    question: str
    answer: str
    missing: tuple[str, ...] = ()  # the commands that produce the data still missing from the answer


def _n(value: Any) -> str:
    """12.0 -> "12", 1.25 -> "1.2"; anything else as it is."""
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0")
    return str(value)


def _code(text: str) -> str:
    return f"`{text.strip()}`"


def answers(report: dict[str, Any]) -> list[Answer]:
    return section_ii(report) + section_iii(report) + section_iv(report) + section_v(report)


# -- II -------------------------------------------------------------------------------------------------

def section_ii(report: dict[str, Any]) -> list[Answer]:
    data, expected = report.get("data", {}), report.get("expected", {})
    cluster, context = report.get("cluster", "kind"), report.get("context", "kind-kind")
    out = []
    q = "Is the kind cluster running, with the nodes cluster.yml asks for? (`kind get nodes`)"
    nodes = data.get("kind_nodes") or []
    if nodes:
        workers = [n for n in nodes if "worker" in n]
        want = expected.get("nodes", 5)
        verdict = "as cluster.yml asks" if len(nodes) == want else f"but cluster.yml asks for {want}"
        out.append(Answer("II", q, f"Yes: `kind get nodes` lists {len(nodes)} nodes ({', '.join(nodes)}): "
                                   f"{len(nodes) - len(workers)} control plane and {len(workers)} workers, {verdict}."))
    else:
        out.append(Answer("II", q, f"No: kind cluster {cluster} has no nodes, so there is nothing to show yet.",
                          ("invoke up",)))
    q = "What are the nodes? (`docker ps`)"
    containers = data.get("node_containers") or []
    if containers:
        images = sorted({c.get("image", "") for c in containers} - {""})
        up = [c for c in containers if c.get("status", "").startswith("Up")]
        out.append(Answer("II", q, f"Each node is a Docker container: `docker ps` lists {len(containers)} containers "
                                   f"({len(up)} up) from the image {', '.join(images) or 'unknown'}, named like the "
                                   "nodes. Kubernetes' own containers run nested inside them."))
    else:
        out.append(Answer("II", q, "Not answered yet: `docker ps` shows no container of the cluster.", ("invoke up",)))
    q = "What runs inside a worker node? (`docker exec kind-worker crictl ps`)"
    crictl = data.get("crictl") or {}
    if crictl.get("names"):
        out.append(Answer("II", q, f"Inside {crictl['node']}, `crictl ps` lists {len(crictl['names'])} running "
                                   f"containers: {', '.join(crictl['names'])}. They run in the node's own "
                                   "containerd, which is why the host's `docker ps` does not show them."))
    else:
        out.append(Answer("II", q, "Not answered yet: no worker node to run `crictl ps` in.", ("invoke up",)))
    q = f"Does kubectl reach the cluster? (`kubectl cluster-info --context {context}`)"
    info = data.get("cluster_info") or {}
    plane = info.get("Kubernetes control plane")
    if plane:
        versions = data.get("versions", {})
        server = f" running Kubernetes {versions['server']}" if versions.get("server") else ""
        out.append(Answer("II", q, f"Yes: the Kubernetes control plane is running at {plane}{server}"
                                   + (f"; CoreDNS at {info['CoreDNS']}" if info.get("CoreDNS") else "") + "."))
    else:
        out.append(Answer("II", q, f"Not answered yet: kube context {context} does not answer.", ("invoke up",)))
    return out


# -- III ------------------------------------------------------------------------------------------------

def section_iii(report: dict[str, Any]) -> list[Answer]:
    data = report.get("data", {})
    replicas = report.get("expected", {}).get("cassandra_replicas", 3)
    out = []
    q = "Are the Cassandra Service and StatefulSet running? (`kubectl get services,statefulsets,pods`)"
    pods = data.get("cassandra_pods")
    if pods:
        ready = [p for p in pods if p["ready"]]
        where = ", ".join(f"{p['name']} on {p['node'] or '?'}" for p in sorted(pods, key=lambda p: p["name"]))
        out.append(Answer("III", q, f"The StatefulSet cassandra has {len(ready)} of {len(pods)} pods Ready "
                                    f"({replicas} wanted): {where}. A StatefulSet starts its pods one after "
                                    "another, cassandra-0 first, each with a stable name behind the headless "
                                    "Service cassandra-service."))
    else:
        out.append(
            Answer("III", q, "Not answered yet: no Cassandra pod was found.", ("invoke deploy --what cassandra",))
        )
    q = "Is Cassandra actually running properly? (`kubectl exec cassandra-0 -- nodetool status`, cqlsh)"
    ring, cql = data.get("nodetool"), data.get("cqlsh") or {}
    if ring:
        un = [n for n in ring if n.get("state") == "UN"]
        text = f"`nodetool status` shows {len(un)} of {len(ring)} nodes UN (Up, Normal)"
        if cql.get("cluster_name"):
            text += (
                f", and cqlsh connects to cluster {cql['cluster_name']} (Cassandra {cql.get('release_version', '?')})"
                + ("" if cql["cluster_name"] == CLUSTER_NAME else f", not {CLUSTER_NAME}")
            )
        verdict = "Yes" if len(un) == len(ring) == replicas else "Not fully"
        out.append(Answer("III", q, f"{verdict}: {text}."))
    else:
        out.append(Answer("III", q, "Not answered yet: no Ready Cassandra pod to run nodetool in.",
                          ("invoke deploy --what cassandra",)))
    return out


# -- the writers, as the lesson ran them -----------------------------------------------------------------

#: The writers this lab runs, in words. The assignment's Go writer itself is never run: the seed mode
#: reproduces it, line for line, in the lab's Python writer (writer/seed.py).
WRITERS = {
    "seed": "the seed writer (the lab's Python writer in WRITER_MODE=seed, which reproduces the assignment's Go "
            "writer)",
    "robust": "the lab's robust writer",
}
LAST_SEQ_TABLE = "ece573.prj04_last_seq"


def _writer(facts: dict[str, Any], default: str) -> str:
    """The writer a lesson step ran: as its record says (``writer_mode``), else the mode that step deploys."""
    mode = facts.get("writer_mode") or default
    return WRITERS.get(mode, f"the writer in WRITER_MODE={mode}")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# -- IV -------------------------------------------------------------------------------------------------

def deletions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Chaos rounds that deleted one Cassandra pod and saw it recover (what section IV does by hand),
    cassandra-1 (the assignment's) last so it is the one quoted; partitions and node stops are not."""
    rounds = [r for r in data.get("chaos") or [] if r.get("fault", "pod") == "pod" and r.get("recovery_s") is not None
              and str(r.get("pod", "")).startswith("cassandra-") and "," not in str(r.get("pod"))]
    return sorted(rounds, key=lambda r: r.get("pod") == "cassandra-1")


def crash_loop(one: dict[str, Any], two: dict[str, Any] | None, topic: str) -> str:
    """Lesson step 1: did the writer without a topic crash-loop, and does its log say why?"""
    who, line, restarts, state = _writer(one, "seed"), one.get("unknown_topic_line") or "", one.get("restarts"), \
        one.get("state")
    looped = bool(one.get("crashloop")) or (_int(restarts) and restarts > 0)
    seen = ", ".join(x for x in (state, f"{restarts} restarts" if restarts is not None else "") if x)
    if looped and line:
        second = one.get("unknown_consistency_line") or ""
        fix = (f" With TOPIC set (here {topic}) but CONSISTENCY still unset it crash-looped again "
               f"({one.get('consistency_restarts')} restarts): {_code(second)}, the assignment's remaining issue."
               if second else "")
        both = " and CONSISTENCY" if second else ""
        fix += (f" With TOPIC set (here {topic}){both} rows flowed in lesson step 2." if two is not None
                else " Setting TOPIC in writer.yml is the fix; lesson step 2 runs the writer with it.")
        return (f"Yes: {who} crash-looped because TOPIC was unset in writer.yml ({seen}); `kubectl logs -l "
                f"app=ece573-prj04-writer` shows {_code(line)}. It exits when it has no topic, as the assignment's "
                "writer does, and the Deployment starts it again, with a growing back-off." + fix)
    if looped:
        return (f"Yes, {who} kept restarting ({seen}), but its log shows no `Unknown topic` line, so this record "
                "does not show why.")
    if line:
        return (f"Not shown in this run: {who} logged {_code(line)}, but it was not seen restarting (RESTARTS "
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
            f"so its data: AGE {_n(two['pod_age_s'])} s, RESTARTS {restarts if restarts is not None else '?'}. "
            "RESTARTS counts container restarts inside a pod, and a replacement pod starts from 0")
    if _int(restarts) and restarts > 0:
        text += (f", so the new {pod}'s own container has restarted {restarts} time(s) since it was created: it did "
                 f"not start cleanly (`kubectl describe pod {pod}` says why).")
    elif restarts == 0:
        text += ", so it shows 0."
    else:
        text += "; this record does not hold the new pod's count."
    return text + chaos


def seed_under_fault(two: dict[str, Any]) -> str:
    """Lesson step 2: was the seed writer restarted? Its RESTARTS before and after decide, nothing else."""
    who, pod = _writer(two, "seed"), two.get("deleted_pod") or "cassandra-1"
    # Any: both counts are in every step-2 record (a record without them fails here, as it always did).
    before: Any = two.get("seed_restarts_before")
    after: Any = two.get("seed_restarts_after")
    crashed = two.get("crashed")
    if after < before:
        return (f"{_cap(who)}'s RESTARTS went from {before} to {after}: its pod was replaced (a new pod counts from "
                "0), so this record does not show whether it died.")
    if after == before:
        fault = (f"even when {pod} crashed (its JVM frozen, then the pod deleted with --force) after a graceful "
                 "deletion" if crashed is True else f"through the deletion of {pod}")
        return (f"{_cap(who)} was not restarted in this run: its RESTARTS stayed {before}, {fault}. This run does "
                "not show the failure the assignment describes.")
    if crashed is True:
        how = (f"{_cap(who)} survived the graceful deletion of {pod} (Cassandra shut down cleanly, finishing the "
               f"writes in flight), so the lesson crashed {pod} (its JVM frozen, then the pod deleted with --force); "
               "then the writer was restarted")
    else:
        how = f"{_cap(who)} was restarted when {pod} was deleted" + (" gracefully" if crashed is False else "")
    if "seed_error_line" not in two:  # a record from before the lesson kept the dead container's last words
        why = " It has no retry logic: a failed write ends the process, and Kubernetes started it again."
    elif two["seed_error_line"]:
        why = (f" It has no retry logic: its first failed write ended the process ({_code(two['seed_error_line'])})"
               " and Kubernetes started it again.")
    else:
        why = (" Its previous container's log holds no `Cannot write` line, so the record does not show which "
               "failure ended it.")
    return f"{how}: its RESTARTS went from {before} to {after}.{why}"


def robust_under_fault(two: dict[str, Any] | None, four: dict[str, Any], steps: dict[str, Any]) -> str:
    """Lesson step 4: the robust writer under step 2's fault; its stall compared with the seed's only when the
    two steps recorded the same fault."""
    who, pod = _writer(four, "robust"), (two or {}).get("deleted_pod") or "cassandra-1"
    restarts = four["robust_restarts"]
    stall = f", longest stall {_n(four['robust_stall_s'])} s" if four.get("robust_stall_s") is not None else ""
    crashed = four.get("crashed")
    fault = (f"a crash of {pod}: its JVM frozen, then the pod deleted with --force" if crashed is True else
             f"a graceful deletion of {pod}" if crashed is False else f"a deletion of {pod}, its kind not recorded")
    under = f"under the same fault as step 2 ({fault})" if two is not None and not lesson_table.unlike(steps) \
        else f"under {fault}"
    if restarts == 0:
        text = f"{_cap(who)} {under}: 0 restarts{stall}; it retries with back-off instead of exiting."
    else:
        text = (f"{_cap(who)} {under}: restarted {restarts} time(s){stall}, so it did not ride the fault out this "
                "time" + (f" ({four['error']})" if four.get("error") else "") + ".")
    reason = lesson_table.unlike(steps)
    if reason:
        text += f" Its stall is not compared with the seed writer's: {reason}."
    elif two is not None and two.get("seed_stall_s") is not None and four.get("robust_stall_s") is not None:
        text += (f" Under the same fault the seed writer's longest stall was {_n(two['seed_stall_s'])} s, the "
                 f"robust writer's {_n(four['robust_stall_s'])} s.")
    return text


def section_iv(report: dict[str, Any]) -> list[Answer]:
    data = report.get("data", {})
    one, two, four = (lesson_record.step_facts(report, n) for n in ("1", "2", "4"))
    out = []

    q = "Do you notice that something is wrong with our writer application?"
    if one is not None:
        out.append(Answer("IV", q, crash_loop(one, two, report.get("topic", "test"))))
    else:
        crashing = [p for p in data.get("writer_pods") or [] if p.get("state") == "CrashLoopBackOff"]
        if crashing:
            out.append(Answer("IV", q, f"Yes: the writer pod {crashing[0]['name']} is in CrashLoopBackOff with "
                                       f"{crashing[0]['restarts']} restarts; its log says why."))
        else:
            out.append(Answer("IV", q, "Not answered yet: lesson step 1 (the seed writer without a topic) "
                                       "has not been recorded.", (lesson_record.command_for("1"),)))

    q = "After `kubectl delete pod cassandra-1`, why is the pod still there?"
    rounds = deletions(data)
    chaos = ""
    if rounds:
        last = rounds[-1]
        chaos = (f" `invoke chaos --pod {last['pod']}` measured the same: back Ready and UN after "
                 f"{_n(last['recovery_s'])} s" + (" (a forced deletion)" if last.get("force") else "") + ".")
    if two is not None and two.get("pod_age_s") is not None:
        out.append(Answer("IV", q, pod_still_there(two, chaos)))
    elif rounds:
        out.append(Answer("IV", q, "Because only the pod was deleted, not the StatefulSet that owns it: the "
                                   "StatefulSet controller recreates cassandra-1 under the same name with its own "
                                   "volume." + chaos + " The seed writer's side is lesson step 2.",
                          (lesson_record.command_for("2"),)))
    else:
        out.append(Answer("IV", q, "Not answered yet: no pod deletion has been recorded.",
                          (lesson_record.command_for("2"), "invoke chaos --pod cassandra-1")))

    q = "What happens to the writer when a Cassandra pod fails?"
    parts, missing = [], []
    if two is not None and _int(two.get("seed_restarts_before")) and _int(two.get("seed_restarts_after")):
        parts.append(seed_under_fault(two))
    else:
        missing.append(lesson_record.command_for("2"))
    if four is not None and _int(four.get("robust_restarts")):
        parts.append(robust_under_fault(two, four, lesson_record.steps(report)))
    elif rounds:
        last = rounds[-1]
        stall = f", stall {_n(last['stall_s'])} s" if last.get("stall_s") is not None else ""
        parts.append(f"The lab's robust writer under `invoke chaos --pod {last['pod']}`: "
                     f"{last.get('writer_restarts', 0)} restarts{stall}.")
    else:
        missing.append(lesson_record.command_for("4"))
    if parts:
        out.append(Answer("IV", q, " ".join(parts), tuple(missing)))
    else:
        out.append(Answer("IV", q, "Not answered yet: the writer under a pod deletion has not been recorded.",
                          tuple(missing)))
    return out


# -- V --------------------------------------------------------------------------------------------------

def _known(facts: dict[str, Any], key: str) -> bool:
    """Whether the step recorded the stored last_seq ``key`` (a seq, or None: no row); absent in records made
    before the lesson kept it, "not read" when Cassandra did not answer."""
    return key in facts and (facts[key] is None or _int(facts[key]))


def _stored(facts: dict[str, Any], key: str) -> str:
    """" while ece573.prj04_last_seq held N", or what the record says instead ("" when it does not say)."""
    if key not in facts:
        return ""
    value = facts[key]
    if not _known(facts, key):
        return f" (the stored last_seq: {value})"
    return f" while {LAST_SEQ_TABLE} held {value}" if _int(value) else f" with no last_seq stored in {LAST_SEQ_TABLE}"


def fresh_start(three: dict[str, Any]) -> str:
    """Lesson step 3, without resume: the start seq as logged, against the last_seq stored before it."""
    who, start = _writer(three, "seed"), three["start_without_resume"]
    stored = three.get("stored_before_without_resume")
    logged = f"Redeployed without resume, {who} logged `start from lastSeq={start}`"
    if not _int(start):
        return f"{logged}: not a seq, so this record does not show where it started."
    if start > 0:
        return (f"Not in this run: {logged[0].lower()}{logged[1:]}{_stored(three, 'stored_before_without_resume')}, "
                f"not 0, so it did not start again from seq 1: it read a stored seq, which a writer without resume "
                "does not do (check WRITER_RESUME in writer.yml).")
    why = ("it keeps its seq in a variable (`lastSeq := 0` in the assignment's writer), and a Deployment's pod is "
           "stateless (a new container starts with nothing)")
    if not _known(three, "stored_before_without_resume"):
        return (f"{logged}{_stored(three, 'stored_before_without_resume')}: {why}, so it began again at seq 1. (This "
                "record does not hold the last_seq stored before that start, so it does not show how many stored "
                "rows were written again.)")
    if not _int(stored) or stored == 0:
        return (f"{logged}{_stored(three, 'stored_before_without_resume')}: nothing was stored yet, so this start "
                f"does not show the loss. The reason it would: {why}.")
    return (f"{logged}{_stored(three, 'stored_before_without_resume')}: {why}, so it began again at seq 1, over the "
            f"rows 1..{stored} already stored.")


def resumed_start(three: dict[str, Any]) -> str:
    """Lesson step 3, with WRITER_RESUME=true: did it go on from the stored last_seq, and are the rows whole?"""
    who, start = _writer(three, "seed"), three["start_with_resume"]
    stored = three.get("stored_before_with_resume")
    held = _stored(three, "stored_before_with_resume")
    gaps = three.get("gaps")
    holes = _int(gaps) and gaps > 0
    switched = f"with WRITER_RESUME=true {who}"
    logged = f"{switched} read {LAST_SEQ_TABLE} before its loop and logged `start from lastSeq={start}`"
    if not _int(start):
        text = f"Not shown: {switched} logged `start from lastSeq={start}`, not a seq."
    elif start == 0:
        text = f"No, not in this run: {switched} still logged `start from lastSeq=0`{held}"
        text += (f": it did not resume, and began again at seq 1 (seqs 1..{stored} written again)." if _int(stored)
                 and stored > 0 else ": there was nothing stored to resume from." if _known(
                     three, "stored_before_with_resume") else ": it began again at seq 1.")
    elif not _known(three, "stored_before_with_resume"):
        text = (f"{'It resumed' if holes else 'Yes'}, by keeping the progress in Cassandra, since the pod keeps "
                f"nothing: {logged}{held}, so it went on at seq {start + 1}. (This record does not hold the stored "
                "last_seq to compare that start with.)")
    elif start == stored:
        text = (f"{'It resumed' if holes else 'Yes'}, by keeping the progress in Cassandra, since the pod keeps "
                f"nothing: {logged}, the last_seq stored when it was redeployed, so it went on at seq {start + 1}.")
    else:
        after = (f": seqs {start + 1}..{stored} are written again" if _int(stored) and start < stored else
                 f": seqs {stored + 1 if _int(stored) else 1}..{start} are never written")
        text = f"It resumed, but not from where it stopped: {logged}{held}{after}."
    if _int(gaps):
        text += (f" verify after the step found {gaps} seq(s) missing in 1..last_seq: the data has holes, so this "
                 "run does not show a complete resume." if holes else " verify after the step: 0 missing in "
                 "1..last_seq.")
    elif gaps is not None:
        text += f" verify after the step: {gaps}."
    return text


def _live(data: dict[str, Any]) -> tuple[str, bool]:
    """What the writer pods' logs and verify show now: (text, whether a resumed start was seen)."""
    resume = data.get("resume") or {}
    text = (f" The writer pods' logs show it too: {resume['source']} logged `start from lastSeq={resume['seq']}`."
            if resume.get("resumed") else "")
    ver = data.get("verify") or {}
    if ver.get("topics"):
        lost = sum(t.get("missing", 0) for t in ver["topics"])
        text += f" verify read every seq 1..last_seq back at {ver.get('consistency')}: {lost} missing."
    return text, bool(resume.get("resumed"))


def section_v(report: dict[str, Any]) -> list[Answer]:
    data = report.get("data", {})
    three = lesson_record.step_facts(report, "3")
    out = []
    q = "Why does the writer start again from seq 1 when it is restarted?"
    if three is not None and three.get("start_without_resume") is not None:
        out.append(Answer("V", q, fresh_start(three)))
    else:
        out.append(Answer("V", q, "Not answered yet: lesson step 3 (the writer redeployed without resume) has not "
                                  "been recorded.", (lesson_record.command_for("3"),)))
    q = "Can we have a writer that writes from the seq where it stopped the last time?"
    live, resumed = _live(data)
    if three is not None and three.get("start_with_resume") is not None:
        out.append(Answer("V", q, resumed_start(three) + live))
    elif resumed:
        out.append(Answer("V", q, f"Yes, by keeping the progress in Cassandra ({LAST_SEQ_TABLE}) and reading it "
                                  "before the loop." + live + " The seed writer's before and after are in "
                                  "lesson step 3.", (lesson_record.command_for("3"),)))
    elif (data.get("resume") or {}).get("starts"):
        starts = data["resume"]["starts"]
        out.append(Answer("V", q, "Not shown by this run's data: every writer start recorded is `start from "
                                  f"lastSeq=0` ({len(starts)} start(s), e.g. {starts[-1]['source']}), a start that "
                                  "resumed nothing. A writer resumes by keeping its progress in Cassandra "
                                  f"({LAST_SEQ_TABLE}) and reading it before its loop." + live,
                          (lesson_record.command_for("3"), "invoke chaos --pod writer")))
    else:
        out.append(Answer("V", q, "Not answered yet: no writer start from a stored seq has been recorded." + live,
                          (lesson_record.command_for("3"), "invoke chaos --pod writer")))
    return out
