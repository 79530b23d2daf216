import json

import pytest

from lab import verify
from lab.errors import LabError, PreconditionError
from lab.verify import TopicReport, Witness, find_gaps, format_ranges
from tests.lab.labfakes import DATA, CqlRows, lab_ctx, make_lab


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
    record = check_topic_rows("t", [1, 2, 3, 4], 3).to_dict()
    assert {k: record[k] for k in ("topic", "last_seq", "rows", "max_seq", "gaps", "missing", "ahead", "ok")} == {
        "topic": "t", "last_seq": 3, "rows": 4, "max_seq": 4, "gaps": [], "missing": 0, "ahead": 1, "ok": True}


def _ctx(last_seq_text, seqs_text):
    stored = seqs_text if isinstance(seqs_text, CqlRows) else CqlRows(seqs_text)
    return lab_ctx([("prj04_last_seq", last_seq_text), ("SELECT seq", stored),
                    ("get-contexts", "kind-kind\n")])


def test_run_verify_exits_nonzero_on_a_gap_and_writes_json(project, capsys):
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = make_lab(project, _ctx(last, (DATA / "cqlsh_seqs.txt").read_text()))
    with pytest.raises(LabError) as err:
        verify.run_verify(lab)
    assert str(err.value) == "verify: topic test: 4 missing seq(s) in 2 range(s): 4-5, 8-9"
    assert err.value.exit_code == 1
    captured = capsys.readouterr()
    row = "test   6     10        none       1..10    4        4-5, 8-9  -               not checked  GAP"
    assert row in captured.out
    assert "topic test: no witness (no writer of it is running)" in captured.err
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
    lab = make_lab(project, lab_ctx())
    with pytest.raises(PreconditionError, match="--consistency most: use one of"):
        verify.run_verify(lab, consistency="most")
    with pytest.raises(PreconditionError, match="is not a plain name"):
        verify.run_verify(lab, topic="a b")
    assert lab.runner.ctx.commands == []


def test_run_verify_dry_run_prints_the_reads(project, capsys):
    lab = make_lab(project, lab_ctx([("get-contexts", "kind-kind\n")]), dry=True)
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
    assert census.count("SELECT count(*)") == 5 and "AND seq >= 120001;" in census
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
    return lab_ctx([("prj04_last_seq", last_seq_text), ("SELECT count|SELECT seq", answers),
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


# -- the witness, last_seq, rows above it ----------------------------------------------------------------

def _deployments(*writers: tuple[str, str, str]) -> str:
    """``kubectl get deployments -o json`` of writers (name, topic, WRITER_MODE)."""
    return json.dumps({"items": [
        {"metadata": {"name": name}, "spec": {"template": {"spec": {"containers": [
            {"name": "writer", "env": [{"name": "TOPIC", "value": topic}, {"name": "WRITER_MODE", "value": mode}]}]}}}}
        for name, topic, mode in writers]})


ROBUST = _deployments(("ece573-prj04-writer", "test", "robust"))


def NO_WITNESS(lab, writer):  # noqa: N802 - a stand-in for verify.read_live_witness
    """No port-forward in a unit test: the writer's /metrics is not reachable."""
    return None, "its /metrics did not answer"


def _lab(project, last, stored, *, deployments=ROBUST):
    ctx = _ctx(last, stored)
    ctx.add("get deployments", deployments, first=True)
    return make_lab(project, ctx)


def _record(project) -> dict:
    return json.loads(max((project / "artifacts/verify").glob("*.json")).read_text())


def test_a_topic_with_rows_and_no_last_seq_fails(project):
    """The old verify read a missing last_seq as 0 and passed: "ok, missing 0, ahead 5000"."""
    empty = " topic | seq\n-------+-----\n\n(0 rows)\n"
    lab = _lab(project, empty, CqlRows(list(range(1, 5001))))
    with pytest.raises(LabError) as err:
        verify.run_verify(lab, topic="test", read_witness=lambda lab, w: (None, "its /metrics did not answer"))
    assert str(err.value) == "verify: topic test: 5000 row(s) but no last_seq row"
    [topic] = _record(project)["topics"]
    assert (topic["has_last_seq"], topic["ok"], topic["above"], topic["first_above"], topic["max_seq"]) == (
        False, False, 5000, 1, 5000)


def test_a_topic_nobody_wrote_fails_with_a_plain_message(project):
    """`invoke verify --topic ghost`: no rows, no last_seq. Passing it would prove nothing about a typo."""
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = _lab(project, last, CqlRows([]))
    with pytest.raises(LabError) as err:
        verify.run_verify(lab, topic="ghost")
    assert str(err.value) == ("verify: topic ghost: no rows and no last_seq: nothing was ever written to it "
                              "(is the topic name right?)")
    assert err.value.exit_code == 1


def test_a_stored_last_seq_below_the_witness_fails_and_the_witness_bounds_the_check(project):
    """A crash lost the checkpoint with the tail rows: the stored last_seq went back to 10, the writer had been
    seen acknowledging 15. Checking 1..10 alone would pass; 1..15 finds the lost rows."""
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = _lab(project, last, CqlRows(list(range(1, 11))))
    witness = Witness(acked=15, floor=12, source="ece573-prj04-writer /metrics, live")
    with pytest.raises(LabError) as err:
        verify.run_verify(lab, read_witness=lambda lab, w: (witness, ""))
    assert str(err.value) == ("verify: topic test: stored last_seq 10 is below 12 witnessed acknowledged "
                              "(ece573-prj04-writer /metrics, live), 5 missing seq(s) in 1 range(s): 11-15")
    [topic] = _record(project)["topics"]
    assert (topic["checked_to"], topic["below_witness"], topic["gaps"]) == (15, True, [[11, 15]])
    assert topic["witness"] == {"acked": 15, "floor": 12, "source": "ece573-prj04-writer /metrics, live"}


def test_a_live_witness_at_or_below_the_stored_last_seq_passes(project):
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = _lab(project, last, CqlRows(list(range(1, 11))))
    [report] = verify.run_verify(lab, read_witness=lambda lab, w: (Witness(10, 9, "live"), ""))
    assert (report.ok, report.checked_to, report.values) == (True, 10, "checked")


def test_rows_above_last_seq_are_counted_and_located_not_assumed_harmless(project, capsys):
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = _lab(project, last, CqlRows([*range(1, 11), 14, 15, 20]))
    [report] = verify.run_verify(lab, read_witness=NO_WITNESS)
    assert (report.ok, report.above, report.first_above, report.max_seq) == (True, 3, 14, 20)
    assert "3 (seqs 14-20)" in capsys.readouterr().out


def test_witness_from_metrics_reads_the_watermark_and_the_acknowledged_last_seq():
    text = ('# TYPE writer_watermark_seq gauge\nwriter_watermark_seq{topic="test"} 5120.0\n'
            'writer_watermark_seq{topic="other"} 9.0\nwriter_last_seq{topic="test"} 5000.0\n')
    assert verify.witness_from_metrics(text, "test", source="s") == Witness(5120, 5000, "s")
    assert verify.witness_from_metrics("writer_rows_written 3\n", "test", source="s") is None


def test_a_seed_writer_has_no_witness():
    from lab.writers import Writer

    assert verify.read_live_witness(None, Writer("test", mode="seed")) == (None, "the seed writer serves no /metrics")


# -- values ----------------------------------------------------------------------------------------------

def test_a_changed_value_is_reported_as_corrupted_apart_from_missing(project):
    """Seq 70 000 lost, seq 12 345 holding another value: one chunk is short, another sums differently; only
    that one is read back with its values, and the seq is named."""
    last = " topic | seq\n-------+-----\n  test |  120000\n\n(1 rows)\n"
    stored = CqlRows([s for s in range(1, 120_001) if s != 70_000], values={12_345: 0.5})
    lab = _lab(project, last, stored)
    with pytest.raises(LabError) as err:
        verify.run_verify(lab, read_witness=NO_WITNESS)
    assert str(err.value) == ("verify: topic test: 1 missing seq(s) in 1 range(s): 70000, "
                              "1 corrupted value(s) at seq 12345")
    [topic] = _record(project)["topics"]
    assert (topic["missing"], topic["corrupted"], topic["corrupted_rows"], topic["values"]) == (
        1, [[12_345, 12_345]], 1, "checked")
    census, gaps, values = stored.scripts
    assert "CAST(sum(value) AS text)" in census
    assert values.endswith("SELECT seq, CAST(value AS text) AS value FROM ece573.prj04 WHERE topic = 'test' "
                           "AND seq >= 1 AND seq <= 50000;")


def test_a_short_chunk_with_right_values_is_not_corrupted(project):
    """The short chunk's local sum counts only the seqs present."""
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = _lab(project, last, CqlRows([1, 2, 3, 6, 7, 10]))
    with pytest.raises(LabError, match="4 missing seq"):
        verify.run_verify(lab, read_witness=NO_WITNESS)
    [topic] = _record(project)["topics"]
    assert (topic["corrupted"], topic["values"]) == ([], "checked")


def test_a_seed_writers_topic_is_not_value_checked_and_says_why(project, capsys):
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    stored = CqlRows(list(range(1, 11)), values=dict.fromkeys(range(1, 11), 0.25))  # random values by design
    lab = _lab(project, last, stored, deployments=_deployments(("ece573-prj04-writer", "test", "seed")))
    [report] = verify.run_verify(lab, read_witness=NO_WITNESS)
    assert (report.ok, report.values) == (True, verify.VALUES_SEED)
    assert "topic test: values not checked: written by the seed writer (random values by design)" in \
        capsys.readouterr().err


def test_a_writer_of_your_own_is_not_value_checked_and_says_why(project, capsys):
    """`invoke build --writer-dir`: its values are its own (the tests' Go writer draws them at random)."""
    last = " topic | seq\n-------+-----\n  go |  10\n\n(1 rows)\n"
    stored = CqlRows(list(range(1, 11)), values=dict.fromkeys(range(1, 11), 0.25))
    lab = _lab(project, last, stored, deployments=_deployments(("ece573-prj04-writer", "go", "own")))
    [report] = verify.run_verify(lab, read_witness=NO_WITNESS)
    assert (report.ok, report.values) == (True, verify.VALUES_OWN)
    assert "values not checked: written by a writer of your own" in capsys.readouterr().err


def test_a_topic_the_lesson_gave_the_seed_writer_is_not_value_checked(project):
    """The lesson's seed writer wrote `test` before the robust writer took it over: its rows keep random values."""
    folder = project / "artifacts/lesson"
    folder.mkdir(parents=True)
    (folder / "lesson.json").write_text((DATA / "notebook/artifacts/lesson/lesson.json").read_text())
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = _lab(project, last, CqlRows(list(range(1, 11)), values={3: 0.25}))
    [report] = verify.run_verify(lab, read_witness=NO_WITNESS)
    assert (report.ok, report.values) == (True, verify.VALUES_SEED)
    assert verify.seed_topics(project / "artifacts") == {"test"}


def test_a_lesson_older_than_the_cluster_does_not_stop_the_value_check(project):
    """A lesson of an earlier cluster wrote another cluster's data: the record's deployments before this cluster's
    namespace was made do not count."""
    folder = project / "artifacts/lesson"
    folder.mkdir(parents=True)
    (folder / "lesson.json").write_text((DATA / "notebook/artifacts/lesson/lesson.json").read_text())
    # the recorded lesson deployed the seed writer on 2026-11-25 from 20:0x
    assert verify.seed_topics(project / "artifacts", since=verify._epoch("2026-11-25T19:00:00Z")) == {"test"}
    assert verify.seed_topics(project / "artifacts", since=verify._epoch("2026-11-26T00:00:00Z")) == set()
    last = " topic | seq\n-------+-----\n  test |  10\n\n(1 rows)\n"
    lab = _lab(project, last, CqlRows(list(range(1, 11)), values={3: 0.25}))
    lab.runner.ctx.add("get namespace default", json.dumps({"metadata": {"creationTimestamp": "2026-12-01T09:00:00Z"}}),
                       first=True)
    with pytest.raises(LabError, match="topic test: 1 corrupted value\\(s\\) at seq 3$"):
        verify.run_verify(lab, read_witness=NO_WITNESS)
