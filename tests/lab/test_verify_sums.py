"""verify's value check on a real Cassandra: the server's sum of a chunk of 50,000 values, printed by cqlsh as
lab.cassandra asks for it, equals the sum computed locally, to the last bit; one changed value shows in that sum,
and the read-back names its seq. The queries are lab.cassandra's own, run with cqlsh inside the node."""

from __future__ import annotations

import pytest

from lab.cassandra import SEQ_CHUNK, chunk_query, parse_cqlsh_tables, select_script, values_query
from lab.verify import expected_total, same_value
from writer.values import value_for

TOPIC = "sums"
#: One full chunk and a short second one.
ROWS = SEQ_CHUNK + 7

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stored(cassandra_node):
    """ROWS rows of TOPIC, each with the value the robust writer writes, in the writer's schema."""
    from cassandra.cluster import Cluster
    from cassandra.concurrent import execute_concurrent_with_args

    from writer.schema import schema_statements

    cluster = Cluster(cassandra_node.contact_points, protocol_version=5)
    session = cluster.connect()
    try:
        for statement in schema_statements("ece573", 1).values():
            session.execute(statement)
        insert = session.prepare("INSERT INTO ece573.prj04 (topic, seq, value) VALUES (?, ?, ?)")
        execute_concurrent_with_args(session, insert, [(TOPIC, s, value_for(TOPIC, s)) for s in range(1, ROWS + 1)],
                                     concurrency=64, raise_on_first_error=True)
        yield session
    finally:
        cluster.shutdown()


def _cqlsh(node, query: str) -> list[list[dict[str, str]]]:
    return parse_cqlsh_tables(node.exec(["cqlsh", "--request-timeout=120", "-e",
                                         select_script(query, consistency="ONE")], timeout=180))


def test_a_full_chunks_sum_is_exact_and_one_changed_value_shows(cassandra_node, stored):
    [[full]] = _cqlsh(cassandra_node, chunk_query(TOPIC, 1, SEQ_CHUNK))
    assert full["count"] == str(SEQ_CHUNK)
    assert same_value(full["total"], expected_total(TOPIC, 1, SEQ_CHUNK))
    [[short]] = _cqlsh(cassandra_node, chunk_query(TOPIC, SEQ_CHUNK + 1, 2 * SEQ_CHUNK))
    assert short["count"] == "7"
    assert same_value(short["total"], expected_total(TOPIC, SEQ_CHUNK + 1, 2 * SEQ_CHUNK, set(range(1, ROWS + 1))))

    seq = 31_337
    changed = value_for(TOPIC, seq) + 2.0 ** -20  # the smallest step a value can take
    stored.execute("INSERT INTO ece573.prj04 (topic, seq, value) VALUES (%s, %s, %s)", (TOPIC, seq, changed))
    [[after]] = _cqlsh(cassandra_node, chunk_query(TOPIC, 1, SEQ_CHUNK))
    assert not same_value(after["total"], expected_total(TOPIC, 1, SEQ_CHUNK))
    [rows] = _cqlsh(cassandra_node, values_query(TOPIC, 1, SEQ_CHUNK))
    wrong = [int(r["seq"]) for r in rows if not same_value(r["value"], value_for(TOPIC, int(r["seq"])))]
    assert (len(rows), wrong) == (SEQ_CHUNK, [seq])
