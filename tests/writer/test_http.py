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
        probes.health = lambda: (False, "t: no write succeeded for 185 s (waiting at seq 11161)")
        assert get(port) == (503, "unhealthy: t: no write succeeded for 185 s (waiting at seq 11161)\n")
        probes.health = lambda: (True, "ok")
        probes.heartbeat = lambda: time.monotonic() - 60
        status, body = get(port)
        assert status == 503 and body.startswith("unhealthy: loop stalled: no tick for 60 s")
        assert get(port, "/readyz") == (503, "not ready\n")
        assert get(port, "/nope")[0] == 404
    finally:
        server.server_close()
