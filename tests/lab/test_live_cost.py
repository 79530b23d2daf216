"""The arithmetic of tests/lab/live_cost.py (the CPU cost of watching): /proc/<pid>/stat lines and process trees."""

from __future__ import annotations

import os

from tests.lab.live_cost import TICKS, Stat, parse_stat, percent_of_core, read_stats, tree_ticks


def _line(pid: int, comm: str, ppid: int, utime: int, stime: int, cutime: int, cstime: int) -> str:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    return f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 100 0 0 0 {utime} {stime} {cutime} {cstime} 20 0 1 0"


def test_a_stat_line_is_read_past_a_command_name_with_spaces_and_parentheses():
    assert parse_stat(_line(42, "python (inv) x", 7, 150, 30, 12, 3)) == Stat(42, 7, 150, 30, 12, 3)


def test_a_tree_counts_each_live_descendant_once_and_nothing_else():
    stats = {s.pid: s for s in (Stat(10, 1, 100, 20, 30, 5),  # the dashboard, 35 ticks of reaped kubectls
                                Stat(11, 10, 7, 3, 0, 0),  # a port-forward
                                Stat(12, 11, 1, 1, 0, 0),  # its child
                                Stat(13, 1, 900, 900, 0, 0))}  # someone else's
    assert tree_ticks(stats, 10) == (155 + 10 + 2, 3)
    assert tree_ticks(stats, 99) == (0, 0)


def test_this_process_is_read_from_proc_as_its_own_clock_says():
    def cpu() -> float:
        t = os.times()
        return t.user + t.system

    first = tree_ticks(read_stats(), os.getpid())[0]
    began = cpu()
    while cpu() - began < 0.5:
        pass
    busy = cpu() - began
    stats = read_stats()
    reading = cpu() - began - busy  # the second read's own cost falls inside the measured window
    used = (tree_ticks(stats, os.getpid())[0] - first) / TICKS
    assert busy - 0.03 <= used <= busy + reading + 0.05
    assert 90 <= percent_of_core(round(busy * TICKS), busy) <= 110
