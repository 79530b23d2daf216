"""Command lines run as a user runs them, through `sh`: `invoke`, `kind`, `kubectl` and `docker`.

sh raises ``sh.ErrorReturnCode`` on a non-zero exit and returns stdout as text. Where a test asserts on the
exit code itself (a task that must exit 2, a cluster that must refuse a pod), ``run`` lets every exit code
through and hands back a ``Ran``: exit code, stdout and stderr, both as text.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import sh

ROOT = Path(__file__).resolve().parents[1]

#: `python -m invoke` from the repository root (the interpreter running the tests, so its invoke and its lab);
#: stdout a pipe, not sh's default pseudo-terminal, so the tasks print what a redirected run prints.
INVOKE = sh.Command(sys.executable).bake("-m", "invoke", _cwd=ROOT, _tty_out=False)

#: Every exit code a process can return: the test, not sh, decides which one is a failure.
ANY_EXIT = range(256)

#: How sh reports a command that failed: a non-zero exit, or killed at its ``_timeout``.
FAILED = (sh.ErrorReturnCode, sh.TimeoutException)


@dataclass(frozen=True)
class Ran:
    """A finished command: its exit code and its output as text (sh keeps stderr as bytes)."""

    returncode: int
    stdout: str
    stderr: str


def run(command: sh.Command, *args: str, **call_args) -> Ran:
    """``command args`` run to its end whatever its exit code; ``call_args`` are sh's (``_env``, ``_timeout``,
    ``_in`` ...). A timeout still raises ``sh.TimeoutException``."""
    ran = command(*args, _ok_code=ANY_EXIT, _return_cmd=True, _tty_out=False, **call_args)
    return Ran(ran.exit_code, str(ran), ran.stderr.decode())
