"""Every bad input a new user can type ends as one `ERROR:` line and exit 2, with nothing run or created.

Each case runs the real `python -m invoke` in a copy of the project (its own invoke.yaml, so a broken file
touches no one), with `docker`, `kind` and `kubectl` on PATH as recorders: a command the lab ran before
refusing would show in their log. The cases are run side by side (each is a separate process). Nothing real is
in reach: KUBECONFIG names a file that does not exist and INVOKE_LAB_CLUSTER a cluster no one made.

``issue`` numbers the 35 bad inputs issue 32 measured (23 of them one clear line then); the rest are inputs
added since (new flags, new settings). ``test_the_issues_35_bad_inputs_are_all_here`` keeps the count.
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.lab.labfakes import executable

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    says: str  # a piece of the one line
    env: dict[str, str] = field(default_factory=dict)
    yaml: str | None = None  # invoke.yaml's text instead of the project's
    issue: int | None = None  # its number among issue 32's 35 bad inputs
    reads: bool = False  # a dry run: read-only questions (READ_ONLY) may run, nothing else


CASES = [
    # invoke's own parsing
    Case("unknown-task", ("statsu",), "unknown task 'statsu'; did you mean status?", issue=20),
    Case("unknown-flag", ("status", "--bogus"), "unknown flag --bogus; `invoke --help status`", issue=21),
    Case("missing-value", ("chaos", "--rounds"), "--rounds needs a value; `invoke --help chaos`", issue=22),
    Case("missing-file", ("-f", "missing.yaml", "status"), "-f missing.yaml: no such file", issue=18),
    Case("rounds-abc", ("chaos", "--rounds", "abc"), "--rounds 'abc' is not a whole number", issue=23),
    Case("interval-fraction", ("chaos", "--interval=0.5"), "--interval '0.5' is not a whole number", issue=24),
    Case("rounds-0", ("chaos", "--rounds", "0"), "--rounds 0: give 1 or more", issue=14),
    Case("interval-negative", ("chaos", "--interval", "-5"), "--interval -5: give 0 or more", issue=15),
    Case("replicas-negative", ("scale", "--replicas", "-1"), "--replicas -1: give 1 or more", issue=17),
    Case("writers-0", ("deploy", "--writers", "0"), "--writers 0: give 1 or more"),
    Case("tail-below", ("logs", "--tail", "-2"), "--tail -2: give -1 or more"),
    Case("nodetool-quote", ("nodetool", "--args", 'status "x'), "--args 'status \"x': no closing quotation", issue=9),
    Case("test-quote", ("test", "--args", '"x'), "--args '\"x': no closing quotation"),
    Case("replicas-missing", ("scale",), "--replicas N is required", issue=28),
    Case("short-flag-elsewhere", ("deploy", "-r", "seed"), "-r/--search-root after a task name: deploy has no such",
         issue=27),  # -r was --writer-mode in deploy, --resume in up; now --rounds only
    Case("resume-contradiction", ("up", "--resume", "--no-resume"), "--resume and --no-resume contradict", issue=35),
    Case("deploy-what", ("deploy", "--what", "bogus"), "--what 'bogus': use one of cassandra, writer, all", issue=33),
    Case("lesson-step", ("lesson", "--step", "9"), "--step 9: the lesson has steps 1, 2, 3, 4", issue=34),
    # settings from the environment
    Case("env-timeout-text", ("status",), "INVOKE_LAB_TIMEOUTS_CLUSTER=abc: give a whole number of 1 or more",
         env={"INVOKE_LAB_TIMEOUTS_CLUSTER": "abc"}, issue=1),
    Case("env-rounds-text", ("status",), "INVOKE_LAB_CHAOS_ROUNDS=many: give a whole number of 1 or more",
         env={"INVOKE_LAB_CHAOS_ROUNDS": "many"}, issue=2),
    Case("env-rounds-0", ("status",), "INVOKE_LAB_CHAOS_ROUNDS=0: give a whole number of 1 or more",
         env={"INVOKE_LAB_CHAOS_ROUNDS": "0"}),
    Case("env-request-timeout", ("status",), "INVOKE_LAB_VERIFY_REQUEST_TIMEOUT=x: give a whole number",
         env={"INVOKE_LAB_VERIFY_REQUEST_TIMEOUT": "x"}, issue=3),
    Case("env-consistency", ("status",), "INVOKE_LAB_WRITER_CONSISTENCY=FOO: use one of ONE, TWO",
         env={"INVOKE_LAB_WRITER_CONSISTENCY": "FOO"}, issue=31),
    Case("env-cpu-weight", ("config", "--check"), "INVOKE_LAB_CHAOS_CPU_WEIGHT=maybe: use true or false",
         env={"INVOKE_LAB_CHAOS_CPU_WEIGHT": "maybe"}),
    Case("env-spaces", ("config",), "INVOKE_LAB_WRITER_TOPIC='a b': give a plain name",
         env={"INVOKE_LAB_WRITER_TOPIC": "a b"}),
    # flags over settings: the error names the flag as typed
    Case("flag-consistency", ("deploy", "--consistency", "FOO"), "--consistency FOO: use one of ONE, TWO", issue=19),
    Case("verify-consistency", ("verify", "--consistency", "FOO"), "--consistency FOO: use one of ONE, TWO",
         issue=32),
    Case("flag-writer-mode", ("up", "--writer-mode", "naive"), "--writer-mode naive: use one of robust, seed",
         issue=29),
    Case("flag-topic", ("deploy", "--topic", "a b"), "--topic 'a b': give a plain name", issue=30),
    # invoke.yaml
    Case("yaml-syntax", ("status",), "invoke.yaml, line 2: expected ',' or ']'", yaml="lab: {cluster: [kind\n",
         issue=4),
    Case("yaml-date", ("status",), "invoke.yaml: month must be in 1..12",
         yaml="lab:\n  report:\n    date: 2024-13-45\n", issue=5),
    Case("timeout-ten", ("status",), "invoke.yaml, line 3: lab.timeouts.cluster is 'ten'; give a whole number of 1",
         yaml="lab:\n  timeouts:\n    cluster: ten\n", issue=6),
    Case("timeout-negative", ("status",), "lab.timeouts.cluster is -5; give a whole number of 1 or more",
         yaml="lab:\n  timeouts:\n    cluster: -5\n", issue=12),
    Case("lab-list", ("status",), "invoke.yaml, line 1: lab is [1, 2]; it holds settings", yaml="lab: [1, 2]\n",
         issue=7),
    Case("topics-mapping", ("status",), "lab.writer.topics is {'a': 1}; give a list of topics",
         yaml="lab:\n  writer:\n    topics: {a: 1}\n", issue=8),
    Case("unknown-key", ("status",), "invoke.yaml, line 2: unknown setting lab.clustr; did you mean lab.cluster?",
         yaml="lab:\n  clustr: kind\n", issue=10),
    Case("unknown-nested-key", ("status",), "unknown setting lab.chaos.roundz; did you mean lab.chaos.rounds?",
         yaml="lab:\n  chaos:\n    roundz: 3\n", issue=11),
    Case("sample-every-0", ("status",), "lab.chaos.sample_every is 0; give a number above 0",
         yaml="lab:\n  chaos:\n    sample_every: 0\n", issue=13),
    Case("rounds-many", ("status",), "invoke.yaml, line 3: lab.chaos.rounds is 'many'; give a whole number",
         yaml="lab:\n  chaos:\n    rounds: many\n", issue=16),
    Case("chaos-rounds-many", ("chaos", "--pod", "cassandra-2"), "invoke.yaml, line 3: lab.chaos.rounds is 'many'",
         yaml="lab:\n  chaos:\n    rounds: many\n", issue=16),  # it once passed status and crashed in chaos
    Case("check-rounds-many", ("config", "--check"), "invoke.yaml, line 3: lab.chaos.rounds is 'many'",
         yaml="lab:\n  chaos:\n    rounds: many\n"),
    Case("group-scalar", ("status",), "lab.chaos is 3; it is a group of settings", yaml="lab:\n  chaos: 3\n"),
    Case("runtime-file-bad", ("-f", "other.yaml", "status"), "other.yaml, line 2", yaml=None),
    Case("runtime-file-value", ("-f", "value.yaml", "config"), "value.yaml, line 3: lab.chaos.sample_every is 0;",
         yaml=None),
    # a dry run on a machine without the lab: its plan reads the running lab, so it stops at once
    Case("dry-chaos-no-lab", ("--dry", "chaos", "--pod", "cassandra-2"),
         "kube context kind-no-such-lab not found: this dry run reads the running lab; create it with `invoke up`",
         issue=25, reads=True),
    Case("dry-deploy-no-lab", ("--dry", "deploy"),
         "kube context kind-no-such-lab not found: this dry run reads the running lab", issue=26, reads=True),
]

#: The only commands a dry run may run here: questions (which contexts exist; does the engine answer).
READ_ONLY = ("kubectl config get-contexts", "docker version", "docker info", "docker image inspect",
             "kind get clusters")
#: A cluster no one made, and a kubeconfig that does not exist: nothing real is in reach.
NO_LAB = {"INVOKE_LAB_CLUSTER": "no-such-lab"}

RECORDER = """#!/bin/sh
echo "$0 $*" >> "$RECORD"
exit 1
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of what `invoke` reads: tasks.py, invoke.yaml, the manifests and the packages."""
    copy = tmp_path_factory.mktemp("project")
    for name in ("tasks.py", "invoke.yaml", "cluster.yml", "cassandra.yml", "writer.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    for package in ("lab", "writer"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(copy, quiet=1)  # once here, not in every case's process (they write no bytecode)
    return copy


def _run(project: Path, tmp: Path, case: Case) -> tuple[subprocess.CompletedProcess, set[str], str]:
    """Run one case in its own copy of ``project``; return the process, the files it left, what it ran."""
    here = tmp / case.id
    shutil.copytree(project, here)
    if case.yaml is not None:
        (here / "invoke.yaml").write_text(case.yaml)
    if case.id == "runtime-file-bad":
        (here / "other.yaml").write_text("lab: {cluster: [kind\n")
    if case.id == "runtime-file-value":
        (here / "value.yaml").write_text("lab:\n  chaos:\n    sample_every: 0\n")
    bin_dir = tmp / f"{case.id}-bin"
    for tool in ("docker", "kind", "kubectl"):
        executable(bin_dir / tool).write_text(RECORDER)
    record = tmp / f"{case.id}.record"
    before = _files(here)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env.update(NO_LAB, **case.env)
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", RECORD=str(record), PYTHONDONTWRITEBYTECODE="1",
               HOME=str(tmp / "home"), KUBECONFIG=str(tmp / "no-such-kubeconfig"))
    ran = subprocess.run([sys.executable, "-m", "invoke", *case.argv], cwd=here, env=env, capture_output=True,
                         text=True, timeout=120)
    created = _files(here) - before
    return ran, created, record.read_text() if record.exists() else ""


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def results(project, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cases")
    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(zip([c.id for c in CASES], pool.map(lambda c: _run(project, tmp, c), CASES), strict=True))


@pytest.mark.parametrize("case", CASES, ids=[f"issue{c.issue}-{c.id}" if c.issue else c.id for c in CASES])
def test_bad_input_is_one_error_line_and_exit_2(case, results):
    ran, created, commands = results[case.id]
    lines = ran.stderr.splitlines()
    assert "Traceback" not in ran.stderr + ran.stdout
    assert len(lines) == 1, ran.stderr
    assert lines[0].startswith("ERROR: "), lines[0]
    assert case.says in lines[0]
    assert ran.returncode == 2, (ran.returncode, lines[0])
    assert created == set()
    ran_names = [line.split(" ", 1)[0].rsplit("/", 1)[-1] + " " + line.split(" ", 1)[-1]
                 for line in commands.splitlines()]
    if case.reads:
        assert all(c.replace("--context kind-no-such-lab ", "").startswith(READ_ONLY) for c in ran_names), ran_names
    else:
        assert commands == ""  # no docker, kind or kubectl command ran


def test_the_issues_35_bad_inputs_are_all_here():
    assert sorted({c.issue for c in CASES if c.issue}) == list(range(1, 36))
    assert len({c.id for c in CASES}) == len(CASES)


def test_good_input_still_runs(project, tmp_path):
    """The same harness on valid input reaches the lab (here: its first command, a recorder that fails)."""
    ran, created, commands = _run(project, tmp_path, Case("good", ("status",), ""))
    assert "kubectl" in commands or "kind" in commands or "docker" in commands, ran.stderr
    assert "Traceback" not in ran.stderr


def test_help_piped_into_a_reader_that_stops_ends_quietly():
    """`invoke --help chaos | head -3`: the reader is gone before the output is written (its end of the pipe
    closed at once, so every write fails, whatever the buffering); no BrokenPipeError traceback."""
    invoke = Path(sys.executable).with_name("invoke")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([str(invoke), "--help", "chaos"], cwd=ROOT, stdout=write_end, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    finally:
        os.close(write_end)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 141
