"""invoke report, rendering and files: report.md / report.html from recorded data, re-rendering, the task."""

import json
import shutil

import pytest

from lab import report as report_lib
from lab.errors import LabError, PreconditionError
from lab.report import to_markdown
from lab.report.to_markdown import render_markdown
from tests.lab.labfakes import FakeCtx, make_lab
from tests.lab.reportdata import NB, ROUND, WRITER, Clock, down_rules, healthy_rules


def test_render_markdown_from_a_recorded_report(with_chaos):
    report = report_lib.collect(make_lab(with_chaos, FakeCtx(healthy_rules()), report={"name": "Ada Lovelace"}),
                                clock=Clock())
    md = render_markdown(report)
    assert md.startswith("# Project 4: Container Orchestration with Kubernetes\n\n**Name:** Ada Lovelace\\\n"
                         "**Course:** ECE 573\\\n**Date:** 2025-11-25\n")
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == ["## Key facts", "## II. kind cluster setup", "## III. The Cassandra service",
                        "## IV. Build and deploy an application", "## V. Stateless application"]
    ii = md.split("## II.")[1].split("## III.")[0]
    assert "$ docker exec kind-worker crictl ps" in ii and "kindnet-cni" in ii
    assert (
        "$ kubectl cluster-info --context kind-kind\nKubernetes control plane is running at https://127.0.0.1:39321"
        in ii
    )
    iii = md.split("## III.")[1].split("## IV.")[0]
    assert "UN  10.244.4.3  109.41 KiB" in iii and " ece573-prj04 |           5.0.9" in iii
    iv = md.split("## IV.")[1].split("## V.")[0]
    assert f"![{ROUND}: delete cassandra-1" in iv and f"(chaos/{ROUND}.png)" in iv
    row = next(line for line in iv.splitlines() if line.startswith("| 20251125T193003Z |"))
    assert [c.strip() for c in row.strip("|").split("|")][-6:] == [
        "2.0",
        "-",
        "-",
        "0",
        "0",
        "ok",
    ]  # stall (sampled), ack stall and witness (not recorded then), restarts, lost, result
    # without a lesson, IV and V say which command records each step
    assert "#### Lesson step 1: The seed writer without a topic crash-loops" in iv
    assert "> Not recorded yet: `invoke lesson --step 1` runs this step" in iv
    v = md.split("## V.")[1]
    assert "| test | 4500 | 4500 | none | 1..4500 | 0 | - | - | not checked | ok |" in v
    assert f"[pod {WRITER}, current run] 2026/11/25 19:58:10 test: start from lastSeq=2990" in v
    assert "`invoke lesson --step 3`" in v
    # verify's seq reads are listed, not printed (4500 lines)
    assert "SELECT seq FROM ece573.prj04" in v and " 4499\n" not in md


def test_each_section_starts_with_its_answers(with_chaos):
    report = report_lib.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock(), plot_missing=False)
    md = render_markdown(report)
    for key in ("II", "III", "IV", "V"):
        part = md.split(f"## {key}. ")[1].split("\n## ")[0]
        first = part.split("\n\n")[1]
        assert first.startswith("**Q: "), key
        assert part.index("**Q: ") < part.index("### What the cluster shows")


def test_long_output_shows_its_tail_and_says_so():
    item = {"type": "command", "aside": False, "label": "log", "command": "kubectl logs x", "exited": 0,
            "stdout": "\n".join(f"line {n}" for n in range(1, 101)), "stdout_lines": 100, "stderr": "",
            "started": "2025-11-25T20:00:00Z", "seconds": 0.5}
    md = to_markdown.command_md(item)
    assert "line 100" in md and "line 40\n" not in md and "last 60 of 100 lines shown" in md


def test_write_report_is_self_contained_and_rerenders(with_chaos, tmp_path):
    report = report_lib.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock())
    folder = tmp_path / "reports/20251125T200000Z"
    paths = report_lib.write_report(report, folder)
    assert sorted(p.name for p in folder.rglob("*") if p.is_file()) == [
        f"{ROUND}.png", "report.html", "report.json", "report.md"]
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,iVBORw0KGgo") == 1  # the PNG embedded (PNG magic, base64)
    assert "<h2>III. The Cassandra service</h2>" in page and "<table>" in page
    assert '<span class="ln">$ kind get nodes --name kind</span>' in page and "&lt;none&gt;" in page  # escaped
    assert "white-space:pre-wrap" in page  # wide output wraps on paper
    saved = json.loads(paths["json"].read_text())
    assert saved["data"]["kind_nodes"] == report["data"]["kind_nodes"]
    assert saved["answers"] == report["answers"]
    paths["md"].unlink()
    again = report_lib.rerender_report(folder)
    assert again["md"].read_text() == render_markdown(report)


def test_rerender_refuses_what_is_not_a_report(tmp_path):
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(PreconditionError, match="not a report.json written by `invoke report`"):
        report_lib.rerender_report(tmp_path / "x.json")
    with pytest.raises(PreconditionError, match="cannot read"):
        report_lib.rerender_report(tmp_path / "missing")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(PreconditionError, match="is not JSON"):
        report_lib.rerender_report(tmp_path / "bad.json")


def test_run_report_writes_a_timestamped_folder_and_prints_facts(with_chaos, capsys):
    folder = report_lib.run_report(make_lab(with_chaos, FakeCtx(healthy_rules())), now=1764100800.0)
    assert folder == with_chaos / "reports/20251125T200000Z"
    out = capsys.readouterr().out
    assert "kind nodes" in out and str(folder / "report.html") in out
    assert report_lib.failed_facts(folder) == []


@pytest.mark.parametrize("kwargs, message", [({"tail": 0}, "--tail 0"), ({"out": "cluster.yml"}, "is a file")],
                         ids=["tail", "out-is-a-file"])
def test_run_report_bad_input_is_one_line(project, kwargs, message):
    with pytest.raises(PreconditionError, match=message):
        report_lib.run_report(make_lab(project, FakeCtx()), **kwargs)


def test_run_check_names_each_missed_fact_and_rerender_needs_no_cluster(project, capsys):
    lab = make_lab(project, FakeCtx(down_rules()))
    folder = report_lib.run(lambda: lab, out="reports")
    with pytest.raises(LabError) as err:
        report_lib.run(lambda: pytest.fail("re-rendering must not open the lab"), rerender=str(folder), check=True)
    assert err.value.exit_code == 1
    assert str(err.value).startswith("report: kind nodes is 0, expected 5; node containers running is 0, expected 5;")
    assert str(folder / "report.html") in capsys.readouterr().out


def test_rerender_a_real_no_cluster_report(tmp_path):
    """down/report.json is what `invoke report` wrote on the lab machine with no cluster (before answers
    and the lesson existed): a re-render adds both."""
    shutil.copy(NB / "down/report.json", tmp_path / "report.json")
    paths = report_lib.rerender_report(tmp_path)
    md = paths["md"].read_text()
    assert md.count("> Not collected:") >= 4 and "kube context kind-kind not found" in md
    assert '[stderr] error: context "kind-kind" does not exist' in md
    assert "A: No: kind cluster kind has no nodes" in md and "Run `invoke up` to record it." in md
    assert "`invoke lesson --step 2`" in md
    assert [f.name for f in report_lib.failed_facts(tmp_path)][:2] == ["kind nodes", "node containers running"]
    assert "<h2>V. Stateless application</h2>" in paths["html"].read_text()
