"""Cassandra access for the writer: one Cluster and one Session, the schema, prepared statements, async writes.

The loop talks to this module through ``submit_rows`` / ``submit_last_seq`` (callback style, like the
driver's ``ResponseFuture.add_callbacks``), so ``tests/writer`` can drive the loop with a fake store.
"""

from __future__ import annotations

import random
from typing import Callable, Protocol

from cassandra import ConsistencyLevel
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.policies import (ConstantSpeculativeExecutionPolicy, DCAwareRoundRobinPolicy,
                                ExponentialReconnectionPolicy, RetryPolicy, RoundRobinPolicy, TokenAwarePolicy)
from cassandra.query import BatchStatement, BatchType

from writer.config import Config

Callback = Callable[..., None]

#: The driver's default reconnection policy backs off to 10 minutes; after a one-minute outage that would
#: keep the writer idle long after Cassandra is back. Cap it near our own retry backoff instead.
_RECONNECT = dict(base_delay=0.2, max_delay=1.0, max_attempts=None)
#: A coordinator that died without closing its sockets answers nothing until the request timeout; after
#: this long an idempotent write is also sent to the next replica (a duplicate is a harmless upsert).
_SPECULATE_AFTER = 0.5


class Store(Protocol):
    """What the loop needs from storage. Callbacks may run on another thread, or synchronously."""

    def submit_rows(self, first: int, last: int, callback: Callback, errback: Callback, *args) -> None:
        """Write seqs first..last; then ``callback(result, *args)`` or ``errback(exc, *args)``."""

    def submit_last_seq(self, seq: int, callback: Callback, errback: Callback, *args) -> None:
        """Store ``seq`` as the topic's last_seq, asynchronously."""

    def write_last_seq(self, seq: int, timeout: float) -> None:
        """Store ``seq`` as the topic's last_seq and wait for it; raises on failure."""


def _contact_points(config: Config) -> list[tuple[str, int]]:
    return [(host, port) for host, port in config.seeds]


def _auth(config: Config):
    if config.username is None:
        return None
    return PlainTextAuthProvider(username=config.username, password=config.password)


def discover_local_dc(config: Config) -> str:
    """The data center of the first node that answers (what the driver would guess, but said explicitly)."""
    cluster = Cluster(_contact_points(config), port=config.port, auth_provider=_auth(config),
                      connect_timeout=config.connect_timeout, control_connection_timeout=config.connect_timeout,
                      execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
                          load_balancing_policy=RoundRobinPolicy(), request_timeout=config.request_timeout)})
    try:
        session = cluster.connect()
        return session.execute("SELECT data_center FROM system.local").one().data_center
    finally:
        cluster.shutdown()


class CassandraStore:
    """The writer's Cassandra session for one topic. Construct with ``connect``; ``close`` at the end."""

    def __init__(self, config: Config, cluster: Cluster, session):
        self.config = config
        self.cluster = cluster
        self.session = session
        self._insert = None
        self._insert_last = None
        self._select_last = None

    @classmethod
    def connect(cls, config: Config) -> "CassandraStore":
        """Open the one Cluster/Session of this process; raises the driver's error when no node answers."""
        local_dc = config.local_dc or discover_local_dc(config)
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
            retry_policy=RetryPolicy(),  # never the downgrading one: the configured level is the contract
            consistency_level=ConsistencyLevel.name_to_value[config.consistency],
            request_timeout=config.request_timeout,
            speculative_execution_policy=ConstantSpeculativeExecutionPolicy(_SPECULATE_AFTER, max_attempts=1),
        )
        cluster = Cluster(
            _contact_points(config), port=config.port, auth_provider=_auth(config),
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
            reconnection_policy=ExponentialReconnectionPolicy(**_RECONNECT),
            connect_timeout=config.connect_timeout,
            control_connection_timeout=config.connect_timeout,
            # DDL waits this long for every node to agree, so concurrent writers see one schema.
            max_schema_agreement_wait=30,
        )
        try:
            session = cluster.connect()
        except BaseException:
            cluster.shutdown()
            raise
        return cls(config, cluster, session)

    def cluster_name(self) -> str:
        return self.session.execute("SELECT cluster_name FROM system.local").one().cluster_name

    def ensure_schema(self) -> None:
        """Create the keyspace and tables as the Go writer does; safe when several writers race.

        IF NOT EXISTS makes each statement idempotent, and the driver waits for schema agreement after each
        DDL statement, so a table is never used before every node knows it.
        """
        ks = self.config.keyspace
        self.session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
            f"{{'class': 'SimpleStrategy', 'replication_factor': {self.config.replication_factor}}}")
        self.session.execute(
            f"CREATE TABLE IF NOT EXISTS {ks}.prj04 (topic text, seq int, value double, PRIMARY KEY (topic, seq))")
        self.session.execute(
            f"CREATE TABLE IF NOT EXISTS {ks}.prj04_last_seq (topic text, seq int, PRIMARY KEY (topic))")
        if not self.cluster.control_connection.wait_for_schema_agreement(wait_time=30):
            raise NoHostAvailable("schema agreement not reached after 30 s", {})
        self._prepare()

    def _prepare(self) -> None:
        ks = self.config.keyspace
        self._insert = self.session.prepare(f"INSERT INTO {ks}.prj04 (topic, seq, value) VALUES (?, ?, ?)")
        self._insert.is_idempotent = True  # client-chosen key: re-applying is a no-op upsert
        self._insert_last = self.session.prepare(f"INSERT INTO {ks}.prj04_last_seq (topic, seq) VALUES (?, ?)")
        self._insert_last.is_idempotent = True
        self._select_last = self.session.prepare(f"SELECT seq FROM {ks}.prj04_last_seq WHERE topic = ?")

    def read_last_seq(self) -> int:
        """The stored last_seq of our topic (0 when none), read at the configured consistency."""
        row = self.session.execute(self._select_last, (self.config.topic,)).one()
        return row.seq if row is not None and row.seq is not None else 0

    def submit_rows(self, first: int, last: int, callback: Callback, errback: Callback, *args) -> None:
        topic, rand = self.config.topic, random.random
        if first == last:
            statement = self._insert.bind((topic, first, rand()))
        else:
            # All rows share the partition key `topic`, so an unlogged batch is one mutation on one replica
            # set: atomic, cheap, and the idiomatic way to write several rows of one partition.
            statement = BatchStatement(BatchType.UNLOGGED)
            for seq in range(first, last + 1):
                statement.add(self._insert, (topic, seq, rand()))
            statement.is_idempotent = True
        future = self.session.execute_async(statement)
        future.add_callbacks(callback, errback, callback_args=args, errback_args=args)

    def submit_last_seq(self, seq: int, callback: Callback, errback: Callback, *args) -> None:
        future = self.session.execute_async(self._insert_last, (self.config.topic, seq))
        future.add_callbacks(callback, errback, callback_args=args, errback_args=args)

    def write_last_seq(self, seq: int, timeout: float) -> None:
        self.session.execute(self._insert_last, (self.config.topic, seq), timeout=timeout)

    def close(self) -> None:
        self.cluster.shutdown()
