"""lab.bench without Cassandra: its report arithmetic, table and argument checks."""

import pytest

from lab import bench
from lab.bench.__main__ import main, parse_seeds
from lab.bench.table import combine, measurement, summarize
from lab.errors import PreconditionError


def report(seed=500.0, raw=2000.0, writer=15000.0):
    def r(rate, **kw):
        return {"seqs": int(rate * 10), "seconds": 10.0, "rate": rate, **kw}

    data = {"seed": r(seed), "raw_async": r(raw), "writer": r(writer, peak_rss_mb=70.0),
            "writer_batch1": r(raw * 0.9, peak_rss_mb=65.0), "seconds": 10.0, "rows": None, "rounds": 3,
            "consistency": "ONE"}
    data["vs_seed"], data["vs_raw"] = writer / seed, writer / raw
    data["ok"] = data["vs_seed"] >= 20 and data["vs_raw"] >= 0.7
    return data


def test_table_shows_rates_ratios_verdicts_and_memory():
    text = bench.format_table(report())
    assert "(c) writer (python -m writer, defaults)" in text
    assert "target (c) >= 20x (a):   30.0x  PASS" in text
    assert "target (c) >= 70% of (b): 750%  PASS" in text
    assert "writer peak RSS: 70 MB, 65 MB with batch 1" in text


def test_a_missed_target_says_miss():
    text = bench.format_table(report(writer=5000.0))
    assert "target (c) >= 20x (a):   10.0x  MISS" in text


def test_rounds_are_combined_by_totals():
    combined = combine([{"seqs": 100, "seconds": 1.0, "rate": 100.0, "peak_rss_mb": 60.0},
                               {"seqs": 300, "seconds": 1.0, "rate": 300.0, "peak_rss_mb": 70.0}])
    assert combined == {"seqs": 400, "seconds": 2.0, "rate": 200.0, "peak_rss_mb": 70.0}


@pytest.mark.parametrize("text, points", [("a", [("a", 9042)]), ("a:1,b:2", [("a", 1), ("b", 2)])])
def test_seeds_parse(text, points):
    assert parse_seeds(text) == points


def test_bad_seeds_are_a_precondition_error():
    with pytest.raises(PreconditionError, match="--seeds"):
        parse_seeds("a:x")


def test_bad_arguments_exit_2(capsys):
    assert main(["--seconds", "0"]) == 2
    assert capsys.readouterr().err.strip() == "ERROR: --seconds, --rounds and --rows must be positive"


def test_no_cassandra_to_measure_exits_2(monkeypatch, capsys):
    monkeypatch.delenv("CASSANDRA_IMAGE", raising=False)
    assert main([]) == 2
    assert "no Cassandra to measure" in capsys.readouterr().err


def test_summary_combines_the_rounds_and_holds_the_writer_to_both_targets():
    def rounds(*rates):
        return [measurement(rate, 1.0) for rate in rates]

    settings = dict(seconds=2.0, rows=None, rounds=2, consistency="ONE")
    summary = summarize({"seed": rounds(100, 100), "raw_async": rounds(1000, 3000), "writer": rounds(2500, 2500)},
                        **settings)
    assert summary["writer"] == {"seqs": 5000, "seconds": 2.0, "rate": 2500.0}
    assert (summary["vs_seed"], summary["vs_raw"], summary["ok"]) == (25.0, 1.25, True)
    summary = summarize({"seed": rounds(100), "raw_async": rounds(4000), "writer": rounds(2500)}, **settings)
    assert summary["vs_raw"] == 0.625 and summary["ok"] is False  # 25x (a), but under 70% of (b)
