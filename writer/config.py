"""The writer's configuration: a frozen dataclass read from environment variables and validated at start.

Names follow the original Go writer and the official cassandra image (TOPIC, CONSISTENCY, CASSANDRA_SEEDS,
CASSANDRA_DC); the WRITER_* knobs exist for tests, benchmarks and the lab's lesson. Any bad value raises
``ConfigError`` whose message is the one line the user sees (``writer: CONSISTENCY must be one of ...``).

Every number has a lower and an upper bound: an absurd value (``1e300`` seconds) is a typo, and left through
it would surface much later as an OverflowError deep in the driver or the socket layer.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import ssl
import unicodedata
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

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
    "WRITER_STOP_TIMEOUT", "WRITER_RESOLVE_AFTER", "WRITER_UNHEALTHY_AFTER", "WRITER_UNREADY_AFTER",
    "WRITER_STARTUP_BUDGET",
)
#: Every variable the robust writer reads. Any other name within two typed characters of one of these is
#: refused with the name it most likely meant (CASANDRA_SEEDS would otherwise leave the seeds at 127.0.0.1).
KNOWN_VARIABLES = (
    "TOPIC", "CONSISTENCY", "CASSANDRA_SEEDS", "CASSANDRA_PORT", "KEYSPACE", "REPLICATION_FACTOR", "CASSANDRA_DC",
    "CASSANDRA_USERNAME", "CASSANDRA_PASSWORD", "CASSANDRA_TLS_CA", "LOG_EVERY", "HTTP_PORT",
) + KNOWN_WRITER_VARIABLES
#: A near miss differs from a known name by at most this many characters (inserted, deleted or replaced; a swap
#: is two). Three would catch CASSANDRA_RACK (the official image's variable) as CASSANDRA_DC.
_NEAR_MISS_EDITS = 2
#: Kubernetes injects <SERVICE>_SERVICE_HOST, <SERVICE>_SERVICE_PORT[_<name>], <SERVICE>_PORT and
#: <SERVICE>_PORT_<n>_<TCP|UDP|SCTP>[_PROTO|_PORT|_ADDR] for every Service in the namespace (writer.yml turns
#: this off with enableServiceLinks: false; other pod specs may not). A Service named writer-metrics gives
#: WRITER_METRICS_SERVICE_HOST: not ours to refuse. A bare <SERVICE>_PORT counts only with its URL value
#: (tcp://10.96.0.9:8080), so a misspelt CASANDRA_PORT=9042 is still caught.
_SERVICE_LINK = re.compile(r"^[A-Z][A-Z0-9_]*_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?"
                           r"|PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$")
_SERVICE_LINK_PORT = re.compile(r"^[A-Z][A-Z0-9_]*_PORT$")
_SERVICE_LINK_URL = re.compile(r"^(tcp|udp|sctp)://\S+:\d+$")
#: Rows in flight at once (WRITER_IN_FLIGHT x WRITER_BATCH_SIZE; the default is 128 x 32 = 4,096). A row in a
#: driver batch costs about 290 bytes (tracemalloc, driver 3.30), so this many are about 38 MB per copy the
#: driver holds: several copies (re-sends of expired writes) still fit a 256 Mi pod. 10,000 x 1,000 would not.
MAX_ROWS_IN_FLIGHT = 131_072
#: WRITER_STOP_TIMEOUT's ceiling. On SIGTERM the writer drains for at most WRITER_STOP_TIMEOUT, then stores
#: last_seq for at most as long again (writer.loop), so it is done within about 2 x 12 s, inside writer.yml's
#: 30 s terminationGracePeriodSeconds (tests/lab/test_manifests.py holds the two together).
MAX_STOP_TIMEOUT = 12.0

#: CQL identifiers we interpolate into DDL (keyspace names cannot be bound parameters).
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
#: A DNS label, with underscores allowed: Docker Compose v1 names containers project_service_1, and its DNS
#: resolves those names (RFC 1123 forbids them in host names, but the resolver does not care).
_LABEL = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")
#: Characters a TOPIC may not hold: control characters (a newline in a topic would forge log lines, since every
#: line names the topic) and the Unicode line and paragraph separators.
_UNPRINTABLE = ("Cc", "Zl", "Zp")


#: Cassandra's native-protocol port: the default of CASSANDRA_PORT and of every seed's port.
_CQL_PORT = 9042


class ConfigError(ValueError):
    """A configuration value is missing or invalid; ``str(err)`` is the one line to print."""


@dataclass(frozen=True)
class Config:
    """Everything the writer needs to know, validated."""

    topic: str
    consistency: str = "QUORUM"
    seeds: tuple[tuple[str, int], ...] = (("127.0.0.1", _CQL_PORT),)  # load() gives the hosts CASSANDRA_PORT
    port: int = _CQL_PORT
    keyspace: str = "ece573"
    replication_factor: int = 3
    local_dc: str | None = None  # None: the datacenter of the first node the driver reaches
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line or a traceback
    tls_ca: str | None = None  # CASSANDRA_TLS_CA: connect with TLS, trusting this CA's PEM file; None: plaintext
    max_seqs: int | None = None  # stop after writing this many seqs (tests, benchmarks); None: forever
    in_flight: int = 128  # concurrent writes; bounds memory and the re-write window after a crash
    batch_size: int = 32  # rows per single-partition unlogged batch (~1.5 KB, under the 5 KB warning); 1: plain INSERTs
    rate: float | None = None  # seqs per second cap; None: as fast as Cassandra takes them
    log_every: int = 1000  # the Go writer's "inserted rows to seq N" interval
    http_port: int | None = 8080  # None or 0 disables /healthz, /readyz, /metrics
    checkpoint_interval: float = 0.2  # seconds between last_seq writes while rows flow
    request_timeout: float = 5.0  # the most one attempt of a write waits (writer.latency re-sends sooner)
    connect_timeout: float = 5.0
    max_backoff: float = 1.0  # ceiling of the retry backoff: probes are cheap, and resuming fast matters more
    stop_timeout: float = 8.0  # SIGTERM: how long to wait for in-flight writes to drain (then as long for last_seq)
    resolve_after: float = 60.0  # no write succeeded this long: re-resolve the seeds, rebuild the session
    unhealthy_after: float = 120.0  # ... and still none this long after that: /healthz 503, Kubernetes restarts us
    unready_after: float = 10.0  # writes failing this long with none succeeding: /readyz 503 (with the reason)
    startup_budget: float = 300.0  # not writing this long after start (connect, schema, last_seq): /healthz 503

    @property
    def seed_text(self) -> str:
        """Seeds as the user gave them, for the 'Connecting cluster at ...' line."""
        return ",".join(host if port == self.port else f"{host}:{port}" for host, port in self.seeds)


#: The defaults, as the dataclass declares them: load() reads each from here, so each is written once.
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Config) if f.default is not MISSING}


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
    bad = next((i for i, char in enumerate(topic) if unicodedata.category(char) in _UNPRINTABLE), None)
    if bad is not None:
        raise ConfigError(f"writer: TOPIC must not contain control characters (it has {topic[bad]!r} at position "
                          f"{bad}); use letters, digits and punctuation")
    if "CONSISTENCY" in env and _get(env, "CONSISTENCY") is None:
        raise ConfigError(f"writer: CONSISTENCY is set but empty; use one of {', '.join(CONSISTENCY_LEVELS)} "
                          f"(or unset it for {_DEFAULTS['consistency']})")
    consistency = (_get(env, "CONSISTENCY") or _DEFAULTS["consistency"]).upper()
    if consistency not in CONSISTENCY_LEVELS:
        raise ConfigError(
            f"writer: CONSISTENCY must be one of {', '.join(CONSISTENCY_LEVELS)}, got {env['CONSISTENCY']!r}")
    port = _int(env, "CASSANDRA_PORT", "port", low=1, high=65535)
    keyspace = _get(env, "KEYSPACE") or _DEFAULTS["keyspace"]
    if not _IDENTIFIER.match(keyspace):
        raise ConfigError(f"writer: KEYSPACE must be a CQL identifier (a letter, then letters, digits or _), "
                          f"got {keyspace!r}")
    # Cassandra folds an unquoted name to lower case (CREATE KEYSPACE Ece573 makes ece573), and the writer's
    # statements do not quote it: so must the name we look up in the driver's metadata.
    keyspace = keyspace.lower()
    username, password = _get(env, "CASSANDRA_USERNAME"), _get(env, "CASSANDRA_PASSWORD")
    if (username is None) != (password is None):
        raise ConfigError("writer: CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together")
    tls_ca = _get(env, "CASSANDRA_TLS_CA")
    if tls_ca is not None:
        ssl_context(tls_ca)  # a missing or unreadable file is refused now, not at the first connection
    http_port = _int(env, "HTTP_PORT", "http_port", low=0, high=65535)
    in_flight = _int(env, "WRITER_IN_FLIGHT", "in_flight", low=1, high=10_000)
    batch_size = _int(env, "WRITER_BATCH_SIZE", "batch_size", low=1, high=1000)
    if in_flight * batch_size > MAX_ROWS_IN_FLIGHT:
        raise ConfigError(f"writer: WRITER_IN_FLIGHT x WRITER_BATCH_SIZE is {in_flight} x {batch_size} = "
                          f"{in_flight * batch_size} rows in flight, more than {MAX_ROWS_IN_FLIGHT} (their memory); "
                          "lower one of them")
    return Config(
        topic=topic,
        consistency=consistency,
        seeds=_seeds(env, port),
        port=port,
        keyspace=keyspace,
        replication_factor=_int(env, "REPLICATION_FACTOR", "replication_factor", low=1, high=99),
        local_dc=_get(env, "CASSANDRA_DC"),
        username=username,
        password=password,
        tls_ca=tls_ca,
        max_seqs=_int(env, "WRITER_MAX_SEQS", "max_seqs", low=0, high=MAX_SEQ),
        in_flight=in_flight,
        batch_size=batch_size,
        rate=_float(env, "WRITER_RATE", "rate", low=0.001, high=10_000_000),
        log_every=_int(env, "LOG_EVERY", "log_every", low=1, high=MAX_SEQ),
        http_port=http_port or None,
        checkpoint_interval=_float(env, "WRITER_CHECKPOINT_INTERVAL", "checkpoint_interval", low=0.001, high=60),
        request_timeout=_float(env, "WRITER_REQUEST_TIMEOUT", "request_timeout", low=0.1, high=120),
        connect_timeout=_float(env, "WRITER_CONNECT_TIMEOUT", "connect_timeout", low=0.1, high=120),
        max_backoff=_float(env, "WRITER_MAX_BACKOFF", "max_backoff", low=0.01, high=300),
        stop_timeout=_float(env, "WRITER_STOP_TIMEOUT", "stop_timeout", low=0.0, high=MAX_STOP_TIMEOUT),
        resolve_after=_float(env, "WRITER_RESOLVE_AFTER", "resolve_after", low=1, high=3600),
        unhealthy_after=_float(env, "WRITER_UNHEALTHY_AFTER", "unhealthy_after", low=1, high=86400),
        unready_after=_float(env, "WRITER_UNREADY_AFTER", "unready_after", low=1, high=3600),
        startup_budget=_float(env, "WRITER_STARTUP_BUDGET", "startup_budget", low=10, high=86400),
    )


def ssl_context(ca_path: str) -> ssl.SSLContext:
    """A TLS client context that trusts the CA in the PEM file ``ca_path`` (CASSANDRA_TLS_CA) and nothing else.

    The node's chain is verified against that CA, its host name is not: the driver reaches each node by the
    address the ring reports (system.peers), a pod IP that changes at every restart, which no certificate made
    beforehand can name. The CA signing a node's certificate is what proves it is the lab's node."""
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_path)
    except FileNotFoundError:
        raise ConfigError(f"writer: CASSANDRA_TLS_CA {ca_path!r}: no such file (the CA's PEM file)") from None
    except (OSError, ssl.SSLError, ValueError) as err:
        raise ConfigError(f"writer: CASSANDRA_TLS_CA {ca_path!r} is not a readable PEM certificate: "
                          f"{getattr(err, 'strerror', None) or err}") from None
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _check_names(env: Mapping[str, str]) -> None:
    """Refuse a misspelt name: any unknown WRITER_* one, and any other within a typo of a known one."""
    unread = [name for name in sorted(env) if name not in KNOWN_VARIABLES and not _service_link(name, env[name])]
    guesses = {name: guess for name in unread if (guess := near_miss(name))}
    if guesses:
        raise ConfigError("writer: unknown variable " + ", ".join(
            f"{name} (did you mean {guess}?)" if len(guesses) > 1 else f"{name}; did you mean {guess}?"
            for name, guess in guesses.items()))
    unknown = [name for name in unread if name.startswith("WRITER_")]
    if unknown:
        raise ConfigError(f"writer: unknown variable {', '.join(unknown)}; known WRITER_* variables: "
                          f"{', '.join(sorted(KNOWN_WRITER_VARIABLES))}")


def near_miss(name: str) -> str | None:
    """The known variable ``name`` most likely misspells (case aside, at most two characters off), or None."""
    typed = name.upper()
    best = None
    for known in KNOWN_VARIABLES:
        matcher = difflib.SequenceMatcher(None, typed, known)
        edits = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")
        if edits <= _NEAR_MISS_EDITS and (best is None or (edits, -matcher.ratio()) < best[:2]):
            best = (edits, -matcher.ratio(), known)
    return best[2] if best else None


def _service_link(name: str, value: str) -> bool:
    """A variable Kubernetes injects for a Service (see _SERVICE_LINK)."""
    if _SERVICE_LINK.match(name):
        return True
    return bool(_SERVICE_LINK_PORT.match(name) and _SERVICE_LINK_URL.match(value.strip()))


def _get(env: Mapping[str, str], name: str) -> str | None:
    """The stripped value, or None when unset or blank (Kubernetes renders `value: ""` as set-but-empty)."""
    value = env.get(name)
    if value is None or not value.strip():
        return None
    return value.strip()


def _seeds(env: Mapping[str, str], port: int) -> tuple[tuple[str, int], ...]:
    """CASSANDRA_SEEDS, or the default seeds' hosts, on CASSANDRA_PORT either way."""
    text = _get(env, "CASSANDRA_SEEDS")
    if text is None:
        return tuple((host, port) for host, _ in _DEFAULTS["seeds"])
    return parse_seeds(text, port)


def _int(env: Mapping[str, str], name: str, field_name: str, *, low: int, high: int) -> Any:
    """Variable ``name`` as an int in [low, high], or the default of Config.<field_name> when unset."""
    text = _get(env, name)
    if text is None:
        return _DEFAULTS[field_name]
    try:
        value = int(text, 10)
    except ValueError:
        raise ConfigError(f"writer: {name} must be an integer, got {env[name]!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"writer: {name} must be between {low} and {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, field_name: str, *, low: float, high: float) -> Any:
    """Variable ``name`` as a number in [low, high], or the default of Config.<field_name> when unset."""
    text = _get(env, name)
    if text is None:
        return _DEFAULTS[field_name]
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
