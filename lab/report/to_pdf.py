"""report.pdf: WeasyPrint lays out report.html (its print styles) as a PDF with selectable text.

WeasyPrint needs Pango from the system (Debian: libpango-1.0-0, libpangoft2-1.0-0). Without it, importing
WeasyPrint fails (after printing a page of advice to stdout); that becomes one PreconditionError line
naming the packages to install. WeasyPrint itself is the ``report`` extra (lab.extras)."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from pathlib import Path

from lab import extras
from lab.errors import PreconditionError

#: What the user typed to get a PDF: the missing extra's line names it.
NEEDED_BY = "invoke report --pdf"

#: Debian/Ubuntu packages that provide what WeasyPrint loads (the rest come with them as dependencies).
SYSTEM_PACKAGES = ("libpango-1.0-0", "libpangoft2-1.0-0")


def missing_libraries_message(detail: str) -> str:
    """The one line for a machine without WeasyPrint's system libraries."""
    first = detail.strip().splitlines()[0] if detail.strip() else ""
    lib = re.search(r"cannot load library '([^']+)'", first)
    why = f"cannot load {lib.group(1)}" if lib else (first[:120] or "its system libraries are missing")
    return (f"report.pdf needs WeasyPrint's system libraries ({why}): install them with "
            f"`apt-get install {' '.join(SYSTEM_PACKAGES)}` (Debian/Ubuntu package names) and run the report again")


def load_weasyprint():
    """The weasyprint module, or PreconditionError (one line) when it (the report extra) or its system
    libraries are missing."""
    quiet = io.StringIO()
    try:
        # WeasyPrint prints its troubleshooting advice to stdout when a library fails to load, and warns
        # about optional ones: the user gets our single line instead.
        with contextlib.redirect_stdout(quiet), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return extras.load("weasyprint", needed_by=NEEDED_BY)
    except OSError as err:
        raise PreconditionError(missing_libraries_message(str(err))) from None


def render_pdf(page: str, target: Path, *, base: Path) -> Path:
    """Write ``page`` (report.html's text) as a PDF; relative links resolve against ``base``."""
    weasyprint = load_weasyprint()
    # Its warnings are about fonts and CSS it skips (HarfBuzz-Subset missing: fontTools subsets instead);
    # the PDF is right regardless, so they would only be noise around the report's paths.
    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        weasyprint.HTML(string=page, base_url=str(base)).write_pdf(target)
    finally:
        logger.setLevel(level)
    return target
