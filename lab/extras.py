"""The optional parts of the install (pyproject.toml's extras) and the one line for a missing one.

The core install runs the lab: up, deploy, chaos, verify, status, lesson, and report's md, html and json.
``plots`` (matplotlib) draws each chaos round's timeline PNG; ``report`` (WeasyPrint, python-docx) writes the
hand-in, report.pdf and report.docx. Their packages are imported only where they are used, through ``load``,
so every module the core tasks need imports without them, and a task that needs a missing extra ends with
one line naming the extra and the command that installs it.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from lab.errors import PreconditionError

#: The extra that brings each optional top-level import (pyproject.toml [project.optional-dependencies]).
EXTRA_OF = {"matplotlib": "plots", "weasyprint": "report", "docx": "report"}


def install_command(extra: str) -> str:
    """What installs ``extra`` into a checkout's environment (README's install line)."""
    return f"pip install -e '.[{extra}]'"


class MissingExtra(PreconditionError):
    """An optional package is not installed: exit 2, one line naming the extra."""

    def __init__(self, module: str, needed_by: str):
        self.extra = EXTRA_OF[module.split(".")[0]]
        super().__init__(f"{needed_by} needs the {self.extra} extra: {install_command(self.extra)}")


def installed(module: str) -> bool:
    """Whether ``module`` can be found, without importing it (WeasyPrint's import loads system libraries)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # an uninstalled parent package; a module without a spec
        return False


def require(module: str, *, needed_by: str) -> None:
    """MissingExtra before any work starts, when ``module`` is not installed."""
    if not installed(module):
        raise MissingExtra(module, needed_by)


def load(module: str, *, needed_by: str) -> ModuleType:
    """``import module``, or MissingExtra when it (or a package it needs) is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(module, needed_by) from None
