"""writer.http: the probes stay answerable under idle, slow-drip, oversized and excess connections, and say why
they are red."""

import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from prometheus_client import CollectorRegistry

from writer.http import Probes, ProbeServer


def start(probes=None, **kw):
    probes = probes or Probes(CollectorRegistry())
    server = ProbeServer(probes, 0, "127.0.0.1", **kw)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def get(port, path="/healthz"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def closed_by_server(sock, timeout=10.0) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_300_idle_connections_hold_no_threads_and_healthz_still_answers():
    server, port = start(deadline=1.5)
    threads_before = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(300)]
    try:
        time.sleep(0.3)
        began = time.monotonic()
        assert get(port) == (200, "ok\n")  # answered while 300 connections sit idle
        assert time.monotonic() - began < 1.0
        assert threading.active_count() <= threads_before + 2, "idle connections hold threads"
        # The waiting room holds 256: the 44 oldest were closed to make room, the rest after the idle timeout.
        assert sum(closed_by_server(s, 0.2) for s in idle[:44]) == 44
        time.sleep(1.5)
        assert all(closed_by_server(s, 5) for s in idle[44:]), "idle connections were not closed"
        assert server.timed_out >= 250  # the rest were evicted for newer ones (the probe above among them)
        assert get(port) == (200, "ok\n")
    finally:
        for s in idle:
            s.close()
        server.server_close()


def drip(port, stop: threading.Event, every=0.2):
    """A client that never finishes its request: a header byte every ``every`` seconds. Returns the socket
    and a list that gets the time the server closed it."""
    s = socket.create_connection(("127.0.0.1", port))
    closed_at = []

    def run():
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Drip: ")
            while not stop.is_set():
                s.sendall(b"a")
                time.sleep(every)
        except OSError:
            closed_at.append(time.monotonic())

    threading.Thread(target=run, daemon=True).start()
    return s, closed_at


def test_32_slow_drip_connections_cannot_starve_healthz():
    """The kubelet's probe answers within 1 s while 32 clients drip their requests a byte at a time, and the
    drips are closed at the total deadline although each keeps sending."""
    server, port = start(deadline=3.0)
    stop = threading.Event()
    began = time.monotonic()
    drips = [drip(port, stop) for _ in range(32)]
    try:
        time.sleep(0.5)
        while time.monotonic() - began < 2.5:  # the drips are all alive and sending
            t0 = time.monotonic()
            assert get(port) == (200, "ok\n")
            assert time.monotonic() - t0 < 1.0
            time.sleep(0.2)
        assert server.refused == 0
        time.sleep(3.0)
        assert sum(bool(closed_at) for _, closed_at in drips) == 32, "a dripping client outlived its deadline"
        # Closed at the deadline counted from the accept, seen by the client at its next byte (0.2 s apart).
        assert all(began + 2.9 < closed_at[0] < began + 5.0 for _, closed_at in drips)
        assert server.timed_out >= 32
    finally:
        stop.set()
        for s, _ in drips:
            s.close()
        server.server_close()


def test_an_oversized_request_head_is_refused_before_a_handler():
    server, port = start()
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.0\r\nX-Big: " + b"a" * 9000)
        s.settimeout(5)
        assert s.recv(200).startswith(b"HTTP/1.0 431 ")
        assert closed_by_server(s, 5)
        assert server.oversized == 1
        assert get(port) == (200, "ok\n")
    finally:
        server.server_close()


class BlockingAcks:
    """An acknowledgement record whose snapshot waits: each /acks request holds a handler slot."""

    def __init__(self):
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)

    def snapshot(self, since):
        self.entered.release()
        self.release.wait(10)
        return {"acks": []}


def test_one_handler_slot_is_kept_for_each_probe():
    acks = BlockingAcks()
    server, port = start(Probes(CollectorRegistry(), acks), max_handlers=3)
    busy = []
    try:
        first = socket.create_connection(("127.0.0.1", port))
        first.sendall(b"GET /acks HTTP/1.0\r\n\r\n")  # takes the one slot any request may take
        busy.append(first)
        assert acks.entered.acquire(timeout=5)
        second = socket.create_connection(("127.0.0.1", port))
        second.sendall(b"GET /acks HTTP/1.0\r\n\r\n")
        busy.append(second)
        assert closed_by_server(second, 2), "a request beyond the cap was served instead of refused"
        assert server.refused == 1
        t0 = time.monotonic()
        # Liveness and readiness at the same moment, as the kubelet may send them: each has its slot.
        with ThreadPoolExecutor(2) as pool:
            health, ready = pool.map(lambda path: get(port, path), ["/healthz", "/readyz"])
        assert health == (200, "ok\n") and ready[0] == 503
        assert time.monotonic() - t0 < 1.0
        assert server.refused == 1
        acks.release.set()
        first.settimeout(5)
        response = first.makefile("rb").read()  # to EOF: the server closes after answering
        assert response.startswith(b"HTTP/1.0 200 ") and response.endswith(b'{"acks":[]}')
    finally:
        acks.release.set()
        for s in busy:
            s.close()
        server.server_close()


def test_a_client_stalling_mid_request_is_dropped_at_the_deadline():
    server, port = start(deadline=1.0)
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.0\r\n")
        assert closed_by_server(s, 5), "a stalled request was not timed out"
        assert server.timed_out == 1 and server.refused == 0
        assert get(port) == (200, "ok\n")
    finally:
        server.server_close()


def test_healthz_reports_the_reason_when_red():
    probes = Probes(CollectorRegistry())
    server, port = start(probes)
    try:
        probes.heartbeat = lambda: time.monotonic()  # the loop runs
        probes.health = lambda: (False, "t: no write succeeded for 185 s (waiting at seq 11161)")
        assert get(port) == (503, "unhealthy: t: no write succeeded for 185 s (waiting at seq 11161)\n")
        probes.health = lambda: (True, "ok")
        probes.heartbeat = lambda: time.monotonic() - 60
        status, body = get(port)
        assert status == 503 and body.startswith("unhealthy: loop stalled: no tick for 60 s")
        assert get(port, "/readyz") == (503, "not ready: stopping\n")
        assert get(port, "/nope")[0] == 404
    finally:
        server.server_close()


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_healthz_is_green_during_startup_only_until_its_budget_is_spent():
    """A startup wedged (or retrying) past WRITER_STARTUP_BUDGET is restarted: /healthz says which step."""
    clock = Clock()
    probes = Probes(CollectorRegistry(), startup_budget=300, clock=clock)
    server, port = start(probes)
    try:
        probes.startup_step = "reading last_seq"
        probes.startup_error = "Unavailable: Cannot achieve consistency level QUORUM"
        clock.now += 299
        assert get(port) == (200, "ok\n")
        assert get(port, "/readyz") == (503, "not ready: starting\n")
        clock.now += 2
        assert get(port) == (503, "unhealthy: startup not finished after 301 s (WRITER_STARTUP_BUDGET=300): reading "
                                  "last_seq; last error: Unavailable: Cannot achieve consistency level QUORUM\n")
        probes.heartbeat = clock  # the loop runs: the budget no longer applies
        probes.ready = True
        assert get(port) == (200, "ok\n")
        assert get(port, "/readyz") == (200, "ready\n")
    finally:
        server.server_close()


def test_readyz_is_red_with_the_reason_while_no_write_succeeds_for_the_bound():
    """The loop's readiness: an outage shorter than WRITER_UNREADY_AFTER stays ready, a longer one does not."""
    from writer.config import load
    from writer.loop import WriteLoop

    clock = Clock()
    loop = WriteLoop(store=None, config=load({"TOPIC": "t", "WRITER_UNREADY_AFTER": "10"}), start=41, clock=clock)
    probes = Probes(CollectorRegistry(), clock=clock)
    probes.heartbeat, probes.health, probes.readiness, probes.ready = clock, loop.health, loop.readiness, True
    server, port = start(probes)
    try:
        assert get(port, "/readyz") == (200, "ready\n")
        loop._on_failed(ConnectionRefusedError(111, "Connection refused"), loop._claim())
        clock.now += 9.9
        assert get(port, "/readyz") == (200, "ready\n")
        clock.now += 0.2
        assert get(port, "/readyz") == (503, "not ready: t: no write succeeded for 10 s (waiting at seq 42); last "
                                             "error: ConnectionRefusedError: [Errno 111] Connection refused\n")
        assert get(port) == (200, "ok\n")  # /healthz keeps its meaning: an outage alone is no reason to restart
    finally:
        server.server_close()
