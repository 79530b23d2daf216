"""Logging in the Go writer's format (``2023/10/22 06:04:13 test: inserted rows to seq 1000``) on stderr.

Go's ``log`` package writes that format to stderr, and ``kubectl logs`` shows both streams, so anything that
parsed the original writer's output keeps working.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

GO_FORMAT = "%(asctime)s %(message)s"
GO_DATEFMT = "%Y/%m/%d %H:%M:%S"


def setup(stream: TextIO | None = None) -> None:
    """Send the writer's lines to ``stream`` (stderr); keep the driver to errors only.

    The driver logs a warning for every failed reconnection attempt; during an outage our own
    "outage started / still retrying / over" lines say the same once, so its warnings would only be noise.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(GO_FORMAT, GO_DATEFMT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("cassandra").setLevel(logging.ERROR)
    handler.addFilter(_drop_failed_connect)  # on the handler: logger filters do not apply to child loggers


def _drop_failed_connect(record: logging.LogRecord) -> bool:
    """The driver logs a failed first connection at ERROR with a traceback; our retry line already says it."""
    return not record.getMessage().startswith("Control connection failed to connect")
