"""The lab's settings: one typed model (``LabSettings``), read from invoke's merged configuration.

Every setting is declared once below, as a field of a frozen group with its default and its rule (type and
bounds); ``DEFAULTS``, which tasks.py registers with invoke, is written from the model, so invoke's own
precedence applies (collection defaults < invoke.yaml < INVOKE_LAB_* env vars < ``-f file``), and a task's
flag beats all of them for its run. ``LabConfig.from_invoke`` reads the merged ``c.config.lab`` tree into the
validated value the library functions take; an error is one line naming what the user typed (the file and
line, the env var, the flag: lab/provenance.py), and ``explain`` is `invoke config`.

Why frozen dataclasses and not pydantic: the values arrive as YAML scalars or as env-var text and each error
must be one line in the lab's words naming its source, so pydantic would need a translator for its error
types on top of the same custom readers (on/off, topics, consistency levels, ports) that a field rule here
already is. Keeping the parse helpers as per-field rules gives the types, bounds and nearest-name errors in
one place without a new dependency in the core install.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.commitlog import DEFAULT_MODE as COMMITLOG_DEFAULT
from lab.commitlog import MODES as COMMITLOG_MODES
from lab.errors import PreconditionError
from lab.provenance import Origin, origin

#: The project root: tasks.py, the manifests and invoke.yaml sit here.
ROOT = Path(__file__).resolve().parent.parent

#: kind v0.23.0's default node image (Kubernetes v1.30.0), pinned by digest as kind's release notes give it.
KIND_NODE_IMAGE = "kindest/node:v1.30.0@sha256:047357ac0cfea04663786a612ba1eaba9702bef25227a794b52890dd8bcd692e"

#: Consistency levels that both the writer and cqlsh understand.
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")

#: Topics end up inside CQL string literals (cqlsh -e), so only plain names are accepted.
TOPIC_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PLAIN_NAME = "letters, digits, _ . -; at most 64"

IMAGE_SOURCES = ("auto", "pull", "build", "local")

#: lab.images.registry's value for the lab's own registry container.
LOCAL_REGISTRY = "local"

#: A Kubernetes object name (RFC 1123 subdomain), as a StorageClass's must be.
K8S_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
#: A namespace's name (RFC 1123 label).
K8S_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
#: A kind cluster's name (kind names its containers and the kubectl context after it).
CLUSTER_RE = re.compile(r"[a-z0-9][a-z0-9.-]*")
#: A Prometheus metric name, as lab.chaos.metric names the writer's gauge.
METRIC_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")

#: lab.writer.mode: robust is the lab's writer; seed is the assignment's Go writer (writer/seed.py), for
#: watching sections IV-V fail (`invoke deploy --writer-mode seed --topic ''` is the Unknown-topic crash loop).
WRITER_MODES = ("robust", "seed")
#: writer.go's switch: every other level is "Unknown consistency level" at start, so the lab refuses it first.
SEED_CONSISTENCY_LEVELS = ("ONE", "QUORUM", "ALL")
#: lab.writer.probes: auto (HTTP probes for the lab's robust writer only), http, none.
WRITER_PROBES = ("auto", "http", "none")
#: Writers (one Deployment each) the lab deploys at most: each takes up to a core at full speed, and a
#: lab beyond a handful is a load test, which `invoke bench` is for.
MAX_WRITERS = 8


# --- rules: how one setting's value is read (from YAML, or from env-var text) and written back as text ---

class Problem(ValueError):
    """A rule's refusal; its text says what to give instead (the end of the one error line)."""


@dataclass(frozen=True)
class Rule:
    read: Callable[[Any], Any]
    write: Callable[[Any], str] = str


def _scalar(value: Any) -> str:
    """One value as text (YAML reads an empty value as None); a list is refused (a group, by check_keys)."""
    if isinstance(value, (list, tuple)):
        raise Problem("give one value, not a list")
    return "" if value is None else str(value).strip()


def text(*, pattern: re.Pattern[str] | None = None, what: str = "", required: bool = False,
         lower: bool = False) -> Rule:
    """Text; ``required``: not empty; ``pattern``: the whole of it matches (when not empty)."""
    def read(value: Any) -> str:
        out = _scalar(value)
        out = out.lower() if lower else out
        if (required and not out) or (pattern is not None and out and not pattern.fullmatch(out)):
            raise Problem(f"give {what}")
        return out
    return Rule(read)


def choice(options: tuple[str, ...], note: str = "") -> Rule:
    def read(value: Any) -> str:
        out = _scalar(value).lower()
        if out not in options:
            raise Problem(f"use one of {', '.join(options)}{note}")
        return out
    return Rule(read)


def whole(least: int) -> Rule:
    """A whole number of at least ``least`` (YAML's int, or env text)."""
    def read(value: Any) -> int:
        try:
            number = int(_scalar(value)) if not isinstance(value, bool) else least - 1
        except ValueError:
            number = least - 1
        if number < least:
            raise Problem(f"give a whole number of {least} or more")
        return number
    return Rule(read)


def number(least: float, *, above: bool = False) -> Rule:
    """Any number of at least ``least`` (``above``: more than it; a sample every 0 s is a busy loop)."""
    def read(value: Any) -> float:
        try:
            out = float(_scalar(value)) if not isinstance(value, bool) else float("nan")
        except ValueError:
            out = float("nan")
        if not (out > least or (out == least and not above)) or out == float("inf"):
            raise Problem(f"give a number above {least:g}" if above else f"give a number of {least:g} or more")
        return out
    return Rule(read, write=lambda n: f"{n:g}")


def _read_port(value: Any) -> int:
    out = _scalar(value)
    if isinstance(value, bool) or not out.isdigit() or not 1 <= int(out) <= 65535:
        raise Problem("use a TCP port number, 1-65535")
    return int(out)


PORT = Rule(_read_port)


def truth(yes: str = "true", no: str = "false") -> Rule:
    """A bool from YAML, or from text (true/false, yes/no, on/off, 1/0)."""
    def read(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        out = _scalar(value).lower()
        if out in ("true", "yes", "1", "on"):
            return True
        if out in ("false", "no", "0", "off", ""):
            return False
        raise Problem(f"use {yes} or {no}")
    return Rule(read, write=lambda b: yes if b else no)


def _read_level(value: Any) -> str:
    level = _scalar(value).upper()
    if level not in CONSISTENCY_LEVELS:
        raise Problem(f"use one of {', '.join(CONSISTENCY_LEVELS)}")
    return level


def _read_levels(value: Any) -> str:
    """``QUORUM``, or one level per writer: ``ONE,QUORUM,ALL`` (kept as that text, upper case)."""
    levels = parse_levels(_scalar(value))
    if len(levels) == 1:
        return _read_level(levels[0])
    for level in levels:
        if level not in CONSISTENCY_LEVELS:
            raise Problem(f"{level!r} is not one of {', '.join(CONSISTENCY_LEVELS)}")
    return ",".join(levels)


def _read_topic(value: Any) -> str:
    """A topic, or "" (no topic: the seed writer's lesson, checked with the mode by LabConfig.validate)."""
    topic = _scalar(value)
    if topic and not TOPIC_RE.match(topic):
        raise Problem(f"give a plain name ({PLAIN_NAME})")
    return topic


def _read_topics(value: Any) -> tuple[str, ...]:
    """lab.writer.topics: a YAML list or comma-separated text; each a plain name, none twice."""
    items = value if isinstance(value, (list, tuple)) else _scalar(value).split(",")
    topics = tuple(str(t).strip() for t in items if str(t).strip())
    for topic in topics:
        if not TOPIC_RE.match(topic):
            raise Problem(f"{topic!r} is not a plain name ({PLAIN_NAME})")
    repeated = sorted({t for t in topics if topics.count(t) > 1})
    if repeated:
        raise Problem(f"it names {repeated[0]} twice; one writer per topic")
    if len(topics) > MAX_WRITERS:
        raise Problem(f"it names {len(topics)} topics; at most {MAX_WRITERS}")
    return topics


def _read_date(value: Any) -> str:
    """"today" or a calendar date (YYYY-MM-DD; YAML reads an unquoted one as a date), so the hand-in shows no typo."""
    out = value.isoformat() if isinstance(value, datetime.date) else _scalar(value)
    if out != "today":
        try:
            datetime.date.fromisoformat(out)
        except ValueError:
            raise Problem('give "today" or a date like 2024-11-03') from None
    return out


TEXT = text()
PATH = text(required=True, what="a path")
TOPIC = Rule(_read_topic)
TOPICS = Rule(_read_topics, write=",".join)
LEVEL = Rule(_read_level)
LEVELS = Rule(_read_levels)
DATE = Rule(_read_date)
SOURCE = choice(IMAGE_SOURCES)


def setting(default: Any, rule: Rule) -> Any:
    """A field of a settings group: its default (the one place it is written) and its rule."""
    return field(default=default, metadata={"rule": rule})


def group(cls: type) -> Any:
    """A field holding a group of settings (lab.chaos ...)."""
    return field(default_factory=cls, metadata={"group": cls})


# --- the model: every setting of invoke.yaml's ``lab:`` tree, its default and its rule ---

@dataclass(frozen=True)
class ToolsGroup:
    """lab.tools: where kind and kubectl are ("" = PATH, then bin_dir)."""

    kind: str = setting("", TEXT)
    kubectl: str = setting("", TEXT)
    bin_dir: str = setting(".cache/bin", PATH)  # where `invoke images.kind-node` puts the kind and kubectl it builds


@dataclass(frozen=True)
class ImagesGroup:
    """lab.images: which images the lab runs, and where they come from."""

    cassandra: str = setting("cassandra:5.0", text(required=True, what="an image name"))
    cassandra_source: str = setting("auto", SOURCE)  # auto: local copy, else pull, else build; pull; build; local
    cassandra_version: str = setting("", TEXT)  # "": lab.images.cassandra's default 5.0.x
    kind_node: str = setting(KIND_NODE_IMAGE, text(required=True, what="an image name"))
    kind_node_source: str = setting("auto", SOURCE)
    writer: str = setting("", TEXT)  # "": the content-addressed tag that `invoke build` makes
    writer_base: str = setting("", TEXT)  # "": lab.images.writer's default base image
    #: Where the nodes pull the lab's own images from instead of `kind load`: "" (nowhere: kind load), "local"
    #: (the lab's registry container, lab/registry.py: the writer and Cassandra go through it), or another
    #: registry such as registry.example:5000/lab (the writer is pushed there).
    registry: str = setting("", TEXT)
    registry_port: int = setting(5001, PORT)  # the lab's registry on 127.0.0.1 (localhost:<port>/... in names)
    #: true: reset gives the workers a node image with the Cassandra image already in it (built once from
    #: kind_node, lab.images.preloaded), the control plane keeps kind_node, the writer is kind-loaded into the
    #: workers only, and `up` loads it while Cassandra starts. On: `invoke bench --lab --up` measured the whole
    #: `invoke up` at 233 s against 309 s by `kind load` (docs/measurements.md); the kind-load path only (no registry).
    preload: bool = setting(True, truth())
    pull_timeout: int = setting(180, whole(1))

    @property
    def local_registry(self) -> bool:
        """lab.images.registry is "local": the lab runs its own registry (lab/registry.py) and the nodes pull
        the writer and Cassandra from it."""
        return self.registry == LOCAL_REGISTRY

    @property
    def push_prefix(self) -> str:
        """What an image's name gets in front to live in the configured registry ("" when there is none):
        ``localhost:<registry_port>`` for the lab's own, as the host and (through hosts.toml) the nodes call it."""
        if self.local_registry:
            return f"localhost:{self.registry_port}"
        return self.registry.rstrip("/")


@dataclass(frozen=True)
class WriterGroup:
    """lab.writer: the writer Deployment(s) that deploy and up apply (their flags beat these)."""

    topic: str = setting("test", TOPIC)
    #: One writer Deployment per topic (lab/writers.py); empty: one writer on ``topic``. A YAML list, or
    #: comma-separated text (INVOKE_LAB_WRITER_TOPICS=a,b); its first topic is the first writer's.
    topics: tuple[str, ...] = setting((), TOPICS)
    consistency: str = setting("QUORUM", LEVELS)  # one level for all writers, or one each: ONE,QUORUM,ALL
    mode: str = setting("robust", choice(WRITER_MODES))
    resume: bool = setting(False, truth())  # the seed writer's WRITER_RESUME (section V's fix; robust always resumes)
    #: A writer directory of your own (any language) that `invoke build` builds from its Dockerfile ("": the lab's).
    source: str = setting("", TEXT)
    #: auto: the lab's HTTP probes for its robust writer only; http: your writer serves writer.yml's /readyz and
    #: /healthz on HTTP_PORT; none: no probes.
    probes: str = setting("auto", choice(WRITER_PROBES))


@dataclass(frozen=True)
class CassandraGroup:
    """lab.cassandra: how the Cassandra pods run."""

    auth: bool = setting(True, truth("on", "off"))  # on: logins and grants (lab/auth.py); off: any client connects
    #: When a write is acknowledged: periodic (Cassandra's default), group or batch (lab/commitlog.py).
    commitlog_sync: str = setting(COMMITLOG_DEFAULT, choice(COMMITLOG_MODES,
                                                            f" (Cassandra's default: {COMMITLOG_DEFAULT})"))


@dataclass(frozen=True)
class SecurityGroup:
    """lab.security: what deploy insists on."""

    #: true: deploy refuses (exit 2, before the writer) unless its probe shows the NetworkPolicies enforced
    #: (lab/policies.py); false: one warning line.
    require_enforced_policies: bool = setting(False, truth())
    #: true: CQL speaks only TLS and the nodes encrypt and authenticate each other, with the lab's CA (lab/tls.py);
    #: false: plaintext, for a writer of your own that cannot do TLS yet.
    tls: bool = setting(True, truth())
    #: A namespace whose pods may open the writers' HTTP port (/metrics, /acks), e.g. a Prometheus's; "": none, the
    #: port admits the node network only (the kubelet's probes). writer.yml's NetworkPolicy gets one rule for it.
    monitoring_namespace: str = setting("", text(pattern=K8S_NAME_RE, what="a namespace name"))


@dataclass(frozen=True)
class VerifyGroup:
    """lab.verify: how verify (and every round's check) reads the data back."""

    consistency: str = setting("QUORUM", LEVEL)
    pod: str = setting("cassandra-0", text(pattern=K8S_NAME_RE, required=True, what="a pod name"))
    request_timeout: int = setting(120, whole(1))  # cqlsh --request-timeout for full-partition reads


@dataclass(frozen=True)
class ChaosGroup:
    """lab.chaos: the rounds' pacing and how the writer's progress is sampled (chaos's flags beat these)."""

    rounds: int = setting(1, whole(1))
    interval: float = setting(30.0, number(0))  # seconds between rounds
    sample_every: float = setting(0.5, number(0, above=True))  # seconds between samples of the writer's progress
    settle: float = setting(10.0, number(0))  # seconds to keep sampling after recovery
    metrics_port: int = setting(8080, PORT)  # the writer's HTTP port (/metrics)
    #: The acknowledged-prefix gauge on /metrics (the round's witness); falls back to last_seq via cqlsh.
    metric: str = setting("writer_watermark_seq", text(pattern=METRIC_RE, required=True,
                                                       what="a Prometheus metric name (letters, digits, _ and :)"))
    cpu_weight: bool = setting(False, truth())  # the writers' kind nodes get 4x CPU weight during a round
    #: After recovery, how long the writer may take to write again before the round calls it wedged (the writer
    #: re-resolves its seeds after a bound of its own when every address went stale).
    resume_timeout: float = setting(180.0, number(0, above=True))


@dataclass(frozen=True)
class TimeoutsGroup:
    """lab.timeouts, in seconds."""

    cluster: int = setting(600, whole(1))
    cassandra: int = setting(900, whole(1))
    writer: int = setting(300, whole(1))
    pod: int = setting(600, whole(1))


@dataclass(frozen=True)
class ReportGroup:
    """lab.report: the hand-in's title block (invoke report --pdf / --docx)."""

    name: str = setting("", TEXT)
    course: str = setting("ECE 573", TEXT)
    date: str = setting("today", DATE)  # "today" is the day the report is collected
    title: str = setting("Project 4: Container Orchestration with Kubernetes", TEXT)


@dataclass(frozen=True)
class LabSettings:
    """invoke.yaml's ``lab:`` tree, typed: the one place each setting's default and bounds are written."""

    cluster: str = setting("kind", text(pattern=CLUSTER_RE, required=True,
                                        what="a kind cluster name (lowercase letters, digits, - and .)"))
    context: str = setting("", TEXT)  # "": kind-<cluster>; anything else is a foreign context (see allow_context)
    allow_context: str = setting("", TEXT)  # must equal `context` to let destructive tasks touch a non-kind context
    namespace: str = setting("default", text(pattern=K8S_LABEL_RE, required=True,
                                             what="a namespace name (lowercase letters, digits and -)"))
    cluster_config: str = setting("cluster.yml", PATH)
    cassandra_manifest: str = setting("cassandra.yml", PATH)
    writer_manifest: str = setting("writer.yml", PATH)
    artifacts: str = setting("artifacts", PATH)  # chaos and verify JSON records land here
    state_dir: str = setting(".cache/lab", PATH)  # rendered manifests and the image tags chosen by reset/build
    #: Cassandra's PVCs (cassandra.yml's volumeClaimTemplates); kind's default: the local-path provisioner.
    storage_class: str = setting("standard", text(pattern=K8S_NAME_RE, required=True,
                                                  what="a StorageClass name (lowercase letters, digits, - and .)"))
    quiet: bool = setting(False, truth())  # true: no progress lines, only results and errors
    tools: ToolsGroup = group(ToolsGroup)
    images: ImagesGroup = group(ImagesGroup)
    writer: WriterGroup = group(WriterGroup)
    cassandra: CassandraGroup = group(CassandraGroup)
    security: SecurityGroup = group(SecurityGroup)
    verify: VerifyGroup = group(VerifyGroup)
    chaos: ChaosGroup = group(ChaosGroup)
    timeouts: TimeoutsGroup = group(TimeoutsGroup)
    report: ReportGroup = group(ReportGroup)


def settings_fields(cls: type = LabSettings, keys: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Rule]]:
    """Every setting of the model: its keys under lab (chaos, rounds) and its rule, in the model's order."""
    for f in dataclasses.fields(cls):
        if "group" in f.metadata:
            yield from settings_fields(f.metadata["group"], (*keys, f.name))
        else:
            yield (*keys, f.name), f.metadata["rule"]


def _invoke_tree(value: Any) -> dict[str, Any]:
    return {f.name: _invoke_tree(getattr(value, f.name)) if "group" in f.metadata
            else f.metadata["rule"].write(getattr(value, f.name)) for f in dataclasses.fields(value)}


#: The collection's configuration for invoke, written from the model. Every value is text: invoke casts an
#: INVOKE_LAB_* value by its default's type (any text but "" and "0" is True for a bool, so
#: INVOKE_LAB_QUIET=false would mean true; a failed int() is a traceback naming no variable), so the lab reads
#: the text itself, with the rules above, and its errors name the variable.
DEFAULTS: dict[str, Any] = {"lab": _invoke_tree(LabSettings())}


class SettingError(PreconditionError):
    """A setting the rules refuse: ``keys`` under lab, the value given and ``problem`` (what to give instead),
    so the line can start from where the value came from (``blame``)."""

    def __init__(self, keys: tuple[str, ...], value: Any, problem: str, message: str | None = None):
        self.keys, self.value, self.problem = keys, value, problem
        self.key = ".".join(("lab", *keys))
        super().__init__(message or f"{self.key} is {value!r}; {problem}")

    def blame(self, source: Origin) -> PreconditionError:
        return PreconditionError(source.blame(self.key, self.value, self.problem, str(self)))


def read_group(cls: type, raw: Mapping[str, Any], keys: tuple[str, ...] = ()) -> Any:
    """A group of the model from its tree (keys checked by check_keys first); missing keys take the defaults."""
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        if "group" in f.metadata:
            values[f.name] = read_group(f.metadata["group"], raw[f.name], (*keys, f.name))
            continue
        try:
            values[f.name] = f.metadata["rule"].read(raw[f.name])
        except Problem as problem:
            raise SettingError((*keys, f.name), raw[f.name], str(problem)) from None
    return cls(**values)


def read_settings(raw: Any) -> LabSettings:
    """invoke's ``lab`` tree (a plain mapping, or invoke's DataProxy) as the typed model."""
    raw = _plain(raw if raw is not None else {})
    if not isinstance(raw, Mapping):
        raise SettingError((), raw, "it holds settings", f"lab is {raw!r}; it holds settings (lab: {{cluster: kind, "
                                                         "...}), see invoke.yaml")
    check_keys(raw, DEFAULTS["lab"], "lab")
    return read_group(LabSettings, raw)


def read_flag(cls: type, key: str, value: Any, flag: str) -> Any:
    """A task flag's value for setting ``key`` of group ``cls``, read by that setting's rule; an error names
    the flag as typed (``--consistency FOO: use one of ...``)."""
    rule = next(f.metadata["rule"] for f in dataclasses.fields(cls) if f.name == key)
    try:
        return rule.read(value)
    except Problem as problem:
        raise SettingError((key,), value, str(problem)).blame(Origin("flag", flag)) from None


#: deploy's and up's flags over lab.writer.* (tasks.py), for errors that name them.
WRITER_FLAGS = {"mode": "--writer-mode", "topic": "--topic", "consistency": "--consistency"}


@dataclass(frozen=True)
class LabConfig:
    """Everything a lab operation needs to know, validated once: the model's groups, with lab.writer and
    lab.cassandra as the flat fields the operations read (deploy's flags change them: ``with_writer``)."""

    cluster: str
    context: str
    allow_context: str
    namespace: str
    cluster_config: str
    cassandra_manifest: str
    writer_manifest: str
    artifacts: str
    state_dir: str
    quiet: bool
    tools: ToolsGroup
    images: ImagesGroup
    topic: str
    #: Every writer's topic when there are several (lab.writer.topics, --writers N); () means one, on ``topic``.
    writer_topics: tuple[str, ...]
    consistency: str
    writer_mode: str
    writer_resume: bool
    #: lab.writer.source: a writer directory with its own Dockerfile ("" = the lab's writer).
    writer_source: str
    writer_probes: str
    cassandra_auth: bool
    security: SecurityGroup
    verify: VerifyGroup
    chaos: ChaosGroup
    timeouts: TimeoutsGroup
    report: ReportGroup
    storage_class: str
    commitlog_sync: str
    root: Path = ROOT

    @property
    def kube_context(self) -> str:
        """The kubectl context every command names explicitly (never the ambient current-context)."""
        return self.context or f"kind-{self.cluster}"

    @property
    def is_kind_context(self) -> bool:
        return self.kube_context == f"kind-{self.cluster}"

    @property
    def own_writer(self) -> bool:
        """The writer is the user's own (lab.writer.source), not the lab's: lab.writer.mode does not apply."""
        return bool(self.writer_source)

    @property
    def topics(self) -> tuple[str, ...]:
        """The topic of each writer to deploy, the first writer's first."""
        return self.writer_topics or (self.topic,)

    @property
    def consistencies(self) -> tuple[str, ...]:
        """The consistency level of each writer, in the order of ``topics``: lab.writer.consistency is one level
        for all, or one per writer (``ONE,QUORUM,ALL`` with three writers: one fault, three levels side by side)."""
        levels = parse_levels(self.consistency)
        return levels * len(self.topics) if len(levels) == 1 else levels

    def path(self, relative: str) -> Path:
        """A project path (manifests, state, artifacts) resolved against the project root."""
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    @classmethod
    def from_settings(cls, s: LabSettings, *, root: Path = ROOT) -> LabConfig:
        """The operations' view of the model, validated (the checks that span several settings)."""
        topics = s.writer.topics
        cfg = cls(
            cluster=s.cluster, context=s.context, allow_context=s.allow_context, namespace=s.namespace,
            cluster_config=s.cluster_config, cassandra_manifest=s.cassandra_manifest,
            writer_manifest=s.writer_manifest, artifacts=s.artifacts, state_dir=s.state_dir, quiet=s.quiet,
            tools=s.tools, images=s.images,
            topic=topics[0] if topics else s.writer.topic, writer_topics=topics if len(topics) > 1 else (),
            consistency=s.writer.consistency, writer_mode=s.writer.mode, writer_resume=s.writer.resume,
            writer_source=s.writer.source, writer_probes=s.writer.probes,
            cassandra_auth=s.cassandra.auth, commitlog_sync=s.cassandra.commitlog_sync, security=s.security,
            verify=s.verify, chaos=s.chaos, timeouts=s.timeouts, report=s.report, storage_class=s.storage_class,
            root=root,
        )
        cfg.validate()
        return cfg

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None, *, root: Path = ROOT,
                     origin_of: Callable[[tuple[str, ...]], Origin] | None = None) -> LabConfig:
        """Build from a ``lab:`` tree (missing keys take the model's defaults); raises PreconditionError on bad
        values, a line that starts from where the value came from when ``origin_of`` says (keys -> Origin)."""
        try:
            settings = read_settings(raw)
        except SettingError as err:
            if origin_of is None:
                raise
            raise err.blame(origin_of(("lab", *err.keys))) from None
        return cls.from_settings(settings, root=root)

    @classmethod
    def from_invoke(cls, c) -> LabConfig:
        """From an invoke Context: ``c.config.lab`` (every layer merged), errors naming the layer's source."""
        try:
            raw = c.config["lab"]
        except (KeyError, AttributeError):
            raw = {}
        return cls.from_mapping(raw, origin_of=lambda keys: origin(c.config, keys))

    def with_writer(self, *, mode: str | None = None, resume: bool | None = None, topic: str | None = None,
                    consistency: str | None = None, writers: int | None = None) -> LabConfig:
        """A validated copy with the writer settings a task's flags give (None keeps invoke.yaml's).

        ``topic`` alone means one writer on it; ``writers`` N means N writers on ``topic`` (or lab.writer.topic),
        ``topic-2`` .. ``topic-N`` (lab/writers.py)."""

        given = {"mode": mode, "topic": topic, "consistency": consistency}
        read = {key: read_flag(WriterGroup, key, value, WRITER_FLAGS[key])
                for key, value in given.items() if value is not None}
        changes: dict[str, Any] = {"writer_mode": read.get("mode"), "writer_resume": resume,
                                   "topic": read.get("topic"), "consistency": read.get("consistency")}
        if writers is not None:
            if not 1 <= writers <= MAX_WRITERS:
                raise PreconditionError(f"--writers {writers}: give 1 to {MAX_WRITERS} (one Deployment per topic)")
            first = self.topic if topic is None else read["topic"]
            changes["writer_topics"] = topics_for(first, writers) if writers > 1 else ()
        elif topic is not None:
            changes["writer_topics"] = ()
        cfg = dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """The checks that span several settings (each setting alone was read by its rule)."""
        levels = parse_levels(self.consistency)
        for level in levels:
            check_writer(self.writer_mode, self.topic, level, own=self.own_writer)
        if len(levels) not in (1, len(self.topics)):
            raise PreconditionError(f"lab.writer.consistency {self.consistency!r} names {len(levels)} levels for "
                                    f"{len(self.topics)} writer(s); give one level for all, or one per writer")
        if self.writer_topics:
            if self.topic == "":
                raise PreconditionError("several writers need a topic each; the empty topic is for one seed writer")
            for topic in self.writer_topics:
                check_topic(topic)


def explain(config: Any, *, check: bool = False) -> list[str]:
    """`invoke config`: each setting's effective value and where it came from (default, a file and its line,
    an env var, a flag), read from invoke's ``config``; with ``check``, only "configuration ok". A bad setting
    raises the one-line PreconditionError, as every task would."""
    raw = config["lab"] if "lab" in config else {}
    LabConfig.from_mapping(raw, origin_of=lambda keys: origin(config, keys))  # a task's own errors, as it meets them
    if check:
        return ["configuration ok"]
    model = read_settings(raw)
    rows = []
    for keys, rule in settings_fields():
        value: Any = model
        for key in keys:
            value = getattr(value, key)
        rows.append((".".join(("lab", *keys)), origin(config, ("lab", *keys)).label(), rule.write(value) or '""'))
    widths = [max(len(row[i]) for row in rows) for i in (0, 1)]
    return [f"{k:<{widths[0]}}  {s:<{widths[1]}}  {v}" for k, s, v in [("setting", "from", "value"), *rows]]


#: What a setting takes, where a group of settings was given instead and the general words would mislead.
VALUE_HINTS = {"lab.writer.topics": "give a list of topics, or a,b,c"}


def check_keys(raw: Mapping[str, Any], known: Mapping[str, Any], where: str) -> None:
    """Every key of ``raw`` is one of ``known``'s (recursively where both hold a group): a misspelt key
    (lab.clustr) would otherwise be ignored in silence, so name the nearest known one."""
    keys = tuple(where.split(".")[1:])
    for key, value in raw.items():
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            hint = f"; did you mean {where}.{close[0]}?" if close else f"; known: {', '.join(sorted(known))}"
            raise SettingError((*keys, key), value, "unknown setting", f"unknown setting {where}.{key}{hint}")
        if isinstance(value, Mapping) and not isinstance(known[key], Mapping):
            hint = VALUE_HINTS.get(f"{where}.{key}", "it takes one value, not a group of settings")
            raise SettingError((*keys, key), value, hint)
        if isinstance(known[key], Mapping):
            if not isinstance(value, Mapping):
                raise SettingError((*keys, key), value, f"it is a group of settings ({', '.join(sorted(known[key]))})")
            check_keys(value, known[key], f"{where}.{key}")


def check_topic(topic: str) -> str:
    """A topic goes into CQL literals and pod env; refuse anything but a plain name."""
    if not TOPIC_RE.match(topic or ""):
        raise PreconditionError(f"topic {topic!r} is not a plain name ({PLAIN_NAME})")
    return topic


def parse_levels(value: str) -> tuple[str, ...]:
    """lab.writer.consistency as levels: ``QUORUM`` or ``ONE,QUORUM,ALL`` (each checked by the caller)."""
    return tuple(level.strip().upper() for level in str(value).split(","))


def topics_for(topic: str, count: int) -> tuple[str, ...]:
    """``--writers N``'s topics: ``topic``, then ``topic-2`` .. ``topic-N``."""
    return (topic, *(f"{check_topic(topic)}-{n}" for n in range(2, count + 1)))


def check_writer(mode: str, topic: str, consistency: str, *, own: bool = False) -> None:
    """The writer settings together: an empty topic only for the seed writer, which crash-loops on it, or for a
    writer of your own (``own``: lab.writer.source), whose crash loop is yours to watch."""
    if mode not in WRITER_MODES:
        raise PreconditionError(f"lab.writer.mode is {mode!r}; use one of {', '.join(WRITER_MODES)}")
    if topic == "" and mode == "robust" and not own:
        raise PreconditionError("the robust writer needs a topic (lab.writer.topic / --topic is empty); an empty "
                                "topic is only for --writer-mode seed, where it shows the assignment's 'Unknown topic'")
    if topic != "":
        check_topic(topic)
    if mode == "seed" and (consistency or "").upper() not in SEED_CONSISTENCY_LEVELS:
        raise PreconditionError(f"lab.writer.consistency {consistency!r}: the seed writer (the assignment's Go writer) "
                                f"knows only {', '.join(SEED_CONSISTENCY_LEVELS)}")


def check_consistency(level: str, *, key: str = "consistency") -> str:
    """A consistency level; ``key`` is the setting or the flag (``--consistency``) the error names."""
    try:
        return _read_level(level)
    except Problem as problem:
        line = f"{key} {level}: {problem}" if key.startswith("--") else f"{key} is {level!r}; {problem}"
        raise PreconditionError(line) from None


def resolve_tool(name: str, configured: str = "", *, bin_dir: str = ".cache/bin", root: Path = ROOT) -> str | None:
    """Where ``name`` (kind, kubectl) lives: the configured path, else PATH, else the project's bin dir.

    A configured path that does not exist is an error rather than a silent fallback: the user asked for it.
    """
    if configured:
        path = Path(os.path.expanduser(configured))
        path = path if path.is_absolute() else root / path
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise PreconditionError(f"lab.tools.{name} is {configured!r}, which is not an executable file")
        return str(path)
    found = shutil.which(name)
    if found:
        return found
    local = Path(bin_dir)
    local = (local if local.is_absolute() else root / local) / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return None


def _plain(value: Any) -> Any:
    """invoke's DataProxy trees -> plain dicts, so they merge and compare like data."""
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
