"""The image recipes' command line (`python -m lab.images.<image>`): the tag alone on stdout, for `$(...)`."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable

from lab.errors import LabError


def print_tag(build: Callable[[], str]) -> int:
    """Run ``build`` with everything it prints sent to stderr, then print the tag it returns on stdout; a LabError
    is one line on stderr and its exit code."""
    with contextlib.redirect_stdout(sys.stderr):
        try:
            tag = build()
        except LabError as err:
            print(f"error: {err}", file=sys.stderr)
            return err.exit_code
    print(tag)
    return 0
