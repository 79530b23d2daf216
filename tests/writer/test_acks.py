"""writer.acks and GET /acks: every advance of the acknowledged prefix, with its wall-clock time, served whole.

The contract the lab reads: ``GET /acks?since=<epoch seconds>`` -> 200 JSON {topic, now, capacity, oldest,
advances: [[t, seq], ...]}, every advance at or after ``since`` preceded by the last one before it; a bad
``since`` -> 400 with one line.
"""

import itertools
import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from tests.writer.drivers import DriverLike
from writer.acks import AckLog
from writer.config import Config
from writer.http import Probes, ProbeServer
from writer.loop import WriteLoop


def serve(acks):
    server = ProbeServer(Probes(CollectorRegistry(), acks), 0, "127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read().decode()


def test_the_ring_keeps_the_newest_advances_in_time_order():
    log = AckLog("t", capacity=4)
    for i in range(1, 7):
        log.record(i * 10, at=100.0 + i)
    assert len(log) == 4
    assert log.advances() == [[103.0, 30], [104.0, 40], [105.0, 50], [106.0, 60]]
    assert log.snapshot()["oldest"] == 103.0
    assert log.advances(since=104.5) == [[104.0, 40], [105.0, 50], [106.0, 60]]  # the level at 104.5 first
    assert log.advances(since=104.0) == [[103.0, 30], [104.0, 40], [105.0, 50], [106.0, 60]]
    assert log.advances(since=50.0) == log.advances()  # nothing before: no predecessor
    assert log.advances(since=200.0) == [[106.0, 60]]  # only the level


def test_a_clock_stepped_back_keeps_the_record_in_order():
    log = AckLog("t")
    log.record(1, at=10.0)
    log.record(2, at=9.0)
    assert log.advances() == [[10.0, 1], [10.0, 2]]


def test_acks_endpoint_serves_the_contract_and_refuses_a_bad_since():
    log = AckLog("topic-a", capacity=10, clock=lambda: 1000.0)
    for seq, at in ((5, 990.0), (9, 995.5), (12, 999.25)):
        log.record(seq, at=at)
    server, port = serve(log)
    try:
        status, kind, body = get(port, "/acks")
        assert (status, kind) == (200, "application/json")
        assert json.loads(body) == {"topic": "topic-a", "now": 1000.0, "capacity": 10, "oldest": 990.0,
                                    "advances": [[990.0, 5], [995.5, 9], [999.25, 12]]}
        assert json.loads(get(port, "/acks?since=996")[2])["advances"] == [[995.5, 9], [999.25, 12]]
        for bad in ("abc", "nan", "inf", ""):
            status, _, body = get(port, f"/acks?since={bad}")
            assert status == 400 and body.count("\n") == 1 and "since must be epoch seconds" in body, body
    finally:
        server.server_close()
    empty, port = serve(AckLog("topic-b", clock=lambda: 5.0))
    try:
        assert json.loads(get(port, "/acks")[2]) == {"topic": "topic-b", "now": 5.0, "capacity": 200_000,
                                                     "oldest": None, "advances": []}
    finally:
        empty.server_close()


def test_a_3_s_stall_of_acknowledgements_reads_as_a_3_s_gap_on_acks():
    resume_at = 0.0  # until then Cassandra answers nothing, then what it held (stalled, then caught up)
    store = DriverLike(lambda first, last: max(0.0, resume_at - time.monotonic()))
    config = Config(topic="t-acks", max_seqs=None, in_flight=8, batch_size=4, http_port=None, rate=2000.0,
                    checkpoint_interval=0.05, stop_timeout=2.0, request_timeout=5.0)
    loop = WriteLoop(store, config, start=0)
    server, port = serve(loop.acks)
    runner = threading.Thread(target=loop.run, daemon=True)
    began = time.time()
    runner.start()
    try:
        time.sleep(0.5)
        paused_at = time.time()
        resume_at = time.monotonic() + 3.0
        time.sleep(4.0)
        status, _, body = get(port, f"/acks?since={began}")
    finally:
        loop.request_stop()
        runner.join(10)
        server.server_close()
    assert status == 200
    record = json.loads(body)
    advances = record["advances"]
    assert record["topic"] == "t-acks" and advances[0] == [pytest.approx(began, abs=0.5), 0]  # the start level
    seqs = [seq for _, seq in advances]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # each entry an advance
    gaps = [(b[0] - a[0], a) for a, b in itertools.pairwise(advances)]
    longest, before = max(gaps)
    assert longest >= 3.0, f"longest gap {longest:.3f} s"
    assert longest < 3.5 and abs(before[0] - paused_at) < 0.1, (longest, before, paused_at)
    assert advances[-1][1] > before[1]  # writing went on after the stall
