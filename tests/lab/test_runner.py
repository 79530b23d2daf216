"""lab.runner.Runner over a real invoke Context, with tiny shell commands (no fakes: this is the seam)."""

import time

import pytest
from invoke import Context

from lab.errors import CommandError
from lab.runner import Outcome, Runner

FAILS = ["sh", "-c", "echo out; echo err >&2; exit 3"]


@pytest.fixture
def runner():
    return Runner(Context(), echo=False)


def test_run_returns_the_outcome_with_stdout(runner):
    outcome = runner.run(["sh", "-c", "echo hello"], hide=True)
    assert outcome == Outcome(("sh", "-c", "echo hello"), 0, "hello\n", "")
    assert outcome.ok


def test_run_failure_raises_with_exit_code_and_stderr(runner):
    with pytest.raises(CommandError) as err:
        runner.run(FAILS, hide=True)
    assert (err.value.argv, err.value.exited, err.value.stdout, err.value.stderr) == (FAILS, 3, "out\n", "err\n")
    assert str(err.value) == "`sh -c 'echo out; echo err >&2; exit 3'` exited 3: err"


def test_dry_run_prints_the_command_and_does_not_run_it(tmp_path, capsys):
    target = tmp_path / "made"
    argv = ["sh", "-c", f"echo hi > {target}"]
    outcome = Runner(Context(), dry=True, echo=False).run(argv)
    assert capsys.readouterr().out == f"[dry-run] sh -c 'echo hi > {target}'\n"
    assert outcome == Outcome(tuple(argv), 0)
    assert not target.exists()
    Runner(Context(), echo=False).run(argv)  # the same command, for real, does create it
    assert target.read_text() == "hi\n"


def test_probe_runs_under_dry_and_never_raises(tmp_path, capsys):
    dry = Runner(Context(), dry=True, echo=False)
    target = tmp_path / "probed"
    assert dry.probe(["touch", str(target)]).ok
    assert target.exists()
    failed = dry.probe(FAILS)
    assert (failed.ok, failed.exited, failed.stdout, failed.stderr) == (False, 3, "out\n", "err\n")
    assert capsys.readouterr().out == ""  # hidden, and no [dry-run] line


def test_output_returns_stdout_and_raises_on_failure(runner):
    assert runner.output(["sh", "-c", "echo a; echo b"]) == "a\nb\n"
    with pytest.raises(CommandError, match=r"exited 3: err$") as err:
        runner.output(FAILS)
    assert err.value.exited == 3


def test_a_timeout_is_an_outcome_without_exit_code(runner):
    started = time.monotonic()
    outcome = runner.probe(["sleep", "5"], timeout=0.3)
    assert time.monotonic() - started < 3
    assert (outcome.exited, outcome.ok) == (None, False)
    with pytest.raises(CommandError, match=r"^`sleep 5` timed out$") as err:
        runner.run(["sleep", "5"], timeout=0.3, hide=True)
    assert err.value.exited is None


def test_input_is_piped_to_stdin(runner):
    assert runner.output(["cat"], input="line one\nline two\n") == "line one\nline two\n"
    assert runner.run(["wc", "-l"], input="a\nb\nc\n", hide=True).stdout.strip() == "3"
