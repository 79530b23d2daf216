"""invoke report, collection: sections II-V from recorded command outputs, read-only, also without a cluster."""

import pytest

from lab import command_output, docker, kind
from lab import report as report_lib
from lab.command_output import keep
from lab.errors import LabError
from lab.kubectl import Kubectl
from lab.report.facts import key_facts
from lab.report.model import Fact
from tests.lab.labfakes import FakeCtx, make_lab
from tests.lab.reportdata import ROUND, WRITER, Clock, down_rules, healthy_rules, read


def test_parsers_on_recorded_outputs():
    assert command_output.kind_nodes(read("kind_get_nodes.txt")) == [
        "kind-control-plane", "kind-worker", "kind-worker2", "kind-worker3", "kind-worker4"]
    assert command_output.kind_nodes('No kind nodes found for cluster "kind".\n') == []
    rows = command_output.docker_ps(read("docker_ps.txt"))
    assert [r["names"] for r in rows][-1] == "kind-control-plane"
    assert rows[0] == {"container_id": "1398729f7693", "image": "kindest/node:v1.30.0", "created": "47 minutes ago",
                       "status": "Up 47 minutes", "names": "kind-worker3"}
    assert command_output.versions(read("kubectl_version.txt")) == {"client": "v1.30.0", "server": "v1.30.0"}
    assert command_output.crictl_names(read("crictl_ps.txt")) == ["cassandra", "kindnet-cni", "kube-proxy"]
    lines = read("writer_log_current.txt").splitlines()
    assert command_output.log_starts(lines) == [("test", 2990)] and command_output.last_progress(lines) == 4000


def test_cluster_info_is_parsed_and_kept_without_its_colours():
    text, count = keep(read("cluster_info.txt"))
    assert "\x1b" not in text and count == 4 and text.startswith("Kubernetes control plane is running at https://")
    assert command_output.cluster_info(read("cluster_info.txt")) == {
        "Kubernetes control plane": "https://127.0.0.1:39321",
        "CoreDNS": "https://127.0.0.1:39321/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy"}


def test_argv_are_the_commands_the_assignment_types():
    assert docker.ps_args(kind.cluster_label_filter("kind"))[:4] == ["docker", "ps", "--filter",
                                                                      "label=io.x-k8s.kind.cluster=kind"]
    assert docker.exec_args("kind-worker", ["crictl", "ps"]) == ["docker", "exec", "kind-worker", "crictl", "ps"]
    assert Kubectl("kubectl", "kind-kind").cluster_info_args() == ["kubectl", "cluster-info", "--context", "kind-kind"]


def test_collect_a_healthy_lab_fills_every_section(with_chaos):
    ctx = FakeCtx(healthy_rules())
    report = report_lib.collect(make_lab(with_chaos, ctx), clock=Clock())
    data = report["data"]
    assert len(data["kind_nodes"]) == 5 and data["versions"]["server"] == "v1.30.0"
    assert data["versions"]["node_image"] == "kindest/node:v1.30.0"
    assert data["cluster_info"]["Kubernetes control plane"] == "https://127.0.0.1:39321"
    assert data["crictl"] == {
        "node": "kind-worker",
        "containers": 3,
        "names": ["cassandra", "kindnet-cni", "kube-proxy"],
    }
    assert [n["state"] for n in data["nodetool"]] == ["UN", "UN", "UN"]
    assert data["cqlsh"] == {"cluster_name": "ece573-prj04", "release_version": "5.0.9"}
    assert data["writer_progress"] == 4000 and data["writer_pods"][0]["restarts"] == 0
    assert data["progress"] == {"test": {"last_seq": 4500, "rows": 4500}}
    assert data["verify"]["ok"] is True and data["verify"]["topics"][0]["missing"] == 0
    assert data["resume"]["resumed"] and data["resume"]["seq"] == 2990
    assert data["resume"]["source"] == f"pod {WRITER}, current run"
    assert data["chaos"][0]["pod"] == "cassandra-1" and data["chaos"][0]["ok"] is True
    assert (with_chaos / f"artifacts/chaos/{ROUND}.png").is_file()  # drawn for a round that had none
    assert report["lesson"] == {"path": "artifacts/lesson/lesson.json", "record": None, "error": ""}
    assert report["hand_in"]["date"] == "2025-11-25"  # "today": the day it was collected (UTC)

    shown = [i for s in report["sections"].values() for i in s["items"] if i["type"] == "command" and not i["aside"]]
    typed = [i["command"] for i in shown]
    assert typed[:4] == ["kind get nodes --name kind",
                         "docker ps --filter label=io.x-k8s.kind.cluster=kind --format "
                         r"'table {{.ID}}\t{{.Image}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}'",
                         "docker exec kind-worker crictl ps", "kind version"]
    assert "kubectl cluster-info --context kind-kind" in typed
    assert (
        "kubectl --context kind-kind --namespace default exec cassandra-0 --container cassandra -- nodetool status"
        in typed
    )
    assert all(i["exited"] == 0 and i["started"].endswith("Z") and i["seconds"] >= 0 for i in shown)
    # read-only: nothing in the recorded commands deletes, applies or execs anything but reads
    assert not ctx.matching(r" (delete|apply|rollout|port-forward) ")
    assert report["commands"] == len(ctx.commands)


def test_key_facts_of_a_healthy_lab_all_pass(with_chaos):
    report = report_lib.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock(), plot_missing=False)
    facts = {f.name: f for f in key_facts(report)}
    assert facts["kind nodes"] == Fact("II", "kind nodes", "5", "5", True)
    assert facts["control plane (kubectl cluster-info)"].value == "https://127.0.0.1:39321"
    assert facts["nodes UN (nodetool status)"].value == "3 of 3" and facts["nodes UN (nodetool status)"].ok
    assert facts["writer progress (log)"].value == "inserted rows to seq 4000"
    assert facts["gaps (verify at QUORUM)"] == Fact(
        "V", "gaps (verify at QUORUM)", "0 missing in 1 topic(s)", "0 missing", True
    )
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
    assert (facts["resume (start from lastSeq=N)"].value, facts["resume (start from lastSeq=N)"].ok) == (
        "none recorded",
        None,
    )
    assert (facts["chaos rounds ok"].value, facts["chaos rounds ok"].ok) == ("none recorded", None)
    data["chaos"] = [{"ok": True, "stall_s": 1.0, "file": "a"}, {"ok": False, "stall_s": 9.5, "file": "b"}]
    facts = {f.name: f for f in key_facts({"data": data})}
    assert (facts["chaos rounds ok"].value, facts["chaos rounds ok"].ok) == ("1 of 2", False)
    assert facts["longest writer stall in a round"].value == "9.5 s (b)"


def test_collect_without_a_cluster_says_so_in_each_section(project):
    ctx = FakeCtx(down_rules())
    report = report_lib.collect(make_lab(project, ctx), clock=Clock())
    notes = {key: [i["text"] for i in s["items"] if i["type"] == "note"] for key, s in report["sections"].items()}
    assert any("crictl ps" in n and "no worker node" in n for n in notes["II"])
    assert any("kubectl cluster-info --context kind-kind" in n for n in notes["II"])
    for key in ("III", "IV", "V"):
        assert any("kube context kind-kind not found" in n for n in notes[key]), key
    assert any("No chaos rounds recorded" in n for n in notes["IV"])
    # only the questions that make sense without a cluster were asked
    assert not ctx.matching(r" exec | logs | get services|cluster-info")
    facts = {f.name: f for f in key_facts(report)}
    assert facts["kind nodes"].value == "0" and facts["kind nodes"].ok is False
    assert facts["nodes UN (nodetool status)"].value == report_lib.NOT_COLLECTED
    md = report_lib.render_markdown(report)
    assert '[stderr] error: context "kind-kind" does not exist' in md  # the failed command is evidence too
    assert "exit 1 · ran 2025-11-25T20:00:" in md
    assert '$ kind get nodes --name kind\n[stderr] No kind nodes found for cluster "kind".' in md
    assert facts["kubectl (client)"].value == "v1.32.4-dispatcher"


def test_a_stale_context_without_kind_nodes_counts_as_no_cluster(project):
    rules = [(r"config get-contexts", "kind-kind\n")] + down_rules()
    ctx = FakeCtx(rules)
    report = report_lib.collect(make_lab(project, ctx), clock=Clock(), plot_missing=False)
    assert not ctx.matching(r"kubectl.* (exec|logs|get|cluster-info) ")
    assert "kind cluster kind has no nodes (its kube context is stale" in report["sections"]["III"]["items"][0]["text"]


def test_a_failed_nodetool_is_not_collected_rather_than_zero_nodes(with_chaos):
    rules = [(r"nodetool status", ("error: unable to upgrade connection: container not found", 1))] + healthy_rules()
    report = report_lib.collect(make_lab(with_chaos, FakeCtx(rules)), clock=Clock(), plot_missing=False)
    fact = next(f for f in key_facts(report) if f.name == "nodes UN (nodetool status)")
    assert (fact.value, fact.ok) == (report_lib.NOT_COLLECTED, False)
    assert "[stderr] error: unable to upgrade connection" in report_lib.render_markdown(report)


def test_report_refuses_to_change_anything(project):
    runner = report_lib.RecordingRunner(make_lab(project, FakeCtx()).runner)
    with pytest.raises(LabError, match="read-only; refused to run `kubectl delete pod cassandra-1`"):
        runner.run(["kubectl", "delete", "pod", "cassandra-1"])


def test_a_round_with_several_writers_shows_each_writers_stall(with_chaos):
    """A round that watched a writer per topic: section IV lists each one's stall beside the rounds' table."""
    import json

    def tables(report):
        return [i for i in report["sections"]["IV"]["items"]
                if i["type"] == "table" and i["title"].startswith("Each writer's longest stall")]

    one = report_lib.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock())
    assert tables(one) == []  # one writer: the rounds' table says it all
    path = with_chaos / f"artifacts/chaos/{ROUND}.json"
    record = json.loads(path.read_text())
    # The second writer's entry is as rounds recorded it before writers had a level each: shown as "-".
    record["writers"] = [{"writer": "ece573-prj04-writer", "topic": "test", "consistency": "QUORUM", "samples": 140,
                          "stall_s": 1.4, "stall_open": False},
                         {"writer": "ece573-prj04-writer-2", "topic": "test-2", "samples": 139, "stall_s": 2.6,
                          "stall_open": False}]
    record["verify"] = [{"topic": "test", "rows": 53472, "missing": 0},
                        {"topic": "test-2", "rows": 19700, "missing": 0}]
    path.write_text(json.dumps(record))
    report = report_lib.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock())
    [writers] = tables(report)
    assert writers["rows"] == [
        [ROUND.split("-round")[0], "1", "ece573-prj04-writer", "test", "QUORUM", "1.4", "-", "53472", "0"],
        [ROUND.split("-round")[0], "1", "ece573-prj04-writer-2", "test-2", "-", "2.6", "-", "19700", "0"]]


def test_rounds_run_with_the_cpu_weight_are_named_in_the_table_title(with_chaos):
    """--cpu-weight flatters the writer's figures: the hand-in says which rounds had it, and says nothing otherwise."""
    import json

    def rounds_title(report):
        [title] = [i["title"] for i in report["sections"]["IV"]["items"]
                   if i["type"] == "table" and i["title"].startswith("Chaos rounds recorded under")]
        return title

    plain = report_lib.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock())
    assert "CPU weight" not in rounds_title(plain)
    path = with_chaos / f"artifacts/chaos/{ROUND}.json"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), cpu_weight=True)))
    weighted = report_lib.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock())
    assert rounds_title(weighted).endswith("; 1 of them WITH 4x CPU weight on the writers' nodes (--cpu-weight)")
    assert weighted["data"]["chaos"][0]["cpu_weight"] is True
