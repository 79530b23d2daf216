"""The writer's startup without Cassandra: quiet capped retries, whole reasons, one Cluster per attempt, the
impossible-level check, and which TypeErrors are permanent."""

import logging
import re
from types import SimpleNamespace

import pytest
from cassandra.cluster import NoHostAvailable

from writer import errors
from writer.__main__ import _retrying, _Stop
from writer.config import load
from writer.contact_points import Resolution
from writer.levels import Placement, unmet


class Clock:
    """A fake monotonic clock that ``sleep`` advances."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def refused(hosts=3):
    """What the driver raises when no node accepts: the reasons sit at the end, after 200 characters."""
    return NoHostAvailable("Unable to connect to any servers", {
        f"10.244.{n}.17:9042": ConnectionRefusedError(111, f"Tried connecting to [('10.244.{n}.17', 9042)]. Last "
                                                           "error: Connection refused")
        for n in range(1, hosts + 1)})


def run_failing(env, seconds, caplog):
    """_retrying over an action that fails for ``seconds`` of fake time, then succeeds; the calls' times."""
    clock, calls = Clock(), []

    def action():
        calls.append(clock())
        if clock() - calls[0] < seconds:
            raise refused()
        return "done"

    with caplog.at_level(logging.INFO, logger="writer"):
        assert _retrying("connecting to Cassandra", action, _Stop(), load({"TOPIC": "t", **env}),
                         clock=clock, sleep=clock.sleep) == "done"
    return calls


def test_startup_backoff_honours_a_max_backoff_above_two_seconds(caplog):
    calls = run_failing({"WRITER_MAX_BACKOFF": "8"}, 120, caplog)
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps[0] <= 0.55 and max(gaps) > 4.0 and max(gaps) <= 8.05, gaps  # 0.5 s doubling up to 8, jittered


def test_startup_backoff_default_stays_at_one_second(caplog):
    calls = run_failing({}, 20, caplog)
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert max(gaps) <= 1.05 and len(calls) >= 20, gaps


def test_a_failing_startup_logs_once_then_every_30_s_with_the_attempts_and_the_whole_reason(caplog):
    calls = run_failing({}, 100, caplog)
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    reason = errors.describe(refused())
    assert lines[0] == (f"connecting to Cassandra failed ({reason}); retrying with backoff up to 1 s, a line every "
                        "30 s while it fails")
    assert all(f"10.244.{n}.17', 9042)]. Last error: Connection refused" in lines[0] for n in (1, 2, 3))
    still = [re.fullmatch(r"connecting to Cassandra still failing after (\d+) s and (\d+) attempts \((.*)\)", line)
             for line in lines[1:]]
    assert len(still) == 3 and all(still), lines  # at 30, 60 and 90 s of 100
    # Each line counts the attempts so far and says how long since the first failure, at that attempt's time.
    at = [calls[int(m.group(2)) - 1] - calls[0] for m in still]
    assert [m.group(1) for m in still] == [f"{t:.0f}" for t in at]
    assert [30 <= b - a <= 31.05 for a, b in zip([0.0] + at, at, strict=False)] == [True] * 3, at
    assert all(m.group(3) == reason for m in still)
    info = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert info == [f"connecting to Cassandra succeeded after {calls[-1] - calls[0]:.1f} s and {len(calls) - 1} "
                    "failed attempts"]


def test_describe_keeps_every_hosts_reason():
    text = errors.describe(refused(hosts=5))
    assert len(text) > 200
    assert text.startswith("NoHostAvailable: Unable to connect to any servers (10.244.1.17:9042: "
                           "ConnectionRefusedError: [Errno 111] Tried connecting to")
    assert text.count("Last error: Connection refused") == 5 and "\n" not in text


def test_a_type_error_from_inside_the_driver_is_an_outage_not_a_value_out_of_range():
    from cassandra.cqltypes import DoubleType, Int32Type, UTF8Type
    from cassandra.query import PreparedStatement

    column = SimpleNamespace
    insert = PreparedStatement([column(keyspace_name="ks", table_name="prj04", name=n, type=t) for n, t in
                                (("topic", UTF8Type), ("seq", Int32Type), ("value", DoubleType))],
                               b"id", [0], "INSERT", "ks", 4, None, None)
    with pytest.raises(TypeError) as bind:
        insert.bind(("t", 2**31, 0.5))  # a seq the int column cannot hold: a value out of range, permanent
    with pytest.raises(errors.Permanent, match=r"^writer: a value is out of range while writing seq 2147483648 "):
        errors.check(bind.value, "writing seq 2147483648")
    inside = TypeError("'NoneType' object is not subscriptable")  # a fault inside the driver, not our input
    errors.check(inside, "writing seq 5")  # returns: retried
    assert errors.permanent_cause(inside) is None


# ---- one Cluster per attempt ---------------------------------------------------------------------------------

class FakeCluster:
    """Counts Clusters; its session answers the one query the old local-DC discovery sent."""

    built: list = []

    def __init__(self, contact_points, **kw):
        FakeCluster.built.append(self)
        self.metadata = SimpleNamespace(all_hosts=lambda: [])
        self.shut = False

    def connect(self):
        row = SimpleNamespace(data_center="dc1")
        return SimpleNamespace(execute=lambda *a, **k: SimpleNamespace(one=lambda: row))

    def shutdown(self):
        self.shut = True


def test_each_connection_attempt_builds_one_cluster(monkeypatch):
    from writer import store as store_mod

    FakeCluster.built = []
    monkeypatch.setattr(store_mod, "Cluster", FakeCluster)
    store = store_mod.CassandraStore.connect(load({"TOPIC": "t", "CASSANDRA_SEEDS": "10.0.0.1"}))
    assert len(FakeCluster.built) == 1 and not FakeCluster.built[0].shut
    assert store.cluster is FakeCluster.built[0]


# ---- a level the keyspace can never meet ---------------------------------------------------------------------

def simple(rf, nodes, local="dc1"):
    return Placement("ece573", {"": rf}, {"dc1": nodes}, local)


@pytest.mark.parametrize("level, placement, expected", [
    ("QUORUM", simple(3, 3), None),
    ("ALL", simple(3, 3), None),
    ("THREE", simple(3, 3), None),
    ("ONE", simple(1, 1), None),
    ("QUORUM", simple(1, 1), None),
    ("QUORUM", simple(5, 3), None),  # 3 of 5: the 3 nodes hold 3 replicas
    ("LOCAL_QUORUM", simple(3, 3), None),
    ("EACH_QUORUM", simple(3, 3), None),
    ("THREE", simple(2, 3), "factor"),
    ("TWO", simple(1, 3), "factor"),
    ("ALL", simple(5, 3), "nodes"),  # ALL waits for 5; 3 nodes hold at most 3 replicas
    ("QUORUM", simple(3, 1), "nodes"),
    ("ALL", simple(3, 1), "nodes"),
    ("LOCAL_QUORUM", simple(3, 1), "nodes"),
    ("QUORUM", Placement("ks", {"dc1": 3, "dc2": 3}, {"dc1": 3, "dc2": 3}, "dc1"), None),
    ("EACH_QUORUM", Placement("ks", {"dc1": 3, "dc2": 3}, {"dc1": 3, "dc2": 1}, "dc1"), "nodes"),
    ("LOCAL_QUORUM", Placement("ks", {"dc1": 3, "dc2": 3}, {"dc1": 3, "dc2": 1}, "dc1"), None),
    ("LOCAL_ONE", Placement("ks", {"dc2": 3}, {"dc1": 3, "dc2": 3}, "dc1"), "factor"),  # no replica here
    ("ALL", Placement("ks", {"dc1": 3, "dc2": 2}, {"dc1": 3, "dc2": 1}, "dc1"), "nodes"),
    ("QUORUM", Placement("ks", {"dc1": 3, "dc2": 2}, {"dc1": 3, "dc2": 1}, "dc1"), None),  # 3 of 5, 4 placed
])
def test_unmet_compares_the_levels_replicas_with_the_factor_and_the_ring(level, placement, expected):
    line = unmet(level, placement)
    if expected is None:
        assert line is None
    elif expected == "factor":
        assert re.match(rf"writer: CONSISTENCY {level} waits for \d+ replicas, but keyspace \w+ has replication "
                        r"factor \d+", line), line
    else:
        assert re.match(rf"writer: CONSISTENCY {level} waits for \d+ replicas, but the ring has \d+ node", line), line


def test_unmet_lines_say_what_is_wrong_and_how_to_fix_it():
    assert unmet("THREE", simple(2, 3)) == (
        "writer: CONSISTENCY THREE waits for 3 replicas, but keyspace ece573 has replication factor 2, so no write "
        "can ever succeed; choose a level of at most 2 replicas (e.g. QUORUM) or raise the keyspace's replication "
        "factor")
    assert unmet("ALL", simple(5, 3)) == (
        "writer: CONSISTENCY ALL waits for 5 replicas, but the ring has 3 node(s) for keyspace ece573's "
        "replication factor 5, so at most 3 replicas exist and no write can ever succeed; add nodes, lower the "
        "replication factor or choose a lower level")


def store_over(metadata=None, session=None, **env):
    from writer.store import CassandraStore, _Connection

    store = CassandraStore(load({"TOPIC": "t", **env}))
    store._conn = _Connection(cluster=SimpleNamespace(metadata=metadata), session=session,
                              resolution=Resolution((("127.0.0.1", 9042),), ()))
    return store


def test_the_cluster_name_is_read_at_one_whatever_the_level():
    """system.local has one replica: read at THREE it is Unavailable forever, even on a ring of three."""
    from cassandra import ConsistencyLevel

    seen = []
    row = SimpleNamespace(cluster_name="ece573-prj04")
    session = SimpleNamespace(
        execute=lambda query, timeout=None: seen.append(query) or SimpleNamespace(one=lambda: row))
    assert store_over(session=session, CONSISTENCY="THREE").cluster_name() == "ece573-prj04"
    assert seen[0].consistency_level == ConsistencyLevel.ONE


@pytest.mark.parametrize("strategy, expected", [
    (("SimpleStrategy", {"replication_factor": "3"}), {"": 3}),
    (("NetworkTopologyStrategy", {"dc1": "3", "dc2": "2"}), {"dc1": 3, "dc2": 2}),
    (("LocalStrategy", {}), None),
])
def test_placement_reads_the_factor_and_the_ring_from_the_drivers_metadata(strategy, expected):
    from cassandra import metadata as driver_metadata

    kind, options = strategy
    made = getattr(driver_metadata, kind)(options)
    hosts = [SimpleNamespace(datacenter=dc) for dc in ("dc1", "dc1", "dc1", "dc2")]
    metadata = SimpleNamespace(keyspaces={"ece573": SimpleNamespace(replication_strategy=made)},
                               all_hosts=lambda: hosts)
    store = store_over(metadata, CASSANDRA_DC="dc1")
    placement = store.placement()
    if expected is None:
        assert placement is None
    else:
        assert placement == Placement("ece573", expected, {"dc1": 3, "dc2": 1}, "dc1")
    assert store_over(SimpleNamespace(keyspaces={}, all_hosts=lambda: hosts)).placement() is None


@pytest.mark.parametrize("step", ["cluster_name", "ensure_schema", "read_last_seq"])
def test_a_stop_during_a_startup_step_exits_0_and_closes_the_session(monkeypatch, step):
    """SIGTERM while a step after connecting keeps failing: _run stops retrying, closes the session, exits 0
    (nothing was written, so there is no watermark to store) and never starts the loop."""
    import signal

    import writer.__main__ as main_mod
    from writer.store import CassandraStore

    handlers = {}
    monkeypatch.setattr(signal, "signal", lambda signum, handler: handlers.setdefault(signum, handler))

    class Store:
        closed = False

        def cluster_name(self):
            return "lab"

        def ensure_schema(self):
            return None

        def placement(self):
            return None  # unknown: no level check

        def read_last_seq(self):
            return 0

        def close(self):
            self.closed = True

    store = Store()

    def failing():
        handlers[signal.SIGTERM](signal.SIGTERM, None)  # the pod is deleted while this step fails
        raise refused()

    monkeypatch.setattr(store, step, failing)
    monkeypatch.setattr(CassandraStore, "connect", classmethod(lambda cls, config, tracker: store))
    monkeypatch.setattr(main_mod, "WriteLoop", None)  # the loop must not start
    assert main_mod._run(load({"TOPIC": "t", "HTTP_PORT": "0"})) == 0
    assert store.closed
