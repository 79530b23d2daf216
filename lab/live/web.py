"""``invoke dashboard``: the collector's state as a local web page, pushed to it as it changes; read-only unless
started with actions.

Starlette served by uvicorn: a small, well-kept ASGI pair whose ``StreamingResponse`` is all Server-Sent Events need
(one long response per tab, no websocket protocol to keep), and whose server runs in a thread of its own so the
command's main thread keeps Ctrl-C and SIGTERM. It listens on a socket bound here to 127.0.0.1 (a port in use is
refused before anything starts): the page is for the person at this machine, and a random token in its URL
(``?token=...``, compared in constant time) keeps other local users and other sites' pages out: every path, the
event stream and the page's own assets included, answers 403 without it.

The page (page.html, plain JS, no build step) opens ``/api/events``, one stream per tab: a ``state`` event when the
snapshot changes, ``history`` (what artifacts/ and reports/ hold) every 10 s when it changed, ``actions`` with the
buttons' state. One task reads them for every stream (at most once a tick, only while a tab is open), so many tabs
cost what one does. Its chart is uPlot, vendored under ``static/uplot/`` with its licence and served from here: no
CDN, it works offline. ``/api/state``, ``/api/history`` and ``/api/actions`` answer the same JSON once, for scripts;
``/files/<path>`` serves the artifacts and reports the history links to, and nothing else.

With ``actions`` (``--allow-actions``, lab.live.actions) the page also draws a button per chaos fault; a click is
``POST /api/action/check`` (the command it would run, for the confirmation) and then ``POST /api/action``. A POST
needs, besides the URL's token, the page's own token (a fresh one in each page served, sent back in
``X-Lab-Page-Token``), JSON, and an ``Origin`` (when the browser sends one) of this server: a page of another site
cannot forge one. Without actions every action path answers 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from lab.errors import LabError, PreconditionError
from lab.live import actions as actions_mod
from lab.live.actions import Actions, Busy
from lab.live.state import Snapshot

#: Where the page's own token goes in page.html (an empty content: no actions), and the header that returns it.
PAGE_TOKEN_META = '<meta name="lab-page-token" content="">'
PAGE_TOKEN_HEADER = "X-Lab-Page-Token"
#: A click's JSON is a few fields; anything longer is not the page's.
MAX_BODY = 4096
#: The page's own files (uPlot and its licence), served under /static/.
STATIC = Path(__file__).resolve().parent / "static"
#: Seconds between reads of the state for the streams; of the history; between comment lines that keep an idle
#: stream open; and the browser's wait before it opens a dropped stream again (milliseconds, as SSE says).
TICK = 1.0
HISTORY_EVERY = 10.0
KEEPALIVE = 15.0
RETRY_MS = 2000
#: Seconds the server has to end once asked: each stream ends within a tick of being told.
STOP_TIMEOUT = 10.0


@dataclass(eq=False)
class _Stream:
    """One open event stream: what it was last sent of each event, what waits to be sent, and its wake-up."""

    sent: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Dashboard:
    """The server: ``state()`` is the collector's latest snapshot, ``history()`` what artifacts/ holds; files are
    served from under ``root`` only when inside one of ``folders``. The port is taken here (OSError when it
    cannot be); ``start()`` serves it in a thread, ``stop()`` ends the streams and the server."""

    def __init__(self, state: Callable[[], Snapshot], history: Callable[[], dict[str, Any]], *, root: Path,
                 folders: tuple[Path, ...], port: int = 0, token: str | None = None, actions: Actions | None = None,
                 tick: float = TICK):
        self.state, self.history, self.root = state, history, root.resolve()
        self.folders = tuple(f.resolve() for f in folders)
        self.token = token or secrets.token_urlsafe(24)
        self.actions, self.tick = actions, tick
        self.page = (STATIC.parent / "page.html").read_text()
        self._page_tokens: deque[str] = deque(maxlen=256)  # the last pages served; an older tab reloads
        self._tokens_lock = threading.Lock()
        self._streams: set[_Stream] = set()
        self._payloads: dict[str, str] = {}
        self._history_at = float("-inf")
        self._stopping = threading.Event()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.socket = socket.create_server(("127.0.0.1", port))
        self.app = _Guard(self, self._app())
        # log_config None: the lab's logging stays as it was; warnings only: the terminal shows the URL, not requests
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_config=None, log_level="warning", access_log=False,
                                                    timeout_graceful_shutdown=5))
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.socket.getsockname()[:2]
        return host, port

    @property
    def port(self) -> int:
        return self.address[1]

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

    def actions_state(self) -> dict[str, Any]:
        assert self.actions is not None  # the guard answered 403 without actions
        return {"menu": actions_mod.menu(self.state()), "defaults": actions_mod.DEFAULTS, **self.actions.state()}

    # -- serving ---------------------------------------------------------------------------------------------------

    def start(self) -> Dashboard:
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                        name="live-dashboard", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STOP_TIMEOUT
        while not self.server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """End every stream (each within a tick), then the server; the socket is closed either way."""
        self._stopping.set()
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._wake_all)
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
        self.socket.close()

    def _wake_all(self) -> None:
        if self._wake is not None:
            self._wake.set()
        for stream in self._streams:
            stream.ready.set()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        feeder = asyncio.create_task(self._feed())
        try:
            yield
        finally:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await feeder

    async def _feed(self) -> None:
        """Each tick while a stream is open: read the state (the history when due, the actions when there are
        any) once, and hand each stream what changed since it was last sent."""
        assert self._wake is not None
        while not self._stopping.is_set():
            if self._streams:
                try:
                    await self._read()
                except Exception as err:  # a bad read must not end the feed: the page says what went wrong
                    failed = Snapshot(at=time.time(), errors=[f"dashboard: {type(err).__name__}: {err}"])
                    self._payloads["state"] = json.dumps(failed.to_dict())
                for stream in self._streams:
                    for event, payload in self._payloads.items():
                        if stream.sent.get(event) != payload:
                            stream.sent[event] = stream.pending[event] = payload
                            stream.ready.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick)
            self._wake.clear()

    async def _read(self) -> None:
        """The payloads of this tick: reads of files and of the collector, in a worker thread."""
        payloads = {"state": json.dumps((await asyncio.to_thread(self.state)).to_dict())}
        now = time.monotonic()
        if now - self._history_at >= HISTORY_EVERY:
            payloads["history"] = json.dumps(await asyncio.to_thread(self.history))
            self._history_at = now
        if self.actions is not None:
            payloads["actions"] = json.dumps(await asyncio.to_thread(self.actions_state))
        self._payloads.update(payloads)

    async def _events(self) -> AsyncIterator[str]:
        stream = _Stream()
        self._streams.add(stream)
        assert self._wake is not None
        self._wake.set()  # its first events now, not at the next tick
        try:
            yield f"retry: {RETRY_MS}\n\n"
            while not self._stopping.is_set():
                try:
                    await asyncio.wait_for(stream.ready.wait(), KEEPALIVE)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                stream.ready.clear()
                pending, stream.pending = stream.pending, {}
                for event, payload in pending.items():
                    yield f"event: {event}\ndata: {payload}\n\n"
        finally:
            self._streams.discard(stream)

    # -- the routes ------------------------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        async def page(request: Request) -> Response:
            return HTMLResponse(self.page_for_viewer(), headers=NO_STORE)

        async def events(request: Request) -> Response:
            return StreamingResponse(self._events(), media_type="text/event-stream", headers=NO_STORE)

        def state(request: Request) -> Response:
            return JSONResponse(self.state().to_dict(), headers=NO_STORE)

        def history(request: Request) -> Response:
            return JSONResponse(self.history(), headers=NO_STORE)

        def actions_state(request: Request) -> Response:
            return JSONResponse(self.actions_state(), headers=NO_STORE)

        def files(request: Request) -> Response:
            path = self.file(request.path_params["path"])
            if path is None:
                return _line(404, "not found")
            return FileResponse(path, headers=NO_STORE)

        routes = [Route("/", page), Route("/api/events", events), Route("/api/state", state),
                  Route("/api/history", history), Route("/api/actions", actions_state),
                  Route("/api/action/check", self._act, methods=["POST"]),
                  Route("/api/action", self._act, methods=["POST"]),
                  Route("/files/{path:path}", files), Mount("/static", StaticFiles(directory=STATIC))]
        return Starlette(routes=routes, lifespan=self._lifespan)

    async def _act(self, request: Request) -> Response:
        """``/api/action/check`` (the command a click would run) and ``/api/action`` (run it)."""
        if not self.same_origin(request.headers.get("Origin")):
            return _line(403, f"forbidden: a request from {request.headers.get('Origin')}, not this dashboard's page")
        if not self.page_token_valid(request.headers.get(PAGE_TOKEN_HEADER)):
            return _line(403, "forbidden: no valid page token; reload the dashboard's page")
        assert self.actions is not None  # the guard answered 403 without actions
        try:
            command = actions_mod.command_for(await _body(request), self.state())
        except LabError as err:
            return _line(400, f"ERROR: {err}")
        try:
            if request.url.path == "/api/action/check":
                self.actions.refuse_if_busy()  # said before the confirmation, not after it
                return JSONResponse({"line": command.line(), "title": command.title(), "rounds": self.actions.rounds},
                                    headers=NO_STORE)
            action = self.actions.start(command)
        except Busy as err:
            return _line(409, str(err))
        if self._wake is not None:
            self._wake.set()  # the page sees it running now, not at the next tick
        return JSONResponse(action.to_dict(), status_code=202, headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _line(code: int, text: str) -> Response:
    return PlainTextResponse(text + "\n", status_code=code, headers=NO_STORE)


async def _body(request: Request) -> Any:
    """The POSTed JSON; PreconditionError for anything else."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise PreconditionError("send the fault as JSON (Content-Type: application/json)")
    length = int(request.headers.get("content-length") or 0)
    if not 0 < length <= MAX_BODY:
        raise PreconditionError(f"a body of {length} bytes: the fault's JSON is 1..{MAX_BODY}")
    try:
        return json.loads(await request.body())
    except ValueError as err:
        raise PreconditionError(f"the body is not JSON ({err})") from None


class _Guard:
    """Before any route: 403 without the URL's token; for an action path also without actions; 405 for a GET of
    one that takes POST only."""

    def __init__(self, dash: Dashboard, app: ASGIApp):
        self.dash, self.app = dash, app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            refusal = None
            if not self.dash.allowed(scope["query_string"].decode("latin-1")):
                refusal = _line(403, "forbidden: open the URL invoke dashboard printed (it carries the token)")
            elif path.startswith("/api/action") and self.dash.actions is None:
                refusal = _line(403, "forbidden: this dashboard is read-only; start it with `invoke dashboard "
                                     "--allow-actions` for the fault buttons")
            elif path in ("/api/action", "/api/action/check") and scope["method"] != "POST":
                refusal = _line(405, "method not allowed: POST only")
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)
