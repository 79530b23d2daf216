"""The lesson's side-by-side table (seed or your writer, + resume, robust) from its steps' facts, and whether steps 2
and 4 applied the same fault (pure). ``invoke lesson`` prints and records it; the report derives it again
from the steps, so a record made before steps recorded their fault is read as it is, not as hoped."""

from __future__ import annotations

from typing import Any

from lab.names import OWN_WRITER_MODE

HEADERS = ["writer", "fault", "restarts", "longest stall (s)", "resumed from", "gaps"]
TITLE = "The writers side by side (invoke lesson)"
GRACEFUL = "graceful delete"
CRASH = "crash (JVM frozen, then pod deleted with --force)"
NOT_RECORDED = "not recorded"


def fault(facts: dict[str, Any]) -> str:
    """The fault a step applied, in words, from its ``crashed`` fact (absent in records before it existed)."""
    crashed = facts.get("crashed")
    return CRASH if crashed is True else GRACEFUL if crashed is False else NOT_RECORDED


def unlike(steps: dict[str, dict[str, Any]]) -> str:
    """Why the seed writer's stall (step 2) and the robust writer's (step 4) cannot be compared, or "" when
    both steps recorded the same fault (or one of them is not recorded: there is nothing to compare)."""
    two, four = (steps.get(k, {}).get("facts") for k in ("2", "4"))
    if not two or not four:
        return ""
    if isinstance(two.get("crashed"), bool) and two.get("crashed") == four.get("crashed"):
        return ""
    return f"step 2's fault was {_a(fault(two))}, step 4's {_a(fault(four))}"


def _a(words: str) -> str:
    return words if words == NOT_RECORDED else f"a {words}"


def title(steps: dict[str, dict[str, Any]]) -> str:
    reason = unlike(steps)
    return TITLE + (f": the stalls are not comparable ({reason})" if reason else "")


def side_by_side(steps: dict[str, dict[str, Any]]) -> list[list[Any]]:
    """The rows: seed (step 2), seed + resume (step 3), robust (step 4); a stall of unlike faults says so."""
    two, three, four = (steps.get(k, {}).get("facts", {}) for k in ("2", "3", "4"))
    refused = bool(unlike(steps))

    def stall(value: Any) -> Any:
        return f"{value} (not comparable)" if refused and isinstance(value, int | float) else value

    def restarts(facts: dict[str, Any]) -> Any:
        before, after = facts.get("seed_restarts_before"), facts.get("seed_restarts_after")
        return after - before if isinstance(before, int) and isinstance(after, int) else "not run"

    # Steps 2 and 3 ran a writer of your own in place of the seed writer (lab.writer.source): named so.
    student = "your writer" if OWN_WRITER_MODE in (two.get("writer_mode"), three.get("writer_mode")) else "seed"
    rows = []
    if two:
        rows.append([student, fault(two), restarts(two), stall(two.get("seed_stall_s", "n/a")),
                     two.get("seed_resumed_from", "n/a"), two.get("gaps", "n/a")])
    if three:
        rows.append([f"{student} + resume", "redeployed", three.get("resume_restarts", "n/a"), "n/a",
                     three.get("start_with_resume", "n/a"), three.get("gaps", "n/a")])
    if four:
        rows.append(["robust", fault(four), four.get("robust_restarts", "n/a"),
                     stall(four.get("robust_stall_s", "n/a")),
                     "no restart" if four.get("robust_restarts") == 0 else "n/a", four.get("gaps", "n/a")])
    return rows
