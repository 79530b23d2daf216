"""Task composition: the real `invoke` CLI on fake kind/kubectl (dry-run plans, exit codes, one-line
errors), and tasks called in-process with invoke's MockContext."""

import dataclasses
import re
import sys
import types
from pathlib import Path

import pytest
from invoke import Config, MockContext, Result

from tests.commands import INVOKE, run
from tests.lab.labfakes import NO_IMAGE_BUILDS, executable

ROOT = Path(__file__).resolve().parents[2]
TASKS = [
    "bench",
    "build",
    "chaos",
    "clean",
    "config",
    "cqlsh",
    "dashboard",
    "delete",
    "doctor",
    "deploy",
    "down",
    "e2e",
    "lesson",
    "logs",
    "nodetool",
    "registry",
    "report",
    "reset",
    "scale",
    "status",
    "test",
    "up",
    "verify",
    "watch",
    "images.cassandra",
    "images.kind-node",
    "images.registry",
]

FAKE_KIND = """#!/bin/sh
case "$1 $2" in
  "get clusters") echo kind ;;
  "get nodes") printf 'kind-control-plane\\nkind-worker\\n' ;;
esac
"""
FAKE_KUBECTL = """#!/bin/sh
case "$1 $2" in
  "config get-contexts") echo kind-kind ;;
esac
"""


@pytest.fixture
def tools(tmp_path):
    bin_dir = tmp_path / "bin"
    for name, text in (("kind", FAKE_KIND), ("kubectl", FAKE_KUBECTL)):
        executable(bin_dir / name).write_text(text)
    return bin_dir


def invoke(*args, tools: Path, tmp_path: Path, system_path="/usr/bin:/bin", **env):
    """`invoke <args>` as a user types it, in an environment of only these variables; the tests assert on
    its exit code, so every code comes back (a Ran) rather than raising."""
    full_env = {"PATH": f"{tools}:{Path(sys.executable).parent}:{system_path}", "HOME": str(tmp_path),
                "INVOKE_LAB_STATE_DIR": str(tmp_path / "state"), "INVOKE_LAB_ARTIFACTS": str(tmp_path / "artifacts"),
                "PYTHONPATH": str(ROOT), **env}
    return run(INVOKE, *args, _env=full_env, _timeout=60)


def test_list_shows_every_task_with_one_line_help(tools, tmp_path):
    out = invoke("--list", tools=tools, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    listed = {line.split()[0]: line for line in out.stdout.splitlines() if re.match(r"^  \S", line)}
    assert sorted(listed) == sorted(TASKS)
    assert all(len(line.split()) > 1 for line in listed.values())


def test_dashboard_on_a_port_that_is_none_is_one_error_line(tools, tmp_path):
    out = invoke("dashboard", "--port", "70000", tools=tools, tmp_path=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "ERROR: --port 70000: a TCP port is 1..65535 (0, the default, picks a free one)"]


def test_every_flag_has_help():
    import tasks
    for name, task in [(n, getattr(tasks, n)) for n in dir(tasks)]:
        if hasattr(task, "body") and hasattr(task, "help"):
            params = [p for p in task.get_arguments() if p.name]
            for param in params:
                assert param.help, f"{name} --{param.name} has no help"


def test_a_short_flag_means_one_flag_in_every_task():
    """invoke's automatic short flags gave -r to --resume in up and to --writer-mode in deploy; pinned, a letter
    names one long flag wherever it exists (lab/program.py SHORT_FLAGS), and a flag not pinned has none."""
    import copy

    import tasks
    from lab.program import SHORT_FLAGS

    meaning: dict[str, set[str]] = {}
    for name in tasks.ns.task_names:
        task = copy.copy(tasks.ns[name])
        task.help = dict(task.help)  # get_arguments consumes the help it reads
        for arg in task.get_arguments():
            for short in arg.names[1:]:
                meaning.setdefault(short, set()).add(arg.names[0])
    assert {short: longs for short, longs in meaning.items() if len(longs) > 1} == {}
    assert {short: next(iter(longs)) for short, longs in meaning.items()} == {v: k for k, v in SHORT_FLAGS.items()}
    readme = " ".join((ROOT / "README.md").read_text().split())
    said = dict(re.findall(r"`-(\w)` ([\w-]+)", readme[readme.index("A short flag means one thing"):][:400]))
    assert said == {v: k for k, v in SHORT_FLAGS.items()}


def test_dry_down_prints_the_kind_command(tools, tmp_path):
    out = invoke("--dry", "down", tools=tools, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"[dry-run] {tools}/kind delete cluster --name kind"]
    assert " - Deleting kind cluster kind (planned)" in out.stderr  # nothing ran: no ✓
    assert "✓" not in out.stderr


def test_quiet_leaves_only_the_plan(tools, tmp_path):
    out = invoke("--dry", "down", tools=tools, tmp_path=tmp_path, INVOKE_LAB_QUIET="true")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"[dry-run] {tools}/kind delete cluster --name kind"]
    assert out.stderr == ""


def test_a_quiet_that_is_not_a_boolean_is_one_line(tools, tmp_path):
    out = invoke("down", tools=tools, tmp_path=tmp_path, INVOKE_LAB_QUIET="sometimes")
    assert out.returncode == 2
    assert out.stderr.strip() == "ERROR: INVOKE_LAB_QUIET=sometimes: use true or false"


@pytest.mark.parametrize("port", ["50o1", "0", "70000"])
def test_a_bad_registry_port_is_one_line(tools, tmp_path, port):
    """Text from the environment is parsed by the lab, not cast by invoke (a failed int() was a traceback)."""
    out = invoke("registry", tools=tools, tmp_path=tmp_path, INVOKE_LAB_IMAGES_REGISTRY_PORT=port)
    assert out.returncode == 2
    assert out.stderr.strip() == f"ERROR: INVOKE_LAB_IMAGES_REGISTRY_PORT={port}: use a TCP port number, 1-65535"


def test_dry_deploy_prints_apply_and_waits(tools, tmp_path):
    out = invoke("--dry", "deploy", tools=tools, tmp_path=tmp_path, INVOKE_LAB_IMAGES_WRITER="lab/writer:abc")
    assert out.returncode == 0, out.stderr
    k = f"{tools}/kubectl --context kind-kind --namespace default"
    assert out.stdout.splitlines() == [
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/namespace.yml",
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/cassandra.door-closed.yml",
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/cassandra.yml",
        f"[dry-run] {k} rollout status statefulset/cassandra --watch --timeout=900s",
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/writer.yml",
        f"[dry-run] {k} rollout status deployment/ece573-prj04-writer --watch --timeout=300s",
    ]
    assert "image: lab/writer:abc" in (tmp_path / "state/rendered/writer.yml").read_text()


def test_dry_deploy_seed_writer_without_topic_applies_and_does_not_wait(tools, tmp_path):
    """`invoke deploy --writer-mode seed --topic ''`: the assignment's Unknown-topic crash loop, on demand."""
    out = invoke("--dry", "deploy", "--writer-mode", "seed", "--topic", "", "--resume", tools=tools,
                 tmp_path=tmp_path, INVOKE_LAB_IMAGES_WRITER="lab/writer:abc")
    assert out.returncode == 0, out.stderr
    k = f"{tools}/kubectl --context kind-kind --namespace default"
    assert out.stdout.splitlines() == [
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/namespace.yml",
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/cassandra.door-closed.yml",
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/cassandra.yml",
        f"[dry-run] {k} rollout status statefulset/cassandra --watch --timeout=900s",
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/writer.yml",
    ]
    assert "the seed writer has no TOPIC: it logs 'Unknown topic'" in out.stderr
    import yaml
    doc = next(yaml.safe_load_all((tmp_path / "state/rendered/writer.yml").read_text()))
    container = doc["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env["TOPIC"], env["WRITER_MODE"], env["WRITER_RESUME"]) == ("", "seed", "true")
    assert "livenessProbe" not in container and "readinessProbe" not in container


def test_dry_deploy_what_cassandra_applies_only_cassandra(tools, tmp_path):
    out = invoke("--dry", "deploy", "--what", "cassandra", tools=tools, tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    k = f"{tools}/kubectl --context kind-kind --namespace default"
    assert out.stdout.splitlines() == [
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/namespace.yml",
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/cassandra.door-closed.yml",
        f"[dry-run] {k} apply --filename {tmp_path}/state/rendered/cassandra.yml",
        f"[dry-run] {k} rollout status statefulset/cassandra --watch --timeout=900s",
    ]


def test_robust_deploy_refuses_an_empty_topic_with_one_line(tools, tmp_path):
    out = invoke("deploy", "--topic", "", tools=tools, tmp_path=tmp_path, INVOKE_LAB_IMAGES_WRITER="lab/writer:abc")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "ERROR: the robust writer needs a topic (lab.writer.topic / --topic is empty); an empty topic is only for "
        "--writer-mode seed, where it shows the assignment's 'Unknown topic'"]
    assert out.stdout == ""


@pytest.fixture
def mock_tools(tmp_path):
    return {"kind": str(executable(tmp_path / "bin/kind")), "kubectl": str(executable(tmp_path / "bin/kubectl"))}


def _mock(dry=False, lab=None, answers=None):
    """A MockContext whose config is invoke.yaml's defaults plus ``lab``; ``answers``: {regex: stdout}."""
    from lab.config import DEFAULTS, _merge
    run = {re.compile(".*" + k): Result(v, exited=0) for k, v in (answers or {}).items()}  # MockContext uses .match
    run[re.compile(".*")] = Result("", exited=0)
    config = Config(overrides={"run": {"dry": dry}, "lab": _merge(DEFAULTS["lab"], lab or {})})
    return MockContext(config=config, run=run, repeat=True)


def _commands(c):
    return [call.args[0] for call in c.run.call_args_list]


@pytest.mark.parametrize(
    "task, kwargs, expected",
    [
        (
            "logs",
            {"follow": True},
            "logs --selector app.kubernetes.io/component=writer,app.kubernetes.io/part-of=ece573-prj04 --prefix "
            "--max-log-requests 10 --container writer "
            "--follow --tail -1",
        ),
        (
            "logs",
            {"target": "cassandra", "tail": 50},
            "logs --selector app=cassandra --prefix --max-log-requests 10 --container cassandra --tail 50",
        ),
        ("nodetool", {"args": "ring"}, "exec cassandra-0 --container cassandra -- nodetool ring"),
        (
            "cqlsh",
            {"pod": "cassandra-2", "execute": "DESCRIBE KEYSPACES"},
            "exec cassandra-2 --container cassandra -- cqlsh --request-timeout=120 -e 'DESCRIBE KEYSPACES'",
        ),
        ("cqlsh", {}, "exec --stdin --tty cassandra-0 --container cassandra -- cqlsh"),
        (
            "delete",
            {"what": "all", "pvcs": True},
            "delete persistentvolumeclaim --selector app=cassandra --ignore-not-found --wait --timeout=600s",
        ),
    ],
    ids=["logs", "logs-cassandra", "nodetool", "cqlsh-e", "cqlsh", "delete-pvcs"],
)
def test_dry_pass_through_tasks(mock_tools, capsys, task, kwargs, expected):
    import tasks
    c = _mock(dry=True, lab={"tools": mock_tools}, answers={"get-contexts": "kind-kind\n"})
    getattr(tasks, task)(c, **kwargs)
    printed = capsys.readouterr().out.splitlines()
    assert f"[dry-run] {mock_tools['kubectl']} --context kind-kind --namespace default {expected}" in printed
    assert all("get-contexts" in cmd for cmd in _commands(c))  # only the probe ran


@pytest.mark.parametrize(
    "task, kwargs, lab, message",
    [
        (
            "chaos",
            {"pod": "coredns-0"},
            {},
            "ERROR: --pod 'coredns-0': name a Cassandra pod (cassandra-0..2), the writer ('writer', or 'writer-N' for "
            "the N-th topic's)",
        ),
        ("verify", {"consistency": "MOST"}, {}, "ERROR: --consistency MOST: use one of ONE, TWO"),
        ("chaos", {"rounds": -1}, {}, "ERROR: --rounds -1: need at least 1"),
        ("logs", {"target": "db"}, {}, "ERROR: --target 'db': use writer or cassandra"),
        ("deploy", {}, {}, "ERROR: no writer image yet; run `invoke build` (or set lab.images.writer)"),
        ("status", {}, {"writer": {"topic": "a b"}}, "ERROR: lab.writer.topic is 'a b'; give a plain name"),
        ("delete", {"what": "db"}, {}, "ERROR: --what 'db': use one of writer, cassandra, all"),
        ("chaos", {}, {"context": "gke_prod"}, "ERROR: refusing to delete pods in kube context 'gke_prod'"),
        ("reset", {}, {"context": "gke_prod"}, "ERROR: refusing to reset the cluster in kube context 'gke_prod'"),
        ("deploy", {"topic": ""}, {}, "ERROR: the robust writer needs a topic (lab.writer.topic / --topic is empty)"),
        ("up", {"topic": ""}, {}, "ERROR: the robust writer needs a topic"),  # refused before the long reset
        ("deploy", {"writer_mode": "go"}, {}, "ERROR: --writer-mode go: use one of robust, seed"),
        ("deploy", {"resume": True, "no_resume": True}, {}, "ERROR: --resume and --no-resume contradict each other"),
        ("deploy", {"what": "db"}, {}, "ERROR: --what 'db': use one of cassandra, writer, all"),
        ("bench", {"up": True}, {}, "ERROR: --up measures the lab: add --lab"),
        ("bench", {"lab": True, "pod": "writer"}, {}, "ERROR: --pod must be one of cassandra-0, cassandra-1"),
        ("bench", {"lab": True}, {"context": "gke_prod"}, "ERROR: refusing to delete pods in kube context 'gke_prod'"),
        ("bench", {"lab": True, "fault": ["pause,nap"]}, {}, "ERROR: --fault nap: give one of pod, pause, freeze"),
        ("bench", {"fault": ["pause"], "down": 20}, {}, "ERROR: --fault and --down measure the lab: add --lab"),
        ("bench", {"lab": True, "fault": ["freeze"]}, {"context": "gke_prod"},
         "ERROR: refusing to inflict faults in kube context 'gke_prod'"),
        (
            "deploy",
            {"writer_mode": "seed"},
            {"writer": {"consistency": "LOCAL_ONE"}},
            "ERROR: lab.writer.consistency 'LOCAL_ONE': the seed writer (the assignment's Go writer) knows only",
        ),
        (
            "deploy",
            {"writers": 3, "consistency": "QUORUM,ALL"},
            {},
            "ERROR: lab.writer.consistency 'QUORUM,ALL' names 2 levels for 3 writer(s); give one level for all",
        ),
    ],
    ids=[
        "chaos-pod",
        "verify-level",
        "chaos-rounds",
        "logs-target",
        "deploy-unbuilt",
        "bad-topic",
        "delete-what",
        "chaos-context",
        "reset-context",
        "robust-empty-topic",
        "up-empty-topic",
        "deploy-mode",
        "resume-both",
        "deploy-what",
        "bench-up-without-lab",
        "bench-lab-pod",
        "bench-lab-context",
        "bench-lab-fault",
        "bench-fault-without-lab",
        "bench-fault-context",
        "seed-level",
        "levels-for-writers",
    ],
)
def test_bad_input_is_one_line_and_exit_2(mock_tools, tmp_path, task, kwargs, lab, message):
    from invoke import Exit

    import tasks
    c = _mock(lab={"tools": mock_tools, "state_dir": str(tmp_path / "state"), **lab},
              answers={"get-contexts": "kind-kind\n", "docker version": "20.10\n"})
    with pytest.raises(Exit) as err:
        getattr(tasks, task)(c, **kwargs)
    assert err.value.code == 2
    assert str(err.value.message).startswith(message) and "\n" not in str(err.value.message)
    assert not [cmd for cmd in _commands(c) if " delete " in cmd or " apply " in cmd]


def test_foreign_context_from_the_environment_is_refused(tools, tmp_path):
    out = invoke("delete", tools=tools, tmp_path=tmp_path, INVOKE_LAB_CONTEXT="prod")
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.strip().splitlines()[-1].startswith(
        "ERROR: refusing to delete workloads in kube context 'prod': it is not kind-kind")


def test_allow_context_lets_a_foreign_context_through_the_guard(tools, tmp_path):
    out = invoke("delete", tools=tools, tmp_path=tmp_path, INVOKE_LAB_CONTEXT="prod", INVOKE_LAB_ALLOW_CONTEXT="prod")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1] == "ERROR: kube context prod not found in your kubeconfig"


def test_missing_kubectl_says_how_to_get_it(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = invoke(
        "status", tools=empty, tmp_path=tmp_path, system_path="", INVOKE_LAB_TOOLS_BIN_DIR=str(tmp_path / "nobin")
    )
    assert out.returncode == 2
    assert out.stderr.strip().startswith(
        f"ERROR: kubectl not found on PATH or in {tmp_path}/nobin; run `invoke images.kind-node`"
    )


# -- in-process, with invoke's MockContext ----------------------------------------------------------------

def test_test_quick_runs_the_fast_tier():
    import tasks
    c = _mock()
    tasks.test(c, quick=True)
    command = c.run.call_args.args[0]
    assert command == f"{sys.executable} -m pytest -m 'not slow and not cluster'"
    assert c.run.call_args.kwargs["dry"] is False  # lab.runner does dry-run itself


def test_full_test_run_builds_the_cassandra_image_when_none_can_be_had_and_exports_it(monkeypatch, tmp_path):
    import tasks
    monkeypatch.delenv("CASSANDRA_IMAGE", raising=False)
    built = []
    monkeypatch.setattr(tasks, "BUILDERS", dataclasses.replace(
        NO_IMAGE_BUILDS, cassandra=lambda runner, **kw: built.append(kw) or "lab/cassandra:5.0.2-abc"))
    c = MockContext(config=Config(overrides={"run": {"dry": False}, "lab": {"state_dir": str(tmp_path)}}), run={
        re.compile(r".*docker image inspect .*cassandra:5\.0"): Result("", exited=1),  # no local copy
        re.compile(r".*docker pull cassandra:5\.0"): Result("", exited=1),  # and no registry
        re.compile(".*"): Result("", exited=0)}, repeat=True)
    tasks.test(c, args="-x tests/writer")
    assert "docker pull cassandra:5.0" in " ".join(_commands(c))
    assert c.run.call_args.args[0] == f"{sys.executable} -m pytest --durations=25 -x tests/writer"
    assert c.run.call_args.kwargs["env"] == {"CASSANDRA_IMAGE": "lab/cassandra:5.0.2-abc"}
    assert built == [{"force": False}]


def test_full_test_run_uses_the_official_image_where_the_engine_has_it(monkeypatch, tmp_path):
    import tasks
    monkeypatch.delenv("CASSANDRA_IMAGE", raising=False)
    monkeypatch.setattr(tasks, "BUILDERS", NO_IMAGE_BUILDS)  # a build would fail the test
    c = _mock(lab={"state_dir": str(tmp_path)})  # every command succeeds: `docker image inspect cassandra:5.0` too
    tasks.test(c)
    assert not any("pull" in command or "build" in command for command in _commands(c))
    assert c.run.call_args.kwargs["env"] == {"CASSANDRA_IMAGE": "cassandra:5.0"}


def test_failed_tests_keep_pytests_exit_code(monkeypatch):
    from invoke import Exit

    import tasks
    monkeypatch.setenv("CASSANDRA_IMAGE", "x")
    c = MockContext(run={re.compile(".*pytest.*"): Result("", exited=5)}, repeat=True)
    with pytest.raises(Exit) as err:
        tasks.test(c)
    assert err.value.code == 5 and "pytest exit code 5" in str(err.value.message)


def test_bench_passes_its_arguments():
    import tasks
    c = _mock()
    tasks.bench(c, args="--seconds 5 --json out.json")
    assert c.run.call_args.args[0] == f"{sys.executable} -m lab.bench --seconds 5 --json out.json"


def test_bench_lab_passes_each_fault_kind_once_and_the_tools_they_need(mock_tools, tmp_path, monkeypatch):
    import tasks
    asked = {}
    the_lab = types.SimpleNamespace(cfg=types.SimpleNamespace(chaos=types.SimpleNamespace(interval=7)))
    monkeypatch.setattr(tasks, "_lab", lambda c, need: asked.setdefault("need", need) and the_lab)
    monkeypatch.setattr(tasks.bench_lib, "run", lambda lab, **kwargs: asked.update(kwargs))
    tasks.bench(_mock(lab={"tools": mock_tools}), lab=True, fault=["pause,crash", "pause", "dns"], down=20,
                percent=30, rounds=3)
    assert asked["faults"] == ("pause", "crash", "dns") and (asked["down"], asked["percent"]) == (20.0, 30.0)
    assert (asked["rounds"], asked["interval"], asked["cpu_weight"]) == (3, 7, None)
    assert asked["need"] == ("docker", "kind", "kubectl")  # a pause and a crash act from the node


def test_dry_flag_makes_mutating_commands_print_only(capsys):
    import tasks
    c = _mock(dry=True)
    tasks.bench(c)
    assert capsys.readouterr().out == f"[dry-run] {sys.executable} -m lab.bench\n"
    c.run.assert_not_called()


@pytest.mark.parametrize("folder, message", [
    ("no/such/writer", r"^ERROR: writer directory .*/no/such/writer not found; give --writer-dir"),
    ("tests/e2e", r"^ERROR: .*/tests/e2e has no Dockerfile; the lab builds a writer of your own with `docker build"),
], ids=["no-directory", "no-dockerfile"])
def test_build_of_a_writer_directory_without_a_dockerfile_is_one_line_and_exit_2(mock_tools, tmp_path, folder,
                                                                                   message):
    from invoke import Exit

    import tasks
    c = _mock(lab={"tools": mock_tools, "state_dir": str(tmp_path / "state")},
              answers={"get-contexts": "kind-kind\n", "docker version": "20.10\n", "get clusters": "kind\n"})
    with pytest.raises(Exit) as err:
        tasks.build(c, writer_dir=folder)
    assert err.value.code == 2
    assert re.match(message, str(err.value.message)) and "\n" not in str(err.value.message)
    assert not [cmd for cmd in _commands(c) if "docker build" in cmd or "kind load" in cmd]


def test_dry_deploy_with_auth_off_from_the_environment_plans_no_secret(tools, tmp_path):
    """INVOKE_LAB_CASSANDRA_AUTH=off, as typed: no Secret, no roles; Cassandra rendered without logins."""
    out = invoke("--dry", "deploy", tools=tools, tmp_path=tmp_path, INVOKE_LAB_IMAGES_WRITER="lab/writer:abc",
                 INVOKE_LAB_CASSANDRA_AUTH="off")
    assert out.returncode == 0, out.stderr
    # auth on: "(dry run) would create Secret cassandra-auth ..." (the TLS Secrets are lab.security.tls's)
    assert "cassandra-auth" not in out.stdout and "cassandra-auth" not in out.stderr
    assert "auth off (lab.cassandra.auth): Cassandra runs AllowAllAuthenticator" in out.stderr
    assert "authenticator=AllowAllAuthenticator" in (tmp_path / "state/rendered/cassandra.yml").read_text()
    assert "CASSANDRA_PASSWORD" not in (tmp_path / "state/rendered/writer.yml").read_text()


def test_a_dashboard_click_runs_what_invoke_chaos_runs(monkeypatch, mock_tools, tmp_path):
    """The chaos task and `dashboard --allow-actions` hand the same ChaosCommand to the same entry point, each with
    the lab opened for what the command needs (docker and kind too, for a node): the click goes through the web."""
    import json

    import tasks
    from lab import chaos as chaos_lib
    from lab.chaos.command import ChaosCommand
    from lab.live import session
    from tests.lab.livefakes import action_dashboard, call

    ran = []
    monkeypatch.setattr(chaos_lib, "run_command", lambda lab, command: ran.append((lab, command, _commands(c))) or [])
    c = _mock(lab={"tools": mock_tools, "state_dir": str(tmp_path / "state")},
              answers={"get-contexts": "kind-kind\n", "docker version": "20.10\n"})
    tasks.chaos(c, node="kind-worker2", down=45)
    started = {}
    monkeypatch.setattr(session, "run_dashboard", lambda lab, **kwargs: started.update(kwargs))
    tasks.dashboard(c, allow_actions=True)
    dash = action_dashboard(tmp_path, started["act"])
    try:
        before = len(_commands(c))
        code, text = call(dash, "POST", "/api/action", {"fault": "node", "target": "kind-worker2", "down": 45})
        assert code == 202, text
        assert dash.actions.wait(30) and dash.actions.done[0].ok, dash.actions.done[0].error
    finally:
        dash.stop()
    (cli_lab, cli, cli_ran), (web_lab, web, web_ran) = ran
    assert cli == web == ChaosCommand(node="kind-worker2", down=45)
    assert json.loads(text)["line"] == "invoke chaos --node kind-worker2 --down 45"
    assert (web_lab.kind, web_lab.kube) == (cli_lab.kind, cli_lab.kube)
    assert any("docker version" in cmd for cmd in cli_ran) and any("docker version" in cmd for cmd in web_ran[before:])
    tasks.dashboard(c)
    assert started["act"] is None  # read-only by default


def test_the_tasks_of_one_command_line_share_a_dry_run_s_record_and_nothing_outlives_them(tmp_path):
    import io

    import tasks
    from lab import progress, state

    seen, out = [], io.StringIO()

    @tasks._handled
    def plan(c):
        state.put(tmp_path, "writer_image", "w:planned", dry=True)

    @tasks._handled
    def read(c):
        seen.append(state.get(tmp_path, "writer_image"))
        with progress.step("inside", stream=out):
            pass

    c = _mock(dry=True)
    plan(c)
    read(c)  # `invoke --dry build deploy`: deploy sees the tag build planned
    read(_mock(dry=False))  # the next command line starts empty
    with progress.step("after", stream=out):
        pass
    assert seen == ["w:planned", None]
    assert not (tmp_path / "state.json").exists()
    assert out.getvalue().splitlines() == [" • inside ...", " - inside (planned)", " • inside ...", " ✓ inside",
                                           " • after ...", " ✓ after"]
