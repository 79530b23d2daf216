"""`invoke doctor`: can this machine run `invoke up`, and which of its slow paths will it take?

Every check reads, none changes anything: the Docker engine and its version, free memory and disk against
what the lab needs, the inotify limits kind asks for, the lab's registry port, Pango for `report --pdf`,
kind and kubectl, and for each image whether `up` will reuse a local copy, pull it or build it here (and
roughly how long that takes). With the lab's cluster up, also a writer the namespace refuses or the
NetworkPolicies keep from Cassandra (lab/admission.py, as `invoke status` says it). One line per check, ✓ or
✗ with the fix; exit 2 when one blocks `invoke up`.

What the machine answers (memory, disk, a registry's reachability ...) comes through ``Host``, so the tests
drive the failing branches with fakes; docker's answers come through the lab's Runner, as everywhere.
"""

from __future__ import annotations

import ctypes.util
import dataclasses
import os
import shutil
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab import admission, docker, kubectl, preflight, registry, state
from lab.config import LabConfig
from lab.context import Lab
from lab.errors import LabError
from lab.images import cassandra as cassandra_image
from lab.images.kindnode import node as kind_node_image
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.runner import Runner

GB = 1024**3

#: The oldest Docker engine the lab is known to work with (README's prerequisites).
MIN_DOCKER = (20, 10)
#: Free memory the running lab wants: five kind nodes and three Cassandra JVMs (512 MB heap each).
MEMORY_NEEDED_GB = 6
#: Free disk, in GB: the running lab (node image 1.47 GB, Cassandra 518 MB and the writer 184 MB, plus a copy
#: of Cassandra and the writer `kind load`ed into each of five nodes); building the node image adds Go's
#: module and build caches (4.3 and 4.1 GB on the machine it was measured on); building Cassandra its jars.
DISK_NEEDED_GB = {"lab": 6, "kind_node_build": 9, "cassandra_build": 1}
#: Cold builds measured on a 2-core machine (docs/measurements.md), in minutes: the node image 15 idle (916 s)
#: to 40 with other work; the Cassandra image about 3 (166 s).
BUILD_MINUTES_ON_2_CORES = {"kind node": (15, 40), "Cassandra": (3, 5)}
#: The libraries WeasyPrint loads for `invoke report --pdf`, and their Debian/Ubuntu packages.
PANGO = {"pango-1.0": "libpango-1.0-0", "pangoft2-1.0": "libpangoft2-1.0-0"}


def _memory_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _registry_answers(host: str) -> bool:
    """An image registry's API answers over HTTPS (401 counts: it answered); a read, with a short timeout."""
    try:
        urllib.request.urlopen(f"https://{host}/v2/", timeout=5)  # noqa: S310 (a fixed https URL)
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Host:
    """What doctor asks the machine itself; the tests replace single fields."""

    memory_available: Callable[[], int | None] = _memory_available
    disk_free: Callable[[Path], int] = lambda path: shutil.disk_usage(path).free
    which: Callable[[str], str | None] = shutil.which
    port_free: Callable[[int], bool] = _port_free
    find_library: Callable[[str], str | None] = ctypes.util.find_library
    registry_answers: Callable[[str], bool] = _registry_answers
    cores: Callable[[], int] = lambda: os.cpu_count() or 1
    inotify: Path = Path("/proc/sys/fs/inotify")


@dataclass(frozen=True)
class Check:
    """One line of the diagnosis: what was found, and when it is not ok, the fix."""

    ok: bool
    found: str
    fix: str = ""
    blocks: bool = False  # not ok, and `invoke up` cannot succeed until it is fixed

    def line(self) -> str:
        return f" ✓ {self.found}" if self.ok else f" ✗ {self.found}: {self.fix}"


@dataclass
class Plan:
    """How `up` will get an image: reuse, pull or build (with build's tool and minutes)."""

    how: str  # "reused", "pulled", "built", "missing"
    ref: str
    note: str = ""


@dataclass
class Diagnosis:
    checks: list[Check] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(c.blocks for c in self.checks)


def registry_host(ref: str) -> str:
    """The registry an image reference pulls from (Docker Hub's API host for a bare name)."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return first
    return "registry-1.docker.io"


def docker_check(runner: Runner, host: Host) -> Check:
    if host.which(docker.DOCKER) is None:
        return Check(False, "docker not found on PATH", "install Docker (https://docs.docker.com/get-docker/)",
                     blocks=True)
    outcome = runner.probe([docker.DOCKER, "version", "--format", "{{.Server.Version}}"], timeout=20)
    if not outcome.ok:
        said = next((x.strip() for x in reversed(outcome.stderr.splitlines()) if x.strip()), "no answer")
        fix = ("add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again)"
               if "permission denied" in said.lower() else "start it (`sudo systemctl start docker`)")
        return Check(False, f"Docker engine does not answer ({said})", fix, blocks=True)
    version = outcome.stdout.strip()
    try:
        parts = tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        parts = MIN_DOCKER  # a build's own version text: let it pass, it answered
    if parts < MIN_DOCKER:
        return Check(False, f"Docker engine {version}", f"the lab needs {MIN_DOCKER[0]}.{MIN_DOCKER[1]} or newer; "
                     "upgrade Docker", blocks=True)
    return Check(True, f"Docker engine {version} answers")


def memory_check(host: Host) -> Check:
    available = host.memory_available()
    if available is None:
        return Check(True, "free memory: unknown here (no /proc/meminfo); the lab wants about "
                           f"{MEMORY_NEEDED_GB} GB")
    found = f"free memory {available / GB:.1f} GB (the lab wants about {MEMORY_NEEDED_GB} GB)"
    if available < MEMORY_NEEDED_GB * GB:
        return Check(False, found, "close other work or give Docker more memory; below it Cassandra pods stay "
                                   "Pending or die of OutOfMemoryError", blocks=True)
    return Check(True, found)


def disk_check(runner: Runner, cfg: LabConfig, host: Host, plans: dict[str, Plan]) -> Check:
    needed = DISK_NEEDED_GB["lab"]
    if plans["kind node"].how == "built":
        needed += DISK_NEEDED_GB["kind_node_build"]
    if plans["Cassandra"].how == "built":
        needed += DISK_NEEDED_GB["cassandra_build"]
    root = runner.probe([docker.DOCKER, "info", "--format", "{{.DockerRootDir}}"], timeout=20)
    where = Path(root.stdout.strip()) if root.ok and root.stdout.strip() else cfg.root
    try:
        free = host.disk_free(where if where.exists() else cfg.root)
    except OSError:
        free = host.disk_free(cfg.root)
    found = f"free disk {free / GB:.0f} GB at {where} (this plan needs about {needed} GB)"
    if free < needed * GB:
        return Check(False, found, "free space (`docker system prune` removes unused images; `invoke clean "
                                   "--images` the lab's own)", blocks=True)
    return Check(True, found)


def inotify_check(host: Host) -> Check:
    warnings = preflight.inotify_warnings(host.inotify)
    if warnings:
        wanted = " ".join(f"fs.inotify.{k}={v}" for k, v in preflight.INOTIFY_WANTED.items())
        return Check(False, warnings[0].removeprefix("warning: ").split(" (")[0],
                     f"`sudo sysctl {wanted}`")
    return Check(True, "inotify limits as kind asks (or not readable here)")


def registry_port_check(runner: Runner, cfg: LabConfig, host: Host) -> Check:
    port = cfg.images.registry_port
    if host.port_free(port):
        return Check(True, f"registry port {port} free on 127.0.0.1")
    found = registry.inspect(runner, registry.container_name(cfg))
    if found is not None and found.running:
        return Check(True, f"registry port {port}: the lab's registry ({registry.container_name(cfg)}) runs there")
    used = cfg.images.local_registry
    return Check(False, f"registry port {port} is taken by another program"
                        + ("" if used else " (it matters only with lab.images.registry: local)"),
                 "set lab.images.registry_port to a free port", blocks=used)


def pango_check(host: Host) -> Check:
    missing = [pkg for lib, pkg in PANGO.items() if host.find_library(lib) is None]
    if missing:
        return Check(False, "Pango not found (`invoke report --pdf` needs it; the rest of the lab does not)",
                     f"`sudo apt-get install {' '.join(missing)}`")
    return Check(True, "Pango found (for `invoke report --pdf`)")


def _minutes(what: str, cores: int) -> str:
    low, high = BUILD_MINUTES_ON_2_CORES[what]
    scale = 2 / max(cores, 1)
    low, high = max(1, round(low * scale)), max(2, round(high * scale))
    return f"roughly {low}-{high} min on {cores} cores" if low < high else f"about {low} min on {cores} cores"


def image_plan(runner: Runner, cfg: LabConfig, host: Host, what: str) -> Plan:
    """What resolve_image (lab/workflow.py) will do for this image, asked without doing it."""
    images = cfg.images
    ref, source, local_build = ((images.cassandra, images.cassandra_source,
                                 cassandra_image.image_tag(images.cassandra_version or
                                                           cassandra_image.DEFAULT_VERSION))
                                if what == "Cassandra" else
                                (images.kind_node, images.kind_node_source, kind_node_image.image_tag()))
    alias = source == "auto" and bool(state.get(cfg.path(cfg.state_dir), f"alias {ref}"))
    if source != "build" and not alias and docker.image_exists(runner, ref):
        return Plan("reused", ref, "a local copy")
    if source == "local":
        return Plan("missing", ref)
    if source in ("auto", "pull") and host.registry_answers(registry_host(ref)):
        return Plan("pulled", ref, f"{registry_host(ref)} answers")
    if source == "pull":
        return Plan("missing", ref, f"{registry_host(ref)} does not answer")
    if docker.image_exists(runner, local_build):
        return Plan("reused", local_build, "the lab's local build")
    return Plan("built", local_build, _minutes(what, host.cores()))


#: The tool each image's local build needs, and why.
BUILD_TOOL = {"Cassandra": ("mvn", "Maven 3 with a JDK (the Cassandra jars)"),
              "kind node": ("go", "Go (Kubernetes from source)")}


def image_check(plan: Plan, what: str, host: Host) -> Check:
    if plan.how == "reused":
        return Check(True, f"{what} image: reused ({plan.ref}, {plan.note})")
    if plan.how == "pulled":
        return Check(True, f"{what} image: will be pulled ({plan.ref}; {plan.note}); if the pull fails, built here")
    if plan.how == "missing":
        return Check(False, f"{what} image {plan.ref} not here" + (f" and {plan.note}" if plan.note else ""),
                     "set lab.images.*_source to auto or build, or provide the image", blocks=True)
    tool, needs = BUILD_TOOL[what]
    found = f"{what} image: no registry answers, so it will be built here ({plan.ref}), {plan.note}, once"
    if host.which(tool) is None:
        return Check(False, found, f"install {needs}", blocks=True)
    return Check(True, found)


def tools_check(cfg: LabConfig, host: Host) -> Check:
    missing = [name for name in ("kind", "kubectl") if preflight.find_tool(cfg, name) is None]
    if not missing:
        return Check(True, "kind and kubectl found")
    found = (f"{' and '.join(missing)} not found: `invoke up` will compile {'them' if len(missing) > 1 else 'it'} "
             "from Go into .cache/bin (once)")
    if host.which("go") is None:
        return Check(False, found, "install Go, or install kind v0.23+ and kubectl", blocks=True)
    return Check(True, found)


def writer_checks(runner: Runner, cfg: LabConfig) -> list[Check]:
    """With the lab's kube context in the kubeconfig (its cluster up): one ✗ line per writer ReplicaSet the
    namespace refuses and per writer pod the NetworkPolicies keep from CQL, with the fix (lab/admission.py, as
    `invoke status` prints them), else one ✓ line. No context, or no kubectl: nothing to say."""
    tool = preflight.find_tool(cfg, "kubectl")
    if tool is None:
        return []
    lab = Lab(cfg=cfg, runner=runner, kind=Kind(preflight.find_tool(cfg, "kind") or "kind", cfg.cluster),
              kube=Kubectl(tool, cfg.kube_context, cfg.namespace))
    if not kubectl.context_exists(runner, lab.kube):
        return []
    try:
        found = admission.findings(lab)
    except LabError as err:
        return [Check(False, f"the writers' admission in {cfg.kube_context} could not be checked",
                      f"`invoke status` shows the cluster ({err})")]
    if not found:
        return [Check(True, f"writers in {cfg.kube_context}: none refused by Pod Security or kept from Cassandra")]
    checks = []
    for line in found:  # "<what>; fix: <fix>" (a refusal that is not Pod Security's has no fix of ours)
        what, _, fix = line.partition("; fix: ")
        checks.append(Check(False, what, fix or "`kubectl describe` it: its events say why"))
    return checks


def plan_phrase(what: str, plan: Plan, host: Host) -> str:
    """One image's path in a few words, with the minutes of a build (also the one a failed pull falls back to)."""
    if plan.how == "reused":
        return f"{what} image reused ({plan.ref})"
    if plan.how == "pulled":
        return f"{what} image pulled ({plan.ref}; if the pull fails, built here: {_minutes(what, host.cores())})"
    if plan.how == "built":
        return f"{what} image built from source ({plan.ref}, {plan.note})"
    return f"{what} image {plan.ref} not here" + (f" ({plan.note})" if plan.note else "")


def prediction(runner: Runner, cfg: LabConfig, host: Host | None = None) -> str:
    """The one line `invoke up` (and reset) prints before it starts: doctor's plan for each image and for
    kind/kubectl, so a slow path (a build from source, a compile) is announced with its minutes, not silent."""
    host = host or Host()
    asked: dict[str, bool] = {}  # both images usually come from one registry: ask it once

    def answers(name: str) -> bool:
        if name not in asked:
            asked[name] = host.registry_answers(name)
        return asked[name]

    once = dataclasses.replace(host, registry_answers=answers)
    parts = [plan_phrase(what, image_plan(runner, cfg, once, what), once) for what in ("Cassandra", "kind node")]
    missing = [name for name in ("kind", "kubectl") if preflight.find_tool(cfg, name) is None]
    parts.append(f"{' and '.join(missing)} compiled from Go into {cfg.tools.bin_dir} (once, tens of minutes)"
                 if missing else "kind and kubectl found")
    return "plan: " + "; ".join(parts)


def diagnose(runner: Runner, cfg: LabConfig, host: Host | None = None) -> Diagnosis:
    host = host or Host()
    result = Diagnosis()
    engine = docker_check(runner, host)
    result.checks.append(engine)
    result.checks.append(memory_check(host))
    plans = {}
    if engine.ok:
        plans = {what: image_plan(runner, cfg, host, what) for what in ("Cassandra", "kind node")}
        result.checks.append(disk_check(runner, cfg, host, plans))
    result.checks.append(inotify_check(host))
    if engine.ok:
        result.checks.append(registry_port_check(runner, cfg, host))
    result.checks.append(pango_check(host))
    result.checks.extend(image_check(plan, what, host) for what, plan in plans.items())
    result.checks.append(tools_check(cfg, host))
    result.checks.extend(writer_checks(runner, cfg))
    return result


def run(runner: Runner, cfg: LabConfig, host: Host | None = None) -> int:
    """Print the diagnosis, one line per check; the exit code: 2 when something blocks `invoke up`, else 0."""
    diagnosis = diagnose(runner, cfg, host)
    for check in diagnosis.checks:
        print(check.line())
    problems = [c for c in diagnosis.checks if not c.ok]
    blocking = [c for c in problems if c.blocks]
    if blocking:
        print(f"doctor: {len(blocking)} of {len(problems)} problem(s) block `invoke up`; fix the ✗ lines above")
        return 2
    print("doctor: `invoke up` can run" + (f" ({len(problems)} warning(s) above)" if problems else ""))
    return 0
