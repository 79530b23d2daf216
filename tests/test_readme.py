"""README is the guide: short, every task in its table, every `invoke` command in its code blocks parses
against the real tasks, and every link into docs/ lands on a file and heading that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from invoke import Program
from invoke.parser import Parser

import tasks

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
MAX_LINES = 350


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M)


def _commands(text: str) -> list[str]:
    """Every `invoke ...` line of the code blocks, without env assignments before it or a comment after it."""
    found = []
    for block in _code_blocks(text):
        for line in block.splitlines():
            line = line.split("  #")[0].split(" # ")[0].strip()
            if not re.match(r"([A-Z_]+=\S*\s+)*invoke\b", line):
                continue  # output shown in a block, or another program
            words = shlex.split(line)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words.pop(0)
            if words[:1] == ["invoke"]:
                found.append(words[1:])
    return found


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_anchor(h) for h in re.findall(r"^#+ (.*)$", path.read_text(), flags=re.M)}


def test_readme_is_short():
    assert len(README.splitlines()) <= MAX_LINES


def test_every_task_has_a_row_in_the_task_table():
    table = README.split("## Tasks", 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| (.*?) \|", table, flags=re.M)
    named = {name for cell in cells for name in re.findall(r"`(?:invoke )?([^`]+)`", cell)}
    missing = set(tasks.ns.task_names) - named
    assert missing == set()


@pytest.mark.parametrize("argv", _commands(README), ids=lambda argv: " ".join(argv)[:60])
def test_every_readme_command_parses(argv):
    parser = Parser(initial=Program().initial_context, contexts=tasks.ns.to_contexts())
    result = parser.parse_argv(argv)
    assert [ctx.name for ctx in result[1:]], argv  # names at least one task (or is a core flag such as --print-...)


def test_commands_were_found():
    assert len(_commands(README)) >= 15


@pytest.mark.parametrize("link", sorted(set(re.findall(r"\]\((docs/[^)\s]+)\)", README))))
def test_every_docs_link_lands(link):
    path, _, anchor = link.partition("#")
    assert (ROOT / path).is_file(), link
    if anchor and path.endswith(".md"):
        assert anchor in _anchors(ROOT / path), link


@pytest.mark.parametrize("link", sorted(set(re.findall(r"\]\(#([^)\s]+)\)", README))))
def test_every_readme_anchor_lands(link):
    assert link in _anchors(ROOT / "README.md")


@pytest.mark.parametrize("doc", sorted((ROOT / "docs").glob("*.md")), ids=lambda p: p.name)
def test_links_between_docs_land(doc):
    for link in re.findall(r"\]\(([\w.-]+\.md)(?:#([\w-]+))?\)", doc.read_text()):
        target, anchor = doc.parent / link[0], link[1]
        assert target.is_file(), (doc.name, link)
        if anchor:
            assert anchor in _anchors(target), (doc.name, link)
