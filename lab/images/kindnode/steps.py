"""One build step of the recipe: its output kept in build/logs/<step>.log, a failure naming the step and log."""

from __future__ import annotations

import sys
import time

from lab.errors import CommandError, LabError
from lab.images.kindnode.pins import LOGS
from lab.runner import Runner

#: Seconds a step may take by default: the Go builds are the long ones.
STEP_TIMEOUT = 3600


def log(message: str) -> None:
    print(f"kind-node: {message}", file=sys.stderr, flush=True)


def run_step(runner: Runner, name: str, argv: list[str], *, env: dict[str, str] | None = None,
             timeout: float = STEP_TIMEOUT) -> str:
    """Run one build step with its output in build/logs/<name>.log; a failure names the step and log."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log_file = LOGS / f"{name}.log"
    started = time.monotonic()
    log(f"{name} ...")
    try:
        outcome = runner.run(argv, env=env, hide=True, timeout=timeout)
    except CommandError as err:
        log_file.write_text(f"$ {' '.join(argv)}\n{err.output}\n")
        tail = " | ".join(err.output.strip().splitlines()[-3:])
        raise LabError(f"building {name} failed (see {log_file}): {tail}") from err
    log_file.write_text(f"$ {' '.join(argv)}\n{outcome.stdout}{outcome.stderr}")
    log(f"{name} done in {time.monotonic() - started:.0f}s")
    return outcome.stdout
