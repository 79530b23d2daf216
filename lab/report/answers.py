"""Answers to the assignment's questions, written from the collected data and the lesson record (pure).

Each section's module answers its own questions, one function per question (``section_ii.cluster_running``,
``section_iv.why_the_pod_is_still_there``, ...); this is their order in the report. An answer quotes the numbers
and log lines this cluster produced, and its wording is chosen by them, not by the lesson the assignment
expects; when the data contradicts the expected lesson the answer says so plainly. When the data behind an
answer is missing, the answer says so and ``missing`` names the command that produces it, so the hand-in shows
what is left to do.
"""

from __future__ import annotations

from typing import Any

from lab.report import section_ii, section_iii, section_iv, section_v
from lab.report.model import Answer


def answers(report: dict[str, Any]) -> list[Answer]:
    return section_ii.answers(report) + section_iii.answers(report) + section_iv.answers(report) + \
        section_v.answers(report)
