"""The base of every fault: the ``Fault`` protocol, the registry (``register``) and ``make``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import ClassVar

from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.errors import PreconditionError

#: fault type -> the Fault class (its ``type`` attribute is the same name, recorded in every round's JSON).
FAULTS: dict[str, type[Fault]] = {}


def register(fault_type: str) -> Callable[[type[Fault]], type[Fault]]:
    def add(cls: type[Fault]) -> type[Fault]:
        if fault_type in FAULTS:
            raise ValueError(f"fault type {fault_type!r} registered twice")
        cls.type = fault_type
        FAULTS[fault_type] = cls
        return cls
    return add


class Fault:
    """One fault against one target. Subclasses set ``target`` and override the steps they need."""

    type: ClassVar[str] = ""
    #: "cassandra", "writer" or "node": what the round watches come back.
    target: str = "cassandra"
    #: True for faults left in place for ``down`` seconds and then undone (node stop, partition).
    timed: ClassVar[bool] = False

    def __init__(self, name: str, *, down: float = 0.0, force: bool = False):
        self.name = name
        self.down = down if self.timed else 0.0
        self.force = force

    # -- what the round runner asks --------------------------------------------------------------------
    def title(self) -> str:
        """The step's message: "delete cassandra-1", "stop node kind-worker2 for 30s"."""
        raise NotImplementedError

    def observer_pod(self) -> str:
        """A Cassandra pod for cqlsh and nodetool while the fault is on (one the fault leaves alone)."""
        return "cassandra-0"

    def sample_metrics(self, env: Env) -> bool:
        """Whether the writer's /metrics can be sampled through a port-forward during this fault."""
        return True

    def validate(self, env: Env) -> None:
        """Refuse a bad target with one line, before any round and under --dry too (read-only)."""

    def prepare(self, env: Env) -> None:
        """Check the target is healthy and remember what recovery compares against; raise
        PreconditionError (nothing has been touched yet) when it is not."""

    def inject(self, env: Env, result: RoundResult) -> None:
        raise NotImplementedError

    def hold(self, env: Env, result: RoundResult) -> None:
        """Keep a timed fault in place for ``down`` seconds, observing what happens meanwhile.

        An observation can take longer than the time left (nodetool starts a JVM: 10-40 s on a loaded
        laptop), so it runs beside the clock and the fault ends on time, whatever it is still reading.
        """
        until = env.clock() + self.down
        while env.clock() < until:
            looking = threading.Thread(target=self.observe, args=(env, result), daemon=True)
            looking.start()
            looking.join(timeout=max(0.0, until - env.clock()))
            if looking.is_alive():
                break
            env.sleep(min(5.0, max(0.0, until - env.clock())))

    def observe(self, env: Env, result: RoundResult) -> None:
        """Record what changed (pods, nodes) with ``env.note``; read-only, never raises for a failed read."""

    def restore(self, env: Env, result: RoundResult) -> None:
        """Undo a timed fault (idempotent: it runs in a ``finally``)."""

    def recover(self, env: Env, result: RoundResult) -> None:
        raise NotImplementedError

    def dry_run(self, env: Env) -> None:
        """Under --dry: print the mutating commands the round would run (read-only probes still run)."""
        raise NotImplementedError


def make(fault_type: str, name: str, *, down: float = 0.0, force: bool = False, **options) -> Fault:
    """The fault ``fault_type`` against ``name``; ``options`` are that type's own (``percent`` for loss)."""
    if fault_type not in FAULTS:
        raise PreconditionError(f"unknown fault {fault_type!r}: one of {', '.join(sorted(FAULTS))}")
    return FAULTS[fault_type](name, down=down, force=force, **options)
