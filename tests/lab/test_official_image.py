"""The official ``cassandra:5.0`` image (lab.images.cassandra as shipped, which reset pulls where Docker Hub
answers): the closed door, the roles bootstrap, the disk guardrail and the NetworkPolicy probe rely on nothing only
the lab's own image has. That image cannot be pulled on every machine, so what it offers is written down here from
its recipe (docker-library/cassandra, 5.0/Dockerfile and 5.0/docker-entrypoint.sh) and a first deploy is rendered
for it on fakes:

- its entrypoint (the image's own: the pod sets no command) reads CASSANDRA_SEEDS and the variables below and
  hands every other setting to Cassandra's own start script, whose cassandra-env.sh only appends to JVM_OPTS:
  the ``-Dcassandra.settings.*`` flags of authentication, the truncate guardrail and the disk guardrail reach the
  JVM as they do in the lab's image;
- it runs as root only to chown and step down with gosu; the pod runs as uid 999, its ``cassandra`` user, so that
  branch never runs, and the entrypoint's rewrite of cassandra.yaml (a temporary file in /tmp, then
  ``/etc/cassandra``) lands on the pod's emptyDirs;
- ``cqlsh`` and ``nodetool`` are Cassandra's own, in /opt/cassandra/bin on its PATH (python3 is installed for
  cqlsh), so deploy's ``kubectl exec ... cqlsh`` and ``nodetool`` find them by name;
- the base is debian:bookworm-slim with bash: the init container's and the probe pod's scripts need bash and
  coreutils only.
"""

from __future__ import annotations

import re
import shlex

import yaml

from lab import auth, manifests, names, workflow
from tests.lab.test_door import WRITERS, _cql_peers, _deploy

OFFICIAL = "cassandra:5.0"
#: The variables docker-library's 5.0 entrypoint reads (and JVM_OPTS, MAX_HEAP_SIZE, HEAP_NEWSIZE, which
#: Cassandra's own cassandra-env.sh reads).
ENTRYPOINT_VARS = {"CASSANDRA_SEEDS", "CASSANDRA_RPC_ADDRESS", "CASSANDRA_LISTEN_ADDRESS",
                   "CASSANDRA_BROADCAST_ADDRESS", "CASSANDRA_BROADCAST_RPC_ADDRESS", "CASSANDRA_CLUSTER_NAME",
                   "CASSANDRA_ENDPOINT_SNITCH", "CASSANDRA_NUM_TOKENS", "CASSANDRA_START_RPC", "CASSANDRA_DC",
                   "CASSANDRA_RACK", "CASSANDRA_NAME", "JVM_OPTS", "MAX_HEAP_SIZE", "HEAP_NEWSIZE"}
#: Read by the lab's entrypoint only, and about start-up, not security: the official image ignores it (cassandra.yml
#: says what to add instead); POD_NAMESPACE and POD_IP only feed the values above, HOME is cqlsh's.
LAB_IMAGE_ONLY_VARS = {"CASSANDRA_SEED_WAIT"}
HELPER_VARS = {"POD_NAMESPACE", "POD_IP", "HOME"}
#: The official image's user (5.0/Dockerfile: useradd --uid=999).
CASSANDRA_UID = 999
#: What the scripts in the lab's pods may call: bash's builtins and keywords, and coreutils (every Debian image).
BASH = {"set", "if", "then", "else", "fi", "for", "do", "done", "until", "while", "exec", "echo", "printf", "exit",
        "umask", "[", "true", "false", "test", "bash"}
COREUTILS = {"cp", "mkdir", "sleep", "seq", "timeout"}
#: cqlsh options deploy uses that Cassandra 5.0's own cqlsh takes (--insecure-password-without-warning since 4.1).
CQLSH_OPTIONS = {"-e", "-u", "-p", "--request-timeout", "--insecure-password-without-warning", "--credentials"}
#: The flags in JVM_OPTS the door, the bootstrap, least privilege and the disk rely on.
SECURITY_FLAGS = ("-Dcassandra.config.allow_system_properties=true",
                  "-Dcassandra.settings.authenticator=PasswordAuthenticator",
                  "-Dcassandra.settings.authorizer=CassandraAuthorizer",
                  "-Dcassandra.settings.drop_truncate_table_enabled=false",
                  "-Dcassandra.settings.data_disk_usage_max_disk_size=1GiB",
                  "-Dcassandra.settings.data_disk_usage_percentage_warn_threshold=80",
                  "-Dcassandra.settings.data_disk_usage_percentage_fail_threshold=90")


def commands_in(script: str) -> set[str]:
    """The words a shell script runs as commands: the first word of each simple command, quotes left out."""
    script = re.sub(r"'[^']*'|\"[^\"]*\"", '""', script)
    script = re.sub(r"\$\(\(.*?\)\)", "0", script)  # arithmetic, not a command
    found = set()
    for part in re.split(r"\n|;|&&|\|\||\$\(|\(|\)|\|", script):
        words = [w for w in part.split() if not re.fullmatch(r"\w+=\S*", w)]
        while words and words[0] in ("then", "do", "else", "if", "until", "while", "!"):
            found.add(words.pop(0))
        if words and not words[0].startswith(("2>", ">", "<", '""')) and words[0] not in ("]", "in"):
            found.add(words[0])
    return found


def test_the_command_finder_sees_what_a_script_runs():
    assert commands_in('set -eu\nif [ "$a" -gt 0 ] && [ ! -d /x ]; then\n  n=$((a - 1))\n  nc -z "$h" 9042\nfi\n'
                       "umask 077 && mkdir -p \"$HOME/x\"\nfor f in a b; do getent hosts $f; done") == {
        "set", "if", "[", "then", "nc", "fi", "umask", "mkdir", "for", "do", "getent", "done"}


def test_a_first_deploy_on_the_official_image_closes_the_door_bootstraps_and_guards_the_disk_alike(project):
    ctx, lab = _deploy(project, settled=False, image=OFFICIAL)
    workflow.deploy(lab)
    rendered = project / ".cache/lab/rendered"
    # The door: closed while the bootstrap ran, then as checked in, with the same StatefulSet both times.
    applied = [c.rsplit("/", 1)[1] for c in ctx.matching(" apply ")]
    assert applied == ["namespace.yml", "cassandra.door-closed.yml", "cassandra.yml", "lab-policy-probe.yml",
                       "writer.yml"]
    closed = manifests.load_all(rendered / "cassandra.door-closed.yml")
    opened = manifests.load_all(rendered / "cassandra.yml")
    assert _cql_peers(closed) == [{"podSelector": {"matchLabels": {"app": "cassandra"}}}]
    assert {"podSelector": {"matchLabels": WRITERS}} in _cql_peers(opened)
    sts = manifests.find(opened, "StatefulSet")
    assert manifests.find(closed, "StatefulSet") == sts
    pod = sts["spec"]["template"]["spec"]
    # Both Cassandra containers run the official image, the server with the image's own entrypoint and command.
    containers = {c["name"]: c for c in pod["initContainers"] + pod["containers"]}
    assert {c["image"] for c in containers.values()} == {OFFICIAL}
    server = containers[names.CASSANDRA_CONTAINER]
    assert "command" not in server and "args" not in server
    env = {v["name"]: v.get("value") for v in server["env"]}
    assert set(env) <= ENTRYPOINT_VARS | LAB_IMAGE_ONLY_VARS | HELPER_VARS, set(env) - ENTRYPOINT_VARS
    # Authentication, authorisation, the truncate guardrail and the disk guardrail: flags Cassandra reads itself.
    assert set(SECURITY_FLAGS) <= set(env["JVM_OPTS"].split())
    # As the image's own user: the entrypoint's chown-and-gosu branch (uid 0) never runs; its writes land on emptyDirs.
    assert pod["securityContext"]["runAsUser"] == CASSANDRA_UID
    mounts = {m["mountPath"]: m["name"] for m in server["volumeMounts"]}
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    assert {mounts["/etc/cassandra"], mounts["/tmp"], mounts["/home/cassandra"]} <= empty
    # The init container (the wait for its turn, the config copy, the cqlsh logins from the Secret): bash and
    # coreutils only, and the Secret's checksum on the template, so a changed Secret rolls the pods.
    setup = containers[names.CASSANDRA_INIT_CONTAINER]
    assert setup["command"][:2] == ["/bin/bash", "-c"] and commands_in(setup["command"][2]) <= BASH | COREUTILS
    assert auth.CHECKSUM_ANNOTATION in sts["spec"]["template"]["metadata"]["annotations"]
    # The bootstrap, the wait for the built-in login's refusal, the repair and the roles: cqlsh and nodetool by
    # name, with options the official image's cqlsh takes.
    execs = [shlex.split(c.split(" -- ", 1)[1]) for c in ctx.commands if " exec " in c]
    assert {argv[0] for argv in execs} == {"cqlsh", "nodetool"}
    options = {word.split("=")[0] for argv in execs if argv[0] == "cqlsh" for word in argv[1:] if word.startswith("-")}
    assert options <= CQLSH_OPTIONS, options - CQLSH_OPTIONS
    assert any("-u" in argv and "cassandra" in argv for argv in execs)  # the bootstrap did run, as the built-in login
    # The NetworkPolicy probe: a pod of the official image (on every node already), bash and coreutils only.
    [probe] = list(yaml.safe_load_all((rendered / "lab-policy-probe.yml").read_text()))
    [prober] = probe["spec"]["containers"]
    assert prober["image"] == OFFICIAL and prober["imagePullPolicy"] == "IfNotPresent"
    assert prober["command"][:2] == ["bash", "-c"] and commands_in(prober["command"][2]) <= BASH | COREUTILS
