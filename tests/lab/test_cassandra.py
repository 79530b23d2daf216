import pytest

from lab.cassandra import (
    Cassandra,
    NodeStatus,
    all_up_normal,
    census_queries,
    parse_cqlsh_table,
    parse_cqlsh_tables,
    parse_nodetool_status,
    select_script,
    seq_chunks,
    seqs_query,
)
from lab.errors import LabError, PreconditionError
from lab.kubectl import Kubectl
from lab.runner import Runner
from tests.lab.labfakes import DATA, CqlRows, FakeCtx

K = Kubectl("kubectl", "kind-kind", "default")


def test_parse_nodetool_status_from_the_assignment():
    nodes = parse_nodetool_status((DATA / "nodetool_status_un.txt").read_text())
    assert nodes[0] == NodeStatus("UN", "10.244.3.3", "70.24 KiB", "58ca0279-0b50-4033-901c-e00dfcdc75f6", "rack1")
    assert [n.address for n in nodes] == ["10.244.3.3", "10.244.2.3", "10.244.4.3"]
    assert all_up_normal(nodes, 3)
    assert not all_up_normal(nodes, 4)


def test_parse_nodetool_status_with_a_down_and_a_joining_node():
    nodes = parse_nodetool_status((DATA / "nodetool_status_dn.txt").read_text())
    assert [(n.state, n.load) for n in nodes] == [("UN", "1.2 MiB"), ("DN", "?"), ("UJ", "94.1 KiB")]
    assert nodes[1].host_id == "d69e38d7-9bd7-4774-b855-fb65d6b3c77f"
    assert not all_up_normal(nodes, 3)


def test_parse_cqlsh_tables():
    assert [r["seq"] for r in parse_cqlsh_table((DATA / "cqlsh_seqs.txt").read_text())] == [
        "1",
        "2",
        "3",
        "6",
        "7",
        "10",
    ]
    assert parse_cqlsh_table((DATA / "cqlsh_last_seq.txt").read_text()) == [
        {"topic": "test", "seq": "10"}, {"topic": "other", "seq": "20000"}]
    assert parse_cqlsh_table((DATA / "cqlsh_count.txt").read_text()) == [{"count": "9998"}]
    assert parse_cqlsh_table("\n(0 rows)\n") == []


def test_queries_are_built_for_one_topic_and_refuse_odd_names():
    assert seqs_query("test") == "SELECT seq FROM ece573.prj04 WHERE topic = 'test';"
    assert select_script("SELECT 1;", consistency="quorum") == "CONSISTENCY QUORUM; PAGING OFF; SELECT 1;"
    with pytest.raises(PreconditionError):
        seqs_query("t' OR '1'='1")


def test_seqs_in_reads_the_ranges_asked_in_one_cqlsh():
    ctx = FakeCtx([("cqlsh", (DATA / "cqlsh_seqs.txt").read_text())])
    assert Cassandra(Runner(ctx), K, pod="cassandra-2").seqs_in("test", [(1, 10)], consistency="ALL") == [
        1, 2, 3, 6, 7, 10]
    assert ctx.commands == [
        "kubectl --context kind-kind --namespace default exec cassandra-2 --container cassandra -- cqlsh "
        "--request-timeout=120 -e 'CONSISTENCY ALL; PAGING OFF; "
        "SELECT seq FROM ece573.prj04 WHERE topic = '\"'\"'test'\"'\"' AND seq >= 1 AND seq <= 10;'"
    ]
    assert Cassandra(Runner(ctx), K).seqs_in("test", []) == [] and len(ctx.commands) == 1


def test_last_seqs_is_empty_before_the_writer_made_its_table():
    ctx = FakeCtx([("cqlsh", ("<stdin>:1:InvalidRequest: Error from server: code=2200 [Invalid query] "
                              "message=\"unconfigured table prj04_last_seq\"", 2))])
    assert Cassandra(Runner(ctx), K).last_seqs() == {}


def test_last_seqs_failure_is_one_line_with_context():
    ctx = FakeCtx([("cqlsh", ("Connection error: ('Unable to connect to any servers')", 1))])
    with pytest.raises(LabError, match=r"failed to read ece573.prj04_last_seq in cassandra-0: .*Unable to connect"):
        Cassandra(Runner(ctx), K).last_seqs()


def test_last_seqs_and_count():
    ctx = FakeCtx(
        [("count", (DATA / "cqlsh_count.txt").read_text()), ("cqlsh", (DATA / "cqlsh_last_seq.txt").read_text())]
    )
    cass = Cassandra(Runner(ctx), K)
    assert cass.last_seqs() == {"test": 10, "other": 20000}
    assert cass.row_count("test") == 9998


def test_a_topic_is_counted_in_chunks_of_its_last_seq():
    assert seq_chunks(10, chunk=4) == [(1, 4), (5, 8), (9, 10)]
    assert seq_chunks(8, chunk=4) == [(1, 4), (5, 8)]
    assert seq_chunks(0) == []
    assert len(seq_chunks(1_000_000)) == 20
    assert census_queries("t", 6, last_seq=5, chunk=4) == [
        "SELECT count(*), CAST(sum(value) AS text) AS total FROM ece573.prj04 WHERE topic = 't' AND seq >= 1 "
        "AND seq <= 4;",
        "SELECT count(*), CAST(sum(value) AS text) AS total FROM ece573.prj04 WHERE topic = 't' AND seq >= 5 "
        "AND seq <= 6;",
        "SELECT count(*) FROM ece573.prj04 WHERE topic = 't' AND seq >= 7;",
        "SELECT count(*) FROM ece573.prj04 WHERE topic = 't' AND seq >= 6;",
        "SELECT seq FROM ece573.prj04 WHERE topic = 't' AND seq >= 6 LIMIT 1;",
        "SELECT seq FROM ece573.prj04 WHERE topic = 't' ORDER BY seq DESC LIMIT 1;",
    ]


def test_the_census_counts_on_the_server_and_finds_the_short_chunk_in_one_cqlsh():
    stored = CqlRows([s for s in range(1, 120_003) if s != 70_000])
    ctx = FakeCtx([("cqlsh", stored)])
    census = Cassandra(Runner(ctx), K).census("test", 120_000, last_seq=119_990)
    assert [(c.low, c.high, c.rows) for c in census.chunks] == [
        (1, 50_000, 50_000), (50_001, 100_000, 49_999), (100_001, 120_000, 20_000)]
    assert (census.beyond, census.max_seq, census.rows) == (2, 120_002, 120_001)
    assert (census.above, census.first_above) == (12, 119_991)  # rows past last_seq: counted, and where
    # Each chunk's sum as the server printed it, every digit: the values the robust writer writes.
    from writer.values import RESOLUTION, sum_units
    assert float(census.chunks[0].total) == sum_units("test", 1, 50_000) * RESOLUTION
    assert census.short() == [(50_001, 100_000)]
    assert len(ctx.commands) == 1 and "SELECT seq FROM ece573.prj04 WHERE topic = 'test' AND seq <=" not in \
        stored.scripts[0]


def test_a_missing_table_in_the_output_is_an_error_not_a_gap():
    ctx = FakeCtx([("cqlsh", " count\n-------\n 5\n\n(1 rows)\n")])
    with pytest.raises(LabError, match="printed 1 result table\\(s\\) for 5 queries"):
        Cassandra(Runner(ctx), K).census("test", 5)


def test_real_cqlsh_output_of_two_ranges():
    # Recorded from `cqlsh -e "CONSISTENCY QUORUM; PAGING OFF; SELECT ...<=2; SELECT ...>=3;"` in the
    # project's Cassandra 5.0.9 image (note its version WARNING and "PAGING set to OFF" lines).
    text = (DATA / "cqlsh_ranges_real.txt").read_text()
    assert parse_cqlsh_tables(text) == [[{"seq": "1"}, {"seq": "2"}], [{"seq": "4"}]]
    ctx = FakeCtx([("cqlsh", text)])
    seqs = Cassandra(Runner(ctx), K).seqs_in("test", [(1, 2), (3, 5)])
    assert seqs == [1, 2, 4]
    from lab.verify import find_gaps
    assert find_gaps(seqs, 5, first=3) == [(3, 3), (5, 5)]


def test_cassandra_5_missing_table_wording_means_no_data():
    ctx = FakeCtx([("cqlsh", ('<stdin>:1:InvalidRequest: Error from server: code=2200 [Invalid query] '
                              'message="table prj04 does not exist"', 2))])
    cass = Cassandra(Runner(ctx), K)
    assert cass.seqs_in("test", [(1, 5)]) == []
    census = cass.census("test", 5)
    assert ([(c.low, c.high, c.rows) for c in census.chunks], census.rows, census.max_seq, census.short()) == (
        [(1, 5, 0)], 0, 0, [(1, 5)])


def test_real_cqlsh_output_of_a_chunks_count_and_exact_sum_and_its_values():
    """Recorded from the project's Cassandra 5.0.9 image: cqlsh prints a double to about five decimals
    ("984.01299"), a CAST to text every digit, which is what makes the sum comparable exactly."""
    text = (DATA / "cqlsh_sums_real.txt").read_text()
    [[chunk], values] = parse_cqlsh_tables(text)
    assert chunk == {"count": "2000", "total": "984.0129947662354"}
    from writer.values import RESOLUTION, sum_units, value_for
    assert float(chunk["total"]) == sum_units("t", 1, 2000) * RESOLUTION
    assert [(int(r["seq"]), float(r["value"])) for r in values] == [(s, value_for("t", s)) for s in (1, 2, 3)]
    ctx = FakeCtx([("cqlsh", text.split("(1 rows)")[1])])
    assert Cassandra(Runner(ctx), K).values_in("t", [(1, 3)]) == {1: "0.7241849899291992", 2: "0.02641010284423828",
                                                                  3: "0.1493701934814453"}
    assert "SELECT seq, CAST(value AS text) AS value FROM ece573.prj04 WHERE topic = '\"'\"'t'\"'\"' AND seq >= 1 " \
        "AND seq <= 3;" in ctx.commands[0]
