"""The writer's configuration: a frozen dataclass read from environment variables and validated at start.

Names follow the original Go writer and the official cassandra image (TOPIC, CONSISTENCY, CASSANDRA_SEEDS,
CASSANDRA_DC); the WRITER_* knobs exist for tests, benchmarks and the lab's lesson. Any bad value raises
``ConfigError`` whose message is the one line the user sees (``writer: CONSISTENCY must be one of ...``).

Every number has a lower and an upper bound: an absurd value (``1e300`` seconds) is a typo, and left through
it would surface much later as an OverflowError deep in the driver or the socket layer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

#: Levels a write may use; SERIAL/LOCAL_SERIAL are for LWT conditions, ANY cannot serve the read of last_seq.
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM")
#: The schema's seq column is a CQL ``int``: no seq above this can be stored.
MAX_SEQ = 2**31 - 1
#: Cassandra refuses a partition key longer than this (bytes).
MAX_KEY_BYTES = 65535
#: ``WRITER_MODE=seed`` runs the assignment's naive writer (writer.seed); robust (or unset) is this one.
MODES = ("robust", "seed")

#: Every WRITER_* variable some mode reads. Anything else starting with WRITER_ is a typo and refused, so a
#: misspelt knob cannot be silently ignored. WRITER_RESUME belongs to the seed mode; robust always resumes.
KNOWN_WRITER_VARIABLES = (
    "WRITER_MODE", "WRITER_RESUME", "WRITER_MAX_SEQS", "WRITER_IN_FLIGHT", "WRITER_BATCH_SIZE", "WRITER_RATE",
    "WRITER_CHECKPOINT_INTERVAL", "WRITER_REQUEST_TIMEOUT", "WRITER_CONNECT_TIMEOUT", "WRITER_MAX_BACKOFF",
    "WRITER_STOP_TIMEOUT", "WRITER_RESOLVE_AFTER", "WRITER_UNHEALTHY_AFTER",
)
#: Kubernetes injects <SERVICE>_SERVICE_HOST, <SERVICE>_PORT, <SERVICE>_PORT_8080_TCP... for every Service in
#: the namespace; a Service named "writer" would produce these. They are not ours to refuse.
_SERVICE_LINK = re.compile(r"^WRITER_(SERVICE_HOST|SERVICE_PORT(_\w+)?|PORT(_\d+_(TCP|UDP|SCTP)(_\w+)?)?)$")

#: CQL identifiers we interpolate into DDL (keyspace names cannot be bound parameters).
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


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
    password: str | None = field(default=None, repr=False)  # never in a log line or a traceback
    max_seqs: int | None = None  # stop after writing this many seqs (tests, benchmarks); None: forever
    in_flight: int = 128  # concurrent writes; bounds memory and the re-write window after a crash
    batch_size: int = 32  # rows per single-partition unlogged batch (~1.5 KB, under the 5 KB warning); 1: plain INSERTs
    rate: float | None = None  # seqs per second cap; None: as fast as Cassandra takes them
    log_every: int = 1000  # the Go writer's "inserted rows to seq N" interval
    http_port: int | None = 8080  # None or 0 disables /healthz, /readyz, /metrics
    checkpoint_interval: float = 0.2  # seconds between last_seq writes while rows flow
    request_timeout: float = 5.0  # per write; after it the write is re-sent (and a late answer still counts)
    connect_timeout: float = 5.0
    max_backoff: float = 1.0  # ceiling of the retry backoff: probes are cheap, and resuming fast matters more
    stop_timeout: float = 8.0  # SIGTERM: how long to wait for in-flight writes to drain
    resolve_after: float = 60.0  # no write succeeded this long: re-resolve the seeds, rebuild the session
    unhealthy_after: float = 120.0  # ... and still none this long after that: /healthz 503, Kubernetes restarts us

    @property
    def seed_text(self) -> str:
        """Seeds as the user gave them, for the 'Connecting cluster at ...' line."""
        return ",".join(host if port == self.port else f"{host}:{port}" for host, port in self.seeds)


def load(env: Mapping[str, str]) -> Config:
    """Build a Config from ``env`` (normally os.environ); raises ConfigError with one line on bad input."""
    _check_names(env)
    mode = (env.get("WRITER_MODE") or "").strip().lower()
    if mode and mode not in MODES:
        raise ConfigError(f"writer: WRITER_MODE must be one of {', '.join(MODES)}, got {env['WRITER_MODE']!r}")
    topic = _get(env, "TOPIC")
    if topic is None:
        raise ConfigError("writer: TOPIC is required (the topic this writer appends to), e.g. TOPIC=test")
    if len(topic.encode()) > MAX_KEY_BYTES:
        raise ConfigError(f"writer: TOPIC is {len(topic.encode())} bytes; Cassandra's partition key limit is "
                          f"{MAX_KEY_BYTES}")
    if "CONSISTENCY" in env and _get(env, "CONSISTENCY") is None:
        raise ConfigError(f"writer: CONSISTENCY is set but empty; use one of {', '.join(CONSISTENCY_LEVELS)} "
                          "(or unset it for QUORUM)")
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
        seeds=parse_seeds(_get(env, "CASSANDRA_SEEDS") or "127.0.0.1", port),
        port=port,
        keyspace=keyspace,
        replication_factor=_int(env, "REPLICATION_FACTOR", 3, low=1, high=99),
        local_dc=_get(env, "CASSANDRA_DC"),
        username=username,
        password=password,
        max_seqs=_int(env, "WRITER_MAX_SEQS", None, low=0, high=MAX_SEQ),
        in_flight=_int(env, "WRITER_IN_FLIGHT", 128, low=1, high=10_000),
        batch_size=_int(env, "WRITER_BATCH_SIZE", 32, low=1, high=1000),
        rate=_float(env, "WRITER_RATE", None, low=0.001, high=10_000_000),
        log_every=_int(env, "LOG_EVERY", 1000, low=1, high=MAX_SEQ),
        http_port=http_port or None,
        checkpoint_interval=_float(env, "WRITER_CHECKPOINT_INTERVAL", 0.2, low=0.001, high=60),
        request_timeout=_float(env, "WRITER_REQUEST_TIMEOUT", 5.0, low=0.1, high=120),
        connect_timeout=_float(env, "WRITER_CONNECT_TIMEOUT", 5.0, low=0.1, high=120),
        max_backoff=_float(env, "WRITER_MAX_BACKOFF", 1.0, low=0.01, high=300),
        stop_timeout=_float(env, "WRITER_STOP_TIMEOUT", 8.0, low=0.0, high=300),
        resolve_after=_float(env, "WRITER_RESOLVE_AFTER", 60.0, low=1, high=3600),
        unhealthy_after=_float(env, "WRITER_UNHEALTHY_AFTER", 120.0, low=1, high=86400),
    )


def _check_names(env: Mapping[str, str]) -> None:
    unknown = sorted(name for name in env
                     if name.startswith("WRITER_") and name not in KNOWN_WRITER_VARIABLES
                     and not _SERVICE_LINK.match(name))
    if unknown:
        raise ConfigError(f"writer: unknown variable {', '.join(unknown)}; known WRITER_* variables: "
                          f"{', '.join(sorted(KNOWN_WRITER_VARIABLES))}")


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


def _float(env, name: str, default: float | None, *, low: float, high: float) -> float | None:
    text = _get(env, name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"writer: {name} must be a number, got {env[name]!r}") from None
    if not low <= value <= high:  # also rejects nan and inf
        raise ConfigError(f"writer: {name} must be a number between {low:g} and {high:g}, got {text}")
    return value


def parse_seeds(text: str, default_port: int) -> tuple[tuple[str, int], ...]:
    """'a, b:9043, [::1]:9042, ::2' -> (('a', port), ('b', 9043), ('::1', 9042), ('::2', port))."""
    seeds = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise ConfigError(f"writer: CASSANDRA_SEEDS has an empty entry: {text!r}")
        host, port = item, default_port
        if item.startswith("["):  # [v6] or [v6]:port
            host, bracket, rest = item[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ConfigError(f"writer: CASSANDRA_SEEDS entry {item!r} is not [IPv6] or [IPv6]:port")
            if rest:
                port = _seed_port(rest[1:], item)
            _ipv6(host, item)
        elif item.count(":") > 1:  # a bare IPv6 address, no port
            _ipv6(host, item)
        else:
            if ":" in item:
                host, port_text = item.split(":")
                port = _seed_port(port_text, item)
            _host(host, item)
        seeds.append((host, port))
    return tuple(seeds)


def _ipv6(host: str, item: str) -> None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise ConfigError(f"writer: CASSANDRA_SEEDS entry {item!r} is not a valid IPv6 address") from None


def _host(host: str, item: str) -> None:
    """An IPv4 address (each part 0-255) or a DNS name (RFC 1123 labels; a final dot allowed)."""
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ConfigError(f"writer: CASSANDRA_SEEDS entry {item!r} is not a valid IPv4 address "
                              "(four numbers 0-255)") from None
        return
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ConfigError(f"writer: CASSANDRA_SEEDS entry {item!r} is not a host or host:port")


def _seed_port(text: str, item: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigError(f"writer: CASSANDRA_SEEDS entry {item!r} has a bad port (1-65535)")
    return int(text)
