"""The writer's configuration: a frozen dataclass read from environment variables and validated at start.

Names follow the original Go writer and the official cassandra image (TOPIC, CONSISTENCY, CASSANDRA_SEEDS,
CASSANDRA_DC); the WRITER_* knobs exist for tests and benchmarks. Any bad value raises ``ConfigError`` whose
message is the one line the user sees (``writer: CONSISTENCY must be one of ..., got 'FOO'``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

#: Levels a write may use; SERIAL/LOCAL_SERIAL are for LWT conditions, ANY cannot serve the read of last_seq.
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM")

#: CQL identifiers we interpolate into DDL (keyspace names cannot be bound parameters).
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$")


class ConfigError(ValueError):
    """A configuration value is missing or invalid; ``str(err)`` is the one line to print."""


@dataclass(frozen=True)
class Config:
    """Everything the writer needs to know, validated."""

    topic: str
    consistency: str = "QUORUM"
    seeds: tuple[tuple[str, int], ...] = (("127.0.0.1", 9042),)
    port: int = 9042
    keyspace: str = "ece573"
    replication_factor: int = 3
    local_dc: str | None = None  # None: ask the first node we reach (system.local)
    username: str | None = None
    password: str | None = None
    max_seqs: int | None = None  # stop after writing this many seqs (tests, benchmarks); None: forever
    in_flight: int = 128  # concurrent writes; bounds memory and the re-write window after a crash
    batch_size: int = 32  # rows per single-partition unlogged batch (~1.5 KB, under the 5 KB warning); 1: plain INSERTs
    rate: float | None = None  # seqs per second cap; None: as fast as Cassandra takes them
    log_every: int = 1000  # the Go writer's "inserted rows to seq N" interval
    http_port: int | None = 8080  # None or 0 disables /healthz, /readyz, /metrics
    checkpoint_interval: float = 0.2  # seconds between last_seq writes while rows flow
    request_timeout: float = 5.0  # per request; a dead coordinator must not stall us for the driver's 10 s
    connect_timeout: float = 5.0
    max_backoff: float = 1.0  # ceiling of the retry backoff: probes are cheap, and resuming fast matters more
    stop_timeout: float = 8.0  # SIGTERM: how long to wait for in-flight writes to drain

    @property
    def seed_text(self) -> str:
        """Seeds as the user gave them, for the 'Connecting cluster at ...' line."""
        return ",".join(host if port == self.port else f"{host}:{port}" for host, port in self.seeds)


def load(env: Mapping[str, str]) -> Config:
    """Build a Config from ``env`` (normally os.environ); raises ConfigError with one line on bad input."""
    topic = _get(env, "TOPIC")
    if topic is None:
        raise ConfigError("writer: TOPIC is required (the topic this writer appends to), e.g. TOPIC=test")
    consistency = (_get(env, "CONSISTENCY") or "QUORUM").upper()
    if consistency not in CONSISTENCY_LEVELS:
        raise ConfigError(
            f"writer: CONSISTENCY must be one of {', '.join(CONSISTENCY_LEVELS)}, got {env['CONSISTENCY']!r}")
    port = _int(env, "CASSANDRA_PORT", 9042, low=1, high=65535)
    keyspace = _get(env, "KEYSPACE") or "ece573"
    if not _IDENTIFIER.match(keyspace):
        raise ConfigError(f"writer: KEYSPACE must be a CQL identifier (a letter, then letters, digits or _), "
                          f"got {keyspace!r}")
    username, password = _get(env, "CASSANDRA_USERNAME"), _get(env, "CASSANDRA_PASSWORD")
    if (username is None) != (password is None):
        raise ConfigError("writer: CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together")
    http_port = _int(env, "HTTP_PORT", 8080, low=0, high=65535)
    return Config(
        topic=topic,
        consistency=consistency,
        seeds=_seeds(_get(env, "CASSANDRA_SEEDS") or "127.0.0.1", port),
        port=port,
        keyspace=keyspace,
        replication_factor=_int(env, "REPLICATION_FACTOR", 3, low=1, high=99),
        local_dc=_get(env, "CASSANDRA_DC"),
        username=username,
        password=password,
        max_seqs=_int(env, "WRITER_MAX_SEQS", None, low=0, high=2**31 - 1),
        in_flight=_int(env, "WRITER_IN_FLIGHT", 128, low=1, high=10_000),
        batch_size=_int(env, "WRITER_BATCH_SIZE", 32, low=1, high=1000),
        rate=_float(env, "WRITER_RATE", None, low=0.001),
        log_every=_int(env, "LOG_EVERY", 1000, low=1, high=2**31 - 1),
        http_port=http_port or None,
        checkpoint_interval=_float(env, "WRITER_CHECKPOINT_INTERVAL", 0.2, low=0.001),
        request_timeout=_float(env, "WRITER_REQUEST_TIMEOUT", 5.0, low=0.1),
        connect_timeout=_float(env, "WRITER_CONNECT_TIMEOUT", 5.0, low=0.1),
        max_backoff=_float(env, "WRITER_MAX_BACKOFF", 1.0, low=0.01),
        stop_timeout=_float(env, "WRITER_STOP_TIMEOUT", 8.0, low=0.0),
    )


def _get(env: Mapping[str, str], name: str) -> str | None:
    """The stripped value, or None when unset or blank (Kubernetes renders `value: ""` as set-but-empty)."""
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _int(env, name: str, default: int | None, *, low: int, high: int) -> int | None:
    text = _get(env, name)
    if text is None:
        return default
    try:
        value = int(text, 10)
    except ValueError:
        raise ConfigError(f"writer: {name} must be an integer, got {env[name]!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"writer: {name} must be between {low} and {high}, got {value}")
    return value


def _float(env, name: str, default: float | None, *, low: float) -> float | None:
    text = _get(env, name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"writer: {name} must be a number, got {env[name]!r}") from None
    if not value >= low or value == float("inf"):  # also rejects nan
        raise ConfigError(f"writer: {name} must be a finite number >= {low:g}, got {text}")
    return value


def _seeds(text: str, default_port: int) -> tuple[tuple[str, int], ...]:
    """'a, b:9043, [::1]:9042' -> (('a', port), ('b', 9043), ('::1', 9042))."""
    seeds = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise ConfigError(f"writer: CASSANDRA_SEEDS has an empty entry: {text!r}")
        host, port = item, default_port
        if item.startswith("["):  # [v6]:port
            host, _, rest = item[1:].partition("]")
            if rest:
                port = _seed_port(rest.removeprefix(":"), item)
        elif item.count(":") == 1:
            host, port_text = item.split(":")
            port = _seed_port(port_text, item)
        if not host or not _HOSTNAME.match(host):
            raise ConfigError(f"writer: CASSANDRA_SEEDS entry {item!r} is not a host or host:port")
        seeds.append((host, port))
    return tuple(seeds)


def _seed_port(text: str, item: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigError(f"writer: CASSANDRA_SEEDS entry {item!r} has a bad port (1-65535)")
    return int(text)
