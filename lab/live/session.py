"""The two tasks' bodies: ``invoke watch`` and ``invoke dashboard`` over one collector of the configured lab, shared
by every viewer of it on this machine (lab.live.shared)."""

from __future__ import annotations

import inspect
import signal
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from contextlib import contextmanager

from lab import progress
from lab.chaos.command import configured_rounds
from lab.context import Lab, require_cluster
from lab.errors import PreconditionError
from lab.live import history, terminal
from lab.live.actions import Actions
from lab.live.api import ApiReads
from lab.live.collector import Collector, metrics_progress_for
from lab.live.shared import Viewer, folder_for
from lab.live.web import Dashboard
from lab.report import task as report_task


def viewer_for(lab: Lab) -> Viewer:
    """A viewer of ``lab``'s cluster: it polls (through one kubectl proxy, reading the writers' metric on the port and
    name chaos rounds use) unless another viewer of the same lab already does."""
    chaos = lab.cfg.chaos
    artifacts = lab.cfg.path(lab.cfg.artifacts)

    def make() -> Collector:
        reader_for = metrics_progress_for(lab.runner, lab.kube, port=chaos.metrics_port, metric=chaos.metric)
        return Collector(lab.runner, lab.kube, artifacts=artifacts, progress_for=reader_for,
                         reads=ApiReads(lab.runner, lab.kube))
    return Viewer(make, folder_for(lab.kube, artifacts))


def _reports_folder(lab: Lab):
    """Where ``invoke report`` writes by default (its --out)."""
    return lab.cfg.path(inspect.signature(report_task.run).parameters["out"].default)


def run_watch(lab: Lab, *, out=None) -> None:
    """``invoke watch``: redraw (or, in a pipe, print changes) until Ctrl-C."""
    require_cluster(lab)
    with _term_as_interrupt():
        viewer = viewer_for(lab).start()
        try:
            terminal.watch(viewer.latest, out=out or sys.stdout)
        finally:
            viewer.stop()


@contextmanager
def _term_as_interrupt():
    """SIGTERM (``kill``, a service manager) ends a view as Ctrl-C does, through its ``finally``: the kubectl proxy
    and port-forwards it started would otherwise outlive it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_dashboard(lab: Lab, *, port: int = 0, open_browser: bool = False, act: Callable | None = None) -> None:
    """``invoke dashboard``: serve the page on 127.0.0.1 until Ctrl-C; print its URL (with the token). ``act``
    (``--allow-actions``): what ``invoke chaos`` runs, given a ChaosCommand; the page then has a button per fault."""
    if not 0 <= port <= 65535:
        raise PreconditionError(f"--port {port}: a TCP port is 1..65535 (0, the default, picks a free one)")
    require_cluster(lab)
    artifacts, reports = lab.cfg.path(lab.cfg.artifacts), _reports_folder(lab)
    actions = Actions(act, rounds=configured_rounds(lab.cfg)) if act is not None else None
    try:  # the port first: a refused one ends here, before the viewer makes its shared folder
        dash = Dashboard(lambda: viewer.latest(), lambda: history.history(lab.cfg.root, artifacts, reports),
                         root=lab.cfg.root, folders=(artifacts, reports), port=port, actions=actions)
    except OSError as err:
        raise PreconditionError(f"--port {port}: cannot listen on 127.0.0.1:{port} ({err.strerror or err}); "
                                f"pick another port, or leave --port out for a free one") from None
    viewer = viewer_for(lab)
    viewer.start()
    dash.start()
    mode = "read-only" if actions is None else "fault buttons on: each runs its `invoke chaos` once confirmed"
    progress.info(f"dashboard ({mode}) at {dash.url}  (Ctrl-C stops it)")
    print(dash.url, flush=True)
    if open_browser:
        webbrowser.open(dash.url)
    try:
        with _term_as_interrupt():
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        dash.stop()
        if actions is not None and actions.running is not None:
            progress.info(f"waiting for `{actions.running.line}` to end and undo its fault (Ctrl-C again abandons it)")
            actions.wait()
        viewer.stop()
