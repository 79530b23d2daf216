"""The lab's own image registry (``lab.images.registry: local``), wired into kind as kind's local-registry guide
(https://kind.sigs.k8s.io/docs/user/local-registry/) does:

- a container ``<cluster>-registry`` of the image lab.images.registry builds, publishing 127.0.0.1:<port> to its
  port 5000, ``--restart always``, labelled as the lab's; on the ``kind`` network once the cluster exists;
- every request logged in (htpasswd: lab/registry_auth.py generates the login and keeps it in ``auth_folder``),
  nothing deleted through the API; the lab's pushes log in first, and pods pull with an imagePullSecret;
- each push's digest recorded, so deploy renders ``localhost:<port>/name@sha256:...``: a tag overwritten
  after the lab's push is never what the pods run;
- the cluster config kind creates the nodes from carries a containerd patch (``config_path``), so each node's
  containerd reads /etc/containerd/certs.d/<registry host>/hosts.toml (every ``invoke reset`` adds it, so a
  registry can be wired into a running cluster);
- in each node, that hosts.toml for ``localhost:<port>`` names ``http://<cluster>-registry:5000``: inside a node,
  localhost is the node itself, so the name must lead to the registry container by another way;
- the ``local-registry-hosting`` ConfigMap in kube-public (Kubernetes KEP 1755), so tools can find the registry.

So ``localhost:<port>/name:tag`` is the same image to ``docker push`` on the host and to a node's pull.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab import docker, kind, kubectl, manifests, progress, registry_auth
from lab.config import LabConfig
from lab.context import Lab
from lab.errors import CommandError, LabError, PreconditionError
from lab.runner import Runner

#: The registry's port inside its container (config.yml's http.addr).
CONTAINER_PORT = 5000
#: Where containerd looks for per-registry hosts.toml files once config_path points there.
CERTS_D = "/etc/containerd/certs.d"
#: The label that marks the container as the lab's: `invoke down` removes only such a container.
LABEL = "cassandra-kind-lab.registry"
#: The label that carries registry_auth.htpasswd_checksum: a login generated anew replaces the container.
AUTH_LABEL = "cassandra-kind-lab.registry-auth"
#: Where the logins of the lab's registries live (a folder per container), from the project root: under .cache
#: like the rest of the lab's working files, but never in the state dir, which CI keeps as an artifact.
AUTH_ROOT = ".cache/registry-auth"
#: containerd 1.5+ (the lab's node image runs 1.6): read registry hosts from CERTS_D.
CONTAINERD_PATCH = f'[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{CERTS_D}"\n'
HOSTING_CONFIGMAP = "local-registry-hosting"
HELP_URL = "https://kind.sigs.k8s.io/docs/user/local-registry/"
#: Seconds the registry gets to answer after its container starts, before a push is tried.
START_TIMEOUT = 30


# -- names ------------------------------------------------------------------------------------------------------

def container_name(cfg: LabConfig) -> str:
    """``kind-registry`` for the cluster ``kind``: the name kind's guide gives it, one per cluster."""
    return f"{cfg.cluster}-registry"


def host(cfg: LabConfig) -> str:
    """``localhost:5001``: the registry as image names call it, on the host and (through hosts.toml) in nodes."""
    return f"localhost:{cfg.images.registry_port}"


def auth_folder(cfg: LabConfig) -> Path:
    """Where the login of this cluster's registry lives (registry_auth: password, htpasswd, Docker config)."""
    return cfg.path(AUTH_ROOT) / container_name(cfg)


def login(cfg: LabConfig) -> registry_auth.Credentials | None:
    """The lab's login when its pushes go to the lab's registry (``local``, or that registry named by its host
    ``localhost:<port>``) and the lab generated one; None otherwise (another registry: your own ``docker login``)."""
    if not cfg.images.registry or cfg.images.push_prefix.split("/", 1)[0] != host(cfg):
        return None
    return registry_auth.read(auth_folder(cfg))


def in_cluster_url(cfg: LabConfig) -> str:
    """How a node reaches the registry: by the container's name on the kind network."""
    return f"http://{container_name(cfg)}:{CONTAINER_PORT}"


def registry_ref(prefix: str, image: str) -> str:
    """``image`` under the registry ``prefix``: its last path component, a digest turned into a tag (a pushed
    image needs a tag, and ``docker tag`` refuses a digest)."""
    if image.startswith(prefix + "/"):
        return image
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        repository, digest = name.split("@", 1)
        name = f"{repository.split(':', 1)[0]}:{digest.split(':')[-1][:12]}"
    return f"{prefix}/{name}"


def by_digest(ref: str, digest: str) -> str:
    """``localhost:5001/name:tag`` and ``sha256:...`` -> ``localhost:5001/name@sha256:...`` (the tag dropped: a
    pull by digest ignores it)."""
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last) + last.index(":")]
    return f"{name}@{digest}"


# -- what the nodes and the cluster read -------------------------------------------------------------------------

def hosts_toml(cfg: LabConfig) -> str:
    """containerd's hosts.toml for ``localhost:<port>``: pull from the registry container over plain HTTP."""
    return (f"# {host(cfg)} on the host is the registry container {container_name(cfg)} (written by the lab)\n"
            f'[host."{in_cluster_url(cfg)}"]\n')


def hosts_toml_path(cfg: LabConfig) -> str:
    return f"{CERTS_D}/{host(cfg)}/hosts.toml"


def with_containerd_patch(cluster_config: dict[str, Any]) -> dict[str, Any]:
    """A copy of a kind cluster config whose containerd reads CERTS_D (``containerdConfigPatches``)."""
    patched = dict(cluster_config)
    patches = list(cluster_config.get("containerdConfigPatches") or [])
    if CONTAINERD_PATCH not in patches:
        patches.append(CONTAINERD_PATCH)
    patched["containerdConfigPatches"] = patches
    return patched


def render_cluster_config(lab: Lab, source: Path, *, node_images: dict[str, str] | None = None) -> Path:
    """cluster.yml with the containerd patch, under the state dir: the file ``kind create cluster`` reads.
    ``node_images``: the image of each role's nodes ({"control-plane": ..., "worker": ...}), when they differ."""
    doc = with_containerd_patch(yaml.safe_load(source.read_text()) or {})
    if node_images:
        doc = manifests.with_node_images(doc, node_images)
    return manifests.write([doc], lab.state_dir / "rendered" / source.name)


def hosting_configmap(cfg: LabConfig) -> dict[str, Any]:
    """KEP 1755's ConfigMap: where tools (Tilt, Skaffold ...) learn the cluster's local registry."""
    hosting = {"host": host(cfg), "hostFromContainerRuntime": f"{container_name(cfg)}:{CONTAINER_PORT}",
               "help": HELP_URL}
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": HOSTING_CONFIGMAP, "namespace": "kube-public"},
            "data": {"localRegistryHosting.v1": yaml.safe_dump(hosting, sort_keys=False)}}


# -- the container -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Found:
    """A container of the registry's name, as ``docker container inspect`` describes it."""

    running: bool
    image: str
    ours: bool
    host_port: int | None
    networks: frozenset[str]
    auth: str = ""


def inspect(runner: Runner, name: str) -> Found | None:
    """The container named ``name``, or None when there is none (asked even under --dry)."""
    outcome = runner.probe(docker.container_inspect_args(name), timeout=30)
    if not outcome.ok:
        return None
    found = json.loads(outcome.stdout or "[]")
    if not found:
        return None
    info = found[0]
    bindings = ((info.get("HostConfig") or {}).get("PortBindings") or {}).get(f"{CONTAINER_PORT}/tcp") or []
    ports = [int(b["HostPort"]) for b in bindings if str(b.get("HostPort", "")).isdigit()]
    config = info.get("Config") or {}
    labels = config.get("Labels") or {}
    return Found(running=bool((info.get("State") or {}).get("Running")), image=config.get("Image", ""),
                 ours=LABEL in labels, host_port=ports[0] if ports else None,
                 networks=frozenset(((info.get("NetworkSettings") or {}).get("Networks") or {}).keys()),
                 auth=labels.get(AUTH_LABEL, ""))


def run_args(cfg: LabConfig, image: str, auth: str) -> list[str]:
    """``docker run`` of the registry: on 127.0.0.1 only, the lab's htpasswd file mounted read-only, labelled with
    its checksum ``auth``."""
    htpasswd = registry_auth.htpasswd_file(auth_folder(cfg))
    return docker.run_detached_args(image, name=container_name(cfg), restart="always",
                                    labels={LABEL: cfg.cluster, AUTH_LABEL: auth},
                                    publish=[f"127.0.0.1:{cfg.images.registry_port}:{CONTAINER_PORT}"],
                                    volumes=[f"{htpasswd}:{registry_auth.HTPASSWD_IN_CONTAINER}:ro"])


def start(lab: Lab) -> str:
    """The registry container running on the configured port (idempotent); returns what happened, for a note.

    A container of that name the lab did not start (kind's guide makes the same ``kind-registry``) is used as it
    is when it runs and publishes the port, else refused: it is not the lab's to replace.
    """
    cfg, runner = lab.cfg, lab.runner
    name, port = container_name(cfg), cfg.images.registry_port
    found = inspect(runner, name)
    if found and not found.ours:
        if found.running and found.host_port == port:
            return f"not started by the lab, but it answers on {host(cfg)}: used as it is"
        raise PreconditionError(f"a container named {name} exists that the lab did not start and that does not "
                                f"serve port {port}; remove it (`docker rm -f {name}`) or set "
                                "lab.images.registry_port to its port")
    image = lab.builders.registry(runner)
    if not runner.dry:  # the login is made once and kept: a dry run plans with whatever exists
        registry_auth.ensure(auth_folder(cfg))
    auth = registry_auth.htpasswd_checksum(auth_folder(cfg))
    same = found is not None and (found.image, found.host_port, found.auth) == (image, port, auth)
    if found and found.running and same:
        return f"already running on {host(cfg)}"
    try:
        if found and same:
            runner.run(docker.start_args(name), timeout=60)
            what = "started again"
        else:
            if found:  # ours, from another recipe, port or login: its content is only pushes the lab repeats
                runner.run(docker.remove_args(name), timeout=120)
            runner.run(run_args(cfg, image, auth), timeout=120)
            what = "recreated" if found else "started"
    except CommandError as err:
        raise LabError(f"failed to start the registry {name}: {err}") from err
    wait_answering(lab)
    return f"{what} on {host(cfg)} ({image})"


def start_step(lab: Lab) -> None:
    """``start`` as one progress step, its outcome ("started", "already running" ...) as the step's note."""
    with progress.step(f"Registry {container_name(lab.cfg)}") as s:
        s.note(start(lab))


def wait_answering(lab: Lab, *, timeout: float = START_TIMEOUT) -> None:
    """Until the registry's API answers, so that a push right after the start does not meet a closed port."""
    if lab.runner.dry:
        return
    port, name = lab.cfg.images.registry_port, container_name(lab.cfg)
    if not kubectl.wait_until(lambda: answers(port), timeout=timeout, every=0.5):
        raise LabError(f"the registry {name} did not answer on {host(lab.cfg)} within {timeout:.0f}s; "
                       f"`docker logs {name}` says why")


def answers(port: int) -> bool:
    """Whether the registry on 127.0.0.1:``port`` serves its API (asking for the login counts: it is up)."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=5).close()
    except urllib.error.HTTPError as err:
        return err.code == 401
    except (urllib.error.URLError, OSError):
        return False
    return True


def remove(lab: Lab) -> str:
    """Remove the lab's registry container (with its storage); a container the lab did not start stays."""
    name = container_name(lab.cfg)
    found = inspect(lab.runner, name)
    if not found:
        return "none"
    if not found.ours:
        return "not started by the lab: left alone"
    try:
        lab.runner.run(docker.remove_args(name), timeout=120)
    except CommandError as err:
        raise LabError(f"failed to remove the registry {name}: {err}") from err
    return "removed"


# -- wiring into the cluster -------------------------------------------------------------------------------------

def wire(lab: Lab) -> list[str]:
    """Put the registry on the kind network, hosts.toml in every node that lacks it, and the ConfigMap; returns
    the nodes written to. Nodes whose containerd was created without the patch are named in a warning."""
    cfg, runner = lab.cfg, lab.runner
    name = container_name(cfg)
    found = inspect(runner, name)
    if found is None or kind.NETWORK not in found.networks:  # None only under --dry: the start was only planned
        try:
            runner.run(docker.network_connect_args(kind.NETWORK, name), timeout=60)
        except CommandError as err:
            raise LabError(f"failed to connect the registry {name} to the {kind.NETWORK} network: {err}") from err
    written, unpatched = [], []
    for node in kind.nodes(runner, lab.kind):
        # Under --dry the nodes listed may be the ones reset is about to replace: plan every write, check nothing.
        if not runner.dry:
            if not runner.probe(config_path_check_args(node), timeout=30).ok:
                unpatched.append(node)
            if runner.probe(read_hosts_toml_args(cfg, node), timeout=30).stdout == hosts_toml(cfg):
                continue
        try:
            runner.run(write_hosts_toml_args(cfg, node), input=hosts_toml(cfg), timeout=60)
        except CommandError as err:
            raise LabError(f"failed to write {hosts_toml_path(cfg)} in node {node}: {err}") from err
        written.append(node)
    if unpatched:
        progress.info(f"warning: containerd in {', '.join(unpatched)} does not read {CERTS_D} (the cluster was "
                      "created by an older lab or another tool), so those nodes cannot pull from the registry; "
                      "`invoke reset` recreates the cluster with it")
    path = manifests.write([hosting_configmap(cfg)], lab.state_dir / "rendered" / f"{HOSTING_CONFIGMAP}.yml")
    kubectl.apply(runner, lab.kube, str(path), namespaced=False)
    return written


def config_path_check_args(node: str) -> list[str]:
    """Does the node's containerd read CERTS_D? (kind writes the patched config to /etc/containerd/config.toml.)"""
    return docker.exec_args(node, ["grep", "-q", f'config_path = "{CERTS_D}"', "/etc/containerd/config.toml"])


def read_hosts_toml_args(cfg: LabConfig, node: str) -> list[str]:
    return docker.exec_args(node, ["cat", hosts_toml_path(cfg)])


def write_hosts_toml_args(cfg: LabConfig, node: str) -> list[str]:
    """hosts.toml from standard input into the node (containerd rereads it on the next pull: no restart)."""
    folder = shlex.quote(hosts_toml_path(cfg).rsplit("/", 1)[0])
    script = f"mkdir -p {folder} && cat > {folder}/hosts.toml"
    return docker.exec_args(node, ["sh", "-c", script], stdin=True)


# -- using it ----------------------------------------------------------------------------------------------------

#: What ``docker push`` prints last: ``<tag>: digest: sha256:<64 hex> size: <bytes>``.
_PUSHED_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")


def push(lab: Lab, image: str) -> str | None:
    """Tag ``image`` into the configured registry and push it (logged in first when it is the lab's registry);
    returns the digest the registry stored (None under --dry: nothing was pushed)."""
    cfg, runner = lab.cfg, lab.runner
    ref = registry_ref(cfg.images.push_prefix, image)
    env = None
    try:
        if ref != image:
            runner.run(docker.tag_args(image, ref), timeout=60)
        credentials = login(cfg)
        if credentials is not None:
            env = client_env(runner, auth_folder(cfg))
            runner.run(docker.login_args(host(cfg), credentials.user), input=credentials.password, env=env,
                       hide=True, timeout=60)
        pushed = runner.run(docker.push_args(ref), env=env, timeout=1800)
    except CommandError as err:
        raise LabError(f"failed to push {ref}: {err}") from err
    if runner.dry:
        return None
    found = _PUSHED_DIGEST.findall(pushed.stdout)
    if not found:
        raise LabError(f"`docker push {ref}` printed no digest; its output ended: {pushed.stdout.strip()[-200:]!r}")
    return found[-1]


def client_env(runner: Runner, folder: Path) -> dict[str, str]:
    """The lab's Docker client configuration (registry_auth.docker_env), on the engine your own configuration
    names: a Docker context of yours (Docker Desktop, colima) lives in ~/.docker, which DOCKER_CONFIG hides."""
    env = registry_auth.docker_env(folder)
    if "DOCKER_HOST" not in os.environ:
        engine = runner.probe(docker.context_host_args(), timeout=30)
        if engine.ok and engine.stdout.strip():
            env["DOCKER_HOST"] = engine.stdout.strip()
    return env


def pull_secret_step(lab: Lab) -> None:
    """deploy: the imagePullSecret of the lab's login in the namespace, when the lab's registry is in use (from
    standard input: the password is in no file and on no command line)."""
    credentials = login(lab.cfg)
    if credentials is None:
        return
    doc = registry_auth.pull_secret(lab.cfg.namespace, host(lab.cfg), credentials)
    with progress.step(f"Secret {registry_auth.PULL_SECRET}: the pods' login to {host(lab.cfg)}"):
        try:
            lab.runner.run(lab.kube.apply_args("-"), input=yaml.safe_dump(doc), hide=True, timeout=60)
        except CommandError as err:
            raise LabError(f"failed to apply Secret {registry_auth.PULL_SECRET}: {err}") from err


def with_pull_secret(cfg: LabConfig, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``docs`` whose workloads pulling from the lab's registry name its pull Secret (unchanged otherwise)."""
    return registry_auth.with_pull_secret(docs, host(cfg)) if login(cfg) is not None else docs


def catalog(port: int, *, credentials: registry_auth.Credentials | None = None,
            timeout: float = 10) -> dict[str, list[str]]:
    """Every repository of the registry on 127.0.0.1:``port`` with its tags (the registry API's catalog)."""
    base = f"http://127.0.0.1:{port}/v2"
    headers = {}
    if credentials is not None:
        token = base64.b64encode(f"{credentials.user}:{credentials.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    repositories = _get_json(f"{base}/_catalog", timeout, headers).get("repositories") or []
    return {repo: sorted(_get_json(f"{base}/{repo}/tags/list", timeout, headers).get("tags") or [])
            for repo in repositories}


def _get_json(url: str, timeout: float, headers: dict[str, str]) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
            return json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise LabError(f"the registry does not answer at {url}: {err}") from err


def show(lab: Lab) -> list[str]:
    """``invoke registry``: start the registry and, when the cluster exists, wire it in (both idempotent); returns
    the lines to print: its address and its catalog."""
    cfg = lab.cfg
    name = container_name(cfg)
    start_step(lab)
    if kind.cluster_exists(lab.runner, lab.kind):
        with progress.step(f"Wiring {name} into kind cluster {cfg.cluster}") as s:
            written = wire(lab)
            s.note(f"hosts.toml written in {', '.join(written)}" if written else "every node already had it")
    else:
        progress.info(f"no kind cluster {cfg.cluster} yet: `invoke reset` creates it with the registry wired in")
    if not cfg.images.local_registry:
        progress.info(f"note: lab.images.registry is {cfg.images.registry!r}, not 'local': reset and build do not "
                      "use this registry")
    lines = [f"registry {host(cfg)} (container {name}; nodes pull through {in_cluster_url(cfg)})"]
    if lab.runner.dry:
        return lines
    repositories = catalog(cfg.images.registry_port, credentials=registry_auth.read(auth_folder(cfg)))
    lines += [f"  {repo}: {', '.join(tags) or '(no tags)'}" for repo, tags in sorted(repositories.items())]
    return lines if repositories else lines + ["  (empty)"]
