"""Chaos arithmetic on recorded shapes: the stall, the round record, the summary table and totals."""

from lab import chaos
from lab.chaos import RoundResult, Stall, longest_stall, totals
from lab.chaos.results import distinct_lost_rows, summary_rows

# Recorded shape: a writer at ~1000 rows/s sampled every 0.5 s; cassandra-1 deleted at t=2.0, writes
# blocked (QUORUM with a slow coordinator failover) from t=2.5 until t=4.0, then a failed scrape at 4.5.
SAMPLES = [(0.0, 0), (0.5, 480), (1.0, 990), (1.5, 1500), (2.0, 1990), (2.5, 2400), (3.0, 2400), (3.5, 2400),
           (4.0, 2950), (4.5, None), (5.0, 3900)]


def test_longest_stall_on_recorded_samples():
    assert longest_stall(SAMPLES) == Stall(seconds=1.5, start=2.5, end=4.0, seq=2400)


def test_longest_stall_still_open_at_the_end():
    assert longest_stall([(0, 1), (1, 2), (2, 2), (5, 2)]) == Stall(4, 1, 5, 2, open=True)


def test_longest_stall_needs_two_readings():
    assert longest_stall([(0, None), (1, 5)]) is None
    assert longest_stall([(0, 1), (0.5, 2)]) == Stall(0.5, 0, 0.5, 1)


def test_the_stall_lives_outside_the_chaos_package_so_plot_does_not_import_chaos():
    import lab.plot
    import lab.stall

    assert lab.plot.longest_stall is lab.stall.longest_stall is chaos.longest_stall


def _round(number, fault, pod, **kw):
    return RoundResult(round=number, pod=pod, target="cassandra", force=False, deleted_at=0, fault=fault, **kw)


def test_summary_rows_and_the_chaos_table_with_the_fault_kind():
    good = _round(1, "pod", "cassandra-1", recovery_s=41.24, stall_s=1.5, verify=[{"missing": 0, "rows": 900}])
    bad = _round(2, "partition", "cassandra-2", recovery_s=None, stall_s=30.0, stall_open=True, writer_restarts=1,
                 verify=[{"missing": 7, "rows": 950}], error="cassandra-2 not Ready within 600s: Terminating")
    assert chaos.summary_rows([good, bad]) == [  # the notebook's columns
        ["1", "cassandra-1", "41.2", "1.5", "-", "-", "0", "0", "ok"],
        ["2", "cassandra-2", "-", "30.0+", "-", "-", "1", "7", "cassandra-2 not Ready within 600s: Terminating"]]
    assert chaos.round_rows([good, bad]) == [
        ["1", "pod", "cassandra-1", "41.2", "1.5", "-", "-", "0", "0", "ok"],
        ["2", "partition", "cassandra-2", "-", "30.0+", "-", "-", "1", "7",
         "cassandra-2 not Ready within 600s: Terminating"]]
    assert chaos.ROUND_HEADERS == ["round", "fault", "target", "recovery s", "writer stall s (sampled)",
                                   "ack stall s (from fault)", "acked before / stored after", "writer restarts",
                                   "lost rows", "result"]
    record = bad.to_dict()
    assert (record["lost_rows"], record["ok"], record["fault"], record["pod"]) == (7, False, "partition", "cassandra-2")


def test_totals_add_up_the_soak():
    rounds = [_round(1, "pod", "cassandra-0", recovery_s=40.0, verify=[{"missing": 0, "rows": 1000}]),
              _round(2, "partition", "cassandra-1", recovery_s=12.0, verify=[{"missing": 0, "rows": 2500}]),
              _round(3, "pod", "writer", recovery_s=4.0, writer_restarts=0,
                     verify=[{"topic": "test", "missing": 2, "rows": 2998, "gaps": [[7, 8]]}])]
    assert totals(rounds) == {"rounds": 3, "ok": 2, "faults": {"pod": 2, "partition": 1}, "rows": 2998,
                              "lost_rows": 2, "corrupted_rows": 0, "writer_restarts": 0}


def test_observations_keep_their_time():
    result = _round(1, "node", "kind-worker2")
    result.observe(1012.3456, "kind-worker2: NotReady")
    assert result.to_dict()["observed"] == [[1012.346, "kind-worker2: NotReady"]]


def test_a_round_shows_its_witness_its_ack_stall_and_fails_on_what_verify_found():
    """The stored last_seq after the round below what the writer was seen acknowledging before the fault: no row is
    missing below the stored last_seq, yet the round fails, and says why."""
    below = _round(1, "pod", "cassandra-1", recovery_s=20.0, stall_s=1.0, ack_stall_s=3.042, ack_stall_began_s=0.25,
                   ack_stall_source="acks",
                   witness=[{"topic": "test", "acked_before_fault": 1200, "stored_last_seq": 1100}],
                   verify=[{"topic": "test", "missing": 0, "rows": 1100, "ok": False,
                            "problems": ["stored last_seq 1100 is below 1200 witnessed acknowledged (s)"]}])
    assert not below.ok and below.lost_rows == 0
    assert chaos.summary_rows([below]) == [
        ["1", "cassandra-1", "20.0", "1.0", "3.042 at +0.2", "1200 / 1100", "0", "0",
         "topic test: stored last_seq 1100 is below 1200 witnessed acknowledged (s)"]]
    sampled = _round(2, "pod", "writer", recovery_s=4.0, ack_stall_s=1.5, ack_stall_began_s=-0.5,
                     ack_stall_source="samples every 1 s", verify=[{"topic": "test", "ok": True}])
    assert chaos.summary_rows([sampled])[0][4] == "1.500 at -0.5 (sampled)" and sampled.ok


def test_rows_lost_over_several_rounds_are_counted_once():
    """Each round's verify reads the whole topic: a gap found in round 1 is found again in round 2 (seen on the
    lab: three crashes under periodic, each losing one batch of 10, reported as 10, 20 and 30 missing)."""
    def crashed(number, gaps):
        r = RoundResult(round=number, pod="cassandra-0,cassandra-1,cassandra-2", target="cassandra", force=False,
                        deleted_at=0.0, fault="crash")
        r.verify = [{"topic": "test", "gaps": gaps, "missing": sum(b - a + 1 for a, b in gaps)}]
        return r

    rounds = [crashed(1, [[2831, 2840]]), crashed(2, [[2831, 2840], [11811, 11820]]),
              crashed(3, [[2831, 2840], [11811, 11820], [20651, 20660]])]
    assert [r.lost_rows for r in rounds] == [10, 20, 30]
    assert distinct_lost_rows(rounds) == totals(rounds)["lost_rows"] == 30
    assert distinct_lost_rows([crashed(1, [[1, 10]]), crashed(2, [[5, 12]])]) == 12  # overlapping gaps


def test_a_gap_an_earlier_round_found_is_not_the_next_rounds_loss():
    """Three crashes under periodic, 2026-12-07: round 3 lost seqs 205271-205280 and rounds 4 and 5, whose verify
    reads the whole topic, reported the same ten as their own "LOST ROWS"."""
    from lab.chaos.results import count_earlier

    def crashed(number, gaps):
        missing = sum(b - a + 1 for a, b in gaps)
        problems = [f"{missing} missing seq(s)"] if gaps else []
        return RoundResult(round=number, pod="cassandra-0,cassandra-1,cassandra-2", target="cassandra", force=True,
                           deleted_at=0.0, fault="crash", recovery_s=30.0,
                           verify=[{"topic": "test", "missing": missing, "gaps": gaps, "problems": problems,
                                    "ok": not gaps}])

    rounds = [crashed(1, []), crashed(2, [[205271, 205280]]), crashed(3, [[205271, 205280]]),
              crashed(4, [[205271, 205280], [300001, 300004]])]
    for i, r in enumerate(rounds):
        r.lost_earlier = count_earlier(r, rounds[:i])
    assert [r.lost_rows for r in rounds] == [0, 10, 0, 4]
    assert [r.ok for r in rounds] == [True, False, True, False]
    assert summary_rows(rounds)[2][-1] == "ok; 10 still missing from an earlier round"
    assert distinct_lost_rows(rounds) == 14
    assert rounds[2].to_dict()["lost_rows"] == 0 and rounds[2].to_dict()["lost_earlier"] == 10
