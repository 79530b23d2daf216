"""The writer on a Cassandra with logins on, as the lab runs it: a role with the lab's grants (SELECT and MODIFY on
its two tables only, lab.auth.writer_grants), the schema made beforehand by the operator. One node of its own
(the shared one has authentication off), configured the way cassandra.yml configures both images: Cassandra's
system-property overrides in JVM_OPTS."""

from __future__ import annotations

import re
import time

import pytest
from cassandra import Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster

from lab.auth import writer_grants
from tests.cassandra_nodes import SingleNode, wait_until
from tests.writer.support import SeedProcess, assert_no_gap, unique_topic

pytestmark = pytest.mark.slow

#: testcontainers' own JVM_OPTS (one node, token 0), plus what cassandra.yml adds for authentication.
AUTH_JVM_OPTS = ("-Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.initial_token=0 "
                 "-Dcassandra.config.allow_system_properties=true "
                 "-Dcassandra.settings.authenticator=PasswordAuthenticator "
                 "-Dcassandra.settings.authorizer=CassandraAuthorizer "
                 "-Dcassandra.settings.drop_truncate_table_enabled=false "
                 # Roles (who is superuser) cached for an hour, so the operator's session stays superuser while
                 # a test takes system_auth's quorum away; permissions keep their 2 s default and so are
                 # checked against system_auth again and again, as on the lab.
                 "-Dcassandra.settings.roles_validity=1h")
KS = "ece573"  # the seed writer's keyspace is fixed, as in writer.go
ROLE, PASSWORD = "writer_t", "w-Secret-4711"


def session_as(node: SingleNode, user: str, password: str):
    cluster = Cluster(node.contact_points, auth_provider=PlainTextAuthProvider(user, password), protocol_version=5)
    return cluster, cluster.connect()


#: What `invoke deploy` makes as the operator (lab/auth.py), on one node: the schema and the writer's role.
OPERATOR_SCHEMA = (
    f"CREATE KEYSPACE IF NOT EXISTS {KS} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}",
    f"CREATE TABLE IF NOT EXISTS {KS}.prj04 (topic text, seq int, value double, PRIMARY KEY (topic, seq))",
    f"CREATE TABLE IF NOT EXISTS {KS}.prj04_last_seq (topic text, seq int, PRIMARY KEY (topic))",
    f"CREATE ROLE {ROLE} WITH LOGIN = true AND PASSWORD = '{PASSWORD}'",
)


class AuthNode(SingleNode):
    """A single node with PasswordAuthenticator: CQL counts as up once the built-in superuser can log in."""

    def wait_cql(self, timeout: float = 120) -> None:
        def superuser_answers() -> bool:
            cluster, session = session_as(self, "cassandra", "cassandra")
            try:
                return session.execute("SELECT role FROM system_auth.roles WHERE role = 'cassandra'").one() is not None
            finally:
                cluster.shutdown()
        wait_until(superuser_answers, timeout=timeout, what=f"a superuser login on {self.seeds}",
                   containers=[(self.name, self.container)], interval=2.0)


@pytest.fixture(scope="module")
def auth_node(cassandra_image):
    node = AuthNode(cassandra_image, env={"JVM_OPTS": AUTH_JVM_OPTS}).launch()
    cluster, admin = session_as(node, "cassandra", "cassandra")
    # What `invoke deploy` does as the operator (lab/auth.py), on one node: the schema, a least-privilege role.
    for statement in (
        *OPERATOR_SCHEMA,
        f"CREATE TABLE IF NOT EXISTS {KS}.other (k int PRIMARY KEY)",  # a table that is not the writer's
        f"GRANT SELECT ON KEYSPACE {KS} TO {ROLE}",  # as deploys before per-table grants left it
        f"GRANT MODIFY ON KEYSPACE {KS} TO {ROLE}",
        *writer_grants(KS, ROLE),  # what deploy runs: the two keyspace-wide grants revoked
        *writer_grants(KS, ROLE),  # and again, as every deploy does: a revoke of what is not held is a no-op
        "CREATE ROLE reader_t WITH LOGIN = true AND PASSWORD = 'r-Secret'",
        f"GRANT SELECT ON KEYSPACE {KS} TO reader_t",
    ):
        admin.execute(statement)
    node.admin = admin
    yield node
    cluster.shutdown()
    node.remove()


def env_for(node, **extra) -> dict[str, str]:
    return {"CASSANDRA_SEEDS": node.seeds, "KEYSPACE": KS, "CONSISTENCY": "ONE", "TOPIC": unique_topic("auth"),
            "CASSANDRA_USERNAME": ROLE, "CASSANDRA_PASSWORD": PASSWORD, **extra}


def test_the_writer_role_writes_without_create_and_leaves_no_gap(writers, auth_node):
    env = env_for(auth_node, WRITER_MAX_SEQS="3000")
    writer = writers(env)
    assert writer.wait(120) == 0, writer.tail()
    assert f"Tables {KS}.prj04 and {KS}.prj04_last_seq ready." in writer.output
    assert assert_no_gap(auth_node.admin, KS, env["TOPIC"]) == 3000
    assert PASSWORD not in writer.output


def test_the_writer_role_cannot_drop_the_keyspace_or_make_roles(auth_node):
    cluster, session = session_as(auth_node, ROLE, PASSWORD)
    try:
        with pytest.raises(Unauthorized, match=r"has no DROP permission"):
            session.execute(f"DROP KEYSPACE {KS}")
        with pytest.raises(Unauthorized):
            session.execute("CREATE ROLE intruder WITH LOGIN = true AND PASSWORD = 'x'")
        with pytest.raises(Unauthorized):
            session.execute("SELECT * FROM system_auth.roles")
    finally:
        cluster.shutdown()
    assert auth_node.admin.execute(
        f"SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = '{KS}'"
    ).one()


def test_the_writer_role_may_not_truncate_or_touch_another_table(auth_node):
    """Least privilege by table: MODIFY and SELECT on prj04 and prj04_last_seq only. Cassandra's MODIFY includes
    TRUNCATE, so on the writer's own tables the guardrail (drop_truncate_table_enabled: false) refuses it."""
    from cassandra import InvalidRequest

    auth_node.admin.execute(f"INSERT INTO {KS}.other (k) VALUES (1)")
    cluster, session = session_as(auth_node, ROLE, PASSWORD)
    try:
        with pytest.raises(Unauthorized, match=r"has no MODIFY permission on <table ece573.other>"):
            session.execute(f"TRUNCATE {KS}.other")
        with pytest.raises(Unauthorized, match=r"has no MODIFY permission on <table ece573.other>"):
            session.execute(f"INSERT INTO {KS}.other (k) VALUES (2)")
        with pytest.raises(Unauthorized, match=r"has no SELECT permission on <table ece573.other>"):
            session.execute(f"SELECT * FROM {KS}.other")
        with pytest.raises(InvalidRequest, match=r"Guardrail drop_truncate_table_enabled violated"):
            session.execute(f"TRUNCATE {KS}.prj04")
        session.execute(f"INSERT INTO {KS}.prj04 (topic, seq, value) VALUES ('trunc-probe', 1, 0.5)")
    finally:
        cluster.shutdown()
    assert auth_node.admin.execute(f"SELECT count(*) FROM {KS}.other").one()[0] == 1
    assert auth_node.admin.execute(f"SELECT value FROM {KS}.prj04 WHERE topic = 'trunc-probe'").one()[0] == 0.5


@pytest.mark.parametrize("credentials, line", [
    ({"CASSANDRA_PASSWORD": "wrong-password"},
     r"^writer: Cassandra rejected CASSANDRA_USERNAME/CASSANDRA_PASSWORD while connecting to Cassandra "
     r"\(AuthenticationFailed: .*\)$"),
    ({"CASSANDRA_USERNAME": None, "CASSANDRA_PASSWORD": None},
     r"^writer: Cassandra rejected CASSANDRA_USERNAME/CASSANDRA_PASSWORD while connecting to Cassandra "
     r"\(AuthenticationFailed: .*\)$"),
    ({"CASSANDRA_USERNAME": "reader_t", "CASSANDRA_PASSWORD": "r-Secret"},
     r"^writer: the Cassandra role of CASSANDRA_USERNAME lacks a permission while .*\(Unauthorized: .*MODIFY.*\)$"),
], ids=["wrong-password", "no-credentials", "no-modify"])
def test_a_refused_login_or_permission_is_one_line_and_exit_2(writers, auth_node, credentials, line):
    env = {k: v for k, v in {**env_for(auth_node), **credentials}.items() if v is not None}
    writer = writers(env)
    code = writer.wait(90)
    assert code == 2, writer.tail()
    assert "Traceback" not in writer.output
    assert re.search(line, writer.lines[-1]), writer.tail()
    assert not any("retrying" in text for text in writer.lines), "a refused login was retried as if an outage"
    assert "wrong-password" not in writer.output and "r-Secret" not in writer.output


def test_a_writer_with_an_unknown_keyspace_cannot_create_it(writers, auth_node):
    writer = writers(env_for(auth_node, KEYSPACE="not_granted"))
    assert writer.wait(90) == 2, writer.tail()
    assert re.search(r"lacks a permission while creating the schema \(Unauthorized: .*CREATE", writer.lines[-1])


def test_the_seed_writer_runs_on_the_operators_schema_with_the_writer_role(auth_node):
    env = {"TOPIC": unique_topic("seed-auth"), "CONSISTENCY": "ONE", "CASSANDRA_SEEDS": auth_node.seeds,
           "CASSANDRA_USERNAME": ROLE, "CASSANDRA_PASSWORD": PASSWORD}
    seed = SeedProcess(env)
    try:
        seed.wait_for(r"inserted rows to seq 1000$", timeout=120)
        messages = seed.messages()
        assert messages[1:4] == [
            "Connected to cluster Test Cluster",
            f"Tables {KS}.prj04 and {KS}.prj04_last_seq ready.",
            f"{env['TOPIC']}: start from lastSeq=0",
        ], seed.tail()
    finally:
        seed.terminate()
    time.sleep(0.5)
    rows = auth_node.admin.execute(f"SELECT count(*) FROM {KS}.prj04 WHERE topic = %s", (env["TOPIC"],)).one()[0]
    assert rows >= 1000


def test_a_permission_check_cassandra_cannot_perform_is_an_outage_waited_out(writers, auth_node):
    """As on the lab when every Cassandra pod restarts: the first node back cannot read system_auth at its
    consistency level, and answers the writer's writes with "Unauthorized: Unable to perform authorization
    of permissions". That is an outage to wait out; an exit here would restart the pod for nothing.

    On one node, system_auth at replication factor 3 has the same effect: a QUORUM of its replicas (2) is
    never alive. The writer must keep retrying, say why, and carry on without a gap once it is back at 1."""
    env = env_for(auth_node, WRITER_MAX_SEQS="1000000", WRITER_REQUEST_TIMEOUT="2")
    writer = writers(env)
    writer.wait_for(r"inserted rows to seq 1000$", timeout=120)
    admin = auth_node.admin
    admin.execute("ALTER KEYSPACE system_auth WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
    try:
        # Each write needs MODIFY, checked again once the 2 s permissions cache expires: refused "Unauthorized".
        line = writer.wait_for(r"still retrying seq \d+ .*Unable to perform authorization", timeout=60).group(0)
        stuck_at = int(re.search(r"seq (\d+)", line).group(1))
        time.sleep(5)
        assert writer.proc.poll() is None, "the writer exited on an authorization Cassandra could not perform:\n" + \
            writer.tail()
    finally:
        admin.execute("ALTER KEYSPACE system_auth WITH replication = "
                      "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    writer.wait_for(rf"inserted rows to seq {(stuck_at // 1000 + 2) * 1000}$", timeout=120)
    assert writer.terminate(30) == 0, writer.tail()
    assert "Traceback" not in writer.output and "lacks a permission" not in writer.output
    assert assert_no_gap(admin, KS, env["TOPIC"]) >= stuck_at + 1000


# -- the tests' Go writer (tests/gowriter.py), as the assignment's writer meets a lab with logins ----------------

def test_the_go_writer_without_credentials_dies_on_cassandras_authentication_error(go_writers, auth_node):
    """What the assignment's writer meets on a lab with auth on: its first connection is refused, log.Fatalf."""
    writer = go_writers(auth_node, TOPIC=unique_topic("go-auth"), CONSISTENCY="ONE")
    assert writer.wait(90) == 1, writer.logs
    assert re.search(r"Cannot connect to cluster at \S+: .*authentication required "
                     r"\(using \"org\.apache\.cassandra\.auth\.PasswordAuthenticator\"\)\n$", writer.logs), writer.logs


def test_the_go_writer_reading_the_two_variables_writes_with_its_role(go_writers, auth_node):
    """The few lines a student adds (gocql.PasswordAuthenticator from CASSANDRA_USERNAME/CASSANDRA_PASSWORD): the
    writer role may not CREATE, so the schema the operator made is used as it is."""
    topic = unique_topic("go-auth")
    writer = go_writers(auth_node, TOPIC=topic, CONSISTENCY="ONE", CASSANDRA_USERNAME=ROLE, CASSANDRA_PASSWORD=PASSWORD)
    writer.wait_for(rf"{re.escape(topic)}: inserted rows to seq 1000", timeout=120)
    writer.stop()
    assert f"Tables {KS}.prj04 and {KS}.prj04_last_seq ready." in writer.logs
    assert assert_no_gap(auth_node.admin, KS, topic) >= 1000
    assert PASSWORD not in writer.logs


# -- the lab's bootstrap (lab/auth.py), as `invoke deploy` runs it on cassandra-0 -------------------------------

def test_the_labs_bootstrap_leaves_no_builtin_login_behind(cassandra_image):
    """The session that makes lab_admin takes the well-known login away at once: afterwards cassandra/cassandra
    is refused (on a node of its own: this one's built-in login is gone for good), lab_admin is a superuser."""
    from cassandra.cluster import NoHostAvailable

    from lab.auth import ADMIN, Passwords, bootstrap_script

    opts = AUTH_JVM_OPTS.replace(" -Dcassandra.settings.roles_validity=1h", "")  # Cassandra's own caching
    node = AuthNode(cassandra_image, env={"JVM_OPTS": opts}).launch()
    try:
        passwords = Passwords(admin="a-Secret-0815", writer="unused")
        cluster, builtin = session_as(node, "cassandra", "cassandra")
        try:
            for statement in filter(None, bootstrap_script(passwords, auth_replication=1).split(";\n")):
                builtin.execute(statement)
        finally:
            cluster.shutdown()

        def builtin_refused() -> bool:
            try:
                session_as(node, "cassandra", "cassandra")[0].shutdown()
            except NoHostAvailable as err:
                return "AuthenticationFailed" in str(err)
            return False
        # The old password may be served from Cassandra's 2 s credentials cache for a moment, no longer.
        wait_until(builtin_refused, timeout=10, what="the built-in login refused", interval=0.5)
        time.sleep(3)
        assert builtin_refused(), "the built-in login came back"
        cluster, admin = session_as(node, ADMIN, passwords.admin)
        try:
            row = admin.execute("SELECT is_superuser, can_login FROM system_auth.roles WHERE role = %s",
                                ("cassandra",)).one()
            assert (row.is_superuser, row.can_login) == (True, False)  # superuser status goes in the roles script
            assert admin.execute("SELECT is_superuser FROM system_auth.roles WHERE role = %s", (ADMIN,)).one()[0]
        finally:
            cluster.shutdown()
    finally:
        node.remove()
