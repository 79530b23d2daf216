"""``python -m writer`` as a real subprocess, without Cassandra: bad input and an unreachable cluster."""

import signal

import pytest

CASES = [
    ({}, "writer: TOPIC is required (the topic this writer appends to), e.g. TOPIC=test"),
    ({"TOPIC": "t", "CONSISTENCY": "FOO"},
     "writer: CONSISTENCY must be one of ONE, TWO, THREE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM, EACH_QUORUM, "
     "got 'FOO'"),
    ({"TOPIC": "t", "CASSANDRA_SEEDS": "a:b"}, "writer: CASSANDRA_SEEDS entry 'a:b' has a bad port (1-65535)"),
    ({"TOPIC": "t", "CASSANDRA_PORT": "0"}, "writer: CASSANDRA_PORT must be between 1 and 65535, got 0"),
    ({"TOPIC": "t", "REPLICATION_FACTOR": "three"}, "writer: REPLICATION_FACTOR must be an integer, got 'three'"),
    ({"TOPIC": "t", "KEYSPACE": "a-b"}, "writer: KEYSPACE must be a CQL identifier (a letter, then letters, "
                                        "digits or _), got 'a-b'"),
    ({"TOPIC": "t", "CASSANDRA_PASSWORD": "p"},
     "writer: CASSANDRA_USERNAME and CASSANDRA_PASSWORD must be set together"),
    ({"TOPIC": "t", "WRITER_IN_FLIGHT": "0"}, "writer: WRITER_IN_FLIGHT must be between 1 and 10000, got 0"),
    ({"TOPIC": "t", "WRITER_RATE": "-1"}, "writer: WRITER_RATE must be a finite number >= 0.001, got -1"),
    ({"TOPIC": "t", "HTTP_PORT": "http"}, "writer: HTTP_PORT must be an integer, got 'http'"),
]


@pytest.mark.parametrize("env, message", CASES, ids=[m.split()[1] for _, m in CASES])
def test_config_error_exits_2_with_one_line(writers, monkeypatch, env, message):
    for name in ("TOPIC", "CONSISTENCY", "CASSANDRA_SEEDS"):
        monkeypatch.delenv(name, raising=False)
    writer = writers(env)
    assert writer.wait(30) == 2
    assert writer.lines == [message]


def test_unreachable_cluster_is_retried_with_backoff_then_sigterm_exits_0(writers):
    # Port 1 on localhost refuses at once: every attempt fails fast, so only the backoff spaces them.
    writer = writers({"TOPIC": "t", "CASSANDRA_SEEDS": "127.0.0.1:1", "WRITER_CONNECT_TIMEOUT": "1"})
    writer.wait_for(r"Connecting cluster at 127\.0\.0\.1:1 with consistency QUORUM for topic t", 20)
    writer.wait_for(r"connecting to Cassandra failed \(attempt 3: NoHostAvailable", 30)
    assert writer.proc.poll() is None, "the writer gave up instead of retrying"
    delays = [float(x) for x in __import__("re").findall(r"retrying in ([\d.]+) s", writer.output)]
    assert delays[0] <= 0.5 and max(delays) <= 1.0, delays  # 0.5 s doubling, capped at 1 s, jittered down
    assert "Traceback" not in writer.output
    writer.proc.send_signal(signal.SIGTERM)
    assert writer.wait(10) == 0


def test_rejected_credentials_are_fatal_not_retried():
    from cassandra import AuthenticationFailed
    from cassandra.cluster import NoHostAvailable

    from writer.__main__ import _check_fatal, _Fatal

    with pytest.raises(_Fatal, match=r"^writer: Cassandra rejected CASSANDRA_USERNAME/CASSANDRA_PASSWORD"):
        _check_fatal(NoHostAvailable("no", {"10.0.0.1:9042": AuthenticationFailed("Provided username is wrong")}))
    _check_fatal(NoHostAvailable("no", {"10.0.0.1:9042": ConnectionRefusedError(111, "refused")}))  # retried
    _check_fatal(NoHostAvailable("no", {}))
