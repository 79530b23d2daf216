"""The writer's memory through a long hole: ``python -m tests.writer.hole_rss [--seconds 600] [--rate 2000]``.

Runs the real WriteLoop against a driver-like fake in this process: every write answers after 2 ms, except
each attempt at the unit holding seq 1001, which fails after the driver's late window (OperationTimedOut, as
the driver reports a request nobody answered) until ``--seconds`` have passed. Prints, every 10 s, the
process's resident memory (VmRSS) beside the loop's held state, then whether writing went on after the hole.
A figure, not a test: the bounds themselves are asserted in test_loop_bounds.py.
"""

from __future__ import annotations

import argparse
import threading
import time

from tests.writer.drivers import DriverLike
from writer.config import Config
from writer.loop import WriteLoop, late_window

HOLE_SEQ = 1001


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="length of the hole")
    parser.add_argument("--rate", type=float, default=None, help="WRITER_RATE (default: uncapped)")
    args = parser.parse_args()
    config = Config(topic="hole", max_seqs=None, http_port=None, rate=args.rate)  # the writer's defaults
    began = time.monotonic()
    late, hole_until = late_window(config), began + args.seconds

    def in_hole(first: int, last: int) -> bool:
        return first <= HOLE_SEQ <= last and time.monotonic() < hole_until

    store = DriverLike(lambda first, last: late if in_hole(first, last) else 0.002, fails=in_hole, keep_rows=False)
    loop = WriteLoop(store, config, start=0)
    runner = threading.Thread(target=loop.run, daemon=True)
    print(f"in_flight={config.in_flight} batch={config.batch_size} rate={args.rate} hole={args.seconds:.0f} s")
    print(f"{'t s':>6} {'RSS MiB':>8} {'watermark':>10} {'next seq':>10} {'above':>9} {'pending':>8} "
          f"{'held':>5} {'peak':>5}")
    runner.start()
    while (elapsed := time.monotonic() - began) < args.seconds + 10:
        print(f"{elapsed:6.0f} {rss_mib():8.1f} {loop.watermark.value:10d} {loop.next_seq - 1:10d} "
              f"{loop.next_seq - 1 - loop.watermark.value:9d} {loop.watermark.pending:8d} {store.held:5d} "
              f"{store.peak:5d}", flush=True)
        time.sleep(10)
    loop.request_stop()
    runner.join(30)
    print(f"after the hole: watermark {loop.watermark.value}, {loop.rows_written} rows acknowledged, "
          f"peak RSS {rss_mib():.1f} MiB now")


if __name__ == "__main__":
    main()
