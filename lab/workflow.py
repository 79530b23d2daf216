"""The cluster lifecycle: reset, build, deploy, delete, down (``up`` is reset + build + deploy).

Each function is one user-visible operation made of ``progress.step``s over kind.py, kubectl.py, docker.py and
registry.py (the lab's own registry, when lab.images.registry is ``local``). Images are built through
``lab.builders`` (lab.images.builders.ImageBuilders: the real recipes, or a test's fakes). The operations
share the image choices and the rendered manifests, which is why they stay together although the module is
past 400 lines.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from lab import (
    auth,
    disk,
    docker,
    door,
    kind,
    kubectl,
    manifests,
    names,
    policies,
    preflight,
    progress,
    registry,
    ring,
    state,
    tls,
    writers,
)
from lab.cassandra import KEYSPACE
from lab.config import LabConfig
from lab.context import Lab, guard_context, require_cluster
from lab.doctor import Host, prediction
from lab.errors import CommandError, LabError, PreconditionError
from lab.images import preloaded
from lab.images.builders import ImageBuilders
from lab.names import CASSANDRA_REPLICAS
from lab.runner import Runner


def prepare(runner: Runner, cfg: LabConfig, builders: ImageBuilders | None = None,
            host: Host | None = None) -> None:
    """reset/up, before anything else: doctor's one-line prediction of the paths ahead (each image reused,
    pulled or built from source and roughly how long; kind/kubectl compiled or found), then ensure_tools."""
    progress.info(prediction(runner, cfg, host))
    ensure_tools(runner, cfg, builders)


def ensure_tools(runner: Runner, cfg: LabConfig, builders: ImageBuilders | None = None) -> None:
    """For reset/up on a fresh machine: build kind and kubectl from source when neither PATH nor the
    project's bin dir has them (``builders.tools``, by default lab.images.kindnode.ensure_tools, puts them in
    .cache/bin), so one command goes from Docker to a lab. Other tasks only say how to get them (preflight).
    It runs before a ``Lab`` exists (open_lab preflights these very tools), hence ``builders`` as a parameter."""
    missing = [name for name in ("kind", "kubectl") if preflight.find_tool(cfg, name) is None]
    if not missing or runner.dry:
        return
    with progress.step(f"{' and '.join(missing)} not found: building from source into .cache/bin "
                       "(once; tens of minutes)") as s:
        built = (builders or ImageBuilders()).tools(runner)
        s.note(", ".join(str(v) for v in built.values()))


# -- images ---------------------------------------------------------------------------------------------

def resolve_image(lab: Lab, ref: str, source: str, build, *, what: str) -> str:
    """The image to use for ``ref``: a local copy, a pull, or a local build, as ``source`` says.

    auto: a local copy of ``ref``, else ``docker pull``, else ``build()`` (no registry here: the usual path).
    A local ``ref`` that is only the lab's own alias of a build (see ``_load_as``) is not a copy to keep using
    under auto: the build's content tag decides, so a changed recipe is rebuilt.
    """
    runner = lab.runner
    if source == "build":
        return build()
    ours = source == "auto" and bool(state.get(lab.state_dir, _alias_key(ref)))
    if not ours and docker.image_exists(runner, ref):
        return ref
    if source == "local":
        raise PreconditionError(f"{what} image {ref} is not in the local engine (lab.images.*_source is 'local')")
    if runner.dry and source == "auto":
        # A dry run cannot know whether the pull would work (no registry answers on some machines).
        print(f"[dry-run] {' '.join(docker.pull_args(ref))}   # if it fails: build the {what} image locally")
        return ref
    if docker.pull_image(runner, ref, timeout=lab.cfg.images.pull_timeout):
        return ref
    if source == "pull":
        raise LabError(f"failed to pull {what} image {ref}; set its source to 'auto' or 'build' to build it here")
    progress.info(f"   {ref} cannot be pulled; building the {what} image locally")
    return build()


def _build_cassandra(lab: Lab, *, force: bool = False) -> str:
    kwargs: dict[str, bool | str] = {"force": force}
    if lab.cfg.images.cassandra_version:
        kwargs["version"] = lab.cfg.images.cassandra_version
    return lab.builders.cassandra(lab.runner, **kwargs)


def _build_kind_node(lab: Lab, *, force: bool = False) -> str:
    return lab.builders.kind_node(lab.runner, force=force)


def cassandra_image(lab: Lab) -> str:
    """The Cassandra image reset settles on (recorded for deploy)."""
    tag = cassandra_image_for_tests(lab)
    state.put(lab.state_dir, "cassandra_image", tag, dry=lab.runner.dry)
    return tag


def workers_node_image(lab: Lab, node: str, cass: str) -> str:
    """lab.images.preload's node image for the workers: ``node`` with ``cass`` in its containerd (built once for the
    pair, lab.images.preloaded)."""
    with progress.step(f"kind node image with {cass} preloaded, for the workers") as s:
        tag, built = preloaded.ensure_image(lab.runner, node, [cass])
        s.note(f"{tag}{', built now (once for this pair)' if built else ''}")
    return tag


def cassandra_image_for_tests(lab: Lab) -> str:
    """The Cassandra image for ``invoke test``, by the same policy as reset, without recording it for deploy."""
    images = lab.cfg.images
    return resolve_image(lab, images.cassandra, images.cassandra_source, lambda: _build_cassandra(lab),
                         what="Cassandra")


def node_image(lab: Lab) -> str:
    images = lab.cfg.images
    return resolve_image(lab, images.kind_node, images.kind_node_source, lambda: _build_kind_node(lab),
                         what="kind node")


# -- reset / down ---------------------------------------------------------------------------------------

def reset(lab: Lab, *, writer: bool = True) -> float:
    """Recreate the kind cluster from cluster.yml and put the Cassandra image on the nodes; returns seconds taken.
    ``writer``: also the writer image built before (False: ``up`` loads it itself, see there).

    The cluster is created from cluster.yml with a containerd patch (registry.CONTAINERD_PATCH), so a registry can
    be wired in at any time. With lab.images.registry ``local`` the lab's registry runs first, is wired into the
    nodes, and the images are pushed there, not kind-loaded.
    """
    started = time.monotonic()
    cfg = lab.cfg
    local = cfg.images.local_registry
    config_path = cfg.path(cfg.cluster_config)
    if not config_path.is_file():
        raise PreconditionError(f"{cfg.cluster_config} not found (lab.cluster_config)")
    pinned = manifests.kind_node_images(yaml.safe_load(config_path.read_text()) or {})
    with progress.step("Cassandra image") as s:
        cass = cassandra_image(lab)
        s.note(cass)
    with progress.step("kind node image") as s:
        node = node_image(lab)
        s.note(node)
    roles = {}
    if preloading(cfg):  # through a registry the nodes pull Cassandra under the registry's name
        roles = {"control-plane": node, "worker": workers_node_image(lab, node, cass)}
    if local:
        registry.start_step(lab)
    # Every cluster is created able to pull from a registry wired in later (`invoke registry`, no reset needed):
    # its containerd reads per-registry hosts.toml files, and pulls as before where there is none.
    config_path = registry.render_cluster_config(lab, config_path, node_images=roles)
    with progress.step(f"Deleting kind cluster {cfg.cluster}") as s:
        if kind.cluster_exists(lab.runner, lab.kind):
            kind.delete_cluster(lab.runner, lab.kind)
        else:
            s.note("none")
    for warning in preflight.inotify_warnings():
        progress.info(warning)
    with progress.step(f"Creating kind cluster {cfg.cluster} from {cfg.cluster_config} "
                       "(its containerd reads registries' hosts.toml)"):
        # --image only when the node image differs from the one cluster.yml pins (e.g. a local build); with a
        # preloaded image the rendered config names each node's, which --image would override.
        kind.create_cluster(lab.runner, lab.kind, str(config_path),
                            image=None if roles or pinned == {node} else node, timeout=cfg.timeouts.cluster)
    lab.cluster_planned = lab.runner.dry  # the later steps of this dry run plan on the cluster it would create
    if local:
        _reset_through_registry(lab, cass)
    else:
        _reset_through_kind_load(lab, cass, writer=writer)
    elapsed = time.monotonic() - started
    if not lab.runner.dry:
        progress.info(f"reset: kind cluster {cfg.cluster} ready in {elapsed:.0f}s (context {lab.kube.context})")
    return elapsed


def _reset_through_kind_load(lab: Lab, cass: str, *, writer: bool = True) -> None:
    """The images onto the new nodes by ``kind load``, also under the names the checked-in manifests type."""
    cfg = lab.cfg
    _load(lab, cass)
    _load_as(lab, cass, manifest_image(lab, cfg.cassandra_manifest, names.CASSANDRA_CONTAINER))
    built = state.get(lab.state_dir, "writer_image") if writer else None
    if built and docker.image_exists(lab.runner, built):
        _load(lab, built)  # a writer built before this reset, so deploy works without a rebuild
        _load_as(lab, built, manifest_image(lab, cfg.writer_manifest, names.WRITER_CONTAINER))


def _reset_through_registry(lab: Lab, cass: str) -> None:
    """The registry wired into the new nodes, and the images pushed to it: deploy renders the registry's names.

    Nothing is kind-loaded, so the fixed names of the checked-in manifests (cassandra:5.0,
    ece573-prj04-writer:v1) are not on the nodes: a plain `kubectl apply -f` of them is the kind-load path's.
    """
    with progress.step(f"Wiring {registry.container_name(lab.cfg)} into the nodes") as s:
        written = registry.wire(lab)
        s.note(f"hosts.toml in {len(written)} nodes" if written else "every node already had it")
    _push(lab, cass, key="cassandra_image")
    writer = state.get(lab.state_dir, "writer_image")
    if writer and docker.image_exists(lab.runner, writer):
        _push(lab, writer, key="writer_image")  # built before this reset: the registry may be new and empty


def _push(lab: Lab, image: str, *, key: str) -> str:
    """Push ``image`` to the configured registry and record the name under ``key`` and the digest the push
    returned (``pinned``: what deploy renders)."""
    ref = registry.registry_ref(lab.cfg.images.push_prefix, image)
    with progress.step(f"Pushing {ref}") as s:
        digest = registry.push(lab, image)
        if digest:
            s.note(digest)
    state.put(lab.state_dir, key, ref, dry=lab.runner.dry)
    state.put(lab.state_dir, _digest_key(ref), digest or "", dry=lab.runner.dry)
    return ref


def _digest_key(ref: str) -> str:
    return f"digest {ref}"


def pinned(lab: Lab, ref: str) -> str:
    """``ref`` by the digest the lab's last push of it returned (``name@sha256:...``), so a tag pushed over
    afterwards, by anyone, is not what the pods run; ``ref`` itself when the lab never pushed it."""
    digest = state.get(lab.state_dir, _digest_key(ref))
    return registry.by_digest(ref, digest) if digest else ref


def _load(lab: Lab, image: str) -> None:
    """``kind load`` of ``image`` into the nodes lacking it: the workers only with lab.images.preload (no pod of
    the lab runs on the control plane; today's path loads every node)."""
    workers_only = lab.cfg.images.preload
    with progress.step(f"Loading {image} into the {'workers' if workers_only else 'nodes'}") as s:
        loaded = kind.load_image(lab.runner, lab.kind, image, workers_only=workers_only)
        if not loaded:
            s.note("already on every node")
        elif loaded != ["(all)"]:
            s.note(", ".join(loaded))


def manifest_image(lab: Lab, manifest: str, container: str) -> str | None:
    """The image ``container`` names in a checked-in manifest (what `kubectl apply -f` of it would run)."""
    path = lab.cfg.path(manifest)
    return manifests.image_of(manifests.load_all(path), container) if path.is_file() else None


def _load_as(lab: Lab, image: str, name: str | None) -> None:
    """Also put ``image`` on the nodes as ``name``, the tag a checked-in manifest types.

    `invoke deploy` applies rendered copies that name content-addressed tags (a rebuild alone rolls out); the
    assignment's plain `kubectl apply -f cassandra.yml` / `writer.yml` name fixed tags (ece573-prj04-writer:v1),
    which must then exist on the nodes too, or their pods never start (nothing can be pulled here).
    """
    if not name or "@" in name:  # a digest reference cannot be a tag of another image
        return
    if name == image:
        if state.get(lab.state_dir, _alias_key(name)):  # a pulled or configured image took the name back
            state.put(lab.state_dir, _alias_key(name), "", dry=lab.runner.dry)
        return
    with progress.step(f"Tagging {image} as {name}") as s:
        try:
            lab.runner.run(docker.tag_args(image, name), timeout=60)
        except CommandError as err:
            raise LabError(f"failed to tag {image} as {name}: {err}") from err
        s.note("for plain `kubectl apply -f`")
    state.put(lab.state_dir, _alias_key(name), image, dry=lab.runner.dry)
    _load(lab, name)


def _alias_key(name: str) -> str:
    return f"alias {name}"


def down(lab: Lab) -> None:
    """Delete the kind cluster, and the lab's registry container with it (whatever lab.images.registry says now:
    a registry started under ``local`` is the lab's leftover all the same)."""
    with progress.step(f"Deleting kind cluster {lab.cfg.cluster}") as s:
        if kind.cluster_exists(lab.runner, lab.kind):
            kind.delete_cluster(lab.runner, lab.kind)
        else:
            s.note("no such cluster")
    with progress.step(f"Removing the registry {registry.container_name(lab.cfg)}") as s:
        s.note(registry.remove(lab))


# -- build ----------------------------------------------------------------------------------------------

def writer_source_dir(cfg: LabConfig, writer_dir: str | None = None) -> Path | None:
    """The writer directory to build, resolved: ``--writer-dir`` (from where the command runs), else
    lab.writer.source (from the project root); None for the lab's own writer."""
    if writer_dir:
        return Path(writer_dir).expanduser().resolve()
    return cfg.path(cfg.writer_source).expanduser().resolve() if cfg.writer_source else None


def build(lab: Lab, *, force: bool = False, writer_dir: str | None = None) -> str:
    """Build the writer image (content-addressed: a no-op when nothing changed) and make it available:
    ``kind load`` into the nodes, or push to lab.images.registry (``local``: the lab's registry, started if it is
    not running). Returns the ref deploy will use.

    ``writer_dir`` (or lab.writer.source): a writer of your own, built from that directory's Dockerfile; the
    state records the directory, so deploy knows the writer it runs is yours (with_built_writer)."""
    tag, source = writer_image(lab, force=force, writer_dir=writer_dir)
    return make_available(lab, tag, source)


def writer_image(lab: Lab, *, force: bool = False, writer_dir: str | None = None) -> tuple[str, Path | None]:
    """The writer image built (or found by its content tag): its tag, and the writer directory it came from (None:
    the lab's writer)."""
    cfg = lab.cfg
    source = writer_source_dir(cfg, writer_dir)
    with progress.step(f"Writer image from {source}" if source else "Writer image") as s:
        kwargs: dict = {"force": force}
        if source:
            kwargs["source"] = source
        elif cfg.images.writer_base:
            kwargs["base_image"] = cfg.images.writer_base
        tag = lab.builders.writer(lab.runner, **kwargs)
        s.note(tag)
    return tag, source


def make_available(lab: Lab, tag: str, source: Path | None) -> str:
    """The writer image ``tag`` where the nodes find it (pushed, or kind-loaded under its name and writer.yml's),
    recorded for deploy; returns the ref deploy will use."""
    cfg = lab.cfg
    if cfg.images.registry:
        if cfg.images.local_registry:
            registry.start_step(lab)
        ref = _push(lab, tag, key="writer_image")
        state.put(lab.state_dir, BUILT_SOURCE, str(source or ""), dry=lab.runner.dry)
        return ref
    if not lab.cluster_planned and not kind.cluster_exists(lab.runner, lab.kind):  # as require_cluster
        raise PreconditionError(f"kind cluster {cfg.cluster} not found; run `invoke reset` first")
    _load(lab, tag)
    # Only for kind: with a registry the nodes pull, and the fixed name would have to be pushed as well.
    _load_as(lab, tag, manifest_image(lab, cfg.writer_manifest, names.WRITER_CONTAINER))
    state.put(lab.state_dir, "writer_image", tag, dry=lab.runner.dry)
    state.put(lab.state_dir, BUILT_SOURCE, str(source or ""), dry=lab.runner.dry)
    return tag


#: The state's record of the directory the writer image was last built from ("": the lab's writer).
BUILT_SOURCE = "writer_source"


def with_built_writer(cfg: LabConfig) -> LabConfig:
    """``cfg`` knowing that the writer image is one of your own when `invoke build --writer-dir PATH` made it, so
    `invoke deploy` needs no lab.writer.source to run it as yours (no HTTP probes, an empty topic allowed).
    A lab.writer.source in the settings is kept (deploy checks that the image was built from it)."""
    if cfg.writer_source or cfg.images.writer:
        return cfg
    built = state.get(cfg.path(cfg.state_dir), BUILT_SOURCE) or ""
    return dataclasses.replace(cfg, writer_source=built) if built else cfg


def check_built_writer(lab: Lab) -> None:
    """The writer image deploy will run was built from the writer lab.writer.source names (or, without it, is the
    lab's): a changed setting without a build would deploy the other writer under the wrong probes."""
    if lab.cfg.images.writer or not state.get(lab.state_dir, "writer_image"):
        return
    wanted = writer_source_dir(lab.cfg)
    built = state.get(lab.state_dir, BUILT_SOURCE) or ""
    if str(wanted or "") != built:
        raise PreconditionError(f"the writer image was last built from {built or 'the lab writer'}, not from "
                                f"{wanted or 'the lab writer'} (lab.writer.source); run `invoke build` first")


# -- deploy ---------------------------------------------------------------------------------------------

def writer_image_ref(lab: Lab) -> str:
    ref = lab.cfg.images.writer or state.get(lab.state_dir, "writer_image")
    if not ref:
        raise PreconditionError("no writer image yet; run `invoke build` (or set lab.images.writer)")
    return ref


#: Pod Security admission (built into the API server): pods that break the "restricted" standard are refused.
POD_SECURITY_LABELS = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}


def render_namespace(lab: Lab) -> Path:
    """The lab's namespace (created when missing) with the restricted Pod Security Standard enforced."""
    doc = {"apiVersion": "v1", "kind": "Namespace",
           "metadata": {"name": lab.cfg.namespace, "labels": dict(POD_SECURITY_LABELS)}}
    return manifests.write([doc], lab.state_dir / "rendered" / "namespace.yml")


def cassandra_image_ref(lab: Lab) -> str:
    """The Cassandra image deploy renders: the one reset chose, else lab.images.cassandra; by the digest the
    lab pushed it with, where it did."""
    return pinned(lab, state.get(lab.state_dir, "cassandra_image") or lab.cfg.images.cassandra)


def check_policies(lab: Lab, *, bootstrapped: bool = False) -> None:
    """Probe whether the NetworkPolicies are enforced (lab/policies.py), once Cassandra serves: one line either
    way, a refusal (exit 2, before the writer) when lab.security.require_enforced_policies asks for them.
    ``bootstrapped``: this deploy took the built-in login away behind a closed door, which held only if enforced."""
    if lab.runner.dry:
        progress.info(f"(dry run) would probe whether NetworkPolicies are enforced (pod {policies.PROBE_POD})")
        return
    with progress.step(f"Probing NetworkPolicy enforcement (pod {policies.PROBE_POD} without the writers' "
                       f"labels against {names.CASSANDRA_PODS[0]}:{names.CQL_PORT})"):
        probed = policies.probe(lab, cassandra_image_ref(lab))
    progress.info(policies.line(probed) + (door.exposure(probed.result) if bootstrapped else ""))
    if probed.result != policies.ENFORCED and lab.cfg.security.require_enforced_policies:
        raise PreconditionError(policies.refusal(probed))


def with_tls(lab: Lab, docs: list[dict[str, Any]], ca: str | None) -> list[dict[str, Any]]:
    """``docs`` with the CA's checksum on their pod templates (lab.security.tls on, ``ca`` given: a new CA rolls the
    pods), or with TLS taken out (off: the lab as before TLS, lab/tls.py)."""
    return tls.with_checksum(docs, ca) if lab.cfg.security.tls else tls.without_tls(docs)


def render_cassandra(lab: Lab, replicas: int | None = None, passwords: auth.Passwords | None = None, *,
                     closed: bool = False, ca: str | None = None) -> Path:
    """cassandra.yml with the image reset chose, lab.storage_class, lab.cassandra.auth's authenticator,
    lab.cassandra.commitlog_sync, the disk-usage guardrail sized from the PVC (lab/disk.py), ``replicas`` when
    given (the size ``invoke scale`` left: applying the checked-in 3 would shrink a grown ring without a
    decommission), the Secret's checksum when given, TLS per lab.security.tls (``ca``: the CA's certificate),
    the registry's pull Secret where its images come from the lab's registry, and with ``closed`` its
    NetworkPolicy admitting no writer (lab/door.py)."""
    image = cassandra_image_ref(lab)
    docs = manifests.render(manifests.load_all(lab.cfg.path(lab.cfg.cassandra_manifest)),
                            images={names.CASSANDRA_CONTAINER: image, names.CASSANDRA_INIT_CONTAINER: image})
    docs = auth.with_auth(docs, lab.cfg.cassandra_auth)
    docs = manifests.with_storage_class(docs, lab.cfg.storage_class)
    docs = manifests.with_commitlog_sync(docs, names.CASSANDRA_CONTAINER, lab.cfg.commitlog_sync)
    docs = disk.with_guardrail(docs)
    if replicas:
        docs = manifests.with_replicas(docs, names.CASSANDRA_STATEFULSET, replicas)
    docs = auth.with_secret_checksum(docs, passwords)
    docs = with_tls(lab, docs, ca)
    docs = registry.with_pull_secret(lab.cfg, docs)
    name = Path(lab.cfg.cassandra_manifest).name
    if closed:  # a file of its own: a dry run's plan applies it, then the one as checked in
        docs, name = door.closed(docs), door.closed_name(name)
    return manifests.write(docs, lab.state_dir / "rendered" / name)


def render_writer(lab: Lab, passwords: auth.Passwords | None = None, *, unset: tuple[str, ...] = (),
                  ca: str | None = None) -> Path:
    """writer.yml with the built image and lab.writer.*, its Deployment once per topic (lab/writers.py), the
    Secret's checksum when given, TLS per lab.security.tls (``ca``: the CA's certificate), and a rule in its
    NetworkPolicy for lab.security.monitoring_namespace. ``unset``: env
    vars left out of the writer, as the assignment's writer.yml left CONSISTENCY out (lesson step 1)."""
    cfg = lab.cfg
    mode = names.OWN_WRITER_MODE if cfg.own_writer else cfg.writer_mode
    env = {"WRITER_MODE": mode, "WRITER_RESUME": "true" if cfg.writer_resume else "false"}
    docs = manifests.render(manifests.load_all(cfg.path(cfg.writer_manifest)),
                            images={names.WRITER_CONTAINER: pinned(lab, writer_image_ref(lab))},
                            env={names.WRITER_CONTAINER: env})
    docs = writers.render(docs, writers.planned(cfg.topics, cfg.consistencies))
    if not http_probes(cfg):
        docs = manifests.without_probes(docs, names.WRITER_CONTAINER)
    if not cfg.cassandra_auth:  # nothing to log in to; and no Secret need exist for the pod to start
        docs = manifests.without_env(docs, names.WRITER_CONTAINER, auth.CREDENTIAL_VARS)
    if unset:
        docs = manifests.without_env(docs, names.WRITER_CONTAINER, unset)
    docs = auth.with_secret_checksum(docs, passwords)
    docs = with_tls(lab, docs, ca)
    docs = manifests.with_ingress_from_namespace(docs, names.WRITER_POLICY, cfg.security.monitoring_namespace)
    docs = registry.with_pull_secret(cfg, docs)
    return manifests.write(docs, lab.state_dir / "rendered" / Path(cfg.writer_manifest).name)


def http_probes(cfg: LabConfig) -> bool:
    """Whether the writer keeps writer.yml's HTTP probes (/readyz, /healthz): lab.writer.probes, where ``auto``
    means only the lab's robust writer.

    The seed writer (the assignment's Go writer) serves no HTTP, nor does a writer of your own unless you say so
    (lab.writer.probes http), so /readyz and /healthz would never answer: the liveness probe would kill it about
    every minute, a restart the students would wrongly blame on it. What they must see is its own failures
    (Unknown topic, the first write error) and Kubernetes restarting it, so such a writer has no probes: Ready
    while the process runs, as the assignment's writer.yml had it."""
    if cfg.writer_probes != "auto":
        return cfg.writer_probes == "http"
    return cfg.writer_mode == "robust" and not cfg.own_writer


def describe_writer(cfg: LabConfig) -> str:
    """``topic test, QUORUM``, ``topics test, test-2, QUORUM``, ``topics test ONE, test-2 ALL`` (a level each),
    ``seed writer, topic '', ONE, resume off`` or ``your writer gowriter, topic '', ALL``."""
    if cfg.own_writer:
        topics = f"topics {', '.join(cfg.topics)}" if len(cfg.topics) > 1 else f"topic {cfg.topic!r}"
        return f"your writer {Path(cfg.writer_source).name}, {topics}, {cfg.consistency}"
    if len(set(cfg.consistencies)) > 1:
        return "topics " + ", ".join(f"{t} {level}" for t, level in zip(cfg.topics, cfg.consistencies, strict=True))
    topics = f"topics {', '.join(cfg.topics)}" if len(cfg.topics) > 1 else f"topic {cfg.topic}"
    if cfg.writer_mode == "seed":
        topics = topics if len(cfg.topics) > 1 else f"topic {cfg.topic!r}"
        return f"seed writer, {topics}, {cfg.consistency}, resume {'on' if cfg.writer_resume else 'off'}"
    return f"{topics}, {cfg.consistency}"


def _wait_or_explain(lab: Lab, what: str, selector: str, container: str, wait) -> None:
    """Run a wait; on failure print why (pod state, events, log tail) and raise one line."""
    try:
        ok = wait()
    except CommandError as err:
        ok, detail = False, str(err)
    else:
        detail = ""
    if ok:
        return
    for line in kubectl.diagnose(lab.runner, lab.kube, selector, container=container):
        progress.info(line)
    raise LabError(f"{what}{': ' + detail if detail else ''}; see the pod state and events above")


def _wait_rollout(lab: Lab, what: str, resource: str, selector: str, container: str, *, timeout: int,
                  state: str) -> None:
    """``kubectl rollout status`` on ``resource``; on failure, the pods' state, events and log tail."""
    def rollout() -> bool:
        kubectl.rollout_status(lab.runner, lab.kube, resource, timeout=timeout)
        return True
    _wait_or_explain(lab, f"{what} not {state} within {timeout}s", selector, container, rollout)


def wait_cassandra(lab: Lab, replicas: int = CASSANDRA_REPLICAS) -> None:
    timeout = lab.cfg.timeouts.cassandra
    with progress.step(f"Waiting for StatefulSet {names.CASSANDRA_STATEFULSET} to be Ready (up to {timeout}s)"):
        _wait_rollout(
            lab,
            f"StatefulSet {names.CASSANDRA_STATEFULSET}",
            f"statefulset/{names.CASSANDRA_STATEFULSET}",
            names.CASSANDRA_SELECTOR,
            names.CASSANDRA_CONTAINER,
            timeout=timeout,
            state="Ready",
        )
    if lab.runner.dry:
        return
    with progress.step(f"Waiting for nodetool status to show {replicas} nodes UN") as s:
        cass = lab.cassandra()
        _wait_or_explain(lab, f"not every Cassandra node UN within {timeout}s", names.CASSANDRA_SELECTOR,
                         names.CASSANDRA_CONTAINER,
                         lambda: ring.wait_up_normal(cass, replicas, timeout=timeout, step=s))


DEPLOY_TARGETS = ("cassandra", "writer", "all")


def deploy(lab: Lab, *, what: str = "all") -> None:
    """Apply cassandra.yml and wait for every node UN; apply writer.yml with the built tag; wait for it.

    With logins on, a ring whose built-in login is not yet off gets cassandra.yml twice: first with CQL closed to
    the writers, then as checked in once the bootstrap took that login away (lab/door.py).

    ``what`` cassandra applies only Cassandra (the assignment's section III, before any writer exists); writer
    only the writer (e.g. to switch lab.writer.mode on a running Cassandra).
    """
    cfg = lab.cfg
    if what not in DEPLOY_TARGETS:
        raise PreconditionError(f"--what {what!r}: use one of {', '.join(DEPLOY_TARGETS)}")
    guard_context(cfg, action="deploy")
    if not cfg.is_kind_context and not cfg.images.registry:
        raise PreconditionError(f"context {cfg.kube_context} is not a kind cluster, so images cannot be kind-loaded; "
                                "set lab.images.registry and run `invoke build` to push them")
    if not cfg.is_kind_context and cfg.images.local_registry:
        raise PreconditionError(f"lab.images.registry 'local' serves only the lab's kind nodes, not context "
                                f"{cfg.kube_context}; name a registry that cluster can reach")
    require_cluster(lab)
    # fail before touching the cluster when nothing (or another writer) was built
    writer_ref = writer_image_ref(lab) if what != "cassandra" else ""
    if what != "cassandra":
        check_built_writer(lab)
    secrets = ([auth.SECRET] if cfg.cassandra_auth else []) + ([tls.CA_SECRET, tls.SECRET] if cfg.security.tls else [])
    secret = f" and Secret{'s' * (len(secrets) > 1)} {', '.join(secrets)}" if secrets else ""
    # a cluster this dry run only planned has no StatefulSet to read (nor writers to remove, below)
    replicas = (None if lab.cluster_planned else ring.live_replicas(lab.runner, lab.kube)) or CASSANDRA_REPLICAS
    with progress.step(f"Namespace {cfg.namespace} (restricted Pod Security Standard){secret}"):
        kubectl.apply(lab.runner, lab.kube, str(render_namespace(lab)))
        passwords = auth.ensure_secret(lab.runner, lab.kube) if cfg.cassandra_auth else None
        # a certificate for each node the ring has (`invoke scale` adds the ones it grows to)
        ca = tls.ensure(lab.runner, lab.kube, replicas, cfg.namespace) if cfg.security.tls else None
    registry.pull_secret_step(lab)
    if what != "writer":
        # The door (lab/door.py): CQL closed to the writers until the built-in login is off, unless it is already.
        closing = passwords is not None and door.needed(lab)
        shut = f", {names.CQL_PORT} closed to the writers until the built-in login is off" if closing else ""
        with progress.step(f"Applying {cfg.cassandra_manifest}{shut}") as s:
            if kubectl.apply_statefulset(lab.runner, lab.kube,
                                         str(render_cassandra(lab, replicas, passwords, closed=closing, ca=ca)),
                                         names.CASSANDRA_STATEFULSET):
                s.note("the StatefulSet was replaced (a field fixed at creation changed); its pods kept running")
            if replicas != CASSANDRA_REPLICAS:
                s.note(f"keeping the {replicas} nodes `invoke scale` left")
        if closing and passwords is not None:  # at pod 0's start, not after the ring: the door is shut till then
            with progress.step(f"Role {auth.ADMIN} as soon as {names.CASSANDRA_STATEFULSET}-0 answers, the built-in "
                               "login disabled"):
                auth.ensure_admin(lab.cassandra(), passwords, timeout=cfg.timeouts.cassandra)
            with progress.step(f"Opening {names.CQL_PORT} to the writers once the built-in login is refused "
                               f"(NetworkPolicy {door.POLICY} as in {cfg.cassandra_manifest})"):
                auth.wait_default_login_refused(lab.cassandra())
                kubectl.apply(lab.runner, lab.kube, str(render_cassandra(lab, replicas, passwords, ca=ca)))
        wait_cassandra(lab, replicas)
        if passwords is None:
            progress.info(f"auth off (lab.cassandra.auth): Cassandra runs {auth.AUTHENTICATORS[False][0]}, any client "
                          "connects without a login; no roles or grants made, the writer creates its own schema")
        else:
            with progress.step(f"Roles {auth.ADMIN} and {auth.WRITER}, the {KEYSPACE} schema and the writer's "
                               "grants"):
                auth.ensure_roles(lab.cassandra(), passwords, timeout=cfg.timeouts.cassandra)
        check_policies(lab, bootstrapped=closing)
    if what == "cassandra":
        return
    with progress.step(f"Applying {cfg.writer_manifest} ({writer_ref}, {describe_writer(cfg)})"):
        kubectl.apply(lab.runner, lab.kube, str(render_writer(lab, passwords, ca=ca)))
    remove_unplanned_writers(lab)
    if (cfg.writer_mode == "seed" or cfg.own_writer) and not cfg.topic:
        # Nothing to wait for: this writer exits at once, and that crash loop is what the student came to see.
        said = ("your writer has no TOPIC: if it exits on that, as the assignment's does ('Unknown topic'), "
                if cfg.own_writer else "the seed writer has no TOPIC: it logs 'Unknown topic', exits 1, and ")
        progress.info(f"{said}Kubernetes restarts it (CrashLoopBackOff); watch it with `kubectl get pods` and "
                      f"`kubectl logs -l {names.WRITER_SELECTOR}`")
        return
    timeout = cfg.timeouts.writer
    for writer in writers.planned(cfg.topics):
        with progress.step(f"Waiting for Deployment {writer.name} (topic {writer.topic}) to roll out "
                           f"(up to {timeout}s)"):
            _wait_rollout(lab, f"Deployment {writer.name}", f"deployment/{writer.name}",
                          writer.selector, names.WRITER_CONTAINER, timeout=timeout, state="rolled out")


def remove_unplanned_writers(lab: Lab) -> None:
    """Delete the writer Deployments an earlier deploy made that lab.writer.topics no longer names (after
    ``--writers 3``, a plain deploy goes back to one). Their rows and progress stay in Cassandra."""
    if lab.cluster_planned:
        return
    planned = {w.name for w in writers.planned(lab.cfg.topics)}
    extra = [w for w in writers.deployed(lab.runner, lab.kube) if w.name not in planned]
    if not extra:
        return
    timeout = lab.cfg.timeouts.pod
    with progress.step(f"Removing writers no longer asked for: {writers.describe(extra)}"):
        for writer in extra:
            try:
                lab.runner.run(lab.kube.delete_args("deployment", writer.name, timeout=timeout), timeout=timeout + 30)
            except CommandError as err:
                raise LabError(f"failed to delete Deployment {writer.name}: {err}") from err


def up(lab: Lab, *, force: bool = False) -> None:
    """From nothing to a running lab (``invoke up``): reset, build, deploy.

    With lab.images.preload (the kind-load path only) the writer's image is loaded into the workers while Cassandra
    starts, in a thread of its own: neither needs the other until the writer is applied, and on today's path the
    load (about 20 s) waits for nothing but runs before Cassandra is even applied."""
    if not preloading(lab.cfg):
        reset(lab)
        build(lab, force=force)
        deploy(lab)
        return
    reset(lab, writer=False)
    tag, source = writer_image(lab, force=force)
    quiet = Runner(lab.runner.ctx, dry=lab.runner.dry, echo=False)  # kind's lines would cut through the steps'
    with ThreadPoolExecutor(max_workers=1) as pool:
        loading = pool.submit(kind.load_image, quiet, lab.kind, tag, workers_only=True, hide=True)
        deploy(lab, what="cassandra")  # on a failure the pool still waits for the load: no kind load left running
        with progress.step(f"Loading {tag} into the workers, begun as Cassandra was applied") as s:
            s.note(", ".join(loading.result()) or "already on every worker")
    make_available(lab, tag, source)  # now only the checks, and the writer.yml name (a re-tag on the nodes)
    deploy(lab, what="writer")


def preloading(cfg: LabConfig) -> bool:
    """lab.images.preload applies: images reach the nodes by ``kind load`` (no registry)."""
    return cfg.images.preload and not cfg.images.registry


# -- delete ---------------------------------------------------------------------------------------------

DELETE_TARGETS = ("writer", "cassandra", "all")


def delete(lab: Lab, *, what: str = "all", pvcs: bool = False) -> None:
    """Remove the writer, Cassandra or both (their manifests' objects); PVCs only when asked."""
    cfg = lab.cfg
    if what not in DELETE_TARGETS:
        raise PreconditionError(f"--what {what!r}: use one of {', '.join(DELETE_TARGETS)}")
    guard_context(cfg, action="delete workloads")
    require_cluster(lab)
    timeout = cfg.timeouts.pod
    steps = []
    if what in ("writer", "all"):
        steps.append(cfg.writer_manifest)
    if what in ("cassandra", "all"):
        steps.append(cfg.cassandra_manifest)
    for manifest in steps:
        with progress.step(f"Deleting the objects of {manifest}"):
            try:
                lab.runner.run(
                    lab.kube.delete_file_args(str(cfg.path(manifest)), timeout=timeout), timeout=timeout + 30
                )
                if manifest == cfg.writer_manifest:  # and the other topics' writers, cut from the same file
                    lab.runner.run(lab.kube.delete_args("deployment", selector=names.WRITERS_SELECTOR,
                                                        timeout=timeout), timeout=timeout + 30)
            except CommandError as err:
                raise LabError(f"failed to delete {manifest}: {err}") from err
    if pvcs:
        if what == "writer":
            raise PreconditionError("--pvcs deletes Cassandra's data; use it with --what cassandra or all")
        with progress.step("Deleting Cassandra's PersistentVolumeClaims"):
            try:
                lab.runner.run(lab.kube.delete_args("persistentvolumeclaim", selector=names.CASSANDRA_SELECTOR,
                                                    timeout=timeout), timeout=timeout + 30)
            except CommandError as err:
                raise LabError(f"failed to delete Cassandra's PVCs: {err}") from err
