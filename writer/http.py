"""HTTP probes and metrics: /healthz (the loop is alive), /readyz (connected, schema ready), /metrics.

A ThreadingHTTPServer in a daemon thread: tiny, standard library, and prometheus-client renders /metrics.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

#: /healthz fails when the main loop has not ticked for this long (a wedged process should be restarted).
STALE_AFTER = 30.0


class Probes:
    """State the endpoints report; the writer updates it as it starts up."""

    def __init__(self, registry):
        self.registry = registry
        self.ready = False
        self.heartbeat = lambda: time.monotonic()  # replaced by the loop's heartbeat once it runs

    def healthy(self) -> bool:
        return time.monotonic() - self.heartbeat() < STALE_AFTER


def _handler(probes: Probes):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(probes.registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                ok = probes.healthy()
                self._send(200 if ok else 503, b"ok\n" if ok else b"loop stalled\n")
            elif path == "/readyz":
                ok = probes.ready
                self._send(200 if ok else 503, b"ready\n" if ok else b"not ready\n")
            else:
                self._send(404, b"not found\n")

        def _send(self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8"):
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # probes every few seconds would drown the writer's own lines
            pass

    return Handler


def serve(probes: Probes, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Start serving in a daemon thread; raises OSError when the port is taken."""
    server = ThreadingHTTPServer((host, port), _handler(probes))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
