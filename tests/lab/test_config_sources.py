"""Where each setting came from (`invoke config`), errors that name what the user typed, and defaults written once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from invoke import Config

from lab.config import DEFAULTS, LabConfig, explain, settings_fields
from lab.errors import PreconditionError
from lab.program import LabInvokeConfig
from lab.provenance import Origin, origin, yaml_line

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, monkeypatch, *, project: str = "", runtime: str = "", env: dict | None = None) -> Config:
    """invoke's layers as `invoke` builds them: the collection's DEFAULTS, invoke.yaml, INVOKE_* env, the -f file."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("INVOKE_")]:
        monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    (tmp_path / "invoke.yaml").write_text(project)
    if runtime:
        (tmp_path / "run.yaml").write_text(runtime)
    config = LabInvokeConfig(project_location=str(tmp_path), runtime_path=str(tmp_path / "run.yaml") if runtime
                             else None, lazy=True)
    config.load_collection(DEFAULTS)
    config.load_project()
    config.load_runtime()
    config.load_shell_env()
    return config


def _rows(lines: list[str]) -> dict[str, tuple[str, str]]:
    return {k: (source, value) for k, source, value in (re.split(r"\s{2,}", line, maxsplit=2) for line in lines[1:])}


def test_each_setting_names_the_layer_it_came_from(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch, project="lab:\n  cluster: lab2\n  chaos:\n    rounds: 2\n",
                     runtime="lab:\n  chaos:\n    settle: 5\n", env={"INVOKE_LAB_CHAOS_ROUNDS": "3",
                                                                     "INVOKE_LAB_CHAOS_CPU_WEIGHT": "false"})
    rows = _rows(explain(config))
    assert rows["lab.cluster"] == ("invoke.yaml:2", "lab2")
    assert rows["lab.chaos.rounds"] == ("INVOKE_LAB_CHAOS_ROUNDS", "3")  # env beats invoke.yaml
    assert rows["lab.chaos.settle"] == ("run.yaml:3", "5")
    assert rows["lab.chaos.cpu_weight"] == ("INVOKE_LAB_CHAOS_CPU_WEIGHT", "false")  # not invoke's bool("false")
    assert rows["lab.verify.request_timeout"] == ("default", "120")
    assert rows["lab.context"] == ("default", '""')
    assert set(rows) == {".".join(("lab", *keys)) for keys, _ in settings_fields()}
    assert explain(config, check=True) == ["configuration ok"]


def test_a_flag_layer_is_named_as_a_flag(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch)
    config.load_overrides({"lab": {"namespace": "other"}})
    assert origin(config, ("lab", "namespace")) == Origin("flag", "flag", ("lab", "namespace"))
    assert _rows(explain(config))["lab.namespace"] == ("flag", "other")


@pytest.mark.parametrize("project, runtime, env, line", [
    ("lab:\n  chaos:\n    rounds: many\n", "", {},
     "invoke.yaml, line 3: lab.chaos.rounds is 'many'; give a whole number of 1 or more"),
    ("", "lab:\n  verify:\n    consistency: ANY\n", {},
     "run.yaml, line 3: lab.verify.consistency is 'ANY'; use one of ONE, TWO, THREE, QUORUM, ALL, LOCAL_QUORUM, "
     "EACH_QUORUM, LOCAL_ONE"),
    ("lab:\n  chaos:\n    roundz: 2\n", "", {},
     "invoke.yaml, line 3: unknown setting lab.chaos.roundz; did you mean lab.chaos.rounds?"),
    ("", "", {"INVOKE_LAB_CHAOS_ROUNDS": "abc"}, "INVOKE_LAB_CHAOS_ROUNDS=abc: give a whole number of 1 or more"),
    ("", "", {"INVOKE_LAB_CHAOS_INTERVAL": "-1"}, "INVOKE_LAB_CHAOS_INTERVAL=-1: give a number of 0 or more"),
    ("", "", {"INVOKE_LAB_IMAGES_REGISTRY_PORT": "5 1"},
     "INVOKE_LAB_IMAGES_REGISTRY_PORT='5 1': use a TCP port number, 1-65535"),
], ids=["yaml", "runtime-file", "yaml-unknown-key", "env-text", "env-negative", "env-quoted"])
def test_errors_start_from_what_the_user_typed(tmp_path, monkeypatch, project, runtime, env, line):
    config = _config(tmp_path, monkeypatch, project=project, runtime=runtime, env=env)
    with pytest.raises(PreconditionError) as err:
        explain(config, check=True)
    assert str(err.value) == line


def test_env_text_is_read_by_the_labs_rules_not_invokes_casts(tmp_path, monkeypatch):
    """invoke.yaml's `interval: 30` would make invoke refuse 0.5 (int()), its `cpu_weight: false` read "false" as
    True; the lab keeps the text and reads it itself."""
    config = _config(tmp_path, monkeypatch, project="lab:\n  chaos:\n    interval: 30\n    cpu_weight: false\n",
                     env={"INVOKE_LAB_CHAOS_INTERVAL": "0.5", "INVOKE_LAB_CHAOS_CPU_WEIGHT": "false"})
    cfg = LabConfig.from_mapping(config.lab)
    assert (cfg.chaos.interval, cfg.chaos.cpu_weight) == (0.5, False)


def test_yaml_line_finds_the_deepest_key(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("# a comment\nlab:\n  writer:\n    topic: t\n  chaos:\n    rounds: 2\n")
    assert [yaml_line(path, keys) for keys in (("lab",), ("lab", "chaos", "rounds"), ("lab", "chaos", "nope"),
                                               ("lab", "writer", "topic"))] == [2, 6, 5, 4]
    assert yaml_line(tmp_path / "missing.yaml", ("lab",)) is None


def test_invoke_config_on_the_command_line(tmp_path):
    """The real `invoke config`: the project's invoke.yaml with its line numbers, an env var, `--check`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env.update(HOME=str(tmp_path), INVOKE_LAB_CHAOS_ROUNDS="4", PYTHONDONTWRITEBYTECODE="1")
    shown = subprocess.run([sys.executable, "-m", "invoke", "config"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    rows = _rows(shown.stdout.splitlines())
    assert rows["lab.chaos.rounds"] == ("INVOKE_LAB_CHAOS_ROUNDS", "4")
    assert rows["lab.cluster"] == (f"invoke.yaml:{yaml_line(ROOT / 'invoke.yaml', ('lab', 'cluster'))}", "kind")
    checked = subprocess.run([sys.executable, "-m", "invoke", "config", "--check"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert (checked.returncode, checked.stdout, checked.stderr) == (0, "configuration ok\n", "")


#: `.get("<setting>", <fallback>)`: a default written a second time, beside the model's.
FALLBACK = re.compile(r"""(?P<receiver>[\w.]+)\.get\(\s*["'](?P<key>\w+)["']\s*,""")
#: What a receiver of settings looks like: the config or one of its groups (cfg.verify, lab.cfg.chaos, chaos_cfg);
#: a saved report's dict (report.get("cluster", ...)) is data, not settings.
SETTINGS_RECEIVER = re.compile(r"(^|\.)(cfg|config)(\.|$)|_cfg$")


def test_no_caller_writes_a_settings_default_again():
    """Every default lives in the model (lab/config.py); a caller reads the typed group instead of restating a
    fallback (`cfg.verify.get("consistency", "QUORUM")` drifted from the model before)."""
    assert FALLBACK.search('str(cfg.verify.get("consistency", "QUORUM"))')["receiver"] == "cfg.verify"
    assert SETTINGS_RECEIVER.search("lab.cfg.chaos") and SETTINGS_RECEIVER.search("chaos_cfg")
    settings = {keys[-1] for keys, _ in settings_fields()}
    found = []
    for path in sorted([*ROOT.joinpath("lab").rglob("*.py"), ROOT / "tasks.py"]):
        if path == ROOT / "lab" / "config.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in FALLBACK.finditer(line):
                if match["key"] in settings and SETTINGS_RECEIVER.search(match["receiver"]):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
