"""``invoke chaos``: the rounds, from the command line's targets to a table and one JSON file a round.

Targets (exactly one fault type a run):
  --pod cassandra-N | writer   delete that pod
  --pod cassandra              delete all three Cassandra pods at once
  --pod random                 each round one of ``--among`` (default: the three Cassandra pods, the
                               writer, and a partition of a random Cassandra pod), drawn with ``--seed``
  --node kind-workerN          stop that node's container for --down seconds, then start it
  --partition cassandra-N      cut that pod off the network for --down seconds
  --crash cassandra | cassandra-N   SIGKILL every Cassandra JVM at the same instant (or that pod's), in place
  --pause cassandra-N          SIGSTOP that pod's JVM for --down seconds, then SIGCONT (pod and node stay up)
  --freeze kind-workerN        ``docker pause`` that node's container for --down seconds, then unpause it
  --loss cassandra-N           drop --percent of that pod's packets, both ways, for --down seconds
  --dns                        CoreDNS scaled to 0 for --down seconds, then back to its replicas

Each gray fault (pause, freeze, loss, dns) may also be drawn by ``--pod random --among ...``: a pause or a
loss hits a random Cassandra pod, a freeze the node of one.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab import kubectl, names, output, plot, progress, ring
from lab.chaos import faults as faults_mod
from lab.chaos import round as round_mod
from lab.chaos.faults import Fault
from lab.chaos.faults import crash as crash_mod
from lab.chaos.faults import dns as dns_mod
from lab.chaos.faults import loss as loss_mod
from lab.chaos.faults.pod import target_of
from lab.chaos.results import (
    ROUND_HEADERS,
    WRITER_HEADERS,
    RoundResult,
    count_earlier,
    distinct_lost_rows,
    round_rows,
    totals,
    writer_rows,
)
from lab.chaos.watch import ChaosSettings, Env
from lab.context import Lab, guard_context, require_cluster
from lab.errors import LabError, PreconditionError
from lab.names import CASSANDRA_PODS, CASSANDRA_REPLICAS
from lab.verify import lab_seed_topics

#: Seconds a timed fault (node, partition, pause, freeze, loss, dns) may stay in place: long enough to matter,
#: short of the node controller's 5-minute eviction plus a margin for the round's own timeout.
DOWN_RANGE = (5, 600)
DEFAULT_DOWN = 30
#: What ``--pod random`` draws from unless ``--among`` says otherwise; "partition" cuts a random
#: Cassandra pod off for --down seconds. "cassandra" (all three at once) may be added with --among.
RANDOM_AMONG = (*CASSANDRA_PODS, "writer", "partition")
#: The timed faults --among may name besides "partition": each hits a random Cassandra pod (pause, loss), the
#: node of one (freeze), or the cluster's DNS.
GRAY = ("pause", "freeze", "loss", "dns")
RANDOM_CHOICES = (*CASSANDRA_PODS, "writer", "cassandra", "partition", *GRAY)
#: The flags of the faults that stay in place for --down seconds.
TIMED_FLAGS = "--node, --partition, --pause, --freeze, --loss, --dns"
DOWN_ONLY = f"--down applies to {TIMED_FLAGS} and random timed faults only"


def check_down(down: float) -> float:
    low, high = DOWN_RANGE
    if not low <= down <= high:
        raise PreconditionError(f"--down {down:g}: give seconds between {low} and {high}")
    return float(down)


def parse_among(among: str) -> tuple[str, ...]:
    picks = tuple(p.strip() for p in among.split(",") if p.strip()) if among else RANDOM_AMONG
    bad = [p for p in picks if p not in RANDOM_CHOICES]
    if bad or not picks:
        raise PreconditionError(f"--among {among!r}: a comma-separated list of {', '.join(RANDOM_CHOICES)}")
    return picks


def plan(*, pod: str = "", node: str = "", partition: str = "", down: float = 0, among: str = "",
         rounds: int = 1, rng: random.Random | None = None, crash: str = "", pause: str = "", freeze: str = "",
         loss: str = "", dns: bool = False, percent: float = 0, workers: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(fault type, target) for each round; one line for a bad combination or value. ``workers``: the nodes a
    random freeze draws from (those hosting a Cassandra pod)."""
    given = [flag for flag, value in (("--pod", pod), ("--node", node), ("--partition", partition),
                                      ("--crash", crash), ("--pause", pause), ("--freeze", freeze),
                                      ("--loss", loss), ("--dns", dns)) if value]
    if len(given) > 1:
        raise PreconditionError(f"{' and '.join(given)}: give one target a run")
    if rounds < 1:
        raise PreconditionError(f"--rounds {rounds}: need at least 1")
    if down:
        check_down(down)
    if among and pod != "random":
        raise PreconditionError("--among applies to --pod random only")
    picks = parse_among(among) if pod == "random" else ()
    if percent and not (loss or "loss" in picks):
        raise PreconditionError("--percent applies to --loss (and random losses) only")
    if percent:
        loss_mod.check_percent(percent)
    if crash:
        if crash != crash_mod.ALL and crash not in CASSANDRA_PODS:
            raise PreconditionError(f"--crash {crash!r}: name {crash_mod.CRASH_HELP}")
        if down:
            raise PreconditionError(DOWN_ONLY)
        return [("crash", crash)] * rounds
    for flag, value in (("--pause", pause), ("--loss", loss)):
        if value and value not in CASSANDRA_PODS:
            raise PreconditionError(f"{flag} {value!r}: name a Cassandra pod ({', '.join(CASSANDRA_PODS)})")
    timed = [(fault_type, value) for fault_type, value in (("node", node), ("partition", partition), ("pause", pause),
                                                           ("freeze", freeze), ("loss", loss)) if value]
    if dns:
        timed.append(("dns", dns_mod.TARGET))
    if timed:
        return timed * rounds
    pod = pod or "cassandra-1"
    if pod == "random":
        rng = rng or random.Random()
        if down and not {"partition", *GRAY} & set(picks):
            raise PreconditionError(DOWN_ONLY)
        if "freeze" in picks and not workers:
            raise PreconditionError("--among freeze: no worker node hosts a Cassandra pod; run `invoke deploy` first")
        out = []
        for _ in range(rounds):
            choice = rng.choice(picks)
            if choice in ("partition", "pause", "loss"):
                out.append((choice, rng.choice(CASSANDRA_PODS)))
            elif choice == "freeze":
                out.append(("freeze", rng.choice(workers)))
            elif choice == "dns":
                out.append(("dns", dns_mod.TARGET))
            elif choice == "cassandra":
                out.append(("all-pods", "cassandra"))
            else:
                out.append(("pod", choice))
        return out
    if down:
        raise PreconditionError(DOWN_ONLY)
    if pod == "cassandra":
        return [("all-pods", "cassandra")] * rounds
    target_of(pod)
    return [("pod", pod)] * rounds


def cassandra_workers(lab: Lab) -> tuple[str, ...]:
    """The nodes that host a Cassandra pod (what a random freeze draws from); read-only, also under --dry."""
    pods = kubectl.pods(lab.runner, lab.kube, names.CASSANDRA_SELECTOR)
    return tuple(sorted({p.get("spec", {}).get("nodeName") or "" for p in pods} - {""}))


def run_rounds(lab: Lab, pod: str = "", *, rounds: int, interval: float, force: bool = False, node: str = "",
               partition: str = "", down: float = 0, among: str = "", seed: int | None = None,
               cpu_weight: bool | None = None, sleep: Callable[[float], None] = time.sleep,
               run_round=None, crash: str = "", pause: str = "", freeze: str = "", loss: str = "",
               dns: bool = False, percent: float = 0) -> list[RoundResult]:
    """The rounds ``plan`` gives, ``interval`` seconds apart: a table on stdout, one JSON file per round
    under <artifacts>/chaos/ (and the totals under chaos/soak/ for several rounds). Raises LabError
    (exit 1) when any round lost rows, failed verify, did not recover or found the writer wedged.
    ``cpu_weight``: favour the writers' kind nodes with CPU weight (None: lab.chaos.cpu_weight, off)."""
    run_round = run_round or round_mod.run_round
    cfg = lab.cfg
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    gray: dict[str, Any] = dict(pause=pause, freeze=freeze, loss=loss, dns=dns, percent=percent)
    targets: dict[str, Any] = dict(node=node, partition=partition, crash=crash, **gray)
    steps = plan(pod=pod, down=down, among=among, rounds=rounds, rng=random.Random(seed), **targets,
                 workers=cassandra_workers(lab) if pod == "random" and "freeze" in parse_among(among) else ())
    down = float(down or DEFAULT_DOWN)
    options: dict[str, dict[str, Any]] = {"loss": {"percent": float(percent or loss_mod.DEFAULT_PERCENT)}}
    guard_context(cfg, action="inflict faults" if any(targets.values()) else "delete pods")
    require_cluster(lab)
    _require_three_nodes(lab)
    settings = dataclasses.replace(ChaosSettings.from_config(cfg, force=force, cpu_weight=cpu_weight),
                                   seed_topics=tuple(sorted(lab_seed_topics(lab))))
    faults = [faults_mod.make(fault_type, name, down=down, force=force, **options.get(fault_type, {}))
              for fault_type, name in steps]
    env = Env(lab.runner, lab.kube, settings, time.time, sleep, kind=lab.kind)
    for fault_type, name in dict.fromkeys(steps):  # a bad --node or --partition fails before round 1
        faults_mod.make(fault_type, name, down=down, **options.get(fault_type, {})).validate(env)
    stamp = output.timestamp()
    folder = cfg.path(cfg.artifacts) / "chaos"
    results: list[RoundResult] = []
    for number, fault in enumerate(faults, start=1):
        if number > 1:
            sleep(interval)
        with progress.step(f"Chaos round {number}/{len(faults)}: {fault.title()}") as s:
            result = run_round(lab.runner, lab.kube, fault, number, settings, kind=lab.kind,
                               request_timeout=cfg.verify.request_timeout)
            result.seed = seed if pod == "random" else None
            result.lost_earlier = count_earlier(result, results)
            if not lab.runner.dry:
                s.note(_record(lab, result, folder / f"{stamp}-round{number}.json"))
        results.append(result)
    if lab.runner.dry:
        return results
    _summarize(lab, results, what=_what(pod, node, partition, crash, **gray), folder=folder, stamp=stamp,
               seed=seed if pod == "random" else None)
    return results


def _require_three_nodes(lab: Lab) -> None:
    size = ring.live_replicas(lab.runner, lab.kube)
    if size is not None and size != CASSANDRA_REPLICAS:
        # Every fault's recovery is "all pods of the 3-node ring Ready and UN", and its pods are cassandra-0..2.
        raise PreconditionError(f"the ring has {size} nodes (after `invoke scale`); chaos rounds are written for "
                                f"{CASSANDRA_REPLICAS}: run `invoke scale --replicas {CASSANDRA_REPLICAS}` first")


def _record(lab: Lab, result: RoundResult, path: Path) -> str:
    """The round's JSON at ``path`` and its timeline PNG beside it; returns what its step line says."""
    output.write_json(path, result.to_dict())
    png = plot.plot_beside(path)  # the timeline PNG beside the JSON (lab.plot); never fails a round
    shown = path.relative_to(lab.cfg.root) if path.is_relative_to(lab.cfg.root) else path
    drawn = f" and its timeline {shown.with_suffix('.png').name}" if png is not None else ""
    why = result.error or ("lost rows" if result.lost_rows else "; ".join(result.verify_problems()))
    return f"{'ok' if result.ok else 'FAILED: ' + why}; {shown}{drawn}"


def _summarize(lab: Lab, results: list[RoundResult], *, what: str, folder: Path, stamp: str,
               seed: int | None) -> None:
    """The rounds' tables and totals on stdout, the soak record of several rounds; LabError when any failed."""
    cfg = lab.cfg
    topics = sorted({w["topic"] for r in results for w in r.writers}) or [cfg.topic]
    weighted = sum(r.cpu_weight for r in results)
    title = (f"Chaos: {what}, {len(results)} round(s), "
             f"topic{'s' if len(topics) > 1 else ''} {', '.join(topics)}")
    modes = sorted({r.commitlog_sync for r in results if r.commitlog_sync})
    if modes:  # a crash's outcome depends on it: said where the rows lost are
        title += f", commitlog_sync {'; '.join(modes)}"
    if weighted:
        title += f"; WITH 4x CPU weight on the writers' nodes ({weighted} round(s), --cpu-weight)"
    output.table(ROUND_HEADERS, round_rows(results), title=title)
    if any(r.writers for r in results):
        output.table(WRITER_HEADERS, writer_rows(results),
                     title="Each writer's longest stall, sampled and by acknowledgement (the table above shows the "
                           "worst)")
    total = totals(results)
    progress.info(f"{total['rounds']} round(s), {total['ok']} ok; rows verified {total['rows']}, "
                  f"lost {total['lost_rows']}, corrupted {total['corrupted_rows']}, "
                  f"writer restarts {total['writer_restarts']}")
    if len(results) > 1:
        output.write_json(
            folder / "soak" / f"{stamp}.json",
            {
                **total,
                "seed": seed,
                "cpu_weight_rounds": weighted,
                "target": what,
                "rounds_table": [dict(zip(ROUND_HEADERS, row, strict=True)) for row in round_rows(results)],
                "writers_table": [dict(zip(WRITER_HEADERS, row, strict=True)) for row in writer_rows(results)],
            },
        )
    failed = [r for r in results if not r.ok]
    if failed:
        lost = distinct_lost_rows(failed)
        first = failed[0].error or "; ".join(failed[0].verify_problems())
        raise LabError(f"chaos: {len(failed)} of {len(results)} round(s) failed"
                       + (f", {lost} row(s) missing" if lost else f": {first}"))


def _what(pod: str, node: str, partition: str, crash: str = "", *, pause: str = "", freeze: str = "",
          loss: str = "", dns: bool = False, percent: float = 0) -> str:
    if pause:
        return f"pause of {pause}'s JVM"
    if freeze:
        return f"freeze of node {freeze}"
    if loss:
        return f"{percent or loss_mod.DEFAULT_PERCENT:g}% packet loss on {loss}"
    if dns:
        return "cluster DNS down"
    if crash:
        return "crash of every Cassandra JVM" if crash == "cassandra" else f"crash {crash}"
    if node:
        return f"node {node}"
    if partition:
        return f"partition {partition}"
    return {"random": "random targets", "cassandra": "all Cassandra pods"}.get(
        pod or "cassandra-1", pod or "cassandra-1"
    )


__all__ = ["DOWN_RANGE", "DEFAULT_DOWN", "GRAY", "RANDOM_AMONG", "Fault", "plan", "run_rounds"]
