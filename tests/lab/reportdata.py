"""Recorded command outputs and fixtures shared by the tests of lab.report (tests/lab/test_report_*.py)."""

from __future__ import annotations

import shutil

from invoke import Result

from lab import report as report_lib
from tests.lab.labfakes import DATA, CqlRows, FakeCtx, make_lab

NB = DATA / "notebook"
ROUND = "20251125T193003Z-round1"
WRITER = "ece573-prj04-writer-6d9f8b7c5d-q2x7k"
LESSON = NB / "artifacts/lesson/lesson.json"


def read(name):
    return (NB / name).read_text()


def seqs_table(last):
    """cqlsh's shape for SELECT seq (as in tests/lab/data/cqlsh_seqs.txt), for seqs 1..last."""
    rows = "\n".join(f" {n:>5}" for n in range(1, last + 1))
    return f"\nConsistency level set to QUORUM.\nDisabled Query paging.\n\n seq\n-------\n{rows}\n\n({last} rows)\n"


def healthy_rules():
    k = r"kubectl --context kind-kind"
    return [
        (r"^kind get nodes --name kind$", read("kind_get_nodes.txt")),
        (r"^docker ps --filter label=io.x-k8s.kind.cluster=kind", read("docker_ps.txt")),
        (r"^docker exec kind-worker crictl ps$", read("crictl_ps.txt")),
        (r"^kind version$", read("kind_version.txt")),
        (r"config get-contexts", "kind-kind\n"),
        (rf"^{k} version$", read("kubectl_version.txt")),
        (r"^kubectl cluster-info --context kind-kind$", read("cluster_info.txt")),
        (r"get nodes --output wide", read("nodes_wide.txt")),
        (r"get services,statefulsets,pods --output wide", read("get_wide.txt")),
        (r"get persistentvolumeclaims --output wide", read("pvc_wide.txt")),
        (r"get pods --selector app=cassandra --output json", read("cassandra_pods.json")),
        (r"exec cassandra-0 --container cassandra -- nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
        (r"system\.local", read("cqlsh_system_local.txt")),
        (r"get deployments --selector app.kubernetes.io/component=writer,app.kubernetes.io/part-of=ece573-prj04 "
         r"--output wide", read("deployment_wide.txt")),
        (r"get pods --selector app.kubernetes.io/component=writer,app.kubernetes.io/part-of=ece573-prj04 --output json",
         read("writer_pods.json")),
        (r"logs --selector app=ece573-prj04-writer .*--tail 20$", read("writer_logs_tail.txt")),
        (rf"logs {WRITER} --container writer --tail -1$", read("writer_log_current.txt")),
        (r"prj04_last_seq", read("cqlsh_last_seq.txt")),
        # verify's census and reads (its script holds a SELECT seq) before the report's own count(*) of a topic
        (r"SELECT seq FROM ece573.prj04 WHERE", CqlRows(seqs_table(4500))),
        (r"count\(\*\)", read("cqlsh_count.txt")),
    ]


def down_rules():
    """Real outputs of the tools on the lab machine without a cluster (data/notebook/down)."""
    def real(name):
        stderr = NB / "down" / f"{name}.stderr"
        return {"stdout": read(f"down/{name}.txt"), "stderr": stderr.read_text() if stderr.exists() else ""}
    return [
        (r"^kind get nodes", Result(**real("kind_get_nodes"), exited=0)),
        (r"^docker ps", read("down/docker_ps.txt")),
        (r"^kind version$", read("kind_version.txt")),
        (r"config get-contexts", ""),
        (r"--context kind-kind version$", Result(**real("kubectl_version"), exited=1)),
        (r"^kubectl version --client$", read("down/kubectl_version_client.txt")),
    ]


class Clock:
    def __init__(self, t=1764100800.0):  # 2025-11-25T20:00:00Z
        self.t = t

    def __call__(self):
        self.t += 0.25
        return self.t


def add_chaos(project):
    folder = project / "artifacts/chaos"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(NB / f"artifacts/chaos/{ROUND}.json", folder)
    return project


def add_lesson(project, record=None):
    folder = project / "artifacts/lesson"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "lesson.json"
    if record is None:
        shutil.copy(LESSON, target)
    else:
        import json

        target.write_text(json.dumps(record))
    return project


def healthy_report(project, **kwargs):
    return report_lib.collect(make_lab(project, FakeCtx(healthy_rules()), **kwargs), clock=Clock(), plot_missing=False)
