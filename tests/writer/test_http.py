"""writer.http: the probes stay answerable under idle and excess connections, and say why they are red."""

import socket
import threading
import time
import urllib.error
import urllib.request

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
    server, port = start(idle_timeout=1.5)
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
        assert server.idle_closed >= 250  # the rest were evicted for newer ones (the probe above among them)
        assert get(port) == (200, "ok\n")
    finally:
        for s in idle:
            s.close()
        server.server_close()


def test_a_client_stalling_mid_request_is_dropped_and_handlers_are_capped():
    server, port = start(idle_timeout=1.0, max_handlers=2)
    stalled = []
    try:
        for _ in range(2):  # each takes a handler slot: a request line begun, never finished
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"GET /healthz HTTP/1.0\r\n")
            stalled.append(s)
        time.sleep(0.3)
        third = socket.create_connection(("127.0.0.1", port))
        third.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        assert closed_by_server(third, 2), "a request beyond the cap was served instead of refused"
        assert server.refused == 1
        assert all(closed_by_server(s, 5) for s in stalled), "stalled requests were not timed out"
        assert get(port) == (200, "ok\n")  # slots free again
    finally:
        for s in stalled:
            s.close()
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
