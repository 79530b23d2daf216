"""Sampling the writer's progress: its /metrics text, the port-forward reader, the background sampler."""

import json
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


def _serve(body: bytes, *, routes: dict[str, bytes] | None = None, asked: list[str] | None = None):
    """A writer's HTTP port: /metrics answers ``body``; a path starting with a key of ``routes`` answers its value
    (the paths asked are appended to ``asked``); anything else is a 404."""
    routes = {"/metrics": body, **(routes or {})}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if asked is not None:
                asked.append(self.path)
            found = next((answer for prefix, answer in routes.items() if self.path.startswith(prefix)), None)
            self.send_response(200 if found is not None else 404)
            self.end_headers()
            self.wfile.write(found if found is not None else b"not found")

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


#: A writer acknowledging every 0.1 s from T0, then nothing from T0 + 5.0 until T0 + 8.042 (its session stopped
#: answering for 3 s), then every 0.1 s again: what its GET /acks?since=T0 answers.
T0 = 1_765_000_000.0
ADVANCES = ([[T0 - 0.3, 40]] + [[round(T0 + i / 10, 3), 50 + i] for i in range(51)]
            + [[round(T0 + 8.042 + i / 10, 3), 101 + i] for i in range(20)])


def test_the_acks_reader_finds_a_3_s_acknowledgement_stall_to_the_millisecond():
    from lab.stall import ack_samples, covers, longest_stall

    body = json.dumps({"topic": "test", "now": T0 + 10.1, "capacity": 65536, "oldest": T0 - 60,
                       "advances": ADVANCES}).encode()
    asked: list[str] = []
    server = _serve(b"", routes={"/acks": body}, asked=asked)
    try:
        progress = MetricsProgress(Runner(FakeCtx()), K, remote_port=8080, metric="writer_watermark_seq",
                                   topic="test")
        progress.local_port = server.server_address[1]
        record = progress.acks(T0)
    finally:
        server.shutdown()
    assert asked == [f"/acks?since={T0:.3f}"]
    assert covers(record["advances"], T0) and record["capacity"] == 65536
    stall = longest_stall(ack_samples(record["advances"], start=T0, end=T0 + 10.0))
    assert stall.seconds >= 3.0 and round(stall.seconds, 3) == 3.042
    assert (stall.start, stall.end, stall.seq, stall.open) == (T0 + 5.0, T0 + 8.042, 100, False)


def test_an_older_writer_without_acks_gives_none():
    server = _serve(b"writer_watermark_seq 7\n")  # /acks: 404
    try:
        progress = MetricsProgress(Runner(FakeCtx()), K, remote_port=8080, metric="writer_watermark_seq",
                                   topic="test")
        progress.local_port = server.server_address[1]
        assert progress.acks(T0) is None and progress.read() == 7
    finally:
        server.shutdown()


def test_ack_samples_start_at_the_level_before_the_window_and_end_open():
    from lab.stall import ack_samples, covers, longest_stall

    advances = [[9.0, 5], [10.5, 6], [11.0, 7]]
    assert ack_samples(advances, start=10.0, end=14.0) == [(10.0, 5), (10.5, 6), (11.0, 7), (14.0, 7)]
    stall = longest_stall(ack_samples(advances, start=10.0, end=14.0))
    assert (stall.seconds, stall.start, stall.open) == (3.0, 11.0, True)  # still nothing acknowledged at the end
    assert not covers([[10.5, 6]], 10.0)  # a writer that started after the window began cannot speak for it
