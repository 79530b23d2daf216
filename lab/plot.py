"""Chaos timelines as PNG: the writer's writes per second around a fault, its start, end and Ready marked.

One picture per chaos round, drawn from the round's JSON record (``progress``: [time, seq or None]
samples; ``deleted_at`` (the fault's start), ``restored_at``, ``ready_at``, ``up_normal_at``) and saved beside it
(artifacts/chaos/<stamp>-round<N>.png). ``rates`` is the arithmetic, pure and tested; drawing uses
matplotlib's Agg canvas directly (no pyplot, no display), imported only when a picture is drawn.

matplotlib is the ``plots`` extra: without it a round still records its JSON (the round's evidence) and the
run says once that its pictures were skipped; ``invoke report`` draws the missing ones once it is installed.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab import extras, progress
from lab.chaos.results import PROGRESS_STALL
from lab.stall import longest_stall

log = logging.getLogger(__name__)

#: Pixels of the saved PNG: WIDTH x HEIGHT inches at DPI.
WIDTH, HEIGHT, DPI = 10.0, 4.0, 100


@dataclass(frozen=True)
class Rate:
    """Rows written per second between two successful samples (``start``..``end``, seconds)."""

    start: float
    end: float
    per_second: float


def rates(samples: Sequence[Sequence[Any]]) -> list[Rate]:
    """Writes/s between consecutive successful readings; failed reads (seq None) are skipped over, so a
    rate spans the gap they leave. A seq that goes down (a topic reset) counts as 0, not negative."""
    points = sorted((float(t), int(s)) for t, s in samples if s is not None)
    out = []
    for (t0, s0), (t1, s1) in itertools.pairwise(points):
        if t1 > t0:
            out.append(Rate(t0, t1, max(0, s1 - s0) / (t1 - t0)))
    return out


def png_path(json_path: Path) -> Path:
    """Where a round's picture goes: beside its JSON, same stem."""
    return json_path.with_suffix(".png")


#: How a picture names each fault type's start and (for timed faults) its end.
_VERBS = {"pod": ("delete", ""), "all-pods": ("delete", ""), "node": ("stop", "start"),
          "partition": ("cut off", "reconnect"), "crash": ("SIGKILL", ""), "pause": ("SIGSTOP", "SIGCONT"),
          "freeze": ("freeze", "thaw"), "loss": ("drop packets of", "loss ends"), "dns": ("stop", "scale back")}


def fault_label(record: dict[str, Any]) -> str:
    """"delete cassandra-1", "stop kind-worker2 for 30 s", "cut off cassandra-2 for 20 s"."""
    start, _ = _VERBS.get(str(record.get("fault") or "pod"), ("delete", ""))
    down = record.get("down_s")
    return f"{start} {record.get('pod', '?')}" + (f" for {float(down):.0f} s" if down else "")


def plot_round(record: dict[str, Any], path: Path) -> Path:
    """Draw one round's timeline into ``path`` (PNG). Time is seconds from the start of the fault."""
    canvas = extras.load("matplotlib.backends.backend_agg", needed_by="a chaos timeline (PNG)")
    figure = extras.load("matplotlib.figure", needed_by="a chaos timeline (PNG)")

    t0 = float(record.get("deleted_at") or 0.0)
    samples = record.get("progress") or []
    fig = figure.Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    canvas.FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)

    steps = rates(samples)
    if steps:
        xs, ys = [], []
        for r in steps:
            xs += [r.start - t0, r.end - t0]
            ys += [r.per_second, r.per_second]
        ax.fill_between(xs, ys, color="tab:blue", alpha=0.15, linewidth=0)
        ax.plot(xs, ys, color="tab:blue", linewidth=1.5, label="writes/s")
        top = max(r.per_second for r in steps)
    else:
        top = 1.0
        ax.text(0.5, 0.5, "no progress samples", transform=ax.transAxes, ha="center", va="center", color="grey")
    ax.set_ylim(0, top * 1.25 or 1.0)

    failed = [float(t) - t0 for t, s in samples if s is None]
    if failed:
        ax.plot(failed, [0] * len(failed), "x", color="tab:orange", markersize=6, clip_on=False,
                label=f"failed read ({len(failed)})")

    stall = longest_stall([(float(t), s) for t, s in samples])
    if stall is not None and stall.seconds > 0:
        ax.axvspan(stall.start - t0, stall.end - t0, color="tab:red", alpha=0.12,
                   label=f"longest stall {stall.seconds:.1f} s{' (still stalled)' if stall.open else ''}")

    if record.get("ack_stall_s") is not None and record.get("ack_stall_began_s") is not None:
        began = float(record["ack_stall_began_s"])
        source = str(record.get("ack_stall_source") or "")
        label = (f"{PROGRESS_STALL} {float(record['ack_stall_s']):.3f} s" if source.startswith(PROGRESS_STALL)
                 else f"no acknowledged progress {float(record['ack_stall_s']):.3f} s "
                      f"({'writer record' if source == 'acks' else 'from samples'})")
        ax.axvspan(began, began + float(record["ack_stall_s"]), ymin=0, ymax=0.06, color="black", alpha=0.6,
                   label=label)

    start_verb, end_verb = _VERBS.get(str(record.get("fault") or "pod"), ("delete", ""))
    ax.axvline(0, color="tab:red", linewidth=2, label=f"{start_verb} {record.get('pod', '?')}")
    if record.get("restored_at") and end_verb:
        ax.axvline(float(record["restored_at"]) - t0, color="tab:purple", linewidth=2,
                   label=f"{end_verb} (+{float(record['restored_at']) - t0:.1f} s)")
    if record.get("ready_at"):
        ax.axvline(float(record["ready_at"]) - t0, color="tab:green", linewidth=2,
                   label=f"Ready (+{float(record['ready_at']) - t0:.1f} s)")
    if record.get("up_normal_at"):
        ax.axvline(float(record["up_normal_at"]) - t0, color="tab:green", linewidth=1.5, linestyle="--",
                   label=f"all UN (+{float(record['up_normal_at']) - t0:.1f} s)")

    if record.get("ok"):
        outcome = "ok"
    else:
        outcome = record.get("error") or ("LOST ROWS" if record.get("lost_rows") else "failed")
    weight = "; 4x CPU weight on the writers' nodes (--cpu-weight)" if record.get("cpu_weight") else ""
    ax.set_title(f"Chaos round {record.get('round', '?')}: {fault_label(record)}"
                 f"{' (forced)' if record.get('force') else ''}: writer restarts {record.get('writer_restarts', 0)}, "
                 f"lost rows {record.get('lost_rows', 0)}, {outcome}{weight}", fontsize=10)
    ax.set_xlabel("seconds from the fault")
    ax.set_ylabel("rows written per second")
    source = record.get("progress_source") or "?"
    ax.annotate(f"progress: {source}, every {record.get('sample_every_s', 0)} s", xy=(1, 0), xycoords="figure fraction",
                xytext=(-6, 4), textcoords="offset points", ha="right", va="bottom", fontsize=7, color="grey")
    ax.grid(True, alpha=0.3)
    # Outside the axes: the interesting part (the fault and the stall) sits at the left edge.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def plot_file(json_path: Path) -> Path:
    """Read a round's JSON record and draw its PNG beside it; returns the PNG's path."""
    return plot_round(json.loads(Path(json_path).read_text()), png_path(Path(json_path)))


@functools.cache
def _skipped(extra: str) -> None:
    """Said once per run, however many rounds it has: every one of them skips its picture for the same reason."""
    progress.info(f"warning: chaos timelines (PNG) skipped, the {extra} extra is not installed "
                  f"({extras.install_command(extra)}); each round's JSON holds its record, and `invoke report` "
                  "draws the missing pictures once the extra is there")


def plot_beside(json_path: Path) -> Path | None:
    """``plot_file`` for chaos rounds: a picture that cannot be drawn is logged, never a failed round."""
    try:
        return plot_file(json_path)
    except extras.MissingExtra as err:
        _skipped(err.extra)
        return None
    except Exception as err:  # the round's data is already saved; the picture is a convenience
        log.warning("could not draw %s: %s", png_path(Path(json_path)), err)
        return None
