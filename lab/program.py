"""invoke's own errors as the lab's: one ``ERROR:`` line and exit 2, never a traceback.

invoke's ``Program`` prints a parse error as its bare message and exits 1 (``No idea what 'x' is!``), lets a
non-integer for an int flag (``--rounds abc``) or an int setting from the environment
(``INVOKE_LAB_TIMEOUTS_CLUSTER=abc``) escape as a ``ValueError`` traceback, shows a YAML error in invoke.yaml
as a traceback too, and skips ``-f`` naming a missing file without a word. ``LabProgram`` catches each at the
step of ``Program.run`` that raises it and turns it into ``Exit("ERROR: ...", code=2)``.

invoke documents a Program subclass for a binary of one's own; users of this lab type ``invoke``, whose
program (``invoke.main.program``) has loaded tasks.py before it parses the task names. So tasks.py calls
``adopt()``, which makes that running program a ``LabProgram``: every later step of its ``run`` (task
parsing, runtime config, execution) goes through the methods below. invoke.yaml itself is checked by
``adopt``, since invoke reads it in the very step that loads tasks.py. The core flags parsed before tasks.py
loads (``invoke -f`` with no value at all) keep invoke's own message.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from invoke import Config, Exit, ParseError, Program, Task
from invoke.config import AmbiguousMergeError
from invoke.env import Environment
from invoke.exceptions import AmbiguousEnvVar, UncastableEnvVar
from invoke.vendor import yaml as invoke_yaml

#: Exit code for input to fix (lab.errors.PreconditionError's).
BAD_INPUT = 2

#: The least value each numeric flag takes, per task: below it the flag means nothing (``--rounds 0``) or
#: something else than typed (``--interval -5``). Flags not named here keep their own checks in the task.
FLAG_MINIMUM: dict[tuple[str, str], float] = {
    ("chaos", "rounds"): 1,
    ("chaos", "interval"): 0,
    ("chaos", "seed"): 0,
    ("scale", "replicas"): 1,
    ("deploy", "writers"): 1,
    ("up", "writers"): 1,
    ("logs", "tail"): -1,
    ("report", "tail"): 0,
    ("bench", "rounds"): 0,
}


#: The only short flags, one meaning per letter in every task (invoke's automatic ones gave ``-r`` to
#: ``--resume`` in up and to ``--writer-mode`` in deploy). A flag not named here has its long form only.
SHORT_FLAGS = {"args": "a", "consistency": "c", "down": "d", "execute": "e", "force": "f", "interval": "i",
               "node": "n", "out": "o", "pod": "p", "rounds": "r", "seed": "s", "topic": "t", "writer-mode": "w"}


class LabTask(Task):
    """invoke's Task with the short flags of SHORT_FLAGS instead of the first free letter of each name."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        long = opts["names"][0]
        short = SHORT_FLAGS.get(long)
        opts["names"] = [long, *([short] if self.auto_shortflags and short and short not in taken_names else [])]
        return opts


def fail(message: str) -> Exit:
    return Exit(f"ERROR: {message}", code=BAD_INPUT)


def parse_error_line(err: ParseError, known: Iterable[str] = ()) -> str:
    """invoke's parse error in the lab's words, with the fix."""
    text = str(err)
    unknown = re.fullmatch(r"No idea what '(.*)' is!", text)
    if unknown:
        name = unknown.group(1)
        if name.startswith("-"):
            task = getattr(getattr(err, "context", None), "name", None)
            where = f"`invoke --help {task}`" if task else "`invoke --help <task>`"
            return f"unknown flag {name}; {where} lists the flags"
        close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"unknown task {name!r}; {hint}`invoke --list` lists the tasks"
    needed = re.fullmatch(r"Flag <Argument: ([\w-]+).*> needed value and was not given one!", text)
    if needed:
        flag = needed.group(1).replace("_", "-")
        task = getattr(getattr(err, "context", None), "name", None) or "<task>"
        return f"--{flag} needs a value; `invoke --help {task}` says what it takes"
    return text[0].lower() + text[1:] if text else "invoke could not parse the command line"


def bad_number_line(err: ValueError, argv: list[str]) -> str:
    """``--rounds abc``: invoke's ``int()`` failed on a flag's value; name the flag the user typed."""
    literal = re.search(r"'(.*)'$", str(err))
    value = literal.group(1) if literal else ""
    for i, token in enumerate(argv):
        if token.startswith("-") and "=" in token and token.split("=", 1)[1] == value:
            return f"{token.split('=', 1)[0]} {value!r} is not a whole number"
        if token == value and i > 0 and argv[i - 1].startswith("-"):
            return f"{argv[i - 1]} {value!r} is not a whole number"
    return f"{value!r} is not a whole number where a flag needs one"


def check_minimums(tasks) -> None:
    """Each numeric flag typed below its FLAG_MINIMUM: one line, before anything runs."""
    for context in tasks:
        for name, arg in context.args.items():
            least = FLAG_MINIMUM.get((context.name, name.replace("-", "_")))
            if least is None or not arg.got_value or not isinstance(arg.value, (int, float)) \
                    or isinstance(arg.value, bool):
                continue  # a flag another kind of value (text parsed by its task) checks itself
            if arg.value < least:
                raise fail(f"--{name.replace('_', '-')} {arg.value}: give {least:g} or more")


#: invoke's own flags that act while it finds and loads tasks.py: after a task name they come too late and
#: invoke skips them, so a task's short flag typed where the task has none (``deploy -r``) would vanish.
TOO_LATE = {"search-root": "-r", "collection": "-c"}


def check_late_core_flags(core_via_tasks, tasks) -> None:
    for arg in core_via_tasks.args.values():
        if arg.name in TOO_LATE and arg.got_value:
            task = tasks[-1].name if tasks else "<task>"
            raise fail(f"{TOO_LATE[arg.name]}/--{arg.name} after a task name: {task} has no such flag "
                       f"(`invoke --help {task}` lists them); invoke's own --{arg.name} goes before the task")


def yaml_error_line(path: str, err: Exception) -> str:
    """A YAML file that does not parse (or holds an impossible value such as ``2024-13-45``): file, line, why."""
    mark = getattr(err, "problem_mark", None)
    if mark is None:  # it parsed, but a value YAML reads as a date (2024-13-45) is no date
        return f"{Path(path).name}: {err} in a value YAML reads as a date or a number; fix it, or quote it"
    return f"{Path(path).name}, line {mark.line + 1}: {getattr(err, 'problem', None) or err}; fix the YAML"


def env_error_line(config, err: Exception) -> str:
    """Which INVOKE_* variable could not be cast to its setting's type (invoke's error names none)."""
    env = Environment(config=config, prefix="INVOKE")
    try:
        names = env._crawl(key_path=[], env_vars={})  # {INVOKE_LAB_TIMEOUTS_CLUSTER: [lab, timeouts, cluster]}
    except AmbiguousEnvVar as ambiguous:
        return str(ambiguous)
    for var, key_path in sorted(names.items()):
        prefixed = f"INVOKE_{var}"
        if prefixed not in os.environ:
            continue
        try:
            env._cast(env._path_get(key_path), os.environ[prefixed])
        except (ValueError, UncastableEnvVar):
            old = env._path_get(key_path)
            expected = "a whole number" if isinstance(old, int) else f"a {type(old).__name__}"
            return f"{prefixed}={os.environ[prefixed]!r}: {'.'.join(key_path)} takes {expected}"
    return f"an INVOKE_* environment variable has a value of the wrong type ({err})"


def mismatch_line(path: str, err: Exception) -> str:
    """invoke cannot merge a value into a group of settings; say which key, by the lab's own key check, from the
    file and line it is on."""
    from lab.config import DEFAULTS, SettingError, check_keys
    from lab.provenance import Origin

    try:
        data = invoke_yaml.safe_load(Path(path).read_text()) or {}
        lab = data.get("lab", {})
        if not isinstance(lab, dict):
            found = SettingError((), lab, "it holds settings", f"lab is {lab!r}; it holds settings (lab: {{cluster: "
                                                               "kind, ...}})")
            return str(found.blame(Origin("file", path, ("lab",))))
        check_keys(lab, DEFAULTS["lab"], "lab")
    except SettingError as found:
        return str(found.blame(Origin("file", path, ("lab", *found.keys))))
    except (OSError, invoke_yaml.YAMLError, ValueError, AttributeError):
        pass
    return f"{Path(path).name}: a value where a group of settings belongs ({err})"


def _as_text(tree: Any) -> Any:
    """``tree`` with every leaf as text (None stays None: invoke keeps an env value over None as text too)."""
    if hasattr(tree, "items"):
        return {k: _as_text(v) for k, v in tree.items()}
    return tree if tree is None else str(tree)


class LabInvokeConfig(Config):
    """invoke's Config, reading INVOKE_LAB_* as the text typed: invoke casts an env value by the type of the value
    it replaces (invoke.yaml's ``cpu_weight: false`` makes any text but "" and "0" True; its ``interval: 30``
    refuses 0.5 with a traceback), and the lab's own rules (lab/config.py) read the text and name the variable."""

    def load_shell_env(self) -> None:
        self.merge()
        known = {**self._config, "lab": _as_text(self._config.get("lab", {}))}
        # Environment only reads its config as a mapping (typed Config in invoke); the merged dict is one.
        self._set(_env=Environment(config=known, prefix=self._env_prefix).load())  # type: ignore[arg-type]
        self.merge()


class LabProgram(Program):
    """invoke's Program with every input error as one ``ERROR:`` line and exit 2."""

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as err:
            known = self.collection.task_names if getattr(self, "collection", None) else {}
            raise fail(parse_error_line(err, [*known, *(a for v in known.values() for a in v)])) from None
        except ValueError as err:
            raise fail(bad_number_line(err, list(self.core.unparsed))) from None
        check_late_core_flags(self.core_via_tasks, self.tasks)
        check_minimums(self.tasks)

    def parse_cleanup(self) -> None:
        with _reader_gone():  # `invoke --help chaos | head`
            super().parse_cleanup()

    def update_config(self, merge: bool = True) -> None:
        runtime = self.args.config.value or os.environ.get("INVOKE_RUNTIME_CONFIG")
        if runtime and not Path(os.path.expanduser(runtime)).is_file():
            raise fail(f"-f {runtime}: no such file; give the path of a YAML file of settings")
        try:
            super().update_config(merge=merge)
        except (invoke_yaml.YAMLError, ValueError) as err:
            raise fail(yaml_error_line(runtime or "the -f file", err)) from None

    def execute(self) -> None:
        # The executor merges the collection's defaults with the files, then reads INVOKE_* variables; do both
        # first (they are idempotent), so a value of the wrong kind is named here instead of a traceback there.
        if type(self.config) is Config:
            self.config.__class__ = LabInvokeConfig  # the executor reads the env again, per task
        try:
            self.config.load_collection(self.collection.configuration())
        except AmbiguousMergeError as err:
            raise fail(mismatch_line(self.config._project_path or "invoke.yaml", err)) from None
        try:
            self.config.load_shell_env()
        except (ValueError, UncastableEnvVar, AmbiguousEnvVar) as err:
            raise fail(env_error_line(self.config, err)) from None
        with _reader_gone():  # `invoke status | head`
            super().execute()


@contextlib.contextmanager
def _reader_gone() -> Iterator[None]:
    """Output piped into a reader that stopped reading (``| head``) ends the program quietly, as for any Unix
    tool, instead of a BrokenPipeError traceback: stdout goes to /dev/null for the interpreter's own flush."""
    try:
        yield
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(141) from None  # 128 + SIGPIPE, what a shell reports for such a pipe


def check_project_file(path: Path) -> None:
    """invoke.yaml parses, and each group of settings holds a group: checked while tasks.py loads, because
    invoke reads the file in the same step of its run (before the adopted class can catch anything)."""
    if not path.is_file():
        return
    try:
        data = invoke_yaml.safe_load(path.read_text()) or {}
    except (invoke_yaml.YAMLError, ValueError) as err:
        raise fail(yaml_error_line(str(path), err)) from None
    if isinstance(data, dict) and "lab" in data:
        line = mismatch_line(str(path), ValueError("unreadable"))
        if ": a value where" not in line:
            raise fail(line)


def adopt(project: Path, program: Program | None = None) -> None:
    """Make the running ``invoke`` program a LabProgram (see the module's docstring) and check ``project``'s
    invoke.yaml; a no-op for any other program (a test's own, or one already adopted)."""
    import invoke.main

    target = program if program is not None else invoke.main.program
    if type(target) is Program:
        target.__class__ = LabProgram
        check_project_file(project / "invoke.yaml")
