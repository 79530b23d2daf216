"""Section V's hand-in of a writer of your own: its source diff from a real git checkout (git runs; kubectl and
cqlsh answer from the recorded lab), in report.md, report.html and report.docx, beside the resume observed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from invoke import Context

from lab import report as report_lib
from lab.errors import PreconditionError
from lab.report import writer_change
from lab.report.files import write_hand_in
from lab.report.to_html import render_html
from lab.report.to_markdown import render_markdown
from tests.lab.labfakes import FakeCtx, make_lab
from tests.lab.reportdata import Clock, healthy_rules

ORIGINAL = """package main

func main() {
	lastSeq := 0
	run(lastSeq)
}
"""
CHANGED = """package main

func main() {
	lastSeq := readLastSeq(session, topic) // resume from prj04_last_seq
	log.Printf("%s: start from lastSeq=%d", topic, lastSeq)
	run(lastSeq)
}
"""


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=Student", "-c", "user.email=s@example.org",
                           *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def checkout(tmp_path):
    """The assignment's writer committed, then changed to resume (committed too, and one more uncommitted line)."""
    repo = tmp_path / "ece573-prj04"
    writer = repo / "writer"
    writer.mkdir(parents=True)
    (writer / "main.go").write_text(ORIGINAL)
    (writer / "Dockerfile").write_text("FROM debian:bookworm-slim\nCOPY bin/writer /writer\n")
    (repo / "README.md").write_text("the assignment\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "the assignment's writer")
    (writer / "main.go").write_text(CHANGED)
    _git(repo, "commit", "-q", "-am", "resume from prj04_last_seq")
    (repo / "README.md").write_text("my notes\n")  # outside the writer's directory: not its change
    (writer / "main.go").write_text(CHANGED + "// uncommitted\n")
    return writer


def _real_git(command: str):
    return Context().run(command, warn=True, hide=True, in_stream=False)


def _collect(project, writer: Path, **kwargs):
    ctx = FakeCtx([(r"^git ", _real_git), *healthy_rules()])
    lab = make_lab(project, ctx, writer={"source": str(writer)})
    return report_lib.collect(lab, clock=Clock(), plot_missing=False, **kwargs), ctx


def _section_v(report):
    return report["sections"]["V"]["items"]


def test_the_writers_change_since_its_first_commit_is_in_section_v(with_chaos, checkout, tmp_path):
    report, ctx = _collect(with_chaos, checkout)
    [diff] = [i for i in _section_v(report) if i.get("lang") == "diff"]
    assert diff["title"].startswith("Your change to the writer: `git diff ") and str(checkout) in diff["title"]
    assert "-\tlastSeq := 0" in diff["lines"]
    assert "+\tlastSeq := readLastSeq(session, topic) // resume from prj04_last_seq" in diff["lines"]
    assert "+// uncommitted" in diff["lines"]  # the working tree, not only the commits
    assert not any("README" in line or "my notes" in line for line in diff["lines"])
    assert report["data"]["writer_change"]["cut"] is False
    observed = _section_v(report)[_section_v(report).index(diff) + 1]["text"]
    assert observed == ("Observed on the lab: the writer's last start was `start from lastSeq=2990` (pod "
                        "ece573-prj04-writer-6d9f8b7c5d-q2x7k, current run): it resumed from progress stored in "
                        "Cassandra; topic test's last_seq stored in Cassandra is 4500 now (at or above N: the writer "
                        "wrote on since it started).")
    assert ctx.matching(r"^git -C \S+ diff --no-color --no-ext-diff [0-9a-f]{40} -- \.$")

    markdown = render_markdown(report)
    assert "```diff\n" in markdown and "+// uncommitted" in markdown
    page = render_html(report)
    assert '<code class="language-diff">' in page
    assert "+\tlastSeq := readLastSeq(session, topic) // resume from prj04_last_seq" in page

    from docx import Document

    folder = tmp_path / "handin"
    folder.mkdir()
    docx = write_hand_in(report, folder, pdf=False, docx=True)["docx"]
    text = "\n".join(p.text for p in Document(docx).paragraphs)
    assert "-\tlastSeq := 0" in text and "+\tlastSeq := readLastSeq(session, topic)" in text


def test_writer_base_shows_the_change_since_that_commit(with_chaos, checkout):
    second = _git(checkout, "rev-parse", "HEAD").strip()
    report, _ = _collect(with_chaos, checkout, writer_base=second)
    [diff] = [i for i in _section_v(report) if i.get("lang") == "diff"]
    assert [line for line in diff["lines"] if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))] \
        == ["+// uncommitted"]
    assert f"git diff {second[:12]} -- ." in diff["title"]


def test_a_long_diff_is_cut_and_the_report_says_so(with_chaos, checkout):
    (checkout / "main.go").write_text(CHANGED + "".join(f"// line {n}\n" for n in range(500)))
    report, _ = _collect(with_chaos, checkout)
    items = _section_v(report)
    [diff] = [i for i in items if i.get("lang") == "diff"]
    assert len(diff["lines"]) == writer_change.DIFF_LINES
    cut = items[items.index(diff) + 1]["text"]
    assert cut.startswith(f"The diff is cut at 400 of its {report['data']['writer_change']['lines']} lines; `git -C ")
    assert report["data"]["writer_change"]["lines"] > 500


def test_a_writer_directory_that_is_not_a_checkout_says_so_in_one_sentence(with_chaos, tmp_path):
    plain = tmp_path / "plain-writer"
    plain.mkdir()
    (plain / "Dockerfile").write_text("FROM scratch\n")
    report, _ = _collect(with_chaos, plain)
    said = [i["text"] for i in _section_v(report) if i["type"] == "note" and "git checkout" in i["text"]]
    assert said == [f"Your writer's directory {plain} is not a git checkout, so the report cannot show your change to "
                    "it (`git init` there and commit the assignment's writer before you change it)."]
    assert not [i for i in _section_v(report) if i.get("lang") == "diff"]


def test_the_labs_own_writer_has_no_such_part(with_chaos):
    report = report_lib.collect(make_lab(with_chaos, FakeCtx(healthy_rules())), clock=Clock(), plot_missing=False)
    assert "writer_change" not in report["data"]
    assert not [i for i in _section_v(report) if "git" in str(i.get("text", "")) + str(i.get("title", ""))]


@pytest.mark.parametrize(("starts", "stored", "says"), [
    ([], 4500, "no `start from lastSeq=` line in the writer's logs yet, so the change's effect is not shown; topic "
               "test's last_seq stored in Cassandra is 4500 now."),
    ([{"seq": 0, "source": "pod w, current run"}], 4500, ": from 0, not from stored progress; topic test's"),
    ([{"seq": 5000, "source": "pod w, current run"}], 4500, ", above the last_seq stored now (4500): it did not start "
                                                           "from the stored progress."),
    ([{"seq": 2990, "source": "pod w, current run"}], None, ": it resumed from progress stored in Cassandra."),
])
def test_the_observed_resume_is_compared_with_the_stored_last_seq(starts, stored, says):
    data = {"resume": {"starts": starts}, "progress": {"test": {"last_seq": stored}} if stored is not None else {}}
    assert says in writer_change.observed(data, "test")


@pytest.mark.parametrize(("source", "base", "why"), [
    (None, "HEAD", "--writer-base HEAD: the writer is the lab's own"),
    ("plain", "HEAD", "is not a git checkout"),
    ("checkout", "no-such-ref", "--writer-base no-such-ref: no such commit in "),
])
def test_a_bad_writer_base_is_one_line_before_anything_is_collected(with_chaos, checkout, tmp_path, source, base, why):
    plain = tmp_path / "plain"
    plain.mkdir()
    folder = {"plain": plain, "checkout": checkout, None: None}[source]
    ctx = FakeCtx([(r"^git ", _real_git), *healthy_rules()])
    lab = make_lab(with_chaos, ctx, **({"writer": {"source": str(folder)}} if folder else {}))
    with pytest.raises(PreconditionError, match=why.replace("-", r"\-")):
        report_lib.run_report(lab, writer_base=base)
    assert not ctx.matching("kubectl|kind ")


def test_the_pdf_shows_the_diff_as_text(weasyprint, with_chaos, checkout, tmp_path):
    from pypdf import PdfReader

    report, _ = _collect(with_chaos, checkout)
    folder = tmp_path / "handin"
    report_lib.write_report(report, folder)  # the PDF is laid out from report.html
    pdf = write_hand_in(report, folder, pdf=True, docx=False)["pdf"]
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "readLastSeq(session, topic) // resume from prj04_last_seq" in text and "+// uncommitted" in text
