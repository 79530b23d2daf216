import json
from datetime import datetime

from lab import observe
from tests.lab.labfakes import DATA, STATUS_RULES, lab_ctx, make_lab

NOW = datetime.fromisoformat("2026-11-25T19:30:00+00:00").timestamp()


def test_pod_rows_from_recorded_json():
    rows = observe.pod_rows(json.loads((DATA / "pods.json").read_text()), now=NOW)
    assert rows == [
        ["cassandra-0", "1/1", "Running", "0", "kind-worker", "30m"],
        ["cassandra-1", "0/1", "CrashLoopBackOff", "4", "kind-worker2", "28m"],
        ["ece573-prj04-writer-7bcccffd6d-2s87k", "0/1", "Pending", "0", "<none>", "20m"],
    ]


def test_node_rows():
    assert observe.node_rows(json.loads((DATA / "nodes.json").read_text())) == [
        ["kind-control-plane", "Ready", "control-plane", "v1.30.0"],
        ["kind-worker", "NotReady", "<none>", "v1.30.0"],
    ]


def test_status_shows_every_section(project, capsys):
    ctx = lab_ctx(STATUS_RULES)
    assert observe.show_status(make_lab(project, ctx)) is True
    out = capsys.readouterr().out
    assert "kind-control-plane  Ready     control-plane  v1.30.0" in out
    assert "cassandra-1  " in out and "CrashLoopBackOff" in out
    assert "UN  10.244.4.3  109.41 KiB" in out
    assert "other  20000     9998" in out
    assert ctx.matching("get pods")[0].endswith(
        "get pods --selector app.kubernetes.io/part-of=ece573-prj04 --output json"
    )


def test_status_reports_a_failed_part_and_goes_on(project, capsys):
    ctx = lab_ctx([
        ("get-contexts", "kind-kind\n"),
        ("get nodes", (DATA / "nodes.json").read_text()),
        ("get pods", (DATA / "pods.json").read_text()),
        ("nodetool", ('error: unable to upgrade connection: container not found ("cassandra")', 1)),
        ("count", ("<stdin>:1:OperationTimedOut: errors={}, last_host=127.0.0.1:9042", 2)),
        ("cqlsh", (DATA / "cqlsh_last_seq.txt").read_text()),
    ])
    assert observe.show_status(make_lab(project, ctx)) is False
    captured = capsys.readouterr()
    assert "nodetool status failed: `kubectl" in captured.err and "container not found" in captured.err
    assert "cannot count rows: failed to count rows of topic other in cassandra-0" in captured.err
    assert "other  20000     ?" in captured.out


def test_collect_logs_writes_one_file_per_pod_and_previous_run(project):
    pods = json.loads((DATA / "pods.json").read_text())
    writer = {"items": [p for p in pods["items"] if p["metadata"]["name"].startswith("ece573")]}
    cass = {"items": [p for p in pods["items"] if p["metadata"]["name"].startswith("cassandra")]}
    ctx = lab_ctx([
        ("get-contexts", "kind-kind\n"),
        ("get pods --selector app.kubernetes.io/component=writer", json.dumps(writer)),
        ("get pods --selector app=cassandra", json.dumps(cass)),
        ("logs ece573", ('container "writer" in pod is waiting to start: ContainerCreating', 1)),
        ("logs cassandra-1 .*--previous", "ERROR old run"),
        ("logs cassandra-", "INFO log of this run"),
    ])
    folder, errors = observe.collect_logs(make_lab(project, ctx), now=0)
    assert folder == project / "artifacts/logs/19700101T000000Z"
    assert sorted(p.name for p in folder.iterdir()) == [
        "cassandra-0_cassandra.log", "cassandra-1_cassandra.log", "cassandra-1_cassandra.previous.log"]
    assert (folder / "cassandra-1_cassandra.previous.log").read_text() == "ERROR old run"
    assert errors == [
        'ece573-prj04-writer-7bcccffd6d-2s87k: container "writer" in pod is waiting to start: ContainerCreating'
    ]


class _FakeLogs:
    """A `kubectl logs --follow` process: its lines, then its end (the pod went away)."""

    def __init__(self, lines):
        self.stdout = iter(lines)
        self.terminated = False

    def poll(self):
        return 0

    def terminate(self):
        self.terminated = True


def _writer_pod(name, uid, state, restarts=0):
    return {"metadata": {"name": name, "uid": uid}, "status": {"phase": "Running", "containerStatuses": [
        {"name": "writer", "restartCount": restarts, "state": {state: {}}}]}}


def test_follow_keeps_following_a_replaced_and_a_restarted_writer(project, capsys):
    a, b = "ece573-prj04-writer-a", "ece573-prj04-writer-b"
    listings = [[_writer_pod(a, "ua", "running")],
                [_writer_pod(a, "ua", "running"), _writer_pod(b, "ub", "waiting")],  # b: ContainerCreating
                [_writer_pod(b, "ub", "running")],
                [_writer_pod(b, "ub", "running", restarts=1)]]  # b's container restarted
    ctx = lab_ctx([("get-contexts", "kind-kind\n"),
                   ("get pods --selector app.kubernetes.io/component=writer",
                    [json.dumps({"items": p}) for p in listings])])
    lab = make_lab(project, ctx)
    spawned = []
    lines = {a: ["[pod/a/writer] test: inserted rows to seq 1000\n"],
             b: ["[pod/b/writer] test: start from lastSeq=1400\n"]}

    def spawn(argv):
        spawned.append(argv)
        return _FakeLogs(lines[argv[argv.index("logs") + 1]])

    lab.runner.spawn = spawn
    polls = iter(range(4))
    observe.LogFollower(lab, "writer", tail=5, sleep=lambda s: None, stop=lambda: next(polls, None) is None).run()
    assert [argv[argv.index("logs"):] for argv in spawned] == [
        ["logs", a, "--prefix", "--container", "writer", "--follow", "--tail", "5"],
        ["logs", b, "--prefix", "--container", "writer", "--follow", "--tail", "-1"],  # a new pod: all of it
        ["logs", b, "--prefix", "--container", "writer", "--follow", "--tail", "-1"],  # its restarted container
    ]
    assert sorted(capsys.readouterr().out.splitlines()) == [  # each follower prints on its own thread
        "[pod/a/writer] test: inserted rows to seq 1000",
        "[pod/b/writer] test: start from lastSeq=1400",
        "[pod/b/writer] test: start from lastSeq=1400"]


def test_status_says_cassandras_logins_are_off_as_deployed(project, capsys):
    """lab.cassandra.auth off, deployed: status reads the StatefulSet, not invoke.yaml (which may have changed)."""
    sts = {"kind": "StatefulSet", "spec": {"template": {"spec": {"containers": [{"name": "cassandra", "env": [
        {"name": "JVM_OPTS", "value": "-Dcassandra.settings.authenticator=AllowAllAuthenticator "
                                      "-Dcassandra.settings.authorizer=AllowAllAuthorizer"}]}]}}}}
    ctx = lab_ctx([
        ("get-contexts", "kind-kind\n"),
        ("get nodes", (DATA / "nodes.json").read_text()),
        ("get pods", (DATA / "pods.json").read_text()),
        ("get statefulset cassandra", json.dumps(sts)),
        ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
        ("count", (DATA / "cqlsh_count.txt").read_text()),
        ("prj04_last_seq", (DATA / "cqlsh_last_seq.txt").read_text()),
    ])
    assert observe.show_status(make_lab(project, ctx)) is True
    assert "Cassandra logins: off (AllowAllAuthenticator, lab.cassandra.auth off): any client connects without " \
           "a login" in capsys.readouterr().out
