"""Section V, stateless application: each topic's stored last_seq and row count, verify (every seq
1..last_seq read back), the writer's ``start from lastSeq=N`` lines (N > 0: it resumed), and for a writer of
your own the change you made to it (``writer_change``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lab import command_output, names
from lab import verify as verify_lib
from lab.cassandra import LAST_SEQS_QUERY, count_query, cqlsh_args, parse_cqlsh_table, select_script
from lab.errors import LabError
from lab.report import writer_change
from lab.report.model import lines, note, table

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
