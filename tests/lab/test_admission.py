"""Why a writer has no pod or cannot reach Cassandra: refusals and labels read from recorded `kubectl -o json`."""

from __future__ import annotations

import json

import pytest

from lab import admission, manifests, names, observe
from tests.lab.labfakes import DATA, lab_ctx, make_lab

RECORDED = DATA / "admission"
ROOT = DATA.parents[2]


def _items(name: str, kind: str | None = None) -> list[dict]:
    items = json.loads((RECORDED / name).read_text())["items"]
    return [i for i in items if kind is None or i["kind"] == kind]


def _peers():
    return admission.cql_peers(manifests.load_all(ROOT / "cassandra.yml"))


def test_the_policy_and_its_failed_checks_are_read_from_the_event_message():
    event, *_ = _items("events_failedcreate.json")
    assert admission.pod_security_checks(event["message"]) == (
        "restricted:latest",
        ["allowPrivilegeEscalation != false", "unrestricted capabilities", "runAsNonRoot != true", "seccompProfile"])
    assert admission.pod_security_checks("Error creating: pods \"x\" is forbidden: exceeded quota: q") is None


def test_a_refused_replicaset_is_named_with_the_reason_and_the_fix():
    """The ReplicaSet that wants a pod is named once (its latest event); one scaled to 0 by a later rollout is not,
    though its event lingers; a refusal other than Pod Security is named without a fix."""
    lines = admission.refusals(_items("replicasets_pods.json", "ReplicaSet"), _items("events_failedcreate.json"))
    assert lines == [
        'ReplicaSet ece573-prj04-writer-7d9f8b6c4d creates no pod: PodSecurity "restricted:latest" refuses it '
        "(allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile); fix: "
        "use the lab's writer.yml rendering (`invoke deploy --what writer`), or add the restricted securityContext: "
        "allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsNonRoot: true, "
        "seccompProfile: {type: RuntimeDefault}",
        'ReplicaSet quota-demo-6f7a8b9c0d creates no pod: pods "quota-demo-6f7a8b9c0d-abcde" is forbidden: exceeded '
        "quota: compute-resources, requested: limits.memory=2Gi, used: limits.memory=3Gi, limited: limits.me...",
    ]


def test_the_latest_event_of_a_replicaset_is_the_one_shown():
    first, *_ = _items("events_failedcreate.json")
    later = {**first, "lastTimestamp": "2026-12-07T10:09:00Z",
             "message": first["message"].split(": allowPrivilegeEscalation")[0] + ": seccompProfile (pod must set it)"}
    lines = admission.refusals(_items("replicasets_pods.json", "ReplicaSet"), [later, first])
    assert "refuses it (seccompProfile); fix:" in lines[0]
    assert lines[0].endswith("securityContext: seccompProfile: {type: RuntimeDefault}")


def test_the_labels_admitted_to_cql_are_cassandra_ymls_and_the_lab_writer_carries_them():
    peers = _peers()
    assert {"app": "cassandra"} in peers
    writer = admission.writer_peer(peers, manifests.load_all(ROOT / "writer.yml"))
    assert writer == dict(pair.split("=") for pair in names.WRITERS_SELECTOR.split(","))


def test_a_writer_pod_without_the_policy_labels_is_named_with_the_missing_ones():
    """Only the live pod that looks like a writer and matches no 9042 peer: not Cassandra's, not the lab's writer,
    not a failed pod, not a Job's pod without writer labels."""
    peers = _peers()
    writer = admission.writer_peer(peers, manifests.load_all(ROOT / "writer.yml"))
    lines = admission.unadmitted(_items("replicasets_pods.json", "Pod"), peers, writer)
    assert lines == [
        "pod prj04-writer-go-8c7d6e5f4a-r4t9v lacks the labels Cassandra's NetworkPolicy admits to 9042 "
        "(app.kubernetes.io/component=writer, app.kubernetes.io/part-of=ece573-prj04): its connections are refused; "
        "fix: use the lab's writer.yml rendering (`invoke deploy --what writer`), or add them to its pod template's "
        "metadata.labels"]


@pytest.mark.parametrize(("labels", "missing"), [
    ({"app": "x", "app.kubernetes.io/part-of": "ece573-prj04"}, "(app.kubernetes.io/component=writer)"),
    ({"app.kubernetes.io/component": "writer", "app.kubernetes.io/part-of": "other"},
     "(app.kubernetes.io/part-of=ece573-prj04)"),
])
def test_only_the_labels_a_pod_lacks_or_has_wrong_are_named(labels, missing):
    pod = {"metadata": {"name": "w", "labels": labels, "ownerReferences": [{"kind": "ReplicaSet", "name": "w-1"}]},
           "status": {"phase": "Pending"}}
    peers = _peers()
    [line] = admission.unadmitted([pod], peers, admission.writer_peer(peers, manifests.load_all(ROOT / "writer.yml")))
    assert missing in line


#: The rest of `invoke status` as a healthy lab answers it (recorded in tests/lab/data).
_CASSANDRA_ANSWERS = [
    ("get pods", (DATA / "pods.json").read_text()),
    ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
    ("count", (DATA / "cqlsh_count.txt").read_text()),
    ("prj04_last_seq", (DATA / "cqlsh_last_seq.txt").read_text()),
]


def test_status_prints_the_refusal_and_the_unadmitted_pod(project, capsys):
    ctx = lab_ctx([
        ("get-contexts", "kind-kind\n"),
        ("get nodes", (DATA / "nodes.json").read_text()),
        ("get replicasets,pods --output json", (RECORDED / "replicasets_pods.json").read_text()),
        ("get events --field-selector reason=FailedCreate --output json",
         (RECORDED / "events_failedcreate.json").read_text()),
        *_CASSANDRA_ANSWERS,
    ])
    assert observe.show_status(make_lab(project, ctx)) is True
    out = capsys.readouterr().out
    assert "\nReplicaSet ece573-prj04-writer-7d9f8b6c4d creates no pod: PodSecurity \"restricted:latest\"" in out
    assert "\npod prj04-writer-go-8c7d6e5f4a-r4t9v lacks the labels" in out
    assert out.index("Pods (default)") < out.index("creates no pod") < out.index("nodetool status")


def test_status_with_every_writer_admitted_prints_no_such_line(project, capsys):
    ctx = lab_ctx([("get-contexts", "kind-kind\n"), ("get nodes", (DATA / "nodes.json").read_text()),
                   ("get replicasets,pods", json.dumps({"items": _items("replicasets_pods.json")[3:4]})),
                   *_CASSANDRA_ANSWERS])
    assert observe.show_status(make_lab(project, ctx)) is True
    out = capsys.readouterr().out
    assert "creates no pod" not in out and "lacks the labels" not in out and ctx.matching("get events")


def test_status_says_when_it_cannot_check_and_goes_on(project, capsys):
    ctx = lab_ctx([("get-contexts", "kind-kind\n"), ("get nodes", (DATA / "nodes.json").read_text()),
                   ("get replicasets,pods", ("error: You must be logged in to the server (Unauthorized)", 1)),
                   *_CASSANDRA_ANSWERS])
    assert observe.show_status(make_lab(project, ctx)) is False
    captured = capsys.readouterr()
    assert "cannot check the writers' admission: `kubectl" in captured.err and "Unauthorized" in captured.err
    assert "nodetool status (cassandra-0)" in captured.out
