"""HTTP probes and metrics: /healthz (startup within its budget, then the loop alive and able to make
progress), /readyz (the loop runs and its writes succeed; 503 with the reason otherwise), /metrics, and /acks
(the acknowledgement record, writer.acks: ``GET /acks?since=<epoch seconds>``, JSON).

Standard library only, and cheap to keep up against idle, slow or hostile clients:

- a connection waits in one selector thread until its whole request head has arrived, so an idle or
  slow-dripping connection costs a file descriptor, not a thread; each has one total DEADLINE from its accept
  to the end of its response (not a timeout per read: a byte every second does not extend it) and at most
  MAX_REQUEST_BYTES of head (beyond that: 431, closed); when MAX_WAITING are waiting the oldest is closed to
  make room (a flood of sockets cannot keep the kubelet's probe out);
- only a complete request is served, on its own thread, at most MAX_HANDLERS at once; one of those slots is
  kept for each probe (/healthz, /readyz: the kubelet sends them independently, so they may arrive
  together), so slow scrapes or /acks readers cannot starve the kubelet; a request beyond the cap is
  refused (closed). The response is written within what is left of the deadline.
"""

from __future__ import annotations

import io
import json
import selectors
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

if TYPE_CHECKING:
    from writer.acks import AckLog

#: /healthz fails when the main loop has not ticked for this long (a wedged process should be restarted).
STALE_AFTER = 30.0
#: Seconds from a connection's accept to the end of its response: sending the request and reading the answer.
DEADLINE = 5.0
#: Bytes a request head may take (request line and headers); the endpoints take no body.
MAX_REQUEST_BYTES = 8192
#: Requests served at once; probes and scrapes take milliseconds each. One slot is kept for each of PROBE_PATHS.
MAX_HANDLERS = 16
#: The kubelet's endpoints: each may take the slot kept for it when every other one is busy.
PROBE_PATHS = ("/healthz", "/readyz")
#: Connections waiting for their request; beyond this the oldest is closed.
MAX_WAITING = 256


class Probes:
    """State the endpoints report; the writer updates it as it starts up.

    Until the write loop runs (its ``heartbeat`` attached), /healthz is green for ``startup_budget`` seconds
    (the writer passes WRITER_STARTUP_BUDGET; none by default) and red after that, naming the step that has not
    finished: a startup wedged or retrying that long is restarted. Once the loop runs, the loop's own heartbeat
    and health decide.
    """

    def __init__(self, registry: CollectorRegistry, acks: AckLog | None = None, *,
                 startup_budget: float = float("inf"), clock: Callable[[], float] = time.monotonic):
        self.registry = registry
        self.acks = acks  # writer.acks.AckLog served on /acks (404 without one)
        self.clock = clock
        self.started_at = clock()
        self.startup_budget = startup_budget
        self.startup_step = "starting"  # what startup is doing, e.g. "connecting to Cassandra"
        self.startup_error = ""  # its last failure
        self.ready = False
        self.heartbeat: Callable[[], float] | None = None  # the loop's heartbeat once it runs
        # Replaced by the loop's health and readiness once it runs.
        self.health: Callable[[], tuple[bool, str]] = lambda: (True, "ok")
        self.readiness: Callable[[], tuple[bool, str]] = lambda: (True, "ready")

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


def _handler(probes: Probes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """Serves one request whose head the server has already read: ``request`` is (connection, head,
        deadline); the response is written to the connection within the deadline."""

        def setup(self) -> None:
            self.connection, head, deadline = self.request
            self.rfile = io.BytesIO(head)  # after the head: EOF, so one request per connection
            # Unbuffered, each write within the deadline: the handler only ever calls write().
            self.wfile = _DeadlineWriter(self.connection, deadline)  # type: ignore[assignment]

        def finish(self) -> None:  # the server closes the connection
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            path = self.path.split("?", 1)[0]
            if path == "/acks" and probes.acks is not None:
                self._acks(probes.acks)
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

        def _acks(self, acks: AckLog) -> None:
            query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
            since = None
            try:
                if "since" in query:
                    since = float(query["since"][-1])
                body = acks.snapshot(since)
            except ValueError:
                text = query["since"][-1][:40]
                self._send(400, f"since must be epoch seconds (a finite number), got {text!r}\n".encode())
                return
            self._send(200, json.dumps(body, separators=(",", ":")).encode(), "application/json")

        def _send(self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:  # probes every few seconds would drown the writer's own lines
            pass

    return Handler


class ProbeServer:
    """Accepts on ``port``; see the module docstring for how idle, slow and excess connections are handled."""

    def __init__(self, probes: Probes, port: int, host: str = "0.0.0.0", *, deadline: float = DEADLINE,
                 max_handlers: int = MAX_HANDLERS, max_waiting: int = MAX_WAITING,
                 max_request_bytes: int = MAX_REQUEST_BYTES):
        kept = len(PROBE_PATHS)
        if max_handlers <= kept:
            raise ValueError(f"max_handlers must be at least {kept + 1} (one is kept for each probe), "
                             f"got {max_handlers}")
        self.handler = _handler(probes)
        self.deadline, self.max_waiting, self.max_request_bytes = deadline, max_waiting, max_request_bytes
        self.slots = threading.BoundedSemaphore(max_handlers - kept)  # any request
        # One per probe, when the others are busy: liveness and readiness may arrive at the same moment.
        self.probe_slots = {path: threading.BoundedSemaphore(1) for path in PROBE_PATHS}
        self.refused = 0  # requests closed because every slot they may take was busy
        self.timed_out = 0  # connections closed for not completing their request within the deadline
        self.oversized = 0  # requests refused for a head over max_request_bytes
        self.listener = socket.create_server((host, port), reuse_port=False, backlog=128)
        self.listener.setblocking(False)
        self.server_address = self.listener.getsockname()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ, None)
        self._waiting: dict[socket.socket, _Pending] = {}  # connection -> its request so far (accept ordered)
        self._closed = False

    def serve_forever(self) -> None:
        while not self._closed:
            for key, _ in self._selector.select(timeout=0.2):
                if key.data is None:
                    self._accept()
                else:
                    self._receive(cast(socket.socket, key.fileobj))  # registered by _accept
            self._close_expired(time.monotonic())

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
            self._waiting[conn] = _Pending(address, time.monotonic() + self.deadline)
            self._selector.register(conn, selectors.EVENT_READ, address)

    def _receive(self, conn: socket.socket) -> None:
        pending = self._waiting[conn]
        try:
            data = conn.recv(self.max_request_bytes + 1 - len(pending.head))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away
            self._drop(conn)
            return
        pending.head += data
        end = pending.head.find(b"\r\n\r\n")
        if end < 0:
            end = pending.head.find(b"\n\n")  # a bare-LF client, as http.server accepts
        if end < 0:
            if len(pending.head) > self.max_request_bytes:
                self.oversized += 1
                _try_send(conn, b"HTTP/1.0 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n")
                self._drop(conn)
            return
        self._selector.unregister(conn)
        del self._waiting[conn]
        self._dispatch(conn, pending)

    def _dispatch(self, conn: socket.socket, pending: _Pending) -> None:
        slot = self.slots if self.slots.acquire(blocking=False) else None
        kept = self.probe_slots.get(_path(pending.head))
        if slot is None and kept is not None and kept.acquire(blocking=False):
            slot = kept
        if slot is None:
            self.refused += 1
            _close(conn)
            return
        threading.Thread(target=self._serve, args=(conn, pending, slot), name="http-request", daemon=True).start()

    def _serve(self, conn: socket.socket, pending: _Pending, slot: threading.BoundedSemaphore) -> None:
        try:
            # Driven directly, not by socketserver: setup() unpacks this request, nothing reads the server.
            self.handler((conn, pending.head, pending.deadline), pending.address, self)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - a broken or slow client must not take the server down
            pass
        finally:
            _close(conn)
            slot.release()

    def _close_expired(self, now: float) -> None:
        for conn, pending in list(self._waiting.items()):
            if now < pending.deadline:
                break  # accept order, one deadline for all: the rest are younger
            self.timed_out += 1
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


class _Pending:
    """A connection's request head as it arrives, and when its time is up."""

    __slots__ = ("address", "deadline", "head")

    def __init__(self, address: Any, deadline: float):
        self.address, self.deadline, self.head = address, deadline, b""


class _DeadlineWriter(io.RawIOBase):
    """The response side of a connection: each write gets what is left of the request's deadline (a client
    reading slowly cannot hold a handler longer)."""

    def __init__(self, conn: socket.socket, deadline: float):
        self.conn, self.deadline = conn, deadline

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]  # the handler writes bytes only
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request deadline passed while writing the response")
        self.conn.settimeout(left)  # sendall's timeout covers the whole call
        self.conn.sendall(data)
        return len(data)


def _path(head: bytes) -> str:
    """The path of a request head's request line ("" when it has none)."""
    parts = head.split(b"\n", 1)[0].split()
    return parts[1].split(b"?", 1)[0].decode("latin-1") if len(parts) >= 2 else ""


def _try_send(conn: socket.socket, data: bytes) -> None:
    try:
        conn.send(data)
    except OSError:
        pass


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

