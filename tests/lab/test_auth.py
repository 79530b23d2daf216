"""lab.auth: the Secret made once and never shown, the roles made through cqlsh's stdin, least privilege."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from invoke import Result

from lab import auth, manifests
from lab.cassandra import Cassandra
from lab.errors import LabError
from lab.kubectl import Kubectl
from lab.runner import Runner
from tests.lab.labfakes import FakeCtx, lab_secret_json

ROOT = Path(__file__).resolve().parents[2]
NOT_FOUND = Result(stdout="", stderr='Error from server (NotFound): secrets "cassandra-auth" not found', exited=1)


class SecretCapturingCtx(FakeCtx):
    """Reads the files `kubectl create secret --from-file` names, at the moment it runs (they vanish after)."""

    def __init__(self, rules=None):
        super().__init__(rules)
        self.files: dict[str, str] = {}
        self.modes: dict[str, int] = {}

    def run(self, command, **kwargs):
        if "create secret" in command:
            for path in re.findall(r"--from-file=(\S+)", command):
                self.files[Path(path).name] = Path(path).read_text()
                self.modes[Path(path).name] = Path(path).stat().st_mode & 0o777
        return super().run(command, **kwargs)


def test_a_missing_secret_is_created_from_private_files_and_no_password_reaches_a_command_line(capsys):
    ctx = SecretCapturingCtx([("get secret cassandra-auth", NOT_FOUND), ("create secret generic", FakeCtx.ANY_OK)])
    passwords = auth.ensure_secret(Runner(ctx), Kubectl())
    [create] = ctx.matching("create secret generic cassandra-auth")
    assert set(ctx.files) == {"admin-username", "admin-password", "writer-username", "writer-password",
                              "admin-credentials", "writer-credentials"}
    assert set(ctx.modes.values()) == {0o600}
    assert ctx.files["admin-password"] == passwords.admin and ctx.files["writer-password"] == passwords.writer
    assert (
        ctx.files["writer-credentials"]
        == f"[PlainTextAuthProvider]\nusername = writer\npassword = {passwords.writer}\n"
    )
    assert len(passwords.admin) >= 32 and passwords.admin != passwords.writer
    shown = "\n".join(ctx.commands) + capsys.readouterr().err + repr(passwords)
    assert passwords.admin not in shown and passwords.writer not in shown
    assert not Path(re.search(r"--from-file=(\S+)", create).group(1)).exists(), "the temporary files must be gone"


def test_an_existing_secret_is_read_and_never_overwritten():
    ctx = FakeCtx([("get secret cassandra-auth", lab_secret_json("a-pw", "w-pw"))])
    passwords = auth.ensure_secret(Runner(ctx), Kubectl())
    assert (passwords.admin, passwords.writer) == ("a-pw", "w-pw")
    assert ctx.matching("create secret") == []


def test_a_secret_created_meanwhile_by_another_deploy_wins():
    ctx = FakeCtx([("get secret cassandra-auth", [NOT_FOUND, (lab_secret_json("theirs", "theirs-w"), 0)]),
                   ("create secret", Result(stdout="", stderr="Error from server (AlreadyExists): ...", exited=1))])
    assert auth.ensure_secret(Runner(ctx), Kubectl()).admin == "theirs"


def test_a_secret_without_passwords_is_one_clear_error():
    ctx = FakeCtx([("get secret cassandra-auth", '{"kind": "Secret", "data": {}}')])
    with pytest.raises(LabError, match=r"Secret cassandra-auth lacks admin-password or writer-password; delete it"):
        auth.ensure_secret(Runner(ctx), Kubectl())


def test_the_writer_role_may_only_select_and_modify_its_two_tables_and_the_default_login_goes():
    script = auth.roles_script(auth.Passwords(admin="A", writer="W"))
    grants = re.findall(r"GRANT (\w+) ON (.+?) TO (\w+);", script)
    assert grants == [("SELECT", "TABLE ece573.prj04", "writer"), ("MODIFY", "TABLE ece573.prj04", "writer"),
                      ("SELECT", "TABLE ece573.prj04_last_seq", "writer"),
                      ("MODIFY", "TABLE ece573.prj04_last_seq", "writer")]
    # A lab deployed before keeps no keyspace-wide grant (a future table would be the writer's too).
    assert re.findall(r"REVOKE (\w+) ON (.+?) FROM (\w+);", script) == [
        ("SELECT", "KEYSPACE ece573", "writer"), ("MODIFY", "KEYSPACE ece573", "writer")]
    assert script.index("CREATE ROLE IF NOT EXISTS writer") < script.index("REVOKE")
    assert "ALTER ROLE cassandra WITH SUPERUSER = false AND LOGIN = false" in script
    assert "CREATE ROLE IF NOT EXISTS writer WITH LOGIN = true AND PASSWORD = 'W'" in script
    assert "SUPERUSER = true" not in script.split("CREATE ROLE IF NOT EXISTS writer")[1]
    assert "'replication_factor': 3" in script.split("system_auth")[1].split(";")[0]


def test_the_bootstrap_disables_the_builtin_login_in_the_session_that_makes_lab_admin():
    """Not minutes later in the roles script: a roles script that then fails (no credentials file in a pod
    started before the Secret) used to leave cassandra/cassandra working through every re-deploy."""
    script = auth.bootstrap_script(auth.Passwords(admin="A", writer="W"))
    statements = [line for line in script.splitlines() if line]
    assert statements[0] == ("CREATE ROLE IF NOT EXISTS lab_admin WITH SUPERUSER = true AND LOGIN = true "
                             "AND PASSWORD = 'A';")
    # A role may not change its own superuser status: the bootstrap takes the login and the password only.
    assert re.fullmatch(r"ALTER ROLE cassandra WITH LOGIN = false AND PASSWORD = '[\w-]{32}';", statements[1])
    # system_auth replicated last: the built-in role is written at QUORUM, which RF 3 on one node cannot reach.
    assert statements[2].startswith("ALTER KEYSPACE system_auth") and "'replication_factor': 3" in statements[2]
    assert len(statements) == 3
    assert auth.bootstrap_script(auth.Passwords(admin="A", writer="W")) != script  # a new throwaway each time


def test_a_secret_change_changes_every_pod_template_so_applying_rolls_the_pods():
    docs = manifests.load_all(ROOT / "cassandra.yml") + manifests.load_all(ROOT / "writer.yml")
    one = auth.with_secret_checksum(docs, auth.Passwords(admin="a1", writer="w1"))
    other = auth.with_secret_checksum(docs, auth.Passwords(admin="a1", writer="w2"))

    def checksums(rendered):
        return {d["kind"]: d["spec"]["template"]["metadata"]["annotations"][auth.CHECKSUM_ANNOTATION]
                for d in rendered if d["kind"] in ("StatefulSet", "Deployment")}

    assert set(checksums(one)) == {"StatefulSet", "Deployment"}
    assert len(set(checksums(one).values())) == 1 and re.fullmatch(r"[0-9a-f]{64}", checksums(one)["StatefulSet"])
    assert checksums(one) != checksums(other)
    assert checksums(one) == checksums(auth.with_secret_checksum(docs, auth.Passwords(admin="a1", writer="w1")))
    assert "a1" not in str(checksums(one)) and "w1" not in str(checksums(one))
    # Auth off: no Secret, no annotation, and the checked-in documents are left as they were.
    assert auth.with_secret_checksum(docs, None) == docs
    assert all("annotations" not in (d.get("spec", {}).get("template", {}).get("metadata") or {}) for d in docs)


def _cassandra(ctx) -> Cassandra:
    return Cassandra(Runner(ctx, echo=False), Kubectl())


def test_roles_are_bootstrapped_through_stdin_once_the_builtin_login_answers():
    passwords = auth.Passwords(admin="admin-secret-pw", writer="writer-secret-pw")
    failed = ("<stdin>:1:AuthenticationFailed('Failed to authenticate to 10.0.0.1')", 1)
    ctx = FakeCtx([
        # lab_admin cannot log in yet; the built-in superuser is not created on a new ring for a while
        ("cqlsh --request-timeout=30$", failed),
        (r"cqlsh --request-timeout=120 -u cassandra", [failed, ("", 0)]),
        (r"nodetool repair --full system_auth$", ("", 0)),
        (r"cqlsh --request-timeout=120$", ("", 0)),  # then lab_admin's own script runs
    ])
    auth.ensure_roles(_cassandra(ctx), passwords, timeout=60, poll=0)
    bootstraps = [i for i, c in enumerate(ctx.commands) if "-u cassandra" in c]
    assert len(bootstraps) == 2, "the bootstrap is retried while the built-in login fails"
    inputs = [kw["in_stream"].getvalue() for kw in ctx.kwargs if kw.get("in_stream")]
    assert any("CREATE ROLE IF NOT EXISTS lab_admin" in text and "admin-secret-pw" in text for text in inputs)
    assert any("GRANT MODIFY ON TABLE ece573.prj04_last_seq TO writer" in text for text in inputs)
    assert all("--stdin" in c for c in ctx.matching("cqlsh"))
    repair = next(i for i, c in enumerate(ctx.commands) if "nodetool repair" in c)
    assert bootstraps[-1] < repair < len(ctx.commands) - 1  # system_auth repaired before lab_admin's script
    joined = "\n".join(ctx.commands)
    assert "admin-secret-pw" not in joined and "writer-secret-pw" not in joined


def test_the_builtin_login_is_not_tried_while_cql_is_closed():
    """While cassandra-0 starts, each poll is one cqlsh run: the bootstrap waits for CQL to answer."""
    refused = ("Connection error: ('Unable to connect to any servers', {'127.0.0.1:9042': "
               "ConnectionRefusedError(111, \"Tried connecting to [('127.0.0.1', 9042)]. Last error: Connection "
               "refused\")})", 1)
    no_login = ("Connection error: ('Unable to connect to any servers', {'127.0.0.1:9042': "
                "AuthenticationFailed('Remote end requires authentication')})", 1)
    ctx = FakeCtx([("cqlsh --request-timeout=30$", [refused, refused, no_login]),
                   (r"cqlsh --request-timeout=120 -u cassandra", ("", 0))])
    auth.ensure_admin(_cassandra(ctx), auth.Passwords(admin="a", writer="w"), timeout=60, poll=0)
    tries = ["builtin" if "-u cassandra" in c else "admin" for c in ctx.matching("cqlsh")]
    assert tries == ["admin", "admin", "admin", "builtin"]


#: The repair of system_auth every ensure_roles runs before lab_admin's script.
REPAIR = (r"nodetool repair --full system_auth$", ("", 0))


def test_roles_skip_the_bootstrap_when_lab_admin_logs_in():
    ctx = FakeCtx([("cqlsh", ("\n role\n------\n writer\n\n(1 rows)\n", 0)), REPAIR])
    auth.ensure_roles(_cassandra(ctx), auth.Passwords(admin="a", writer="w"), timeout=5, poll=0)
    assert ctx.matching("-u cassandra") == []
    assert len(ctx.matching("cqlsh")) == 2  # the login check, then the roles script


def test_no_login_at_all_is_one_line_that_says_what_to_do():
    failed = ("Connection error: ('Unable to connect to any servers', {AuthenticationFailed(...)})", 1)
    ctx = FakeCtx([("cqlsh", failed)])
    with pytest.raises(LabError, match=r"cannot log in to Cassandra as lab_admin or as the built-in superuser "
                                       r"within 0s \(last try: Connection error: .*AuthenticationFailed.*\); if "
                                       r"Secret cassandra-auth was recreated"):
        auth.ensure_roles(_cassandra(ctx), auth.Passwords(admin="a", writer="w"), timeout=0, poll=0)


def test_a_refused_roles_statement_is_reported_with_cassandras_words():
    ctx = FakeCtx([("cqlsh --request-timeout=30$", ("", 0)), (r"nodetool repair --full system_auth$", ("", 0)),
                   ("cqlsh --request-timeout=120$", ("<stdin>:7:Unauthorized: Error from server: code=2100", 0))])
    with pytest.raises(LabError, match=r"setting up roles and schema as lab_admin failed: <stdin>:7:Unauthorized"):
        auth.ensure_roles(_cassandra(ctx), auth.Passwords(admin="a", writer="w"), timeout=5, poll=0)


NOT_YET = ('<stdin>:3:Unauthorized: Error from server: code=2100 [Unauthorized] message="Only superusers are '
           'allowed to alter superuser status"', 0)


def test_a_role_read_before_the_repair_is_asked_again_then_reported():
    """lab_admin seen as no superuser by a node whose replica lacked its row (before system_auth's repair): the
    roles script runs again, a few times, then the error is Cassandra's own words."""
    ctx = FakeCtx([("cqlsh --request-timeout=30$", ("", 0)), REPAIR,
                   ("cqlsh --request-timeout=120$", [NOT_YET, ("", 0)])])
    auth.ensure_roles(_cassandra(ctx), auth.Passwords(admin="a", writer="w"), timeout=5, poll=0)
    assert len(ctx.matching("cqlsh --request-timeout=120$")) == 2
    ctx = FakeCtx([("cqlsh --request-timeout=30$", ("", 0)), REPAIR, ("cqlsh --request-timeout=120$", NOT_YET)])
    with pytest.raises(LabError, match=r"as lab_admin failed: .*Only superusers are allowed"):
        auth.ensure_roles(_cassandra(ctx), auth.Passwords(admin="a", writer="w"), timeout=5, poll=0)
    assert len(ctx.matching("cqlsh --request-timeout=120$")) == auth.ROLES_TRIES


def test_dry_runs_create_nothing_and_say_what_they_would_do(capsys):
    ctx = FakeCtx()
    passwords = auth.ensure_secret(Runner(ctx, dry=True), Kubectl())
    auth.ensure_roles(Cassandra(Runner(ctx, dry=True), Kubectl()), passwords)
    assert ctx.commands == []
    assert "would create Secret cassandra-auth" in capsys.readouterr().err


# -- lab.cassandra.auth in the manifests ------------------------------------------------------------------

def _cassandra_env(docs) -> dict[str, str]:
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    container = next(c for c in sts["spec"]["template"]["spec"]["containers"] if c["name"] == "cassandra")
    return {e["name"]: e.get("value") for e in container["env"]}


def test_auth_off_renders_cassandras_own_defaults_and_keeps_every_other_option():
    from lab import manifests

    docs = manifests.load_all(Path(__file__).resolve().parents[2] / "cassandra.yml")
    on, off = _cassandra_env(auth.with_auth(docs, True)), _cassandra_env(auth.with_auth(docs, False))
    assert on == _cassandra_env(docs)  # cassandra.yml is written for auth on
    assert re.findall(r"settings\.(auth\w+)=(\w+)", off["JVM_OPTS"]) == [
        ("authenticator", "AllowAllAuthenticator"), ("authorizer", "AllowAllAuthorizer")]
    assert off["JVM_OPTS"].replace("AllowAllAuthenticator", "PasswordAuthenticator").replace(
        "AllowAllAuthorizer", "CassandraAuthorizer") == on["JVM_OPTS"]
    assert {k: v for k, v in off.items() if k != "JVM_OPTS"} == {k: v for k, v in on.items() if k != "JVM_OPTS"}


def test_status_says_whether_a_client_needs_a_login_as_deployed():
    from lab import manifests

    docs = manifests.load_all(Path(__file__).resolve().parents[2] / "cassandra.yml")
    on, off = (next(d for d in auth.with_auth(docs, mode) if d["kind"] == "StatefulSet") for mode in (True, False))
    assert auth.deployed_authenticator(on) == "PasswordAuthenticator"
    assert auth.deployed_authenticator(off) == "AllowAllAuthenticator"
    assert auth.deployed_authenticator(None) is None
    assert auth.describe("AllowAllAuthenticator").startswith(
        "Cassandra logins: off (AllowAllAuthenticator, lab.cassandra.auth off): any client connects without a login")
    assert auth.describe("PasswordAuthenticator").startswith("Cassandra logins: on (PasswordAuthenticator): the "
                                                             "writer logs in as writer from Secret cassandra-auth")
    assert auth.describe(None) == "Cassandra logins: unknown (no StatefulSet cassandra yet)"


def test_deploy_makes_lab_admin_before_waiting_for_the_ring_and_renders_the_secrets_checksum(project):
    """The built-in login goes as soon as cassandra-0 answers (before the minutes the other nodes take to join),
    and every pod template carries the Secret's checksum: pods started before the Secret existed are rolled."""
    import yaml

    from lab import state, workflow
    from tests.lab.labfakes import AUTH_RULES, DATA, LAB_ACTIONS, lab_ctx, make_lab

    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = lab_ctx([("get-contexts", "kind-kind\n"), ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
                   *AUTH_RULES], ok=LAB_ACTIONS)
    workflow.deploy(make_lab(project, ctx))
    steps = [c for c in ctx.commands if "rollout status statefulset" in c or "cqlsh" in c]
    assert "cqlsh" in steps[0] and "rollout status statefulset" in steps[1], steps
    expected = auth.secret_checksum(auth.Passwords(admin="admin-pw", writer="writer-pw"))
    rendered = project / ".cache/lab/rendered"
    templates = [d["spec"]["template"] for name in ("cassandra.yml", "writer.yml")
                 for d in yaml.safe_load_all((rendered / name).read_text())
                 if d["kind"] in ("StatefulSet", "Deployment")]
    assert len(templates) == 2
    assert all(t["metadata"]["annotations"][auth.CHECKSUM_ANNOTATION] == expected for t in templates)
