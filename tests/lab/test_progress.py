import io
import re
import time

import pytest

from lab import progress


def test_step_prints_start_and_tick():
    out = io.StringIO()
    with progress.step("Creating cluster", stream=out) as s:
        s.note("5 nodes")
    assert out.getvalue() == " • Creating cluster ...\n ✓ Creating cluster (5 nodes)\n"


def test_step_prints_a_cross_and_reraises():
    out = io.StringIO()
    with pytest.raises(ValueError):
        with progress.step("Loading image", stream=out):
            raise ValueError("boom")
    assert out.getvalue().splitlines()[-1] == " ✗ Loading image"


def test_quiet_silences_steps():
    out = io.StringIO()
    with progress.showing(progress.Progress(quiet=True)):
        with progress.step("x", stream=out):
            pass
        progress.info("y", stream=out)
    assert out.getvalue() == ""


def test_a_task_s_progress_ends_with_it():
    out = io.StringIO()
    with progress.showing(progress.Progress(quiet=True, dry=True)):
        progress.info("hidden", stream=out)
    with progress.step("after", stream=out):
        pass
    assert out.getvalue() == " • after ...\n ✓ after\n"  # neither quiet nor dry any more


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_a_wait_prints_a_timestamped_line_each_time_it_changes():
    out = io.StringIO()
    with progress.step("Waiting for nodetool status to show 3 nodes UN", stream=out) as s:
        for seen in ("1/3 UN; 10.244.2.4 UJ", "1/3 UN; 10.244.2.4 UJ", "2/3 UN", "3/3 UN"):
            s.waiting(seen)
    lines = out.getvalue().splitlines()
    assert lines[0] == " • Waiting for nodetool status to show 3 nodes UN ..."
    assert [re.sub(r"^   \d\d:\d\d:\d\d \+\d+s ", "", line) for line in lines[1:4]] == [
        "1/3 UN; 10.244.2.4 UJ", "2/3 UN", "3/3 UN"]  # the repeated state is not printed again
    assert lines[4] == " ✓ Waiting for nodetool status to show 3 nodes UN"


def test_on_a_terminal_running_steps_are_a_live_block_replaced_by_their_results(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    out = _Terminal()
    with progress.step("Chaos round 1/1", stream=out):
        with progress.step("Waiting for nodetool status", stream=out) as inner:
            inner.waiting("2/3 UN; 10.244.2.4 UJ")
            time.sleep(0.4)  # a few refreshes of the live block
            drawn = out.getvalue()
            progress.info("   +  3s  cassandra-0: Terminating", stream=out)
    text = out.getvalue()
    # While it ran: both steps on the block, the inner one with what it awaited.
    assert "Chaos round 1/1 (0s)" in drawn and "Waiting for nodetool status (0s)  2/3 UN; 10.244.2.4 UJ" in drawn
    # What stays: the lines printed meanwhile and each step's result, in order, without the block.
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    finished = [line for line in plain.splitlines() if line.startswith(("   +", " ✓"))]
    assert finished == ["   +  3s  cassandra-0: Terminating", " ✓ Waiting for nodetool status", " ✓ Chaos round 1/1"]
    assert not progress.current().drawing  # the block is gone with its last step


def test_a_dry_run_plans_steps_instead_of_ticking_them():
    out = io.StringIO()
    with progress.showing(progress.Progress(dry=True)), progress.step("Deleting kind cluster kind", stream=out):
        pass
    assert out.getvalue() == " • Deleting kind cluster kind ...\n - Deleting kind cluster kind (planned)\n"


def test_recording_collects_every_step_that_ends_with_its_depth_and_outcome():
    out = io.StringIO()
    quiet = progress.Progress(quiet=True)
    with progress.recording() as steps, quiet.recording() as quiet_steps:
        with progress.step("Creating cluster", stream=out):
            with progress.step("Waiting for nodes", stream=out) as inner:
                inner.note("5 Ready")
        with pytest.raises(RuntimeError), progress.step("Loading image", stream=out):
            raise RuntimeError("no space")
        with progress.showing(quiet), progress.step("Quiet step", stream=out):
            pass
    with progress.step("After the block", stream=out):
        pass
    assert [(s.message, s.depth, s.ok, s.detail) for s in steps] == [
        ("Waiting for nodes", 1, True, "5 Ready"),  # steps are recorded as they end: inner first
        ("Creating cluster", 0, True, ""),
        ("Loading image", 0, False, ""),
    ]
    assert [(s.message, s.depth, s.ok) for s in quiet_steps] == [("Quiet step", 0, True)]  # quiet, still recorded
    assert all(s.seconds >= 0 for s in steps)
