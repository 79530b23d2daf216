"""A background prober of Cassandra's built-in login during the session's one deploy.

From the moment ``cassandra-0`` is Ready until deploy returns, it tries ``cassandra``/``cassandra`` over and over
and records every attempt: the proof that the well-known superuser has no window (issue: no default superuser
window). It rides on the deploy the end-to-end tier runs anyway, so it costs no cluster time of its own.

Cheap on purpose, beside three starting JVMs on two cores: one ``kubectl port-forward`` to cassandra-0's CQL port
(through the kubelet, so the NetworkPolicies do not stand in the way) and the Python driver's login from this
process, one attempt at a time, a pause between them; no cqlsh started in the pod. Whatever happens, ``stop()``
ends the thread and the port-forward.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field

POD = "cassandra-0"
LOGIN = ("cassandra", "cassandra")
#: Seconds between attempts (and between checks that the pod is Ready): a login refused costs Cassandra one
#: bcrypt check, a few tens of milliseconds.
PAUSE = 1.0
#: Seconds an attempt may take to connect and log in.
ATTEMPT_TIMEOUT = 5.0

SUCCEEDED, REFUSED, NO_ANSWER = "succeeded", "refused", "no answer"


@dataclass
class Attempt:
    at: float  # epoch seconds
    outcome: str  # SUCCEEDED, REFUSED or NO_ANSWER
    detail: str = ""


@dataclass
class DefaultLoginProber:
    """``start()`` before deploy, ``stop()`` when it returns. ``kubectl``: the argv prefix naming the cluster."""

    kubectl: list[str]
    attempts: list[Attempt] = field(default_factory=list)
    existed_before: bool | None = None  # cassandra-0 existed when the prober started: no fresh deploy
    ready_at: float | None = None
    stopped_at: float | None = None
    error: str = ""  # the prober's own failure, if any (the test reports it)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="default-login-prober", daemon=True)
        self._forward: subprocess.Popen | None = None
        self._port = 0

    def start(self) -> DefaultLoginProber:
        self.existed_before = self._get(["get", "pod", POD, "--output", "name"]).returncode == 0
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped_at = time.time()
        self._stop.set()
        self._end_forward()  # first: a port-forward that never printed its port no longer holds the thread
        self._thread.join(ATTEMPT_TIMEOUT + 10)
        self._end_forward()  # one the thread started meanwhile

    # -- the thread ------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self._ready():
                self._stop.wait(PAUSE)
            if self._stop.is_set():
                return
            self.ready_at = time.time()
            while not self._stop.is_set():
                port = self._forwarded_port()
                if port is None:
                    self.attempts.append(Attempt(time.time(), NO_ANSWER, "port-forward not up"))
                else:
                    self.attempts.append(_try_login(port))
                self._stop.wait(PAUSE)
        except Exception as err:  # noqa: BLE001 - recorded for the test to report, never lost in a thread
            self.error = f"{type(err).__name__}: {err}"
        finally:
            self._end_forward()

    def _get(self, args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(self.kubectl + args, capture_output=True, text=True, timeout=30)

    def _ready(self) -> bool:
        ran = self._get(["get", "pod", POD, "--output",
                         "jsonpath={.status.conditions[?(@.type=='Ready')].status}"])
        return ran.returncode == 0 and ran.stdout.strip() == "True"

    def _forwarded_port(self) -> int | None:
        """The local port of a running ``kubectl port-forward`` to cassandra-0:9042, started (again) if needed."""
        if self._forward is not None and self._forward.poll() is None:
            return self._port
        self._end_forward()
        self._forward = subprocess.Popen(self.kubectl + ["port-forward", f"pod/{POD}", ":9042"],
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self._forward.stdout.readline()  # "Forwarding from 127.0.0.1:41234 -> 9042", or an error
        found = re.search(r"127\.0\.0\.1:(\d+)", line)
        if not found:
            self._end_forward()
            return None
        self._port = int(found.group(1))
        # Keep reading its output, or a chatty port-forward ("Handling connection ...") fills the pipe and stalls.
        threading.Thread(target=lambda out=self._forward.stdout: [None for _ in out], daemon=True).start()
        return self._port

    def _end_forward(self) -> None:
        forward, self._forward = self._forward, None
        if forward is not None and forward.poll() is None:
            forward.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                forward.wait(5)
            if forward.poll() is None:
                forward.kill()


def _try_login(port: int) -> Attempt:
    """One login as the built-in superuser through the forwarded port, and a read that only a login can do."""
    from cassandra import AuthenticationFailed
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster, NoHostAvailable
    from cassandra.policies import WhiteListRoundRobinPolicy

    at = time.time()
    # Only the forwarded address: the peers' pod addresses it would learn are not reachable from here.
    cluster = Cluster(["127.0.0.1"], port=port, auth_provider=PlainTextAuthProvider(*LOGIN), protocol_version=5,
                      load_balancing_policy=WhiteListRoundRobinPolicy(["127.0.0.1"]), connect_timeout=ATTEMPT_TIMEOUT,
                      control_connection_timeout=ATTEMPT_TIMEOUT)
    try:
        session = cluster.connect()
        row = session.execute("SELECT role FROM system_auth.roles LIMIT 1", timeout=ATTEMPT_TIMEOUT).one()
        return Attempt(at, SUCCEEDED, f"logged in, read {row}")
    except NoHostAvailable as err:
        inner = list((err.errors or {}).values())
        if inner and all(isinstance(e, AuthenticationFailed) for e in inner):
            return Attempt(at, REFUSED, str(inner[0])[:200])
        return Attempt(at, NO_ANSWER, str(err)[:200])
    except AuthenticationFailed as err:
        return Attempt(at, REFUSED, str(err)[:200])
    except Exception as err:  # noqa: BLE001 - any other failure is "no answer", recorded with its words
        return Attempt(at, NO_ANSWER, f"{type(err).__name__}: {err}"[:200])
    finally:
        cluster.shutdown()
