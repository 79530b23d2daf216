"""Sampling the writer's progress: its /metrics text, the port-forward reader, the background sampler."""

import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from lab.chaos import MetricsProgress, Sampler, parse_metric
from lab.runner import Runner
from tests.lab.chaosfakes import K
from tests.lab.labfakes import DATA, FakeCtx


def test_parse_metric_from_the_writers_exposition():
    text = (DATA / "writer_metrics.txt").read_text()
    assert parse_metric(text, "writer_last_seq") == 41990
    assert parse_metric(text, "writer_last_seq", labels={"topic": "test"}) == 41990
    assert parse_metric(text, "writer_last_seq", labels={"topic": "other"}) is None
    assert parse_metric(text, "writer_retries_total", labels={"error": "WriteTimeout"}) == 3
    assert parse_metric(text, "writer_last") is None  # a prefix is not a name


def _serve(body: bytes):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_metrics_progress_reads_the_writers_gauge_over_http():
    server = _serve((DATA / "writer_metrics.txt").read_bytes())
    try:
        progress = MetricsProgress(Runner(FakeCtx()), K, remote_port=8080, metric="writer_last_seq", topic="test")
        progress.local_port = server.server_address[1]  # stands in for the port-forward's local end
        assert progress.read() == 41990
        progress.topic = "other"  # no series for that topic: fall back to the unlabelled maximum
        assert progress.read() == 41990
        progress.metric = "writer_missing"
        assert progress.read() is None
    finally:
        server.shutdown()


class _DeadProc:
    returncode = 1

    def poll(self):
        return 1


class _SpawnRunner(Runner):
    def __init__(self):
        super().__init__(FakeCtx())
        self.spawned = []

    def spawn(self, argv, **kwargs):
        self.spawned.append(argv)
        return _DeadProc()


def test_a_dead_port_forward_is_reopened_for_the_next_read():
    server = _serve(b"writer_last_seq 7\n")
    runner = _SpawnRunner()
    try:
        progress = MetricsProgress(runner, K, remote_port=8080, metric="writer_last_seq", topic="test")
        progress.local_port = server.server_address[1]
        assert progress.start(timeout=5) is True
        assert runner.spawned[0][-4:] == ["deployment/ece573-prj04-writer", f"{progress.local_port}:8080",
                                          "--address", "127.0.0.1"]
        progress._opened -= MetricsProgress.REOPEN_EVERY + 1  # the forward died a while ago
        assert progress.read() == 7
        assert len(runner.spawned) == 2
        assert progress.read() == 7 and len(runner.spawned) == 2  # not again right away
    finally:
        server.shutdown()


def test_sampler_keeps_failed_reads_as_gaps_and_knows_the_highest_seq():
    values = iter([5, None, 9, RuntimeError("scrape failed"), 8])

    def read():
        value = next(values, 8)
        if isinstance(value, Exception):
            raise value
        return value

    sampler = Sampler(read, every=0.001).start()
    deadline = time.monotonic() + 5
    while len(sampler.samples) < 5 and time.monotonic() < deadline:
        time.sleep(0.005)
    samples = sampler.stop()
    assert [s for _, s in samples[:5]] == [5, None, 9, None, 8]
    assert sampler.highest() == 9
