"""Who may touch the data: the lab's Secret of passwords, and the roles and schema made from it.

Cassandra runs with PasswordAuthenticator and CassandraAuthorizer (cassandra.yml), unless
``lab.cassandra.auth`` is off: then deploy renders Cassandra's own defaults, AllowAllAuthenticator and
AllowAllAuthorizer, as the assignment's cluster runs (``with_auth``), gives the writer no credentials, and
makes neither Secret nor roles (an existing Secret is kept: the roles it matches are still in system_auth
for when auth is on again). With auth on, ``invoke deploy`` creates the Secret ``cassandra-auth`` once,
with generated passwords, and never overwrites it; after the ring is up it makes, through cqlsh in
``cassandra-0``:

- ``lab_admin``, the operator's superuser (the tasks log in as it), replacing the well-known
  ``cassandra``/``cassandra`` login, which is then disabled;
- ``system_auth`` replicated to every node, so a login survives one node down;
- the writer's keyspace and tables (the operator's schema: the writer cannot CREATE);
- ``writer``, a role that may only SELECT and MODIFY the writer's two tables (``writer_grants``): no other
  table, present or future. (Cassandra's MODIFY includes TRUNCATE; cassandra.yml's guardrail
  ``drop_truncate_table_enabled: false`` refuses TRUNCATE and DROP TABLE to every role but a superuser.)

Passwords never appear on a command line (ours or the pod's), in a rendered manifest, a log or a report:
the Secret is created from a private temporary file, and CQL that carries a password goes to cqlsh on its
standard input. In the Cassandra pods an init container copies the Secret's cqlsh credentials files into
``$HOME/.cassandra`` (cqlsh insists on files its own user owns, mode 600), so ``cqlsh`` there logs in as
``lab_admin`` with no extra typing, and ``cqlsh --credentials ~/.cassandra/writer-credentials`` as the writer.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from lab import files, kubectl, manifests, names, progress
from lab.cassandra import KEYSPACE, Cassandra, nodetool_args, parse_cqlsh_table
from lab.config import VerifyGroup
from lab.errors import CommandError, LabError
from lab.kubectl import Kubectl
from lab.runner import Runner
from writer.schema import schema_statements

SECRET = "cassandra-auth"
ADMIN = "lab_admin"
WRITER = "writer"
#: Cassandra's built-in superuser on a new cluster; disabled once lab_admin exists.
DEFAULT_LOGIN = ("cassandra", "cassandra")
#: Where the init container of cassandra.yml puts the credentials files ($HOME is an emptyDir there).
WRITER_CREDENTIALS = "~/.cassandra/writer-credentials"

#: The pod-template annotation that carries secret_checksum: a changed Secret rolls the pods.
CHECKSUM_ANNOTATION = "ece573-prj04/cassandra-auth-checksum"

#: Replication of system_auth: every node of the 3-node ring holds every role.
AUTH_REPLICATION = 3

#: Cassandra's authenticator and authorizer for lab.cassandra.auth on and off (off: Cassandra's own defaults).
AUTHENTICATORS = {True: ("PasswordAuthenticator", "CassandraAuthorizer"),
                  False: ("AllowAllAuthenticator", "AllowAllAuthorizer")}
#: The writer's credentials in writer.yml (from the Secret): a writer that reads them may log in.
CREDENTIAL_VARS = ("CASSANDRA_USERNAME", "CASSANDRA_PASSWORD")
#: cassandra.yml sets both as Cassandra's system-property overrides in JVM_OPTS, which both images pass on.
_SETTING = re.compile(r"(-Dcassandra\.settings\.(authenticator|authorizer)=)(\S+)")


# -- the manifests -------------------------------------------------------------------------------------

def with_auth(docs: list[dict[str, Any]], on: bool) -> list[dict[str, Any]]:
    """cassandra.yml's objects with the authenticator and authorizer of ``on`` in the Cassandra container's
    JVM_OPTS (only where JVM_OPTS names them: the rest of the official image's environment stays as it is)."""
    authenticator, authorizer = AUTHENTICATORS[on]
    wanted = {"authenticator": authenticator, "authorizer": authorizer}
    docs = manifests.render(docs)  # a copy
    for doc in docs:
        for container in manifests.containers(doc):
            if container.get("name") != names.CASSANDRA_CONTAINER:
                continue
            for var in container.get("env", []) or []:
                if var.get("name") == "JVM_OPTS" and "value" in var:
                    var["value"] = _SETTING.sub(lambda m: m.group(1) + wanted[m.group(2)], var["value"])
    return docs


def secret_checksum(passwords: Passwords) -> str:
    """A digest of the Secret's content (not reversible to the passwords: they are 144 random bits each)."""
    content = "\n".join(f"{key}={value}" for key, value in sorted(secret_data(passwords).items()))
    return hashlib.sha256(content.encode()).hexdigest()


def with_secret_checksum(docs: list[dict[str, Any]], passwords: Passwords | None) -> list[dict[str, Any]]:
    """``docs`` with CHECKSUM_ANNOTATION on every workload's pod template when ``passwords`` is given (auth on).

    Pods read the Secret when they start (the writer's variables, Cassandra's cqlsh files); the annotation
    makes a Secret that appeared or changed since then a change of the pod template, so applying rolls the pods.
    Without it, a cassandra.yml applied by hand before the first deploy kept pods without the credentials files
    through every later deploy (the template deploy applied was identical)."""
    return manifests.with_annotation(docs, CHECKSUM_ANNOTATION, secret_checksum(passwords) if passwords else None)


def deployed_authenticator(statefulset: dict[str, Any] | None) -> str | None:
    """The authenticator the Cassandra StatefulSet (``kubectl get -o json``) runs with, None when unknown; a
    JVM_OPTS that names none runs Cassandra's default, AllowAllAuthenticator."""
    for container in manifests.containers(statefulset or {}):
        if container.get("name") == names.CASSANDRA_CONTAINER:
            opts = next((v.get("value", "") for v in container.get("env", []) or [] if v.get("name") == "JVM_OPTS"), "")
            found = {m.group(2): m.group(3) for m in _SETTING.finditer(opts or "")}
            return found.get("authenticator", AUTHENTICATORS[False][0])
    return None


def describe(authenticator: str | None) -> str:
    """One line for `invoke status` and deploy: whether a client needs a login."""
    if authenticator is None:
        return "Cassandra logins: unknown (no StatefulSet cassandra yet)"
    if authenticator.endswith(AUTHENTICATORS[False][0]):
        return (f"Cassandra logins: off ({authenticator}, lab.cassandra.auth off): any client connects without a "
                "login, as in the assignment; NetworkPolicies and restricted pods still apply")
    return (f"Cassandra logins: on ({authenticator}): the writer logs in as {WRITER} from Secret {SECRET} "
            f"({', '.join(CREDENTIAL_VARS)})")


def _replicate_auth(replication_factor: int = AUTH_REPLICATION) -> str:
    return (f"ALTER KEYSPACE system_auth WITH replication = "
            f"{{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}};\n")


@dataclass(frozen=True)
class Passwords:
    """The two generated passwords; ``repr`` never shows them."""

    admin: str = field(repr=False)
    writer: str = field(repr=False)

    @classmethod
    def generate(cls) -> Passwords:
        # URL-safe: no quote can end a CQL string literal, nothing a shell or an INI file would interpret.
        return cls(admin=secrets.token_urlsafe(24), writer=secrets.token_urlsafe(24))


def credentials_file(user: str, password: str) -> str:
    """A cqlsh credentials file (``cqlsh --credentials``, default ``~/.cassandra/credentials``)."""
    return f"[PlainTextAuthProvider]\nusername = {user}\npassword = {password}\n"


def secret_data(passwords: Passwords) -> dict[str, str]:
    """The Secret's keys: what the writer reads (secretKeyRef) and the cqlsh files of cassandra.yml."""
    return {
        "admin-username": ADMIN,
        "admin-password": passwords.admin,
        "writer-username": WRITER,
        "writer-password": passwords.writer,
        "admin-credentials": credentials_file(ADMIN, passwords.admin),
        "writer-credentials": credentials_file(WRITER, passwords.writer),
    }


def _disable_default_login(*, superuser: bool) -> str:
    throwaway = secrets.token_urlsafe(24)  # nobody ever knows it: the login is off anyway
    # A role may not take away its own superuser status: the bootstrap, logged in as it, leaves that to lab_admin.
    revoke = "SUPERUSER = false AND " if superuser else ""
    return f"ALTER ROLE {DEFAULT_LOGIN[0]} WITH {revoke}LOGIN = false AND PASSWORD = '{throwaway}';\n"


def bootstrap_script(passwords: Passwords, *, auth_replication: int = AUTH_REPLICATION) -> str:
    """As the built-in superuser, in one cqlsh session: create lab_admin (its password travels on stdin) and at
    once take the built-in login away (a new password nobody knows, LOGIN = false), then replicate system_auth.

    The login goes in the same session that made lab_admin, not in the roles script minutes later: the well-known
    cassandra/cassandra then works only between Cassandra creating it and this script (deploy polls every
    BOOTSTRAP_POLL seconds), and a roles script that fails afterwards leaves it off all the same.
    """
    return (f"CREATE ROLE IF NOT EXISTS {ADMIN} WITH SUPERUSER = true AND LOGIN = true "
            f"AND PASSWORD = '{passwords.admin}';\n" +
            _disable_default_login(superuser=False) +
            _replicate_auth(auth_replication))


def roles_script(passwords: Passwords, *, replication_factor: int = 3) -> str:
    """As lab_admin: disable the built-in login, make the schema, the writer role and its two grants.

    Every statement is idempotent, so deploy runs it each time: it also restores a role or grant someone
    removed. (No ALTER of the writer's password here: Cassandra refuses a role's password change within
    5 s of the last one, and the Secret, which both passwords come from, never changes.)
    """
    schema = "".join(f"{statement};\n" for statement in schema_statements(KEYSPACE, replication_factor).values())
    return (_replicate_auth() +
            _disable_default_login(superuser=True) +
            schema +
            f"CREATE ROLE IF NOT EXISTS {WRITER} WITH LOGIN = true AND PASSWORD = '{passwords.writer}';\n" +
            "".join(f"{statement};\n" for statement in writer_grants(KEYSPACE, WRITER)))


def writer_grants(keyspace: str, role: str) -> list[str]:
    """SELECT and MODIFY on the writer's two tables only; the keyspace-wide grants of earlier deploys are
    revoked (a REVOKE of a permission not held is a no-op, so this runs on every deploy)."""
    revokes = [f"REVOKE {permission} ON KEYSPACE {keyspace} FROM {role}" for permission in ("SELECT", "MODIFY")]
    tables = [name for name in schema_statements(keyspace, 1) if "." in name]  # the writer's schema, keyspace.table
    grants = [f"GRANT {permission} ON TABLE {table} TO {role}"
              for table in tables for permission in ("SELECT", "MODIFY")]
    return revokes + grants


# -- the Secret ----------------------------------------------------------------------------------------

def _decode(data: dict[str, str], key: str) -> str:
    return base64.b64decode(data.get(key, "")).decode()


def read_passwords(runner: Runner, kube: Kubectl) -> Passwords | None:
    """The passwords in the lab's Secret, or None when it does not exist yet."""
    secret = kubectl.get_json(runner, kube, "secret", SECRET)
    if secret is None:
        return None
    data = secret.get("data") or {}
    if not data.get("admin-password") or not data.get("writer-password"):
        raise LabError(f"Secret {SECRET} lacks admin-password or writer-password; delete it "
                       f"(kubectl delete secret {SECRET}) and Cassandra's data (invoke delete --pvcs), then deploy")
    return Passwords(admin=_decode(data, "admin-password"), writer=_decode(data, "writer-password"))


def ensure_secret(runner: Runner, kube: Kubectl) -> Passwords:
    """The lab's passwords: read from the Secret, or generated and stored in a new one (never overwritten)."""
    if runner.dry:
        progress.info(f"(dry run) would create Secret {SECRET} with generated passwords unless it exists")
        return Passwords(admin="<admin-password>", writer="<writer-password>")
    existing = read_passwords(runner, kube)
    if existing is not None:
        return existing
    passwords = Passwords.generate()
    # From a file only this user can read, deleted at once: a --from-literal would put the passwords on
    # kubectl's command line, where `ps` and our own command echo would show them.
    with tempfile.TemporaryDirectory(prefix="lab-secret-") as folder:
        paths = []
        for key, value in secret_data(passwords).items():
            path = os.path.join(folder, key)
            files.write_new(path, value)
            paths.append(path)
        argv = kube.base() + ["create", "secret", "generic", SECRET] + [f"--from-file={p}" for p in paths]
        try:
            runner.run(argv, hide=True, timeout=60)
        except CommandError as err:
            theirs = read_passwords(runner, kube) if "AlreadyExists" in err.stderr else None
            if theirs is not None:  # created meanwhile by another deploy: theirs wins
                return theirs
            raise LabError(f"failed to create Secret {SECRET}: {err}") from err
    return passwords


# -- roles and schema ----------------------------------------------------------------------------------

def _cqlsh_stdin(cass: Cassandra, script: str, *, login: tuple[str, str] | None = None,
                 timeout: int = VerifyGroup.request_timeout):
    """cqlsh in the pod reading ``script`` on stdin; ``login`` is only ever the built-in, public one."""
    command = ["cqlsh", f"--request-timeout={timeout}"]
    if login is not None:
        command += ["-u", login[0], "-p", login[1], "--insecure-password-without-warning"]
    argv = cass.kube.exec_args(cass.pod, command, container=names.CASSANDRA_CONTAINER, stdin=True)
    return cass.runner.probe(argv, timeout=timeout + 60, input=script)


def _failed(outcome) -> str:
    """cqlsh exits 0 on some statement errors when reading stdin; read its words instead."""
    text = f"{outcome.stdout}\n{outcome.stderr}"
    for marker in ("AuthenticationFailed", "Unauthorized", "SyntaxException", "InvalidRequest",
                   "ConfigurationException", "Unavailable", "NoHostAvailable", "OperationTimedOut",
                   "Connection error"):
        if marker in text:
            line = next((ln.strip() for ln in text.splitlines() if marker in ln), marker)
            return line[:300]
    return "" if outcome.ok else (text.strip().splitlines() or [f"exit {outcome.exited}"])[-1][:300]


#: Whether lab_admin and the built-in role may log in: their rows of system_auth.roles (none for a role not there).
LOGINS_QUERY = (f"SELECT role, can_login FROM system_auth.roles WHERE role IN ('{ADMIN}', '{DEFAULT_LOGIN[0]}');")


def _logins(rows: list[dict[str, str]]) -> dict[str, bool]:
    """role -> whether it may log in, from LOGINS_QUERY's table."""
    return {row["role"]: row.get("can_login") == "True" for row in rows if row.get("role")}


def _admin_login(cass: Cassandra) -> tuple[str, bool]:
    """Why lab_admin cannot log in through the pod's credentials file ("" when it can), and whether it read the
    built-in login still on."""
    outcome = _cqlsh_stdin(cass, LOGINS_QUERY + "\n", timeout=30)
    problem = _failed(outcome)
    return problem, not problem and _logins(parse_cqlsh_table(outcome.stdout)).get(DEFAULT_LOGIN[0], False)


def _admin_or_bootstrap(cass: Cassandra, passwords: Passwords, seen: list[str]) -> bool:
    """lab_admin logs in (and the built-in login is off), or the bootstrap made it. The bootstrap is tried only once
    CQL answers (a refused login, not a refused connection): while cassandra-0 starts, each poll is one cqlsh run,
    not two, on a machine whose cores the starting JVM needs. ``seen`` gets the last problem, for the error."""
    problem, default_on = _admin_login(cass)
    if not problem:
        # lab_admin logs in yet the built-in login is on: a ring bootstrapped before the bootstrap took it away in
        # its own session (the roles script that did it failed). Off now, not minutes later after the whole ring.
        return not default_on or not _failed(_cqlsh_stdin(cass, _disable_default_login(superuser=True)))
    seen[:] = [problem]
    return "AuthenticationFailed" in problem and _bootstrap(cass, passwords)


def settled(cass: Cassandra) -> bool:
    """lab_admin exists and may log in, and the built-in login is off (or its role gone): nothing for a bootstrap
    to do, so deploy keeps CQL open to the writers (lab/door.py). Read as lab_admin; and lab_admin's own row, not
    only a login that worked, since a ring still without authentication lets anyone read. Any doubt (no pod yet,
    CQL not open, a login refused, no such rows) is False."""
    if cass.runner.dry:
        return False
    try:
        logins = _logins(cass.query(LOGINS_QUERY, consistency="ONE"))
    except LabError:
        return False
    return logins.get(ADMIN, False) and not logins.get(DEFAULT_LOGIN[0], False)


#: Seconds a login Cassandra took away may still work: its credentials and roles caches keep what they read for
#: credentials_validity and roles_validity (2 s each by default); the wait for its refusal gives it this and more.
CACHED_LOGIN = 30


def wait_default_login_refused(cass: Cassandra, *, timeout: float = CACHED_LOGIN, poll: float = 1.0) -> None:
    """Until the built-in login is refused by ``cass``'s node: the bootstrap's own login put it in that node's
    caches, which may accept it for a moment after it was taken away. Deploy opens CQL to the writers only then."""
    if cass.runner.dry:
        return
    said: list[str] = []

    def refused() -> bool:
        said[:] = [_failed(_cqlsh_stdin(cass, "SELECT role FROM system_auth.roles LIMIT 1;\n", login=DEFAULT_LOGIN,
                                        timeout=30)) or "logged in"]
        return "AuthenticationFailed" in said[0]

    if not kubectl.wait_until(refused, timeout=timeout, every=poll):
        raise LabError(f"the built-in login cassandra/cassandra still works on {cass.pod} {timeout:.0f}s after "
                       f"{ADMIN} disabled it (last try: {said[0] if said else 'none'}); CQL stays closed to the "
                       "writers")


#: Seconds between tries of the bootstrap while cassandra-0 starts: the built-in login works from the moment
#: Cassandra creates it until the bootstrap that follows, so no longer than this plus one cqlsh run.
BOOTSTRAP_POLL = 2.0


def ensure_admin(cass: Cassandra, passwords: Passwords, *, timeout: float = 300, poll: float = BOOTSTRAP_POLL) -> None:
    """lab_admin exists and the built-in login is off, as early as cassandra-0 answers: deploy calls this right
    after applying cassandra.yml, before waiting for the rest of the ring (minutes), so on a new ring the
    well-known login lives seconds, not until the roles script. Idempotent: once lab_admin logs in, one cqlsh run.

    Cassandra creates the built-in superuser about 10 s after the first node opens CQL, and only when no role
    exists at all: a node joining later (``invoke scale``), a restart or a re-deploy never brings it back."""
    if cass.runner.dry:
        progress.info(f"(dry run) would create role {ADMIN} and disable the built-in login via cqlsh")
        return
    # Until the pod runs, CQL opens and the built-in superuser exists, both logins fail, and the wait goes on.
    seen: list[str] = []
    if not kubectl.wait_until(lambda: _admin_or_bootstrap(cass, passwords, seen), timeout=timeout, every=poll):
        # What the last try met says which case this is: a pod that never ran, CQL never open, or a refused login.
        last = f" (last try: {seen[0]})" if seen else ""
        raise LabError(f"cannot log in to Cassandra as {ADMIN} or as the built-in superuser within {timeout:.0f}s"
                       f"{last}; if Secret {SECRET} was recreated after the roles were made, restore it, or start "
                       f"over with `invoke delete --what cassandra --pvcs` and `invoke deploy`")


def ensure_roles(cass: Cassandra, passwords: Passwords, *, timeout: float = 300, replication_factor: int = 3,
                 poll: float = BOOTSTRAP_POLL) -> None:
    """lab_admin, the writer role, the schema and the grants, as described above; idempotent."""
    if cass.runner.dry:
        progress.info(f"(dry run) would create roles {ADMIN} and {WRITER} and the {KEYSPACE} schema via cqlsh")
        return
    ensure_admin(cass, passwords, timeout=timeout, poll=poll)
    repair_auth(cass)
    for _try in range(ROLES_TRIES):
        problem = _failed(_cqlsh_stdin(cass, roles_script(passwords, replication_factor=replication_factor)))
        if NOT_YET_SUPERUSER not in problem:
            break
        time.sleep(poll)  # a roles cache entry read before the repair lives roles_validity (2 s by default)
    if problem:
        raise LabError(f"setting up roles and schema as {ADMIN} failed: {problem}")


#: What Cassandra says when the node lab_admin's statement reached read its role from a replica without its row.
NOT_YET_SUPERUSER = "Only superusers are allowed"
#: Runs of the roles script while that is all that is wrong (each after BOOTSTRAP_POLL s).
ROLES_TRIES = 5


def repair_auth(cass: Cassandra) -> None:
    """A full repair of system_auth, as Cassandra's docs ask after its replication was raised: the bootstrap
    wrote lab_admin while system_auth had one replica, then raised it to every node, and a node that took a
    replica since holds no row until a repair. A role read that meets two such replicas (Cassandra 5.0 reads a role
    at auth_read_consistency_level, LOCAL_QUORUM by default) finds no lab_admin, or no superuser: the roles script's
    ALTER then fails as unauthorized (seen in CI, once in a few fresh rings). system_auth holds a few rows: seconds."""
    cass.runner.output(cass.exec_args(nodetool_args("repair", "--full", "system_auth")), timeout=300)


def _bootstrap(cass: Cassandra, passwords: Passwords) -> bool:
    """True once lab_admin exists; False while the built-in superuser cannot log in yet (retried)."""
    outcome = _cqlsh_stdin(cass, bootstrap_script(passwords), login=DEFAULT_LOGIN)
    return not _failed(outcome)
