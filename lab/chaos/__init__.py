"""Chaos rounds: inflict a fault, time the recovery and the writer's longest stall, then verify the data.

Faults (one module each under lab.chaos.faults, registered by name): delete one pod (``pod``), delete all
Cassandra pods at once (``all-pods``), stop a kind node's container for a while (``node``), cut a pod off
the network for a while (``partition``), SIGKILL Cassandra's JVM in place, one pod's or all three at once
(``crash``); and gray faults, each for a while: a JVM frozen by SIGSTOP (``pause``), a node container frozen
(``freeze``), a share of a pod's packets dropped (``loss``), CoreDNS scaled to 0 (``dns``). The parts:

    faults/    what each fault does and how it recovers
    watch      pod and node states in plain words; the waits for Ready, UN and the writer
    sampling   the writer's progress, sampled in the background (/metrics, or last_seq via cqlsh), and its
               record of each acknowledged advance (/acks)
    round      one round, the same steps for every fault
    rounds     ``invoke chaos``: targets, random draws, the table, one JSON file a round
    command    one run's flags as a value (ChaosCommand) and run_command, what the command line and the
               dashboard's buttons both call
    results    what a round records (RoundResult) and the summary table

The stall arithmetic lives in lab.stall, shared with lab.plot (which draws each round's timeline).
This package re-exports the names its callers use.
"""

from lab.chaos.command import ChaosCommand, configured_rounds, run_command
from lab.chaos.faults import FAULTS, Fault, register
from lab.chaos.faults.pod import target_of
from lab.chaos.results import (
    ROUND_HEADERS,
    SUMMARY_HEADERS,
    WRITER_HEADERS,
    RoundResult,
    round_rows,
    summary_rows,
    totals,
    writer_rows,
)
from lab.chaos.round import run_round
from lab.chaos.rounds import DEFAULT_DOWN, DOWN_RANGE, RANDOM_AMONG, plan, run_rounds
from lab.chaos.sampling import MetricsProgress, Sampler, parse_metric
from lab.chaos.watch import (
                             ChaosSettings,
                             replaced_and_ready,
                             restart_counts,
                             restarts_since,
                             writer_restarts,
)
from lab.names import CASSANDRA_REPLICAS
from lab.stall import Sample, Stall, longest_stall

__all__ = [
    "CASSANDRA_REPLICAS",
    "ChaosCommand",
    "DEFAULT_DOWN",
    "DOWN_RANGE",
    "FAULTS",
    "RANDOM_AMONG",
    "ROUND_HEADERS",
    "SUMMARY_HEADERS",
    "WRITER_HEADERS",
    "ChaosSettings",
    "Fault",
    "MetricsProgress",
    "RoundResult",
    "Sample",
    "Sampler",
    "Stall",
    "longest_stall",
    "parse_metric",
    "plan",
    "configured_rounds",
    "run_command",
    "register",
    "replaced_and_ready",
    "restart_counts",
    "restarts_since",
    "round_rows",
    "run_round",
    "run_rounds",
    "summary_rows",
    "target_of",
    "totals",
    "writer_restarts",
    "writer_rows",
]
