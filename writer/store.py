"""Cassandra access for the writer: one Cluster and Session at a time, the schema, prepared statements, writes.

The loop talks to this module through ``submit_rows`` / ``submit_last_seq`` (callback style, like the
driver's ``ResponseFuture.add_callbacks``), so ``tests/writer`` can drive the loop with a fake store.

``rebuild`` replaces the Cluster and Session with new ones built from freshly resolved seeds: the driver never
re-resolves its contact points, so after every Cassandra pod came back with a new address the old session
would retry the old addresses forever. ``moved`` is the cheap check the loop runs every few seconds of an
outage (a DNS lookup): do the seeds now name an address the session does not know?

Every write of a seq carries ``writer.values.value_for(topic, seq)``: a re-send after a timeout, a re-write
after a restart, or a second pod writes the very row that may already be acknowledged.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cassandra import ConsistencyLevel, DriverException, InvalidRequest
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResponseFuture,
    Session,
)
from cassandra.metadata import NetworkTopologyStrategy, SimpleStrategy
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    RetryPolicy,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType, PreparedStatement, SimpleStatement

from writer import contact_points
from writer.config import Config, ssl_context
from writer.errors import Permanent
from writer.latency import AdaptiveSpeculativePolicy, AvoidSickHosts, HostWatch, LatencyTracker, attempt_timeout
from writer.levels import Placement
from writer.loop import late_window
from writer.schema import missing_schema, schema_statements
from writer.values import value_for

log = logging.getLogger("writer")

Callback = Callable[..., None]

#: The driver's default reconnection policy backs off to 10 minutes; after a one-minute outage that would
#: keep the writer idle long after Cassandra is back. Cap it near our own retry backoff instead.
_RECONNECT = dict(base_delay=0.2, max_delay=1.0, max_attempts=None)
#: Bounds of the speculative delay (it follows the p99 of observed writes, see writer.latency).
_SPECULATE_MIN = 0.01
#: Schema statements and the startup reads wait at least this long: DDL waits for schema agreement.
_STARTUP_TIMEOUT = 10.0
#: How Cassandra says a coordinator lacks a keyspace ("Keyspace 'x' doesn't exist") or a table ("table x does
#: not exist"): on a node that lags behind the schema, it means "not yet".
_UNKNOWN_SCHEMA = re.compile(r"does not exist|doesn't exist")


class Store(Protocol):
    """What the loop needs from storage. Callbacks may run on another thread, or synchronously."""

    def submit_rows(self, first: int, last: int, callback: Callback, errback: Callback, *args: Any) -> None:
        """Write seqs first..last; then ``callback(result, *args)`` or ``errback(exc, *args)``."""

    def submit_last_seq(self, seq: int, callback: Callback, errback: Callback, *args: Any) -> None:
        """Store ``seq`` as the topic's last_seq, asynchronously."""

    def write_last_seq(self, seq: int, timeout: float) -> None:
        """Store ``seq`` as the topic's last_seq and wait for it; raises on failure."""


def _auth(config: Config) -> PlainTextAuthProvider | None:
    if config.username is None:
        return None
    return PlainTextAuthProvider(username=config.username, password=config.password)


@dataclass
class _Connection:
    """One generation of driver objects: replaced whole by ``rebuild``, never patched."""

    cluster: Cluster
    session: Session
    resolution: contact_points.Resolution  # what the seeds resolved to when this generation was opened
    # Prepared statements, once the schema is there (CassandraStore._prepare).
    insert: PreparedStatement = None
    insert_last: PreparedStatement = None
    select_last: PreparedStatement = None


class CassandraStore:
    """The writer's Cassandra session for one topic. Construct with ``connect``; ``close`` at the end."""

    def __init__(self, config: Config, tracker: LatencyTracker | None = None):
        self.config = config
        self.tracker = tracker or LatencyTracker()
        self.local_dc: str | None = config.local_dc  # CASSANDRA_DC, or what the driver chose when connecting
        # A coordinator that holds a request longer than the loop waits for one attempt is sick (writer.latency).
        self.hosts = HostWatch(self.attempt_timeout)
        self._conn: _Connection = None  # type: ignore[assignment]  # connect() opens it; close() copes without
        self._schema_ready = False
        self._lock = threading.Lock()

    @classmethod
    def connect(cls, config: Config, tracker: LatencyTracker | None = None) -> CassandraStore:
        """Resolve the seeds and open a Cluster/Session; raises the driver's error when no node answers."""
        store = cls(config, tracker)
        store._conn = store._open()
        return store

    @property
    def cluster(self) -> Cluster:
        return self._conn.cluster

    @property
    def session(self) -> Session:
        return self._conn.session

    @property
    def resolution(self) -> contact_points.Resolution:
        """What the seeds resolved to for the session in use (a failed rebuild leaves it unchanged)."""
        return self._conn.resolution

    def _open(self) -> _Connection:
        config = self.config
        resolution = contact_points.resolve(config.seeds)
        for failed in resolution.failed:
            log.warning("seed %s does not resolve; trying the others", failed)
        # Without CASSANDRA_DC the policy takes the datacenter of the first contact point the control connection
        # reaches (the driver's own rule): one Cluster per attempt, not a second one just to ask system.local.
        # A rebuild keeps the datacenter found the first time: pods move, their DC does not.
        local_dc = config.local_dc or self.local_dc or ""
        dc_policy = DCAwareRoundRobinPolicy(local_dc=local_dc)
        profile = ExecutionProfile(
            # Shuffled replicas: otherwise every write of our one partition goes to the same first replica. A sick
            # coordinator (frozen, answering nothing) goes last until it answers again.
            load_balancing_policy=AvoidSickHosts(TokenAwarePolicy(dc_policy, shuffle_replicas=True), self.hosts),
            retry_policy=RetryPolicy(),  # never the downgrading one: the configured level is the contract
            consistency_level=ConsistencyLevel.name_to_value[config.consistency],
            request_timeout=late_window(config),
            speculative_execution_policy=AdaptiveSpeculativePolicy(
                self.tracker, low=_SPECULATE_MIN, high=config.request_timeout / 2),
        )
        cluster = Cluster(
            list(resolution.points), port=config.port, auth_provider=_auth(config),
            ssl_context=ssl_context(config.tls_ca) if config.tls_ca else None,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            reconnection_policy=ExponentialReconnectionPolicy(**_RECONNECT),
            connect_timeout=config.connect_timeout,
            control_connection_timeout=config.connect_timeout,
            # DDL waits this long for every node to agree, so concurrent writers see one schema.
            max_schema_agreement_wait=30,
        )
        try:
            session = cluster.connect()
        except NoHostAvailable as exc:
            dcs = sorted({host.datacenter for host in cluster.metadata.all_hosts() if host.datacenter})
            cluster.shutdown()
            if local_dc and dcs and local_dc not in dcs:
                raise Permanent(f"writer: CASSANDRA_DC {local_dc!r} matches no Cassandra node "
                                f"(their datacenters: {', '.join(dcs)})") from exc
            raise
        except BaseException:
            cluster.shutdown()
            raise
        conn = _Connection(cluster, session, resolution)
        self.local_dc = dc_policy.local_dc or None
        if self._schema_ready:
            try:
                self._prepare(conn)
            except BaseException:
                cluster.shutdown()
                raise
        return conn

    def rebuild(self) -> str:
        """Replace the Cluster/Session with new ones from freshly resolved seeds; returns what they resolved to.

        Raises (and keeps the old session) when the new one cannot be opened. The old Cluster is shut down
        in the background: its shutdown waits for its threads, and the loop must keep ticking.
        """
        conn = self._open()
        with self._lock:
            old, self._conn = self._conn, conn
        if old is not None:
            threading.Thread(target=old.cluster.shutdown, name="old-cluster-shutdown", daemon=True).start()
        return self.resolution.summary(self.config.seeds)

    def moved(self) -> str | None:
        """Resolve the seeds again: their summary when they name an address the session knows neither from
        its own resolution nor from the cluster's peers (every pod came back at a new address), else None.

        Cheap (a DNS lookup, no connection), so the loop asks every few seconds of an outage. A seed that does
        not resolve (no pod ready yet) is not a move: None.
        """
        try:
            resolution = contact_points.resolve(self.config.seeds)
        except contact_points.UnresolvableSeeds:
            return None
        conn = self._conn
        known = {host for host, _ in conn.resolution.points}
        known.update(host.address for host in conn.cluster.metadata.all_hosts())
        if all(host in known for host, _ in resolution.points):
            return None
        return resolution.summary(self.config.seeds)

    def attempt_timeout(self) -> float:
        """How long the loop waits for one attempt of a write before re-sending it (writer.latency)."""
        return attempt_timeout(self.tracker, self.config.request_timeout)

    def _watched(self, future: ResponseFuture) -> None:
        """Tell the host watch which coordinator ``future``'s first attempt went to, and who answered it."""
        hosts = getattr(future, "attempted_hosts", None)  # empty when no host could take it: the errback says so
        if hosts:
            self.hosts.sent(hosts[0])
            future.add_callbacks(lambda _r: self.hosts.answered(future.coordinator_host),
                                 lambda _e: self.hosts.answered(future.coordinator_host))

    def cluster_name(self, timeout: float | None = None) -> str:
        # At ONE: system.local has one replica (LocalStrategy), so TWO or THREE there is Unavailable forever.
        query = SimpleStatement("SELECT cluster_name FROM system.local", consistency_level=ConsistencyLevel.ONE)
        name: str = self.session.execute(query, timeout=self._startup_timeout(timeout)).one().cluster_name
        return name

    def _startup_timeout(self, timeout: float | None) -> float:
        return timeout if timeout is not None else max(self.config.request_timeout, _STARTUP_TIMEOUT)

    def ensure_schema(self, timeout: float | None = None) -> None:
        """Create the keyspace and tables as the Go writer does, where they are missing; safe when writers race.

        Only what is missing is created: on a lab with authentication the operator (``invoke deploy``) makes
        the schema and the writer's role has no CREATE permission, so even an ``IF NOT EXISTS`` it does not
        need would be refused. IF NOT EXISTS makes each statement idempotent. We wait for schema agreement
        after each statement ourselves: when another writer created an object first, our statement is a no-op
        that sends no schema change back, so the driver does not wait, and the next statement's coordinator
        may not know that object yet.
        """
        ks, session, timeout = self.config.keyspace, self.session, self._startup_timeout(timeout)
        statements = schema_statements(ks, self.config.replication_factor)
        order = list(statements)
        for name in missing_schema(self.cluster.metadata, ks):
            try:
                session.execute(statements[name], timeout=timeout)
            except InvalidRequest as err:
                self._raise_if_lagging(err, needs=order[:order.index(name)])
                raise
            if not self.cluster.control_connection.wait_for_schema_agreement(wait_time=30):
                raise NoHostAvailable("schema agreement not reached after 30 s", {})
        try:
            self._prepare(self._conn)
        except InvalidRequest as err:
            self._raise_if_lagging(err, needs=order)
            raise
        self._schema_ready = True

    def _raise_if_lagging(self, err: InvalidRequest, needs: list[str]) -> None:
        """Raise an outage when ``err`` (an invalid request while making or preparing the schema) means "not yet".

        Schema agreement counts only the nodes the driver sees up: a node it took for down (a busy ring) can
        still lack a keyspace or table the cluster has, and answers that it does not exist. That node catches
        up through gossip, so it is an outage to wait out (the startup loop retries with backoff). When the
        cluster itself lacks what the statement ``needs``, this returns and the request stays permanent.
        """
        if not _UNKNOWN_SCHEMA.search(str(err)):
            return
        # Freshly read: our metadata can be older than the cluster (another writer's CREATE won, ours was a no-op).
        try:
            self.cluster.refresh_schema_metadata(max_schema_agreement_wait=30)
        except DriverException as refresh_err:
            raise NoHostAvailable(f"could not read the cluster's schema ({refresh_err})", {}) from err
        if not set(needs) & set(missing_schema(self.cluster.metadata, self.config.keyspace)):
            raise NoHostAvailable(f"a node does not know the new schema yet ({err})", {}) from err

    def _prepare(self, conn: _Connection) -> None:
        ks, session = self.config.keyspace, conn.session
        conn.insert = session.prepare(f"INSERT INTO {ks}.prj04 (topic, seq, value) VALUES (?, ?, ?)")
        # The key is the client's and the value a function of it (writer.values): re-applying writes the same row.
        conn.insert.is_idempotent = True
        conn.insert_last = session.prepare(f"INSERT INTO {ks}.prj04_last_seq (topic, seq) VALUES (?, ?)")
        conn.insert_last.is_idempotent = True
        conn.select_last = session.prepare(f"SELECT seq FROM {ks}.prj04_last_seq WHERE topic = ?")

    def placement(self) -> Placement | None:
        """The keyspace's replication and the ring's nodes per datacenter, from the driver's metadata (None when
        the keyspace is not there or its strategy is neither SimpleStrategy nor NetworkTopologyStrategy)."""
        metadata = self.cluster.metadata
        ks = metadata.keyspaces.get(self.config.keyspace)
        strategy = getattr(ks, "replication_strategy", None)
        if isinstance(strategy, SimpleStrategy):
            factors = {"": strategy.replication_factor_info.all_replicas}
        elif isinstance(strategy, NetworkTopologyStrategy):
            factors = {dc: rf.all_replicas for dc, rf in strategy.dc_replication_factors_info.items()}
        else:
            return None
        nodes = Counter(host.datacenter for host in metadata.all_hosts())
        return Placement(self.config.keyspace, factors, dict(nodes), self.local_dc)

    def read_last_seq(self, timeout: float | None = None) -> int:
        """The stored last_seq of our topic (0 when none), read at the configured consistency."""
        conn = self._conn
        row = conn.session.execute(conn.select_last, (self.config.topic,),
                                   timeout=self._startup_timeout(timeout)).one()
        return row.seq if row is not None and row.seq is not None else 0

    def submit_rows(self, first: int, last: int, callback: Callback, errback: Callback, *args: Any) -> None:
        conn, topic = self._conn, self.config.topic
        if first == last:
            statement = conn.insert.bind((topic, first, value_for(topic, first)))
        else:
            # All rows share the partition key `topic`, so an unlogged batch is one mutation on one replica
            # set: atomic, cheap, and the idiomatic way to write several rows of one partition.
            statement = BatchStatement(BatchType.UNLOGGED)
            for seq in range(first, last + 1):
                statement.add(conn.insert, (topic, seq, value_for(topic, seq)))
            statement.is_idempotent = True
        future = conn.session.execute_async(statement)
        self._watched(future)
        future.add_callbacks(callback, errback, callback_args=args, errback_args=args)

    def submit_last_seq(self, seq: int, callback: Callback, errback: Callback, *args: Any) -> None:
        conn = self._conn
        future = conn.session.execute_async(conn.insert_last, (self.config.topic, seq))
        self._watched(future)
        future.add_callbacks(callback, errback, callback_args=args, errback_args=args)

    def write_last_seq(self, seq: int, timeout: float) -> None:
        conn = self._conn
        conn.session.execute(conn.insert_last, (self.config.topic, seq), timeout=timeout)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.cluster.shutdown()
