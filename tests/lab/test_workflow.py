import dataclasses
import json

import pytest
import yaml

from lab import doctor, state, workflow, writers
from lab.config import KIND_NODE_IMAGE
from lab.errors import LabError, PreconditionError
from lab.images import preloaded
from lab.images.builders import ImageBuilders
from lab.runner import Runner
from tests.lab.labfakes import (
    AUTH_RULES,
    DATA,
    LAB_ACTIONS,
    NO_IMAGE_BUILDS,
    FakeCtx,
    lab_ctx,
    make_cfg,
    make_lab,
    policy_probe_rules,
)

NODES = "kind-control-plane\nkind-worker\nkind-worker2\nkind-worker3\nkind-worker4\n"


#: The writer image the fake builders made, as the engine has it.
WRITER_BUILT = ("docker image inspect .* (lab/writer:0123456789ab|ece573-prj04-writer:v1)$", "sha256:w\n")


def _ctx(rules=()):
    """A FakeCtx whose lab actions (``LAB_ACTIONS``) succeed unless ``rules`` say otherwise."""
    return lab_ctx(rules, ok=LAB_ACTIONS)


@pytest.fixture
def images():
    """What the fake image builders were asked for: (builder, kwargs) per call."""
    return []


@pytest.fixture
def builders(images):
    """Fake image builders for make_lab: record each call in ``images``, return fixed tags, build nothing."""
    def builder(name, tag):
        def ensure_image(runner, **kwargs):
            images.append((name, kwargs))
            return tag
        return ensure_image

    return ImageBuilders(cassandra=builder("cassandra", "lab/cassandra:5.0.2-abc"),
                         writer=builder("writer", "lab/writer:0123456789ab"),
                         kind_node=builder("kind_node", "kind-node-lab:feed"),
                         tools=lambda runner: {"kind": "/x/kind", "kubectl": "/x/kubectl"},
                         registry=builder("registry", "lab-registry:5eed"))


def _reset_ctx(*, cluster_exists=True, pullable=False):
    return _ctx([
        ("docker image inspect .*(cassandra:5.0|kindest/node)", ("", 0 if pullable else 1)),
        ("docker pull", ("Error response from daemon: Get https://registry-1.docker.io/v2/: dial tcp: lookup", 1)),
        ("get clusters", "kind\n" if cluster_exists else "No kind clusters found.\n"),
        ("get nodes", NODES),
        ("crictl inspecti", ("", 1)),
    ])


def test_reset_builds_what_cannot_be_pulled_and_recreates_the_cluster(project, images, builders):
    ctx = _reset_ctx()
    lab = make_lab(project, ctx, builders=builders)
    workflow.reset(lab)
    mutating = [c for c, kw in zip(ctx.commands, ctx.kwargs, strict=True) if kw.get("echo")]
    assert mutating == [
        "docker pull cassandra:5.0",
        f"docker pull {KIND_NODE_IMAGE}",
        "kind delete cluster --name kind",
        f"kind create cluster --name kind --config {project}/.cache/lab/rendered/cluster.yml "
        "--image kind-node-lab:feed --wait 300s",
        "kind load docker-image lab/cassandra:5.0.2-abc --name kind",
        # the name cassandra.yml types, so the assignment's `kubectl apply -f cassandra.yml` runs this image too
        "docker tag lab/cassandra:5.0.2-abc cassandra:5.0",
        "kind load docker-image cassandra:5.0 --name kind",
    ]
    assert [name for name, _ in images] == ["cassandra", "kind_node"]
    assert state.get(lab.state_dir, "cassandra_image") == "lab/cassandra:5.0.2-abc"


def test_a_second_reset_does_not_mistake_its_own_alias_for_a_pulled_image(project, images, builders):
    """reset tags its local build as cassandra:5.0 (cassandra.yml's name); next time that local copy must not
    stop auto from pulling or building the current content tag (a changed recipe would never roll out)."""
    workflow.reset(make_lab(project, _reset_ctx(), builders=builders))
    assert state.get(project / ".cache/lab", "alias cassandra:5.0") == "lab/cassandra:5.0.2-abc"
    ctx = _reset_ctx(pullable=True)  # cassandra:5.0 is now in the local engine: our alias
    images.clear()
    workflow.reset(make_lab(project, ctx, builders=builders))
    assert ctx.matching("docker pull cassandra") == ["docker pull cassandra:5.0"]
    assert images and images[0][0] == "cassandra"  # the pull failed: the content tag, built (here: faked)
    assert state.get(project / ".cache/lab", "cassandra_image") == "lab/cassandra:5.0.2-abc"
    # once a real pull takes the name back, the alias record is dropped and the local copy is used again
    ctx = _reset_ctx(pullable=True)
    ctx.add("docker pull", ("", 0), first=True)
    workflow.reset(make_lab(project, ctx, builders=builders))
    assert state.get(project / ".cache/lab", "cassandra_image") == "cassandra:5.0"
    assert not state.get(project / ".cache/lab", "alias cassandra:5.0")
    assert ctx.matching("docker tag") == []


def test_reset_uses_the_pinned_node_image_when_it_is_there(project, images, builders):
    ctx = _reset_ctx(cluster_exists=False, pullable=True)
    workflow.reset(make_lab(project, ctx, builders=builders))
    assert ctx.matching("kind (create|delete)") == [
        f"kind create cluster --name kind --config {project}/.cache/lab/rendered/cluster.yml --wait 300s"]
    assert ctx.matching("docker pull") == [] and images == []
    assert ctx.matching("kind load") == ["kind load docker-image cassandra:5.0 --name kind"]


def test_reset_with_preload_gives_the_workers_a_node_image_holding_cassandra(project, builders):
    """lab.images.preload: Cassandra is in the workers' node image (built once, lab.images.preloaded), the control
    plane keeps the plain one, and nothing is kind-loaded into the control plane."""
    state.put(project / ".cache/lab", "writer_image", "lab/writer:0123456789ab")
    ctx = _reset_ctx()
    for rule in [
        (r"image inspect --format '\{\{.Id\}\}' kind-node-lab-preloaded:", ("", 1)),  # not built yet
        (r"image inspect --format '\{\{.Id\}\}' lab/cassandra:5.0.2-abc$", "sha256:c\n"),
        (r"image inspect --format '\{\{.Id\}\}' kind-node-lab:feed$", "sha256:n\n"),
        WRITER_BUILT,
        ("--filter label=io.x-k8s.kind.role=worker", "kind-worker\nkind-worker2\nkind-worker3\nkind-worker4\n"),
        # the workers hold Cassandra under its own name (preloaded), not yet under cassandra.yml's, nor the writer
        (r"kind-worker\d? crictl inspecti .*lab/cassandra:5.0.2-abc", '{"status": {"id": "sha256:c"}}'),
        (r"^docker images kind-node-lab-preloaded ", ""),
        (r"^docker (save|exec kind-node-lab-preloading-\d+|stop|commit) ", FakeCtx.ANY_OK),
    ]:
        ctx.add(*rule, first=True)
    lab = make_lab(project, ctx, builders=builders, images={"preload": True, "cassandra_source": "build",
                                                            "kind_node_source": "build"})
    workflow.reset(lab)
    tag = preloaded.tag_for("sha256:n", ["sha256:c"])
    assert ctx.matching(rf"^docker commit .* {tag}$")
    [create] = ctx.matching("kind create")
    assert "--image" not in create  # each role's image is in the rendered config, which --image would override
    rendered = yaml.safe_load((project / ".cache/lab/rendered/cluster.yml").read_text())
    assert [(n["role"], n["image"]) for n in rendered["nodes"]] == [("control-plane", "kind-node-lab:feed"),
                                                                     *[("worker", tag)] * 4]
    workers = "kind-worker,kind-worker2,kind-worker3,kind-worker4"
    assert ctx.matching("docker tag|kind load") == [
        # Cassandra under its own name: already on every worker, nothing loaded
        "docker tag lab/cassandra:5.0.2-abc cassandra:5.0",
        f"kind load docker-image cassandra:5.0 --name kind --nodes {workers}",  # kind re-tags: the ID is there
        f"kind load docker-image lab/writer:0123456789ab --name kind --nodes {workers}",
        "docker tag lab/writer:0123456789ab ece573-prj04-writer:v1",
        f"kind load docker-image ece573-prj04-writer:v1 --name kind --nodes {workers}"]


def test_reset_dry_run_prints_every_mutating_command(project, capsys, builders):
    ctx = _reset_ctx()
    with state.planning({}) as planned:  # what a task opens around its run
        workflow.reset(make_lab(project, ctx, dry=True, builders=builders,
                                images={"cassandra_source": "build", "kind_node_source": "build"}))
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[dry-run]")]
    assert printed == [
        "[dry-run] kind delete cluster --name kind",
        f"[dry-run] kind create cluster --name kind --config {project}/.cache/lab/rendered/cluster.yml "
        "--image kind-node-lab:feed --wait 300s",
        "[dry-run] kind load docker-image lab/cassandra:5.0.2-abc --name kind",
        "[dry-run] docker tag lab/cassandra:5.0.2-abc cassandra:5.0",
        "[dry-run] kind load docker-image cassandra:5.0 --name kind",
    ]
    assert ctx.matching("kind (create|delete|load)") == []  # only probes ran
    assert not (project / ".cache/lab/state.json").exists()
    assert planned["cassandra_image"] == "lab/cassandra:5.0.2-abc"  # kept for the run's later steps only


def test_reset_with_source_pull_fails_with_one_line(project, builders):
    lab = make_lab(project, _reset_ctx(), images={"cassandra_source": "pull"}, builders=builders)
    with pytest.raises(
        LabError, match="failed to pull Cassandra image cassandra:5.0; set its source to 'auto' or 'build'"
    ):
        workflow.reset(lab)


def test_reset_with_source_local_and_no_image(project, builders):
    lab = make_lab(project, _reset_ctx(), images={"kind_node_source": "local", "cassandra_source": "build"},
                   builders=builders)
    with pytest.raises(PreconditionError, match=f"kind node image {KIND_NODE_IMAGE} is not in the local engine"):
        workflow.reset(lab)


def test_kind_create_failure_is_wrapped(project, builders):
    ctx = _reset_ctx(pullable=True)
    ctx.add("kind create", ("ERROR: failed to create cluster: node(s) already exist", 1), first=True)
    with pytest.raises(LabError, match="failed to create kind cluster kind from .*cluster.yml: .*already exist"):
        workflow.reset(make_lab(project, ctx, builders=builders))


# -- build ----------------------------------------------------------------------------------------------

def test_build_loads_the_content_tag_and_records_it(project, images, builders):
    ctx = _ctx([("get clusters", "kind\n"), ("get nodes", NODES), ("crictl inspecti", ("", 1)), WRITER_BUILT])
    lab = make_lab(project, ctx, images={"writer_base": "debian:bookworm-slim"}, builders=builders)
    assert workflow.build(lab) == "lab/writer:0123456789ab"
    assert images == [("writer", {"force": False, "base_image": "debian:bookworm-slim"})]
    # also as writer.yml's ece573-prj04-writer:v1, for the assignment's plain `kubectl apply -f writer.yml`
    assert ctx.matching("docker tag|kind load") == ["kind load docker-image lab/writer:0123456789ab --name kind",
                                                    "docker tag lab/writer:0123456789ab ece573-prj04-writer:v1",
                                                    "kind load docker-image ece573-prj04-writer:v1 --name kind"]
    assert json.loads((project / ".cache/lab/state.json").read_text()) == {
        "writer_image": "lab/writer:0123456789ab", "alias ece573-prj04-writer:v1": "lab/writer:0123456789ab",
        "writer_source": ""}  # the lab's own writer, not a directory of the user's


def test_build_is_a_no_op_on_nodes_that_have_the_tag(project, builders):
    ctx = _ctx([("get clusters", "kind\n"), ("get nodes", NODES), ("docker image inspect", "sha256:ab\n"),
                   ("crictl inspecti", '{"status": {"id": "sha256:ab"}}')])
    workflow.build(make_lab(project, ctx, builders=builders))
    assert ctx.matching("kind load") == []


def test_build_reloads_the_fixed_name_only_where_it_is_stale(project, builders):
    """ece573-prj04-writer:v1 is compared by image ID like any tag: after a rebuild it moves, else it is kept."""
    ctx = _ctx([("get clusters", "kind\n"), ("get nodes", NODES), ("docker image inspect", "sha256:ab\n"),
                   ("crictl inspecti .*:v1", '{"status": {"id": "sha256:old"}}'),
                   ("crictl inspecti", '{"status": {"id": "sha256:ab"}}')])
    workflow.build(make_lab(project, ctx, builders=builders))
    assert ctx.matching("kind load") == ["kind load docker-image ece573-prj04-writer:v1 --name kind"]


def test_reset_also_loads_a_writer_built_before_under_both_names(project, builders):
    state.put(project / ".cache/lab", "writer_image", "lab/writer:0123456789ab")
    ctx = _reset_ctx(pullable=True)
    ctx.add(*WRITER_BUILT, first=True)
    workflow.reset(make_lab(project, ctx, builders=builders))
    assert ctx.matching("docker tag|kind load") == [
        "kind load docker-image cassandra:5.0 --name kind",  # cassandra.yml's own name: nothing to tag
        "kind load docker-image lab/writer:0123456789ab --name kind",
        "docker tag lab/writer:0123456789ab ece573-prj04-writer:v1",
        "kind load docker-image ece573-prj04-writer:v1 --name kind"]


def test_a_failed_tag_is_one_line(project, builders):
    ctx = _ctx([("get clusters", "kind\n"), ("get nodes", NODES), ("crictl inspecti", ("", 1)), WRITER_BUILT,
                   ("docker tag", ("Error response from daemon: No such image: lab/writer:0123456789ab", 1))])
    with pytest.raises(LabError, match=r"failed to tag lab/writer:0123456789ab as ece573-prj04-writer:v1: .*No such"):
        workflow.build(make_lab(project, ctx, builders=builders))


def test_build_without_a_cluster_says_reset(project, builders):
    with pytest.raises(PreconditionError, match=r"kind cluster kind not found; run `invoke reset` first"):
        workflow.build(make_lab(project, _ctx([("get clusters", "")]), builders=builders))


def test_build_pushes_to_a_registry_when_one_is_named(project, builders):
    digest = "sha256:" + "5e" * 32
    ctx = _ctx([("^docker push ", f"0123456789ab: digest: {digest} size: 1570\n")])
    lab = make_lab(project, ctx, images={"registry": "registry.example:5000/lab/"}, builders=builders)
    ref = workflow.build(lab)
    assert ref == "registry.example:5000/lab/writer:0123456789ab"
    assert ctx.matching("docker (tag|push)") == [
        "docker tag lab/writer:0123456789ab registry.example:5000/lab/writer:0123456789ab",
        "docker push registry.example:5000/lab/writer:0123456789ab"]
    assert ctx.matching("kind") == []
    assert workflow.pinned(lab, ref) == f"registry.example:5000/lab/writer@{digest}"  # what deploy renders


# -- deploy ---------------------------------------------------------------------------------------------

def _deploy_ctx(probe=("refused",)):
    return _ctx([("get-contexts", "kind-kind\n"), ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
                 *AUTH_RULES, *policy_probe_rules(*probe)])


def test_deploy_applies_rendered_manifests_and_waits(project):
    state.put(project / ".cache/lab", "writer_image", "lab/writer:0123456789ab")
    state.put(project / ".cache/lab", "cassandra_image", "lab/cassandra:5.0.2-abc")
    ctx = _deploy_ctx()
    workflow.deploy(make_lab(project, ctx, writer={"topic": "orders", "consistency": "ALL"}))
    rendered = project / ".cache/lab/rendered"
    base = "kubectl --context kind-kind --namespace default"
    assert [c for c in ctx.commands if " apply " in c or "rollout" in c] == [
        f"{base} apply --filename {rendered}/namespace.yml",
        f"{base} apply --filename {rendered}/cassandra.yml",
        f"{base} rollout status statefulset/cassandra --watch --timeout=900s",
        f"{base} apply --filename {rendered}/lab-policy-probe.yml",
        f"{base} apply --filename {rendered}/writer.yml",
        f"{base} rollout status deployment/ece573-prj04-writer --watch --timeout=300s",
    ]
    sts = [d for d in yaml.safe_load_all((rendered / "cassandra.yml").read_text()) if d["kind"] == "StatefulSet"][0]
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "lab/cassandra:5.0.2-abc"
    writer = next(yaml.safe_load_all((rendered / "writer.yml").read_text()))
    container = writer["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (container["image"], env["TOPIC"], env["CONSISTENCY"]) == ("lab/writer:0123456789ab", "orders", "ALL")


def test_deploy_renders_the_configured_commitlog_sync_into_every_cassandra_pod(project):
    state.put(project / ".cache/lab", "writer_image", "lab/writer:0123456789ab")
    workflow.deploy(make_lab(project, _deploy_ctx(), cassandra={"commitlog_sync": "batch"}), what="cassandra")
    docs = list(yaml.safe_load_all((project / ".cache/lab/rendered/cassandra.yml").read_text()))
    [sts] = [d for d in docs if d and d["kind"] == "StatefulSet"]
    env = {e["name"]: e.get("value") for e in sts["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert [f for f in env["JVM_OPTS"].split() if "commitlog" in f] == [
        "-Dcassandra.settings.commitlog_sync=batch", "-Dcassandra.settings.commitlog_sync_period=0ms"]


def _writer_doc(project):
    return next(yaml.safe_load_all((project / ".cache/lab/rendered/writer.yml").read_text()))["spec"]["template"][
        "spec"
    ]


def test_deploy_robust_writer_keeps_its_probes_and_says_its_mode(project):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    workflow.deploy(make_lab(project, _deploy_ctx()))
    container = _writer_doc(project)["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env["WRITER_MODE"], env["WRITER_RESUME"], env["TOPIC"]) == ("robust", "false", "test")
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_deploy_seed_writer_has_no_http_probes_and_waits_for_its_rollout(project, capsys):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    workflow.deploy(make_lab(project, ctx, writer={"mode": "seed", "resume": True, "consistency": "ONE"}))
    container = _writer_doc(project)["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env["WRITER_MODE"], env["WRITER_RESUME"], env["TOPIC"], env["CONSISTENCY"]) == (
        "seed",
        "true",
        "test",
        "ONE",
    )
    # no HTTP server in the seed writer: probes would kill it for a reason of the lab's own making
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(container)
    assert len(ctx.matching("rollout status deployment")) == 1
    assert "writer.yml (w:1, seed writer, topic 'test', ONE, resume on)" in capsys.readouterr().err


def test_deploy_seed_writer_without_topic_does_not_wait_for_a_crash_loop(project, capsys):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    lab = make_lab(project, ctx, writer={"mode": "seed"})
    workflow.deploy(dataclasses.replace(lab, cfg=lab.cfg.with_writer(topic="")))
    env = {e["name"]: e.get("value") for e in _writer_doc(project)["containers"][0]["env"]}
    assert env["TOPIC"] == "" and env["WRITER_MODE"] == "seed"
    assert ctx.matching(" apply ")[-1].endswith("rendered/writer.yml")
    assert ctx.matching("rollout status deployment") == []
    err = capsys.readouterr().err
    assert "the seed writer has no TOPIC: it logs 'Unknown topic', exits 1" in err
    assert "kubectl logs -l app=ece573-prj04-writer" in err


PROBE = "lab-policy-probe.yml"


@pytest.mark.parametrize("what, applied", [("cassandra", ["cassandra.yml", PROBE]), ("writer", ["writer.yml"]),
                                           ("all", ["cassandra.yml", PROBE, "writer.yml"])])
def test_deploy_what(project, what, applied):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    workflow.deploy(make_lab(project, ctx), what=what)
    # The namespace first, every time: it carries the restricted Pod Security Standard. The NetworkPolicy probe
    # pod once Cassandra serves, and only then (a writer-only deploy changes no policy).
    assert [c.rsplit("/", 1)[1] for c in ctx.matching(" apply ")] == ["namespace.yml"] + applied
    waits = [c.split("rollout status ")[1].split()[0] for c in ctx.matching("rollout status")]
    assert waits == [{"cassandra.yml": "statefulset/cassandra", "writer.yml": "deployment/ece573-prj04-writer"}[a]
                     for a in applied if a != PROBE]


def _deployments(*named: tuple[str, str]) -> str:
    """``kubectl get deployments -o json`` for writer Deployments given as (name, TOPIC)."""
    return json.dumps({"items": [
        {"metadata": {"name": name}, "spec": {"template": {"spec": {"containers": [
            {"name": "writer", "env": [{"name": "TOPIC", "value": topic}]}]}}}} for name, topic in named]})


def test_deploy_many_writers_one_deployment_per_topic_each_selecting_its_own_pods(project, capsys):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    lab = make_lab(project, ctx)
    workflow.deploy(dataclasses.replace(lab, cfg=lab.cfg.with_writer(writers=3)), what="writer")
    docs = list(yaml.safe_load_all((project / ".cache/lab/rendered/writer.yml").read_text()))
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert [d["metadata"]["name"] for d in deployments] == [
        "ece573-prj04-writer", "ece573-prj04-writer-2", "ece573-prj04-writer-3"]
    topics = [{e["name"]: e.get("value") for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}["TOPIC"]
              for d in deployments]
    assert topics == ["test", "test-2", "test-3"]
    for d in deployments:  # each selects its own pods only, and every pod carries the all-writers labels
        labels = d["spec"]["template"]["metadata"]["labels"]
        assert d["spec"]["selector"]["matchLabels"] == {"app": d["metadata"]["name"]}
        assert labels["app"] == d["metadata"]["name"]
        assert (labels["app.kubernetes.io/component"], labels["app.kubernetes.io/part-of"]) == (
            "writer", "ece573-prj04")
    assert [d["metadata"]["name"] for d in docs if d["kind"] == "NetworkPolicy"] == ["ece573-prj04-writer"]
    waits = [c.split("rollout status ")[1].split()[0] for c in ctx.matching("rollout status")]
    assert waits == ["deployment/ece573-prj04-writer", "deployment/ece573-prj04-writer-2",
                     "deployment/ece573-prj04-writer-3"]
    assert "topics test, test-2, test-3, QUORUM" in capsys.readouterr().err
    assert ctx.matching("delete deployment") == []


def test_deploy_writers_at_a_level_each(project, capsys):
    """``--writers 3 --consistency ONE,QUORUM,ALL``: one fault, three levels side by side."""
    state.put(project / ".cache/lab", "writer_image", "w:1")
    lab = make_lab(project, _deploy_ctx())
    cfg = lab.cfg.with_writer(writers=3, consistency="ONE,QUORUM,ALL")
    workflow.deploy(dataclasses.replace(lab, cfg=cfg), what="writer")
    docs = list(yaml.safe_load_all((project / ".cache/lab/rendered/writer.yml").read_text()))
    env = [{e["name"]: e.get("value") for e in d["spec"]["template"]["spec"]["containers"][0]["env"]}
           for d in docs if d["kind"] == "Deployment"]
    assert [(e["TOPIC"], e["CONSISTENCY"]) for e in env] == [("test", "ONE"), ("test-2", "QUORUM"), ("test-3", "ALL")]
    assert "topics test ONE, test-2 QUORUM, test-3 ALL" in capsys.readouterr().err
    # ... and read back from the Deployments: what chaos records beside each writer's stall.
    deployed = writers.from_deployments({"items": [d for d in docs if d["kind"] == "Deployment"]})
    assert [(w.name, w.consistency) for w in deployed] == [
        ("ece573-prj04-writer", "ONE"), ("ece573-prj04-writer-2", "QUORUM"), ("ece573-prj04-writer-3", "ALL")]
    assert writers.describe(deployed) == ("ece573-prj04-writer (test, ONE), ece573-prj04-writer-2 (test-2, QUORUM), "
                                          "ece573-prj04-writer-3 (test-3, ALL)")


def test_deploy_removes_the_writers_no_longer_asked_for(project, capsys):
    """After --writers 3, a plain deploy goes back to one writer: the other two Deployments are deleted."""
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _ctx([("get-contexts", "kind-kind\n"),
                   ("get deployments", _deployments(("ece573-prj04-writer", "test"),
                                                    ("ece573-prj04-writer-2", "test-2"),
                                                    ("ece573-prj04-writer-3", "test-3"))), *AUTH_RULES])
    workflow.deploy(make_lab(project, ctx), what="writer")
    deleted = [c.split(" delete ")[1].split(" --ignore")[0] for c in ctx.matching(" delete ")]
    assert deleted == ["deployment ece573-prj04-writer-2", "deployment ece573-prj04-writer-3"]
    assert "Removing writers no longer asked for: ece573-prj04-writer-2 (test-2), ece573-prj04-writer-3 (test-3)" \
        in capsys.readouterr().err


def test_deploy_cassandra_alone_needs_no_writer_image(project):
    """Section III comes before any writer exists: `invoke deploy --what cassandra` right after reset."""
    ctx = _deploy_ctx()
    workflow.deploy(make_lab(project, ctx), what="cassandra")
    assert [c.rsplit("/", 1)[1] for c in ctx.matching(" apply ")] == ["namespace.yml", "cassandra.yml", PROBE]
    with pytest.raises(PreconditionError, match=r"no writer image yet"):
        workflow.deploy(make_lab(project, _deploy_ctx()), what="writer")
    with pytest.raises(PreconditionError, match=r"--what 'db': use one of cassandra, writer, all"):
        workflow.deploy(make_lab(project, _deploy_ctx()), what="db")


def test_deploy_without_a_build_says_so_before_touching_the_cluster(project):
    ctx = _deploy_ctx()
    with pytest.raises(PreconditionError, match=r"no writer image yet; run `invoke build`"):
        workflow.deploy(make_lab(project, ctx))
    assert ctx.matching("apply") == []


def test_deploy_failed_wait_shows_why(project, capsys):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    ctx.add("rollout status statefulset", ("error: timed out waiting for the condition", 1), first=True)
    ctx.add("get pods", json.dumps(json.loads((DATA / "pods.json").read_text())), first=True)
    ctx.add("logs cassandra-1", "Exception (java.lang.OutOfMemoryError) encountered during startup", first=True)
    ctx.add("get events --field-selector involvedObject.name=", "", first=True)  # no events
    ctx.add("logs ece573-prj04-writer-", "", first=True)  # the other pod in pods.json has logged nothing
    with pytest.raises(LabError) as err:
        workflow.deploy(make_lab(project, ctx, timeouts={"cassandra": 60}))
    assert str(err.value).startswith("StatefulSet cassandra not Ready within 60s: `kubectl")
    assert "timed out waiting for the condition; see the pod state and events above" in str(err.value)
    shown = capsys.readouterr().err
    assert "--- cassandra-1: CrashLoopBackOff, restarts 4" in shown
    assert "| Exception (java.lang.OutOfMemoryError) encountered during startup" in shown
    assert ctx.matching("writer.yml") == []


def test_deploy_waits_for_every_node_up_normal(project, monkeypatch):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    ctx.add("nodetool status", [(DATA / "nodetool_status_dn.txt").read_text(),
                                (DATA / "nodetool_status_un.txt").read_text()], first=True)
    monkeypatch.setattr("lab.kubectl.time.sleep", lambda s: None)
    workflow.deploy(make_lab(project, ctx))
    assert len(ctx.matching("nodetool status")) == 2


def test_deploy_keeps_the_ring_size_scale_left_and_waits_for_all_of_it(project, monkeypatch, capsys):
    # Re-applying the checked-in replicas: 3 to a ring `invoke scale` grew to 4 would remove cassandra-3
    # without a decommission: its data copies gone, and a DN node left in the ring.
    state.put(project / ".cache/lab", "writer_image", "w:1")
    un4 = (DATA / "nodetool_status_un.txt").read_text() + (
        "UN  10.244.1.7  66.01 KiB   16      48.2%             7d1e6f0a-3c55-4d0e-9a51-0c2b8f3c4e11  rack1\n")
    ctx = _deploy_ctx()
    ctx.add("get statefulset cassandra", '{"spec": {"replicas": 4}}', first=True)
    ctx.add("nodetool status", [(DATA / "nodetool_status_un.txt").read_text(), un4], first=True)
    monkeypatch.setattr("lab.kubectl.time.sleep", lambda s: None)
    workflow.deploy(make_lab(project, ctx))
    sts = [d for d in yaml.safe_load_all((project / ".cache/lab/rendered/cassandra.yml").read_text())
           if d["kind"] == "StatefulSet"][0]
    assert sts["spec"]["replicas"] == 4
    assert len(ctx.matching("nodetool status")) == 2  # 3 UN was not enough
    assert "keeping the 4 nodes `invoke scale` left" in capsys.readouterr().err


def test_deploy_to_a_foreign_context_needs_permission_and_a_registry(project):
    with pytest.raises(PreconditionError, match="refusing to deploy in kube context 'prod'"):
        workflow.deploy(make_lab(project, _ctx(), context="prod"))
    with pytest.raises(PreconditionError, match="set lab.images.registry"):
        workflow.deploy(make_lab(project, _ctx(), context="prod", allow_context="prod"))


def test_deploy_without_the_cluster_says_reset(project):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    with pytest.raises(
        PreconditionError, match=r"kube context kind-kind not found; create the cluster with `invoke reset`"
    ):
        workflow.deploy(make_lab(project, _ctx([("get-contexts", "")])))


# -- delete / down -------------------------------------------------------------------------------------

#: Every topic's writer Deployment, by the labels they all carry (lab/writers.py).
WRITERS = "app.kubernetes.io/component=writer,app.kubernetes.io/part-of=ece573-prj04"


@pytest.mark.parametrize("what, pvcs, expected", [
    ("writer", False, ["delete --filename {p}/writer.yml", f"delete deployment --selector {WRITERS}"]),
    ("cassandra", False, ["delete --filename {p}/cassandra.yml"]),
    ("all", True, ["delete --filename {p}/writer.yml", f"delete deployment --selector {WRITERS}",
                   "delete --filename {p}/cassandra.yml", "delete persistentvolumeclaim --selector app=cassandra"]),
])
def test_delete(project, what, pvcs, expected):
    ctx = _ctx([("get-contexts", "kind-kind\n")])
    workflow.delete(make_lab(project, ctx), what=what, pvcs=pvcs)
    deletes = [c.split("default ", 1)[1].split(" --ignore")[0] for c in ctx.matching(" delete ")]
    assert deletes == [e.format(p=project) for e in expected]


def test_delete_bad_input(project):
    with pytest.raises(PreconditionError, match="--what 'db': use one of writer, cassandra, all"):
        workflow.delete(make_lab(project, _ctx()), what="db")
    with pytest.raises(PreconditionError, match="--pvcs deletes Cassandra's data"):
        workflow.delete(make_lab(project, _ctx([("get-contexts", "kind-kind\n")])), what="writer", pvcs=True)


def test_down_deletes_only_an_existing_cluster(project):
    no_registry = ("container inspect kind-registry",
                   ("Error response from daemon: No such container: kind-registry", 1))
    ctx = _ctx([("get clusters", "kind\n"), no_registry])
    workflow.down(make_lab(project, ctx))
    assert ctx.matching("delete") == ["kind delete cluster --name kind"]
    ctx = _ctx([("get clusters", "other\n"), no_registry])
    workflow.down(make_lab(project, ctx))
    assert ctx.matching("delete") == []


def test_ensure_tools_builds_kind_and_kubectl_only_when_missing(project, monkeypatch):
    built = []
    builders = dataclasses.replace(NO_IMAGE_BUILDS, tools=lambda runner: (
        built.append(runner) or {"kind": "k", "kubectl": "c"}
    ))
    monkeypatch.setenv("PATH", str(project / "nothing"))
    present = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": ".cache/bin"})
    workflow.ensure_tools(Runner(_ctx()), present, builders)
    assert built == []
    missing = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": "nobin"})
    workflow.ensure_tools(Runner(_ctx(), dry=True), missing, builders)
    assert built == []  # a dry run only shows the plan (preflight warns)
    workflow.ensure_tools(Runner(_ctx()), missing, builders)
    assert len(built) == 1


def test_dry_up_on_a_fresh_machine_plans_on_the_cluster_its_reset_would_create(project, images, builders, capsys):
    """`invoke --dry up` without a cluster: its deploy step neither stops at the missing context nor reads the
    cluster (kubectl, as a real one does for a context that does not exist, fails every get)."""
    ctx = _reset_ctx(cluster_exists=False)
    ctx.add("kubectl .*config get-contexts", "", first=True)
    ctx.add(r"kubectl .*--context kind-kind .*get ", ('error: context "kind-kind" does not exist', 1), first=True)
    ctx.add(*WRITER_BUILT, first=True)
    lab = make_lab(project, ctx, dry=True, builders=builders)
    with state.planning({}):  # what a task opens around its run: build's planned tag for deploy
        workflow.up(lab)
    assert lab.cluster_planned
    assert ctx.matching(r"kubectl .* get ") == []
    planned = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[dry-run] kubectl")]
    assert [line.rsplit("/", 1)[-1] for line in planned if " apply " in line] == [
        "namespace.yml", "cassandra.door-closed.yml", "cassandra.yml", "writer.yml"]


def test_prepare_says_the_plan_before_the_slow_tool_build_starts(project, monkeypatch, capsys):
    """`invoke up` on a machine without kind, kubectl or a registry: the one line naming each slow path (with its
    minutes) is out before the compile begins."""
    said_before_build = []
    builders = dataclasses.replace(NO_IMAGE_BUILDS, tools=lambda runner: (
        said_before_build.append(capsys.readouterr().err) or {"kind": "k", "kubectl": "c"}))
    monkeypatch.setenv("PATH", str(project / "nothing"))
    cfg = make_cfg(project, tools={"kind": "", "kubectl": "", "bin_dir": "nobin"})
    no_registry = doctor.Host(registry_answers=lambda host: False, cores=lambda: 2)
    workflow.prepare(Runner(_ctx([("docker image inspect", ("", 1))])), cfg, builders, no_registry)
    [before] = said_before_build
    plan = before.splitlines()[0]
    assert plan.startswith("plan: Cassandra image built from source (") and "roughly 3-5 min on 2 cores" in plan
    assert "kind node image built from source (" in plan and "roughly 15-40 min on 2 cores" in plan
    assert plan.endswith("; kind and kubectl compiled from Go into nobin (once, tens of minutes)")


def test_dry_reset_in_auto_mode_says_a_failed_pull_means_a_local_build(project, capsys, images, builders):
    ctx = _reset_ctx()
    with state.planning({}):
        workflow.reset(make_lab(project, ctx, dry=True, builders=builders))
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[dry-run] docker pull cassandra:5.0   # if it fails: build the Cassandra image locally"
    assert ctx.matching("docker pull") == [] and images == []


def test_every_wait_has_a_timeout_and_a_timed_out_command_says_so(project, builders):
    from invoke import Result
    from invoke.exceptions import CommandTimedOut
    ctx = _reset_ctx(pullable=True)
    ctx.add("kind create", CommandTimedOut(Result(stdout="", stderr="", exited=-1), timeout=600), first=True)
    with pytest.raises(LabError) as err:
        workflow.reset(make_lab(project, ctx, builders=builders))
    assert "failed to create kind cluster kind" in str(err.value) and "timed out" in str(err.value)
    assert ctx.kwargs[ctx.commands.index(ctx.matching("kind create")[0])]["timeout"] == 600


def test_rollout_waits_carry_kubectl_and_process_timeouts(project):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    workflow.deploy(make_lab(project, ctx, timeouts={"cassandra": 100, "writer": 50}))
    waits = [
        (c.split()[-1], kw["timeout"]) for c, kw in zip(ctx.commands, ctx.kwargs, strict=True) if "rollout status" in c
    ]
    assert waits == [("--timeout=100s", 130), ("--timeout=50s", 80)]


# -- a writer of your own, and Cassandra without logins ---------------------------------------------------

def test_build_of_a_writer_directory_builds_it_loads_it_and_records_where_it_came_from(project, images, builders):
    ctx = _ctx([("get clusters", "kind\n"), ("get nodes", NODES), ("crictl inspecti", ("", 1)), WRITER_BUILT])
    lab = make_lab(project, ctx, images={"writer_base": "debian:bookworm-slim"}, builders=builders)
    workflow.build(lab, writer_dir=str(project / "gowriter"))
    # its own Dockerfile decides the base: lab.images.writer_base is the lab's writer's
    assert images == [("writer", {"force": False, "source": project / "gowriter"})]
    assert ctx.matching("docker tag|kind load") == ["kind load docker-image lab/writer:0123456789ab --name kind",
                                                    "docker tag lab/writer:0123456789ab ece573-prj04-writer:v1",
                                                    "kind load docker-image ece573-prj04-writer:v1 --name kind"]
    assert state.get(project / ".cache/lab", "writer_source") == str(project / "gowriter")
    # lab.writer.source is the same, relative to the project; the lab's own writer again records ""
    images.clear()
    workflow.build(make_lab(project, ctx, writer={"source": "gowriter"}, builders=builders))
    assert images == [("writer", {"force": False, "source": project / "gowriter"})]
    workflow.build(make_lab(project, ctx, builders=builders))
    assert state.get(project / ".cache/lab", "writer_source") == ""


def _built_own_writer(project):
    state.put(project / ".cache/lab", "writer_image", "ece573-prj04-writer:0a1b2c3d4e5f")
    state.put(project / ".cache/lab", "writer_source", str(project / "gowriter"))


def test_deploy_runs_the_built_writer_directory_as_the_labs_writer_without_http_probes(project, capsys):
    """`invoke build --writer-dir gowriter` then `invoke deploy`: no setting needed; the restricted securityContext,
    the writers' labels and the assignment's variables as for the lab's writer; no probes it cannot answer."""
    _built_own_writer(project)
    ctx = _deploy_ctx()
    lab = make_lab(project, ctx, writer={"consistency": "ALL"})
    lab = dataclasses.replace(lab, cfg=workflow.with_built_writer(lab.cfg))
    workflow.deploy(lab)
    spec = _writer_doc(project)
    container = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (container["image"], env["TOPIC"], env["CONSISTENCY"], env["CASSANDRA_SEEDS"]) == (
        "ece573-prj04-writer:0a1b2c3d4e5f", "test", "ALL", "cassandra-service")
    assert env["WRITER_MODE"] == "own"  # read back by verify: a writer of your own's values are not the lab's
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(container)
    assert spec["securityContext"]["runAsNonRoot"] is True and container["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    doc = next(yaml.safe_load_all((project / ".cache/lab/rendered/writer.yml").read_text()))
    labels = doc["spec"]["template"]["metadata"]["labels"]
    assert {labels["app.kubernetes.io/component"], labels["app.kubernetes.io/part-of"]} == {"writer", "ece573-prj04"}
    # auth on (the default): the Secret's credentials are offered, for a writer that reads them
    assert {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e} == {
        "CASSANDRA_USERNAME": "writer-username", "CASSANDRA_PASSWORD": "writer-password"}
    assert "writer.yml (ece573-prj04-writer:0a1b2c3d4e5f, your writer gowriter, topic 'test', ALL)" in \
        capsys.readouterr().err
    assert len(ctx.matching("rollout status deployment")) == 1


@pytest.mark.parametrize("probes, own, mode, expected", [
    ("auto", False, "robust", True), ("auto", False, "seed", False), ("auto", True, "robust", False),
    ("http", True, "robust", True), ("none", False, "robust", False), ("http", False, "seed", True),
], ids=["labs-writer", "seed", "own", "own-declared", "none", "seed-declared"])
def test_http_probes_only_for_a_writer_that_serves_them(probes, own, mode, expected):
    from lab.config import LabConfig

    cfg = LabConfig.from_mapping({"writer": {"probes": probes, "mode": mode, "source": "gowriter" if own else "",
                                             "consistency": "ONE"}})
    assert workflow.http_probes(cfg) is expected


def test_deploy_of_your_writer_without_a_topic_does_not_wait_for_its_crash_loop(project, capsys):
    _built_own_writer(project)
    ctx = _deploy_ctx()
    lab = make_lab(project, ctx)
    workflow.deploy(dataclasses.replace(lab, cfg=workflow.with_built_writer(lab.cfg).with_writer(topic="")))
    assert {e["name"]: e.get("value") for e in _writer_doc(project)["containers"][0]["env"]}["TOPIC"] == ""
    assert ctx.matching("rollout status deployment") == []
    assert "your writer has no TOPIC: if it exits on that, as the assignment's does ('Unknown topic'), Kubernetes " \
           "restarts it (CrashLoopBackOff)" in capsys.readouterr().err


def test_deploy_refuses_a_writer_source_the_image_was_not_built_from(project):
    _built_own_writer(project)
    ctx = _deploy_ctx()
    with pytest.raises(PreconditionError, match=r"the writer image was last built from .*/gowriter, not from "
                                                r"the lab writer \(lab.writer.source\); run `invoke build` first"):
        workflow.deploy(make_lab(project, ctx))
    with pytest.raises(PreconditionError, match=r"last built from .*/gowriter, not from .*/other"):
        workflow.deploy(make_lab(project, ctx, writer={"source": "other"}))
    assert ctx.matching(" apply ") == []
    workflow.deploy(make_lab(project, ctx, writer={"source": "gowriter"}))  # the one it was built from
    workflow.deploy(make_lab(project, ctx), what="cassandra")  # no writer involved


def test_deploy_with_auth_off_makes_no_secret_and_no_roles_and_gives_the_writer_no_credentials(project, capsys):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    workflow.deploy(make_lab(project, ctx, cassandra={"auth": "off"}))
    assert ctx.matching("secret cassandra-auth|cqlsh") == []
    assert ctx.matching(" apply ")[-1].endswith("rendered/writer.yml")
    env = {e["name"] for e in _writer_doc(project)["containers"][0]["env"]}
    assert "TOPIC" in env and not {"CASSANDRA_USERNAME", "CASSANDRA_PASSWORD"} & env
    sts = next(d for d in yaml.safe_load_all((project / ".cache/lab/rendered/cassandra.yml").read_text())
               if d["kind"] == "StatefulSet")
    opts = next(e["value"] for e in sts["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == "JVM_OPTS")
    assert "authenticator=AllowAllAuthenticator" in opts and "authorizer=AllowAllAuthorizer" in opts
    err = capsys.readouterr().err
    assert "Namespace default (restricted Pod Security Standard) " in err and "cassandra-auth" not in err
    assert [line for line in err.splitlines() if "auth off" in line] == [
        "auth off (lab.cassandra.auth): Cassandra runs AllowAllAuthenticator, any client connects without a login; "
        "no roles or grants made, the writer creates its own schema"]


def test_deploy_with_auth_on_makes_the_secret_and_roles_and_renders_password_authentication(project):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    workflow.deploy(make_lab(project, ctx))
    assert ctx.matching("get secret cassandra-auth") and ctx.matching("cqlsh")
    assert "authenticator=PasswordAuthenticator" in (project / ".cache/lab/rendered/cassandra.yml").read_text()


def test_up_with_preload_loads_the_writer_while_cassandra_starts(project, monkeypatch):
    """lab.images.preload: the writer's kind load runs beside Cassandra's deploy (each waits to see the other under
    way, so a sequential `up` fails here), and the writer is applied only once the load is done."""
    import threading

    lab = make_lab(project, _ctx(), images={"preload": True})
    events, loading, deploying = [], threading.Event(), threading.Event()

    def fake_load(runner, kind_, image, *, workers_only, hide):
        loading.set()
        events.append(("load saw cassandra deploying", deploying.wait(timeout=30)))
        events.append(("loaded", image, workers_only, hide, runner.echo))
        return ["kind-worker", "kind-worker2"]

    def fake_deploy(the_lab, *, what="all"):
        if what == "cassandra":
            deploying.set()
            events.append(("cassandra saw the load begun", loading.wait(timeout=30)))
        events.append(("deploy", what))

    monkeypatch.setattr(workflow, "reset", lambda the_lab, **kw: events.append(("reset", kw)))
    monkeypatch.setattr(workflow, "writer_image", lambda the_lab, force: ("lab/writer:1", None))
    monkeypatch.setattr(workflow.kind, "load_image", fake_load)
    monkeypatch.setattr(workflow, "deploy", fake_deploy)
    monkeypatch.setattr(workflow, "make_available", lambda the_lab, tag, source: events.append(("available", tag)))
    workflow.up(lab)
    assert events[0] == ("reset", {"writer": False})  # the writer is up's own to load
    assert ("load saw cassandra deploying", True) in events and ("cassandra saw the load begun", True) in events
    assert ("loaded", "lab/writer:1", True, True, False) in events  # into the workers, its output kept quiet
    assert events[-2:] == [("available", "lab/writer:1"), ("deploy", "writer")]  # after the load and Cassandra
    assert ("deploy", "cassandra") in events[:-2] and ("loaded", "lab/writer:1", True, True, False) in events[:-2]


def test_up_by_todays_path_is_reset_build_deploy(project, monkeypatch):
    lab = make_lab(project, _ctx())
    calls = []
    monkeypatch.setattr(workflow, "reset", lambda the_lab, **kw: calls.append(("reset", kw)))
    monkeypatch.setattr(workflow, "build", lambda the_lab, force: calls.append(("build", force)))
    monkeypatch.setattr(workflow, "deploy", lambda the_lab: calls.append(("deploy",)))
    workflow.up(lab, force=True)
    assert calls == [("reset", {}), ("build", True), ("deploy",)]


def test_reset_for_up_leaves_the_writer_to_it(project, builders):
    state.put(project / ".cache/lab", "writer_image", "lab/writer:0123456789ab")
    ctx = _reset_ctx(pullable=True)
    ctx.add(*WRITER_BUILT, first=True)
    workflow.reset(make_lab(project, ctx, builders=builders), writer=False)
    assert ctx.matching("kind load") == ["kind load docker-image cassandra:5.0 --name kind"]
