"""End to end on a real kind cluster: the README workflow, typed exactly as a user types it.

Each step is the `invoke` command line from the README, run as a subprocess through `sh` (as are the
`docker` and `kubectl` checks); assertions read what the tasks print and the JSON records they write
(chaos rounds, verify). The session's cluster is `invoke reset`'s (tests/kind_lab.py: the cluster tier ran on it
first); the module's fixture deploys the lab with `invoke build deploy` and takes it down with `invoke down`
at the end, so a failed assertion still leaves no cluster behind.

Tests run in file order and build on each other (the writer keeps writing the same topic throughout).
Run them alone with `invoke e2e` (about half an hour on 2 cores).

Safe beside your own lab: see tests/kind_lab.py (cluster ``lab-e2e``, its own kubeconfig and lab state).
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from html import unescape
from pathlib import Path

import pytest
import sh

from lab import kind, registry
from lab.net import free_port
from lab.report import lesson_table
from tests.commands import Ran, run
from tests.e2e.default_login import (
    ATTEMPT_TIMEOUT,
    AUTH_FAILED,
    ERROR,
    PAUSE,
    PROBER,
    REFUSED,
    SUCCESS,
    TIMEOUT,
    WRITER_LABELS,
    DefaultLoginProber,
    coverage_gaps,
)
from tests.e2e.default_login import IMAGE as WRITER_IMAGE
from tests.kind_lab import ARTIFACTS, CLUSTER, KUBECONFIG, STATE_DIR, docker, invoke, lab_env
from tests.terminal import in_a_terminal, restore_ctrl_c

ROOT = Path(__file__).resolve().parents[2]
#: The bar from the product brief: a writer stall under 2 s when one Cassandra pod dies at QUORUM.
STALL_BAR_S = 2.0
TOPIC = "test"

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


def newest(folder: Path, since: float, pattern: str = "*.json") -> list[dict]:
    """JSON records written under ``folder`` after ``since`` (epoch seconds), oldest first."""
    paths = sorted(p for p in folder.glob(pattern) if p.stat().st_mtime >= since)
    return [json.loads(p.read_text()) for p in paths]


def chaos(pod: str, **env) -> dict:
    """One chaos round against ``pod``; returns its JSON record (the task already ran verify)."""
    return chaos_round("--pod", pod, env=env or None)


def chaos_round(*args: str, env: dict[str, str] | None = None) -> dict:
    """One round of `invoke chaos <args>` (--pod/--node/--partition ...); returns its JSON record."""
    since = time.time()
    invoke("chaos", *args, "--rounds", "1", env=env)
    rounds = newest(ARTIFACTS / "chaos", since)
    assert len(rounds) == 1, f"expected one chaos record for {' '.join(args)}, found {len(rounds)}"
    return rounds[0]


def verify_topic(topic: str = TOPIC) -> dict:
    """`invoke verify --topic` (the lab's writer's by default): that topic's report, its stored last_seq included."""
    since = time.time()
    invoke("verify", "--topic", topic)
    records = newest(ARTIFACTS / "verify", since)
    assert records, "verify wrote no record"
    record = records[-1]
    topics = record["topics"] if isinstance(record, dict) and "topics" in record else record
    [report] = [t for t in topics if t["topic"] == topic]
    return report


def writer_logs(tail: int = 400) -> str:
    return invoke("logs", "--tail", str(tail)).stdout


def wait_for(predicate, *, timeout: float, every: float = 5, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


#: What the session's one deploy left for later tests: its output ("deploy") and the built-in login's prober
#: ("default_login", tests/e2e/default_login.py).
SESSION: dict = {}


@pytest.fixture(scope="module")
def lab_up(kind_lab):
    """`invoke build deploy` on the session's cluster, timed, with the built-in login tried all along from the
    moment cassandra-0 is Ready (the prober is stopped whatever happens); `invoke down` at the end of the module,
    whatever happened."""
    try:
        started = time.monotonic()
        prober = SESSION["default_login"] = DefaultLoginProber(on_e2e_cluster_argv()).start()
        try:
            ran = invoke("build", "deploy")
        finally:
            prober.stop()
        SESSION["deploy"] = ran.stdout + ran.stderr
        kind_lab.timings["build_deploy_s"] = time.monotonic() - started
        yield kind_lab.timings
    finally:
        kind_lab.down()


def test_writer_logs_progress(lab_up):
    logs = wait_for(lambda: (out := writer_logs()) and "inserted rows to seq" in out and out,
                    timeout=300, what="the writer's first 'inserted rows to seq' line")
    assert "Connected to cluster ece573-prj04" in logs
    assert re.search(rf"{TOPIC}: start from lastSeq=\d+", logs)


def test_status_shows_three_up_normal(lab_up):
    out = invoke("status").stdout
    assert len(re.findall(r"^UN\s", out, re.M)) == 3, "nodetool status should list 3 UN replicas"
    for pod in ("cassandra-0", "cassandra-1", "cassandra-2"):
        assert pod in out
    # Deploy's NetworkPolicy probe (lab/policies.py) agrees with the pod network: enforced on the lab's node image
    # (kube-router's policy controller), NOT enforced on kindest/node v1.30's kindnet; status reads deploy's record.
    verdict = "enforced" if kube_router_runs() else "NOT enforced"
    assert f"NetworkPolicies: {verdict} (probed by deploy " in out, out[-2000:]
    assert f"NetworkPolicies: {verdict} (probed by deploy " in SESSION["deploy"], SESSION["deploy"][-3000:]
    if os.environ.get("CI"):  # CI runs on the lab's node image
        assert verdict == "enforced"


def test_the_built_in_superuser_never_logged_in_while_deploy_ran(lab_up):
    """cassandra/cassandra tried once a second (tests/e2e/default_login.py) by a pod with the writers' labels, the
    most a workload of the lab has, from the moment cassandra-0 was Ready until the session's deploy returned: no
    stretch of that time went untried, CQL stayed closed to it while deploy's bootstrap ran (lab/door.py), then
    Cassandra answered and refused it; none logged in. After deploy the lab's admin logs in and the built-in role
    can neither log in nor is it a superuser."""
    prober = SESSION["default_login"]
    if prober.existed_before:
        reason = ("cassandra-0 existed before the session's deploy (a reused cluster, not a fresh `invoke reset`): "
                  "there was no first start to watch")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    during = tried_throughout(prober, "deploy")
    if not kube_router_runs():
        # Where policies are not enforced the door cannot hold (the prober may well have logged in), and deploy says so.
        said = SESSION["deploy"]
        assert "was open to every pod of the cluster during the bootstrap" in said, said[-3000:]
        reason = "this cluster's pod network does not enforce NetworkPolicy: CQL was not closed to the prober"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    never_logged_in(prober)
    # Cassandra answered the prober once the door opened: its refusals are logins refused, so its path worked.
    assert AUTH_FAILED in during, "Cassandra never answered the prober while deploy ran: it proved nothing"
    # The door: after Ready, CQL refused the prober's connections (the bootstrap waits ~10 s for the built-in role).
    assert during.index(AUTH_FAILED) > 0 and set(during[:during.index(AUTH_FAILED)]) <= {REFUSED, TIMEOUT}, during
    roles = invoke("cqlsh", "--execute",
                   "SELECT role, can_login, is_superuser FROM system_auth.roles WHERE role = 'cassandra'").stdout
    assert re.search(r"cassandra \| +False \| +False", roles), roles


def tried_throughout(prober: DefaultLoginProber, command: str) -> list[str]:
    """The outcomes of the prober's attempts from its pod's Ready until ``command`` returned, once it is asserted
    that the prober ran, that each of those attempts said what it met and that no stretch went untried; its
    counts and log tail printed."""
    outcomes = [a.outcome for a in prober.attempts]
    print(f"built-in login from pod {PROBER} against {prober.pod} ({prober.target}): {len(outcomes)} attempts; "
          f"{prober.pod} Ready at {prober.ready_at}, {command} returned at {prober.stopped_at}: "
          f"{dict(collections.Counter(outcomes))}; prober error: {prober.error or 'none'}\n{prober.log[-3000:]}")
    assert not prober.error, prober.error
    assert prober.ready_at is not None, f"{prober.pod} was never seen Ready while {command} ran"
    during = [a.outcome for a in prober.attempts if prober.ready_at <= a.at <= prober.stopped_at]
    # Each attempt meanwhile said what it met (a line that is no attempt, a traceback, is an ERROR too).
    assert ERROR not in during, f"the prober met something it cannot name while {command} ran (its log is above)"
    # Every stretch from Ready to the command's return was tried: an attempt takes at most ATTEMPT_TIMEOUT, then
    # PAUSE; Ready is seen within a PAUSE of a poll, and an API server round trip or two of slack.
    longest = ATTEMPT_TIMEOUT + 2 * PAUSE + 3
    gaps = coverage_gaps(prober.attempts, prober.ready_at, prober.stopped_at, longest=longest)
    assert not gaps, f"stretches of more than {longest:.0f} s without an attempt: {gaps}"
    return during


def never_logged_in(prober: DefaultLoginProber) -> None:
    """Not one of the prober's attempts logged in, before its pod's Ready or after."""
    won = [a for a in prober.attempts if a.outcome == SUCCESS]
    assert not won, (f"the built-in superuser logged in {len(won)} of {len(prober.attempts)} times, from "
                     f"{won[0].at - (prober.ready_at or 0):.1f} s to {won[-1].at - (prober.ready_at or 0):.1f} s "
                     f"after {prober.pod} was Ready: {won[0].detail}")


def assert_builtin_login_refused(pod: str) -> None:
    """cassandra/cassandra through cqlsh inside ``pod``, over its loopback, which no NetworkPolicy governs: Cassandra's
    own answer, whatever the pod network enforces."""
    out = kubectl("exec", pod, "--container", "cassandra", "--", "cqlsh", "-u", "cassandra", "-p", "cassandra",
                  "--insecure-password-without-warning", "-e", "SELECT role FROM system_auth.roles LIMIT 1")
    assert out.returncode != 0 and "AuthenticationFailed" in out.stdout + out.stderr, (pod, out.stderr[-300:])


def on_e2e_cluster_argv() -> list[str]:
    """kubectl on the e2e cluster only (its own kubeconfig and context), as the lab finds the binary."""
    binary = shutil.which("kubectl") or str(ROOT / ".cache" / "bin" / "kubectl")
    return [binary, "--kubeconfig", str(KUBECONFIG), "--context", f"kind-{CLUSTER}"]


def kubectl(*args: str, input: str | None = None) -> Ran:
    """``on_e2e_cluster_argv`` with ``args``; any exit code: some checks expect a refusal."""
    binary, *options = on_e2e_cluster_argv()
    return run(sh.Command(binary).bake(*options), *args, _timeout=300, _in=input)


def lab_passwords() -> list[str]:
    secret = json.loads(kubectl("get", "secret", "cassandra-auth", "--output", "json").stdout)
    return [base64.b64decode(secret["data"][key]).decode() for key in ("admin-password", "writer-password")]


def registry_passwords() -> list[str]:
    """The lab's registry login, from its pull Secret (there once the registry test deployed through it)."""
    found = kubectl("get", "secret", "lab-registry-login", "--output", "json")
    if found.returncode != 0:
        return []
    config = json.loads(base64.b64decode(json.loads(found.stdout)["data"][".dockerconfigjson"]))
    return [entry["password"] for entry in config["auths"].values()]


def test_only_the_writer_and_the_operator_touch_the_data(lab_up):
    """Logins on, least privilege, restricted pods: what lab/auth.py and the manifests promise, on the cluster."""
    admin_pw, writer_pw = lab_passwords()
    assert len(admin_pw) >= 32 and len(writer_pw) >= 32 and admin_pw != writer_pw
    # The writer's role: it writes (the writer is progressing) but cannot drop the keyspace.
    drop = invoke("cqlsh", "--user", "writer", "--execute", "DROP KEYSPACE ece573", check=False)
    assert drop.returncode != 0 and "Unauthorized" in drop.stdout + drop.stderr, drop.stderr[-500:]
    grants = invoke("cqlsh", "--execute", "LIST ALL PERMISSIONS OF writer").stdout
    assert sorted(set(re.findall(r"\b(SELECT|MODIFY|CREATE|DROP|ALTER|AUTHORIZE)\b", grants))) == ["MODIFY", "SELECT"]
    # On its two tables only: no keyspace-wide grant, so no other table, present or future, is the writer's.
    assert sorted(set(re.findall(r"<(\w+ [\w.]+)>", grants))) == ["table ece573.prj04", "table ece573.prj04_last_seq"]
    invoke("cqlsh", "--execute", "CREATE TABLE IF NOT EXISTS ece573.e2e_other (k int PRIMARY KEY)")
    try:
        other = invoke("cqlsh", "--user", "writer", "--execute", "TRUNCATE ece573.e2e_other", check=False)
        assert other.returncode != 0 and "Unauthorized" in other.stdout + other.stderr, other.stderr[-500:]
    finally:
        invoke("cqlsh", "--execute", "DROP TABLE IF EXISTS ece573.e2e_other")
    # Cassandra's MODIFY includes TRUNCATE: on its own tables the guardrail refuses it.
    truncate = invoke("cqlsh", "--user", "writer", "--execute", "TRUNCATE ece573.prj04", check=False)
    assert truncate.returncode != 0 and "drop_truncate_table_enabled violated" in truncate.stdout + truncate.stderr, \
        truncate.stderr[-500:]
    # Nobody without the Secret: neither the well-known default login nor no login at all.
    for login in (["-u", "cassandra", "-p", "cassandra"], ["--credentials", "/dev/null"]):
        out = kubectl("exec", "cassandra-0", "--container", "cassandra", "--", "cqlsh", *login,
                      "-e", "SELECT count(*) FROM ece573.prj04_last_seq")
        assert out.returncode != 0 and "AuthenticationFailed" in out.stdout + out.stderr, (login, out.stderr[-300:])
    # The namespace enforces the restricted Pod Security Standard: a privileged pod is refused at admission.
    stray = kubectl("run", "e2e-stray", "--image", "busybox", "--restart", "Never", "--overrides",
                    json.dumps({"spec": {"containers": [{"name": "e2e-stray", "image": "busybox",
                                                         "securityContext": {"privileged": True}}]}}))
    assert stray.returncode != 0 and "violates PodSecurity" in stray.stderr, stray.stderr[-300:]
    assert kubectl("get", "pod", "e2e-stray").returncode != 0
    # Cassandra's root filesystem is read-only; the config the entrypoint renders is on the pod's emptyDir.
    in_cassandra = ("exec", "cassandra-0", "--container", "cassandra", "--")
    touched = kubectl(*in_cassandra, "touch", "/opt/cassandra/lab-e2e-probe")
    assert touched.returncode != 0 and "Read-only file system" in touched.stderr, touched.stderr[-300:]
    assert kubectl(*in_cassandra, "grep", "-q", "^cluster_name:", "/etc/cassandra/cassandra.yaml").returncode == 0
    assert kubectl(*in_cassandra, "test", "-w", "/etc/cassandra/cassandra.yaml").returncode == 0
    assert_tls_on_the_wire()
    # The writer is still writing with its role (and over TLS: 9042 speaks nothing else, see above).
    before = verify_topic()["last_seq"]
    time.sleep(5)
    assert verify_topic()["last_seq"] > before


#: Runs in a Cassandra pod: a plaintext CQL OPTIONS frame (protocol v4, stream 1) to host:9042; prints "answer <hex>"
#: (a CQL server answers 84...), "closed" or "reset".
PLAINTEXT_CQL = """
import socket, sys
with socket.create_connection((sys.argv[1], 9042), timeout=10) as s:
    s.sendall(bytes([4, 0, 0, 1, 5, 0, 0, 0, 0]))
    s.settimeout(10)
    try:
        reply = s.recv(64)
        print(f"answer {reply.hex()}" if reply else "closed")
    except ConnectionResetError:
        print("reset")
"""


def assert_tls_on_the_wire() -> None:
    """lab.security.tls on (the default), from inside cassandra-0 to its peer cassandra-1 over the pod network: a
    plaintext CQL client gets no CQL answer on 9042; 9042 and 7000 hand out a chain the lab's CA verifies (openssl
    s_client); 7000 wants the node's certificate; status says TLS is on; the writer is given the CA."""
    peer = "cassandra-1.cassandra-service"
    in_cassandra = ("exec", "cassandra-0", "--container", "cassandra", "--")
    plain = kubectl(*in_cassandra, "python3", "-c", PLAINTEXT_CQL, peer)
    assert plain.returncode == 0 and plain.stdout.strip() in ("closed", "reset"), (plain.stdout, plain.stderr[-300:])
    # cqlsh without the pod's cqlshrc speaks plaintext, and its driver is refused; with it, the same query answers
    query = ("cqlsh", peer, "-e", "SELECT cluster_name FROM system.local")
    refused = kubectl(*in_cassandra, query[0], "--cqlshrc", "/dev/null", *query[1:])
    assert refused.returncode != 0 and "Unable to connect to any servers" in refused.stdout + refused.stderr, \
        refused.stdout[-300:] + refused.stderr[-300:]
    assert "ece573-prj04" in kubectl(*in_cassandra, *query).stdout
    for port in (9042, 7000):
        shown = kubectl(*in_cassandra, "openssl", "s_client", "-connect", f"{peer}:{port}", "-CAfile",
                        "/etc/cassandra/tls/ca.pem", "-verify_return_error", input="")
        text = shown.stdout + shown.stderr
        assert "Verify return code: 0 (ok)" in text and re.search(r"New, TLSv1\.[23]", text), (port, text[-1500:])
        assert "CN = cassandra-1.cassandra-service." in text or "CN=cassandra-1.cassandra-service." in text, text[-800:]
    # 7000 with the node's own certificate: a peer's handshake goes through (the one without is refused by the node
    # after the handshake in TLS 1.3; tests/writer/test_writer_tls.py asserts that refusal)
    mutual = kubectl(*in_cassandra, "openssl", "s_client", "-connect", f"{peer}:7000", "-CAfile",
                     "/etc/cassandra/tls/ca.pem", "-cert", "/etc/cassandra/tls/node.pem", "-key",
                     "/etc/cassandra/tls/node.pem", "-verify_return_error", input="")
    assert "Verify return code: 0 (ok)" in mutual.stdout, mutual.stdout[-800:] + mutual.stderr[-300:]
    assert "TLS: on: CQL (9042) only over TLS" in invoke("status").stdout
    writer = json.loads(kubectl("get", "deployment", "ece573-prj04-writer", "--output", "json").stdout)
    env = {e["name"]: e.get("value") for e in writer["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["CASSANDRA_TLS_CA"] == "/etc/cassandra-tls/ca.pem"


#: Runs in a probe pod: five TCP connection attempts to host:port, two seconds apart, one line each.
PROBE = """
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
for attempt in range(5):
    try:
        socket.create_connection((host, port), timeout=3).close()
        print("connected", flush=True)
    except OSError as err:
        print(f"failed: {err}", flush=True)
    time.sleep(2)
"""


def probe_pods(probes: dict[str, tuple[dict[str, str], str, int]]) -> dict[str, list[str]]:
    """Run a pod per entry, name -> (labels, host, port), each trying PROBE against host:port; their log lines.
    The pods meet the namespace's restricted standard and run the writer's image (already on every node)."""
    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
             "spec": {"restartPolicy": "Never", "automountServiceAccountToken": False,
                      "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                                          "seccompProfile": {"type": "RuntimeDefault"}},
                      "containers": [{"name": "probe", "image": WRITER_IMAGE,
                                      "imagePullPolicy": "IfNotPresent",
                                      "command": ["python", "-c", PROBE, host, str(port)],
                                      "securityContext": {"allowPrivilegeEscalation": False,
                                                          "capabilities": {"drop": ["ALL"]}}}]}}
            for name, (labels, host, port) in probes.items()]
    made = kubectl("apply", "--filename", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": pods}))
    assert made.returncode == 0, made.stderr
    try:
        for name in probes:
            wait_for(lambda n=name: kubectl("get", "pod", n, "--output", "jsonpath={.status.phase}").stdout
                     in ("Succeeded", "Failed"), timeout=180, every=3, what=f"probe pod {name} to finish")
        return {name: kubectl("logs", name).stdout.split("\n")[:-1] for name in probes}
    finally:
        kubectl("delete", "pod", *probes, "--ignore-not-found", "--wait=false")


def test_a_stray_pod_cannot_reach_cassandra_while_the_writers_can(lab_up):
    """The NetworkPolicies are enforced, not only written: a pod of the namespace that is not a writer cannot open
    CQL or the gossip port of a Cassandra pod, a pod with the writers' labels can, and the writer keeps writing."""
    if not kube_router_runs():
        reason = ("this cluster's pod network does not enforce NetworkPolicy (no kube-router DaemonSet: kindest/node "
                  "before kind v0.24 runs kindnet without it); the lab's own node image enforces them "
                  "(lab.images.kind_node_source: build)")
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    ip = kubectl("get", "pod", "cassandra-0", "--output", "jsonpath={.status.podIP}").stdout.strip()
    before = verify_topic()["last_seq"]
    seen = probe_pods({"e2e-stray-cql": ({"app": "e2e-stray"}, ip, 9042),
                       "e2e-stray-gossip": ({"app": "e2e-stray"}, ip, 7000),
                       "e2e-writer-like": (WRITER_LABELS, ip, 9042)})
    print(json.dumps(seen, indent=2))
    for name in ("e2e-stray-cql", "e2e-stray-gossip"):
        assert every_try_failed(seen[name]), seen[name]
    # A new pod's address reaches the policy's ipsets a moment after the pod starts: its first try may fail.
    assert seen["e2e-writer-like"][-3:] == ["connected"] * 3, seen["e2e-writer-like"]
    assert verify_topic()["last_seq"] > before, "the writer stopped writing while the policies were enforced"


def every_try_failed(lines: list[str]) -> bool:
    """PROBE's five lines, each a failed connection."""
    return len(lines) == 5 and all(line.startswith("failed:") for line in lines)


def kube_router_runs() -> bool:
    """The cluster's pod network enforces NetworkPolicy: kube-router's policy controller (the lab's node image)."""
    return kubectl("get", "daemonset", "kube-router", "--namespace", "kube-system").returncode == 0


def exec_probe(target: str, container: str, host: str, port: int) -> list[str]:
    """PROBE run inside a running pod of the lab (its own network namespace, so its policies apply)."""
    ran = kubectl("exec", target, "--container", container, "--", "python3", "-c", PROBE, host, str(port))
    assert ran.returncode == 0, ran.stderr[-300:]
    return ran.stdout.split("\n")[:-1]


def test_egress_the_writer_cannot_reach_the_api_server_nor_cassandra_the_host_and_probes_pass(lab_up):
    """Egress policies: from inside the writer's pod the API server is refused, from inside a Cassandra pod the
    host's gateway; a pod no policy selects reaches both (so a refusal is the policy's, not a closed port); the
    kubelet's probes still pass and the writer keeps writing."""
    if not kube_router_runs():
        reason = "this cluster's pod network does not enforce NetworkPolicy (see the test above)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    api = kubectl("get", "service", "kubernetes", "--namespace", "default",
                  "--output", "jsonpath={.spec.clusterIP}").stdout.strip()
    gateways = docker("network", "inspect", kind.NETWORK, "--format",
                      "{{range .IPAM.Config}}{{.Gateway}} {{end}}").stdout.split()
    gateway = next(ip for ip in gateways if ":" not in ip)
    restarts = writer_restart_count()
    before = verify_topic()["last_seq"]
    with socket.create_server(("0.0.0.0", 0), backlog=64) as listener:  # the host, on every address
        port = listener.getsockname()[1]
        seen = probe_pods({"e2e-stray-api": ({"app": "e2e-stray"}, api, 443),
                           "e2e-stray-gateway": ({"app": "e2e-stray"}, gateway, port)})
        seen["writer-api"] = exec_probe("deployment/ece573-prj04-writer", "writer", api, 443)
        seen["cassandra-gateway"] = exec_probe("cassandra-0", "cassandra", gateway, port)
    print(json.dumps(seen, indent=2))
    for name in ("e2e-stray-api", "e2e-stray-gateway"):
        assert seen[name][-3:] == ["connected"] * 3, (name, seen[name])
    for name in ("writer-api", "cassandra-gateway"):
        assert every_try_failed(seen[name]), (name, seen[name])
    # Probes still pass: every pod Ready, the writer not restarted, and writing.
    ready = kubectl("get", "pods", "--selector", "app.kubernetes.io/part-of=ece573-prj04", "--output",
                    "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=='Ready')].status} {end}")
    states = {name: state for name, state in (item.split("=") for item in ready.stdout.split())
              if not name.startswith("e2e-")}  # the lab's own pods, not a probe pod of a test still going away
    assert len(states) >= 4 and set(states.values()) == {"True"}, states
    assert writer_restart_count() == restarts
    assert verify_topic()["last_seq"] > before


def verify_all() -> dict[str, dict]:
    """`invoke verify` of every topic: topic -> its report."""
    since = time.time()
    invoke("verify")
    [record] = newest(ARTIFACTS / "verify", since)[-1:]
    return {t["topic"]: t for t in record["topics"]}


def writer_deployments() -> dict[str, str]:
    """Deployment -> TOPIC, for every writer Deployment (all carry the writers' component label)."""
    found = kubectl("get", "deployments", "--selector", "app.kubernetes.io/component=writer", "--output", "json")
    return {d["metadata"]["name"]: next(e["value"] for e in d["spec"]["template"]["spec"]["containers"][0]["env"]
                                        if e["name"] == "TOPIC") for d in json.loads(found.stdout)["items"]}


def writer_restart_count(deployment: str = "ece573-prj04-writer") -> int:
    """Restarts of the containers of ``deployment``'s pods (the first writer's by default)."""
    pods = json.loads(kubectl("get", "pods", "--selector", f"app={deployment}", "--output", "json").stdout)
    return sum(c.get("restartCount", 0) for p in pods["items"] for c in p["status"].get("containerStatuses", []))


#: A writer per level, the lab's first writer (topic test) kept at QUORUM so it is not redeployed.
LEVELS = ("QUORUM", "ONE", "ALL")
WRITERS = ("ece573-prj04-writer", "ece573-prj04-writer-2", "ece573-prj04-writer-3")
TOPICS = (TOPIC, f"{TOPIC}-2", f"{TOPIC}-3")


# cassandra-1 is deleted by the lesson below (its step 4 is the same round for the robust writer alone), and
# cassandra-2 is partitioned: this round takes the seed, cassandra-0, the harder case for the drivers.
def test_a_cassandra_pod_kill_loses_nothing_at_any_consistency_level(lab_up):
    """`invoke deploy --writers 3 --consistency QUORUM,ONE,ALL`: three writers, each its own topic and level; one
    round deleting cassandra-0 watches all three (each one's stall) and verifies every topic: nothing lost, and
    what a level costs, side by side in the same fault. `--pod writer-2` then hits only the second writer; a
    plain deploy goes back to one writer and the other topics' rows stay, complete."""
    invoke("deploy", "--what", "writer", "--writers", "3", "--consistency", ",".join(LEVELS))
    assert writer_deployments() == dict(zip(WRITERS, TOPICS, strict=True))
    wait_for(lambda: all(verify_all().get(t, {}).get("last_seq", 0) > 0 for t in TOPICS), timeout=180,
             what="every writer's first progress")
    restarts = {name: writer_restart_count(name) for name in WRITERS}
    record = chaos("cassandra-0")
    assert record["ok"], record.get("error")
    assert record["up_normal_at"] is not None, "cassandra-0 never showed UN again"
    assert [(w["writer"], w["topic"], w["consistency"]) for w in record["writers"]] == list(
        zip(WRITERS, TOPICS, LEVELS, strict=True))
    assert all(w["samples"] > 0 and w["stall_s"] is not None for w in record["writers"])
    assert {r["topic"]: r["missing"] for r in record["verify"]} == dict.fromkeys(TOPICS, 0)
    assert record["lost_rows"] == 0
    by_level = {w["consistency"]: w for w in record["writers"]}
    table = [{"consistency": level, "stall_s": by_level[level]["stall_s"], "stall_open": by_level[level]["stall_open"],
              "recovery_s": record["recovery_s"], "writer_restarts": writer_restart_count(name) - restarts[name],
              "lost_rows": record["lost_rows"]} for name, level in zip(WRITERS, LEVELS, strict=True)]
    (ARTIFACTS / "consistency.json").write_text(json.dumps(table, indent=2))
    print(json.dumps(table, indent=2))
    for row in table:
        if row["consistency"] != "ALL":  # one replica down: two of three still answer, one is enough
            assert row["writer_restarts"] == 0, row
    # Not wedged: the round may stop sampling inside a short stall (a write re-sent while the returning node
    # warms up on a busy machine), but every QUORUM and ONE writer's stored progress passes the last seq the
    # round saw.
    for writer in record["writers"]:
        if writer["consistency"] != "ALL":
            seen = writer["seqs"][1]
            wait_for(lambda w=writer, seen=seen: verify_all()[w["topic"]]["last_seq"] > seen, timeout=120,
                     what=f"{writer['writer']} ({writer['consistency']}) writing past seq {seen} after the round")
    # ALL cannot write while a replica is down, so its stall spans the pod's recovery.
    assert by_level["ALL"]["stall_s"] > max(by_level["QUORUM"]["stall_s"], by_level["ONE"]["stall_s"])
    if by_level["QUORUM"]["stall_s"] >= STALL_BAR_S:
        print(f"BAR MISSED: QUORUM writer stall {by_level['QUORUM']['stall_s']:.1f}s after deleting cassandra-0 "
              f"(bar {STALL_BAR_S}s, missed by {by_level['QUORUM']['stall_s'] - STALL_BAR_S:.1f}s)")

    first_pods = json.loads(kubectl("get", "pods", "--selector", "app=ece573-prj04-writer", "--output",
                                    "json").stdout)["items"]
    second = chaos("writer-2")
    assert second["ok"], second.get("error")
    assert second["pod"].startswith("ece573-prj04-writer-2-"), second["pod"]
    still = json.loads(kubectl("get", "pods", "--selector", "app=ece573-prj04-writer", "--output",
                               "json").stdout)["items"]
    assert {p["metadata"]["uid"] for p in still} == {p["metadata"]["uid"] for p in first_pods}, \
        "deleting writer-2's pod touched the first writer"
    invoke("deploy", "--what", "writer")
    assert writer_deployments() == {"ece573-prj04-writer": TOPIC}
    reports = verify_all()
    for topic in TOPICS:
        assert reports[topic]["missing"] == 0 and reports[topic]["rows"] >= reports[topic]["last_seq"] > 0, \
            reports[topic]


def test_partition_of_one_replica_keeps_the_writer_writing(lab_up):
    """cassandra-2 cut off the network for 20 s (not deleted): QUORUM still has two replicas."""
    record = chaos_round("--partition", "cassandra-2", "--down", "20")
    assert (record["fault"], record["pod"]) == ("partition", "cassandra-2")
    assert record["ok"], record.get("error")
    assert record["restored_at"] - record["deleted_at"] >= 20
    assert record["lost_rows"] == 0
    assert record["writer_restarts"] == 0, f"the writer restarted: {record['writer_restart_causes']}"
    report = verify_topic()
    assert report["missing"] == 0 and report["rows"] >= report["last_seq"] > 0


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def watch_states(screen: str, pod: str) -> list[str]:
    """The states `invoke watch` drew in its ring table for ``pod`` (any row: ".*"), frame after frame, repeats
    collapsed. Rows are drawn with box characters, or with "|" when the terminal cannot show them."""
    states: list[str] = []
    for state in re.findall(rf"{pod}\s*[│|]\s*([UD][NJLM])\s*[│|]", ANSI.sub("", screen)):
        if not states or states[-1] != state:
            states.append(state)
    return states


def test_the_dashboard_and_watch_show_a_deletion_as_it_happens(lab_up):
    """`invoke dashboard` in headless Chromium and `invoke watch` in a pseudo-terminal, both on the live lab, while
    `invoke chaos --pod cassandra-1` runs: before, 5 kind nodes and 3 UN with the writer's acknowledged seq rising;
    during, cassandra-1 leaves the ring; after, it is back and the page's history row has the round JSON's figures.
    Screenshots of the three moments go to artifacts/screenshots/e2e-dashboard-*.png."""
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.lab.chromium import chromium

    shots = ROOT / "artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    dash_out: list[str] = []
    screen: list[str] = []
    dash = subprocess.Popen([sys.executable, "-m", "invoke", "dashboard", "--port", str(free_port())], cwd=ROOT,
                            env=lab_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            preexec_fn=restore_ctrl_c)
    threading.Thread(target=lambda: dash_out.extend(dash.stdout or ()), daemon=True).start()
    watch = in_a_terminal([sys.executable, "-m", "invoke", "watch"], rows=60, columns=160, cwd=ROOT, env=lab_env(),
                          screen=screen)
    browser = chromium(lambda why: pytest.fail(f"CI {why}"))
    try:
        url = wait_for(lambda: next((line.strip() for line in dash_out if line.startswith("http://127.0.0.1:")),
                                    None), timeout=60, every=0.5, what="the dashboard's URL")
        browser.get(url)
        page = WebDriverWait(browser, 60)

        # Read in one script each: the page redraws its elements on every update, so a found element can be
        # gone by the time it is asked for its text.
        def ring() -> dict[str, str]:
            pairs = browser.execute_script("return Array.from(document.querySelectorAll('#ring .ring-node'))"
                                           ".map((e) => [e.dataset.pod, e.dataset.state])")
            return dict(pairs)

        def acked() -> int:
            cell = browser.execute_script(f"const c = document.querySelector('#writers tr[data-writer=\"{WRITERS[0]}\"]"
                                          " td.seq'); return c ? c.textContent : ''")
            return int(cell) if cell.isdigit() else 0

        def newest_round() -> list[str]:
            return browser.execute_script("return Array.from(document.querySelectorAll("
                                          "'#rounds tbody tr:first-child td')).map((c) => c.textContent)")

        page.until(lambda d: ring() == {f"cassandra-{i}": "UN" for i in range(3)} and acked() > 0)
        assert browser.execute_script("return document.querySelectorAll('#nodes tbody tr').length") == 5
        first = acked()
        page.until(lambda d: acked() > first)  # the page updates by itself, from the writer's /metrics
        # ... pushed on its event stream (no request of its own for the state), into uPlot's chart, a line per writer
        page.until(lambda d: WRITERS[0] in d.execute_script(
            "return window.labChart ? window.labChart.series.slice(1).map((s) => s.label) : []"))
        assert browser.execute_script("return performance.getEntriesByType('resource').filter((e) => "
                                      "e.name.includes('/api/state')).length") == 0
        browser.save_screenshot(str(shots / "e2e-dashboard-before.png"))

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            round_ = pool.submit(chaos, "cassandra-1")
            WebDriverWait(browser, 120).until(lambda d: ring().get("cassandra-1") != "UN" or round_.done())
            assert ring().get("cassandra-1") != "UN", "the page never showed cassandra-1 away during its deletion"
            browser.save_screenshot(str(shots / "e2e-dashboard-during.png"))
            record = round_.result()
        assert record["ok"], record.get("error")

        page.until(lambda d: ring().get("cassandra-1") == "UN")
        figures = ["cassandra-1", "pod", f"{record['recovery_s']:.1f}"]
        page.until(lambda d: newest_round()[2:5] == figures)  # the history re-read after the round's JSON
        cells = newest_round()
        assert cells[6:8] == [str(record["lost_rows"]), "ok"], cells
        browser.save_screenshot(str(shots / "e2e-dashboard-after.png"))

        # While it was away its old address was DN, under its name or as "(no pod)"; then it is UN again.
        wait_for(lambda: watch_states("".join(screen), "cassandra-1")[-1:] == ["UN"], timeout=60, every=1,
                 what="invoke watch drawing cassandra-1 UN again")
        assert "DN" in watch_states("".join(screen), ".*?"), "invoke watch never drew a node DN"
    finally:
        browser.quit()
        for process in (watch, dash):
            process.send_signal(signal.SIGINT)  # Ctrl-C: both quit cleanly
        exits = [_exit_or_kill(process, timeout=30) for process in (watch, dash)]
    assert exits == [0, 0], f"watch and dashboard after Ctrl-C exited {exits} (None: killed after 30 s)"
    assert "Traceback" not in "".join(screen)


def _exit_or_kill(process: subprocess.Popen, *, timeout: float) -> int | None:
    """The exit code, or None when it did not end within ``timeout`` and was killed."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def observed(record: dict, pattern: str) -> re.Match:
    """The first note of a round's ``observed`` that matches ``pattern``."""
    for _, what in record["observed"]:
        if match := re.search(pattern, what):
            return match
    pytest.fail(f"no note matching {pattern!r} in {record['observed']}")


def gray_round_loses_nothing(record: dict, fault: str) -> None:
    """What every gray round must show: done, nothing lost by the witness's count, the writer never restarted."""
    assert record["fault"] == fault
    assert record["ok"], record.get("error")
    assert record["restored_at"] - record["deleted_at"] >= 10
    assert record["lost_rows"] == 0
    [row] = [w for w in record["witness"] if w["topic"] == TOPIC]
    assert row["below_witness"] is False and row["checked_to"] >= row["acked_highest"] > 0, row
    [entry] = [t for t in record["verify"] if t["topic"] == TOPIC]
    assert entry["missing"] == 0, entry
    assert record["writer_restarts"] == 0, f"the writer restarted: {record['writer_restart_causes']}"
    print(f"{fault}: recovery {record['recovery_s']} s, acknowledgement stall {record.get('ack_stall_s')} s")


def node_without_a_writer() -> str:
    """A worker hosting a Cassandra pod and no writer (the writers' own stall is not this round's question);
    cassandra-1's node when every Cassandra node hosts a writer."""
    pods = json.loads(kubectl("get", "pods", "--output", "json").stdout)["items"]
    node_of = {p["metadata"]["name"]: p["spec"].get("nodeName", "") for p in pods}
    writers = {node_of[n] for n, p in ((p["metadata"]["name"], p) for p in pods)
               if p["metadata"].get("labels", {}).get("app", "").startswith("ece573-prj04-writer")}
    free = sorted(node_of[c] for c in ("cassandra-0", "cassandra-1", "cassandra-2") if node_of[c] not in writers)
    return free[0] if free else node_of["cassandra-1"]


def test_gray_faults_pause_freeze_loss_dns_lose_nothing_and_are_undone(lab_up):
    """Short gray rounds (10 s each): a JVM paused, a node frozen, 30% of a replica's packets dropped, cluster DNS
    scaled away. QUORUM keeps two replicas answering throughout; each fault is undone when its round ends. Each
    round verified every topic already (its ``verify``), so no separate `invoke verify` (about 5 minutes in all)."""
    record = chaos_round("--pause", "cassandra-1", "--down", "10")
    gray_round_loses_nothing(record, "pause")
    pid, node = observed(record, r"SIGSTOP to pid (\d+) on (\S+)\)").groups()
    state = docker("exec", node, "sh", "-c", f"grep '^State:' /proc/{pid}/status || echo 'State: gone'").stdout
    assert "T (stopped)" not in state, f"cassandra-1's JVM is still stopped: {state}"

    frozen = node_without_a_writer()
    record = chaos_round("--freeze", frozen, "--down", "10")
    gray_round_loses_nothing(record, "freeze")
    assert record["pod"] == frozen
    assert docker("inspect", "--format", "{{.State.Paused}}", frozen).stdout.strip() == "false"

    record = chaos_round("--loss", "cassandra-2", "--percent", "30", "--down", "10")
    gray_round_loses_nothing(record, "loss")
    node, pid = observed(record, r"via node (\S+), pid (\d+)\)").groups()
    rules = docker("exec", node, "nsenter", f"--net=/proc/{pid}/ns/net", "iptables", "-w", "-S")
    assert rules.returncode == 0 and "LAB-LOSS" not in rules.stdout, rules.stdout

    before = json.loads(kubectl("--namespace", "kube-system", "get", "deployment", "coredns", "--output",
                                "json").stdout)["spec"]["replicas"]
    record = chaos_round("--dns", "--down", "10")
    gray_round_loses_nothing(record, "dns")
    after = json.loads(kubectl("--namespace", "kube-system", "get", "deployment", "coredns", "--output",
                               "json").stdout)
    assert after["spec"]["replicas"] == before and after["status"].get("readyReplicas") == before, after["status"]


def test_all_cassandra_pods_at_once_the_writer_resumes_by_itself(lab_up):
    """Every replica deleted together: they come back with new IPs; the writer finds them unaided."""
    record = chaos_round("--pod", "cassandra")
    assert (record["fault"], record["pod"]) == ("all-pods", "cassandra-0,cassandra-1,cassandra-2")
    assert record["ok"], record.get("error")
    assert record["resumed_at"] is not None, "the writer never wrote again after the outage"
    # Both instants: a QUORUM of the new pods Ready (CQL open), and the writer's first acknowledged write after its
    # longest stall (from its /acks). Either may come first (a write needs one coordinator with CQL open and two
    # replicas alive): the figure between them is measured, not asserted.
    assert record["deleted_at"] < record["quorum_ready_at"] <= record["ready_at"], record
    assert record["ack_stall_source"] == "acks" and record["ack_resumed_at"] > record["deleted_at"], record
    print(f"all pods: QUORUM Ready +{record['quorum_ready_at'] - record['deleted_at']:.1f} s, first acknowledged "
          f"write after it {record['ack_resumed_at'] - record['quorum_ready_at']:+.2f} s, acknowledgement stall "
          f"{record['ack_stall_s']:.3f} s, recovery {record['recovery_s']:.1f} s")
    assert record["lost_rows"] == 0
    assert record["writer_restarts"] == 0, f"the writer restarted: {record['writer_restart_causes']}"
    report = verify_topic()
    assert report["missing"] == 0 and report["rows"] >= report["last_seq"] > 0


def test_verify_finds_a_changed_value_and_names_its_seq(lab_up):
    """One stored value overwritten with cqlsh (what a bad write or a bit flip leaves): `invoke verify` fails and
    names the seq as corrupted, apart from missing; the right value put back (writer.values), it passes again.
    Before the lesson: until then only the robust writer wrote this topic, so its values are checked."""
    from writer.values import value_for

    before = verify_topic()
    assert before["values"] == "checked" and before["missing"] == 0 and before["corrupted"] == [], before
    seq = before["last_seq"] // 2
    right = value_for(TOPIC, seq)
    wrong = 0.5 if right != 0.5 else 0.25

    def set_value(value: float) -> None:
        invoke("cqlsh", "--execute", f"CONSISTENCY ALL; UPDATE ece573.prj04 SET value = {value!r} "
                                     f"WHERE topic = '{TOPIC}' AND seq = {seq};")

    set_value(wrong)
    try:
        since = time.time()
        failed = invoke("verify", "--topic", TOPIC, check=False)
        assert failed.returncode == 1, failed.stdout[-2000:]
        assert f"1 corrupted value(s) at seq {seq}" in failed.stderr, failed.stderr[-2000:]
        [report] = [t for t in newest(ARTIFACTS / "verify", since)[-1]["topics"] if t["topic"] == TOPIC]
        assert (report["corrupted"], report["missing"]) == ([[seq, seq]], 0), report
    finally:
        set_value(right)  # the later scenarios verify this topic
    after = verify_topic()
    assert after["ok"] and after["corrupted"] == [] and after["values"] == "checked", after


def test_lesson_seed_writer_fails_then_the_robust_one_survives(lab_up):
    """`invoke lesson`: sections IV and V lived, recorded for the report; the lab is left robust."""
    invoke("lesson", timeout=3000)
    record = json.loads((ARTIFACTS / "lesson" / "lesson.json").read_text())
    steps = {int(k): v["facts"] for k, v in record["steps"].items()}
    print(json.dumps({"steps": steps, "table": record["table"]}, indent=2))
    assert "Unknown topic" in steps[1]["unknown_topic_line"] and steps[1]["restarts"] >= 1
    assert "Unknown consistency level" in steps[1]["unknown_consistency_line"] and steps[1]["consistency_restarts"] >= 1
    assert steps[2]["seed_restarts_after"] - steps[2]["seed_restarts_before"] >= 1, "the seed writer survived"
    assert steps[2]["pod_restarts"] == 0, "a recreated pod starts with RESTARTS 0"
    assert steps[3]["start_without_resume"] == 0 and steps[3]["start_with_resume"] > 0
    # resumed from exactly what was stored while no writer ran
    assert steps[3]["start_with_resume"] == steps[3]["stored_before_with_resume"]
    assert steps[4]["robust_restarts"] == 0 and steps[4]["gaps"] == 0 and not steps[4]["error"]
    assert steps[4]["crashed"] is steps[2]["crashed"], "step 4 must apply the fault step 2 finally applied"
    assert [row[0] for row in record["table"]["rows"]] == ["seed", "seed + resume", "robust"]
    assert [row[1] for row in record["table"]["rows"]][::2] == [lesson_table.fault(steps[2])] * 2
    logs = wait_for(lambda: (out := writer_logs()) and re.findall(rf"{TOPIC}: start from lastSeq=(\d+)", out),
                    timeout=180, what="the robust writer's resume line after the lesson")
    assert int(logs[-1]) > 0
    assert verify_topic()["missing"] == 0


#: The Go writer's own topic: it starts from seq 1 on every start, and must not move the lab writer's last_seq back.
GO_TOPIC = "go"
#: Cassandra as the assignment runs it: no logins (lab.cassandra.auth off), the writer given no credentials.
AUTH_OFF = {"INVOKE_LAB_CASSANDRA_AUTH": "off"}


@pytest.fixture
def labs_writer_after():
    """The Go writer scenario swaps the writer and turns logins off: put the lab's own writer and logins back
    (`invoke build deploy`: the lab's writer image is still there, Cassandra rolls back to PasswordAuthenticator,
    the roles are checked) whatever happened, so the later scenarios run on the lab they were written for."""
    yield
    invoke("build", "deploy", timeout=2400)
    assert writer_deployments() == {"ece573-prj04-writer": TOPIC}


def writer_running_again(restarts_before: int) -> bool:
    """The first writer's container runs, in a run that began after ``restarts_before`` restarts."""
    pods = json.loads(kubectl("get", "pods", "--selector", "app=ece573-prj04-writer", "--output", "json").stdout)
    statuses = [c for p in pods["items"] for c in p["status"].get("containerStatuses", [])]
    return bool(statuses) and all(c.get("state", {}).get("running") and c.get("restartCount", 0) > restarts_before
                                  for c in statuses)


def pod_ready(name: str) -> bool:
    """``name`` exists, is not being deleted, and is Ready (a deleted StatefulSet pod's successor, once back)."""
    pod = json.loads(kubectl("get", "pod", name, "--output", "json").stdout or "{}")
    return not pod.get("metadata", {}).get("deletionTimestamp") and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions", []))


def go_writer_logs(*, previous: bool = False) -> str:
    """The writer pods' log (or their last run's), through kubectl: a crash-looping pod may have no current run."""
    return kubectl("logs", "--selector", "app=ece573-prj04-writer", "--tail", "200",
                   *(["--previous"] if previous else [])).stdout


#: What the Go writer reads only with its resume flag: cut out, it is the assignment's writer as a student first
#: commits it (the writer's checkout's first commit), so the report's section V shows the resume as the change.
GO_RESUME_CODE = (
    re.compile(r'^\t"flag"\n', re.M),
    re.compile(r"^\tresumeFlag := flag\.Bool\(.*\n\tflag\.Parse\(\)\n\n", re.M),
    re.compile(r"^\tresume := \*resumeFlag .*\n", re.M),
    re.compile(r"^\tif resume \{\n(?:\t\t.*\n)*?\t\}\n", re.M),
)


def go_writer_checkout(folder: Path) -> Path:
    """The tests' Go writer (compiled) as a student's git checkout in ``folder``: first commit without the resume
    code (the assignment's writer), second commit the writer as it is (the section V change)."""
    from tests.gowriter import GOWRITER, build_binary

    build_binary()
    checkout = folder / "gowriter"
    shutil.copytree(GOWRITER, checkout)
    main = checkout / "main.go"
    changed = main.read_text()
    original = changed
    for code in GO_RESUME_CODE:
        original, cut = code.subn("", original)
        assert cut == 1, f"{code.pattern} is not once in {GOWRITER / 'main.go'}: update GO_RESUME_CODE"

    def git(*args: str) -> None:
        done = subprocess.run(["git", "-C", str(checkout), "-c", "user.name=student", "-c",
                               "user.email=student@example.org", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"

    main.write_text(original)
    git("init", "--quiet")
    git("add", ".")
    git("commit", "--quiet", "--message", "the assignment's writer")
    main.write_text(changed)
    git("commit", "--quiet", "--all", "--message", "resume from prj04_last_seq (WRITER_RESUME=true)")
    return checkout


def no_writer_pod() -> bool:
    return not json.loads(kubectl("get", "pods", "--selector", "app=ece573-prj04-writer", "--output",
                                  "json").stdout)["items"]


def test_a_go_writer_of_your_own_crash_loops_writes_and_is_restarted_as_in_the_assignment(lab_up, labs_writer_after,
                                                                                            tmp_path):
    """A student's writer as it is: the tests' Go writer (gocql, log.Fatalf on any error, from seq 1 on every start,
    no credentials) in a git checkout, built with `invoke build --writer-dir` and deployed on Cassandra without
    logins. No topic: it crash-loops on 'Unknown topic'; with one it writes; deleting cassandra-1 kills it (at ALL a
    write cannot succeed with a replica down) and Kubernetes restarts it. Deleted and deployed again with its resume
    flag (`invoke deploy --resume`: WRITER_RESUME=true) it starts from the last_seq stored while no writer ran and
    writes on; verify finds every row up to its last_seq; `invoke report` shows in section V the checkout's change
    (the resume code) and the resumed start."""
    source = str(go_writer_checkout(tmp_path))
    deployed = invoke("build", "--writer-dir", source, "deploy", "--topic", "", "--consistency", "ALL", env=AUTH_OFF,
                      timeout=2400)
    assert "auth off (lab.cassandra.auth): Cassandra runs AllowAllAuthenticator" in deployed.stderr
    assert "your writer has no TOPIC" in deployed.stderr
    wait_for(lambda: writer_restart_count() >= 1 and "Unknown topic" in go_writer_logs() + go_writer_logs(
        previous=True), timeout=180, what="the Go writer's 'Unknown topic' crash loop")
    shown = invoke("status", env=AUTH_OFF, check=False).stdout
    assert "Cassandra logins: off (AllowAllAuthenticator" in shown
    assert re.search(r"^ece573-prj04-writer-\S+\s+\d/1\s+\S+\s+[1-9]\d*\s", shown, re.M), shown  # restarted

    invoke("deploy", "--what", "writer", "--topic", GO_TOPIC, "--consistency", "ALL", env=AUTH_OFF)
    logs = wait_for(lambda: (out := go_writer_logs()) and f"{GO_TOPIC}: inserted rows to seq 1000" in out and out,
                    timeout=240, what="the Go writer's first 1000 rows")
    assert "Connected to cluster ece573-prj04" in logs and f"{GO_TOPIC}: start from lastSeq=0" in logs
    [pod] = json.loads(kubectl("get", "pods", "--selector", "app=ece573-prj04-writer", "--output", "json").stdout)[
        "items"]
    container = pod["spec"]["containers"][0]
    assert container["image"].startswith("ece573-prj04-writer:") and not {"livenessProbe", "readinessProbe"} & set(
        container)
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert not {"CASSANDRA_USERNAME", "CASSANDRA_PASSWORD"} & {e["name"] for e in container["env"]}

    before = writer_restart_count()
    assert kubectl("delete", "pod", "cassandra-1").returncode == 0
    wait_for(lambda: writer_restart_count() > before, timeout=240, what="Kubernetes restarting the Go writer")
    # Its last run's log says why it died. Read until one is there: while cassandra-1 is away the writer crash-loops
    # at ALL, and kubectl cannot read a run the kubelet is just replacing ("unable to retrieve container logs").
    wait_for(lambda: re.search(r"Cannot (write|connect|query|read)", go_writer_logs(previous=True)), timeout=180,
             every=2, what="the Go writer's last run ending on a failed write or connection")
    wait_for(lambda: pod_ready("cassandra-1"), timeout=600, what="cassandra-1 back and Ready")
    # Restarted, it starts from seq 1 again (no resume): a run begun after the crash reaches 1000 once more. (A
    # crash-looping pod's log is its last run's, so the run must be a current one.)
    wait_for(lambda: writer_running_again(before) and (out := go_writer_logs())
             and f"{GO_TOPIC}: start from lastSeq=0" in out and f"{GO_TOPIC}: inserted rows to seq 1000" in out,
             timeout=420, what="the restarted Go writer writing again")

    # Section V: the Deployment deleted (its pod gone, so nothing writes), then deployed with the resume flag.
    invoke("delete", "--what", "writer", env=AUTH_OFF)
    wait_for(no_writer_pod, timeout=120, every=2, what="the deleted Go writer's pod gone")
    stored = verify_topic(GO_TOPIC)["last_seq"]
    assert stored >= 1000
    invoke("deploy", "--what", "writer", "--topic", GO_TOPIC, "--consistency", "ALL", "--resume", env=AUTH_OFF)
    next_thousand = (stored // 1000 + 1) * 1000
    logs = wait_for(lambda: (out := go_writer_logs()) and f"{GO_TOPIC}: inserted rows to seq {next_thousand}" in out
                    and out, timeout=240, what=f"the resumed Go writer past seq {next_thousand}")
    assert re.findall(rf"{GO_TOPIC}: start from lastSeq=(\d+)", logs) == [str(stored)], logs[-2000:]
    report = verify_topic(GO_TOPIC)
    assert report["missing"] == 0 and report["rows"] >= report["last_seq"] >= next_thousand, report

    # The hand-in: the change since the checkout's first commit, and the resume the lab saw.
    out = ARTIFACTS / "reports-go-writer"
    invoke("report", "--out", str(out), env={**AUTH_OFF, "INVOKE_LAB_WRITER_TOPIC": GO_TOPIC})
    [folder] = sorted(p for p in out.iterdir() if p.is_dir())[-1:]
    change = json.loads((folder / "report.json").read_text())["data"]["writer_change"]
    assert change["git"] is True and Path(change["dir"]) == Path(source).resolve() and change["lines"] > 0, change
    page = (folder / "report.html").read_text()
    assert '<code class="language-diff">' in page
    # The diff block's lines, one <span class="ln"> each, as the reader sees them.
    diff_lines = [unescape(line) for line in re.findall(r'<span class="ln">(.*?)</span>', page)]
    assert '+\tresume := *resumeFlag || os.Getenv("WRITER_RESUME") == "true"' in diff_lines, diff_lines
    assert "+\tif resume {" in diff_lines, diff_lines
    assert f"start from lastSeq={stored}" in unescape(page)


def test_changed_build_rolls_out_and_resumes(lab_up):
    """A different base image gives the writer a new content tag; `invoke build deploy` rolls it out."""
    changed_base = "lab-e2e/debian:changed-base"
    sh.docker("tag", "debian:bookworm-slim", changed_base)  # raises sh.ErrorReturnCode if it fails
    before = verify_topic()
    try:
        invoke("build", "deploy", env={"INVOKE_LAB_IMAGES_WRITER_BASE": changed_base})
    finally:
        sh.docker("rmi", changed_base)  # only the test's tag goes: debian:bookworm-slim keeps the image
    logs = wait_for(lambda: (out := writer_logs()) and re.findall(rf"{TOPIC}: start from lastSeq=(\d+)", out),
                    timeout=180, what="the rolled-out writer's resume line")
    assert int(logs[-1]) >= before["last_seq"], "the new build did not resume from the stored progress"
    time.sleep(10)
    after = verify_topic()
    assert after["missing"] == 0 and after["last_seq"] > before["last_seq"]


def ring_lines() -> list[str]:
    """The node lines of `invoke nodetool` (nodetool status in cassandra-0): UN, DN, UJ, UL ..."""
    return re.findall(r"^[UD][NLJM]\s.*$", invoke("nodetool").stdout, re.M)


@pytest.fixture
def three_nodes_after():
    """A scale scenario that fails half-way would leave the ring at 4 nodes, and every later scenario (chaos
    rounds, the report) is written for 3 and would fail with it: put the ring back to 3 whatever happened."""
    yield
    sts = json.loads(kubectl("get", "statefulset", "cassandra", "--output", "json").stdout or "{}")
    if sts.get("spec", {}).get("replicas") != 3:
        invoke("scale", "--replicas", "3", timeout=2400, check=False)


def test_scale_up_and_down_with_the_writer_writing(lab_up, three_nodes_after):
    """3 -> 4 -> 3 while the writer writes at QUORUM: the new node joins, the ring shrinks back by decommission,
    nothing is lost, no DN is left behind, and the fourth node's PVC is gone.

    The node scale adds never answers the built-in login: the prober (tests/e2e/default_login.py) tries
    cassandra/cassandra on cassandra-3 once a second from a pod with the writers' labels, which cassandra.yml's policy
    admits (scale closes no door), from the moment the pod has an address until scale returns. Cassandra makes its
    default role only where a read at ONE, then two at QUORUM, find no role at all, and a joining node reads
    system_auth from its peers, where the lab's roles are; so Cassandra refuses every try, on any pod network."""
    for wanted, why in (("2", "keeps 3 copies of every row"), ("5", "anti-affinity puts one Cassandra pod")):
        refused = invoke("scale", "--replicas", wanted, check=False)
        assert refused.returncode == 2 and why in refused.stderr, refused.stderr[-500:]
    before, restarts = verify_topic(), writer_restart_count()
    prober = DefaultLoginProber(on_e2e_cluster_argv(), pod="cassandra-3").start()
    try:
        grown = invoke("scale", "--replicas", "4", timeout=2400)
    finally:
        prober.stop()
    assert re.search(r"Scaled cassandra from 3 to 4 nodes", grown.stdout)
    assert prober.existed_before is False, "cassandra-3 existed before scale: there was no first start to watch"
    during = tried_throughout(prober, "scale")
    never_logged_in(prober)
    assert AUTH_FAILED in during, "cassandra-3 never answered the prober while scale ran: it proved nothing"
    assert_builtin_login_refused("cassandra-3")
    assert [line.split()[0] for line in ring_lines()] == ["UN"] * 4
    assert kubectl("get", "pvc", "cassandra-data-cassandra-3").returncode == 0
    middle = verify_topic()
    assert middle["missing"] == 0 and middle["last_seq"] > before["last_seq"]
    shrunk = invoke("scale", "--replicas", "3", timeout=2400)
    assert re.search(r"Scaled cassandra from 4 to 3 nodes", shrunk.stdout)
    assert [line.split()[0] for line in ring_lines()] == ["UN"] * 3, "a node other than UN (DN?) was left behind"
    gone = kubectl("get", "pvc", "cassandra-data-cassandra-3")
    assert gone.returncode != 0 and "NotFound" in gone.stderr, "the decommissioned node's PVC is still there"
    sts = json.loads(kubectl("get", "statefulset", "cassandra", "--output", "json").stdout)
    assert sts["spec"]["replicas"] == 3 and sts["status"].get("readyReplicas") == 3
    after = verify_topic()
    assert after["missing"] == 0 and after["rows"] >= after["last_seq"] > middle["last_seq"]
    assert writer_restart_count() == restarts, "the writer restarted while the ring was scaled"
    print("scale 3->4:\n" + grown.stdout[grown.stdout.find("Scaled"):])
    print("scale 4->3:\n" + shrunk.stdout[shrunk.stdout.find("Scaled"):])


#: A second name for the e2e cluster in its kubeconfig: to the lab, a cluster that is not kind's.
ELSEWHERE = "lab-e2e-elsewhere"


def writer_pod_images() -> dict[str, str]:
    """pod -> the image its spec names, for every writer pod running and not being deleted. (Not the image the
    container status shows: the runtime names an image by its first tag, and the kind-loaded copy of the same
    build may be that, under another name.)"""
    pods = json.loads(kubectl("get", "pods", "--selector", "app=ece573-prj04-writer", "--output", "json").stdout)
    return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"]
            for p in pods["items"] if not p["metadata"].get("deletionTimestamp")
            and all(c.get("state", {}).get("running") for c in p["status"].get("containerStatuses", []) or [{}])}


def pull_secrets(pod: str) -> list[str]:
    """The imagePullSecrets ``pod``'s spec names."""
    spec = json.loads(kubectl("get", "pod", pod, "--output", "json").stdout)["spec"]
    return [entry["name"] for entry in spec.get("imagePullSecrets") or []]


def pull_events(pod: str) -> list[str]:
    """The kubelet's "Pulled" event messages for ``pod``: "Successfully pulled image "<ref>" in 1.2s ..." after a
    pull, "Container image "<ref>" already present on machine" without one."""
    events = kubectl("get", "events", "--field-selector", f"involvedObject.name={pod},reason=Pulled",
                     "--output", "json")
    return [event.get("message", "") for event in json.loads(events.stdout or "{}").get("items", [])]


@pytest.fixture
def registry_port():
    """A free port for the lab's registry in this test (not 5001: a registry of the user's own lab may hold it);
    afterwards the tags `invoke build` gave the writer image for it (localhost:<port>/...) are removed again, so
    the run leaves no image names behind in the user's Docker."""
    port = free_port()
    yield port
    listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", f"localhost:{port}/*")
    for ref in listed.stdout.split():
        docker("rmi", ref)  # a tag of an image that keeps its other names: only the name goes


def test_another_context_pulls_the_writer_from_a_registry(lab_up, registry_port):
    """The path to a cluster that is not kind: no `kind load`, a context that needs permission, and a registry the
    nodes pull from. The lab's registry (`invoke registry`, wired into the running cluster) stands in for a real
    one, and a second context name for the same cluster stands in for the other cluster. That registry wants the
    lab's login (anonymous requests are refused): the nodes pull with the lab's imagePullSecret, and the pods run
    the writer by the digest `invoke build` pushed, not by its tag."""
    port = registry_port
    made = kubectl("config", "set-context", ELSEWHERE, "--cluster", f"kind-{CLUSTER}", "--user", f"kind-{CLUSTER}")
    assert made.returncode == 0, made.stderr
    shown = invoke("registry", env={"INVOKE_LAB_IMAGES_REGISTRY_PORT": str(port)})
    assert "does not read" not in shown.stderr, "reset made nodes whose containerd ignores the registry"
    try:  # no login, no answer: not even the catalog
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/_catalog", timeout=10).close()
        anonymous = 200
    except urllib.error.HTTPError as err:
        anonymous = err.code
    assert anonymous == 401, f"the registry answered an anonymous request with {anonymous}"
    if kube_router_runs():  # egress: the registry is on the kind network, which Cassandra may not reach
        on_kind = f'{{{{(index .NetworkSettings.Networks "{kind.NETWORK}").IPAddress}}}}'
        registry_at = docker("inspect", "--format", on_kind, f"{CLUSTER}-registry").stdout.strip()
        assert registry_at, f"the registry {CLUSTER}-registry has no address on the {kind.NETWORK} network"
        seen = probe_pods({"e2e-stray-registry": ({"app": "e2e-stray"}, registry_at, registry.CONTAINER_PORT)})
        seen["cassandra-registry"] = exec_probe("cassandra-0", "cassandra", registry_at, registry.CONTAINER_PORT)
        print(json.dumps(seen, indent=2))
        assert seen["e2e-stray-registry"][-3:] == ["connected"] * 3, seen  # a pod no policy selects gets there
        assert every_try_failed(seen["cassandra-registry"]), seen
    elsewhere = {"INVOKE_LAB_CONTEXT": ELSEWHERE, "INVOKE_LAB_IMAGES_REGISTRY": f"localhost:{port}",
                 "INVOKE_LAB_IMAGES_REGISTRY_PORT": str(port)}
    refused = invoke("deploy", "--what", "writer", env=elsewhere, check=False)
    assert refused.returncode == 2 and f"refusing to deploy in kube context '{ELSEWHERE}'" in refused.stderr
    elsewhere["INVOKE_LAB_ALLOW_CONTEXT"] = ELSEWHERE
    before = verify_topic()
    invoke("build", "deploy", "--what", "writer", env=elsewhere)
    ours = f"localhost:{port}/ece573-prj04-writer"
    # The digest `invoke build` recorded from its push: the only reference deploy may render.
    recorded = json.loads((STATE_DIR / "state.json").read_text())
    digest = next(value for key, value in recorded.items() if key.startswith(f"digest {ours}:"))
    # The rollout is done when the new pod is available; the old, kind-loaded one is stopped just after.
    pulled = wait_for(lambda: (pods := writer_pod_images()) and all(i.startswith(ours) for i in pods.values())
                      and pods, timeout=120, what="only writer pods of the registry's image")
    print(f"writer pods after deploy through the registry: {pulled}")
    assert set(pulled.values()) == {f"{ours}@{digest}"}, pulled  # by digest, never by tag
    for pod in pulled:  # no node had this name before: the kubelet pulled it, with the lab's login, and says so
        pulls = pull_events(pod)
        print(f"{pod}: {pulls}, imagePullSecrets {pull_secrets(pod)}")
        assert any(f'Successfully pulled image "{ours}@{digest}"' in message for message in pulls), pulls
        assert pull_secrets(pod) == ["lab-registry-login"]
    secret = json.loads(kubectl("get", "secret", "lab-registry-login", "--output", "json").stdout)
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert list(json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]) == [f"localhost:{port}"]
    # ... and the registry saw it: a node's containerd fetched the writer's manifest by its digest, logged in (an
    # anonymous request gets 401, as above).
    served = docker("logs", f"{CLUSTER}-registry")
    assert re.search(rf'"GET /v2/ece573-prj04-writer/manifests/{digest}(?:\?\S*)? HTTP/1.1" 200 .*"containerd/',
                     served.stdout + served.stderr), (served.stdout + served.stderr)[-2000:]
    record = chaos("writer", **elsewhere)
    assert record["ok"], record.get("error")
    assert record["lost_rows"] == 0
    replaced = wait_for(lambda: (pods := writer_pod_images()) and set(pods).isdisjoint(pulled) and pods,
                        timeout=120, what="the chaos round's replacement writer pod alone")
    print(f"writer pods after the chaos round: {replaced}")
    assert set(replaced.values()) == {f"{ours}@{digest}"}, replaced
    # A pod keeps nothing: the replacement read its progress from Cassandra and writes past it.
    resumed = wait_for(lambda: [int(n) for n in re.findall(rf"{TOPIC}: start from lastSeq=(\d+)", writer_logs())],
                       timeout=120, what="the replacement writer pod's 'start from lastSeq' line")
    assert resumed[-1] >= before["last_seq"] > 0, "the replacement writer did not resume from the stored seq"
    time.sleep(10)
    after = verify_topic()
    assert after["missing"] == 0 and after["last_seq"] > resumed[-1]


def test_report_collects_every_section(lab_up):
    """`invoke report --check --pdf`: the report from the live cluster, every key fact at its bar, and the PDF."""
    out = ARTIFACTS / "reports"
    invoke("report", "--check", "--pdf", "--out", str(out))
    [folder] = sorted(p for p in out.iterdir() if p.is_dir())[-1:]
    report = json.loads((folder / "report.json").read_text())
    facts = {f["name"]: f for f in report["facts"]}
    assert facts["kind nodes"]["value"] == "5"
    assert facts["nodes UN (nodetool status)"]["value"] == "3 of 3"
    assert facts["cqlsh: cluster_name"]["value"] == "ece573-prj04"
    assert int(facts["writer progress (log)"]["value"].rsplit(" ", 1)[-1]) > 0
    assert facts["chaos rounds ok"]["ok"] is True
    assert [name for name in facts if name.startswith("gaps")] and all(
        f["ok"] for name, f in facts.items() if name.startswith("gaps"))
    html = (folder / "report.html").read_text()
    for section in ("II", "III", "IV", "V"):
        assert f">{section}." in html or f"{section}. " in html
    from pypdf import PdfReader  # the hand-in: its text holds every section heading

    pdf_text = " ".join(page.extract_text() for page in PdfReader(folder / "report.pdf").pages)
    for heading in ("II. kind cluster setup", "III. The Cassandra service", "IV. Build and deploy an application",
                    "V. Stateless application"):
        assert heading in pdf_text


# Every Cassandra JVM killed at once comes last among the data scenarios: under periodic it may lose acknowledged
# rows for good, and every scenario above (the report's gaps too) asserts that nothing is missing. Batch runs
# first, on the data every scenario above left complete, so its 0 missing is this crash's alone.

def crash_witness(record: dict) -> tuple[dict, dict]:
    """The topic's witness row and verify entry in a crash round, after checking that the round compared the
    last_seq Cassandra stored with what a witness outside it saw the writer acknowledge (its watermark on
    /metrics): before the fault, and at any moment (verify's bound)."""
    [row] = [w for w in record["witness"] if w["topic"] == TOPIC]
    for key in ("acked_before_fault", "acked_highest", "stored_last_seq", "checked_to"):
        assert isinstance(row[key], int) and not isinstance(row[key], bool), (key, row)
    assert row["checked_to"] == max(row["stored_last_seq"], row["acked_highest"]), row
    assert isinstance(row["below_witness"], bool), row
    [entry] = [t for t in record["verify"] if t["topic"] == TOPIC]
    print(json.dumps({"commitlog_sync": record["commitlog_sync"], "kill_spread_ms": record["kill_spread_ms"],
                      **{k: row[k] for k in ("acked_before_fault", "acked_highest", "stored_last_seq", "checked_to",
                                             "below_witness")},
                      "missing": entry["missing"], "lost_rows": record["lost_rows"],
                      "recovery_s": record["recovery_s"]}, indent=2))
    return row, entry


def crash_round_facts(record: dict, mode: str) -> None:
    """What every crash round records: all three killed in place, the mode the nodes ran, the kills' spread."""
    assert (record["fault"], record["pod"]) == ("crash", "cassandra-0,cassandra-1,cassandra-2")
    assert record["commitlog_sync"].split(" ")[0] == mode, record["commitlog_sync"]
    assert isinstance(record["kill_spread_ms"], (int, float)) and record["kill_spread_ms"] >= 0
    assert any("SIGKILL to pid" in what for _, what in record["observed"]), record["observed"]
    restarts = {p["metadata"]["name"]: sum(c.get("restartCount", 0) for c in p["status"]["containerStatuses"])
                for p in json.loads(kubectl("get", "pods", "--selector", "app=cassandra", "--output",
                                            "json").stdout)["items"]}
    assert all(count >= 1 for count in restarts.values()), f"a pod was not restarted in place: {restarts}"


@pytest.fixture
def cassandra_in_batch():
    """Cassandra redeployed with lab.cassandra.commitlog_sync batch (the StatefulSet rolls, one pod at a time, the
    writer writing), then back to periodic whatever happened: the lab's default is Cassandra's."""
    try:
        invoke("deploy", "--what", "cassandra", env={"INVOKE_LAB_CASSANDRA_COMMITLOG_SYNC": "batch"}, timeout=2400)
        yield
    finally:
        invoke("deploy", "--what", "cassandra", timeout=2400, check=False)


def test_every_replica_crashed_at_once_under_batch_loses_nothing(lab_up, cassandra_in_batch):
    """`commitlog_sync: batch` acknowledges a write only after its fsync: every JVM SIGKILLed at the same instant,
    and every write the writer saw acknowledged is still there."""
    sts = json.loads(kubectl("get", "statefulset", "cassandra", "--output", "json").stdout)
    [jvm] = [e["value"] for e in sts["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "JVM_OPTS"]
    assert "-Dcassandra.settings.commitlog_sync=batch" in jvm.split()
    # A re-deploy that restarted every node brought no built-in login back (Cassandra found the lab's roles).
    assert_builtin_login_refused("cassandra-0")
    assert verify_topic()["missing"] == 0
    record = chaos_round("--crash", "cassandra")
    crash_round_facts(record, "batch")
    row, entry = crash_witness(record)
    assert record["ok"], record.get("error")
    assert record["lost_rows"] == 0 and entry["missing"] == 0 and row["below_witness"] is False
    assert record["resumed_at"] is not None, "the writer never wrote again after the crash"


def test_every_replica_crashed_at_once_under_periodic_is_caught_by_the_witness(lab_up):
    """Cassandra's default acknowledges before the fsync: the same crash may lose acknowledged writes. Whether this
    run lost any is the data's to say; that the round compared what it stored with what was acknowledged, and
    fails (exit 1) exactly when it lost some, is asserted."""
    since = time.time()
    ran = invoke("chaos", "--crash", "cassandra", "--rounds", "1", check=False)
    [record] = newest(ARTIFACTS / "chaos", since)
    crash_round_facts(record, "periodic")
    row, entry = crash_witness(record)
    assert record["up_normal_at"] is not None and record["resumed_at"] is not None, record.get("error")
    lost = record["lost_rows"] > 0 or row["below_witness"]
    if lost:
        print(f"LOST under periodic: {record['lost_rows']} acknowledged row(s) missing, gaps {entry['gaps']}")
        assert ran.returncode == 1 and not record["ok"], ran.stderr[-500:]
        assert entry["missing"] == record["lost_rows"]
    else:
        print("this periodic crash lost nothing the witness saw acknowledged (stored last_seq at or above it, no gap)")
        assert ran.returncode == 0 and record["ok"], (ran.returncode, record.get("error"))


def test_no_password_in_any_file_the_run_wrote(lab_up):
    """The passwords live in the Secrets only (the registry's also in its own folder under .cache): not in artifacts,
    reports, rendered manifests or the lab's state."""
    passwords = lab_passwords() + registry_passwords()
    folders = [ARTIFACTS, ROOT / "reports"]  # ARTIFACTS holds STATE_DIR
    scanned = 0
    for folder in folders:
        for path in (p for p in folder.rglob("*") if p.is_file()) if folder.exists() else ():
            data = path.read_bytes()
            scanned += 1
            assert not any(pw.encode() in data for pw in passwords), f"a password is in {path}"
    assert scanned > 10, f"only {scanned} files scanned: the run wrote less than expected"
