"""lab.bench.phases: a Cassandra pod's start and the writer's longest gap, from recorded timestamps."""

import pytest

from lab.bench.phases import (
    longest_write_gap,
    median,
    parse_time,
    phase_seconds,
    pod_milestones,
    writetimes_query,
)

T0 = parse_time("2026-12-02T14:00:00Z")

#: ``kubectl get pod cassandra-1 -o json`` (the parts read) of a pod replaced after a deletion.
POD = {
    "metadata": {"name": "cassandra-1", "creationTimestamp": "2026-12-02T14:00:04Z"},
    "status": {
        "podIP": "10.244.2.7",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": "2026-12-02T14:00:06Z"},
            {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-12-02T14:00:08Z"},
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-02T14:00:41Z"},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-12-02T14:00:41Z"},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-12-02T14:00:05Z"},
        ],
        "containerStatuses": [
            {"name": "cassandra", "state": {"running": {"startedAt": "2026-12-02T14:00:09Z"}}},
        ],
    },
}

#: ``kubectl logs cassandra-1 --timestamps``: a peer's NORMAL first (gossip), then this node's own.
LOG = """\
2026-12-02T14:00:09.512345678Z docker-entrypoint: cluster=ece573-prj04 listen=10.244.2.7 seeds=...
2026-12-02T14:00:20.100000000Z INFO  [GossipStage:1] StorageService - Node /10.244.1.3:7000 state jump to NORMAL
2026-12-02T14:00:27.250000000Z INFO  [main] StorageService - Node /10.244.2.7:7000 state jump to NORMAL
2026-12-02T14:00:29.750000000Z INFO  [main] PipelineConfigurator - Starting listening for CQL clients on /0.0.0.0:9042
"""


def test_rfc3339_times_whole_seconds_nanoseconds_and_offsets():
    assert parse_time("2026-12-02T14:00:04Z") == T0 + 4
    assert parse_time("2026-12-02T14:00:09.512345678Z rest of the line") == pytest.approx(T0 + 9.512345678)
    assert parse_time("2026-12-02T15:00:00+01:00") == T0
    assert parse_time("") is None and parse_time(None) is None and parse_time("INFO no stamp") is None


def test_a_pods_milestones_come_from_its_record_and_its_own_log_lines():
    m = pod_milestones(POD, LOG, container="cassandra")
    assert {k: round(v - T0, 2) for k, v in m.items()} == {
        "created": 4, "scheduled": 5, "initialized": 8, "started": 9,
        "cql_open": 29.75,
        "normal": 27.25,  # its own address, not the peer's jump at 20.1
        "ready": 41,
    }


def test_a_pod_not_yet_ready_has_no_ready_milestone_and_no_phase_after_the_unknown_end():
    pending = {**POD, "status": {**POD["status"], "conditions": [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-12-02T14:00:05Z"},
        {"type": "Ready", "status": "False", "lastTransitionTime": "2026-12-02T14:00:05Z"}]}}
    m = pod_milestones(pending, "", container="cassandra")
    assert m["ready"] is None and m["cql_open"] is None and m["initialized"] is None
    phases = phase_seconds(m)
    assert phases["scheduled"] == 1 and phases["ready"] is None and phases["cql_open"] is None
    # the container started 4 s after scheduling: an unknown milestone between does not hide it
    assert phases["started"] == 4


def test_phases_are_seconds_from_the_previous_known_milestone_and_replaced_counts_from_the_deletion():
    m = pod_milestones(POD, LOG, container="cassandra")
    assert phase_seconds(m) == {"scheduled": 1, "initialized": 3, "started": 1, "normal": 18.25,
                                "cql_open": 2.5, "ready": 11.25}
    with_deletion = phase_seconds(m, since=T0 + 0.5)
    assert with_deletion["replaced"] == 3.5 and with_deletion["scheduled"] == 1
    assert sum(v for v in with_deletion.values()) == pytest.approx(41 - 0.5)


def test_the_longest_gap_between_acknowledged_writes_in_time_order():
    us = 1_000_000
    # batches share one write time; the order of seqs does not matter, the times' order does
    times = [10 * us, 10 * us, int(10.2 * us), int(11.9 * us), int(10.1 * us), int(12.0 * us)]
    gap = longest_write_gap(times)
    assert (gap.seconds, gap.start, gap.end, gap.writes) == (pytest.approx(1.7), 10.2, 11.9, 5)
    assert longest_write_gap([5 * us, 5 * us]) is None and longest_write_gap([]) is None


def test_writetimes_query_and_median():
    assert writetimes_query("ece573.prj04", "test", 10, 20) == (
        "SELECT seq, writetime(value) AS wt FROM ece573.prj04 WHERE topic = 'test' AND seq >= 10 AND seq <= 20;")
    assert median([3.0, None, 1.0, 2.0]) == 2.0 and median([1.0, 2.0]) == 1.5 and median([None]) is None
