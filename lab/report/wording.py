"""How the sections' answers say things (pure): numbers, code, the writers by name."""

from __future__ import annotations

from typing import Any, TypeGuard

from lab.names import OWN_WRITER_MODE

#: The writers this lab runs, in words. The assignment's Go writer itself is not the lab's: the seed mode
#: reproduces it, line for line, in the lab's Python writer (writer/seed.py); a student's own (any language) is
#: "own" (lab.writer.source).
WRITERS = {
    "seed": "the seed writer (the lab's Python writer in WRITER_MODE=seed, which reproduces the assignment's Go "
            "writer)",
    "robust": "the lab's robust writer",
    OWN_WRITER_MODE: "your writer (the one `invoke build --writer-dir` built)",
}


def number(value: Any) -> str:
    """12.0 -> "12", 1.25 -> "1.2"; anything else as it is."""
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0")
    return str(value)


def code(text: str) -> str:
    return f"`{text.strip()}`"


def writer_named(facts: dict[str, Any], default: str) -> str:
    """The writer a lesson step ran: as its record says (``writer_mode``), else the mode that step deploys."""
    mode = facts.get("writer_mode") or default
    return WRITERS.get(mode, f"the writer in WRITER_MODE={mode}")


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
