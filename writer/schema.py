"""The writer's schema, as the Go writer creates it: shared by both writer modes and the lab's operator side
(lab/auth.py, which makes it where the writer's role may not). Pure text and metadata checks: no driver import."""

from __future__ import annotations

from typing import Any


def schema_statements(keyspace: str, replication_factor: int) -> dict[str, str]:
    """The Go writer's schema, one CREATE ... IF NOT EXISTS per object, in creation order (keyspace first)."""
    return {
        keyspace: f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
                  f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}",
        f"{keyspace}.prj04": f"CREATE TABLE IF NOT EXISTS {keyspace}.prj04 (topic text, seq int, value double, "
                             "PRIMARY KEY (topic, seq))",
        f"{keyspace}.prj04_last_seq": f"CREATE TABLE IF NOT EXISTS {keyspace}.prj04_last_seq (topic text, seq int, "
                                      "PRIMARY KEY (topic))",
    }


def missing_schema(metadata: Any, keyspace: str) -> list[str]:
    """What of the writer's schema the driver's metadata lacks, in creation order (keyspace first)."""
    tables = ("prj04", "prj04_last_seq")
    ks = metadata.keyspaces.get(keyspace)
    if ks is None:
        return [keyspace] + [f"{keyspace}.{table}" for table in tables]
    return [f"{keyspace}.{table}" for table in tables if table not in ks.tables]
