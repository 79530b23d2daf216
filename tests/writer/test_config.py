"""writer.config: every variable parsed, every bad value one line naming the variable."""

import pytest

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
        "WRITER_MAX_BACKOFF": "1", "WRITER_STOP_TIMEOUT": "4",
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
    ({"WRITER_RATE": "0"}, "writer: WRITER_RATE must be a finite number >= 0.001, got 0"),
    ({"WRITER_RATE": "nan"}, "writer: WRITER_RATE must be a finite number"),
    ({"LOG_EVERY": "0"}, "writer: LOG_EVERY must be between 1 and"),
    ({"HTTP_PORT": "-5"}, "writer: HTTP_PORT must be between 0 and 65535, got -5"),
]


@pytest.mark.parametrize("env, message", BAD, ids=[m.split()[1] + "-" + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_values_give_one_line(env, message):
    env = {"TOPIC": "t", **env} if "TOPIC" not in env and env != {} else env
    with pytest.raises(ConfigError) as info:
        load(env)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)
