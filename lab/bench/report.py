"""The benchmark's numbers: one measurement, rounds combined, the ratios against the targets, and the table."""

from __future__ import annotations

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
    """Each contender's rounds combined, the run's settings, (c)'s ratios to (a) and (b), and whether both hold."""
    report = {name: combine(results) for name, results in parts.items()}
    report.update(seconds=seconds, rows=rows, rounds=rounds, consistency=consistency)
    seed, raw, writer = report["seed"], report["raw_async"], report["writer"]
    report["vs_seed"] = writer["rate"] / seed["rate"] if seed["rate"] else float("inf")
    report["vs_raw"] = writer["rate"] / raw["rate"] if raw["rate"] else float("inf")
    report["ok"] = report["vs_seed"] >= TARGET_VS_SEED and report["vs_raw"] >= TARGET_VS_RAW
    return report


def format_report(report: dict) -> str:
    """The table ``python -m lab.bench`` prints."""
    seed_rate, raw_rate = report["seed"]["rate"], report["raw_async"]["rate"]
    rows = [("(a) seed-style loop: sync INSERT into both tables per seq", report["seed"]),
            ("(b) raw async INSERTs, no bookkeeping (ceiling)", report["raw_async"]),
            ("(c) writer (python -m writer, defaults)", report["writer"])]
    if "writer_batch1" in report:
        rows.append(("    writer with WRITER_BATCH_SIZE=1 (like for like)", report["writer_batch1"]))
    out = [f"{'contender':<58} {'seqs':>8} {'seconds':>8} {'seqs/s':>9} {'vs (a)':>8} {'vs (b)':>7}"]
    for label, r in rows:
        out.append(f"{label:<58} {r['seqs']:>8} {r['seconds']:>8.1f} {r['rate']:>9.0f} "
                   f"{r['rate'] / seed_rate:>7.1f}x {r['rate'] / raw_rate:>6.0%}")
    verdict = lambda ok: "PASS" if ok else "MISS"  # noqa: E731
    out.append("")
    out.append(f"target (c) >= {TARGET_VS_SEED:.0f}x (a):   {report['vs_seed']:.1f}x  "
               f"{verdict(report['vs_seed'] >= TARGET_VS_SEED)}")
    out.append(f"target (c) >= {TARGET_VS_RAW:.0%} of (b): {report['vs_raw']:.0%}  "
               f"{verdict(report['vs_raw'] >= TARGET_VS_RAW)}")
    rss = [f"{report['writer']['peak_rss_mb']:.0f} MB"]
    if "writer_batch1" in report:
        rss.append(f"{report['writer_batch1']['peak_rss_mb']:.0f} MB with batch 1")
    out.append(f"writer peak RSS: {', '.join(rss)}   (consistency {report['consistency']}, "
               f"{report['seconds']:g} s per contender in {report['rounds']} interleaved rounds)")
    return "\n".join(out)
