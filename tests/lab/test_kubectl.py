import json

import pytest

from lab import kubectl
from lab.errors import CommandError, LabError, PreconditionError
from lab.kubectl import Kubectl
from lab.runner import Runner
from tests.lab.labfakes import DATA, FakeCtx

K = Kubectl("kubectl", "kind-kind", "default")
BASE = ["kubectl", "--context", "kind-kind", "--namespace", "default"]
PODS = json.loads((DATA / "pods.json").read_text())["items"]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (K.apply_args("/p/cassandra.yml"), BASE + ["apply", "--filename", "/p/cassandra.yml"]),
        # an object that names its own namespace (kube-public's local-registry-hosting): no --namespace
        (K.apply_args("/p/hosting.yml", namespaced=False),
         ["kubectl", "--context", "kind-kind", "apply", "--filename", "/p/hosting.yml"]),
        (
            K.rollout_status_args("statefulset/cassandra", timeout=900),
            BASE + ["rollout", "status", "statefulset/cassandra", "--watch", "--timeout=900s"],
        ),
        (
            K.get_json_args("pods", selector="app=cassandra"),
            BASE + ["get", "pods", "--selector", "app=cassandra", "--output", "json"],
        ),
        (
            K.get_json_args("nodes", namespaced=False),
            ["kubectl", "--context", "kind-kind", "get", "nodes", "--output", "json"],
        ),
        (K.delete_pod_args("cassandra-1"), BASE + ["delete", "pod", "cassandra-1", "--wait=false"]),
        (
            K.delete_pod_args("cassandra-1", force=True),
            BASE + ["delete", "pod", "cassandra-1", "--wait=false", "--grace-period=0", "--force"],
        ),
        (
            K.delete_file_args("w.yml", timeout=60),
            BASE + ["delete", "--filename", "w.yml", "--ignore-not-found", "--wait", "--timeout=60s"],
        ),
        (
            K.delete_args("persistentvolumeclaim", selector="app=cassandra", timeout=60),
            BASE
            + [
                "delete",
                "persistentvolumeclaim",
                "--selector",
                "app=cassandra",
                "--ignore-not-found",
                "--wait",
                "--timeout=60s",
            ],
        ),
        (
            K.logs_args(selector="app=ece573-prj04-writer", container="writer", follow=True),
            BASE
            + [
                "logs",
                "--selector",
                "app=ece573-prj04-writer",
                "--prefix",
                "--max-log-requests",
                "10",
                "--container",
                "writer",
                "--follow",
                "--tail",
                "-1",
            ],
        ),
        (K.logs_args(pod="cassandra-0", tail=20), BASE + ["logs", "cassandra-0", "--tail", "20"]),
        (
            K.exec_args("cassandra-0", ["nodetool", "status"], container="cassandra"),
            BASE + ["exec", "cassandra-0", "--container", "cassandra", "--", "nodetool", "status"],
        ),
        (
            K.exec_args("cassandra-0", ["cqlsh"], interactive=True),
            BASE + ["exec", "--stdin", "--tty", "cassandra-0", "--", "cqlsh"],
        ),
        (
            K.port_forward_args("deployment/ece573-prj04-writer", 18080, 8080),
            BASE + ["port-forward", "deployment/ece573-prj04-writer", "18080:8080", "--address", "127.0.0.1"],
        ),
        (
            K.events_args("cassandra-1"),
            BASE
            + ["get", "events", "--field-selector", "involvedObject.name=cassandra-1", "--sort-by", ".lastTimestamp"],
        ),
        (K.contexts_args(), ["kubectl", "config", "get-contexts", "--output", "name"]),
    ],
    ids=lambda v: " ".join(v[5:8]) if isinstance(v, list) else None,
)
def test_argv(argv, expected):
    assert argv == expected


def test_every_namespaced_command_names_context_and_namespace():
    for argv in (K.apply_args("x"), K.logs_args(pod="p"), K.exec_args("p", ["true"]), K.delete_pod_args("p")):
        assert argv[:5] == BASE


def test_pod_facts_from_recorded_json():
    c0, c1, writer = PODS
    assert [kubectl.pod_ready(p) for p in PODS] == [True, False, False]
    assert [kubectl.pod_restarts(p) for p in PODS] == [0, 4, 0]
    assert kubectl.pod_waiting_reason(c1) == "CrashLoopBackOff"
    assert (
        kubectl.pod_waiting_reason(writer) == "Pending: Unschedulable 0/5 nodes are available: 1 Insufficient memory."
    )
    terminating = dict(c0, metadata=dict(c0["metadata"], deletionTimestamp="2026-11-25T19:30:00Z"))
    assert not kubectl.pod_ready(terminating)


def test_get_json_returns_none_when_not_found_and_raises_otherwise():
    ctx = FakeCtx([("get pod gone", ('Error from server (NotFound): pods "gone" not found', 1)),
                   ("get pod broken", ("Unable to connect to the server", 1))])
    assert kubectl.get_json(Runner(ctx), K, "pod", "gone") is None
    with pytest.raises(CommandError, match="Unable to connect"):
        kubectl.get_json(Runner(ctx), K, "pod", "broken")


def test_require_context_says_how_to_create_it():
    ctx = FakeCtx([("get-contexts", "kind-other\nprod\n")])
    with pytest.raises(
        PreconditionError, match=r"kube context kind-kind not found; create the cluster with `invoke reset`"
    ):
        kubectl.require_context(Runner(ctx), K)
    assert kubectl.context_exists(Runner(FakeCtx([("get-contexts", "prod\nkind-kind\n")])), K)


def test_wait_until_polls_until_true_or_timeout():
    now = [0.0]
    answers = iter([False, False, True])
    assert kubectl.wait_until(lambda: next(answers), timeout=10, every=2, clock=lambda: now[0],
                              sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert now[0] == 4.0
    now[0] = 0.0
    assert not kubectl.wait_until(lambda: False, timeout=5, every=2, clock=lambda: now[0],
                                  sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert now[0] == 6.0


def test_diagnose_shows_state_events_and_log_tail_of_unready_pods():
    ctx = FakeCtx(
        [
            ("get pods", json.dumps({"items": PODS})),
            ("get events .*cassandra-1", "LAST SEEN  TYPE     REASON   OBJECT\n1m  Warning  BackOff  pod/cassandra-1"),
            ("logs cassandra-1", "INFO starting\nERROR Exception encountered during startup"),
            ("get events .*ece573-prj04-writer-", ""),  # the Pending writer: no events, no log yet
            ("logs ece573-prj04-writer-", ""),
        ]
    )
    lines = kubectl.diagnose(Runner(ctx), K, "app=cassandra", container="cassandra")
    assert lines[0] == "--- cassandra-1: CrashLoopBackOff, restarts 4"
    assert "    1m  Warning  BackOff  pod/cassandra-1" in lines
    assert "    | ERROR Exception encountered during startup" in lines
    assert not any("cassandra-0" in line for line in lines)  # Ready pods are not noise
    assert lines[-1].startswith("--- ece573-prj04-writer-7bcccffd6d-2s87k: Pending: Unschedulable")


FORBIDDEN = ('The StatefulSet "cassandra" is invalid: spec: Forbidden: updates to statefulset spec for fields other '
             "than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
             "'minReadySeconds' are forbidden")


def test_a_statefulset_whose_fixed_field_changed_is_replaced_and_its_pods_kept():
    """podManagementPolicy went from OrderedReady to Parallel: apply is refused, so the StatefulSet alone is
    deleted (its pods orphaned, not stopped) and applied again; an ordinary apply touches nothing else."""
    ctx = FakeCtx([("apply", [(FORBIDDEN, 1), ("statefulset.apps/cassandra created", 0)]),
                   ("delete statefulset cassandra --cascade=orphan", ('statefulset.apps "cassandra" deleted', 0))])
    assert kubectl.apply_statefulset(Runner(ctx), K, "/p/cassandra.yml", "cassandra")
    assert [c.split(" --namespace default ")[-1] for c in ctx.commands] == [
        "apply --filename /p/cassandra.yml",
        "delete statefulset cassandra --cascade=orphan --ignore-not-found --wait --timeout=60s",
        "apply --filename /p/cassandra.yml"]
    quiet = FakeCtx([("apply", ("statefulset.apps/cassandra configured", 0))])
    assert not kubectl.apply_statefulset(Runner(quiet), K, "/p/cassandra.yml", "cassandra")
    assert len(quiet.commands) == 1


def test_any_other_refused_apply_is_an_error_and_deletes_nothing():
    ctx = FakeCtx([("apply", ('error: error parsing /p/cassandra.yml: yaml: line 3', 1))])
    with pytest.raises(LabError, match="failed to apply /p/cassandra.yml: .*yaml: line 3"):
        kubectl.apply_statefulset(Runner(ctx), K, "/p/cassandra.yml", "cassandra")
    assert not ctx.matching("delete")
