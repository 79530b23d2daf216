"""CassandraStore.ensure_schema when a node lags behind the schema: an outage to wait out, not a bad request."""

from types import SimpleNamespace

import pytest
from cassandra import InvalidRequest
from cassandra.cluster import NoHostAvailable

from writer.config import load
from writer.contact_points import Resolution
from writer.errors import permanent_cause
from writer.store import CassandraStore, _Connection

KS = "ece573"


def _store(tables: set[str] | None, prepare_error: Exception | None,
           cluster_tables: set[str] | None = None,
           execute_error: Exception | None = None) -> tuple[CassandraStore, list[str]]:
    """A store over a fake driver: ``tables`` are what the driver's metadata knows of keyspace ece573 (None: not
    even the keyspace), and ``cluster_tables`` what the cluster has (the metadata after a refresh; the same when
    not given). ``execute_error`` is what every CREATE TABLE raises; the CREATEs sent are kept in ``store.sent``."""
    prepared: list[str] = []
    sent: list[str] = []

    def prepare(query):
        if prepare_error is not None:
            raise prepare_error
        prepared.append(query)
        return SimpleNamespace(is_idempotent=False)

    def keyspaces(known):
        return {} if known is None else {KS: SimpleNamespace(tables={t: object() for t in known})}

    metadata = SimpleNamespace(keyspaces=keyspaces(tables))

    def refresh_schema_metadata(max_schema_agreement_wait):
        metadata.keyspaces = keyspaces(tables if cluster_tables is None else cluster_tables)

    def execute(query, timeout=None):
        sent.append(query)
        if execute_error is not None and query.startswith("CREATE TABLE"):
            raise execute_error

    cluster = SimpleNamespace(metadata=metadata, refresh_schema_metadata=refresh_schema_metadata,
                              control_connection=SimpleNamespace(wait_for_schema_agreement=lambda wait_time: True))
    conn = _Connection(cluster, SimpleNamespace(prepare=prepare, execute=execute),
                       Resolution((("10.0.0.5", 9042),), ()))
    store = CassandraStore(load({"TOPIC": "test", "CASSANDRA_SEEDS": "cassandra"}))
    store._conn = conn
    store.sent = sent
    return store, prepared


NO_KEYSPACE = InvalidRequest(
    f'Error from server: code=2200 [Invalid query] message="Keyspace \'{KS}\' doesn\'t exist"')
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


def test_a_create_table_on_a_node_that_lacks_the_new_keyspace_is_an_outage_retried():
    # Two writers start at once: the other one's CREATE KEYSPACE won, ours was a no-op (no agreement wait by
    # the driver), and our CREATE TABLE reached a node that had not applied the keyspace yet. Seen in CI.
    store, _ = _store(None, None, cluster_tables=set(), execute_error=NO_KEYSPACE)
    with pytest.raises(NoHostAvailable, match="a node does not know the new schema yet") as err:
        store.ensure_schema()
    assert permanent_cause(err.value) is None
    assert store._schema_ready is False


def test_a_create_table_whose_keyspace_the_cluster_lacks_stays_permanent():
    store, _ = _store(None, None, cluster_tables=None, execute_error=NO_KEYSPACE)
    with pytest.raises(InvalidRequest) as err:
        store.ensure_schema()
    assert permanent_cause(err.value) is err.value


def test_only_what_is_missing_is_created_in_order():
    store, prepared = _store({"prj04"}, None, cluster_tables={"prj04", "prj04_last_seq"})
    store.ensure_schema()
    assert [q.split()[:2] + [q.split()[5]] for q in store.sent] == [["CREATE", "TABLE", f"{KS}.prj04_last_seq"]]
    assert store._schema_ready and len(prepared) == 3


@pytest.mark.parametrize("resolved, moved", [
    (["10.0.0.5"], False),  # the same address
    (["10.0.0.6"], False),  # a peer the driver already knows
    (["10.0.0.5", "10.0.0.9"], True),  # a new pod's address
    (None, False),  # the name does not resolve (no pod ready): no news
], ids=["same", "known peer", "new address", "unresolvable"])
def test_moved_reports_only_an_address_the_session_does_not_know(monkeypatch, resolved, moved):
    from writer import contact_points

    store, _ = _store({"prj04", "prj04_last_seq"}, None)
    store._conn.cluster.metadata.all_hosts = lambda: [SimpleNamespace(address="10.0.0.6")]

    def resolve(seed_list):
        if resolved is None:
            raise contact_points.UnresolvableSeeds("no seed resolves: cassandra (Name or service not known)")
        return Resolution(tuple((ip, 9042) for ip in resolved), ())

    monkeypatch.setattr(contact_points, "resolve", resolve)
    answer = store.moved()
    assert (answer is not None) == moved
    if moved:
        assert answer == "cassandra -> 10.0.0.5, 10.0.0.9"
