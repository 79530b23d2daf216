import pytest

from lab import preflight
from lab.errors import PreconditionError
from lab.runner import Runner
from tests.lab.labfakes import FakeCtx, make_cfg


@pytest.fixture
def no_tools(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))


def test_missing_kind_says_how_to_get_it(project, no_tools):
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": "nobin"})
    with pytest.raises(PreconditionError) as err:
        preflight.check(Runner(FakeCtx()), cfg, need=("kind",))
    assert str(err.value).startswith("kind not found on PATH or in nobin; run `invoke images.kind-node` "
                                     "(builds kind, kubectl and a node image from source into nobin), or install kind")
    assert err.value.exit_code == 2


def test_tools_in_the_projects_bin_dir_are_found(project, no_tools):
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": ".cache/bin"})
    tools = preflight.check(Runner(FakeCtx()), cfg, need=("kind", "kubectl"))
    assert (tools.kind, tools.kubectl) == (f"{project}/.cache/bin/kind", f"{project}/.cache/bin/kubectl")


def test_dry_run_of_a_task_that_builds_the_tools_warns_and_names_the_bare_command(project, no_tools, capsys):
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": "nobin"})
    tools = preflight.check(Runner(FakeCtx(), dry=True), cfg, need=("kind", "kubectl", "docker"), tools_planned=True)
    assert (tools.kind, tools.kubectl) == ("kind", "kubectl")
    err = capsys.readouterr().err
    assert "warning: kind not found" in err and "warning: docker not found on PATH" in err


def test_dry_run_of_any_other_task_stops_at_a_missing_tool(project, no_tools, capsys):
    """`invoke --dry chaos` without kubectl: its plan reads the running lab through kubectl; one line."""
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": "nobin"})
    with pytest.raises(PreconditionError, match="^kubectl not found on PATH or in nobin; "):
        preflight.check(Runner(FakeCtx(), dry=True), cfg, need=("kubectl",))
    assert capsys.readouterr().err == ""


def test_engine_that_does_not_answer(project, monkeypatch):
    monkeypatch.setattr("lab.docker.shutil.which", lambda name: f"/usr/bin/{name}")
    ctx = FakeCtx([("docker version", ("Cannot connect to the Docker daemon", 1))])
    with pytest.raises(PreconditionError, match="the Docker engine does not answer"):
        preflight.check(Runner(ctx), make_cfg(project), need=("docker",))


def test_engine_error_keeps_dockers_words_and_permission_denied_gets_its_own_fix(project, monkeypatch):
    monkeypatch.setattr("lab.docker.shutil.which", lambda name: f"/usr/bin/{name}")
    ctx = FakeCtx([("docker version", ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock", 1))])
    with pytest.raises(PreconditionError, match=r"does not answer \(Cannot connect .*docker.sock\); start it") as err:
        preflight.check(Runner(ctx), make_cfg(project), need=("docker",))
    assert "shared" not in str(err.value)
    ctx = FakeCtx([("docker version", ("permission denied while trying to connect to the Docker daemon socket", 1))])
    with pytest.raises(PreconditionError, match=r"permission denied on its socket.*usermod -aG docker"):
        preflight.check(Runner(ctx), make_cfg(project), need=("docker",))


def test_inotify_limits_below_kinds_advice_are_named_with_the_fix(tmp_path):
    (tmp_path / "max_user_instances").write_text("128\n")
    (tmp_path / "max_user_watches").write_text("524288\n")
    [line] = preflight.inotify_warnings(tmp_path)
    assert line.startswith("warning: fs.inotify.max_user_instances is 128;")
    assert "`sudo sysctl fs.inotify.max_user_instances=512`" in line


def test_inotify_limits_fine_or_unreadable_say_nothing(tmp_path):
    (tmp_path / "max_user_instances").write_text("8192\n")
    (tmp_path / "max_user_watches").write_text("1048576\n")
    assert preflight.inotify_warnings(tmp_path) == []
    assert preflight.inotify_warnings(tmp_path / "missing") == []
