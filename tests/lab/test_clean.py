"""`invoke clean`: the lab's directories and images go, and nothing else: not a file beside them, not an image
of another name (a pulled cassandra:5.0, a base image, a look-alike repository), not an image a container uses."""

from __future__ import annotations

import os
import subprocess

import pytest
from invoke import Context

from lab import clean, state
from lab.runner import Runner
from tests.lab.labfakes import FakeCtx, make_cfg

LISTING = "\n".join([
    "ece573-prj04-writer:06ede40a28e2\t184MB",
    "ece573-prj04-writer:v1\t184MB",
    "cassandra-lab:5.0.9-54a5986ee439\t518MB",
    "kind-node-lab:v1.30.0-8d77dbe1a7ea\t1.47GB",
    "localhost/kind-node-lab/podnet:8d77dbe1a7ea\t144MB",
    "kind-node-lab-preloaded:4dd4dd299228\t2.01GB",
    "localhost:5001/ece573-prj04-writer:06ede40a28e2\t184MB",
    "cassandra:5.0\t518MB",  # a pulled official image: a bystander unless the lab recorded it as its alias
    "debian:bookworm-slim\t117MB",
    "ece573-prj04-writer-fork:1\t90MB",
    "myapp/ece573-prj04-writer:2\t90MB",
    "registry.k8s.io/pause:3.7\t1.27MB\tsha256:9c2f1d",  # pulled (a registry digest): a bystander
    "registry.k8s.io/kube-apiserver:v1.30.0\t117MB\t<none>",  # the node recipe's, built here: the lab's
    "<none>:<none>\t290MB",
])
OURS = ["ece573-prj04-writer:06ede40a28e2", "ece573-prj04-writer:v1", "cassandra-lab:5.0.9-54a5986ee439",
        "kind-node-lab:v1.30.0-8d77dbe1a7ea", "localhost/kind-node-lab/podnet:8d77dbe1a7ea",
        "kind-node-lab-preloaded:4dd4dd299228", "localhost:5001/ece573-prj04-writer:06ede40a28e2",
        "registry.k8s.io/kube-apiserver:v1.30.0"]


@pytest.fixture
def project(tmp_path):
    files = {".cache/lab/state.json": "{}", ".cache/bin/kind": "x" * 1000, "build/writer-wheels/a.whl": "w" * 500,
             "images/registry/build/registry": "r" * 300, "images/registry/Dockerfile": "FROM scratch\n",
             "artifacts/chaos/round1.json": "{}", "reports/20261201/report.md": "# r\n", "notes.txt": "mine\n",
             "lab/__init__.py": ""}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def _left(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_clean_removes_the_lab_directories_and_keeps_records_and_bystanders(project, capsys):
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": ".cache/bin"})
    ctx = FakeCtx([(r"docker images", (LISTING, 0))])
    clean.run(Runner(ctx), cfg)
    assert _left(project) == ["artifacts/chaos/round1.json", "images/registry/Dockerfile", "lab/__init__.py",
                              "notes.txt", "reports/20261201/report.md"]
    assert ctx.matching("docker") == []  # without --images docker is not even asked
    out = capsys.readouterr().out.splitlines()
    assert out == ["removed .cache/ (1 kB)", "removed build/ (500 B)", "removed images/registry/build/ (300 B)",
                   "clean: 3 item(s), 2 kB freed"]


def test_clean_all_also_removes_the_images_artifacts_and_reports(project, capsys):
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": ".cache/bin"})
    ctx = FakeCtx([*LISTINGS, REMOVED])
    clean.run(Runner(ctx), cfg, everything=True)
    assert _left(project) == ["images/registry/Dockerfile", "lab/__init__.py", "notes.txt"]
    assert ctx.matching("docker rmi") == [f"docker rmi {ref}" for ref in [*OURS, "765784aaf06e"]]
    out = capsys.readouterr().out
    assert "removed artifacts/ (2 B)" in out and "removed untagged build stage 765784aaf06e (290.0 MB)" in out


#: The untagged stage the writer's build left (labelled by its Dockerfile).
STAGES = ("765784aaf06e\t290MB", 0)
LISTINGS = [(r"docker images --filter dangling=true --filter label=cassandra-kind-lab.stage", STAGES),
            (r"docker images", (LISTING, 0))]

#: ``docker rmi`` where the image is not in use: it goes.
REMOVED = (r"^docker rmi ", ("Untagged: the image\n", 0))


def test_clean_images_removes_only_the_labs_by_repository_and_recorded_alias(project, capsys):
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": ".cache/bin"})
    ctx = FakeCtx([*LISTINGS, REMOVED])
    clean.run(Runner(ctx), cfg, images=True)
    assert ctx.matching("docker rmi") == [f"docker rmi {ref}" for ref in [*OURS, "765784aaf06e"]]
    out = capsys.readouterr().out
    assert "removed image kind-node-lab:v1.30.0-8d77dbe1a7ea (1.5 GB)" in out
    assert "cassandra:5.0 " not in out and "debian" not in out and "fork" not in out and "myapp" not in out

    state.put(project / ".cache/lab", "alias cassandra:5.0", "cassandra-lab:5.0.9-54a5986ee439")
    ctx = FakeCtx([*LISTINGS, REMOVED])
    clean.run(Runner(ctx), cfg, images=True)
    assert "docker rmi cassandra:5.0" in ctx.matching("docker rmi")  # the lab's own tag on its build


def test_an_image_in_use_stays_and_is_named(project, capsys):
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": ".cache/bin"})
    ctx = FakeCtx([(r"docker images --filter dangling", ("", 0)),
                   (r"docker images", ("kind-node-lab:v1\t1.47GB\nece573-prj04-writer:v1\t184MB", 0)),
                   (r"docker rmi kind-node-lab", ("Error response from daemon: conflict: image is being used by "
                                                  "running container 3b1f", 1)), REMOVED])
    clean.run(Runner(ctx), cfg, images=True)
    captured = capsys.readouterr()
    assert "kept image kind-node-lab:v1" in captured.out + captured.err
    assert "removed image ece573-prj04-writer:v1 (184.0 MB)" in captured.out
    assert "removed image kind-node-lab" not in captured.out


def test_dry_run_lists_and_removes_nothing(project, capsys):
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": ".cache/bin"})
    before = _left(project)
    ctx = FakeCtx(LISTINGS)
    clean.run(Runner(ctx, dry=True), cfg, images=True, everything=True)
    assert _left(project) == before
    assert ctx.matching("docker rmi") == []
    out = capsys.readouterr().out
    assert "would remove .cache/ (1 kB)" in out and "would remove image ece573-prj04-writer:v1 (184.0 MB)" in out


def _docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=check)


def _build(tag: str, base: str) -> None:
    """A one-tag image of its own ID (a LABEL makes it differ from ``base``)."""
    subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=f"FROM {base}\nLABEL lab-clean-test={tag}\n",
                   capture_output=True, text=True, timeout=300, check=True)


@pytest.mark.slow
def test_real_docker_bystanders_survive(project, monkeypatch, capsys):
    """Real images and a real container. The lab's repositories are replaced by a unique test name (so the
    machine's real lab images are out of reach, which is checked before anything is removed): an image of
    that name goes; a look-alike name and the base it shares stay, and so does an image a container runs, and a
    bystander container of the same base (clean removes no container)."""
    unique = f"clean-test-{os.getpid()}"
    monkeypatch.setattr(clean, "LAB_REPOSITORIES", (unique,))
    monkeypatch.setattr(clean, "COMPONENT_PREFIX", f"{unique}/")
    monkeypatch.setattr(clean, "UPSTREAM_NAMED", frozenset())
    monkeypatch.setattr(clean, "STAGE_LABEL", f"{unique}.stage")
    base = "debian:bookworm-slim"
    refs = {"ours": f"{unique}:a", "in-use": f"{unique}:in-use", "bystander": f"{unique}-bystander:a"}
    container, bystander = f"{unique}-user", f"{unique}-bystander"
    try:
        _build(refs["ours"], base)
        _build(refs["in-use"], base)
        _docker("tag", base, refs["bystander"])
        # A multi-stage build of ours: its labelled first stage is left untagged, as the writer's deps are.
        subprocess.run(["docker", "build", "-q", "-t", f"{unique}:staged", "-"], input=(
            f"FROM {base} AS deps\nLABEL {unique}.stage=deps\nRUN echo {unique} >/stage\n"
            f"FROM {base}\nCOPY --from=deps /stage /stage\n"), capture_output=True, text=True, timeout=300, check=True)
        [stage] = clean.lab_stages(Runner(Context(), echo=False))
        refs["staged"] = f"{unique}:staged"
        _docker("run", "-d", "--name", container, refs["in-use"], "sleep", "300")
        _docker("run", "-d", "--name", bystander, base, "sleep", "300")
        cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": ".cache/bin"})
        runner = Runner(Context(), echo=False)
        assert sorted(ref for ref, _ in clean.lab_images(runner, cfg)) == sorted(
            [refs["in-use"], refs["ours"], refs["staged"]])
        clean.run(runner, cfg, images=True)
        exists = {k: _docker("image", "inspect", ref, check=False).returncode == 0 for k, ref in refs.items()}
        assert exists == {"ours": False, "in-use": True, "bystander": True, "staged": False}
        assert _docker("image", "inspect", stage[0], check=False).returncode == 1  # the untagged stage went too
        assert _docker("image", "inspect", base, check=False).returncode == 0
        for name in (container, bystander):
            assert _docker("container", "inspect", name, "--format", "{{.State.Running}}").stdout.strip() == "true"
        captured = capsys.readouterr()
        assert f"removed image {refs['ours']}" in captured.out
        assert f"kept image {refs['in-use']}" in captured.out + captured.err
    finally:
        _docker("rm", "-f", "--volumes", container, bystander, check=False)
        _docker("rmi", *refs.values(), check=False)
