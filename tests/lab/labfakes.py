"""Fakes for the lab's fast tests: a context that records commands and answers them from rules."""

from __future__ import annotations

import base64
import functools
import json
import re
import stat
from pathlib import Path

from invoke import Result

from lab import names
from lab.config import LabConfig
from lab.context import Lab
from lab.images.builders import ImageBuilders
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.runner import Runner

DATA = Path(__file__).parent / "data"


class Unanswered(AssertionError):
    """A command the test did not expect: its FakeCtx has no rule for it."""


class FakeCtx:
    """Stands in for invoke's Context under lab.runner.Runner.

    ``rules`` is an ordered list of (regex, answer); the first regex that *searches* the command wins.
    An answer is a Result, a (stdout, exited) pair, a callable given the command that returns one of those
    (a fake server: ``CqlRows``), or a list of those consumed one per call (the last one repeats), for polls.
    A command no rule matches fails the test (``Unanswered``): a test says what each command it causes answers,
    even when that is only success (``FakeCtx.ANY_OK``); tests assert ``commands``.
    """

    #: The answer of a command whose output does not matter, only that it succeeds.
    ANY_OK = ("", 0)

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
        raise Unanswered(f"FakeCtx was not told what {command!r} answers")

    def matching(self, pattern: str) -> list[str]:
        return [c for c in self.commands if re.search(pattern, c)]


#: kubectl's answers in a lab without these objects, for the questions a task asks on its way (tests that care
#: answer them first): no namespace, no Cassandra StatefulSet, no writer Deployment, ReplicaSet or pod listed, no
#: refused pod creation.
ABSENT = [
    (r"get namespace \S+ --output json", ('Error from server (NotFound): namespaces "default" not found', 1)),
    (r"get statefulset cassandra --output json",
     ('Error from server (NotFound): statefulsets.apps "cassandra" not found', 1)),
    (f"get deployments --selector {names.WRITERS_SELECTOR} --output json", json.dumps({"items": []})),
    ("get replicasets,pods --output json", json.dumps({"items": []})),
    ("get events --field-selector reason=FailedCreate --output json", json.dumps({"items": []})),
]


#: The commands that change the lab (apply and delete manifests, create and delete the cluster, load, tag, push
#: and run images, the registry container), answered with success unless a test's rules say otherwise.
LAB_ACTIONS = (
    r"^kubectl .* (apply|delete) --filename ",
    r"^kind (create|delete) cluster ",
    r"^\S*kind load docker-image ",
    r"^docker (tag|push|start|run --detach|rm --force|network connect) ",
    r"^kubectl .* rollout status ",
    r"^kubectl .* delete (deployment|persistentvolumeclaim) ",
    r"^docker exec --interactive kind-\S+ sh -c 'mkdir -p /etc/containerd/certs.d/",
)


def lab_ctx(rules=(), *, ok=()) -> FakeCtx:
    """A FakeCtx for a task's run: ``rules`` first, then ``ABSENT``, then the TLS Secrets of a lab deployed before
    (``tls_rules``), then deploy's NetworkPolicy probe finding them enforced (``policy_probe_rules``), then ``ok``:
    the commands (regexes) whose answer is only success."""
    return FakeCtx([*rules, *ABSENT, *tls_rules(), *policy_probe_rules(),
                    *((pattern, FakeCtx.ANY_OK) for pattern in ok)])


def secret_json(data: dict[str, str]) -> str:
    """``kubectl get secret -o json`` of a Secret holding ``data``."""
    return json.dumps({"data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}})


@functools.cache
def tls_secrets(nodes: int = 3) -> tuple[dict[str, str], dict[str, str]]:
    """The TLS Secrets' data (the CA's, the nodes') of a lab deployed with ``nodes`` nodes (lab/tls.py)."""
    from lab import tls
    ca = tls.make_ca()
    return ca, tls.with_nodes(ca, {}, nodes, "default")


def tls_rules(nodes: int = 3) -> list:
    """FakeCtx rules for a lab whose TLS Secrets exist, with certificates for ``nodes`` nodes."""
    ca, node_data = tls_secrets(nodes)
    return [(r"get secret cassandra-tls-ca --output json", secret_json(ca)),
            (r"get secret cassandra-tls --output json", secret_json(node_data))]


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


#: cqlsh -e of deploy's check whether the built-in login is off already (lab.auth.settled), as cqlsh prints it.
SETTLED_QUERY = r"cqlsh --request-timeout=\d+ -e .*SELECT role, can_login FROM system_auth\.roles"


def logins_table(**roles: bool) -> str:
    """cqlsh's table of ``SELECT role, can_login FROM system_auth.roles`` for ``roles`` (role -> can_login)."""
    rows = "".join(f" {role:>9} | {can_login}\n" for role, can_login in roles.items())
    return ("Consistency level set to ONE.\nDisabled Query paging.\n\n"
            f"      role | can_login\n-----------+-----------\n{rows}\n({len(roles)} rows)\n")


#: Its answer on a ring whose built-in login lab_admin took away.
LOGIN_OFF = (logins_table(cassandra=False, lab_admin=True), 0)
#: Its answer while no Cassandra pod exists yet (a first deploy).
NO_POD = ('Error from server (NotFound): pods "cassandra-0" not found', 1)

#: FakeCtx rules for a lab that already has its Secret and whose lab_admin login works (its cqlsh scripts, the
#: roles and the schema, succeed; the built-in login is off, so deploy keeps CQL open to the writers).
AUTH_RULES = [("get secret cassandra-auth", lab_secret_json()), (SETTLED_QUERY, LOGIN_OFF),
              (r" -- cqlsh --request-timeout=\d+$", ("", 0)), (r" -- nodetool repair --full system_auth$", ("", 0))]


def policy_probe_rules(word: str = "refused", *, phase: str = "Succeeded") -> list:
    """FakeCtx rules for deploy's NetworkPolicy probe (lab/policies.py): cassandra-0 has an address, the probe
    pod ends in ``phase`` and its log's last line is ``word`` ("refused": enforced; "connected": not)."""
    return [
        (r"get pod cassandra-0 --output json", json.dumps({"status": {"podIP": "10.244.1.5", "phase": "Running"}})),
        (r"get pod lab-policy-probe --output json", json.dumps({"status": {"phase": phase}})),
        (r"logs lab-policy-probe ", f"{word}\n"),
        (r"delete pod lab-policy-probe ", FakeCtx.ANY_OK),
        (r"annotate namespace \S+ --overwrite ece573-prj04/network-policies=", FakeCtx.ANY_OK),
    ]


#: FakeCtx rules for `invoke status` on a running lab: nodes, pods, nodetool, and each topic's progress.
STATUS_RULES = [
    ("get-contexts", "kind-kind\n"),
    ("get nodes", (DATA / "nodes.json").read_text()),
    ("get pods", (DATA / "pods.json").read_text()),
    ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
    ("count", (DATA / "cqlsh_count.txt").read_text()),
    ("prj04_last_seq", (DATA / "cqlsh_last_seq.txt").read_text()),
]


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def make_cfg(project: Path, **lab) -> LabConfig:
    tools = {"kind": str(project / ".cache/bin/kind"), "kubectl": str(project / ".cache/bin/kubectl")}
    lab.setdefault("tools", tools)
    # The fakes answer the commands of the `kind load` path; a test of lab.images.preload (the default) says so.
    lab["images"] = {"preload": False, **(lab.get("images") or {})}
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
