"""``invoke dashboard``: the collector's state as a local web page, read-only unless started with actions.

The standard library's ThreadingHTTPServer, bound to 127.0.0.1: the page is for the person at this machine, and a
random token in its URL (``?token=...``, compared in constant time) keeps other local users and other sites' pages
out: every path answers 403 without it. The page (page.html, plain JS and SVG, no build step, no CDN: it works
offline) polls ``/api/state`` each second and ``/api/history`` every 10 s; ``/files/<path>`` serves the artifacts
and reports the history links to, and nothing else.

With ``actions`` (``--allow-actions``, lab.live.actions) the page also draws a button per chaos fault and polls
``/api/actions``; a click is ``POST /api/action/check`` (the command it would run, for the confirmation) and then
``POST /api/action``. A POST needs, besides the URL's token, the page's own token (a fresh one in each page served,
sent back in ``X-Lab-Page-Token``), JSON, and an ``Origin`` (when the browser sends one) of this server: a page of
another site cannot forge one. Without actions every action path answers 403.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import secrets
import threading
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lab.errors import LabError, PreconditionError
from lab.live import actions as actions_mod
from lab.live.actions import Actions, Busy
from lab.live.state import Snapshot

#: Where the page's own token goes in page.html (an empty content: no actions), and the header that returns it.
PAGE_TOKEN_META = '<meta name="lab-page-token" content="">'
PAGE_TOKEN_HEADER = "X-Lab-Page-Token"
#: A click's JSON is a few fields; anything longer is not the page's.
MAX_BODY = 4096


class Dashboard:
    """The server: ``state()`` is the collector's latest snapshot, ``history()`` what artifacts/ holds; files are
    served from under ``root`` only when inside one of ``folders``."""

    def __init__(self, state: Callable[[], Snapshot], history: Callable[[], dict[str, Any]], *, root: Path,
                 folders: tuple[Path, ...], port: int = 0, token: str | None = None, actions: Actions | None = None):
        self.state, self.history, self.root = state, history, root.resolve()
        self.folders = tuple(f.resolve() for f in folders)
        self.token = token or secrets.token_urlsafe(24)
        self.actions = actions
        self.page = resources.files("lab.live").joinpath("page.html").read_text()
        self._page_tokens: deque[str] = deque(maxlen=256)  # the last pages served; an older tab reloads
        self._tokens_lock = threading.Lock()
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

    def page_for_viewer(self) -> str:
        """The page; with actions, carrying a token of its own that its POSTs send back."""
        if self.actions is None:
            return self.page
        token = secrets.token_urlsafe(24)
        with self._tokens_lock:
            self._page_tokens.append(token)
        return self.page.replace(PAGE_TOKEN_META, PAGE_TOKEN_META.replace('content=""', f'content="{token}"'))

    def page_token_valid(self, given: str | None) -> bool:
        with self._tokens_lock:
            issued = list(self._page_tokens)
        return given is not None and given != "" and any(hmac.compare_digest(given.encode(), t.encode())
                                                          for t in issued)

    def same_origin(self, origin: str | None) -> bool:
        """No Origin (an old browser, a script) passes: the page token is the check; one from elsewhere does not."""
        return origin is None or origin == f"http://127.0.0.1:{self.port}"

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

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, data: Any) -> None:
            self._send(200, json.dumps(data).encode(), "application/json")

        def _line(self, code: int, text: str) -> None:
            self._send(code, (text + "\n").encode(), "text/plain; charset=utf-8")

        def _refused(self, url) -> bool:
            """403 without the URL's token; for an action path also without actions."""
            if not dash.allowed(url.query):
                self._line(403, "forbidden: open the URL invoke dashboard printed (it carries the token)")
                return True
            if url.path.startswith("/api/action") and dash.actions is None:
                self._line(403, "forbidden: this dashboard is read-only; start it with `invoke dashboard "
                                "--allow-actions` for the fault buttons")
                return True
            return False

        def do_GET(self):  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            if self._refused(url):
                return
            if url.path == "/":
                self._send(200, dash.page_for_viewer().encode(), "text/html; charset=utf-8")
            elif url.path == "/api/state":
                self._json(dash.state().to_dict())
            elif url.path == "/api/history":
                self._json(dash.history())
            elif url.path == "/api/actions":
                assert dash.actions is not None  # _refused answered 403 without actions
                self._json({"menu": actions_mod.menu(dash.state()), "defaults": actions_mod.DEFAULTS,
                            **dash.actions.state()})
            elif url.path in ("/api/action", "/api/action/check"):
                self._line(405, "method not allowed: POST only")
            elif url.path.startswith("/files/") and (path := dash.file(url.path[len("/files/"):])) is not None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                self._send(200, path.read_bytes(), content_type)
            else:
                self._send(404, b"not found\n", "text/plain; charset=utf-8")

        def do_POST(self):  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            if self._refused(url):
                return
            if url.path not in ("/api/action", "/api/action/check"):
                self._line(404, "not found")
                return
            if not dash.same_origin(self.headers.get("Origin")):
                self._line(403, f"forbidden: a request from {self.headers.get('Origin')}, not this dashboard's page")
                return
            if not dash.page_token_valid(self.headers.get(PAGE_TOKEN_HEADER)):
                self._line(403, "forbidden: no valid page token; reload the dashboard's page")
                return
            try:
                command = actions_mod.command_for(self._body(), dash.state())
            except LabError as err:
                self._line(400, f"ERROR: {err}")
                return
            assert dash.actions is not None  # _refused answered 403 without actions
            try:
                if url.path == "/api/action/check":
                    dash.actions.refuse_if_busy()  # said before the confirmation, not after it
                    self._json({"line": command.line(), "title": command.title(), "rounds": dash.actions.rounds})
                    return
                action = dash.actions.start(command)
            except Busy as err:
                self._line(409, str(err))
                return
            self._send(202, json.dumps(action.to_dict()).encode(), "application/json")

        def _body(self) -> Any:
            """The POSTed JSON; PreconditionError for anything else."""
            if self.headers.get_content_type() != "application/json":
                raise PreconditionError("send the fault as JSON (Content-Type: application/json)")
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                raise PreconditionError(f"a body of {length} bytes: the fault's JSON is 1..{MAX_BODY}")
            try:
                return json.loads(self.rfile.read(length))
            except ValueError as err:
                raise PreconditionError(f"the body is not JSON ({err})") from None

    return Handler
