"""A driver session made the way the writer makes one, and the bench keyspace's tables (the writer's schema)."""

from __future__ import annotations

KEYSPACE = "ece573_bench"


def connect(contact_points: list[tuple[str, int]], consistency: str):
    """A driver session the way the writer makes one (token-aware, explicit DC, the given level)."""
    # The driver is imported here, not at the top: only a real run needs it, and it is slow to import.
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

    probe = Cluster(contact_points)
    try:
        local_dc = probe.connect().execute("SELECT data_center FROM system.local").one().data_center
    finally:
        probe.shutdown()
    profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=local_dc)),
                               consistency_level=ConsistencyLevel.name_to_value[consistency], request_timeout=20)
    cluster = Cluster(contact_points, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    return cluster, cluster.connect()


def create_schema(session, replication_factor: int) -> None:
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
                    f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.prj04 "
                    "(topic text, seq int, value double, PRIMARY KEY (topic, seq))")
    session.execute(f"CREATE TABLE IF NOT EXISTS {KEYSPACE}.prj04_last_seq (topic text, seq int, PRIMARY KEY (topic))")
