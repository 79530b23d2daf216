"""Files the lab writes that hold a secret: created with their mode, never readable by others in between."""

from __future__ import annotations

import os
from pathlib import Path


def write_new(path: str | Path, text: str, mode: int = 0o600) -> None:
    """``text`` into a new file ``path`` created with ``mode`` (an older file there is replaced)."""
    Path(path).unlink(missing_ok=True)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "w") as handle:
        handle.write(text)
