"""Section V, stateless application: each topic's stored last_seq and row count, verify (every seq
1..last_seq read back), the writer's ``start from lastSeq=N`` lines (N > 0: it resumed), and for a writer of
your own the change you made to it (``writer_change``). Here are what it collects (``collect``), its key
facts (``facts``) and its answers, one function per question, written from the collected data and lesson
step 3 (the start seq a writer logged, against the last_seq stored before it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab import command_output, names
from lab import verify as verify_lib
from lab.cassandra import LAST_SEQ_TABLE, LAST_SEQS_QUERY, count_query, cqlsh_args, parse_cqlsh_table, select_script
from lab.errors import LabError
from lab.report import lesson_record, writer_change
from lab.report.model import Answer, Fact, fact, lines, note, table
from lab.report.wording import is_int, writer_named

if TYPE_CHECKING:  # collect.py imports this module
    from lab.report.collect import Collector


def collect(col: Collector) -> None:
    items = col.section("V")
    if not col.cluster_up:
        items.append(note(f"Not collected: progress and verify: {col.down_reason}."))
    elif col.exec_pod is None:
        items.append(note("Not collected: progress and verify: no Ready Cassandra pod to run cqlsh in."))
    else:
        progress(col, items, col.exec_pod)
    resume(col, items)
    writer_change.collect(col, items, base=col.writer_base)


def progress(col: Collector, items: list[dict[str, Any]], pod: str) -> None:
    """Each topic's stored progress and verify's verdict, read with cqlsh in ``pod`` (Ready)."""
    cass = col.cassandra(pod)
    level = col.cfg.verify.consistency
    out = col.rec.show(cass.exec_args(cqlsh_args(select_script(LAST_SEQS_QUERY, consistency=level),
                                                 request_timeout=cass.request_timeout)),
                       "Each topic's last_seq, the writer's stored progress", timeout=cass.request_timeout + 30)
    if not out.ok:
        missing = "unconfigured table" in out.stdout + out.stderr or "does not exist" in out.stdout + out.stderr
        items.append(note("No progress table yet: the writer has not started." if missing
                          else "Not collected: last_seq (cqlsh failed; its output is above)."))
        return
    last = {r["topic"]: int(r["seq"]) for r in parse_cqlsh_table(out.stdout) if r.get("seq", "").lstrip("-").isdigit()}
    col.data["progress"] = {t: {"last_seq": s, "rows": None} for t, s in sorted(last.items())}
    for topic in sorted(last):
        out = col.rec.show(cass.exec_args(cqlsh_args(select_script(count_query(topic), consistency=level),
                                                     request_timeout=cass.request_timeout)),
                           f"Rows of topic {topic}", timeout=cass.request_timeout + 30)
        rows = parse_cqlsh_table(out.stdout) if out.ok else []
        if rows and rows[0].get("count", "").isdigit():
            col.data["progress"][topic]["rows"] = int(rows[0]["count"])
    try:
        reports = verify_lib.verify(cass, topics=sorted(last) or None, consistency=level)
    except LabError as err:
        col.data["verify"] = {"consistency": level, "error": str(err)}
        items.append(note(f"verify failed: {err}"))
        return
    col.data["verify"] = {"consistency": level, "topics": [r.to_dict() for r in reports],
                          "ok": bool(reports) and all(r.ok for r in reports)}
    items.append(table(f"verify at {level} (lab.verify: every seq 1..last_seq counted, short ranges read back)",
                       verify_lib.HEADERS, verify_lib.report_rows(reports)))


def resume(col: Collector, items: list[dict[str, Any]]) -> None:
    """``start from lastSeq=N`` lines: saved logs first (older), then each writer pod's previous and
    current run. N > 0 means a writer resumed from progress stored in Cassandra."""
    found: list[dict[str, Any]] = []
    folder = col.cfg.path(col.cfg.artifacts) / "logs"
    for path in sorted(folder.glob(f"*/{names.WRITER_DEPLOYMENT}-*.log")) if folder.is_dir() else []:
        try:
            text = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        found += [{"source": col.show_path(path), "line": line, "seq": n}
                  for line in text for _, n in command_output.log_starts([line])]
    if col.cluster_up:
        for pod in col.data.get("writer_pods", []):
            for previous in ([True, False] if pod["restarts"] else [False]):
                argv = col.kube.logs_args(pod=pod["name"], container=names.WRITER_CONTAINER, previous=previous)
                out = col.rec.probe(argv, timeout=60)
                if out.ok:
                    source = f"pod {pod['name']}, {'previous run' if previous else 'current run'}"
                    found += [{"source": source, "line": line, "seq": n}
                              for line in out.stdout.splitlines() for _, n in command_output.log_starts([line])]
    resumed = [f for f in found if f["seq"] > 0]
    col.data["resume"] = {"starts": found, "resumed": bool(resumed),
                          "seq": resumed[-1]["seq"] if resumed else None,
                          "source": resumed[-1]["source"] if resumed else ""}
    if found:
        items.append(lines("Writer starts (`start from lastSeq=N`; N > 0: resumed from Cassandra)",
                           [f"[{f['source']}] {f['line'].strip()}" for f in found]))
    else:
        items.append(note("No `start from lastSeq=` line found in the writer's logs (current, previous, or saved "
                          "with `invoke logs --save`)."))
    if found and not resumed:
        items.append(note("No resume recorded yet: every start was from lastSeq=0. "
                          "`invoke chaos --pod writer` deletes the writer; its replacement's start is recorded."))


# -- key facts (pure) ------------------------------------------------------------------------------------

def facts(report: dict[str, Any]) -> list[Fact]:
    data = report.get("data", {})
    found = [fact("V", f"topic {topic}: last_seq / rows",
                  f"{prog['last_seq']} / {prog['rows'] if prog['rows'] is not None else '?'}")
             for topic, prog in sorted((data.get("progress") or {}).items())]
    ver = data.get("verify")
    if ver is None or "error" in ver:
        found.append(fact("V", "gaps (verify)", None, 0, False))
    else:
        missing = sum(t.get("missing", 0) for t in ver.get("topics", []))
        found.append(fact("V", f"gaps (verify at {ver.get('consistency')})",
                          f"{missing} missing in {len(ver.get('topics', []))} topic(s)", "0 missing",
                          bool(ver.get("topics")) and missing == 0))
    resumed = data.get("resume")
    seen = None if resumed is None else (
        f"lastSeq={resumed['seq']} ({resumed['source']})" if resumed.get("resumed") else "none recorded")
    found.append(fact("V", "resume (start from lastSeq=N)", seen, "N > 0",
                      True if resumed and resumed.get("resumed") else None))
    return found


# -- answers (pure), one function per question -----------------------------------------------------------

def answers(report: dict[str, Any]) -> list[Answer]:
    return [why_from_seq_1(report), can_it_resume(report)]


def why_from_seq_1(report: dict[str, Any]) -> Answer:
    q = "Why does the writer start again from seq 1 when it is restarted?"
    three = lesson_record.step_facts(report, "3")
    if three is not None and three.get("start_without_resume") is not None:
        return Answer("V", q, fresh_start(three))
    return Answer("V", q, "Not answered yet: lesson step 3 (the writer redeployed without resume) has not been "
                          "recorded.", (lesson_record.command_for("3"),))


def can_it_resume(report: dict[str, Any]) -> Answer:
    q = "Can we have a writer that writes from the seq where it stopped the last time?"
    data = report.get("data", {})
    three = lesson_record.step_facts(report, "3")
    live, resumed = _live(data)
    if three is not None and three.get("start_with_resume") is not None:
        return Answer("V", q, resumed_start(three) + live)
    if resumed:
        return Answer("V", q, f"Yes, by keeping the progress in Cassandra ({LAST_SEQ_TABLE}) and reading it "
                              "before the loop." + live + " The seed writer's before and after are in "
                              "lesson step 3.", (lesson_record.command_for("3"),))
    if (data.get("resume") or {}).get("starts"):
        starts = data["resume"]["starts"]
        return Answer("V", q, "Not shown by this run's data: every writer start recorded is `start from "
                              f"lastSeq=0` ({len(starts)} start(s), e.g. {starts[-1]['source']}), a start that "
                              "resumed nothing. A writer resumes by keeping its progress in Cassandra "
                              f"({LAST_SEQ_TABLE}) and reading it before its loop." + live,
                      (lesson_record.command_for("3"), "invoke chaos --pod writer"))
    return Answer("V", q, "Not answered yet: no writer start from a stored seq has been recorded." + live,
                  (lesson_record.command_for("3"), "invoke chaos --pod writer"))


def _known(facts: dict[str, Any], key: str) -> bool:
    """Whether the step recorded the stored last_seq ``key`` (a seq, or None: no row); absent in records made
    before the lesson kept it, "not read" when Cassandra did not answer."""
    return key in facts and (facts[key] is None or is_int(facts[key]))


def _stored(facts: dict[str, Any], key: str) -> str:
    """" while ece573.prj04_last_seq held N", or what the record says instead ("" when it does not say)."""
    if key not in facts:
        return ""
    value = facts[key]
    if not _known(facts, key):
        return f" (the stored last_seq: {value})"
    return f" while {LAST_SEQ_TABLE} held {value}" if is_int(value) else f" with no last_seq stored in {LAST_SEQ_TABLE}"


def fresh_start(three: dict[str, Any]) -> str:
    """Lesson step 3, without resume: the start seq as logged, against the last_seq stored before it."""
    who, start = writer_named(three, "seed"), three["start_without_resume"]
    stored = three.get("stored_before_without_resume")
    logged = f"Redeployed without resume, {who} logged `start from lastSeq={start}`"
    if not is_int(start):
        return f"{logged}: not a seq, so this record does not show where it started."
    if start > 0:
        return (f"Not in this run: {logged[0].lower()}{logged[1:]}{_stored(three, 'stored_before_without_resume')}, "
                f"not 0, so it did not start again from seq 1: it read a stored seq, which a writer without resume "
                "does not do (check WRITER_RESUME in writer.yml).")
    why = ("it keeps its seq in a variable (`lastSeq := 0` in the assignment's writer), and a Deployment's pod is "
           "stateless (a new container starts with nothing)")
    if not _known(three, "stored_before_without_resume"):
        return (f"{logged}{_stored(three, 'stored_before_without_resume')}: {why}, so it began again at seq 1. (This "
                "record does not hold the last_seq stored before that start, so it does not show how many stored "
                "rows were written again.)")
    if not is_int(stored) or stored == 0:
        return (f"{logged}{_stored(three, 'stored_before_without_resume')}: nothing was stored yet, so this start "
                f"does not show the loss. The reason it would: {why}.")
    return (f"{logged}{_stored(three, 'stored_before_without_resume')}: {why}, so it began again at seq 1, over the "
            f"rows 1..{stored} already stored.")


def resumed_start(three: dict[str, Any]) -> str:
    """Lesson step 3, with WRITER_RESUME=true: did it go on from the stored last_seq, and are the rows whole?"""
    who, start = writer_named(three, "seed"), three["start_with_resume"]
    stored = three.get("stored_before_with_resume")
    held = _stored(three, "stored_before_with_resume")
    gaps = three.get("gaps")
    holes = is_int(gaps) and gaps > 0
    switched = f"with WRITER_RESUME=true {who}"
    logged = f"{switched} read {LAST_SEQ_TABLE} before its loop and logged `start from lastSeq={start}`"
    if not is_int(start):
        text = f"Not shown: {switched} logged `start from lastSeq={start}`, not a seq."
    elif start == 0:
        text = f"No, not in this run: {switched} still logged `start from lastSeq=0`{held}"
        text += (f": it did not resume, and began again at seq 1 (seqs 1..{stored} written again)." if is_int(stored)
                 and stored > 0 else ": there was nothing stored to resume from." if _known(
                     three, "stored_before_with_resume") else ": it began again at seq 1.")
    elif not _known(three, "stored_before_with_resume"):
        text = (f"{'It resumed' if holes else 'Yes'}, by keeping the progress in Cassandra, since the pod keeps "
                f"nothing: {logged}{held}, so it went on at seq {start + 1}. (This record does not hold the stored "
                "last_seq to compare that start with.)")
    elif start == stored:
        text = (f"{'It resumed' if holes else 'Yes'}, by keeping the progress in Cassandra, since the pod keeps "
                f"nothing: {logged}, the last_seq stored when it was redeployed, so it went on at seq {start + 1}.")
    else:
        after = (f": seqs {start + 1}..{stored} are written again" if is_int(stored) and start < stored else
                 f": seqs {stored + 1 if is_int(stored) else 1}..{start} are never written")
        text = f"It resumed, but not from where it stopped: {logged}{held}{after}."
    if is_int(gaps):
        text += (f" verify after the step found {gaps} seq(s) missing in 1..last_seq: the data has holes, so this "
                 "run does not show a complete resume." if holes else " verify after the step: 0 missing in "
                 "1..last_seq.")
    elif gaps is not None:
        text += f" verify after the step: {gaps}."
    return text


def _live(data: dict[str, Any]) -> tuple[str, bool]:
    """What the writer pods' logs and verify show now: (text, whether a resumed start was seen)."""
    resume = data.get("resume") or {}
    text = (f" The writer pods' logs show it too: {resume['source']} logged `start from lastSeq={resume['seq']}`."
            if resume.get("resumed") else "")
    ver = data.get("verify") or {}
    if ver.get("topics"):
        lost = sum(t.get("missing", 0) for t in ver["topics"])
        text += f" verify read every seq 1..last_seq back at {ver.get('consistency')}: {lost} missing."
    return text, bool(resume.get("resumed"))
