"""The dashboard's fault buttons (``invoke dashboard --allow-actions``): what each offers, the check of what a click
sends, and the runner that does one at a time.

A click names a fault (one of ``invoke chaos``'s target flags), its target and, where the flag has them, --down,
--percent or --force. ``command_for`` turns that into the ``ChaosCommand`` the typed command would be, refusing with
one line what the command would refuse, and a target the cluster does not have (the nodes and writers come from the
collector's latest snapshot). ``Actions`` hands the command to the same entry point ``invoke chaos`` calls, in a
thread of its own, one at a time; while it runs, the page shows the steps it is in (lab.progress), and then its
result and each round's figures.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lab import progress
from lab.chaos.command import ChaosCommand
from lab.chaos.faults import crash as crash_mod
from lab.chaos.faults import loss as loss_mod
from lab.chaos.results import RoundResult
from lab.chaos.rounds import DEFAULT_DOWN, DOWN_RANGE
from lab.errors import LabError, PreconditionError
from lab.live.history import round_row
from lab.live.state import Snapshot
from lab.names import CASSANDRA_PODS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Button:
    """One fault the page offers: ``flag`` is ``invoke chaos``'s (--pod, --node ...), ``targets`` which names it
    takes (see ``targets``), ``timed`` whether --down applies, ``percent`` and ``force`` whether those do."""

    flag: str
    label: str
    targets: str
    timed: bool = False
    percent: bool = False
    force: bool = False


#: Every fault of ``invoke chaos`` but --pod random (a draw is a soak, not a click).
BUTTONS = (
    Button("pod", "delete a pod (cassandra: all three at once)", "pods", force=True),
    Button("crash", "SIGKILL Cassandra's JVM in place (cassandra: every one at once)", "crash"),
    Button("node", "stop a kind node's container", "workers", timed=True),
    Button("partition", "cut a Cassandra pod off the network", "cassandra", timed=True),
    Button("pause", "SIGSTOP a Cassandra JVM (a GC pause)", "cassandra", timed=True),
    Button("freeze", "docker pause a kind node", "workers", timed=True),
    Button("loss", "drop a share of a Cassandra pod's packets", "cassandra", timed=True, percent=True),
    Button("dns", "scale CoreDNS to 0 (names stop resolving)", "none", timed=True),
)
BY_FLAG = {b.flag: b for b in BUTTONS}
FIELDS = ("fault", "target", "down", "percent", "force")
#: What the page fills in, the command's own defaults (a click that leaves them runs what the flags' absence would).
DEFAULTS = {"down": DEFAULT_DOWN, "down_range": DOWN_RANGE, "percent": loss_mod.DEFAULT_PERCENT}


def targets(button: Button, snap: Snapshot) -> list[str]:
    """The names ``button`` may hit now: the Cassandra pods, the writers ``invoke chaos --pod`` names ('writer',
    'writer-2' ...), the kind workers (never the control plane, which serves the API the round watches)."""
    if button.targets == "pods":
        writers = ["writer"] + [f"writer-{n}" for n in range(2, len(snap.writers) + 1)]
        return [*CASSANDRA_PODS, crash_mod.ALL, *writers]
    if button.targets == "crash":
        return [crash_mod.ALL, *CASSANDRA_PODS]
    if button.targets == "cassandra":
        return list(CASSANDRA_PODS)
    if button.targets == "workers":
        return sorted(n.name for n in snap.nodes if "control-plane" not in n.roles.split(","))
    return []


def menu(snap: Snapshot) -> list[dict[str, Any]]:
    """The buttons as the page draws them, with today's targets and the defaults of --down and --percent."""
    return [{"flag": b.flag, "label": b.label, "takes_target": b.targets != "none", "targets": targets(b, snap),
             "timed": b.timed, "percent": b.percent, "force": b.force} for b in BUTTONS]


def _number(body: dict[str, Any], key: str) -> float:
    value = body[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PreconditionError(f"--{key} {value!r}: give a number")
    return float(value)


def command_for(body: Any, snap: Snapshot) -> ChaosCommand:
    """The ``invoke chaos`` a click asks for; PreconditionError, one line, for anything the command line would
    refuse, a target the lab does not have now, or a field the fault does not take."""
    if not isinstance(body, dict):
        raise PreconditionError("the request is not a JSON object")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise PreconditionError(f"unknown field(s) {', '.join(map(repr, unknown))}: give {', '.join(FIELDS)}")
    button = BY_FLAG.get(body.get("fault"))  # type: ignore[arg-type]
    if button is None:
        raise PreconditionError(f"fault {body.get('fault')!r}: one of {', '.join(BY_FLAG)}")
    target = body.get("target", "")
    choices = targets(button, snap)
    if button.targets == "none":
        if target:
            raise PreconditionError(f"--{button.flag} takes no target (got {target!r})")
    elif target not in choices:
        raise PreconditionError(f"--{button.flag} {target!r}: one of {', '.join(choices) or '(none in the lab now)'}")
    for key, allowed in (("down", button.timed), ("percent", button.percent), ("force", button.force)):
        if key in body and not allowed:
            raise PreconditionError(f"--{key} does not apply to --{button.flag}")
    force = body.get("force", False)
    if not isinstance(force, bool):
        raise PreconditionError(f"--force {force!r}: true or false")
    command = ChaosCommand(**{button.flag: target or True},  # type: ignore[arg-type]
                           down=_number(body, "down") if "down" in body else 0.0,
                           percent=_number(body, "percent") if "percent" in body else 0.0, force=force)
    command.check()  # the command line's own checks: --down's range, --percent's ...
    return command


class Busy(Exception):
    """A click while an action runs: one at a time."""


@dataclass
class Action:
    """One click's run: the command as typed, what its first round does, and when it ended, how."""

    number: int
    line: str
    title: str
    started: float
    ended: float | None = None
    ok: bool | None = None
    error: str = ""
    rounds: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "line": self.line, "title": self.title, "started": self.started,
                "ended": self.ended, "ok": self.ok, "error": self.error, "rounds": self.rounds}


class Actions:
    """Runs each command through ``run`` (``invoke chaos``'s entry point, with the lab opened as the command
    opens it), one at a time, in a thread of its own. A fault in place (a stopped node) is undone by its round's own
    ``finally``, so whoever stops the dashboard calls ``wait`` first; the thread is a daemon only so that a second
    Ctrl-C during that wait can still abandon it."""

    def __init__(self, run: Callable[[ChaosCommand], Iterable[RoundResult] | None], *,
                 steps: Callable[[], list[str]] = progress.running, clock: Callable[[], float] = time.time,
                 keep: int = 20, rounds: int = 1):
        self._run, self._steps, self._clock, self._keep = run, steps, clock, keep
        self.rounds = rounds  # what a click runs (lab.chaos.rounds: the page has no --rounds), said before it does
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.running: Action | None = None
        self.done: list[Action] = []
        self._count = 0

    def refuse_if_busy(self) -> None:
        """Busy, saying which command runs, while one does."""
        running = self.running
        if running is not None:
            raise Busy(f"busy: `{running.line}` is running (for {self._clock() - running.started:.0f} s); one action "
                       f"at a time, wait for its result")

    def start(self, command: ChaosCommand) -> Action:
        """Start ``command``; Busy while another runs."""
        with self._lock:
            self.refuse_if_busy()
            self._count += 1
            action = Action(self._count, command.line(), command.title(), self._clock())
            self.running = action
            self._thread = threading.Thread(target=self._body, args=(action, command), name="dashboard-action",
                                            daemon=True)
            self._thread.start()
        return action

    def _body(self, action: Action, command: ChaosCommand) -> None:
        try:
            results = list(self._run(command) or [])
            action.rounds = [round_row(r.to_dict()) for r in results]
            action.ok = all(r.ok for r in results)
        except LabError as err:
            action.ok, action.error = False, f"ERROR: {err}"
        except Exception as err:  # the dashboard stays up; the terminal gets the traceback
            log.exception("dashboard action %s failed", action.line)
            action.ok, action.error = False, f"{type(err).__name__}: {err}"
        finally:
            action.ended = self._clock()
            with self._lock:
                self.done = [*self.done, action][-self._keep:]
                self.running = None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the running action, if any; whether none runs any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.running is None

    def state(self) -> dict[str, Any]:
        with self._lock:
            running, done = self.running, list(self.done)
        return {"at": self._clock(), "running": running.to_dict() if running else None,
                "steps": self._steps() if running else [],
                "done": [a.to_dict() for a in reversed(done)]}
