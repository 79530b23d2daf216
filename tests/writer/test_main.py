"""``python -m writer`` as a real subprocess, without Cassandra: bad input and an unreachable cluster."""

import signal
import time

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
    ({"TOPIC": "t", "WRITER_RATE": "-1"}, "writer: WRITER_RATE must be a number between 0.001 and 1e+07, got -1"),
    ({"TOPIC": "t", "HTTP_PORT": "http"}, "writer: HTTP_PORT must be an integer, got 'http'"),
    ({"TOPIC": "t", "WRITER_MODE": "naive"}, "writer: WRITER_MODE must be one of robust, seed, got 'naive'"),
    ({"TOPIC": "t", "WRITER_MAXSEQS": "5"}, "writer: unknown variable WRITER_MAXSEQS; did you mean WRITER_MAX_SEQS?"),
    ({"TOPIC": "t", "WRITER_FAST": "5"}, "writer: unknown variable WRITER_FAST; known WRITER_* variables: "
     "WRITER_BATCH_SIZE, WRITER_CHECKPOINT_INTERVAL, WRITER_CONNECT_TIMEOUT, WRITER_IN_FLIGHT, WRITER_MAX_BACKOFF, "
     "WRITER_MAX_SEQS, WRITER_MODE, WRITER_RATE, WRITER_REQUEST_TIMEOUT, WRITER_RESOLVE_AFTER, WRITER_RESUME, "
     "WRITER_STARTUP_BUDGET, WRITER_STOP_TIMEOUT, WRITER_UNHEALTHY_AFTER, WRITER_UNREADY_AFTER"),
    # Without the check the writer would connect to 127.0.0.1 and retry forever behind a green /healthz.
    ({"TOPIC": "t", "CASANDRA_SEEDS": "cassandra-service"},
     "writer: unknown variable CASANDRA_SEEDS; did you mean CASSANDRA_SEEDS?"),
    ({"TOPIC": "t\nfake line"}, "writer: TOPIC must not contain control characters (it has '\\n' at position 1); "
                                "use letters, digits and punctuation"),
    ({"TOPIC": "t", "CONSISTENCY": ""}, "writer: CONSISTENCY is set but empty; use one of ONE, TWO, THREE, QUORUM, "
     "ALL, LOCAL_ONE, LOCAL_QUORUM, EACH_QUORUM (or unset it for QUORUM)"),
    ({"TOPIC": "t", "CASSANDRA_SEEDS": "999.999.999.999"},
     "writer: CASSANDRA_SEEDS entry '999.999.999.999' is not a valid IPv4 address (four numbers 0-255)"),
    ({"TOPIC": "t", "WRITER_CONNECT_TIMEOUT": "1e300"},
     "writer: WRITER_CONNECT_TIMEOUT must be a number between 0.1 and 120, got 1e300"),
]


@pytest.mark.parametrize("env, message", CASES, ids=[f"{i}-{m.split()[1]}" for i, (_, m) in enumerate(CASES)])
def test_config_error_exits_2_with_one_line(writers, monkeypatch, env, message):
    for name in ("TOPIC", "CONSISTENCY", "CASSANDRA_SEEDS", "WRITER_MODE"):
        monkeypatch.delenv(name, raising=False)
    writer = writers(env)
    assert writer.wait(30) == 2
    assert writer.lines == [message]


def test_unreachable_cluster_is_retried_quietly_then_sigterm_exits_0(writers):
    # Port 1 on localhost refuses at once: every attempt fails fast, so only the backoff spaces them.
    writer = writers({"TOPIC": "t", "CASSANDRA_SEEDS": "127.0.0.1:1", "WRITER_CONNECT_TIMEOUT": "1"})
    writer.wait_for(r"Connecting cluster at 127\.0\.0\.1:1 with consistency QUORUM for topic t", 20)
    line = writer.wait_for(r"connecting to Cassandra failed \(.*", 30).group(0)
    assert line == ("connecting to Cassandra failed (NoHostAvailable: Unable to connect to any servers (127.0.0.1:1: "
                    "ConnectionRefusedError: [Errno 111] Tried connecting to [('127.0.0.1', 1)]. Last error: "
                    "Connection refused)); retrying with backoff up to 1 s, a line every 30 s while it fails")
    time.sleep(5)  # about 6 more attempts at 0.5-1 s each: the old writer logged a line for every one
    assert writer.proc.poll() is None, "the writer gave up instead of retrying"
    assert len(writer.lines) == 2, writer.output
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


@pytest.mark.parametrize("message", [
    # Cassandra 5.0's words when the roles table is short of replicas (all pods restarting, one back so far)
    'Failed to authenticate to 10.0.0.1:9042: Error from server: code=0100 [Bad credentials] message="Unable to '
    'perform authentication: Cannot achieve consistency level LOCAL_QUORUM"',
    "Failed to authenticate to 10.0.0.1:9042: Operation timed out - received only 0 responses.",
])
def test_a_login_cassandra_could_not_check_is_an_outage_not_bad_credentials(message):
    from cassandra import AuthenticationFailed
    from cassandra.cluster import NoHostAvailable

    from writer.__main__ import _check_fatal, _Fatal

    _check_fatal(NoHostAvailable("no", {"10.0.0.1:9042": AuthenticationFailed(message)}))  # returns: retried
    _check_fatal(AuthenticationFailed(message))
    with pytest.raises(_Fatal, match="^writer: Cassandra rejected"):  # a wrong password stays permanent
        _check_fatal(NoHostAvailable("no", {"10.0.0.1:9042": AuthenticationFailed(
            'Error from server: code=0100 [Bad credentials] message="Provided username writer and/or password '
            'are incorrect"')}))


@pytest.mark.parametrize("errors", [
    ["10.0.0.1:9042", "10.0.0.2:9042"],  # Session.__init__ could open no pool (e.g. a wrong CASSANDRA_DC)
    [ConnectionRefusedError(111, "refused")],
    ("10.0.0.1",),
    None,
    "not even a container",
], ids=["list-of-addresses", "list-of-errors", "tuple", "none", "str"])
def test_no_host_available_of_any_shape_is_an_outage_not_a_traceback(errors):
    from cassandra.cluster import NoHostAvailable

    from writer.__main__ import _check_fatal

    _check_fatal(NoHostAvailable("Unable to connect to any servers", errors))  # returns: retried


def test_no_host_available_whose_every_host_refused_the_login_is_permanent():
    from cassandra import AuthenticationFailed
    from cassandra.cluster import NoHostAvailable

    from writer.__main__ import _check_fatal, _Fatal

    with pytest.raises(_Fatal, match="^writer: Cassandra rejected"):
        _check_fatal(NoHostAvailable("no", [AuthenticationFailed("bad"), AuthenticationFailed("bad")]))


@pytest.mark.parametrize("make, line", [
    (lambda: __import__("cassandra").InvalidRequest("Key length of 70000 is longer than maximum of 65535"),
     "writer: Cassandra refused a request as invalid (check TOPIC, KEYSPACE, WRITER_BATCH_SIZE) while x"),
    (lambda: __import__("cassandra.protocol").protocol.SyntaxException(0x2000, "line 1:16 no viable alternative", None),
     "writer: Cassandra refused a statement as invalid CQL (check KEYSPACE: a reserved word?) while x"),
    (lambda: __import__("cassandra").Unauthorized("User w has no MODIFY permission"),
     "writer: the Cassandra role of CASSANDRA_USERNAME lacks a permission while x"),
    (lambda: __import__("cassandra.protocol").protocol.ConfigurationException(0x2300, "Invalid replication", None),
     "writer: Cassandra refused the schema (check KEYSPACE and REPLICATION_FACTOR) while x"),
    (lambda: OverflowError("timeout doesn't fit into C timeval"), "writer: a value is out of range while x"),
    # What BoundStatement.bind raises for a seq beyond the int column (struct.error, re-raised as TypeError).
    (lambda: TypeError('Received an argument of invalid type for column "seq". Expected: <class '
                       "'cassandra.cqltypes.Int32Type'>, Got: <class 'int'>; ('i' format requires -2147483648 <= "
                       "number <= 2147483647)"),
     "writer: a value is out of range while x"),
], ids=["invalid", "syntax", "unauthorized", "configuration", "overflow", "bind"])
def test_each_permanent_error_gives_its_line(make, line):
    from writer.__main__ import _check_fatal, _Fatal

    with pytest.raises(_Fatal) as info:
        _check_fatal(make(), "x")
    assert str(info.value).startswith(line) and "\n" not in str(info.value)


#: What Cassandra 5.0 answers a write while a replica's disk is over data_disk_usage_percentage_fail_threshold.
GUARDRAIL_REFUSAL = ('Error from server: code=2200 [Invalid query] message="Guardrail replica_disk_usage violated: '
                     'Write request failed because disk usage exceeds failure threshold"')


@pytest.mark.parametrize("make", [
    lambda: __import__("cassandra").Unavailable("Cannot achieve consistency level QUORUM"),
    lambda: __import__("cassandra").WriteTimeout("timed out", write_type=0),
    lambda: __import__("cassandra").ReadTimeout("timed out"),
    lambda: __import__("cassandra").OperationTimedOut({"10.0.0.1": "Client request timeout"}),
    lambda: ConnectionRefusedError(111, "Connection refused"),
    lambda: __import__("writer.contact_points").contact_points.UnresolvableSeeds(
        "no seed resolves: cassandra-service (no name)"),
    # system_auth's replicas short while the ring comes back: Cassandra could not *check*, it did not refuse.
    lambda: __import__("cassandra").Unauthorized(
        'Error from server: code=2100 [Unauthorized] message="Unable to perform authorization of permissions: '
        'Cannot achieve consistency level LOCAL_QUORUM"'),
    lambda: __import__("cassandra").Unauthorized(
        'Error from server: code=2100 [Unauthorized] message="Unable to perform authorization of super-user '
        'permission: Cannot achieve consistency level LOCAL_ONE"'),
    lambda: __import__("cassandra.cluster").cluster.NoHostAvailable("Unable to connect to any servers", {
        "10.244.1.5:9042": __import__("cassandra").AuthenticationFailed(
            'Failed to authenticate to 10.244.1.5:9042: Error from server: code=0100 [Bad credentials] '
            'message="Unable to perform authentication: Cannot achieve consistency level LOCAL_QUORUM"')}),
    # A replica's disk over the guardrail's fail threshold: an InvalidRequest, but the request is fine.
    lambda: __import__("cassandra").InvalidRequest(GUARDRAIL_REFUSAL),
], ids=["unavailable", "write-timeout", "read-timeout", "operation-timed-out", "refused", "unresolvable",
        "authorization-unavailable", "superuser-check-unavailable", "authentication-unavailable", "disk-guardrail"])
def test_transient_errors_are_retried(make):
    from writer.__main__ import _check_fatal

    _check_fatal(make(), "x")


def test_writer_mode_seed_dispatches_before_any_validation(monkeypatch):
    import writer.__main__ as main_mod

    seen = []
    fake = type(__import__("sys"))("writer.seed")
    fake.main = lambda env: seen.append(dict(env)) or 7
    monkeypatch.setitem(__import__("sys").modules, "writer.seed", fake)
    monkeypatch.setattr(__import__("writer"), "seed", fake, raising=False)
    env = {"WRITER_MODE": " Seed ", "WRITER_WHATEVER": "1"}  # robust mode would refuse the unknown name
    assert main_mod.main(env) == 7
    assert seen == [env]


def test_robust_mode_accepts_and_ignores_writer_resume():
    from writer.config import load

    assert load({"TOPIC": "t", "WRITER_MODE": "robust", "WRITER_RESUME": "false"}).topic == "t"


def test_an_unresolvable_seed_is_named_in_the_retry_line(writers):
    writer = writers({"TOPIC": "t", "CASSANDRA_SEEDS": "no-such-seed.invalid", "WRITER_CONNECT_TIMEOUT": "1"})
    line = writer.wait_for(r"connecting to Cassandra failed \(.*", 30).group(0)
    assert "no-such-seed.invalid" in line and "UnresolvableSeeds" in line
    assert writer.proc.poll() is None
    assert writer.terminate(10) == 0
    assert "Traceback" not in writer.output


def test_cassandra_answered_sees_server_answers_also_inside_no_host_available():
    from cassandra import ConsistencyLevel, OperationTimedOut, Unavailable
    from cassandra.cluster import NoHostAvailable

    from writer import errors

    unavailable = Unavailable("Cannot achieve consistency level QUORUM", consistency=ConsistencyLevel.QUORUM,
                              required_replicas=2, alive_replicas=1)
    assert errors.cassandra_answered(unavailable)
    assert errors.cassandra_answered(NoHostAvailable("x", {"10.0.0.1:9042": unavailable}))
    assert not errors.cassandra_answered(NoHostAvailable("x", {"10.0.0.1:9042": ConnectionRefusedError(111)}))
    assert not errors.cassandra_answered(NoHostAvailable("x", ["10.0.0.1"]))
    assert not errors.cassandra_answered(OperationTimedOut("no answer"))


def test_the_disk_guardrails_refusal_is_an_answer_and_named():
    """Cassandra refusing a write for its disk answered: /healthz stays green (a restart cannot free space)."""
    from cassandra import InvalidRequest
    from cassandra.cluster import NoHostAvailable

    from writer import errors

    refusal = InvalidRequest(GUARDRAIL_REFUSAL)
    assert errors.disk_full(refusal) and errors.cassandra_answered(refusal)
    assert errors.disk_full(NoHostAvailable("x", {"10.0.0.1:9042": refusal}))
    assert errors.permanent_cause(refusal) is None
    assert not errors.disk_full(InvalidRequest("Key length of 70000 is longer than maximum of 65535"))
