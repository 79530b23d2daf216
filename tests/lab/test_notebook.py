"""invoke report: collection on recorded command outputs, key facts, rendering (also without a cluster)."""

import json
import shutil

import pytest
from invoke import Result

from lab import docker, kind, notebook
from lab.errors import LabError, PreconditionError
from lab.notebook import Fact, key_facts, parse_docker_ps, render_html, render_markdown

from labfakes import DATA, FakeCtx, make_lab

NB = DATA / "notebook"
ROUND = "20251125T193003Z-round1"
WRITER = "ece573-prj04-writer-6d9f8b7c5d-q2x7k"


def _read(name):
    return (NB / name).read_text()


def _seqs_table(last):
    """cqlsh's shape for SELECT seq (as in tests/lab/data/cqlsh_seqs.txt), for seqs 1..last."""
    rows = "\n".join(f" {n:>5}" for n in range(1, last + 1))
    return f"\nConsistency level set to QUORUM.\nDisabled Query paging.\n\n seq\n-------\n{rows}\n\n({last} rows)\n"


def healthy_rules():
    k = r"kubectl --context kind-kind"
    return [
        (r"^kind get nodes --name kind$", _read("kind_get_nodes.txt")),
        (r"^docker ps --filter label=io.x-k8s.kind.cluster=kind", _read("docker_ps.txt")),
        (r"^docker exec kind-worker crictl ps$", _read("crictl_ps.txt")),
        (r"^kind version$", _read("kind_version.txt")),
        (r"config get-contexts", "kind-kind\n"),
        (rf"^{k} version$", _read("kubectl_version.txt")),
        (r"get nodes --output wide", _read("nodes_wide.txt")),
        (r"get services,statefulsets,pods --output wide", _read("get_wide.txt")),
        (r"get persistentvolumeclaims --output wide", _read("pvc_wide.txt")),
        (r"get pods --selector app=cassandra --output json", _read("cassandra_pods.json")),
        (r"exec cassandra-0 --container cassandra -- nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
        (r"system\.local", _read("cqlsh_system_local.txt")),
        (r"get deployment/ece573-prj04-writer --output wide", _read("deployment_wide.txt")),
        (r"get pods --selector app=ece573-prj04-writer --output json", _read("writer_pods.json")),
        (r"logs --selector app=ece573-prj04-writer .*--tail 20$", _read("writer_logs_tail.txt")),
        (rf"logs {WRITER} --container writer --tail -1$", _read("writer_log_current.txt")),
        (r"prj04_last_seq", _read("cqlsh_last_seq.txt")),
        (r"count\(\*\)", _read("cqlsh_count.txt")),
        (r"SELECT seq FROM ece573.prj04 WHERE", _seqs_table(4500)),
    ]


def down_rules():
    """Real outputs of the tools on the lab machine without a cluster (data/notebook/down)."""
    def real(name):
        stderr = NB / "down" / f"{name}.stderr"
        return {"stdout": _read(f"down/{name}.txt"), "stderr": stderr.read_text() if stderr.exists() else ""}
    return [
        (r"^kind get nodes", Result(**real("kind_get_nodes"), exited=0)),
        (r"^docker ps", _read("down/docker_ps.txt")),
        (r"^kind version$", _read("kind_version.txt")),
        (r"config get-contexts", ""),
        (r"--context kind-kind version$", Result(**real("kubectl_version"), exited=1)),
        (r"^kubectl version --client$", _read("down/kubectl_version_client.txt")),
    ]


class Clock:
    def __init__(self, t=1764100800.0):  # 2025-11-25T20:00:00Z
        self.t = t

    def __call__(self):
        self.t += 0.25
        return self.t


@pytest.fixture
def with_chaos(project):
    folder = project / "artifacts/chaos"
    folder.mkdir(parents=True)
    shutil.copy(NB / f"artifacts/chaos/{ROUND}.json", folder)
    return project


def test_parsers_on_recorded_outputs():
    assert notebook.parse_kind_nodes(_read("kind_get_nodes.txt")) == [
        "kind-control-plane", "kind-worker", "kind-worker2", "kind-worker3", "kind-worker4"]
    assert notebook.parse_kind_nodes('No kind nodes found for cluster "kind".\n') == []
    rows = parse_docker_ps(_read("docker_ps.txt"))
    assert [r["names"] for r in rows][-1] == "kind-control-plane"
    assert rows[0] == {"container_id": "1398729f7693", "image": "kindest/node:v1.30.0", "created": "47 minutes ago",
                       "status": "Up 47 minutes", "names": "kind-worker3"}
    assert notebook.parse_versions(_read("kubectl_version.txt")) == {"client": "v1.30.0", "server": "v1.30.0"}
    lines = _read("writer_log_current.txt").splitlines()
    assert notebook.log_starts(lines) == [("test", 2990)] and notebook.last_progress(lines) == 4000


def test_argv_are_the_commands_the_assignment_types():
    assert docker.ps_args(kind.cluster_label_filter("kind"))[:4] == ["docker", "ps", "--filter",
                                                                      "label=io.x-k8s.kind.cluster=kind"]
    assert docker.exec_args("kind-worker", ["crictl", "ps"]) == ["docker", "exec", "kind-worker", "crictl", "ps"]


def test_collect_a_healthy_lab_fills_every_section(with_chaos):
    ctx = FakeCtx(healthy_rules())
    report = notebook.collect(make_lab(with_chaos, ctx), clock=Clock())
    data = report["data"]
    assert len(data["kind_nodes"]) == 5 and data["versions"]["server"] == "v1.30.0"
    assert data["versions"]["node_image"] == "kindest/node:v1.30.0"
    assert [n["state"] for n in data["nodetool"]] == ["UN", "UN", "UN"]
    assert data["cqlsh"] == {"cluster_name": "ece573-prj04", "release_version": "5.0.9"}
    assert data["writer_progress"] == 4000 and data["writer_pods"][0]["restarts"] == 0
    assert data["progress"] == {"test": {"last_seq": 4500, "rows": 4500}}
    assert data["verify"]["ok"] is True and data["verify"]["topics"][0]["missing"] == 0
    assert data["resume"]["resumed"] and data["resume"]["seq"] == 2990
    assert data["resume"]["source"] == f"pod {WRITER}, current run"
    assert data["chaos"][0]["pod"] == "cassandra-1" and data["chaos"][0]["ok"] is True
    assert (with_chaos / f"artifacts/chaos/{ROUND}.png").is_file()  # drawn for a round that had none

    shown = [i for s in report["sections"].values() for i in s["items"] if i["type"] == "command" and not i["aside"]]
    typed = [i["command"] for i in shown]
    assert typed[:4] == ["kind get nodes --name kind",
                         "docker ps --filter label=io.x-k8s.kind.cluster=kind --format "
                         r"'table {{.ID}}\t{{.Image}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}'",
                         "docker exec kind-worker crictl ps", "kind version"]
    assert "kubectl --context kind-kind --namespace default exec cassandra-0 --container cassandra -- nodetool status" in typed
    assert all(i["exited"] == 0 and i["started"].endswith("Z") and i["seconds"] >= 0 for i in shown)
    # read-only: nothing in the recorded commands deletes, applies or execs anything but reads
    assert not ctx.matching(r" (delete|apply|rollout|port-forward) ")
    assert report["commands"] == len(ctx.commands)


def test_key_facts_of_a_healthy_lab_all_pass(with_chaos):
    report = notebook.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock(), plot_missing=False)
    facts = {f.name: f for f in key_facts(report)}
    assert facts["kind nodes"] == Fact("II", "kind nodes", "5", "5", True)
    assert facts["nodes UN (nodetool status)"].value == "3 of 3" and facts["nodes UN (nodetool status)"].ok
    assert facts["writer progress (log)"].value == "inserted rows to seq 4000"
    assert facts["gaps (verify at QUORUM)"] == Fact("V", "gaps (verify at QUORUM)", "0 missing in 1 topic(s)", "0 missing", True)
    assert facts["resume (start from lastSeq=N)"].ok and "lastSeq=2990" in facts["resume (start from lastSeq=N)"].value
    assert [f.name for f in key_facts(report) if f.ok is False] == []


def test_key_facts_flag_a_gap_a_down_node_and_no_resume():
    data = {"kind_nodes": ["a", "b", "c", "d", "e"], "node_containers": [{"status": "Up 1 minute"}] * 5,
            "cassandra_pods": [{"name": "cassandra-0", "ready": True}, {"name": "cassandra-1", "ready": False},
                               {"name": "cassandra-2", "ready": True}],
            "nodetool": [{"state": "UN"}, {"state": "DN"}, {"state": "UN"}],
            "writer_pods": [{"name": "w", "ready": True, "restarts": 2}],
            "verify": {"consistency": "ONE", "topics": [{"topic": "test", "missing": 7}]},
            "resume": {"starts": [{"seq": 0}], "resumed": False, "seq": None, "source": ""}}
    facts = {f.name: f for f in key_facts({"data": data, "expected": {"nodes": 5}})}
    bad = {name: f.value for name, f in facts.items() if f.ok is False}
    assert bad["nodes UN (nodetool status)"] == "2 of 3"
    assert bad["Cassandra pods Ready"] == "2/3"
    assert bad["writer restarts"] == "2"
    assert bad["gaps (verify at ONE)"] == "7 missing in 1 topic(s)"
    assert "kind nodes" not in bad
    # shown "when one was recorded": no resume and no chaos round yet are information, not failures
    assert (facts["resume (start from lastSeq=N)"].value, facts["resume (start from lastSeq=N)"].ok) == ("none recorded", None)
    assert (facts["chaos rounds ok"].value, facts["chaos rounds ok"].ok) == ("none recorded", None)
    data["chaos"] = [{"ok": True, "stall_s": 1.0, "file": "a"}, {"ok": False, "stall_s": 9.5, "file": "b"}]
    facts = {f.name: f for f in key_facts({"data": data})}
    assert (facts["chaos rounds ok"].value, facts["chaos rounds ok"].ok) == ("1 of 2", False)
    assert facts["longest writer stall in a round"].value == "9.5 s (b)"


def test_collect_without_a_cluster_says_so_in_each_section(project):
    ctx = FakeCtx(down_rules())
    report = notebook.collect(make_lab(project, ctx), clock=Clock())
    notes = {key: [i["text"] for i in s["items"] if i["type"] == "note"] for key, s in report["sections"].items()}
    assert any("crictl ps" in n and "no worker node" in n for n in notes["II"])
    for key in ("III", "IV", "V"):
        assert any("kube context kind-kind not found" in n for n in notes[key]), key
    assert any("No chaos rounds recorded" in n for n in notes["IV"])
    # only the questions that make sense without a cluster were asked
    assert not ctx.matching(r" exec | logs | get services")
    facts = {f.name: f for f in key_facts(report)}
    assert facts["kind nodes"].value == "0" and facts["kind nodes"].ok is False
    assert facts["nodes UN (nodetool status)"].value == notebook.NOT_COLLECTED
    md = render_markdown(report)
    assert '[stderr] error: context "kind-kind" does not exist' in md  # the failed command is evidence too
    assert "exit 1 · ran 2025-11-25T20:00:" in md
    assert '$ kind get nodes --name kind\n[stderr] No kind nodes found for cluster "kind".' in md
    assert facts["kubectl (client)"].value == "v1.32.4-dispatcher"


def test_a_stale_context_without_kind_nodes_counts_as_no_cluster(project):
    rules = [(r"config get-contexts", "kind-kind\n")] + down_rules()
    ctx = FakeCtx(rules)
    report = notebook.collect(make_lab(project, ctx), clock=Clock(), plot_missing=False)
    assert not ctx.matching(r"kubectl.* (exec|logs|get) ")
    assert "kind cluster kind has no nodes (its kube context is stale" in report["sections"]["III"]["items"][0]["text"]


def test_a_failed_nodetool_is_not_collected_rather_than_zero_nodes(with_chaos):
    rules = [(r"nodetool status", ("error: unable to upgrade connection: container not found", 1))] + healthy_rules()
    report = notebook.collect(make_lab(with_chaos, FakeCtx(rules)), clock=Clock(), plot_missing=False)
    fact = next(f for f in key_facts(report) if f.name == "nodes UN (nodetool status)")
    assert (fact.value, fact.ok) == (notebook.NOT_COLLECTED, False)
    assert "[stderr] error: unable to upgrade connection" in render_markdown(report)


def test_report_refuses_to_change_anything(project):
    runner = notebook.RecordingRunner(make_lab(project, FakeCtx()).runner)
    with pytest.raises(LabError, match="read-only; refused to run `kubectl delete pod cassandra-1`"):
        runner.run(["kubectl", "delete", "pod", "cassandra-1"])


def test_render_markdown_from_a_recorded_report(with_chaos):
    report = notebook.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock())
    md = render_markdown(report)
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == ["## Key facts", "## II. kind cluster setup", "## III. The Cassandra service",
                        "## IV. Build and deploy an application", "## V. Stateless application"]
    ii = md.split("## II.")[1].split("## III.")[0]
    assert "$ docker exec kind-worker crictl ps" in ii and "kindnet-cni" in ii
    iii = md.split("## III.")[1].split("## IV.")[0]
    assert "UN  10.244.4.3  109.41 KiB" in iii and " ece573-prj04 |           5.0.9" in iii
    iv = md.split("## IV.")[1].split("## V.")[0]
    assert f"![{ROUND}: delete cassandra-1" in iv and f"(chaos/{ROUND}.png)" in iv
    assert "| 20251125T193003Z | 1 | cassandra-1 | 41.2 | 2.0 | 0 | 0 | ok |" in iv
    v = md.split("## V.")[1]
    assert "| test | 4500 | 4500 | 0 | - | ok |" in v
    assert f"[pod {WRITER}, current run] 2026/11/25 19:58:10 test: start from lastSeq=2990" in v
    # verify's seq reads are listed, not printed (4500 lines)
    assert "SELECT seq FROM ece573.prj04" in v and " 4499\n" not in md


def test_long_output_shows_its_tail_and_says_so():
    item = {"type": "command", "aside": False, "label": "log", "command": "kubectl logs x", "exited": 0,
            "stdout": "\n".join(f"line {n}" for n in range(1, 101)), "stdout_lines": 100, "stderr": "",
            "started": "2025-11-25T20:00:00Z", "seconds": 0.5}
    md = notebook._command_md(item)
    assert "line 100" in md and "line 40\n" not in md and "last 60 of 100 lines shown" in md


def test_write_report_is_self_contained_and_rerenders(with_chaos, tmp_path):
    report = notebook.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock())
    folder = tmp_path / "reports/20251125T200000Z"
    paths = notebook.write_report(report, folder)
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == [
        f"{ROUND}.png", "report.html", "report.json", "report.md"]
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,iVBORw0KGgo") == 1  # the PNG embedded (PNG magic, base64)
    assert "<h2>III. The Cassandra service</h2>" in page and "<table>" in page
    assert "$ kind get nodes --name kind" in page and "&lt;none&gt;" in page  # output escaped
    saved = json.loads(paths["json"].read_text())
    assert saved["data"]["kind_nodes"] == report["data"]["kind_nodes"]
    paths["md"].unlink()
    again = notebook.rerender_report(folder)
    assert again["md"].read_text() == render_markdown(report)


def test_rerender_refuses_what_is_not_a_report(tmp_path):
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(PreconditionError, match="not a report.json written by `invoke report`"):
        notebook.rerender_report(tmp_path / "x.json")
    with pytest.raises(PreconditionError, match="cannot read"):
        notebook.rerender_report(tmp_path / "missing")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(PreconditionError, match="is not JSON"):
        notebook.rerender_report(tmp_path / "bad.json")


def test_run_report_writes_a_timestamped_folder_and_prints_facts(with_chaos, capsys):
    folder = notebook.run_report(make_lab(with_chaos, FakeCtx(healthy_rules())), now=1764100800.0)
    assert folder == with_chaos / "reports/20251125T200000Z"
    out = capsys.readouterr().out
    assert "kind nodes" in out and str(folder / "report.html") in out
    assert notebook.failed_facts(folder) == []


@pytest.mark.parametrize("kwargs, message", [({"tail": 0}, "--tail 0"), ({"out": "cluster.yml"}, "is a file")],
                         ids=["tail", "out-is-a-file"])
def test_run_report_bad_input_is_one_line(project, kwargs, message):
    with pytest.raises(PreconditionError, match=message):
        notebook.run_report(make_lab(project, FakeCtx()), **kwargs)


def test_run_check_names_each_missed_fact_and_rerender_needs_no_cluster(project, capsys):
    lab = make_lab(project, FakeCtx(down_rules()))
    folder = notebook.run(lambda: lab, out="reports")
    with pytest.raises(LabError) as err:
        notebook.run(lambda: pytest.fail("re-rendering must not open the lab"), rerender=str(folder), check=True)
    assert err.value.exit_code == 1
    assert str(err.value).startswith("report: kind nodes is 0, expected 5; node containers running is 0, expected 5;")
    assert str(folder / "report.html") in capsys.readouterr().out


def test_rerender_a_real_no_cluster_report(tmp_path):
    """down/report.json is what `invoke report` wrote on the lab machine with no cluster."""
    shutil.copy(NB / "down/report.json", tmp_path / "report.json")
    paths = notebook.rerender_report(tmp_path)
    md = paths["md"].read_text()
    assert md.count("> Not collected:") >= 4 and "kube context kind-kind not found" in md
    assert '[stderr] error: context "kind-kind" does not exist' in md
    assert [f.name for f in notebook.failed_facts(tmp_path)][:2] == ["kind nodes", "node containers running"]
    assert "<h2>V. Stateless application</h2>" in paths["html"].read_text()
