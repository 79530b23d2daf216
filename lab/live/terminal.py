"""``invoke watch``: the collector's state in a terminal, redrawn about once a second by rich; in a pipe (CI, a
log file, ``| tee``), one timestamped line per change instead, so a log reads as the round's story."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from lab.live.state import Snapshot, WriterState

#: Events shown under the tables.
EVENTS_SHOWN = 10

_STATE_STYLE = {"UN": "green", "UJ": "yellow", "UL": "yellow", "UM": "yellow", "DN": "bold red", "?": "dim"}


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def writer_words(w: WriterState) -> str:
    """A writer's state in words, the same in both modes: acknowledging, STALLED, or why it cannot be read."""
    if w.seq is None:
        return w.error or "no acknowledgement yet"
    if w.stalled:
        return f"STALLED: no acknowledgement for {w.since_ack:.0f} s (at seq {w.seq})"
    return "acknowledging"


def render(snap: Snapshot) -> Group:
    """The tables: kind nodes, the ring, the writers, the last events (and what could not be read)."""
    nodes = Table(title="kind nodes", title_justify="left", expand=False)
    for col in ("node", "ready", "roles"):
        nodes.add_column(col)
    for n in snap.nodes:
        nodes.add_row(n.name, Text("Ready" if n.ready else "NotReady", style="green" if n.ready else "bold red"),
                      n.roles)
    ring = Table(title="Cassandra ring (nodetool status)", title_justify="left")
    for col in ("pod", "state", "address", "worker", "restarts", "pod phase"):
        ring.add_column(col)
    for r in snap.ring:
        ring.add_row(r.pod or "(no pod)", Text(r.state, style=_STATE_STYLE.get(r.state, "")), r.address, r.worker,
                     str(r.restarts), r.phase)
    writers = Table(title="writers (acknowledged)", title_justify="left")
    for col in ("writer", "topic", "consistency", "acked seq", "rows/s", "state"):
        writers.add_column(col)
    for w in snap.writers:
        style = "bold red" if w.stalled else ("yellow" if w.seq is None else "green")
        writers.add_row(w.name, w.topic, w.consistency, "-" if w.seq is None else str(w.seq),
                        "-" if w.rate is None else f"{w.rate:.0f}", Text(writer_words(w), style=style))
    events = Text()
    for e in snap.events[-EVENTS_SHOWN:]:
        events.append(f"{_clock(e.at)}  {e.text}\n", style="magenta" if e.source == "chaos" else "")
    parts: list[RenderableType] = [nodes, ring, writers, Text("last events", style="bold"),
                                   events or Text("(none yet)", style="dim")]
    parts += [Text(f"cannot read {e}", style="yellow") for e in snap.errors]
    parts.append(Text(f"{_clock(snap.at)}  Ctrl-C quits", style="dim"))
    return Group(*parts)


def lines(snap: Snapshot) -> dict[str, str]:
    """What the pipe mode compares between passes: one line per node, ring member and writer, keyed by it (a
    writer's rate is left out: it changes every second; its state, stalled or not, is what a log needs)."""
    out = {f"node {n.name}": "Ready" if n.ready else "NotReady" for n in snap.nodes}
    for r in snap.ring:
        key = f"ring {r.pod or r.address}"
        out[key] = f"{r.state} {r.address or '-'} on {r.worker or '-'}, {r.phase}, restarts {r.restarts}"
    for w in snap.writers:
        out[f"writer {w.name}"] = f"{w.topic} at {w.consistency}: {writer_words(w)}"
    for e in snap.errors:
        out[f"cannot read {e.split(':', 1)[0]}"] = e.split(":", 1)[-1].strip()
    return out


class PipeView:
    """Prints, each pass, the lines that changed since the last one and the events not printed yet."""

    def __init__(self, out: TextIO):
        self.out = out
        self.shown: dict[str, str] = {}
        self.events: set[tuple[float, str]] = set()

    def update(self, snap: Snapshot) -> list[str]:
        printed = []
        current = lines(snap)
        for key, value in current.items():
            if self.shown.get(key) != value:
                printed.append(f"{_clock(snap.at)} {key}: {value}")
        for key in self.shown.keys() - current.keys():
            printed.append(f"{_clock(snap.at)} {key}: gone")
        self.shown = current
        for e in snap.events:
            if (e.at, e.text) not in self.events:
                self.events.add((e.at, e.text))
                printed.append(f"{_clock(e.at)} event {e.text}")
        for line in printed:
            print(line, file=self.out, flush=True)
        return printed


def watch(latest: Callable[[], Snapshot], *, out: TextIO | None = None, every: float = 1.0,
          passes: int | None = None) -> None:
    """Show ``latest()`` every ``every`` seconds until Ctrl-C (or ``passes`` passes, for tests)."""
    out = out or sys.stdout
    done = 0
    try:
        if getattr(out, "isatty", lambda: False)():
            # Drawn once a pass, by this loop: rich's own refresh thread would draw the same tables again between
            # passes (each drawing is milliseconds of CPU, for nothing new).
            with Live(render(latest()), console=Console(file=out), auto_refresh=False, screen=False,
                      transient=False) as live:
                while passes is None or done < passes:
                    live.update(render(latest()), refresh=True)
                    done += 1
                    time.sleep(every)
        else:
            view = PipeView(out)
            while passes is None or done < passes:
                view.update(latest())
                done += 1
                time.sleep(every)
    except KeyboardInterrupt:
        pass
