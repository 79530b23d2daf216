"""`invoke doctor`: the real checks on this machine agree with what the machine says, and each failing
branch (driven by fakes of docker's answers and of the host) is a ✗ line with its fix and the right exit code."""

from __future__ import annotations

import ctypes.util
import dataclasses
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lab import doctor
from lab.runner import Runner
from tests.commands import INVOKE, run
from tests.lab.labfakes import DATA, FakeCtx, executable, make_cfg

GB = 1024**3

# -- the real machine ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    """The machine's answers; a cluster name no kubeconfig knows, so a lab running here is neither asked nor
    shown (the cluster's lines are tested with fakes below)."""
    return run(INVOKE, "doctor", _timeout=120, _env={**os.environ, "INVOKE_LAB_CLUSTER": "doctor-test-no-cluster"})


def test_doctor_prints_one_line_per_check_and_a_verdict(real):
    lines = real.stdout.splitlines()
    checks, verdict = lines[:-1], lines[-1]
    assert checks and all(re.match(r" [✓✗] ", line) for line in checks), real.stdout
    for topic in ("Docker engine", "free memory", "inotify", "Pango", "kind"):
        assert any(topic in line for line in checks), topic
    assert real.stderr == ""
    blocked = "block `invoke up`" in verdict
    assert real.returncode == (2 if blocked else 0), verdict
    assert blocked or verdict.startswith("doctor: `invoke up` can run")


def test_doctor_agrees_with_docker(real):
    answered = shutil.which("docker") and subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True, timeout=30)
    line = next(x for x in real.stdout.splitlines() if "Docker engine" in x or "docker not found" in x)
    if answered and answered.returncode == 0:
        assert line == f" ✓ Docker engine {answered.stdout.strip()} answers"
        assert any(" image: " in x for x in real.stdout.splitlines())  # a plan for each image
    else:
        assert line.startswith(" ✗ ") and real.returncode == 2


def test_doctor_agrees_with_the_machine_on_memory_and_pango(real):
    meminfo = dict(x.split(":", 1) for x in Path("/proc/meminfo").read_text().splitlines())
    available = int(meminfo["MemAvailable"].split()[0]) * 1024 / GB
    line = next(x for x in real.stdout.splitlines() if "free memory" in x)
    shown = float(re.search(r"free memory ([\d.]+) GB", line).group(1))
    assert abs(shown - available) < 1.0  # memory moves between the two reads; a GB is far more than it moves
    assert line.startswith(" ✓ " if shown >= doctor.MEMORY_NEEDED_GB else " ✗ ")
    pango = next(x for x in real.stdout.splitlines() if "Pango" in x)
    assert pango.startswith(" ✓ " if ctypes.util.find_library("pango-1.0") else " ✗ ")


# -- fakes for the failing branches -------------------------------------------------------------------------

HEALTHY = doctor.Host(memory_available=lambda: 16 * GB, disk_free=lambda path: 100 * GB,
                      which=lambda name: f"/usr/bin/{name}", port_free=lambda port: True,
                      find_library=lambda name: f"lib{name}.so", registry_answers=lambda host: False,
                      cores=lambda: 2, inotify=Path("/nonexistent"))


def _docker(version="27.3.1", images=("cassandra:5.0", "kindest/node"), root="/", cluster=()):
    """docker's answers: the engine version, which images exist locally, the root dir; the rest fails. No lab
    cluster (kubectl knows no context) unless ``cluster`` gives kubectl's answers (the context listed first)."""
    ctx = FakeCtx([(r"docker version", (version, 0) if version else ("Cannot connect to the Docker daemon", 1)),
                   (r"docker info", (root, 0)), *cluster])
    ctx.add(r"docker image inspect", lambda cmd: ("[]", 0) if any(i in cmd for i in images) else ("", 1))
    ctx.add(r"docker container inspect", ("", 1))
    ctx.add(r"kubectl config get-contexts", ("", 0))
    return Runner(ctx)


@pytest.fixture
def cfg(tmp_path):
    for tool in ("kind", "kubectl"):
        executable(tmp_path / ".cache/bin" / tool)
    return make_cfg(tmp_path)


def _lines(runner, cfg, host, capsys) -> tuple[int, list[str]]:
    code = doctor.run(runner, cfg, host)
    return code, capsys.readouterr().out.splitlines()


def test_a_healthy_machine_passes(cfg, capsys):
    code, lines = _lines(_docker(), cfg, HEALTHY, capsys)
    assert code == 0
    assert all(line.startswith(" ✓ ") for line in lines[:-1]), lines
    assert " ✓ Cassandra image: reused (cassandra:5.0, a local copy)" in lines


@pytest.mark.parametrize("host, runner, says, fix", [
    (HEALTHY, "no-engine", "Docker engine does not answer (Cannot connect to the Docker daemon)",
     "sudo systemctl start docker"),
    (HEALTHY, "old-engine", "Docker engine 19.03.1", "needs 20.10 or newer"),
    (dataclasses.replace(HEALTHY, which=lambda name: None), "ok", "docker not found on PATH", "install Docker"),
    (dataclasses.replace(HEALTHY, memory_available=lambda: 2 * GB), "ok", "free memory 2.0 GB", "give Docker more"),
    (dataclasses.replace(HEALTHY, disk_free=lambda path: 3 * GB), "ok", "free disk 3 GB", "docker system prune"),
    (dataclasses.replace(HEALTHY, which=lambda name: None if name == "mvn" else f"/usr/bin/{name}"), "no-images",
     "Cassandra image: no registry answers, so it will be built here", "install Maven 3"),
], ids=["engine-down", "engine-old", "no-docker", "memory", "disk", "build-needs-maven"])
def test_what_blocks_up_is_a_cross_with_its_fix_and_exit_2(cfg, capsys, host, runner, says, fix):
    docker_ = {"no-engine": _docker(version=""), "old-engine": _docker(version="19.03.1"),
               "no-images": _docker(images=()), "ok": _docker()}[runner]
    code, lines = _lines(docker_, cfg, host, capsys)
    line = next(x for x in lines if says in x)
    assert code == 2, lines
    assert line.startswith(" ✗ ") and fix in line
    assert "block `invoke up`" in lines[-1]


def test_a_build_plan_says_how_long_on_this_machine(cfg, capsys):
    host = dataclasses.replace(HEALTHY, cores=lambda: 4)
    code, lines = _lines(_docker(images=()), cfg, host, capsys)
    node = next(x for x in lines if x.startswith(" ✓ kind node image"))
    assert "roughly 8-20 min on 4 cores" in node and code == 0
    assert "this plan needs about 16 GB" in next(x for x in lines if "free disk" in x)


def test_a_registry_that_answers_means_a_pull(cfg, capsys):
    host = dataclasses.replace(HEALTHY, registry_answers=lambda host: host == "registry-1.docker.io")
    code, lines = _lines(_docker(images=()), cfg, host, capsys)
    assert " ✓ Cassandra image: will be pulled (cassandra:5.0; registry-1.docker.io answers); if the pull fails, " \
           "built here" in lines
    assert code == 0


def test_warnings_do_not_block(cfg, capsys, tmp_path):
    inotify = tmp_path / "inotify"
    inotify.mkdir()
    (inotify / "max_user_instances").write_text("128\n")
    (inotify / "max_user_watches").write_text("524288\n")
    host = dataclasses.replace(HEALTHY, find_library=lambda name: None, inotify=inotify, port_free=lambda p: False)
    code, lines = _lines(_docker(), cfg, host, capsys)
    assert code == 0, lines
    assert any(x.startswith(" ✗ Pango not found") and "libpango-1.0-0 libpangoft2-1.0-0" in x for x in lines)
    assert any(x.startswith(" ✗ fs.inotify.max_user_instances is 128") and "sysctl" in x for x in lines)
    assert any(x.startswith(" ✗ registry port 5001 is taken") for x in lines)
    assert lines[-1] == "doctor: `invoke up` can run (3 warning(s) above)"


def test_the_registry_port_blocks_when_the_lab_uses_its_registry(tmp_path, capsys):
    for tool in ("kind", "kubectl"):
        executable(tmp_path / ".cache/bin" / tool)
    cfg = make_cfg(tmp_path, images={"registry": "local"})
    code, lines = _lines(_docker(), cfg, dataclasses.replace(HEALTHY, port_free=lambda p: False), capsys)
    assert code == 2
    assert " ✗ registry port 5001 is taken by another program: set lab.images.registry_port to a free port" in lines


def test_missing_kind_without_go_blocks(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # config.resolve_tool asks the real PATH for kind
    cfg = make_cfg(tmp_path, tools={"kind": "", "kubectl": "", "bin_dir": str(tmp_path / "bin")})
    host = dataclasses.replace(HEALTHY, which=lambda name: None if name in ("go", "kind", "kubectl")
                               else f"/usr/bin/{name}")
    code, lines = _lines(_docker(), cfg, host, capsys)
    tools = next(x for x in lines if "not found: `invoke up` will compile" in x)
    assert tools.startswith(" ✗ kind and kubectl not found") and "install Go" in tools
    assert code == 2


# -- the one line `invoke up` prints before it starts ---------------------------------------------------------


def test_the_prediction_of_a_warm_machine_reuses_everything(cfg):
    line = doctor.prediction(_docker(), cfg, HEALTHY)
    assert line == (f"plan: Cassandra image reused (cassandra:5.0); kind node image reused ({cfg.images.kind_node}); "
                    "kind and kubectl found")


def test_the_prediction_names_a_pull_and_the_build_a_failed_pull_falls_back_to(cfg):
    asked = []
    host = dataclasses.replace(HEALTHY, registry_answers=lambda host: asked.append(host) or True, cores=lambda: 4)
    line = doctor.prediction(_docker(images=()), cfg, host)
    assert "Cassandra image pulled (cassandra:5.0; if the pull fails, built here: about 2 min on 4 cores)" in line
    assert "kind node image pulled (kindest/node:v1.30.0@sha256:" in line and "roughly 8-20 min on 4 cores" in line
    assert asked == ["registry-1.docker.io"]  # one question for both images


def test_the_prediction_of_a_fresh_machine_without_a_registry_says_build_and_compile(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # config.resolve_tool asks the real PATH for kind
    cfg = make_cfg(tmp_path, tools={"kind": "", "kubectl": "", "bin_dir": ".cache/bin"})
    line = doctor.prediction(_docker(images=()), cfg, HEALTHY)
    parts = line.removeprefix("plan: ").split("; ")
    assert parts[0].startswith("Cassandra image built from source (cassandra-lab:") and "roughly 3-5 min on 2 " in line
    assert parts[1].startswith("kind node image built from source (") and parts[1].endswith("roughly 15-40 min on 2 "
                                                                                           "cores)")
    assert parts[2] == "kind and kubectl compiled from Go into .cache/bin (once, tens of minutes)"


# -- with the lab's cluster up: writers the namespace refuses or the NetworkPolicies block (lab/admission.py) ------

ADMISSION = DATA / "admission"


def _cluster(replicasets_pods: str):
    return [(r"get-contexts", "kind-kind\n"), (r"get replicasets,pods --output json", replicasets_pods),
            (r"get events --field-selector reason=FailedCreate --output json",
             (ADMISSION / "events_failedcreate.json").read_text())]


def test_with_the_cluster_up_a_refused_writer_and_an_unadmitted_pod_are_one_line_each_with_the_fix(project, capsys):
    """The lines `invoke status` prints (test_admission.py), as ✗ checks: what is wrong, then the fix. They do not
    block `invoke up` (the cluster already runs)."""
    runner = _docker(cluster=_cluster((ADMISSION / "replicasets_pods.json").read_text()))
    code, lines = _lines(runner, make_cfg(project), HEALTHY, capsys)
    refused = next(x for x in lines if "ReplicaSet ece573-prj04-writer-7d9f8b6c4d" in x)
    assert refused.startswith(' ✗ ReplicaSet ece573-prj04-writer-7d9f8b6c4d creates no pod: PodSecurity '
                              '"restricted:latest" refuses it (allowPrivilegeEscalation != false, ')
    assert refused.endswith("seccompProfile): use the lab's writer.yml rendering (`invoke deploy --what writer`), or "
                            "add the restricted securityContext: allowPrivilegeEscalation: false, capabilities: "
                            "{drop: [ALL]}, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}")
    other = next(x for x in lines if "ReplicaSet quota-demo" in x)
    assert other.endswith(": `kubectl describe` it: its events say why")
    unadmitted = next(x for x in lines if "prj04-writer-go-8c7d6e5f4a-r4t9v" in x)
    assert unadmitted == (" ✗ pod prj04-writer-go-8c7d6e5f4a-r4t9v lacks the labels Cassandra's NetworkPolicy admits "
                          "to 9042 (app.kubernetes.io/component=writer, app.kubernetes.io/part-of=ece573-prj04): its "
                          "connections are refused: use the lab's writer.yml rendering (`invoke deploy --what "
                          "writer`), or add them to its pod template's metadata.labels")
    assert code == 0 and lines[-1] == "doctor: `invoke up` can run (3 warning(s) above)"


def test_with_the_cluster_up_and_every_writer_admitted_one_tick(project, capsys):
    runner = _docker(cluster=_cluster(json.dumps({"items": []})))
    code, lines = _lines(runner, make_cfg(project), HEALTHY, capsys)
    assert " ✓ writers in kind-kind: none refused by Pod Security or kept from Cassandra" in lines and code == 0


def test_a_cluster_that_does_not_answer_is_a_warning_that_points_to_status(project, capsys):
    runner = _docker(cluster=[(r"get-contexts", "kind-kind\n"),
                              (r"get replicasets,pods", ("error: You must be logged in to the server", 1))])
    code, lines = _lines(runner, make_cfg(project), HEALTHY, capsys)
    line = next(x for x in lines if "admission" in x)
    assert line.startswith(" ✗ the writers' admission in kind-kind could not be checked: `invoke status` shows")
    assert code == 0


def test_without_the_labs_context_nothing_is_asked_of_a_cluster(cfg, capsys):
    runner = _docker()
    _lines(runner, cfg, HEALTHY, capsys)
    assert runner.ctx.matching("get-contexts") and not runner.ctx.matching("get replicasets")
