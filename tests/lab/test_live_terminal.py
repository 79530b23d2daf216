"""invoke watch: the pipe mode's one line per change, and the terminal tables, over snapshots of the collector."""

from __future__ import annotations

import io
import re

from rich.console import Console

from lab.live import terminal
from lab.live.state import Event, KindNode, RingNode, Snapshot, WriterState
from tests.lab.livefakes import DELETED_AT, Clock, FakeProgress, recorded_collector, recorded_ctx, steady


def _snap(at: float, *, state: str = "UN", stalled: bool = False, rate: float = 100.0, events=()) -> Snapshot:
    return Snapshot(at=at, nodes=[KindNode("kind-worker2", True, "worker")],
                    ring=[RingNode("cassandra-1", state, "10.244.2.3", "kind-worker2", 0, "Ready")],
                    writers=[WriterState("ece573-prj04-writer", "test", "QUORUM", 1200, rate, 4.0 if stalled else 0.1,
                                         stalled)],
                    events=list(events))


def test_the_pipe_prints_every_line_first_then_only_what_changed():
    out = io.StringIO()
    view = terminal.PipeView(out)
    first = view.update(_snap(DELETED_AT))
    assert [line.split(" ", 1)[1] for line in first] == [
        "node kind-worker2: Ready",
        "ring cassandra-1: UN 10.244.2.3 on kind-worker2, Ready, restarts 0",
        "writer ece573-prj04-writer: test at QUORUM: acknowledging",
    ]
    assert view.update(_snap(DELETED_AT + 1, rate=97.0)) == []  # the rate alone is no change
    changed = view.update(_snap(DELETED_AT + 2, state="DN", stalled=True,
                                events=[Event(DELETED_AT + 1.5, "kube", "cassandra-1: deleted")]))
    assert [line.split(" ", 1)[1] for line in changed] == [
        "ring cassandra-1: DN 10.244.2.3 on kind-worker2, Ready, restarts 0",
        "writer ece573-prj04-writer: test at QUORUM: STALLED: no acknowledgement for 4 s (at seq 1200)",
        "event cassandra-1: deleted",
    ]
    assert out.getvalue().splitlines()[-3:] == changed
    # an event is printed once, however many snapshots still list it
    assert view.update(_snap(DELETED_AT + 3, state="DN", stalled=True,
                             events=[Event(DELETED_AT + 1.5, "kube", "cassandra-1: deleted")])) == []


def test_a_member_that_goes_away_is_said_gone():
    view = terminal.PipeView(io.StringIO())
    view.update(_snap(DELETED_AT))
    gone = _snap(DELETED_AT + 1)
    gone.ring = []
    assert [line.split(" ", 1)[1] for line in view.update(gone)] == ["ring cassandra-1: gone"]


def test_watch_in_a_pipe_over_the_collector_prints_the_ring_and_the_writers(tmp_path):
    clock = Clock(DELETED_AT + 10)
    progress = {"test": FakeProgress("test", steady(clock.now - 30, clock.now)),
                "test-2": FakeProgress("test-2", [], starts=False)}
    collector = recorded_collector(tmp_path, recorded_ctx(), progress, clock)
    collector.poll()
    out = io.StringIO()
    terminal.watch(collector.poll, out=out, every=0, passes=2)
    text = out.getvalue()
    assert "ring cassandra-2: UJ 10.244.1.7 on kind-worker3, Running, not Ready, restarts 1" in text
    assert "writer ece573-prj04-writer: test at QUORUM: acknowledging" in text
    assert "writer ece573-prj04-writer-2: test-2 at ONE: no /metrics answer (is the writer running?)" in text
    assert "event cassandra-1: Killing (Stopping container cassandra)" in text


def test_the_terminal_view_shows_a_stall_in_red():
    console = Console(record=True, width=120, file=io.StringIO(), force_terminal=True)
    console.print(terminal.render(_snap(DELETED_AT, state="DN", stalled=True)))
    text = console.export_text(clear=False)
    assert "STALLED: no acknowledgement for 4 s (at seq 1200)" in text and "DN" in text
    html = console.export_html(inline_styles=True)
    # rich's "bold red" on the stalled writer's cell and on the DN node, and nowhere else
    red = re.findall(r'<span style="color: #800000[^"]*">([^<]*)</span>', html)
    assert [s.strip() for s in red] == ["DN", "STALLED: no acknowledgement for 4 s (at seq 1200)"]
