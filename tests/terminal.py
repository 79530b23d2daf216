"""A command in a pseudo-terminal of our own, as a person runs `invoke watch`: for the e2e dashboard test and
tests/lab/live_cost.py."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
from pathlib import Path


def restore_ctrl_c() -> None:
    """Ctrl-C as a terminal delivers it: a test runner started in the background (`cmd &` in a script) ignores
    SIGINT, and its children would inherit that. A ``preexec_fn``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def in_a_terminal(argv: list[str], *, rows: int, columns: int, env: dict[str, str] | None = None,
                  cwd: Path | None = None, screen: list[str] | None = None) -> subprocess.Popen:
    """``argv`` in a pseudo-terminal of ``rows`` x ``columns``; what it draws is appended to ``screen``, or read
    and dropped (a full pty would block it) when there is none."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**(env if env is not None else os.environ)}
    env.setdefault("TERM", "xterm-256color")
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=child, stdout=child, stderr=child,
                               preexec_fn=restore_ctrl_c, start_new_session=True)
    os.close(child)

    def read() -> None:
        with contextlib.suppress(OSError):  # EIO once the process has gone
            while chunk := os.read(main, 65536):
                if screen is not None:
                    screen.append(chunk.decode(errors="replace"))
        os.close(main)

    threading.Thread(target=read, daemon=True).start()
    return process
