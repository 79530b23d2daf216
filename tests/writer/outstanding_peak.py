"""The driver's outstanding writes when every answer is late: ``python -m tests.writer.outstanding_peak
[--delay 5] [--seconds 60]``.

The real writer (a subprocess, its defaults) writes to a real Cassandra (one node in Docker, the image in
CASSANDRA_IMAGE) through tests/writer/delayproxy.py. Once it writes, every answer is delayed by ``--delay``
seconds, longer than WRITER_REQUEST_TIMEOUT: each write expires, is re-sent, and its first attempt stays
alive in the driver. Every second the writer's own /metrics are read: writes in flight, writes the driver holds
(``writer_requests_outstanding``, and its peak), the acknowledged watermark. Prints them, then the peak beside
the bound the writer promises (2 x WRITER_IN_FLIGHT + 2) and what the configured in-flight count alone would
suggest. A figure, not a test: the bound is asserted with a fake driver in test_loop_bounds.py.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import time
import urllib.request

# The node is removed in main()'s finally; testcontainers' reaper is an image from Docker Hub, not always there.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from tests.cassandra_nodes import DEFAULT_IMAGE, SingleNode  # noqa: E402  (testcontainers after the env)
from tests.writer.delayproxy import DelayProxy  # noqa: E402
from tests.writer.support import WriterProcess  # noqa: E402

METRICS = ("writer_in_flight", "writer_requests_outstanding", "writer_requests_outstanding_peak",
           "writer_watermark_seq", "writer_retries_total")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    # One topic: a metric's label sets (the retries' error classes) add up.
    return {name: sum(float(v) for v in re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M)) for name in METRICS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=5.0, help="seconds every answer is held back")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the answers are late")
    parser.add_argument("--in-flight", type=int, default=128, help="WRITER_IN_FLIGHT (the writer's default)")
    args = parser.parse_args()
    image = os.environ.get("CASSANDRA_IMAGE", DEFAULT_IMAGE)
    node = SingleNode(image).launch()
    proxy = DelayProxy((node.host, node.port), delay=0.0)
    port = free_port()
    env = {"CASSANDRA_SEEDS": proxy.seeds, "KEYSPACE": "ece573", "REPLICATION_FACTOR": "1", "CONSISTENCY": "ONE",
           "TOPIC": f"outstanding-{int(time.time())}", "HTTP_PORT": str(port),
           "WRITER_IN_FLIGHT": str(args.in_flight)}
    writer = WriterProcess(env)
    try:
        writer.wait_for(r"inserted rows to seq \d+", 180)
        before = scrape(port)
        proxy.delay = args.delay
        print(f"image {image}; WRITER_IN_FLIGHT={args.in_flight}, other settings the writer's defaults; "
              f"answers delayed {args.delay:g} s from now for {args.seconds:g} s "
              f"(watermark {before.get('writer_watermark_seq', 0):.0f} when the delay began)")
        print(f"{'t s':>5} {'in flight':>9} {'outstanding':>11} {'peak':>5} {'watermark':>10} {'retries':>8}")
        began, peak = time.monotonic(), 0.0
        while (elapsed := time.monotonic() - began) < args.seconds:
            m = scrape(port)
            peak = max(peak, m.get("writer_requests_outstanding", 0))
            print(f"{elapsed:5.0f} {m.get('writer_in_flight', 0):9.0f} {m.get('writer_requests_outstanding', 0):11.0f} "
                  f"{m.get('writer_requests_outstanding_peak', 0):5.0f} {m.get('writer_watermark_seq', 0):10.0f} "
                  f"{m.get('writer_retries_total', 0):8.0f}", flush=True)
            time.sleep(1)
        final = scrape(port)
        bound = 2 * args.in_flight + 2
        print(f"peak outstanding {final.get('writer_requests_outstanding_peak', 0):.0f} (sampled {peak:.0f}); "
              f"the writer's bound 2 x {args.in_flight} + 2 = {bound}; configured in flight {args.in_flight}")
        proxy.delay = 0.0
        mark = final.get("writer_watermark_seq", 0)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and scrape(port).get("writer_watermark_seq", 0) <= mark + 1000:
            time.sleep(1)
        print(f"delay lifted: watermark {scrape(port).get('writer_watermark_seq', 0):.0f} "
              f"(was {mark:.0f}); writer still running: {writer.proc.poll() is None}")
    finally:
        writer.terminate()
        proxy.close()
        node.remove()


if __name__ == "__main__":
    main()
