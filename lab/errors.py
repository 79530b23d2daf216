"""Errors the lab raises.

    LabError                  a failed operation; its message is one line for the user
    ├── PreconditionError     something to fix before retrying (missing tool, wrong context): exit code 2
    └── CommandError          a command exited non-zero; keeps argv, exit code and output for --debug

tasks.py turns any LabError into invoke's Exit once, so the user sees one line and an exit code,
never a traceback.
"""

from __future__ import annotations

import re
import shlex


class LabError(Exception):
    """A lab operation failed. ``str(err)`` is the one line shown to the user."""

    exit_code = 1


class PreconditionError(LabError):
    """The machine or the input is not ready (missing tool, unset value, wrong kube context)."""

    exit_code = 2


class CommandError(LabError):
    """A command exited non-zero (or timed out)."""

    def __init__(self, argv: list[str], exited: int | None, stdout: str = "", stderr: str = "", message: str = ""):
        self.argv = list(argv)
        self.exited = exited
        self.stdout = stdout
        self.stderr = stderr
        status = "timed out" if exited is None else f"exited {exited}"
        detail = message or _last_line(stderr) or _last_line(stdout)
        super().__init__(f"`{shlex.join(self.argv)}` {status}" + (f": {detail}" if detail else ""))

    @property
    def output(self) -> str:
        """Captured output, for --debug."""
        return "\n".join(part for part in (self.stdout, self.stderr) if part)


#: The line kubectl exec adds when the command in the pod fails. It says nothing the exit code does not; the
#: command's own last words (cqlsh's "ReadTimeout: ...", nodetool's exception) come before it.
_KUBECTL_EXEC_TRAILER = re.compile(r"command terminated with exit code \d+")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines()]
    lines = [line for line in lines if line and not _KUBECTL_EXEC_TRAILER.fullmatch(line)]
    return lines[-1] if lines else ""


def split_args(text: str, *, flag: str = "--args") -> list[str]:
    """A flag's quoted argument list (``--args 'status -r'``) as argv; an unclosed quote is one line, exit 2."""
    try:
        return shlex.split(text)
    except ValueError as err:
        raise PreconditionError(f"{flag} {text!r}: {str(err).lower()}; close the quote") from None
