"""Fakes for the live views' tests: a writer's progress reader playing /acks over a list of advances, and a
collector over recorded kubectl/nodetool outputs (tests/lab/data/live)."""

from __future__ import annotations

import json
import re
import shutil
import socketserver
import threading
import urllib.error
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from lab import progress
from lab.chaos.command import ChaosCommand
from lab.chaos.results import RoundResult
from lab.chaos.sampling import parse_acks
from lab.live import history
from lab.live.actions import Actions
from lab.live.collector import Collector
from lab.live.web import PAGE_TOKEN_HEADER, Dashboard
from lab.runner import Runner
from tests.lab.labfakes import DATA, FakeCtx, make_lab

LIVE = DATA / "live"
#: The recorded events' clock: cassandra-1 was deleted at 03:59:00 (events.json).
DELETED_AT = datetime.fromisoformat("2026-12-07T03:59:00+00:00").timestamp()


def text(name: str) -> str:
    return (LIVE / name).read_text()


class FakeProgress:
    """A writer's /metrics and /acks: ``advances`` [(t, seq)], answered as the writer does (every advance at or after
    ``since``, preceded by the last one before it), through parse_acks. ``with_acks=False``: an older writer with no
    /acks (None), read through its gauge."""

    def __init__(self, topic: str, advances: list[tuple[float, int]], *, with_acks: bool = True, starts: bool = True):
        self.topic, self.advances, self.with_acks, self.starts = topic, advances, with_acks, starts
        self.since: list[float] = []
        self.closed = False

    def start(self, *, timeout: float = 15) -> bool:
        return self.starts

    def read(self) -> int | None:
        return self.advances[-1][1] if self.advances else None

    def acks(self, since: float) -> dict | None:
        self.since.append(since)
        if not self.with_acks:
            return None
        before = [a for a in self.advances if a[0] < since][-1:]
        after = [a for a in self.advances if a[0] >= since]
        return parse_acks(json.dumps({"topic": self.topic, "now": since, "capacity": 4096, "oldest": 0,
                                      "advances": [list(a) for a in before + after]}))

    def close(self) -> None:
        self.closed = True


def steady(start: float, end: float, *, per_s: int = 100, first_seq: int = 1000) -> list[tuple[float, int]]:
    """Advances every 0.1 s at ``per_s`` rows a second from ``start`` to ``end``."""
    out, t, seq = [], start, first_seq
    while t <= end + 1e-9:
        out.append((round(t, 3), seq))
        t, seq = t + 0.1, seq + per_s // 10
    return out


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def recorded_ctx(*, pods: str = "pods_during.json", nodetool: str = "nodetool_status_dn.txt") -> FakeCtx:
    return FakeCtx([
        (r"get pods --selector app.kubernetes.io/part-of=ece573-prj04", text(pods)),
        (r"get nodes", text("nodes.json")),
        (r"get events", text("events.json")),
        (r"get deployments", text("deployments.json")),
        (r"nodetool status", (DATA / nodetool).read_text()),
    ])


def recorded_collector(tmp_path: Path, ctx: FakeCtx, progress: dict[str, FakeProgress], clock: Clock,
                       *, rounds: list[Path] = ()) -> Collector:
    """A collector over ``ctx``, its writers read from ``progress`` (by topic), its artifacts under ``tmp_path``
    holding copies of ``rounds`` (chaos round JSONs)."""
    lab = make_lab(tmp_path, ctx)
    artifacts = tmp_path / "artifacts"
    (artifacts / "chaos").mkdir(parents=True, exist_ok=True)
    for path in rounds:
        shutil.copy(path, artifacts / "chaos" / path.name)
    return Collector(Runner(ctx), lab.kube, artifacts=artifacts, progress_for=lambda w: progress[w.topic],
                     clock=clock)


def round_result(*, began: float, recovery: float = 41.5, stall: float = 3.25, lost: int = 0,
                 pod: str = "cassandra-1") -> RoundResult:
    """A chaos round as `invoke chaos --pod cassandra-1` records it."""
    result = RoundResult(round=1, pod=pod, target="cassandra", force=False, deleted_at=began, restored_at=began,
                         ready_at=began + recovery, recovery_s=recovery, ack_stall_s=stall, ack_stall_began_s=0.4,
                         ack_stall_source="acks", stall_s=3.5)
    if lost:
        result.verify = [{"topic": "test", "rows": 5000, "missing": lost, "ok": False}]
    return result


def round_record(*, began: float, recovery: float = 41.5, stall: float = 3.25, lost: int = 0) -> dict:
    """A chaos round's JSON (lab.chaos.results.RoundResult.to_dict) as `invoke chaos --pod cassandra-1` writes it."""
    return round_result(began=began, recovery=recovery, stall=stall, lost=lost).to_dict()


class FakeChaos:
    """``invoke chaos``'s entry point as the dashboard's buttons call it, with no cluster: it records each
    ChaosCommand and answers one round (recovery 12.5 s, stall 0.75 s) for its target. ``hold``: each call waits
    for ``release`` (the action stays running); ``error``: raised instead of answering."""

    def __init__(self, *, hold: bool = False, error: Exception | None = None):
        self.commands: list[ChaosCommand] = []
        self.started, self.release, self.error = threading.Event(), threading.Event(), error
        if not hold:
            self.release.set()

    def __call__(self, command: ChaosCommand) -> list[RoundResult]:
        self.commands.append(command)
        self.started.set()
        assert self.release.wait(60), "the test never released the fake chaos run"
        if self.error is not None:
            raise self.error
        fault_type, target = command.check()
        result = round_result(began=DELETED_AT, recovery=12.5, stall=0.75, pod=target)
        result.fault = fault_type
        return [result]


def action_dashboard(tmp_path: Path, run=None, *, steps=None, clock: Clock | None = None) -> Dashboard:
    """A started dashboard over the recorded collector (polled once), with fault buttons running ``run`` when given
    (else read-only); ``steps``: the running steps it shows (default: lab.progress's)."""
    clock = clock or Clock(DELETED_AT + 30)
    writers = {"test": FakeProgress("test", steady(clock.now - 60, clock.now)),
                "test-2": FakeProgress("test-2", steady(clock.now - 60, clock.now - 5, per_s=50))}
    collector = recorded_collector(tmp_path, recorded_ctx(), writers, clock)
    collector.poll()
    artifacts = tmp_path / "artifacts"
    actions = None if run is None else Actions(run, steps=steps or progress.running)
    return Dashboard(collector.latest, lambda: history.history(tmp_path, artifacts, tmp_path / "reports"),
                     root=tmp_path, folders=(artifacts,), actions=actions).start()


def page_token(dash: Dashboard) -> str:
    """The token of one freshly served page ('' when the dashboard has no actions)."""
    with urllib.request.urlopen(dash.url, timeout=10) as answer:
        page = answer.read().decode()
    return re.search(r'<meta name="lab-page-token" content="([^"]*)">', page).group(1)


def call(dash: Dashboard, method: str, path: str, body: object = None, *, token: str | None = None,
         page: str | None = None, origin: str | None = None, content_type: str = "application/json",
         raw: bytes | None = None) -> tuple[int, str]:
    """One HTTP request as a browser's fetch sends it (the URL's token and the page's, unless given); (status, body)."""
    url = f"http://127.0.0.1:{dash.port}{path}?token={dash.token if token is None else token}"
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", content_type)
    if page is None and dash.actions is not None:
        page = page_token(dash)
    if page:
        request.add_header(PAGE_TOKEN_HEADER, page)
    if origin:
        request.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def fault_scene(tmp_path: Path, clock: Clock) -> Collector:
    """A collector polled through the start of `invoke chaos --pod cassandra-1` over recorded outputs: the ring all UN,
    then cassandra-1 DN under its old IP and cassandra-2 UJ; the first writer's rate dipped by an earlier round five
    minutes ago (its JSON on disk) and the second writer stalled now. The dashboard's and the watch's screenshots."""
    now = clock.now
    before = steady(now - 600, now - 303, per_s=120)
    first = before + steady(now - 299.5, now, per_s=120, first_seq=before[-1][1] + 12)
    progress = {"test": FakeProgress("test", first),
                "test-2": FakeProgress("test-2", steady(now - 600, now - 4, per_s=60, first_seq=500))}
    earlier = tmp_path / "20261207T035400Z-round1.json"
    earlier.write_text(json.dumps(round_record(began=now - 303.4, recovery=38.2, stall=3.5)))
    ctx = recorded_ctx(pods="pods_before.json")
    ctx.add("nodetool status", (DATA / "nodetool_status_dn.txt").read_text().replace("DN  10.244.2.3", "UN  10.244.2.3")
            .replace("UJ  10.244.1.7", "UN  10.244.1.7"), first=True)
    collector = recorded_collector(tmp_path, ctx, progress, clock, rounds=[earlier])
    clock.now = now - 10
    collector.poll()
    ctx.rules.pop(0)
    ctx.add(r"get pods --selector", text("pods_during.json"), first=True)
    clock.now = now
    collector.poll()
    return collector


#: A soak's rounds seconds apart (seconds before now, fault, target, recovery s, stall s, lost rows): the chart's
#: marks of the first four fall within a few pixels of each other.
CLOSE_ROUNDS = [(250, "pod", "cassandra-0", 35.2, 2.75, 0), (238, "crash", "cassandra-1", 9.8, 0.5, 0),
                (229, "pause", "cassandra-2", 12.1, 6.25, 0), (221, "pod", "cassandra-1", 36.9, 3.0, 12),
                (95, "node", "kind-worker2", 61.3, 4.5, 0)]


def close_rounds_scene(tmp_path: Path, clock: Clock) -> Collector:
    """A collector polled once after the rounds of CLOSE_ROUNDS, their JSONs in its artifacts (round 1..5 of one
    soak), the ring all UN and both writers acknowledging."""
    now = clock.now
    progress = {"test": FakeProgress("test", steady(now - 600, now, per_s=120)),
                "test-2": FakeProgress("test-2", steady(now - 600, now, per_s=60, first_seq=500))}
    rounds = []
    for number, (ago, fault, target, recovery, stall, lost) in enumerate(CLOSE_ROUNDS, 1):
        result = round_result(began=now - ago, recovery=recovery, stall=stall, lost=lost, pod=target)
        result.round, result.fault = number, fault
        path = tmp_path / f"20261207T040000Z-round{number}.json"
        path.write_text(json.dumps(result.to_dict()))
        rounds.append(path)
    ctx = recorded_ctx(pods="pods_before.json")
    ctx.add("nodetool status", (DATA / "nodetool_status_dn.txt").read_text().replace("DN  10.244.2.3", "UN  10.244.2.3")
            .replace("UJ  10.244.1.7", "UN  10.244.1.7"), first=True)
    collector = recorded_collector(tmp_path, ctx, progress, clock, rounds=rounds)
    collector.poll()
    return collector


class FakeApi(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """``kubectl proxy --unix-socket`` over recorded lists: a GET of a list path answers its file of tests/lab/data/live
    (``files``: kind -> file name, e.g. pods -> pods_during.json); any other path 404. ``paths`` holds every path
    asked, ``connections`` how many connections were opened."""

    daemon_threads = True

    def __init__(self, path: str, files: dict[str, str]):
        self.files, self.paths, self.connections = files, [], 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # kept alive, as the real proxy's

            def setup(self):
                fake.connections += 1
                super().setup()

            def address_string(self):
                return "unix"

            def log_message(self, format, *args):
                pass

            def do_GET(self):  # noqa: N802 (http.server's name)
                fake.paths.append(self.path)
                name = fake.files.get(urlsplit(self.path).path.rsplit("/", 1)[-1])
                body, code = (text(name).encode(), 200) if name else (b'{"kind":"Status","code":404}', 404)
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(path, Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


class FakeProxyProcess:
    """The Popen of a spawned ``kubectl proxy``: running while its FakeApi serves; ``end()`` as the proxy dying."""

    def __init__(self, api: FakeApi):
        self.api, self.returncode = api, None

    def poll(self):
        return self.returncode

    def end(self, code: int = 1) -> None:
        if self.returncode is None:
            self.api.shutdown()
            self.api.server_close()
            self.returncode = code

    def terminate(self):
        self.end(-15)

    def wait(self, timeout=None):
        return self.returncode

    kill = terminate


class SpawningRunner(Runner):
    """A Runner over a FakeCtx whose ``spawn`` of ``kubectl proxy --unix-socket S`` starts a FakeApi on S (over
    ``files``); every spawn's argv is kept in ``spawned``, each proxy in ``proxies``."""

    def __init__(self, ctx: FakeCtx, files: dict[str, str]):
        super().__init__(ctx)
        self.files, self.spawned, self.proxies = files, [], []

    def spawn(self, argv, **popen_kwargs):
        self.spawned.append(argv)
        assert "proxy" in argv, f"only kubectl proxy is spawned here, not {argv}"
        process = FakeProxyProcess(FakeApi(argv[argv.index("--unix-socket") + 1], self.files))
        self.proxies.append(process)
        return process

    def processes(self) -> int:
        """Processes started: one per command run, one per spawn."""
        return len(self.ctx.commands) + len(self.spawned)


#: The lists FakeApi serves by default (the same recordings recorded_ctx answers `kubectl get` with).
RECORDED_LISTS = {"pods": "pods_during.json", "nodes": "nodes.json", "events": "events.json",
                  "deployments": "deployments.json"}
