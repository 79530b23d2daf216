"""writer.config: every variable parsed, every bad value one line naming the variable."""

import ast
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from writer import config as config_mod
from writer.config import CONSISTENCY_LEVELS, Config, ConfigError, load


def test_defaults_need_only_a_topic():
    config = load({"TOPIC": "test"})
    assert config == Config(topic="test")
    assert (config.consistency, config.keyspace, config.replication_factor) == ("QUORUM", "ece573", 3)
    assert config.seeds == (("127.0.0.1", 9042),)
    assert config.max_seqs is None and config.rate is None and config.http_port == 8080


def test_every_variable_is_read():
    config = load({
        "TOPIC": " t1 ", "CONSISTENCY": "local_quorum", "CASSANDRA_SEEDS": "a.b, c:9043,[::1]:9044",
        "CASSANDRA_PORT": "9050", "KEYSPACE": "ks_2", "REPLICATION_FACTOR": "1", "CASSANDRA_DC": "dc9",
        "CASSANDRA_USERNAME": "u", "CASSANDRA_PASSWORD": "p", "WRITER_MAX_SEQS": "500", "WRITER_IN_FLIGHT": "7",
        "WRITER_BATCH_SIZE": "1", "WRITER_RATE": "25.5", "LOG_EVERY": "10", "HTTP_PORT": "0",
        "WRITER_CHECKPOINT_INTERVAL": "0.5", "WRITER_REQUEST_TIMEOUT": "2", "WRITER_CONNECT_TIMEOUT": "3",
        "WRITER_MAX_BACKOFF": "1", "WRITER_STOP_TIMEOUT": "4", "WRITER_RESOLVE_AFTER": "30",
        "WRITER_UNHEALTHY_AFTER": "90", "WRITER_MODE": " Robust ", "WRITER_RESUME": "true",
    })
    assert config.topic == "t1" and config.consistency == "LOCAL_QUORUM"
    assert config.seeds == (("a.b", 9050), ("c", 9043), ("::1", 9044))
    assert config.seed_text == "a.b,c:9043,::1:9044"
    assert (config.keyspace, config.replication_factor, config.local_dc) == ("ks_2", 1, "dc9")
    assert (config.username, config.password) == ("u", "p")
    assert (config.max_seqs, config.in_flight, config.batch_size, config.rate) == (500, 7, 1, 25.5)
    assert (config.log_every, config.http_port) == (10, None)
    assert (config.checkpoint_interval, config.request_timeout, config.connect_timeout) == (0.5, 2.0, 3.0)
    assert (config.max_backoff, config.stop_timeout) == (1.0, 4.0)
    assert (config.resolve_after, config.unhealthy_after) == (30.0, 90.0)


@pytest.mark.parametrize("level", CONSISTENCY_LEVELS)
def test_each_consistency_level_is_accepted(level):
    assert load({"TOPIC": "t", "CONSISTENCY": level.lower()}).consistency == level


BAD = [
    ({}, "writer: TOPIC is required"),
    ({"TOPIC": "  "}, "writer: TOPIC is required"),
    ({"CONSISTENCY": "FOO"}, "writer: CONSISTENCY must be one of ONE, TWO, THREE, QUORUM, ALL, LOCAL_ONE, "
                             "LOCAL_QUORUM, EACH_QUORUM, got 'FOO'"),
    ({"CONSISTENCY": "SERIAL"}, "writer: CONSISTENCY must be one of"),
    ({"CASSANDRA_PORT": "x"}, "writer: CASSANDRA_PORT must be an integer, got 'x'"),
    ({"CASSANDRA_PORT": "70000"}, "writer: CASSANDRA_PORT must be between 1 and 65535, got 70000"),
    ({"CASSANDRA_SEEDS": "a,,b"}, "writer: CASSANDRA_SEEDS has an empty entry"),
    ({"CASSANDRA_SEEDS": "a:b"}, "writer: CASSANDRA_SEEDS entry 'a:b' has a bad port"),
    ({"CASSANDRA_SEEDS": "a:0"}, "writer: CASSANDRA_SEEDS entry 'a:0' has a bad port"),
    ({"CASSANDRA_SEEDS": "bad host"}, "writer: CASSANDRA_SEEDS entry 'bad host' is not a host"),
    ({"KEYSPACE": "drop table;"}, "writer: KEYSPACE must be a CQL identifier"),
    ({"REPLICATION_FACTOR": "0"}, "writer: REPLICATION_FACTOR must be between 1 and 99, got 0"),
    ({"CASSANDRA_USERNAME": "u"}, "writer: CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together"),
    ({"WRITER_MAX_SEQS": "-1"}, "writer: WRITER_MAX_SEQS must be between 0 and"),
    ({"WRITER_IN_FLIGHT": "0"}, "writer: WRITER_IN_FLIGHT must be between 1 and 10000, got 0"),
    ({"WRITER_BATCH_SIZE": "1.5"}, "writer: WRITER_BATCH_SIZE must be an integer, got '1.5'"),
    ({"WRITER_RATE": "fast"}, "writer: WRITER_RATE must be a number, got 'fast'"),
    ({"WRITER_RATE": "0"}, "writer: WRITER_RATE must be a number between 0.001 and 1e+07, got 0"),
    ({"WRITER_RATE": "nan"}, "writer: WRITER_RATE must be a number between"),
    ({"WRITER_RATE": "inf"}, "writer: WRITER_RATE must be a number between"),
    ({"LOG_EVERY": "0"}, "writer: LOG_EVERY must be between 1 and"),
    ({"HTTP_PORT": "-5"}, "writer: HTTP_PORT must be between 0 and 65535, got -5"),
    ({"CONSISTENCY": ""}, "writer: CONSISTENCY is set but empty; use one of ONE, TWO"),
    ({"CONSISTENCY": "  "}, "writer: CONSISTENCY is set but empty"),
    ({"TOPIC": "x" * 65536}, "writer: TOPIC is 65536 bytes; Cassandra's partition key limit is 65535"),
    ({"WRITER_REQUEST_TIMEOUT": "1e300"}, "writer: WRITER_REQUEST_TIMEOUT must be a number between 0.1 and 120, "
                                          "got 1e300"),
    ({"WRITER_MODE": "fast"}, "writer: WRITER_MODE must be one of robust, seed, got 'fast'"),
    ({"WRITER_RATE_LIMIT": "5"}, "writer: unknown variable WRITER_RATE_LIMIT; known WRITER_* variables: "
                                 "WRITER_BATCH_SIZE, WRITER_CHECKPOINT_INTERVAL"),
    ({"WRITER_RATES": "5"}, "writer: unknown variable WRITER_RATES; did you mean WRITER_RATE?"),
    ({"WRITER_BATCH": "5", "WRITER_X": "1"}, "writer: unknown variable WRITER_BATCH, WRITER_X; known"),
    ({"CASSANDRA_SEEDS": "999.999.999.999"}, "writer: CASSANDRA_SEEDS entry '999.999.999.999' is not a valid "
                                             "IPv4 address (four numbers 0-255)"),
    ({"CASSANDRA_SEEDS": "10.0.0.256:9042"}, "writer: CASSANDRA_SEEDS entry '10.0.0.256:9042' is not a valid IPv4"),
    ({"CASSANDRA_SEEDS": "10.0.0"}, "writer: CASSANDRA_SEEDS entry '10.0.0' is not a valid IPv4"),
    ({"CASSANDRA_SEEDS": "[::1"}, "writer: CASSANDRA_SEEDS entry '[::1' is not [IPv6] or [IPv6]:port"),
    ({"CASSANDRA_SEEDS": "[::1]9042"}, "writer: CASSANDRA_SEEDS entry '[::1]9042' is not [IPv6]"),
    ({"CASSANDRA_SEEDS": "[::g]:9042"}, "writer: CASSANDRA_SEEDS entry '[::g]:9042' is not a valid IPv6 address"),
    ({"CASSANDRA_SEEDS": "fe80::1::2"}, "writer: CASSANDRA_SEEDS entry 'fe80::1::2' is not a valid IPv6 address"),
    ({"CASSANDRA_SEEDS": "-a.b"}, "writer: CASSANDRA_SEEDS entry '-a.b' is not a host"),
    ({"CASSANDRA_SEEDS": "a..b"}, "writer: CASSANDRA_SEEDS entry 'a..b' is not a host"),
    ({"CASSANDRA_SEEDS": "a_b c"}, "writer: CASSANDRA_SEEDS entry 'a_b c' is not a host"),
    ({"CASSANDRA_SEEDS": "x" * 64}, "writer: CASSANDRA_SEEDS entry"),
    ({"CASSANDRA_SEEDS": "a:99999"}, "writer: CASSANDRA_SEEDS entry 'a:99999' has a bad port"),
]

#: Every numeric setting with its bounds: one below the lower and one above the upper bound is refused,
#: both bounds themselves are accepted. IN_FLIGHT and BATCH_SIZE are each tried with the other at 1 (their
#: product has its own bound, below).
BOUNDS = [
    ("CASSANDRA_PORT", 1, 65535, "port"), ("REPLICATION_FACTOR", 1, 99, "replication_factor"),
    ("WRITER_MAX_SEQS", 0, 2**31 - 1, "max_seqs"), ("WRITER_IN_FLIGHT", 1, 10_000, "in_flight"),
    ("WRITER_BATCH_SIZE", 1, 1000, "batch_size"), ("LOG_EVERY", 1, 2**31 - 1, "log_every"),
    ("HTTP_PORT", 0, 65535, None),
    ("WRITER_RATE", 0.001, 1e7, "rate"), ("WRITER_CHECKPOINT_INTERVAL", 0.001, 60, "checkpoint_interval"),
    ("WRITER_REQUEST_TIMEOUT", 0.1, 120, "request_timeout"), ("WRITER_CONNECT_TIMEOUT", 0.1, 120, "connect_timeout"),
    ("WRITER_MAX_BACKOFF", 0.01, 300, "max_backoff"), ("WRITER_STOP_TIMEOUT", 0, 12, "stop_timeout"),
    ("WRITER_RESOLVE_AFTER", 1, 3600, "resolve_after"), ("WRITER_UNHEALTHY_AFTER", 1, 86400, "unhealthy_after"),
    ("WRITER_UNREADY_AFTER", 1, 3600, "unready_after"), ("WRITER_STARTUP_BUDGET", 10, 86400, "startup_budget"),
]
PARTNER = {"WRITER_IN_FLIGHT": {"WRITER_BATCH_SIZE": "1"}, "WRITER_BATCH_SIZE": {"WRITER_IN_FLIGHT": "1"}}


@pytest.mark.parametrize("name, low, high, field", BOUNDS, ids=[b[0] for b in BOUNDS])
def test_every_number_has_a_lower_and_an_upper_bound(name, low, high, field):
    base = {"TOPIC": "t", **PARTNER.get(name, {})}
    for value in (low, high):
        config = load({**base, name: str(value)})
        if field:
            assert getattr(config, field) == value
    step = 1 if isinstance(low, int) and isinstance(high, int) else low / 2 or 0.001
    for value in (low - step, high + step if isinstance(high, int) else high * 2, "1e300", "-1e300"):
        with pytest.raises(ConfigError, match=rf"^writer: {name} must be ") as info:
            load({**base, name: str(value)})
        assert "\n" not in str(info.value)


def test_rows_in_flight_have_a_combined_bound():
    assert load({"TOPIC": "t", "WRITER_IN_FLIGHT": "128", "WRITER_BATCH_SIZE": "1000"}).in_flight == 128
    assert load({"TOPIC": "t", "WRITER_IN_FLIGHT": "4096", "WRITER_BATCH_SIZE": "32"}).batch_size == 32
    with pytest.raises(ConfigError) as info:
        load({"TOPIC": "t", "WRITER_IN_FLIGHT": "10000", "WRITER_BATCH_SIZE": "1000"})
    assert str(info.value) == ("writer: WRITER_IN_FLIGHT x WRITER_BATCH_SIZE is 10000 x 1000 = 10000000 rows in "
                               "flight, more than 131072 (their memory); lower one of them")


def test_seeds_accept_names_ipv4_ipv6_and_ports():
    config = load({"TOPIC": "t", "CASSANDRA_SEEDS": "cassandra-service, cassandra-0.cassandra-service.default.svc."
                   "cluster.local.:9043, 10.1.2.3, 10.1.2.4:9044, ::1, [fd00::5]:9045, [fd00::6]"})
    assert config.seeds == (("cassandra-service", 9042), ("cassandra-0.cassandra-service.default.svc.cluster.local.",
                            9043), ("10.1.2.3", 9042), ("10.1.2.4", 9044), ("::1", 9042), ("fd00::5", 9045),
                            ("fd00::6", 9042))


def test_known_names_include_the_seed_modes_and_kubernetes_service_links_are_not_refused():
    from writer.config import KNOWN_WRITER_VARIABLES

    assert {"WRITER_MODE", "WRITER_RESUME"} <= set(KNOWN_WRITER_VARIABLES)
    env = {"TOPIC": "t", "WRITER_SERVICE_HOST": "10.96.0.9", "WRITER_SERVICE_PORT": "8080",
           "WRITER_PORT": "tcp://10.96.0.9:8080", "WRITER_PORT_8080_TCP_ADDR": "10.96.0.9"}
    assert load(env).topic == "t"


def service_links(service: str, ip: str = "10.96.0.7", port: int = 8080) -> dict[str, str]:
    """What the kubelet injects for a Service named ``service`` with one port named http."""
    name = service.upper().replace("-", "_")
    url = f"tcp://{ip}:{port}"
    return {f"{name}_SERVICE_HOST": ip, f"{name}_SERVICE_PORT": str(port), f"{name}_SERVICE_PORT_HTTP": str(port),
            f"{name}_PORT": url, f"{name}_PORT_{port}_TCP": url, f"{name}_PORT_{port}_TCP_PROTO": "tcp",
            f"{name}_PORT_{port}_TCP_PORT": str(port), f"{name}_PORT_{port}_TCP_ADDR": ip}


@pytest.mark.parametrize("service", ["writer-metrics", "writer", "cassandra-service", "topic", "keyspaces",
                                     "casandra-seeds"])
def test_service_links_of_any_service_are_ignored_by_their_pattern(service):
    """A Service named writer-metrics (or one whose name is near a known variable) must not crash-loop us."""
    env = {"TOPIC": "t", **service_links(service)}
    assert load(env).topic == "t"


@pytest.mark.parametrize("typed, meant", [
    ("CASANDRA_SEEDS", "CASSANDRA_SEEDS"), ("CASSANDRA_SEED", "CASSANDRA_SEEDS"), ("TOPICS", "TOPIC"),
    ("CONSISTANCY", "CONSISTENCY"), ("KEYSPCAE", "KEYSPACE"), ("topic", "TOPIC"), ("Keyspace", "KEYSPACE"),
    ("CASSANDRA_PASWORD", "CASSANDRA_PASSWORD"), ("REPLICATION_FACTORS", "REPLICATION_FACTOR"),
    ("HTTP_PORTS", "HTTP_PORT"), ("LOG_EVRY", "LOG_EVERY"), ("WRITER_MAXSEQS", "WRITER_MAX_SEQS"),
    ("CASANDRA_PORT", "CASSANDRA_PORT"),  # a plain number: not a service link's tcp://ip:port
])
def test_a_near_miss_of_a_known_name_is_refused_with_the_likely_one(typed, meant):
    with pytest.raises(ConfigError) as info:
        load({"TOPIC": "t", typed: "9042"})
    assert str(info.value) == f"writer: unknown variable {typed}; did you mean {meant}?"


def test_several_near_misses_are_named_on_one_line():
    with pytest.raises(ConfigError) as info:
        load({"TOPIC": "t", "CASANDRA_SEEDS": "a", "KEYSPACES": "b"})
    assert str(info.value) == ("writer: unknown variable CASANDRA_SEEDS (did you mean CASSANDRA_SEEDS?), "
                               "KEYSPACES (did you mean KEYSPACE?)")


@pytest.mark.parametrize("name", [
    "PATH", "HOME", "HOSTNAME", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "NO_PROXY", "PYTHONPATH", "LANG",
    "CASSANDRA_IMAGE", "CASSANDRA_CLUSTER_NAME", "CASSANDRA_RACK", "CASSANDRA_CONF", "CASSANDRA_USER",
    "LOG_LEVEL", "NAMESPACE", "PORT", "KUBERNETES_SERVICE_HOST", "KUBERNETES_PORT_443_TCP_ADDR",
])
def test_unrelated_variables_of_a_container_or_a_ci_runner_are_not_near_misses(name):
    assert load({"TOPIC": "t", name: "x"}).topic == "t"


def test_every_variable_load_reads_is_a_known_one():
    """The near-miss check compares against KNOWN_VARIABLES: a name read but not listed would be missed."""
    from writer.config import KNOWN_VARIABLES

    class Recording(dict):
        def __init__(self, *args):
            super().__init__(*args)
            self.read = set()

        def get(self, key, default=None):
            self.read.add(key)
            return super().get(key, default)

        def __getitem__(self, key):
            self.read.add(key)
            return super().__getitem__(key)

        def __contains__(self, key):
            self.read.add(key)
            return super().__contains__(key)

    env = Recording({"TOPIC": "t"})
    load(env)
    assert env.read and env.read <= set(KNOWN_VARIABLES)
    assert set(KNOWN_VARIABLES) - env.read <= {"WRITER_RESUME"}  # the seed mode's switch; robust ignores it


def test_an_upper_case_keyspace_is_folded_to_the_name_cassandra_gives_it():
    assert load({"TOPIC": "t", "KEYSPACE": "Ece573"}).keyspace == "ece573"


def test_seed_names_with_underscores_are_accepted():
    """Docker Compose v1 names containers project_service_1, and its DNS resolves those names."""
    config = load({"TOPIC": "t", "CASSANDRA_SEEDS": "lab_cassandra_1, lab_cassandra_2:9043, _srv.example"})
    assert config.seeds == (("lab_cassandra_1", 9042), ("lab_cassandra_2", 9043), ("_srv.example", 9042))


@pytest.mark.parametrize("topic, shown", [("a\nb", "'\\n' at position 1"), ("t\x1b[31m", "'\\x1b' at position 1"),
                                          ("a\u2028b", "'\\u2028' at position 1"), ("x\ty", "'\\t' at position 1")])
def test_a_topic_with_control_characters_is_refused(topic, shown):
    """Every log line names the topic: a newline in it would forge lines."""
    with pytest.raises(ConfigError) as info:
        load({"TOPIC": topic})
    assert str(info.value) == (f"writer: TOPIC must not contain control characters (it has {shown}); use "
                               "letters, digits and punctuation")
    assert load({"TOPIC": "orders-é/2024 #1"}).topic == "orders-é/2024 #1"


def test_unset_consistency_means_quorum_but_a_set_empty_one_is_refused():
    assert load({"TOPIC": "t"}).consistency == "QUORUM"
    with pytest.raises(ConfigError):
        load({"TOPIC": "t", "CONSISTENCY": ""})


@pytest.mark.parametrize("env, message", BAD, ids=[m.split()[1] + "-" + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_values_give_one_line(env, message):
    env = {"TOPIC": "t", **env} if "TOPIC" not in env and env != {} else env
    with pytest.raises(ConfigError) as info:
        load(env)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_the_password_never_shows_in_a_repr_or_a_log_line():
    config = load({"TOPIC": "t", "CASSANDRA_USERNAME": "writer", "CASSANDRA_PASSWORD": "s3cr3t-Pw"})
    assert config.password == "s3cr3t-Pw"
    assert "s3cr3t-Pw" not in repr(config) and "s3cr3t-Pw" not in str(config)
    assert "username='writer'" in repr(config)


def test_load_gives_every_field_the_default_the_dataclass_declares():
    loaded, declared = load({"TOPIC": "t"}), Config(topic="t")
    for item in fields(Config):
        assert getattr(loaded, item.name) == getattr(declared, item.name), item.name


def _atoms(value):
    """The strings and numbers inside a default (the seeds default is a tuple of tuples)."""
    if isinstance(value, tuple):
        return [atom for part in value for atom in _atoms(part)]
    return [] if value is None or isinstance(value, bool) else [value]


def test_no_default_is_written_again_in_load():
    """Defaults are declared once, on Config; load() reads them from there. Fails on a default written in load():
    _int/_float given anything but a Config field's name as the default, or a literal holding a default's value
    (`or "QUORUM"`, `or 8080`; the low/high bounds aside)."""
    source = Path(config_mod.__file__).read_text()
    load_def = next(node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)
                    and node.name == "load")
    names = {item.name for item in fields(Config)}
    defaults = [atom for item in fields(Config) if item.default is not MISSING for atom in _atoms(item.default)]
    bounds = {id(keyword.value) for node in ast.walk(load_def) if isinstance(node, ast.Call)
              for keyword in node.keywords if keyword.arg in ("low", "high")}
    found = []
    for node in ast.walk(load_def):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_int", "_float"):
            default = node.args[2]
            if not (isinstance(default, ast.Constant) and default.value in names):
                found.append(ast.unparse(node))
        elif isinstance(node, ast.Constant) and id(node) not in bounds:
            value = node.value
            if isinstance(value, str):
                found += [f"{value!r} holds the default {atom!r}" for atom in defaults
                          if isinstance(atom, str) and atom in value]
            elif isinstance(value, int | float) and not isinstance(value, bool) and value in defaults:
                found.append(f"{value!r} is a default")
    assert found == []


# -- CASSANDRA_TLS_CA: TLS trusting the lab's CA ------------------------------------------------------------

@pytest.fixture
def ca_file(tmp_path):
    from lab.tls import CA_CERT, make_ca
    path = tmp_path / "ca.pem"
    path.write_text(make_ca()[CA_CERT])
    return path


def test_a_tls_ca_gives_a_context_that_verifies_the_chain_but_not_the_host_name(ca_file):
    import ssl
    config = load({"TOPIC": "t", "CASSANDRA_TLS_CA": str(ca_file)})
    assert config.tls_ca == str(ca_file)
    context = config_mod.ssl_context(config.tls_ca)
    assert context.verify_mode == ssl.CERT_REQUIRED and not context.check_hostname
    # the lab's CA and nothing else: not the system's trust store
    assert [dict(x[0] for x in c["subject"])["commonName"] for c in context.get_ca_certs()] == [
        "ece573-prj04 lab CA"]
    assert load({"TOPIC": "t"}).tls_ca is None


@pytest.mark.parametrize("content, message", [
    (None, r"^writer: CASSANDRA_TLS_CA '.*/ca\.pem': no such file \(the CA's PEM file\)$"),
    ("not a certificate\n", r"^writer: CASSANDRA_TLS_CA '.*/ca\.pem' is not a readable PEM certificate: .*NO_CERT"),
])
def test_a_bad_tls_ca_is_one_line(tmp_path, content, message):
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=message) as err:
        load({"TOPIC": "t", "CASSANDRA_TLS_CA": str(path)})
    assert "\n" not in str(err.value)


def test_a_bad_tls_ca_stops_the_writer_with_exit_2_before_any_connection(tmp_path):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "writer"], capture_output=True, text=True, timeout=60,
                            env={"TOPIC": "t", "CASSANDRA_TLS_CA": str(tmp_path / "missing.pem"), "HTTP_PORT": "0",
                                 "PATH": "/usr/bin:/bin"}, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"writer: CASSANDRA_TLS_CA '{tmp_path / 'missing.pem'}': no such file (the CA's PEM file)"]
