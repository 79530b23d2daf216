"""What watching costs: ``python -m tests.lab.live_cost [--seconds 60] [--tabs 2]``, on a running lab.

Starts ``invoke watch`` in a pseudo-terminal (it redraws, as in a terminal) and ``invoke dashboard``, opens the
dashboard's URL in ``--tabs`` windows of headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium; each tab in a window of its own, so none is throttled as a background tab), waits ``--warmup`` seconds,
then reads the CPU time of each command from /proc/<pid>/stat at the start and the end of ``--seconds``: the
process's own user+system time, its reaped children's (cutime, cstime: each kubectl the poller ran), and that of
every descendant still running (the kubectl proxy, the port-forwards). Prints the conditions (machine, load,
commands, tabs, window) and the figures: CPU seconds and % of one core for each command, their sum against the 5%
target, and the browser's for comparison. The Cassandra pods' own work (nodetool's JVM runs in its pod) is the
cluster's, not counted here. A figure, not a test: the arithmetic is tested in test_live_cost.py.

``--watch`` and ``--dashboard`` replace the two commands (quoted, as a shell would split them), e.g. to measure a
lab configured elsewhere: ``--dashboard "invoke -f other.yaml dashboard"``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.lab.chromium import chromium
from tests.terminal import in_a_terminal, restore_ctrl_c

TARGET_PERCENT = 5.0
TICKS = os.sysconf("SC_CLK_TCK")
URL = re.compile(r"http://127\.0\.0\.1:\d+/\?token=\S+")


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/<pid>/stat this measure reads, in clock ticks."""

    pid: int
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int

    @property
    def ticks(self) -> int:
        """Its own CPU time and that of the children it has reaped."""
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(line: str) -> Stat:
    """One /proc/<pid>/stat line; the command name (2nd field) may hold spaces and parentheses, so the fields are
    counted from its last ')'."""
    pid = int(line.split(" ", 1)[0])
    rest = line[line.rindex(")") + 2:].split()
    return Stat(pid, int(rest[1]), *(int(rest[i]) for i in (11, 12, 13, 14)))


def read_stats(proc: Path = Path("/proc")) -> dict[int, Stat]:
    stats = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue  # it ended between the listing and the read
    return stats


def tree_ticks(stats: dict[int, Stat], root: int) -> tuple[int, int]:
    """(CPU ticks, processes) of ``root`` and every descendant alive now. A child that ended and was reaped is in its
    parent's cutime/cstime; one alive is counted on its own: nothing twice."""
    children: dict[int, list[int]] = {}
    for s in stats.values():
        children.setdefault(s.ppid, []).append(s.pid)
    total, count, todo = 0, 0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total, count = total + stats[pid].ticks, count + 1
            todo.extend(children.get(pid, []))
    return total, count


def percent_of_core(ticks: int, seconds: float) -> float:
    return 100.0 * ticks / TICKS / seconds


def start_watch(command: list[str]) -> subprocess.Popen:
    env = {**os.environ, "TERM": os.environ.get("TERM", "xterm-256color"), "COLUMNS": "140", "LINES": "50"}
    return in_a_terminal(command, rows=50, columns=140, env=env)


def start_dashboard(command: list[str], timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """The dashboard and the URL it printed (its first line on stdout)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               preexec_fn=restore_ctrl_c, start_new_session=True)
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.extend(URL.findall(process.stdout.readline())), daemon=True)
    reader.start()
    reader.join(timeout)
    if not found:
        process.terminate()
        raise SystemExit(f"ERROR: {shlex.join(command)} printed no URL in {timeout:.0f} s (exit {process.poll()}); "
                         "is the lab up? run it by hand to see why")
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    return process, found[0]


def open_tabs(url: str, tabs: int):
    def missing(why: str):
        raise SystemExit(f"ERROR: --tabs {why}")

    browser = chromium(missing)
    browser.get(url)
    for _ in range(tabs - 1):
        browser.switch_to.new_window("window")
        browser.get(url)
    return browser


def _stop(process: subprocess.Popen) -> None:
    """Ctrl-C, as a person stops either command; then harder."""
    if process.poll() is None:
        os.killpg(process.pid, 2)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window (default 60)")
    parser.add_argument("--tabs", type=int, default=2, help="browser tabs on the dashboard (default 2)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before the window (default 10)")
    parser.add_argument("--watch", default="invoke watch", help="the watch command (default: invoke watch)")
    parser.add_argument("--dashboard", default="invoke dashboard", help="the dashboard command")
    args = parser.parse_args()
    if args.seconds <= 0 or args.tabs < 0 or args.warmup < 0:
        raise SystemExit("ERROR: --seconds must be > 0, --tabs and --warmup >= 0")
    watch_cmd, dash_cmd = shlex.split(args.watch), shlex.split(args.dashboard)
    dashboard, url = start_dashboard(dash_cmd)
    watch = start_watch(watch_cmd)
    browser = None
    try:
        browser = open_tabs(url, args.tabs) if args.tabs else None
        browser_pid = browser.service.process.pid if browser else None
        time.sleep(args.warmup)
        for name, process in (("watch", watch), ("dashboard", dashboard)):
            if process.poll() is not None:
                raise SystemExit(f"ERROR: the {name} command ended (exit {process.returncode}) before the window")
        load_before = os.getloadavg()
        before, began = read_stats(), time.monotonic()
        time.sleep(args.seconds)
        after, seconds = read_stats(), time.monotonic() - began
        load_after = os.getloadavg()
    finally:
        if browser is not None:
            browser.quit()
        _stop(watch)
        _stop(dashboard)
    rows = [("watch", watch.pid), ("dashboard", dashboard.pid)]
    if browser_pid:
        rows.append((f"chromium, {args.tabs} tab(s) (for comparison)", browser_pid))
    print(f"live_cost: {time.strftime('%Y-%m-%d %H:%M:%S %z')} on {platform.node()}, {os.cpu_count()} CPU(s), "
          f"Python {platform.python_version()}, {sys.platform}")
    print(f"  watch:     {shlex.join(watch_cmd)} (in a pseudo-terminal, 140x50, redrawing)")
    print(f"  dashboard: {shlex.join(dash_cmd)}, {args.tabs} headless Chromium tab(s) on {url.split('?')[0]}")
    print(f"  window: {seconds:.1f} s after {args.warmup:.0f} s of warm-up; load average "
          f"{load_before[0]:.2f} before, {load_after[0]:.2f} after; CPU from /proc/<pid>/stat (utime+stime, "
          f"+cutime+cstime of reaped children, + every live descendant), {TICKS} ticks/s")
    total = 0.0
    for name, pid in rows:
        t0, n0 = tree_ticks(before, pid)
        t1, n1 = tree_ticks(after, pid)
        used = t1 - t0
        if not name.startswith("chromium"):
            total += percent_of_core(used, seconds)
        print(f"  {name:<40} {used / TICKS:7.2f} CPU s  {percent_of_core(used, seconds):6.2f}% of one core  "
              f"({n1} process(es) at the end)")
    verdict = "within" if total < TARGET_PERCENT else "OVER"
    print(f"  watch + dashboard: {total:.2f}% of one core, {verdict} the {TARGET_PERCENT:g}% target")


if __name__ == "__main__":
    main()
