"""The lab's settings: defaults here, overridden by invoke.yaml, INVOKE_LAB_* env vars and task flags.

tasks.py registers ``DEFAULTS`` as the collection's configuration, so invoke's own precedence applies
(collection defaults < invoke.yaml < env < ``-f file`` < CLI flags). ``LabConfig.from_invoke`` turns the
merged ``c.config.lab`` tree into a typed, validated value that the library functions take.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.commitlog import DEFAULT_MODE as COMMITLOG_DEFAULT
from lab.commitlog import check_mode
from lab.errors import PreconditionError

#: The project root: tasks.py, the manifests and invoke.yaml sit here.
ROOT = Path(__file__).resolve().parent.parent

#: kind v0.23.0's default node image (Kubernetes v1.30.0), pinned by digest as kind's release notes give it.
KIND_NODE_IMAGE = "kindest/node:v1.30.0@sha256:047357ac0cfea04663786a612ba1eaba9702bef25227a794b52890dd8bcd692e"

#: Consistency levels that both the writer and cqlsh understand.
CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")

#: Topics end up inside CQL string literals (cqlsh -e), so only plain names are accepted.
TOPIC_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

IMAGE_SOURCES = ("auto", "pull", "build", "local")

#: lab.images.registry's value for the lab's own registry container.
LOCAL_REGISTRY = "local"

#: A Kubernetes object name (RFC 1123 subdomain), as a StorageClass's must be.
K8S_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")

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

DEFAULTS: dict[str, Any] = {
    "lab": {
        "cluster": "kind",  # the assignment's kind cluster name; kubectl context kind-<cluster>
        "context": "",  # empty: kind-<cluster>; anything else is a foreign context (see allow_context)
        "allow_context": "",  # must equal `context` to let destructive tasks touch a non-kind context
        "namespace": "default",
        "cluster_config": "cluster.yml",
        "cassandra_manifest": "cassandra.yml",
        "writer_manifest": "writer.yml",
        "artifacts": "artifacts",
        "state_dir": ".cache/lab",  # rendered manifests and the image tags chosen by reset/build
        "quiet": "false",  # "true": no progress lines, only results and errors (text for the reason below)
        "tools": {"kind": "", "kubectl": "", "bin_dir": ".cache/bin"},
        "images": {
            "cassandra": "cassandra:5.0",
            "cassandra_source": "auto",  # auto: local copy, else pull, else build; pull; build; local
            "cassandra_version": "",  # empty: lab.images.cassandra's default 5.0.x
            "kind_node": KIND_NODE_IMAGE,
            "kind_node_source": "auto",  # auto: local copy, else pull, else build; pull; build; local
            "writer": "",  # empty: the content-addressed tag that `invoke build` makes
            "writer_base": "",  # empty: lab.images.writer's default base image
            # Where the nodes pull the lab's own images from instead of `kind load`: empty (nowhere: kind load),
            # "local" (the lab's registry container, lab/registry.py: the writer and Cassandra go through it), or
            # another registry such as registry.example:5000/lab (the writer is pushed there).
            "registry": "",
            # The host port of the lab's registry (localhost:<port>/... in image names). Text, as lab.writer.resume
            # is: invoke casts an INVOKE_LAB_* value by the default's type, and a failed int() there is a traceback,
            # not our one-line error.
            "registry_port": "5001",
            "pull_timeout": 180,
        },
        "storage_class": "standard",  # Cassandra's PVCs (cassandra.yml's volumeClaimTemplates); kind's default
        # mode robust|seed; resume: WRITER_RESUME for the seed writer (section V's fix; robust always resumes).
        # resume is the text "false", not a bool: invoke casts an env value by the default's type, and for a bool
        # any text but "" and "0" is True, so INVOKE_LAB_WRITER_RESUME=false would have meant true.
        # topics: one writer Deployment per topic (lab/writers.py); empty: one writer on `topic`. A YAML list, or
        # comma-separated text (INVOKE_LAB_WRITER_TOPICS=a,b). When set, its first topic is the first writer's.
        # source: a writer directory of your own (any language) that `invoke build` builds from its Dockerfile
        # instead of the lab's writer ("": the lab's); probes: auto|http|none (auto: the lab's HTTP probes for the
        # lab's robust writer only; http: your writer serves writer.yml's /readyz and /healthz on HTTP_PORT).
        "writer": {"topic": "test", "topics": "", "consistency": "QUORUM", "mode": "robust", "resume": "false",
                   "source": "", "probes": "auto"},
        # auth on: logins and grants (lab/auth.py); off: Cassandra accepts any client, as the assignment's does.
        # commitlog_sync of every Cassandra pod: periodic (Cassandra's default), group or batch (lab/commitlog.py).
        "cassandra": {"auth": "on", "commitlog_sync": COMMITLOG_DEFAULT},
        "verify": {"consistency": "QUORUM", "pod": "cassandra-0", "request_timeout": 120},
        "chaos": {"rounds": 1, "interval": 30, "sample_every": 0.5, "settle": 10,
                  "metrics_port": 8080, "metric": "writer_watermark_seq", "cpu_weight": False},
        "timeouts": {"cluster": 600, "cassandra": 900, "writer": 300, "pod": 600},
        # The hand-in's title block (invoke report); date "today" is the day the report is collected.
        "report": {"name": "", "course": "ECE 573", "date": "today",
                   "title": "Project 4: Container Orchestration with Kubernetes"},
    }
}

_LAB = DEFAULTS["lab"]


@dataclass(frozen=True)
class Images:
    cassandra: str
    cassandra_source: str
    cassandra_version: str
    kind_node: str
    kind_node_source: str
    writer: str
    writer_base: str
    registry: str
    registry_port: int
    pull_timeout: int

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
class Timeouts:
    cluster: int
    cassandra: int
    writer: int
    pod: int


@dataclass(frozen=True)
class LabConfig:
    """Everything a lab operation needs to know, validated once."""

    # Field defaults come from DEFAULTS (the one place in code; invoke.yaml documents the same values).
    cluster: str = _LAB["cluster"]
    context: str = _LAB["context"]
    allow_context: str = _LAB["allow_context"]
    namespace: str = _LAB["namespace"]
    cluster_config: str = _LAB["cluster_config"]
    cassandra_manifest: str = _LAB["cassandra_manifest"]
    writer_manifest: str = _LAB["writer_manifest"]
    artifacts: str = _LAB["artifacts"]
    state_dir: str = _LAB["state_dir"]
    quiet: bool = False  # lab.quiet, parsed (DEFAULTS holds the text "false")
    tools: Mapping[str, str] = field(default_factory=lambda: dict(_LAB["tools"]))
    images: Images = field(default_factory=lambda: parse_images(_LAB["images"]))
    topic: str = _LAB["writer"]["topic"]
    #: Every writer's topic when there are several (lab.writer.topics, --writers N); () means one, on ``topic``.
    writer_topics: tuple[str, ...] = ()
    consistency: str = _LAB["writer"]["consistency"]
    writer_mode: str = _LAB["writer"]["mode"]
    writer_resume: bool = False  # lab.writer.resume, parsed (DEFAULTS holds the text "false")
    #: lab.writer.source: a writer directory with its own Dockerfile ("" = the lab's writer).
    writer_source: str = _LAB["writer"]["source"]
    writer_probes: str = _LAB["writer"]["probes"]
    cassandra_auth: bool = True  # lab.cassandra.auth, parsed (DEFAULTS holds the text "on")
    verify: Mapping[str, Any] = field(default_factory=lambda: dict(_LAB["verify"]))
    chaos: Mapping[str, Any] = field(default_factory=lambda: dict(_LAB["chaos"]))
    timeouts: Timeouts = field(default_factory=lambda: Timeouts(**_LAB["timeouts"]))
    report: Mapping[str, str] = field(default_factory=lambda: dict(_LAB["report"]))
    storage_class: str = _LAB["storage_class"]
    commitlog_sync: str = _LAB["cassandra"]["commitlog_sync"]
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
    def from_mapping(cls, raw: Mapping[str, Any] | None, *, root: Path = ROOT) -> LabConfig:
        """Build from a ``lab:`` tree (missing keys take DEFAULTS); raises PreconditionError on bad values."""
        raw = _plain(raw or {})
        if not isinstance(raw, Mapping):
            raise PreconditionError(f"lab is {raw!r}; it holds settings (lab: {{cluster: kind, ...}}), see invoke.yaml")
        check_keys(raw, DEFAULTS["lab"], "lab")
        lab = _merge(DEFAULTS["lab"], raw)
        images = parse_images(lab["images"])
        timeouts = Timeouts(**{k: parse_number(lab["timeouts"][k], key=f"lab.timeouts.{k}", least=1)
                               for k in _LAB["timeouts"]})
        chaos = {**lab["chaos"], **{k: parse_number(lab["chaos"][k], key=f"lab.chaos.{k}", least=least, real=real,
                                                    above=k == "sample_every")
                                    for k, (least, real) in CHAOS_NUMBERS.items() if k in lab["chaos"]}}
        verify = {**lab["verify"], "request_timeout": parse_number(lab["verify"]["request_timeout"],
                                                                   key="lab.verify.request_timeout", least=1)}
        topics = parse_topics(lab["writer"].get("topics"))
        cfg = cls(
            cluster=str(lab["cluster"]),
            context=str(lab["context"] or ""),
            allow_context=str(lab["allow_context"] or ""),
            namespace=str(lab["namespace"]),
            cluster_config=str(lab["cluster_config"]),
            cassandra_manifest=str(lab["cassandra_manifest"]),
            writer_manifest=str(lab["writer_manifest"]),
            artifacts=str(lab["artifacts"]),
            state_dir=str(lab["state_dir"]),
            quiet=parse_bool(lab["quiet"], key="lab.quiet"),
            tools=dict(lab["tools"]),
            images=images,
            topic=topics[0] if topics else str(lab["writer"]["topic"]),
            writer_topics=topics if len(topics) > 1 else (),
            consistency=",".join(parse_levels(lab["writer"]["consistency"])),
            writer_mode=str(lab["writer"]["mode"]).lower(),
            writer_resume=parse_bool(lab["writer"]["resume"], key="lab.writer.resume"),
            writer_source=str(lab["writer"]["source"] or ""),
            writer_probes=str(lab["writer"]["probes"]).lower(),
            cassandra_auth=parse_on_off(lab["cassandra"]["auth"], key="lab.cassandra.auth"),
            verify=verify,
            chaos=chaos,
            timeouts=timeouts,
            report={
                k: str(lab["report"][k] if lab["report"][k] is not None else "") for k in _LAB["report"]
            },
            storage_class=str(lab["storage_class"] or ""),
            commitlog_sync=check_mode(lab["cassandra"]["commitlog_sync"]),
            root=root,
        )
        cfg.validate()
        return cfg

    @classmethod
    def from_invoke(cls, c) -> LabConfig:
        """From an invoke Context: ``c.config.lab`` (collection defaults merged with invoke.yaml)."""
        try:
            raw = c.config["lab"]
        except (KeyError, AttributeError):
            raw = {}
        return cls.from_mapping(raw)

    def with_writer(self, *, mode: str | None = None, resume: bool | None = None, topic: str | None = None,
                    consistency: str | None = None, writers: int | None = None) -> LabConfig:
        """A validated copy with the writer settings a task's flags give (None keeps invoke.yaml's).

        ``topic`` alone means one writer on it; ``writers`` N means N writers on ``topic`` (or lab.writer.topic),
        ``topic-2`` .. ``topic-N`` (lab/writers.py)."""

        levels = None if consistency is None else ",".join(parse_levels(consistency))
        changes: dict[str, Any] = {"writer_mode": None if mode is None else mode.lower(), "writer_resume": resume,
                                   "topic": topic, "consistency": levels}
        if writers is not None:
            if not 1 <= writers <= MAX_WRITERS:
                raise PreconditionError(f"--writers {writers}: give 1 to {MAX_WRITERS} (one Deployment per topic)")
            first = self.topic if topic is None else topic
            changes["writer_topics"] = topics_for(first, writers) if writers > 1 else ()
        elif topic is not None:
            changes["writer_topics"] = ()
        cfg = dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", self.cluster):
            raise PreconditionError(
                f"lab.cluster {self.cluster!r} is not a valid kind cluster name (lowercase, digits, - .)"
            )
        levels = parse_levels(self.consistency)
        for level in levels:
            check_writer(self.writer_mode, self.topic, level, own=self.own_writer)
        if self.writer_probes not in WRITER_PROBES:
            raise PreconditionError(f"lab.writer.probes is {self.writer_probes!r}; "
                                    f"use one of {', '.join(WRITER_PROBES)}")
        if len(levels) not in (1, len(self.topics)):
            raise PreconditionError(f"lab.writer.consistency {self.consistency!r} names {len(levels)} levels for "
                                    f"{len(self.topics)} writer(s); give one level for all, or one per writer")
        if self.writer_topics:
            if self.topic == "":
                raise PreconditionError("several writers need a topic each; the empty topic is for one seed writer")
            for topic in self.writer_topics:
                check_topic(topic)
        for level in levels:
            check_consistency(level, key="lab.writer.consistency")
        check_consistency(str(self.verify.get("consistency", "QUORUM")), key="lab.verify.consistency")
        for key in ("cassandra_source", "kind_node_source"):
            value = getattr(self.images, key)
            if value not in IMAGE_SOURCES:
                raise PreconditionError(f"lab.images.{key} is {value!r}; use one of {', '.join(IMAGE_SOURCES)}")
        check_report_date(self.report["date"])
        check_mode(self.commitlog_sync)
        if not K8S_NAME_RE.match(self.storage_class):
            raise PreconditionError(f"lab.storage_class {self.storage_class!r} is not a StorageClass name "
                                    "(lowercase letters, digits, - and .)")


def parse_images(raw: Mapping[str, Any]) -> Images:
    """lab.images with its port and timeout parsed (a bad one is one line, exit 2)."""
    return Images(**{k: raw[k] for k in _LAB["images"] if k not in ("registry_port", "pull_timeout")},
                  registry_port=parse_port(raw["registry_port"], key="lab.images.registry_port"),
                  pull_timeout=parse_number(raw["pull_timeout"], key="lab.images.pull_timeout", least=1))


#: lab.chaos's numbers: the least each takes, and whether a fraction is allowed (sample_every: 0.5 s); a
#: least of 0 for a fraction means above 0 (a sample every 0 s is a busy loop).
CHAOS_NUMBERS: dict[str, tuple[float, bool]] = {
    "rounds": (1, False), "interval": (0, True), "sample_every": (0, True), "settle": (0, True),
    "metrics_port": (1, False),
}


#: What a setting takes, where a group of settings was given instead and the general words would mislead.
VALUE_HINTS = {"lab.writer.topics": "give a list of topics, or a,b,c"}


def check_keys(raw: Mapping[str, Any], known: Mapping[str, Any], where: str) -> None:
    """Every key of ``raw`` is one of ``known``'s (recursively where both hold a group): a misspelt key
    (lab.clustr) would otherwise be ignored in silence, so name the nearest known one."""
    for key, value in raw.items():
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
            hint = f"; did you mean {where}.{close[0]}?" if close else f"; known: {', '.join(sorted(known))}"
            raise PreconditionError(f"unknown setting {where}.{key}{hint}")
        if isinstance(value, Mapping) and not isinstance(known[key], Mapping):
            hint = VALUE_HINTS.get(f"{where}.{key}", "it takes one value, not a group of settings")
            raise PreconditionError(f"{where}.{key} is {value!r}; {hint}")
        if isinstance(known[key], Mapping):
            if not isinstance(value, Mapping):
                raise PreconditionError(f"{where}.{key} is {value!r}; it is a group of settings "
                                        f"({', '.join(sorted(known[key]))})")
            check_keys(value, known[key], f"{where}.{key}")


def parse_number(value: Any, *, key: str, least: float, real: bool = False, above: bool = False) -> Any:
    """A whole number (or, with ``real``, any number) of at least ``least`` (``above``: more than it), from YAML
    or from text (INVOKE_LAB_* env vars)."""
    kind = "a number" if real else "a whole number"
    bound = f"above {least:g}" if above else f"of {least:g} or more"
    problem = PreconditionError(f"{key} is {value!r}; give {kind} {bound}")
    if isinstance(value, bool):
        raise problem
    try:
        number = float(str(value).strip()) if real else int(str(value).strip())
    except ValueError:
        raise problem from None
    if number < least or (above and number == least):
        raise problem
    return number


def parse_port(value: Any, *, key: str) -> int:
    """A TCP port from YAML (an int) or from text (INVOKE_LAB_* env vars)."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise PreconditionError(f"{key} is {value!r}; use a TCP port number, 1-65535")
    return int(text)


def check_topic(topic: str) -> str:
    """A topic goes into CQL literals and pod env; refuse anything but a plain name."""
    if not TOPIC_RE.match(topic or ""):
        raise PreconditionError(f"topic {topic!r} is not a plain name (letters, digits, _ . -; at most 64)")
    return topic


def parse_topics(value: Any) -> tuple[str, ...]:
    """lab.writer.topics: a YAML list or comma-separated text; each a plain name, none twice."""
    if value is None or value == "":
        return ()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else None
    if items is None:
        raise PreconditionError(f"lab.writer.topics is {value!r}; give a list of topics, or a,b,c")
    topics = tuple(check_topic(str(t).strip()) for t in items if str(t).strip())
    repeated = sorted({t for t in topics if topics.count(t) > 1})
    if repeated:
        raise PreconditionError(f"lab.writer.topics names {repeated[0]} twice; one writer per topic")
    if len(topics) > MAX_WRITERS:
        raise PreconditionError(f"lab.writer.topics names {len(topics)} topics; at most {MAX_WRITERS}")
    return topics


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
        raise PreconditionError(f"lab.writer.mode {mode!r} is not one of {', '.join(WRITER_MODES)}")
    if topic == "" and mode == "robust" and not own:
        raise PreconditionError("the robust writer needs a topic (lab.writer.topic / --topic is empty); an empty "
                                "topic is only for --writer-mode seed, where it shows the assignment's 'Unknown topic'")
    if topic != "":
        check_topic(topic)
    if mode == "seed" and (consistency or "").upper() not in SEED_CONSISTENCY_LEVELS:
        raise PreconditionError(f"lab.writer.consistency {consistency!r}: the seed writer (the assignment's Go writer) "
                                f"knows only {', '.join(SEED_CONSISTENCY_LEVELS)}")


def parse_bool(value: Any, *, key: str) -> bool:
    """true/false from YAML, or from a string (INVOKE_LAB_* env vars arrive as text)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off", ""):
        return False
    raise PreconditionError(f"{key} is {value!r}; use true or false")


def parse_on_off(value: Any, *, key: str) -> bool:
    """on/off (YAML reads a bare on/off as a bool; INVOKE_LAB_* env vars arrive as text)."""
    try:
        return parse_bool(value, key=key)
    except PreconditionError:
        raise PreconditionError(f"{key} is {value!r}; use on or off") from None


def check_consistency(level: str, *, key: str = "consistency") -> str:
    level = (level or "").upper()
    if level not in CONSISTENCY_LEVELS:
        raise PreconditionError(f"{key} {level!r} is not one of {', '.join(CONSISTENCY_LEVELS)}")
    return level


def check_report_date(value: str) -> str:
    """lab.report.date: "today" or a calendar date (YYYY-MM-DD), so the hand-in never shows a typo."""
    if value != "today":
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            raise PreconditionError(f"lab.report.date {value!r} is not \"today\" or a date like 2024-11-03") from None
    return value


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
