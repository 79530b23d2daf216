"""Key facts: what each section proves at a glance, from ``report['data']`` (pure). A fact with an expected
value passes or fails (``invoke report --check`` exits 1 on a failed one); one without is information. Each
section's module states its own (``section_ii.facts`` ...); this is their order in the report."""

from __future__ import annotations

from typing import Any

from lab.report import section_ii, section_iii, section_iv, section_v
from lab.report.model import Fact


def key_facts(report: dict[str, Any]) -> list[Fact]:
    """What each section proves, from ``report['data']``: facts with an expected value pass or fail."""
    return section_ii.facts(report) + section_iii.facts(report) + section_iv.facts(report) + section_v.facts(report)
