"""lab.registry and the workflow with ``lab.images.registry: local``: the commands, under a FakeCtx (no Docker).

The registry's HTTP answers (its catalog) are faked: the real image, run and pushed to, is the slow test in
tests/images/test_registry_image.py.
"""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import bcrypt
import pytest
import yaml

from lab import registry, registry_auth, state, workflow
from lab.errors import LabError, PreconditionError
from lab.images.builders import ImageBuilders
from tests.lab.labfakes import AUTH_RULES, DATA, LAB_ACTIONS, FakeCtx, lab_ctx, make_cfg, make_lab

NODES = "kind-control-plane\nkind-worker\nkind-worker2\nkind-worker3\nkind-worker4\n"
LOCAL = {"registry": "local"}
IMAGE = "lab-registry:5eed"
#: What ``docker push`` prints last, as the fake engine answers every push.
DIGEST = "sha256:" + "d1" * 32
PUSHED = f"0123456789ab: digest: {DIGEST} size: 1570\n"


def auth_folder(project) -> Path:
    return project / ".cache/registry-auth/kind-registry"


def login(project) -> str:
    """The lab's registry login made (as the first start makes it); returns its htpasswd checksum."""
    registry_auth.ensure(auth_folder(project))
    return registry_auth.htpasswd_checksum(auth_folder(project))


def run(project, auth: str | None = None) -> str:
    """The ``docker run`` of the registry: the login's htpasswd mounted, its checksum labelled."""
    auth = registry_auth.htpasswd_checksum(auth_folder(project)) if auth is None else auth
    return ("docker run --detach --name kind-registry --restart always --label cassandra-kind-lab.registry=kind "
            f"--label cassandra-kind-lab.registry-auth={auth} --publish 127.0.0.1:5001:5000 "
            f"--volume {auth_folder(project)}/htpasswd:/auth/htpasswd:ro {IMAGE}")
HOSTS_TOML = ("# localhost:5001 on the host is the registry container kind-registry (written by the lab)\n"
              '[host."http://kind-registry:5000"]\n')


def _ctx(rules=()):
    """A FakeCtx whose lab actions (``LAB_ACTIONS``) succeed unless ``rules`` say otherwise; a push prints its
    digest, the lab's login to the registry succeeds, and the Docker context is the default socket."""
    return lab_ctx([*rules, ("^docker push ", PUSHED), ("^docker login ", FakeCtx.ANY_OK),
                    ("^docker context inspect", "unix:///var/run/docker.sock\n")], ok=LAB_ACTIONS)


def container(*, running=True, image=IMAGE, port=5001, ours=True, networks=("bridge",), auth="") -> str:
    """``docker container inspect kind-registry`` as the engine prints it (the fields lab.registry reads)."""
    labels = {"cassandra-kind-lab.registry": "kind", "cassandra-kind-lab.registry-auth": auth} if ours else {}
    return json.dumps([{
        "State": {"Running": running},
        "Config": {"Image": image, "Labels": labels},
        "HostConfig": {"PortBindings": {"5000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}},
        "NetworkSettings": {"Networks": {n: {} for n in networks}},
    }])


NO_CONTAINER = ("Error response from daemon: No such container: kind-registry", 1)


@pytest.fixture
def built():
    """What the fake image builders were asked for, in order."""
    return []


@pytest.fixture
def builders(built):
    def builder(name, tag):
        def ensure_image(runner, **kwargs):
            built.append(name)
            return tag
        return ensure_image

    return ImageBuilders(cassandra=builder("cassandra", "lab/cassandra:5.0.2-abc"),
                         writer=builder("writer", "lab/writer:0123456789ab"),
                         kind_node=builder("kind_node", "kind-node-lab:feed"),
                         tools=lambda runner: {}, registry=builder("registry", IMAGE))


@pytest.fixture
def answering(monkeypatch):
    """The registry's API, faked: its catalog (the repositories and tags a test puts in)."""
    repositories: dict[str, list[str]] = {}
    monkeypatch.setattr(registry, "catalog", lambda port, **kw: dict(repositories))
    monkeypatch.setattr(registry, "answers", lambda port: True)
    return repositories


def _mutating(ctx: FakeCtx) -> list[str]:
    return [c for c, kw in zip(ctx.commands, ctx.kwargs, strict=True) if kw.get("echo")]


def _inputs(ctx: FakeCtx, pattern: str) -> list[str]:
    """What was piped into the commands matching ``pattern`` (Runner passes ``input`` as invoke's in_stream)."""
    return [kw["in_stream"].getvalue() for c, kw in zip(ctx.commands, ctx.kwargs, strict=True) if pattern in c]


# -- names --------------------------------------------------------------------------------------------------------

def test_names_follow_the_cluster_and_the_port(project):
    cfg = make_cfg(project, cluster="lab2", images={"registry": "local", "registry_port": 5055})
    assert (registry.container_name(cfg), registry.host(cfg), registry.in_cluster_url(cfg)) == (
        "lab2-registry", "localhost:5055", "http://lab2-registry:5000")
    assert cfg.images.push_prefix == "localhost:5055"
    assert make_cfg(project, images={"registry": "registry.example:5000/lab/"}).images.push_prefix == \
        "registry.example:5000/lab"


@pytest.mark.parametrize("image, ref", [
    ("ece573-prj04-writer:0123456789ab", "localhost:5001/ece573-prj04-writer:0123456789ab"),
    ("lab/cassandra:5.0.2-abc", "localhost:5001/cassandra:5.0.2-abc"),
    ("cassandra:5.0@sha256:0123456789abcdef0123", "localhost:5001/cassandra:0123456789ab"),
    ("localhost:5001/ece573-prj04-writer:1", "localhost:5001/ece573-prj04-writer:1"),
], ids=["tag", "path", "digest", "already-there"])
def test_registry_ref(image, ref):
    assert registry.registry_ref("localhost:5001", image) == ref


# -- what the nodes and the cluster read ----------------------------------------------------------------------------

def test_hosts_toml_sends_localhost_port_to_the_registry_container(project):
    cfg = make_cfg(project, images=LOCAL)
    assert registry.hosts_toml(cfg) == HOSTS_TOML
    assert registry.hosts_toml_path(cfg) == "/etc/containerd/certs.d/localhost:5001/hosts.toml"


def test_the_rendered_cluster_config_patches_containerd_and_keeps_every_node(project):
    lab = make_lab(project, _ctx(), images=LOCAL)
    path = registry.render_cluster_config(lab, project / "cluster.yml")
    assert path == project / ".cache/lab/rendered/cluster.yml"
    rendered, source = yaml.safe_load(path.read_text()), yaml.safe_load((project / "cluster.yml").read_text())
    assert rendered["containerdConfigPatches"] == [
        '[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n']
    assert {k: v for k, v in rendered.items() if k != "containerdConfigPatches"} == source
    assert "containerdConfigPatches" not in source  # the checked-in file is not edited
    # a config with patches of its own keeps them, and the patch is not added twice
    twice = registry.with_containerd_patch(registry.with_containerd_patch({"containerdConfigPatches": ["a = 1"]}))
    assert twice["containerdConfigPatches"] == ["a = 1", registry.CONTAINERD_PATCH]


def test_the_configmap_documents_the_registry_as_kep_1755_says(project):
    doc = registry.hosting_configmap(make_cfg(project, images=LOCAL))
    assert doc["kind"] == "ConfigMap"
    assert doc["metadata"] == {"name": "local-registry-hosting", "namespace": "kube-public"}
    assert yaml.safe_load(doc["data"]["localRegistryHosting.v1"]) == {
        "host": "localhost:5001", "hostFromContainerRuntime": "kind-registry:5000",
        "help": "https://kind.sigs.k8s.io/docs/user/local-registry/"}


# -- the container -------------------------------------------------------------------------------------------------

def test_start_runs_the_registry_on_localhost_when_there_is_none(project, builders, built, answering):
    ctx = _ctx([("container inspect", NO_CONTAINER)])
    note = registry.start(make_lab(project, ctx, images=LOCAL, builders=builders))
    assert _mutating(ctx) == [run(project)]
    assert built == ["registry"]
    assert note == f"started on localhost:5001 ({IMAGE})"
    # The login it generated: a private folder, the password only in a file of mode 600, a bcrypt entry
    credentials = registry_auth.read(auth_folder(project))
    assert credentials is not None and credentials.user == "lab" and len(credentials.password) >= 32
    assert stat.S_IMODE(auth_folder(project).stat().st_mode) == 0o700
    assert stat.S_IMODE((auth_folder(project) / "password").stat().st_mode) == 0o600
    user, hashed = (auth_folder(project) / "htpasswd").read_text().strip().split(":", 1)
    assert user == "lab" and hashed.startswith("$2b$08$")
    assert bcrypt.checkpw(credentials.password.encode(), hashed.encode())
    assert credentials.password not in " ".join(ctx.commands)


@pytest.mark.parametrize("found, recreated, note", [
    ({}, False, "already running on localhost:5001"),
    ({"running": False}, False, "started again"),
    ({"port": 5000}, True, "recreated"),
    ({"image": "lab-registry:old"}, True, "recreated"),
    ({"auth": "0ther10g1n00"}, True, "recreated"),
], ids=["running", "stopped", "other-port", "other-image", "other-login"])
def test_start_is_idempotent_and_follows_a_changed_port_image_or_login(project, builders, answering, found,
                                                                        recreated, note):
    ctx = _ctx([("container inspect", container(**{"auth": login(project), **found}))])
    assert note in registry.start(make_lab(project, ctx, images=LOCAL, builders=builders))
    started = ["docker start kind-registry"] if found == {"running": False} else []
    expected = ["docker rm --force --volumes kind-registry", run(project)] if recreated else started
    assert _mutating(ctx) == expected


def test_start_keeps_the_login_it_generated(project, builders, answering):
    checksum = login(project)
    kept = registry_auth.read(auth_folder(project))
    registry.start(make_lab(project, _ctx([("container inspect", NO_CONTAINER)]), images=LOCAL, builders=builders))
    assert registry_auth.read(auth_folder(project)) == kept
    assert registry_auth.htpasswd_checksum(auth_folder(project)) == checksum


def test_a_registry_container_the_lab_did_not_start_is_used_or_refused_never_replaced(project, builders, answering):
    ctx = _ctx([("container inspect", container(ours=False))])
    assert "used as it is" in registry.start(make_lab(project, ctx, images=LOCAL, builders=builders))
    ctx = _ctx([("container inspect", container(ours=False, port=5000))])
    with pytest.raises(PreconditionError) as err:
        registry.start(make_lab(project, ctx, images=LOCAL, builders=builders))
    assert str(err.value).startswith("a container named kind-registry exists that the lab did not start")
    assert "\n" not in str(err.value) and _mutating(ctx) == []


def test_start_waits_until_the_registry_answers_and_says_so_when_it_does_not(project, builders, monkeypatch):
    monkeypatch.setattr(registry, "answers", lambda port: False)
    monkeypatch.setattr("lab.kubectl.time.sleep", lambda s: None)
    ctx = _ctx([("container inspect", NO_CONTAINER)])
    with pytest.raises(LabError, match=r"the registry kind-registry did not answer on localhost:5001 within 0s; "
                                       r"`docker logs kind-registry` says why"):
        registry.wait_answering(make_lab(project, ctx, images=LOCAL, builders=builders), timeout=0)


def test_remove_takes_only_the_labs_own_container(project):
    ctx = _ctx([("container inspect", container())])
    assert registry.remove(make_lab(project, ctx)) == "removed"
    assert _mutating(ctx) == ["docker rm --force --volumes kind-registry"]
    ctx = _ctx([("container inspect", container(ours=False))])
    assert "left alone" in registry.remove(make_lab(project, ctx))
    assert _mutating(ctx) == []
    ctx = _ctx([("container inspect", NO_CONTAINER)])
    assert registry.remove(make_lab(project, ctx)) == "none"


# -- wiring ----------------------------------------------------------------------------------------------------------

def _wire_ctx(**found):
    return _ctx([("container inspect", container(**found)), ("get nodes", NODES),
                    ("grep -q 'config_path", ("", 0)), ("cat /etc/containerd/certs.d", ("", 1))])


def test_wire_connects_the_network_writes_hosts_toml_in_every_node_and_applies_the_configmap(project):
    ctx = _wire_ctx()
    lab = make_lab(project, ctx, images=LOCAL)
    assert registry.wire(lab) == NODES.split()
    writes = [f"docker exec --interactive {node} sh -c 'mkdir -p /etc/containerd/certs.d/localhost:5001 && "
              f"cat > /etc/containerd/certs.d/localhost:5001/hosts.toml'" for node in NODES.split()]
    configmap = project / ".cache/lab/rendered/local-registry-hosting.yml"
    assert _mutating(ctx) == ["docker network connect kind kind-registry", *writes,
                              f"kubectl --context kind-kind apply --filename {configmap}"]  # its own namespace
    assert _inputs(ctx, "sh -c") == [HOSTS_TOML] * 5
    assert yaml.safe_load(configmap.read_text()) == registry.hosting_configmap(lab.cfg)


def test_wire_again_changes_nothing_on_the_nodes(project, capsys):
    ctx = _wire_ctx(networks=("bridge", "kind"))
    ctx.add("cat /etc/containerd/certs.d", HOSTS_TOML, first=True)
    assert registry.wire(make_lab(project, ctx, images=LOCAL)) == []
    assert [c for c in _mutating(ctx) if "docker" in c] == []
    assert "warning" not in capsys.readouterr().err


def test_wire_warns_about_nodes_whose_containerd_was_not_patched(project, capsys):
    ctx = _wire_ctx()
    ctx.add("kind-worker4 grep -q 'config_path", ("", 1), first=True)
    registry.wire(make_lab(project, ctx, images=LOCAL))
    err = capsys.readouterr().err
    assert "warning: containerd in kind-worker4 does not read /etc/containerd/certs.d" in err
    assert "`invoke reset` recreates the cluster with it" in err


def test_show_starts_wires_and_lists_the_catalog(project, builders, answering):
    answering.update({"ece573-prj04-writer": ["0123456789ab"], "cassandra-lab": ["5.0.9-abc", "5.0.9-def"]})
    ctx = _wire_ctx()
    ctx.add("get clusters", "kind\n")
    lines = registry.show(make_lab(project, ctx, images=LOCAL, builders=builders))
    assert lines == ["registry localhost:5001 (container kind-registry; nodes pull through http://kind-registry:5000)",
                     "  cassandra-lab: 5.0.9-abc, 5.0.9-def", "  ece573-prj04-writer: 0123456789ab"]
    assert ctx.matching("network connect|hosts.toml|apply") != []


def test_show_without_a_cluster_only_starts_the_registry(project, builders, answering, capsys):
    ctx = _ctx([("container inspect", NO_CONTAINER), ("get clusters", "No kind clusters found.\n")])
    lines = registry.show(make_lab(project, ctx, builders=builders))
    assert _mutating(ctx) == [run(project)]
    assert lines[1:] == ["  (empty)"]
    err = capsys.readouterr().err
    assert "no kind cluster kind yet: `invoke reset` creates it with the registry wired in" in err
    assert "note: lab.images.registry is '', not 'local'" in err


# -- the workflow with lab.images.registry: local ---------------------------------------------------------------------

def _reset_ctx():
    return _ctx([("docker image inspect .*(cassandra:5.0|kindest/node)", ("", 1)),
                    ("docker pull", ("Error response from daemon: dial tcp: lookup registry-1.docker.io", 1)),
                    ("container inspect", [NO_CONTAINER, container()]), ("get clusters", "kind\n"),
                    ("get nodes", NODES), ("grep -q 'config_path", ("", 0)), ("cat /etc/containerd/certs.d", ("", 1))])


def test_reset_starts_the_registry_creates_the_patched_cluster_wires_it_and_pushes_cassandra(
        project, builders, answering):
    ctx = _reset_ctx()
    lab = make_lab(project, ctx, images=LOCAL, builders=builders)
    workflow.reset(lab)
    mutating = [c for c in _mutating(ctx) if not c.startswith("docker pull")]
    rendered = project / ".cache/lab/rendered"
    assert mutating[:4] == [
        run(project), "kind delete cluster --name kind",
        f"kind create cluster --name kind --config {rendered}/cluster.yml --image kind-node-lab:feed --wait 300s",
        "docker network connect kind kind-registry"]
    assert mutating[-4:] == [f"kubectl --context kind-kind apply --filename {rendered}/local-registry-hosting.yml",
                             "docker tag lab/cassandra:5.0.2-abc localhost:5001/cassandra:5.0.2-abc",
                             "docker login --username lab --password-stdin localhost:5001",
                             "docker push localhost:5001/cassandra:5.0.2-abc"]
    assert len(ctx.matching("cat > .*hosts.toml")) == 5
    assert ctx.matching("kind load") == []  # the nodes pull
    assert state.get(lab.state_dir, "cassandra_image") == "localhost:5001/cassandra:5.0.2-abc"
    assert workflow.pinned(lab, "localhost:5001/cassandra:5.0.2-abc") == f"localhost:5001/cassandra@{DIGEST}"


def test_reset_pushes_a_writer_built_before_again(project, builders, answering):
    state.put(project / ".cache/lab", "writer_image", "localhost:5001/ece573-prj04-writer:0123456789ab")
    ctx = _reset_ctx()
    ctx.add("docker image inspect .* localhost:5001/ece573-prj04-writer:", "sha256:w\n", first=True)
    workflow.reset(make_lab(project, ctx, images=LOCAL, builders=builders))
    # already the registry's name: no tag, only the push (the registry may be new and empty)
    assert ctx.matching("docker (tag|push)")[-1] == "docker push localhost:5001/ece573-prj04-writer:0123456789ab"
    assert ctx.matching("docker tag .*writer") == []


def test_dry_reset_plans_the_registry_too(project, builders, capsys):
    ctx = _reset_ctx()
    ctx.add("container inspect", NO_CONTAINER, first=True)
    with state.planning({}):
        workflow.reset(make_lab(project, ctx, dry=True, builders=builders,
                                images={**LOCAL, "cassandra_source": "build", "kind_node_source": "build"}))
    planned = [line.removeprefix("[dry-run] ") for line in capsys.readouterr().out.splitlines()
               if line.startswith("[dry-run]")]
    assert planned[0] == run(project, auth="") and "docker network connect kind kind-registry" in planned
    assert planned[-1] == "docker push localhost:5001/cassandra:5.0.2-abc"
    assert _mutating(ctx) == []


def test_build_pushes_the_writer_to_the_labs_registry(project, builders, answering):
    ctx = _ctx([("container inspect", container(auth=login(project)))])
    lab = make_lab(project, ctx, images=LOCAL, builders=builders)
    assert workflow.build(lab) == "localhost:5001/writer:0123456789ab"
    assert _mutating(ctx) == ["docker tag lab/writer:0123456789ab localhost:5001/writer:0123456789ab",
                              "docker login --username lab --password-stdin localhost:5001",
                              "docker push localhost:5001/writer:0123456789ab"]
    assert ctx.matching("kind (load|get)") == []
    assert state.get(lab.state_dir, "writer_image") == "localhost:5001/writer:0123456789ab"
    # logged in with the lab's own client configuration: the password on standard input, not in ~/.docker
    credentials = registry_auth.read(auth_folder(project))
    assert _inputs(ctx, "docker login") == [credentials.password]
    for command in ("docker login", "docker push"):
        env = next(kw["env"] for c, kw in zip(ctx.commands, ctx.kwargs, strict=True) if c.startswith(command))
        assert env == {"DOCKER_CONFIG": str(auth_folder(project) / "docker"),
                       "DOCKER_HOST": "unix:///var/run/docker.sock"}
    assert credentials.password not in " ".join(ctx.commands)


def test_a_push_to_another_registry_does_not_log_in(project, builders, answering):
    login(project)  # the lab's registry has a login, but this push goes elsewhere: your own `docker login` applies
    ctx = _ctx()
    workflow.build(make_lab(project, ctx, images={"registry": "registry.example:5000/lab"}, builders=builders))
    assert _mutating(ctx) == ["docker tag lab/writer:0123456789ab registry.example:5000/lab/writer:0123456789ab",
                              "docker push registry.example:5000/lab/writer:0123456789ab"]
    assert "env" not in ctx.kwargs[ctx.commands.index(ctx.matching("docker push")[0])]


def test_a_push_that_prints_no_digest_is_one_line(project, builders, answering):
    ctx = _ctx([("container inspect", container(auth=login(project))), ("docker push", "pushed\n")])
    with pytest.raises(LabError, match=r"^`docker push localhost:5001/writer:0123456789ab` printed no digest"):
        workflow.build(make_lab(project, ctx, images=LOCAL, builders=builders))


def test_build_starts_the_registry_when_it_is_not_running(project, builders, answering):
    ctx = _ctx([("container inspect", NO_CONTAINER)])
    workflow.build(make_lab(project, ctx, images=LOCAL, builders=builders))
    assert _mutating(ctx)[0] == run(project)


def test_a_failed_push_is_one_line(project, builders, answering):
    refused = 'Get "http://localhost:5001/v2/": dial tcp 127.0.0.1:5001: connect: connection refused'
    ctx = _ctx([("container inspect", container()), ("docker push", (refused, 1))])
    with pytest.raises(LabError) as err:
        workflow.build(make_lab(project, ctx, images=LOCAL, builders=builders))
    assert str(err.value).startswith("failed to push localhost:5001/writer:0123456789ab: `docker push")
    assert "\n" not in str(err.value)


def _deploy_ctx():
    return _ctx([("get-contexts", "kind-kind\n"), ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
                    *AUTH_RULES])


def _rendered_images(project) -> dict[str, str]:
    rendered = project / ".cache/lab/rendered"
    images = {}
    for name in ("cassandra.yml", "writer.yml"):
        for doc in yaml.safe_load_all((rendered / name).read_text()):
            for c in (doc.get("spec", {}).get("template", {}).get("spec", {}) or {}).get("containers", []):
                images[c["name"]] = c["image"]
    return images


def _pull_secrets(project) -> dict[str, list]:
    """workload -> the imagePullSecrets its rendered pod template names."""
    rendered = project / ".cache/lab/rendered"
    return {doc["metadata"]["name"]: doc["spec"]["template"]["spec"].get("imagePullSecrets", [])
            for name in ("cassandra.yml", "writer.yml") for doc in yaml.safe_load_all((rendered / name).read_text())
            if doc.get("kind") in ("StatefulSet", "Deployment")}


def test_deploy_renders_by_digest_what_reset_and_build_pushed_and_pulls_with_the_labs_login(
        project, builders, answering):
    ctx = _ctx([("container inspect", container(auth=login(project)))])
    lab = make_lab(project, ctx, images=LOCAL, builders=builders)
    state.put(lab.state_dir, "cassandra_image", "localhost:5001/cassandra:5.0.2-abc")  # as reset records it
    state.put(lab.state_dir, "digest localhost:5001/cassandra:5.0.2-abc", "sha256:" + "ca" * 32)
    workflow.build(lab)
    deploying = _deploy_ctx()
    workflow.deploy(make_lab(project, deploying, images=LOCAL))
    assert _rendered_images(project) == {"cassandra": "localhost:5001/cassandra@sha256:" + "ca" * 32,
                                         "writer": f"localhost:5001/writer@{DIGEST}"}
    assert _pull_secrets(project) == {"cassandra": [{"name": "lab-registry-login"}],
                                      "ece573-prj04-writer": [{"name": "lab-registry-login"}]}
    # The Secret: applied from standard input (no file, no argument holds the password), before the workloads.
    applied = _inputs(deploying, "apply --filename -")
    assert len(applied) == 1
    secret = yaml.safe_load(applied[0])
    assert (secret["type"], secret["metadata"]) == ("kubernetes.io/dockerconfigjson",
                                                    {"name": "lab-registry-login", "namespace": "default"})
    auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    credentials = registry_auth.read(auth_folder(project))
    assert auths == {"localhost:5001": {"username": "lab", "password": credentials.password,
                                        "auth": base64.b64encode(f"lab:{credentials.password}".encode()).decode()}}
    order = [c for c in deploying.commands if " apply " in c]
    assert order.index(next(c for c in order if c.endswith("--filename -"))) < \
        order.index(next(c for c in order if "cassandra.yml" in c))
    rendered = " ".join(p.read_text() for p in (project / ".cache/lab").rglob("*") if p.is_file())
    assert credentials.password not in rendered + " ".join(deploying.commands)


def test_a_tag_pushed_over_later_is_not_what_deploy_renders(project, builders, answering):
    """The digest is the one the lab's own push returned: whatever the registry's tag names now is never read."""
    ctx = _ctx([("container inspect", container(auth=login(project)))])
    lab = make_lab(project, ctx, images=LOCAL, builders=builders)
    workflow.build(lab)
    ctx.add("^docker push ", f"0123456789ab: digest: sha256:{'ee' * 32} size: 1570\n", first=True)
    registry.push(lab, "lab/writer:0123456789ab")  # the same tag pushed again, not by build: nothing recorded
    assert workflow.pinned(lab, "localhost:5001/writer:0123456789ab") == f"localhost:5001/writer@{DIGEST}"
    assert workflow.pinned(lab, "localhost:5001/other:1") == "localhost:5001/other:1"  # never pushed: as it is


def test_without_the_labs_registry_nothing_is_pinned_and_no_pull_secret_is_named(project, builders):
    login(project)  # a login of the lab's registry exists, but lab.images.registry is empty: kind load
    state.put(project / ".cache/lab", "writer_image", "lab/writer:0123456789ab")  # as build records it then
    deploying = _deploy_ctx()
    workflow.deploy(make_lab(project, deploying))
    assert _rendered_images(project)["writer"] == "lab/writer:0123456789ab"
    assert set(map(tuple, _pull_secrets(project).values())) == {()}
    assert deploying.matching("--filename -$") == []


@pytest.mark.parametrize("ref, pinned", [
    ("localhost:5001/writer:0123456789ab", "localhost:5001/writer@sha256:ab"),
    ("localhost:5001/lab/writer", "localhost:5001/lab/writer@sha256:ab"),
    ("localhost:5001/writer:1@sha256:00", "localhost:5001/writer@sha256:ab"),
], ids=["tag", "no-tag", "digest-already"])
def test_by_digest_drops_the_tag_not_the_port(ref, pinned):
    assert registry.by_digest(ref, "sha256:ab") == pinned


def test_the_local_registry_serves_only_kind(project):
    lab = make_lab(project, _ctx(), context="prod", allow_context="prod", images=LOCAL)
    with pytest.raises(PreconditionError, match="lab.images.registry 'local' serves only the lab's kind nodes"):
        workflow.deploy(lab)


def test_down_removes_the_labs_registry_with_the_cluster(project):
    ctx = _ctx([("get clusters", "kind\n"), ("container inspect", container())])
    workflow.down(make_lab(project, ctx))
    assert _mutating(ctx) == ["kind delete cluster --name kind", "docker rm --force --volumes kind-registry"]


# -- storage class ---------------------------------------------------------------------------------------------------

def _claims(project) -> list[str]:
    docs = yaml.safe_load_all((project / ".cache/lab/rendered/cassandra.yml").read_text())
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    return [c["spec"]["storageClassName"] for c in sts["spec"]["volumeClaimTemplates"]]


@pytest.mark.parametrize("raw, expected", [({}, "standard"), ({"storage_class": "fast-ssd"}, "fast-ssd")])
def test_deploy_renders_lab_storage_class_into_cassandras_claims(project, raw, expected):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    workflow.deploy(make_lab(project, _deploy_ctx(), **raw), what="cassandra")
    assert _claims(project) == [expected]
