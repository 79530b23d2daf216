"""The benchmark's table and the numbers in it: one measurement, rounds combined, the ratios against the targets
and, when (d) ran, the writer's rate over TLS against its plaintext one."""

from __future__ import annotations

from typing import Any

#: The product brief's targets: the writer (c) >= 20x the seed loop (a) and >= 70% of raw async (b).
TARGET_VS_SEED = 20.0
TARGET_VS_RAW = 0.70


def measurement(seqs: int, seconds: float) -> dict:
    """One contender's run: seqs written, seconds taken, and the rate."""
    return {"seqs": seqs, "seconds": round(seconds, 3), "rate": seqs / seconds if seconds > 0 else 0.0}


def combine(results: list[dict]) -> dict:
    """A contender's rounds as one measurement, by totals (and its highest peak RSS, when measured)."""
    combined = measurement(sum(r["seqs"] for r in results), sum(r["seconds"] for r in results))
    if any("peak_rss_mb" in r for r in results):
        combined["peak_rss_mb"] = max(r.get("peak_rss_mb", 0.0) for r in results)
    return combined


def summarize(parts: dict[str, list[dict]], *, seconds: float, rows: int | None, rounds: int,
              consistency: str) -> dict:
    """Each contender's rounds combined, the run's settings, (c)'s ratios to (a) and (b), and whether both hold;
    with (d), its ratio to (c) (``tls_vs_plain``)."""
    summary: dict[str, Any] = {name: combine(results) for name, results in parts.items()}
    summary.update(seconds=seconds, rows=rows, rounds=rounds, consistency=consistency)
    seed, raw, writer = summary["seed"], summary["raw_async"], summary["writer"]
    summary["vs_seed"] = writer["rate"] / seed["rate"] if seed["rate"] else float("inf")
    summary["vs_raw"] = writer["rate"] / raw["rate"] if raw["rate"] else float("inf")
    summary["ok"] = summary["vs_seed"] >= TARGET_VS_SEED and summary["vs_raw"] >= TARGET_VS_RAW
    if "writer_tls" in summary:
        summary["tls_vs_plain"] = tls_ratio(summary["writer_tls"], writer)
    return summary


def tls_ratio(over_tls: dict, plaintext: dict) -> float:
    """(d) / (c): the real writer's acknowledged seqs/s over TLS as a share of its plaintext rate (same node, same
    run); below 1 is what TLS costs."""
    return over_tls["rate"] / plaintext["rate"] if plaintext["rate"] else float("inf")


def format_table(summary: dict) -> str:
    """The table ``python -m lab.bench`` prints."""
    seed_rate, raw_rate = summary["seed"]["rate"], summary["raw_async"]["rate"]
    rows = [("(a) seed-style loop: sync INSERT into both tables per seq", summary["seed"]),
            ("(b) raw async INSERTs, no bookkeeping (ceiling)", summary["raw_async"]),
            ("(c) writer (python -m writer, defaults)", summary["writer"])]
    if "writer_batch1" in summary:
        rows.append(("    writer with WRITER_BATCH_SIZE=1 (like for like)", summary["writer_batch1"]))
    if "writer_tls" in summary:
        rows.append(("(d) writer over TLS (CASSANDRA_TLS_CA, same node as (c))", summary["writer_tls"]))
    out = [f"{'contender':<58} {'seqs':>8} {'seconds':>8} {'seqs/s':>9} {'vs (a)':>8} {'vs (b)':>7}"]
    for label, r in rows:
        out.append(f"{label:<58} {r['seqs']:>8} {r['seconds']:>8.1f} {r['rate']:>9.0f} "
                   f"{r['rate'] / seed_rate:>7.1f}x {r['rate'] / raw_rate:>6.0%}")
    verdict = lambda ok: "PASS" if ok else "MISS"  # noqa: E731
    out.append("")
    out.append(f"target (c) >= {TARGET_VS_SEED:.0f}x (a):   {summary['vs_seed']:.1f}x  "
               f"{verdict(summary['vs_seed'] >= TARGET_VS_SEED)}")
    out.append(f"target (c) >= {TARGET_VS_RAW:.0%} of (b): {summary['vs_raw']:.0%}  "
               f"{verdict(summary['vs_raw'] >= TARGET_VS_RAW)}")
    if "tls_vs_plain" in summary:
        out.append(f"TLS: (d)/(c) = {summary['tls_vs_plain']:.2f}x   acknowledged seqs/s of the real writer, TLS vs "
                   "plaintext, same node, same run")
    rss = [f"{summary['writer']['peak_rss_mb']:.0f} MB"]
    if "writer_batch1" in summary:
        rss.append(f"{summary['writer_batch1']['peak_rss_mb']:.0f} MB with batch 1")
    if "writer_tls" in summary:
        rss.append(f"{summary['writer_tls']['peak_rss_mb']:.0f} MB over TLS")
    out.append(f"writer peak RSS: {', '.join(rss)}   (consistency {summary['consistency']}, "
               f"{summary['seconds']:g} s per contender in {summary['rounds']} interleaved rounds)")
    if "conditions" in summary:
        out.append(f"Cassandra: {summary['conditions']['cassandra']}; CQL TLS: {summary['conditions']['cql_tls']}")
    return "\n".join(out)
