"""CassandraStore.submit_rows binds the same value every time it writes a seq: re-sends are true upserts.

A recording session stands in for the driver's: it keeps every statement handed to ``execute_async``; the
statements are the driver's own (BoundStatement, BatchStatement of a real PreparedStatement), so the values
read back are the bytes that would go over the wire.
"""

from types import SimpleNamespace

import pytest
from cassandra.cqltypes import DoubleType, Int32Type, UTF8Type
from cassandra.protocol import ColumnMetadata
from cassandra.query import BatchStatement, PreparedStatement

from writer.config import load
from writer.contact_points import Resolution
from writer.store import CassandraStore, _Connection
from writer.values import value_for

PROTOCOL = 4


class RecordingSession:
    def __init__(self):
        self.statements = []

    def execute_async(self, statement, parameters=None):
        self.statements.append(statement)
        return SimpleNamespace(add_callbacks=lambda *args, **kw: None)


def _prepared() -> PreparedStatement:
    columns = [ColumnMetadata("ece573", "prj04", name, kind)
               for name, kind in (("topic", UTF8Type), ("seq", Int32Type), ("value", DoubleType))]
    return PreparedStatement(columns, b"insert", [0], "INSERT INTO ece573.prj04 (topic, seq, value) VALUES (?, ?, ?)",
                             "ece573", PROTOCOL, None, None)


def _store(batch_size: int) -> tuple[CassandraStore, RecordingSession]:
    session = RecordingSession()
    store = CassandraStore(load({"TOPIC": "t-values", "WRITER_BATCH_SIZE": str(batch_size)}))
    store._conn = _Connection(SimpleNamespace(), session, Resolution((("127.0.0.1", 9042),), ()), insert=_prepared())
    return store, session


def _rows(statement) -> list[tuple[int, float]]:
    """(seq, value) of every row a statement carries, decoded from the bound bytes."""
    if isinstance(statement, BatchStatement):
        bound = [values for _, _, values in statement._statements_and_parameters]
    else:
        bound = [statement.values]
    return [(Int32Type.deserialize(v[1], PROTOCOL), DoubleType.deserialize(v[2], PROTOCOL)) for v in bound]


@pytest.mark.parametrize("first, last", [(7, 7), (1, 32)], ids=["one row", "a batch"])
def test_writing_the_same_rows_twice_binds_the_same_values(first, last):
    store, session = _store(batch_size=last - first + 1)
    for _ in range(2):  # a re-send after a timeout, or a re-write after a restart
        store.submit_rows(first, last, lambda *a: None, lambda *a: None)
    once, again = (_rows(statement) for statement in session.statements)
    assert [seq for seq, _ in once] == list(range(first, last + 1))
    assert once == again
    assert once == [(seq, value_for("t-values", seq)) for seq in range(first, last + 1)]
    assert len({value for _, value in once}) == len(once) or len(once) == 1  # values, not one constant
