"""HTTP probes and metrics: /healthz (startup within its budget, then the loop alive and able to make
progress), /readyz (the loop runs and its writes succeed; 503 with the reason otherwise), /metrics, and /acks
(the acknowledgement record, writer.acks: ``GET /acks?since=<epoch seconds>``, JSON).

Standard library only, and cheap to keep up against idle or slow clients:

- connections wait in one selector thread until their request arrives, so an idle connection costs a file
  descriptor, not a thread; one idle for IDLE_TIMEOUT seconds is closed, and when MAX_WAITING are waiting
  the oldest is closed to make room (a flood of idle sockets cannot keep the kubelet's probe out);
- a request is then served on its own thread, at most MAX_HANDLERS at once (a BoundedSemaphore; a request
  beyond that is refused: closed), each with a socket timeout of IDLE_TIMEOUT for a client that stalls
  mid-request.
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

#: /healthz fails when the main loop has not ticked for this long (a wedged process should be restarted).
STALE_AFTER = 30.0
#: Seconds a connection may sit without sending its request (or stall in the middle of one).
IDLE_TIMEOUT = 5.0
#: Requests served at once; probes and scrapes take milliseconds each.
MAX_HANDLERS = 16
#: Connections waiting for their request; beyond this the oldest is closed.
MAX_WAITING = 256


class Probes:
    """State the endpoints report; the writer updates it as it starts up.

    Until the write loop runs (its ``heartbeat`` attached), /healthz is green for ``startup_budget`` seconds
    (the writer passes WRITER_STARTUP_BUDGET; none by default) and red after that, naming the step that has not
    finished: a startup wedged or retrying that long is restarted. Once the loop runs, the loop's own heartbeat
    and health decide.
    """

    def __init__(self, registry, acks=None, *, startup_budget: float = float("inf"), clock=time.monotonic):
        self.registry = registry
        self.acks = acks  # writer.acks.AckLog served on /acks (404 without one)
        self.clock = clock
        self.started_at = clock()
        self.startup_budget = startup_budget
        self.startup_step = "starting"  # what startup is doing, e.g. "connecting to Cassandra"
        self.startup_error = ""  # its last failure
        self.ready = False
        self.heartbeat = None  # the loop's heartbeat once it runs
        self.health = lambda: (True, "ok")  # replaced by the loop's health once it runs
        self.readiness = lambda: (True, "ready")  # replaced by the loop's readiness once it runs

    def status(self) -> tuple[bool, str]:
        """(healthy, reason): a startup over its budget, a wedged main loop, or an outage the loop gave up
        waiting out."""
        now = self.clock()
        if self.heartbeat is None:
            starting = now - self.started_at
            if starting < self.startup_budget:
                return True, "ok"
            error = f"; last error: {self.startup_error}" if self.startup_error else ""
            return False, (f"startup not finished after {starting:.0f} s (WRITER_STARTUP_BUDGET="
                           f"{self.startup_budget:g}): {self.startup_step}{error}")
        stalled = now - self.heartbeat()
        if stalled >= STALE_AFTER:
            return False, f"loop stalled: no tick for {stalled:.0f} s"
        return self.health()

    def ready_status(self) -> tuple[bool, str]:
        """(ready, reason): the loop runs and writes have not been failing for WRITER_UNREADY_AFTER."""
        if not self.ready:
            return False, "starting" if self.heartbeat is None else "stopping"
        return self.readiness()

    def healthy(self) -> bool:
        return self.status()[0]


def _handler(probes: Probes):
    class Handler(BaseHTTPRequestHandler):
        timeout = IDLE_TIMEOUT  # StreamRequestHandler applies it to the socket: a stalled client is dropped

        def do_GET(self):  # noqa: N802 - the http.server API
            path = self.path.split("?", 1)[0]
            if path == "/acks" and probes.acks is not None:
                self._acks()
            elif path == "/metrics":
                self._send(200, generate_latest(probes.registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok, reason = probes.status()
                self._send(200 if ok else 503, b"ok\n" if ok else f"unhealthy: {reason}\n".encode())
            elif path == "/readyz":
                ok, reason = probes.ready_status()
                self._send(200 if ok else 503, b"ready\n" if ok else f"not ready: {reason}\n".encode())
            else:
                self._send(404, b"not found\n")

        def _acks(self):
            query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
            since = None
            try:
                if "since" in query:
                    since = float(query["since"][-1])
                body = probes.acks.snapshot(since)
            except ValueError:
                text = query["since"][-1][:40]
                self._send(400, f"since must be epoch seconds (a finite number), got {text!r}\n".encode())
                return
            self._send(200, json.dumps(body, separators=(",", ":")).encode(), "application/json")

        def _send(self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8"):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # probes every few seconds would drown the writer's own lines
            pass

    return Handler


class ProbeServer:
    """Accepts on ``port``; see the module docstring for how idle and excess connections are handled."""

    def __init__(self, probes: Probes, port: int, host: str = "0.0.0.0", *, idle_timeout: float = IDLE_TIMEOUT,
                 max_handlers: int = MAX_HANDLERS, max_waiting: int = MAX_WAITING):
        self.handler = _handler(probes)
        self.idle_timeout, self.max_waiting = idle_timeout, max_waiting
        self.slots = threading.BoundedSemaphore(max_handlers)
        self.refused = 0  # requests closed because every handler slot was busy
        self.idle_closed = 0  # connections closed for sending nothing in time
        self.listener = socket.create_server((host, port), reuse_port=False, backlog=128)
        self.listener.setblocking(False)
        self.server_address = self.listener.getsockname()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ, None)
        self._waiting: dict[socket.socket, float] = {}  # connection -> accepted at (insertion ordered)
        self._closed = False

    def serve_forever(self) -> None:
        while not self._closed:
            for key, _ in self._selector.select(timeout=0.5):
                if key.data is None:
                    self._accept()
                else:
                    self._dispatch(key.fileobj)
            self._close_idle(time.monotonic())

    def _accept(self) -> None:
        while True:
            try:
                conn, address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. out of file descriptors: drop it, keep serving the others
                return
            if len(self._waiting) >= self.max_waiting:
                self._drop(next(iter(self._waiting)))  # the oldest waiter makes room
            conn.setblocking(False)
            self._waiting[conn] = time.monotonic()
            self._selector.register(conn, selectors.EVENT_READ, address)

    def _dispatch(self, conn: socket.socket) -> None:
        address = self._selector.get_key(conn).data
        self._selector.unregister(conn)
        del self._waiting[conn]
        if not self.slots.acquire(blocking=False):
            self.refused += 1
            _close(conn)
            return
        conn.setblocking(True)
        threading.Thread(target=self._serve, args=(conn, address), name="http-request", daemon=True).start()

    def _serve(self, conn: socket.socket, address) -> None:
        try:
            self.handler(conn, address, self)
        except Exception:  # noqa: BLE001 - a broken client must not take the server down
            pass
        finally:
            _close(conn)
            self.slots.release()

    def _close_idle(self, now: float) -> None:
        for conn, accepted in list(self._waiting.items()):
            if now - accepted < self.idle_timeout:
                break  # insertion order: the rest are younger
            self.idle_closed += 1
            self._drop(conn)

    def _drop(self, conn: socket.socket) -> None:
        self._selector.unregister(conn)
        del self._waiting[conn]
        _close(conn)

    def shutdown(self) -> None:
        self._closed = True

    def server_close(self) -> None:
        self._closed = True
        for conn in list(self._waiting):
            self._drop(conn)
        self._selector.close()
        self.listener.close()


def _close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


def serve(probes: Probes, port: int, host: str = "0.0.0.0") -> ProbeServer:
    """Start serving in a daemon thread; raises OSError when the port is taken."""
    server = ProbeServer(probes, port, host)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server

