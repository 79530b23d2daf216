import json

import pytest

from lab import verify
from lab.errors import LabError, PreconditionError
from lab.verify import TopicReport, find_gaps, format_ranges
from tests.lab.labfakes import DATA, CqlRows, FakeCtx, make_lab


@pytest.mark.parametrize("seqs, last, gaps", [
    ([], 0, []),
    ([1, 2, 3], 3, []),
    ([1, 2, 5], 7, [(3, 4), (6, 7)]),
    ([], 4, [(1, 4)]),
    ([2, 3], 3, [(1, 1)]),
    ([1, 2, 3, 9, 10], 3, []),  # rows ahead of last_seq are not gaps
    ([3, 1, 1, 2], 3, []),  # order and duplicates do not matter
    ([0, -1, 1], 2, [(2, 2)]),
], ids=["empty", "complete", "two-gaps", "nothing", "first", "ahead", "unordered", "junk"])
def test_find_gaps(seqs, last, gaps):
    assert find_gaps(seqs, last) == gaps


def test_format_ranges():
    assert format_ranges([(3, 4), (6, 6), (9, 12)]) == "3-4, 6, 9-12"
    assert format_ranges([(i, i) for i in range(1, 30, 2)], limit=2) == "1, 3, ... 13 more"


def check_topic_rows(topic: str, seqs: list[int], last_seq: int) -> TopicReport:
    """A TopicReport as verify makes one, from every seq read back."""
    return TopicReport(topic=topic, last_seq=last_seq, rows=len(seqs), max_seq=max(seqs, default=0),
                       gaps=find_gaps(seqs, last_seq))


def test_report_on_recorded_rows():
    seqs = [1, 2, 3, 6, 7, 10]  # tests/lab/data/cqlsh_seqs.txt
    report = check_topic_rows("test", seqs, 12)
    assert (report.rows, report.last_seq, report.gaps, report.missing, report.ok) == (
        6,
        12,
        [(4, 5), (8, 9), (11, 12)],
        6,
        False,
    )
    assert report.to_dict()["gaps"] == [[4, 5], [8, 9], [11, 12]]
    assert check_topic_rows("t", [1, 2, 3, 4], 3).to_dict() | {} == {
        "topic": "t", "last_seq": 3, "rows": 4, "max_seq": 4, "gaps": [], "missing": 0, "ahead": 1, "ok": True}


def _ctx(last_seq_text, seqs_text):
    stored = seqs_text if isinstance(seqs_text, CqlRows) else CqlRows(seqs_text)
    return FakeCtx([("prj04_last_seq", last_seq_text), ("SELECT seq", stored),
                    ("get-contexts", "kind-kind\n")])


def test_run_verify_exits_nonzero_on_a_gap_and_writes_json(project, capsys):
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = make_lab(project, _ctx(last, (DATA / "cqlsh_seqs.txt").read_text()))
    with pytest.raises(LabError) as err:
        verify.run_verify(lab)
    assert str(err.value) == "verify: topic test: 4 missing seq(s) in 2 range(s): 4-5, 8-9"
    assert err.value.exit_code == 1
    out = capsys.readouterr().out
    assert "test   6     10        4        4-5, 8-9  GAP" in out
    record = json.loads(next((project / "artifacts/verify").glob("*.json")).read_text())
    assert record["consistency"] == "QUORUM" and record["topics"][0]["gaps"] == [[4, 5], [8, 9]]


def test_run_verify_passes_when_complete(project):
    last = " topic | seq\n-------+-----\n  test |  3\n\n(1 rows)\n"
    lab = make_lab(project, _ctx(last, (DATA / "cqlsh_seqs.txt").read_text()))
    reports = verify.run_verify(lab, consistency="all")
    assert [(r.topic, r.ok, r.ahead) for r in reports] == [("test", True, 7)]
    assert all("CONSISTENCY ALL" in c for c in lab.runner.ctx.matching("cqlsh"))


def test_run_verify_with_nothing_written_fails(project):
    empty = " topic | seq\n-------+-----\n\n(0 rows)\n"
    lab = make_lab(project, _ctx(empty, " seq\n-----\n\n(0 rows)\n"))
    with pytest.raises(LabError, match="no topic has progress yet"):
        verify.run_verify(lab)


def test_run_verify_refuses_bad_input_before_running_anything(project):
    lab = make_lab(project, FakeCtx())
    with pytest.raises(PreconditionError, match="--consistency 'MOST'"):
        verify.run_verify(lab, consistency="most")
    with pytest.raises(PreconditionError, match="is not a plain name"):
        verify.run_verify(lab, topic="a b")
    assert lab.runner.ctx.commands == []


def test_run_verify_dry_run_prints_the_reads(project, capsys):
    lab = make_lab(project, FakeCtx([("get-contexts", "kind-kind\n")]), dry=True)
    assert verify.run_verify(lab, topic="test") == []
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("[dry-run] kubectl --context kind-kind --namespace default exec cassandra-0 "
                             "--container cassandra -- cqlsh --request-timeout=120 -e 'CONSISTENCY QUORUM; PAGING OFF; "
                             "SELECT topic, seq FROM ece573.prj04_last_seq;'")
    assert "SELECT seq FROM ece573.prj04 WHERE topic" in out[1]
    assert lab.runner.ctx.matching("cqlsh") == []


def test_a_long_topic_is_counted_and_only_its_short_chunk_is_read(project):
    """120 000 rows but seq 70 000: three chunks counted in one cqlsh, then one chunk of 50 000 read back."""
    last = " topic | seq\n-------+-----\n  test |  120000\n\n(1 rows)\n"
    stored = CqlRows([s for s in range(1, 120_003) if s != 70_000])
    lab = make_lab(project, _ctx(last, stored))
    with pytest.raises(LabError, match="topic test: 1 missing seq"):
        verify.run_verify(lab)
    record = json.loads(next((project / "artifacts/verify").glob("*.json")).read_text())
    [topic] = record["topics"]
    assert (topic["rows"], topic["max_seq"], topic["ahead"], topic["gaps"]) == (120_001, 120_002, 2, [[70_000, 70_000]])
    census, read = stored.scripts
    assert census.count("SELECT count(*)") == 4 and "AND seq >= 120001;" in census
    assert read.endswith("SELECT seq FROM ece573.prj04 WHERE topic = 'test' AND seq >= 50001 AND seq <= 100000;")


def test_a_complete_topic_costs_one_cqlsh_whatever_its_length(project):
    last = " topic | seq\n-------+-----\n  test |  120000\n\n(1 rows)\n"
    stored = CqlRows(list(range(1, 120_001)))
    [report] = verify.run_verify(make_lab(project, _ctx(last, stored)))
    assert (report.ok, report.rows, report.max_seq) == (True, 120_000, 120_000)
    assert len(stored.scripts) == 1


#: What a failed cqlsh read looks like through kubectl exec: cqlsh's words, then kubectl's own last line.
READ_TIMEOUT = ("<stdin>:1:ReadTimeout: Error from server: code=1200 [Coordinator node timed out waiting for replica "
                "nodes' responses] message=\"Operation timed out - received only 1 responses.\" "
                "info={'consistency': 'QUORUM', 'required_responses': 2, 'received_responses': 1}\n"
                "command terminated with exit code 2\n")


def _failing_ctx(last_seq_text, answers):
    """Like ``_ctx``, the rows table answering with ``answers`` (one per cqlsh, the last repeating)."""
    return FakeCtx([("prj04_last_seq", last_seq_text), ("SELECT count|SELECT seq", answers),
                    ("get-contexts", "kind-kind\n")])


def test_run_verify_asks_again_while_the_cluster_does_not_answer(project, monkeypatch, capsys):
    """A ReadTimeout right after a node joined is not a verdict: the census is read again after a pause."""
    monkeypatch.setattr(verify, "READ_PAUSE", 0)
    last = " topic | seq\n-------+-----\n  test |  120000\n\n(1 rows)\n"
    stored = CqlRows(list(range(1, 120_001)))
    lab = make_lab(project, _failing_ctx(last, [(READ_TIMEOUT, 2), stored]))
    [report] = verify.run_verify(lab)
    assert (report.ok, report.rows) == (True, 120_000)
    assert len(lab.runner.ctx.matching("SELECT count")) == 2 and len(stored.scripts) == 1
    assert "try 1 of 3 not answered (<stdin>:1:ReadTimeout: Error from server" in capsys.readouterr().err


def test_run_verify_gives_up_after_its_tries_with_cassandras_words(project, monkeypatch):
    monkeypatch.setattr(verify, "READ_PAUSE", 0)
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = make_lab(project, _failing_ctx(last, [(READ_TIMEOUT, 2)]))
    with pytest.raises(LabError) as err:
        verify.run_verify(lab)
    # The message ends with cqlsh's error, not with kubectl's "command terminated with exit code 2".
    assert str(err.value).endswith("received_responses': 1}")
    assert "failed to count topic test" in str(err.value)
    assert len(lab.runner.ctx.matching("SELECT count")) == verify.READ_ATTEMPTS == 3


def test_run_verify_does_not_repeat_a_read_that_cannot_succeed(project, monkeypatch):
    """A refused query (here a syntax error) is no timeout: asking again would only hide it for 30 s."""
    monkeypatch.setattr(verify, "READ_PAUSE", 0)
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    refused = "<stdin>:1:SyntaxException: line 1:7 no viable alternative\ncommand terminated with exit code 2\n"
    lab = make_lab(project, _failing_ctx(last, [(refused, 2)]))
    with pytest.raises(LabError, match="SyntaxException: line 1:7 no viable alternative$"):
        verify.run_verify(lab)
    assert len(lab.runner.ctx.matching("SELECT count")) == 1
