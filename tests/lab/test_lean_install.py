"""The core install (`pip install -e .`, no extras) runs the lab: every module the core tasks use imports
without matplotlib, WeasyPrint and python-docx; a task that needs one of them ends with one line naming the
extra (exit 2); a chaos round without matplotlib records its JSON and says once that its picture was skipped.

"Not installed" is made real in a child process: a sitecustomize on its PYTHONPATH puts a finder first on
``sys.meta_path`` that answers every import of those packages as pip would leave it, ModuleNotFoundError.
"""

from __future__ import annotations

import json
import os
import pkgutil
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lab
from lab import chaos, extras, plot
from lab.errors import PreconditionError
from tests.commands import INVOKE, run
from tests.lab.chaosfakes import round_ctx
from tests.lab.labfakes import make_lab
from tests.lab.reportdata import NB, ROUND

ROOT = Path(__file__).resolve().parents[2]
#: The optional packages' top-level imports: each one an extra brings (lab.extras.EXTRA_OF).
OPTIONAL = sorted(extras.EXTRA_OF)
#: Modules that are an extra's own renderer: they import its package at the top, and only the task that needs
#: the extra imports them (after lab.extras said it is there).
EXTRA_MODULES = {"lab.report.to_docx": "docx"}

UNINSTALL = textwrap.dedent("""\
    import sys

    BLOCKED = {blocked!r}


    class Uninstalled:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None


    sys.meta_path.insert(0, Uninstalled())
""")


@pytest.fixture
def core_env(tmp_path) -> dict[str, str]:
    """The environment of a child process in which the optional packages are not installed."""
    site = tmp_path / "uninstalled"
    site.mkdir()
    (site / "sitecustomize.py").write_text(UNINSTALL.format(blocked=set(OPTIONAL)))
    return {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_blocker_really_uninstalls(core_env):
    # The check below can fail: in the child, each optional package is as absent as pip would leave it.
    ran = _python(f"import importlib\nfor name in {OPTIONAL!r}:\n"
                  "    try:\n        importlib.import_module(name)\n    except ModuleNotFoundError:\n"
                  "        print('absent', name)\n", core_env)
    assert ran.stdout.split("\n")[:-1] == [f"absent {name}" for name in OPTIONAL], ran.stderr


def _lab_modules() -> list[str]:
    names = ["lab"]
    for info in pkgutil.walk_packages(lab.__path__, "lab."):
        if not info.name.endswith("__main__"):  # a module's command line runs on import
            names.append(info.name)
    return names


def test_every_lab_module_imports_without_the_extras(core_env):
    """Each lab module (and tasks.py) imported on its own in a core install: only an extra's own renderer
    fails, and on its extra's package."""
    names = _lab_modules()
    assert "lab.plot" in names and "lab.report.to_pdf" in names and len(names) > 60
    code = textwrap.dedent(f"""\
        import importlib, json
        failed = {{}}
        for name in {names + ["tasks"]!r}:
            try:
                importlib.import_module(name)
            except ImportError as err:
                failed[name] = err.name
        print(json.dumps(failed))
    """)
    ran = _python(code, core_env)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == EXTRA_MODULES


@pytest.fixture
def saved_report(tmp_path) -> Path:
    """A report.json `invoke report` collected from a kind cluster (and its chaos timeline)."""
    folder = tmp_path / "kind"
    shutil.copytree(NB / "kind", folder)
    return folder


@pytest.mark.parametrize("flags", [["--pdf"], ["--docx"], ["--pdf", "--docx"]])
def test_the_hand_in_without_the_report_extra_is_one_line_and_changes_nothing(core_env, saved_report, flags):
    before = _files(saved_report)
    out = run(INVOKE, "report", "--rerender", str(saved_report), *flags, _env=core_env, _timeout=120)
    assert (out.returncode, out.stderr.splitlines(), out.stdout) == (
        2, [f"ERROR: invoke report {flags[0]} needs the report extra: pip install -e '.[report]'"], "")
    assert _files(saved_report) == before  # said before anything was rendered


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_the_report_without_extras_still_writes_md_and_html(core_env, saved_report):
    out = run(INVOKE, "report", "--rerender", str(saved_report), _env=core_env, _timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(saved_report / n) for n in ("report.md", "report.html")]
    assert "<h2" in (saved_report / "report.html").read_text()


def test_load_names_the_extra_of_a_missing_package(monkeypatch):
    # In this process the packages are installed: None in sys.modules is how Python says "not importable".
    monkeypatch.setitem(sys.modules, "docx", None)
    with pytest.raises(PreconditionError) as err:
        extras.load("docx", needed_by="invoke report --docx")
    assert str(err.value) == "invoke report --docx needs the report extra: pip install -e '.[report]'"
    assert err.value.exit_code == 2
    assert extras.load("json", needed_by="nothing").dumps([1]) == "[1]"  # a present module comes back imported


@pytest.fixture
def no_matplotlib(monkeypatch):
    """matplotlib (and whatever of it this process imported already) not importable; the once-only warning
    forgotten before and after."""
    for name in [m for m in sys.modules if m.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)
    plot._skipped.cache_clear()
    yield
    plot._skipped.cache_clear()


def _rounds(project, rounds: int) -> Path:
    """``invoke chaos --pod cassandra-1 --rounds N`` under the fake runner, each round a recorded round's
    samples (so there is a timeline to draw); returns artifacts/chaos."""
    lab_ = make_lab(project, round_ctx([("get-contexts", "kind-kind\n")]), chaos={"sample_every": 0.01, "settle": 0})
    record = json.loads((NB / f"artifacts/chaos/{ROUND}.json").read_text())

    def fake_round(runner, kube, fault, number, settings, **kw):
        return chaos.RoundResult(round=number, pod=fault.name, target=fault.target, force=False,
                                 deleted_at=record["deleted_at"], progress=record["progress"], recovery_s=30.0,
                                 verify=[{"topic": "test", "missing": 0, "rows": 100}])

    results = chaos.run_rounds(lab_, "cassandra-1", rounds=rounds, interval=0, run_round=fake_round)
    assert [r.ok for r in results] == [True] * rounds
    return project / "artifacts/chaos"


def test_chaos_rounds_without_matplotlib_record_json_and_say_once_the_pngs_were_skipped(project, no_matplotlib,
                                                                                          capsys):
    folder = _rounds(project, 3)
    assert [json.loads(p.read_text())["round"] for p in sorted(folder.glob("*-round*.json"))] == [1, 2, 3]
    assert list(folder.glob("*.png")) == []
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == ["warning: chaos timelines (PNG) skipped, the plots extra is not installed "
                        "(pip install -e '.[plots]'); each round's JSON holds its record, and `invoke report` "
                        "draws the missing pictures once the extra is there"]


def test_with_matplotlib_the_same_rounds_draw_their_pngs(project, capsys):
    # The same run where matplotlib is installed: a picture per round and no warning (so the test above can fail).
    folder = _rounds(project, 2)
    assert len(list(folder.glob("*-round*.png"))) == 2
    assert "warning" not in capsys.readouterr().err
