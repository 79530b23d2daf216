"""``invoke dashboard``: the collector's state as a local web page, read-only.

The standard library's ThreadingHTTPServer, bound to 127.0.0.1: the page is for the person at this machine, and a
random token in its URL (``?token=...``, compared in constant time) keeps other local users and other sites' pages
out: every path answers 403 without it. The page (page.html, plain JS and SVG, no build step, no CDN: it works
offline) polls ``/api/state`` each second and ``/api/history`` every 10 s; ``/files/<path>`` serves the artifacts
and reports the history links to, and nothing else.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import secrets
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lab.live.state import Snapshot


class Dashboard:
    """The server: ``state()`` is the collector's latest snapshot, ``history()`` what artifacts/ holds; files are
    served from under ``root`` only when inside one of ``folders``."""

    def __init__(self, state: Callable[[], Snapshot], history: Callable[[], dict[str, Any]], *, root: Path,
                 folders: tuple[Path, ...], port: int = 0, token: str | None = None):
        self.state, self.history, self.root = state, history, root.resolve()
        self.folders = tuple(f.resolve() for f in folders)
        self.token = token or secrets.token_urlsafe(24)
        self.page = resources.files("lab.live").joinpath("page.html").read_text()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def allowed(self, query: str) -> bool:
        given = parse_qs(query).get("token", [""])[0]
        return hmac.compare_digest(given.encode(), self.token.encode())

    def file(self, relative: str) -> Path | None:
        """The artifact or report at ``relative`` (to the project root), or None outside the served folders."""
        path = (self.root / unquote(relative)).resolve()
        if not any(path.is_relative_to(f) for f in self.folders) or not path.is_file():
            return None
        return path

    def start(self) -> Dashboard:
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="live-dashboard", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(dash: Dashboard) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "lab-dashboard"

        def log_message(self, format, *args):  # the terminal shows the URL, not one line per poll
            pass

        def _send(self, code: int, body: bytes, kind: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: Any) -> None:
            self._send(200, json.dumps(data).encode(), "application/json")

        def do_GET(self):  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            if not dash.allowed(url.query):
                self._send(403, b"forbidden: open the URL invoke dashboard printed (it carries the token)\n",
                           "text/plain; charset=utf-8")
                return
            if url.path == "/":
                self._send(200, dash.page.encode(), "text/html; charset=utf-8")
            elif url.path == "/api/state":
                self._json(dash.state().to_dict())
            elif url.path == "/api/history":
                self._json(dash.history())
            elif url.path.startswith("/files/") and (path := dash.file(url.path[len("/files/"):])) is not None:
                kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                self._send(200, path.read_bytes(), kind)
            else:
                self._send(404, b"not found\n", "text/plain; charset=utf-8")

    return Handler
