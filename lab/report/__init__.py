"""The report behind ``invoke report``: the evidence the assignment asks for, sections II to V, and the
hand-in built from it (report.pdf, report.docx).

- ``collect``: read-only commands through ``recording.RecordingRunner``, one module per section
  (``section_ii`` ... ``section_v``; ``writer_change``: your writer's source diff), plus the lesson record
  (``lesson_record``), into a plain dict;
- each section's module holds all of it: what it collects, its key facts and its answers (pure), one function
  per question; ``facts.key_facts`` and ``answers.answers`` put them in the report's order; ``model`` is the
  vocabulary (items, ``Fact``, ``Answer``) and ``wording`` how answers say things;
- ``document`` fixes the order once; ``to_markdown``, ``to_html``, ``to_docx`` and ``to_pdf`` render it;
- ``files`` writes and reads the files; ``task`` is the ``report`` task itself.
"""

from lab.report.collect import collect
from lab.report.facts import key_facts
from lab.report.files import load_report, write_hand_in, write_report
from lab.report.model import NOT_COLLECTED, Answer, Fact
from lab.report.recording import RecordingRunner
from lab.report.task import failed_facts, rerender_report, run, run_report
from lab.report.to_html import render_html
from lab.report.to_markdown import render_markdown

__all__ = ["Answer", "Fact", "NOT_COLLECTED", "RecordingRunner", "collect", "failed_facts", "key_facts",
           "load_report", "render_html", "render_markdown", "rerender_report", "run", "run_report", "write_hand_in",
           "write_report"]
