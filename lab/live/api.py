"""The Kubernetes objects the live views show, read in one of two ways with the same answers (the dicts of
``kubectl get -o json``):

- ``KubectlReads``: one ``kubectl get`` per read. Each is a process start, TLS and a kubeconfig parse: about
  0.1 s of CPU, and a poller asking every 2 s spends most of its time there.
- ``ApiReads``: the same lists from the API server over one long-lived ``kubectl proxy`` and one kept-alive HTTP
  connection: a read costs the proxy and this process a few milliseconds. The proxy listens on a Unix socket in a
  folder only this user can open (a TCP port on 127.0.0.1 would hand the cluster to any local user), and is
  started again when it dies, at most every ``RESTART_EVERY`` seconds.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

from lab import kubectl, names
from lab.errors import LabError
from lab.kubectl import Kubectl
from lab.runner import Runner

#: What the views read: kind -> (namespaced, label selector).
KINDS: dict[str, tuple[bool, str | None]] = {
    "pods": (True, names.LAB_SELECTOR),
    "nodes": (False, None),
    "events": (True, None),
    "deployments": (True, names.WRITERS_SELECTOR),
}
#: Each kind's API group and version (the lists ``kubectl get`` reads for it).
_GROUPS = {"pods": "api/v1", "nodes": "api/v1", "events": "api/v1", "deployments": "apis/apps/v1"}


class Reads(Protocol):
    def get(self, kind: str) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


class KubectlReads:
    """One ``kubectl get <kind> -o json`` per read."""

    def __init__(self, runner: Runner, kube: Kubectl):
        self.runner, self.kube = runner, kube

    def get(self, kind: str) -> dict[str, Any] | None:
        namespaced, selector = KINDS[kind]
        return kubectl.get_json(self.runner, self.kube, kind, selector=selector, namespaced=namespaced)

    def close(self) -> None:
        pass


def api_path(kube: Kubectl, kind: str) -> str:
    """The API server's path of ``kind``'s list in the lab's namespace, with its selector."""
    namespaced, selector = KINDS[kind]
    path = f"/{_GROUPS[kind]}/" + (f"namespaces/{kube.namespace}/" if namespaced else "") + kind
    return path + (f"?{urlencode({'labelSelector': selector})}" if selector else "")


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket; the Host header says localhost, the one host kubectl proxy accepts by default."""

    def __init__(self, path: Path, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(str(self.socket_path))
        self.sock = sock


class ApiReads:
    """The lists through one ``kubectl proxy --unix-socket`` (started on the first read)."""

    #: Seconds between starts of a proxy that died.
    RESTART_EVERY = 5.0
    #: Seconds a new proxy has to open its socket.
    START_TIMEOUT = 15.0

    def __init__(self, runner: Runner, kube: Kubectl, *, timeout: float = 20):
        self.runner, self.kube, self.timeout = runner, kube, timeout
        self.folder = Path(tempfile.mkdtemp(prefix="lab-proxy-"))  # mode 0700: this user's only
        self.socket_path = self.folder / "api.sock"
        self.proc: subprocess.Popen | None = None
        self._started = float("-inf")
        self._conn: _UnixConnection | None = None
        self._lock = threading.Lock()

    def _proxy(self) -> None:
        """A running proxy, started (again) when there is none; LabError when it cannot be."""
        if self.proc is not None and self.proc.poll() is None:
            return
        if time.monotonic() - self._started < self.RESTART_EVERY:
            raise LabError("kubectl proxy ended; starting it again in a few seconds")
        self._started = time.monotonic()
        self.socket_path.unlink(missing_ok=True)
        self._drop()
        log = self.folder / "proxy.log"  # a file, not a pipe: an unread pipe would fill and stall the proxy
        with log.open("w") as err:
            self.proc = self.runner.spawn(self.kube.proxy_args(str(self.socket_path)), stdout=subprocess.DEVNULL,
                                          stderr=err)
        deadline = time.monotonic() + self.START_TIMEOUT
        while not self.socket_path.exists():
            if self.proc.poll() is not None:
                why = log.read_text().strip().splitlines() or [f"exit {self.proc.returncode}"]
                raise LabError(f"kubectl proxy ended: {why[-1]}")
            if time.monotonic() > deadline:
                raise LabError(f"kubectl proxy opened no socket in {self.START_TIMEOUT:.0f} s")
            time.sleep(0.05)

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _request(self, path: str) -> tuple[int, bytes]:
        if self._conn is None:
            self._conn = _UnixConnection(self.socket_path, self.timeout)
        self._conn.request("GET", path, headers={"Accept": "application/json"})
        answer = self._conn.getresponse()
        return answer.status, answer.read()

    def get(self, kind: str) -> dict[str, Any] | None:
        path = api_path(self.kube, kind)
        with self._lock:
            self._proxy()
            try:
                status, body = self._request(path)
            except (OSError, http.client.HTTPException):
                self._drop()  # a kept-alive connection the proxy closed: one new one, once
                try:
                    status, body = self._request(path)
                except (OSError, http.client.HTTPException) as err:
                    self._drop()
                    raise LabError(f"kubectl proxy: {err.__class__.__name__}: {err}") from None
        if status == 404:
            return None
        if status != 200:
            raise LabError(f"the API server answered {status} for {kind}: {body.decode(errors='replace')[:200]}")
        return json.loads(body)

    def close(self) -> None:
        with self._lock:
            self._drop()
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            shutil.rmtree(self.folder, ignore_errors=True)
