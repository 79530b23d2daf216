"""A prober of Cassandra's built-in login during the session's one deploy, from where an attacker would be.

From the moment ``cassandra-0`` is Ready until deploy returns, a pod of the lab's namespace tries
``cassandra``/``cassandra`` against cassandra-0's CQL port once a second and prints one line per attempt: the proof
that the well-known superuser has no window (issue: no default superuser window). The pod carries the writers'
labels, which cassandra.yml's NetworkPolicy admits to CQL: the most a workload of the lab can have. It does not
carry ``app=ece573-prj04-writer``, which deploy's rollout and the writer Deployment select, nor is it named like a
writer (``e2e-``: the tests that list the lab's pods leave it out). The lab's own bootstrap enters through the
pod's loopback (kubectl exec), so a prober on that path (a port-forward) would prove nothing about other clients.

The same prober watches the node ``invoke scale`` adds (``pod``: ``cassandra-3``), from the moment it is Ready until
scale returns: a joining node must never answer the built-in login either (it reads the roles from its peers; see
test_e2e.py's scale scenario).

It rides on the deploy the end-to-end tier runs anyway, so it costs no cluster time of its own, and little CPU beside
three starting JVMs: one Python process with the driver imported once, capped at a quarter of a core, created as soon
as cassandra-0 has an address (deploy's build is done then, so the writer image is on every node), a minute before
it serves. ``stop()`` reads its log and deletes it, whatever happened; its own deadline ends it if the test process
dies first.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass, field

#: The Cassandra pod the prober tries by default: the first one, which deploy's bootstrap runs in.
POD = "cassandra-0"
PROBER = "e2e-default-login"
#: The writer image under the name writer.yml types: `invoke build` puts it on every node before deploy runs.
IMAGE = "ece573-prj04-writer:v1"
#: The labels cassandra.yml's NetworkPolicy admits to CQL (every writer's), without the writer Deployment's own.
WRITER_LABELS = {"app.kubernetes.io/component": "writer", "app.kubernetes.io/part-of": "ece573-prj04"}
#: Seconds between attempts (and between checks of cassandra-0): a login refused costs Cassandra one bcrypt check.
PAUSE = 1.0
#: Seconds an attempt may take to connect and log in (a policy that drops rather than refuses takes all of it).
ATTEMPT_TIMEOUT = 3.0
#: Seconds the prober pod lives at most, should nobody delete it (the e2e tier's longest invoke).
DEADLINE = 1800

#: The outcomes a line can name: the login worked; Cassandra refused it; the connection was refused or timed out
#: (a closed door, or CQL not open yet); anything else.
SUCCESS, AUTH_FAILED, REFUSED, TIMEOUT, ERROR = "SUCCESS", "auth-failed", "refused", "timeout", "error"

# Runs in the prober pod: one line per attempt, "<epoch seconds> <outcome> <detail>", until killed.
SCRIPT = f"""
import ssl, sys, time
from cassandra import AuthenticationFailed, OperationTimedOut
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable
from cassandra.policies import WhiteListRoundRobinPolicy

host = sys.argv[1]

def outcome(err):
    inner = list((getattr(err, "errors", None) or {{}}).values()) or [err]
    if all(isinstance(e, AuthenticationFailed) for e in inner):
        return "{AUTH_FAILED}"
    words = " ".join(str(e) for e in inner).lower()
    if isinstance(inner[0], ConnectionRefusedError) or "refused" in words:
        return "{REFUSED}"
    if isinstance(inner[0], (OperationTimedOut, TimeoutError)) or "timed out" in words:
        return "{TIMEOUT}"
    return "{ERROR}"

# TLS as 9042 wants it (lab.security.tls, on in this tier), but no check of the node's certificate: an attacker
# needs no CA to try a login, so neither does the prober. Only the login must stop it.
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
tls.check_hostname = False
tls.verify_mode = ssl.CERT_NONE

while True:
    at = time.time()
    cluster = Cluster([host], auth_provider=PlainTextAuthProvider("cassandra", "cassandra"), protocol_version=5,
                      ssl_context=tls,
                      load_balancing_policy=WhiteListRoundRobinPolicy([host]), connect_timeout={ATTEMPT_TIMEOUT},
                      control_connection_timeout={ATTEMPT_TIMEOUT}, schema_metadata_enabled=False,
                      token_metadata_enabled=False)
    try:
        session = cluster.connect()
    except Exception as err:
        said, detail = outcome(err), f"{{type(err).__name__}}: {{err}}"
    else:  # the login worked, whatever the read that shows it says
        said = "{SUCCESS}"
        try:
            detail = f"logged in, read {{session.execute('SELECT role FROM system_auth.roles LIMIT 1').one()}}"
        except Exception as err:
            detail = f"logged in, the read failed: {{type(err).__name__}}: {{err}}"
    finally:
        cluster.shutdown()
    print(f"{{at:.3f}} {{said}} {{' '.join(detail.split())[:200]}}", flush=True)
    time.sleep(max(0.0, {PAUSE} - (time.time() - at)))
"""


def prober_pod(target: str) -> dict:
    """The prober pod: the writers' labels, the namespace's restricted standard met, no service-account token,
    no Service variables, gone after DEADLINE seconds whatever happens."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": PROBER, "labels": dict(WRITER_LABELS)},
        "spec": {
            "restartPolicy": "Never", "activeDeadlineSeconds": DEADLINE, "terminationGracePeriodSeconds": 1,
            "automountServiceAccountToken": False, "enableServiceLinks": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "prober", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
                # The driver's warnings would go to the log as lines that are no attempt.
                "command": ["python", "-W", "ignore", "-c", SCRIPT, target],
                "resources": {"requests": {"cpu": "10m", "memory": "64Mi", "ephemeral-storage": "1Mi"},
                              "limits": {"cpu": "250m", "memory": "192Mi", "ephemeral-storage": "16Mi"}},
                "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
            }],
        },
    }


@dataclass
class Attempt:
    at: float  # epoch seconds, in the pod (the kind nodes share this host's clock)
    outcome: str  # SUCCESS, AUTH_FAILED, REFUSED, TIMEOUT or ERROR
    detail: str = ""


def parse(log: str) -> list[Attempt]:
    """The prober pod's lines, in order; a line that is not an attempt (a traceback) is an ERROR attempt."""
    attempts = []
    for line in log.splitlines():
        at, _, rest = line.partition(" ")
        outcome, _, detail = rest.partition(" ")
        try:
            attempts.append(Attempt(float(at), outcome, detail))
        except ValueError:
            attempts.append(Attempt(attempts[-1].at if attempts else 0.0, ERROR, line[:200]))
    return attempts


@dataclass
class DefaultLoginProber:
    """``start()`` before deploy (or scale), ``stop()`` when it returns. ``kubectl``: the argv prefix naming the
    cluster; ``pod``: the Cassandra pod whose CQL port it tries."""

    kubectl: list[str]
    pod: str = POD
    attempts: list[Attempt] = field(default_factory=list)
    existed_before: bool | None = None  # the pod existed when the prober started: no first start to watch
    target: str = ""  # the pod's address, as the prober pod was given it
    ready_at: float | None = None
    stopped_at: float | None = None
    log: str = ""
    error: str = ""  # the prober's own failure, if any (the test reports it)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="default-login-prober", daemon=True)

    def start(self) -> DefaultLoginProber:
        self.existed_before = self._kubectl("get", "pod", self.pod, "--output", "name").returncode == 0
        self._kubectl("delete", "pod", PROBER, "--ignore-not-found", "--wait=false")  # a leftover of a killed run
        self._thread.start()
        return self

    def stop(self) -> None:
        """The attempts from the prober pod's log, then the pod deleted (waited for: no test after this sees it)."""
        self.stopped_at = time.time()
        self._stop.set()
        self._thread.join(60)
        try:
            if self.target:
                ran = self._kubectl("logs", PROBER)
                self.log = ran.stdout
                self.attempts = parse(ran.stdout)
                if ran.returncode != 0 and not self.error:
                    self.error = f"kubectl logs {PROBER}: {ran.stderr.strip()[-300:]}"
        finally:
            self._kubectl("delete", "pod", PROBER, "--ignore-not-found", "--grace-period=1", "--timeout=60s")

    # -- the thread: start the prober pod once the Cassandra pod has an address, then note when it is Ready ------

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self.target:
                self.target = self._kubectl("get", "pod", self.pod, "--output",
                                            "jsonpath={.status.podIP}").stdout.strip()
                if not self.target:
                    self._stop.wait(PAUSE)
            if self._stop.is_set():
                return
            made = self._kubectl("apply", "--filename", "-", input=json.dumps(prober_pod(self.target)))
            if made.returncode != 0:
                self.error = f"the prober pod was not created: {made.stderr.strip()[-300:]}"
                return
            while not self._stop.is_set() and not self._ready():
                self._stop.wait(PAUSE)
            if not self._stop.is_set():
                self.ready_at = time.time()
        except Exception as err:  # noqa: BLE001 - recorded for the test to report, never lost in a thread
            self.error = f"{type(err).__name__}: {err}"

    def _kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.kubectl + list(args), capture_output=True, text=True, timeout=90, input=input)

    def _ready(self) -> bool:
        ran = self._kubectl("get", "pod", self.pod, "--output",
                            "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
        return ran.returncode == 0 and ran.stdout.strip() == "True"


def coverage_gaps(attempts: list[Attempt], start: float, end: float, *, longest: float) -> list[tuple[float, float]]:
    """The stretches of [start, end] longer than ``longest`` seconds that no attempt began in."""
    stamps = [start] + sorted(a.at for a in attempts if start <= a.at <= end) + [end]
    return [(a, b) for a, b in zip(stamps, stamps[1:], strict=False) if b - a > longest]
