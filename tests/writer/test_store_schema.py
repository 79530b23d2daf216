"""CassandraStore.ensure_schema when a node lags behind the schema: an outage to wait out, not a bad request."""

from types import SimpleNamespace

import pytest
from cassandra import InvalidRequest
from cassandra.cluster import NoHostAvailable

from writer.config import load
from writer.errors import permanent_cause
from writer.store import CassandraStore, _Connection

KS = "ece573"


def _store(tables: set[str], prepare_error: Exception | None,
           cluster_tables: set[str] | None = None) -> tuple[CassandraStore, list[str]]:
    """A store over a fake driver: ``tables`` are what the driver's metadata knows of keyspace ece573, and
    ``cluster_tables`` what the cluster has (the metadata after a refresh; the same when not given)."""
    prepared: list[str] = []

    def prepare(query):
        if prepare_error is not None:
            raise prepare_error
        prepared.append(query)
        return SimpleNamespace(is_idempotent=False)

    metadata = SimpleNamespace(keyspaces={KS: SimpleNamespace(tables={t: object() for t in tables})})

    def refresh_schema_metadata(max_schema_agreement_wait):
        known = tables if cluster_tables is None else cluster_tables
        metadata.keyspaces[KS].tables = {t: object() for t in known}

    cluster = SimpleNamespace(metadata=metadata, refresh_schema_metadata=refresh_schema_metadata,
                              control_connection=SimpleNamespace(wait_for_schema_agreement=lambda wait_time: True))
    conn = _Connection(cluster, SimpleNamespace(prepare=prepare, execute=lambda *a, **kw: None))
    store = CassandraStore(load({"TOPIC": "test", "CASSANDRA_SEEDS": "cassandra"}))
    store._conn = conn
    return store, prepared


LAGGING = InvalidRequest('Error from server: code=2200 [Invalid query] message="table prj04_last_seq does not exist"')


def test_a_node_that_lacks_a_table_the_cluster_has_is_an_outage_retried():
    store, _ = _store({"prj04", "prj04_last_seq"}, LAGGING)
    with pytest.raises(NoHostAvailable, match="a node does not know the new schema yet") as err:
        store.ensure_schema()
    assert permanent_cause(err.value) is None  # the startup loop retries it with backoff
    assert store._schema_ready is False


def test_a_table_another_writer_created_first_is_an_outage_though_our_metadata_missed_it():
    # Two writers start at once: the other one's CREATE won, ours was a no-op, and no schema change reached
    # our metadata. Seen in CI with a QUORUM and an ALL writer started together on a 3-node ring.
    store, _ = _store({"prj04"}, LAGGING, cluster_tables={"prj04", "prj04_last_seq"})
    with pytest.raises(NoHostAvailable, match="a node does not know the new schema yet") as err:
        store.ensure_schema()
    assert permanent_cause(err.value) is None


def test_a_table_the_cluster_really_lacks_stays_permanent():
    store, _ = _store({"prj04"}, LAGGING, cluster_tables={"prj04"})
    with pytest.raises(InvalidRequest) as err:
        store.ensure_schema()
    assert permanent_cause(err.value) is err.value


def test_any_other_invalid_request_while_preparing_stays_permanent():
    store, _ = _store({"prj04", "prj04_last_seq"}, InvalidRequest("Batch too large"))
    with pytest.raises(InvalidRequest) as err:
        store.ensure_schema()
    assert permanent_cause(err.value) is err.value


def test_prepared_once_the_schema_is_everywhere():
    store, prepared = _store({"prj04", "prj04_last_seq"}, None)
    store.ensure_schema()
    assert store._schema_ready and len(prepared) == 3
