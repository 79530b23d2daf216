"""The one place the lab runs commands.

Every `kind`, `docker` and `kubectl` call goes through ``Runner`` so that dry-run, echo, timeouts and
error wrapping behave the same everywhere (kind's pkg/exec plays this role for kind). Modules such as
``lab.kubectl`` build argv lists; this module runs them.

- ``run``    a step that changes something: echoed, skipped (only printed) under ``--dry``.
- ``probe``  a read-only question (``kind get clusters``, ``kubectl get``): runs even under ``--dry``
             so a dry run still prints an accurate plan; hidden; never raises on a non-zero exit.
- ``output`` a read-only command whose stdout we need; raises ``CommandError`` on failure.
- ``spawn``  a long-running read-only command in the background (``kubectl logs -f``).
"""

from __future__ import annotations

import io
import shlex
import subprocess
from dataclasses import dataclass

from invoke.exceptions import CommandTimedOut, UnexpectedExit

from lab.errors import CommandError

#: Default ceiling for any single command, so nothing can hang forever.
DEFAULT_TIMEOUT = 600


@dataclass(frozen=True)
class Outcome:
    """What a command returned. ``exited`` is None when it timed out."""

    argv: tuple[str, ...]
    exited: int | None
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exited == 0


class Runner:
    """Runs argv lists through an invoke Context (a ``MockContext`` in unit tests)."""

    def __init__(self, ctx, *, dry: bool = False, echo: bool = True):
        self.ctx = ctx
        self.dry = dry
        self.echo = echo

    def run(self, argv: list[str], *, timeout: float | None = DEFAULT_TIMEOUT, hide: bool | str = False,
            env: dict[str, str] | None = None, pty: bool = False, input: str | None = None) -> Outcome:
        """Run a mutating step; print only under dry-run. Raises CommandError on failure."""
        if self.dry:
            print(f"[dry-run] {shlex.join(argv)}")
            return Outcome(tuple(argv), 0)
        outcome = self._call(argv, timeout=timeout, hide=hide, echo=self.echo, env=env, pty=pty, input=input)
        if not outcome.ok:
            raise CommandError(argv, outcome.exited, outcome.stdout, outcome.stderr)
        return outcome

    def probe(self, argv: list[str], *, timeout: float | None = 60, input: str | None = None) -> Outcome:
        """Ask a read-only question; runs under dry-run too; never raises for a non-zero exit."""
        return self._call(argv, timeout=timeout, hide=True, echo=False, input=input)

    def output(self, argv: list[str], *, timeout: float | None = 120, input: str | None = None) -> str:
        """stdout of a read-only command; raises CommandError when it fails."""
        outcome = self.probe(argv, timeout=timeout, input=input)
        if not outcome.ok:
            raise CommandError(argv, outcome.exited, outcome.stdout, outcome.stderr)
        return outcome.stdout

    def spawn(self, argv: list[str], **popen_kwargs) -> subprocess.Popen:
        """Start a read-only command in the background (the caller owns the process)."""
        popen_kwargs.setdefault("stdout", subprocess.PIPE)
        popen_kwargs.setdefault("stderr", subprocess.STDOUT)
        popen_kwargs.setdefault("text", True)
        return subprocess.Popen(argv, **popen_kwargs)

    def _call(self, argv, *, timeout, hide, echo, env=None, pty=False, input=None) -> Outcome:
        kwargs = dict(warn=True, hide=hide, echo=echo, timeout=timeout, pty=pty, in_stream=False)
        if env:
            kwargs["env"] = env
        if input is not None:

            kwargs["in_stream"] = io.StringIO(input)
        try:
            result = self.ctx.run(shlex.join(argv), **kwargs)
        except CommandTimedOut as err:
            return Outcome(tuple(argv), None, err.result.stdout, err.result.stderr)
        except UnexpectedExit as err:  # only when a caller's config forces warn=False
            result = err.result
        return Outcome(tuple(argv), result.exited, result.stdout or "", result.stderr or "")
