"""Fakes for the lab's fast tests: a context that records commands and answers them from rules."""

from __future__ import annotations

import re
import stat
from pathlib import Path

from invoke import Result

from lab.config import LabConfig
from lab.context import Lab
from lab.images.builders import ImageBuilders
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.runner import Runner

DATA = Path(__file__).parent / "data"


class FakeCtx:
    """Stands in for invoke's Context under lab.runner.Runner.

    ``rules`` is an ordered list of (regex, answer); the first regex that *searches* the command wins.
    An answer is a Result, a (stdout, exited) pair, a callable given the command that returns one of those
    (a fake server: ``CqlRows``), or a list of those consumed one per call (the last one repeats), for polls.
    Unmatched commands succeed with empty output; tests assert ``commands``.
    """

    def __init__(self, rules=None):
        self.rules = [(re.compile(p), a) for p, a in (rules or [])]
        self.commands: list[str] = []
        self.kwargs: list[dict] = []

    def add(self, pattern, answer, *, first=False):
        rule = (re.compile(pattern), answer)
        self.rules.insert(0, rule) if first else self.rules.append(rule)

    def run(self, command, **kwargs):
        self.commands.append(command)
        self.kwargs.append(kwargs)
        for pattern, answer in self.rules:
            if pattern.search(command):
                if isinstance(answer, list):
                    answer = answer.pop(0) if len(answer) > 1 else answer[0]
                if callable(answer):
                    answer = answer(command)
                if isinstance(answer, Result):
                    return answer
                if isinstance(answer, Exception):
                    raise answer
                stdout, exited = answer if isinstance(answer, tuple) else (answer, 0)
                return Result(stdout=stdout, stderr="" if exited == 0 else stdout, exited=exited, command=command)
        return Result(stdout="", exited=0, command=command)

    def matching(self, pattern: str) -> list[str]:
        return [c for c in self.commands if re.search(pattern, c)]


def cqlsh_seqs(text: str) -> list[int]:
    """The seqs of a ``SELECT seq`` table as cqlsh prints it (recorded data in tests/lab/data)."""
    return [int(line) for line in (line.strip() for line in text.splitlines()) if line.lstrip("-").isdigit()]


def cqlsh_table(column: str, values: list) -> str:
    return f" {column}\n{'-' * (len(column) + 2)}\n" + "".join(f" {v}\n" for v in values) + f"\n({len(values)} rows)\n"


class CqlRows:
    """A FakeCtx answer that plays cqlsh over one topic's stored rows: it runs every ``SELECT seq``,
    ``SELECT count(*)`` (with or without the sum of the values), ``SELECT seq, CAST(value AS text)`` of the rows
    table in the command's ``-e`` script (seq bounds, ORDER BY seq DESC LIMIT 1, LIMIT 1) and prints one table
    each, as cqlsh does. ``seqs``: a list, or cqlsh's own text of one. Each row's value is the one the robust writer
    writes (writer.values) unless ``values`` says otherwise (seq -> value)."""

    STATEMENT = re.compile(r"SELECT (seq|count\(\*\)|count\(\*\), CAST\(sum\(value\) AS text\) AS total|"
                           r"seq, CAST\(value AS text\) AS value) FROM ece573\.prj04 WHERE topic = '([^']+)'"
                           r"((?: AND seq [<>]=? \d+)*)( ORDER BY seq DESC LIMIT 1| LIMIT 1)?;")

    def __init__(self, seqs: list[int] | str, values: dict[int, float] | None = None):
        self.seqs = sorted(set(cqlsh_seqs(seqs) if isinstance(seqs, str) else seqs))
        self.values = values or {}
        self.scripts: list[str] = []

    def value(self, topic: str, seq: int) -> float:
        from writer.values import value_for

        return self.values.get(seq, value_for(topic, seq))

    def __call__(self, command: str) -> tuple[str, int]:
        import shlex

        argv = shlex.split(command)
        script = argv[argv.index("-e") + 1]
        self.scripts.append(script)
        out = ["Consistency level set to QUORUM.", "Disabled Query paging.", ""]
        for what, topic, bounds, limit in self.STATEMENT.findall(script):
            rows = [s for s in self.seqs if all(_holds(s, op, int(n)) for op, n in re.findall(r"seq ([<>]=?) (\d+)",
                                                                                             bounds))]
            if limit:
                rows = rows[-1:] if "DESC" in limit else rows[:1]
            if what == "seq":
                out.append(cqlsh_table("seq", rows))
            elif what == "count(*)":
                out.append(cqlsh_table("count", [len(rows)]))
            elif what.startswith("count"):
                total = repr(float(sum(self.value(topic, s) for s in rows)))
                out.append(f" count | total\n-------+-------\n {len(rows)} | {total}\n\n(1 rows)\n")
            else:
                lines = "".join(f" {s} | {self.value(topic, s)!r}\n" for s in rows)
                out.append(f" seq | value\n-----+-------\n{lines}\n({len(rows)} rows)\n")
        return "\n".join(out), 0


def _holds(seq: int, op: str, bound: int) -> bool:
    return {"<": seq < bound, "<=": seq <= bound, ">": seq > bound, ">=": seq >= bound}[op]


def lab_secret_json(admin: str = "admin-pw", writer: str = "writer-pw") -> str:
    """``kubectl get secret cassandra-auth -o json`` of a lab whose Secret exists (values base64, as kubectl)."""
    import base64
    import json

    data = {"admin-password": admin, "writer-password": writer, "admin-username": "lab_admin",
            "writer-username": "writer"}
    return json.dumps({"kind": "Secret", "metadata": {"name": "cassandra-auth"},
                       "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}})


#: FakeCtx rules for a lab that already has its Secret and whose lab_admin login works.
AUTH_RULES = [("get secret cassandra-auth", lab_secret_json())]


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def make_cfg(project: Path, **lab) -> LabConfig:
    tools = {"kind": str(project / ".cache/bin/kind"), "kubectl": str(project / ".cache/bin/kubectl")}
    lab.setdefault("tools", tools)
    return LabConfig.from_mapping(lab, root=project)


def _no_build(runner, **kwargs):
    raise AssertionError("this test builds no image: give it fake builders (make_lab(builders=...), tasks.BUILDERS)")


#: make_lab's image builders unless a test passes its own: each fails the test, so none builds a real image.
NO_IMAGE_BUILDS = ImageBuilders(cassandra=_no_build, writer=_no_build, kind_node=_no_build, tools=_no_build,
                                registry=_no_build)


def make_lab(project: Path, ctx: FakeCtx, *, dry=False, builders: ImageBuilders = NO_IMAGE_BUILDS, **lab) -> Lab:
    cfg = make_cfg(project, **lab)
    return Lab(cfg=cfg, runner=Runner(ctx, dry=dry), kind=Kind("kind", cfg.cluster),
               kube=Kubectl("kubectl", cfg.kube_context, cfg.namespace), builders=builders)
