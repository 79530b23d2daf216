"""Answers to the assignment's questions, written from the collected data and the lesson record (pure).

Each section of the assignment asks something ("Do you notice that something is wrong with our writer
application?", "Why?" the deleted pod is still there, why the writer starts again from seq 1). An answer
quotes the numbers and log lines this cluster produced; when the data behind it is missing, the answer
says so and ``missing`` names the command that produces it, so the hand-in shows what is left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lab.names import CLUSTER_NAME
from lab.report import lesson_record


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


# -- IV -------------------------------------------------------------------------------------------------

def deletions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Chaos rounds that deleted one Cassandra pod and saw it recover (what section IV does by hand),
    cassandra-1 (the assignment's) last so it is the one quoted; partitions and node stops are not."""
    rounds = [r for r in data.get("chaos") or [] if r.get("fault", "pod") == "pod" and r.get("recovery_s") is not None
              and str(r.get("pod", "")).startswith("cassandra-") and "," not in str(r.get("pod"))]
    return sorted(rounds, key=lambda r: r.get("pod") == "cassandra-1")


def section_iv(report: dict[str, Any]) -> list[Answer]:
    data = report.get("data", {})
    one, two, four = (lesson_record.step_facts(report, n) for n in ("1", "2", "4"))
    out = []

    q = "Do you notice that something is wrong with our writer application?"
    if one is not None:
        line = one.get("unknown_topic_line") or ""
        restarts = one.get("restarts")
        if one.get("crashloop") or line:
            text = ("Yes: the writer crash-looped because TOPIC was unset in writer.yml"
                    + (f" (CrashLoopBackOff, {restarts} restarts)" if restarts is not None else "")
                    + (f"; `kubectl logs -l app=ece573-prj04-writer` shows {_code(line)}" if line else "")
                    + ". writer.go exits when it has no topic, and the Deployment starts it again, with a growing "
                    f"back-off. Setting TOPIC in writer.yml (here {report.get('topic', 'test')}) fixes it.")
        else:
            text = (f"The seed writer without a topic did not crash-loop in lesson step 1 (restarts {restarts}); "
                    "run the step again to see it.")
        out.append(Answer("IV", q, text))
    else:
        crashing = [p for p in data.get("writer_pods") or [] if p.get("state") == "CrashLoopBackOff"]
        if crashing:
            out.append(Answer("IV", q, f"Yes: the writer pod {crashing[0]['name']} is in CrashLoopBackOff with "
                                       f"{crashing[0]['restarts']} restarts; its log says why."))
        else:
            out.append(Answer("IV", q, "Not answered yet: lesson step 1 (the assignment's writer without a topic) "
                                       "has not been recorded.", (lesson_record.command_for("1"),)))

    q = "After `kubectl delete pod cassandra-1`, why is the pod still there?"
    rounds = deletions(data)
    chaos = (f" `invoke chaos --pod {rounds[-1]['pod']}` measured the same: back Ready and UN after "
             f"{_n(rounds[-1]['recovery_s'])} s." if rounds else "")
    if two is not None and two.get("pod_age_s") is not None:
        pod = two.get("deleted_pod") or "cassandra-1"
        out.append(Answer("IV", q, f"Because only the pod was deleted, not the StatefulSet that owns it: the "
                                   f"StatefulSet controller saw a replica missing and recreated {pod} under the same "
                                   f"name, with its own volume (PVC) and so its data: AGE {_n(two['pod_age_s'])} s, "
                                   f"RESTARTS {two.get('pod_restarts', 0)}. RESTARTS counts container restarts inside "
                                   "a pod; a deleted pod is replaced by a new one, so it shows 0." + chaos))
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
    if (
        two is not None
        and isinstance(two.get("seed_restarts_before"), int)
        and isinstance(two.get("seed_restarts_after"), int)
    ):
        parts.append(f"The assignment's writer was restarted: its RESTARTS went from {two['seed_restarts_before']} to "
                     f"{two['seed_restarts_after']}. It has no retry logic, so its first failed write ended the "
                     "process and Kubernetes started it again.")
    else:
        missing.append(lesson_record.command_for("2"))
    if four is not None and four.get("robust_restarts") is not None:
        stall = f", longest stall {_n(four['robust_stall_s'])} s" if four.get("robust_stall_s") is not None else ""
        parts.append(f"The lab's robust writer under the same deletion: {four['robust_restarts']} restarts{stall}; "
                     "it retries with back-off instead of exiting.")
    elif rounds:
        parts.append(f"The lab's robust writer under `invoke chaos --pod {rounds[-1]['pod']}`: "
                     f"{rounds[-1].get('writer_restarts', 0)} restarts, stall {_n(rounds[-1].get('stall_s'))} s.")
    else:
        missing.append(lesson_record.command_for("4"))
    if parts:
        out.append(Answer("IV", q, " ".join(parts), tuple(missing)))
    else:
        out.append(Answer("IV", q, "Not answered yet: the writer under a pod deletion has not been recorded.",
                          tuple(missing)))
    return out


# -- V --------------------------------------------------------------------------------------------------

def section_v(report: dict[str, Any]) -> list[Answer]:
    data = report.get("data", {})
    three = lesson_record.step_facts(report, "3")
    out = []
    q = "Why does the writer start again from seq 1 when it is restarted?"
    if three is not None and three.get("start_without_resume") is not None:
        out.append(Answer("V", q, f"Redeployed without resume, the writer logged `start from lastSeq="
                                  f"{three['start_without_resume']}`: writer.go keeps its seq in a variable, and a "
                                  "Deployment's pod is stateless (a new container starts with nothing), so every "
                                  "start begins at seq 1 and writes again rows that are already stored."))
    else:
        out.append(Answer("V", q, "Not answered yet: lesson step 3 (the writer redeployed without resume) has not "
                                  "been recorded.", (lesson_record.command_for("3"),)))
    q = "Can we have a writer that writes from the seq where it stopped the last time?"
    resume = data.get("resume") or {}
    live = (f" The lab's writer does the same: {resume['source']} logged start from lastSeq={resume['seq']}."
            if resume.get("resumed") else "")
    ver = data.get("verify") or {}
    if ver.get("topics"):
        lost = sum(t.get("missing", 0) for t in ver["topics"])
        live += (f" verify read every seq 1..last_seq back at {ver.get('consistency')}: {lost} missing.")
    if three is not None and three.get("start_with_resume") is not None:
        out.append(
            Answer(
                "V",
                q,
                "Yes, by keeping the progress in Cassandra, since the pod keeps nothing: with "
                "WRITER_RESUME=true the writer reads ece573.prj04_last_seq before its loop and "
                f"logged `start from lastSeq={three['start_with_resume']}`, so it went on at seq "
                f"{three['start_with_resume'] + 1 if isinstance(three['start_with_resume'], int) else 'N+1'}." + live,
            )
        )
    elif live:
        out.append(Answer("V", q, "Yes, by keeping the progress in Cassandra (table ece573.prj04_last_seq) and "
                                  "reading it before the loop." + live + " The seed writer's before and after are in "
                                  "lesson step 3.", (lesson_record.command_for("3"),)))
    else:
        out.append(Answer("V", q, "Not answered yet: no writer start from a stored seq has been recorded.",
                          (lesson_record.command_for("3"), "invoke chaos --pod writer")))
    return out
