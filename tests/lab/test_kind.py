import pytest

from lab import kind
from lab.errors import LabError
from lab.kind import Kind
from lab.runner import Runner
from tests.lab.labfakes import FakeCtx

K = Kind("/bin/kind", "kind")


def test_create_args():
    assert K.create_args("cluster.yml") == [
        "/bin/kind",
        "create",
        "cluster",
        "--name",
        "kind",
        "--config",
        "cluster.yml",
    ]
    assert K.create_args("c.yml", image="lab/kind-node:abc", wait=120) == [
        "/bin/kind", "create", "cluster", "--name", "kind", "--config", "c.yml", "--image", "lab/kind-node:abc",
        "--wait", "120s"]


def test_delete_get_and_load_args():
    assert K.delete_args() == ["/bin/kind", "delete", "cluster", "--name", "kind"]
    assert K.get_clusters_args() == ["/bin/kind", "get", "clusters"]
    assert K.get_nodes_args() == ["/bin/kind", "get", "nodes", "--name", "kind"]
    assert K.load_args("w:1") == ["/bin/kind", "load", "docker-image", "w:1", "--name", "kind"]
    assert K.load_args("w:1", ["kind-worker", "kind-worker3"]) == [
        "/bin/kind", "load", "docker-image", "w:1", "--name", "kind", "--nodes", "kind-worker,kind-worker3"]


def test_cluster_exists_reads_the_list():
    ctx = FakeCtx([("get clusters", "lab\nkind\n")])
    assert kind.cluster_exists(Runner(ctx), K)
    assert not kind.cluster_exists(Runner(FakeCtx([("get clusters", "kindest\n")])), K)
    assert not kind.cluster_exists(Runner(FakeCtx([("get clusters", ("", 1))])), K)


NODES = "kind-control-plane\nkind-worker\nkind-worker2\n"


ID = "sha256:9f3c0e7d2a1b"
SAME = f'{{"status": {{"id": "{ID}", "repoTags": ["docker.io/library/cassandra:5.0"]}}}}'


def test_load_skips_when_every_node_has_the_same_image_id():
    ctx = FakeCtx([("get nodes", NODES), ("docker image inspect", ID + "\n"), ("crictl", SAME)])
    assert kind.load_image(Runner(ctx), K, "cassandra:5.0") == []
    assert ctx.matching("crictl") == [
        f"docker exec {n} crictl inspecti -o json docker.io/library/cassandra:5.0" for n in NODES.split()]
    assert ctx.matching("kind load") == []


def test_load_names_only_the_nodes_missing_it_or_holding_another_id():
    other = SAME.replace(ID, "sha256:0000")
    ctx = FakeCtx([("get nodes", NODES), ("docker image inspect", ID), ("exec kind-worker2 ", ("no such image", 1)),
                   ("exec kind-worker ", other), ("crictl", SAME), ("kind load", FakeCtx.ANY_OK)])
    assert kind.load_image(Runner(ctx), K, "lab/writer:abc") == ["kind-worker", "kind-worker2"]
    assert ctx.commands[-1] == "/bin/kind load docker-image lab/writer:abc --name kind --nodes kind-worker,kind-worker2"


def test_load_into_all_nodes_without_naming_them():
    ctx = FakeCtx([("get nodes", NODES), ("docker image inspect", ID), ("crictl", ("", 1)),
                   ("kind load", FakeCtx.ANY_OK)])
    assert kind.load_image(Runner(ctx), K, "w:1") == NODES.split()
    assert ctx.commands[-1] == "/bin/kind load docker-image w:1 --name kind"


def test_load_failure_names_image_and_cluster():
    ctx = FakeCtx([("get nodes", NODES), ("docker image inspect", ("No such image: w:1", 1)),
                   ("kind load", ("ERROR: image: \"w:1\" not present locally", 1))])
    with pytest.raises(LabError, match="failed to load image w:1 into kind cluster kind: .*not present locally"):
        kind.load_image(Runner(ctx), K, "w:1")
    assert ctx.matching("crictl") == []  # no local image: nothing to compare, kind says why


@pytest.mark.parametrize("image, name", [
    ("cassandra:5.0", "docker.io/library/cassandra:5.0"),
    ("lab/writer:abc", "docker.io/lab/writer:abc"),
    ("localhost:5000/w:1", "localhost:5000/w:1"),
    ("registry.example/x/y:2", "registry.example/x/y:2"),
])
def test_containerd_names(image, name):
    assert kind.node_image_args("n", image)[-1] == name


def test_no_clusters_sentence_is_not_a_cluster_named_kind():
    assert not kind.cluster_exists(Runner(FakeCtx([("get clusters", "No kind clusters found.\n")])), K)


def test_weigh_nodes_favours_the_named_nodes_and_puts_the_others_back():
    ctx = FakeCtx([("get nodes", NODES), ("docker update", FakeCtx.ANY_OK)])
    assert kind.weigh_nodes(Runner(ctx), K, {"kind-worker2", "elsewhere-worker"}) == ["kind-worker2"]
    updates = ctx.matching("docker update")
    assert len(updates) == len(NODES.split())  # every node: one favoured, each other one back to 1024
    assert "docker update --cpu-shares 4096 kind-worker2" in updates
    assert "docker update --cpu-shares 1024 kind-worker" in updates
    assert "docker update --cpu-shares 1024 kind-control-plane" in updates


def test_reset_weights_puts_every_node_back_to_dockers_default():
    ctx = FakeCtx([("get nodes", NODES), ("docker update", FakeCtx.ANY_OK)])
    assert kind.reset_weights(Runner(ctx), K) == sorted(NODES.split())
    expected = [f"docker update --cpu-shares 1024 {n}" for n in sorted(NODES.split())]
    assert sorted(ctx.matching("docker update")) == expected


def test_weigh_nodes_leaves_a_cluster_alone_when_no_favoured_node_is_its_own():
    ctx = FakeCtx([("get nodes", NODES)])
    assert kind.weigh_nodes(Runner(ctx), K, {"gke-pool-1-abc"}) == []
    assert kind.weigh_nodes(Runner(ctx), K, set()) == []
    assert ctx.matching("docker update") == []


WORKERS = "kind-worker\nkind-worker2\nkind-worker3\nkind-worker4\n"


def test_worker_nodes_are_kinds_role_label_of_this_cluster():
    ctx = FakeCtx([("docker ps", WORKERS)])
    assert kind.worker_nodes(Runner(ctx), K) == ["kind-worker", "kind-worker2", "kind-worker3", "kind-worker4"]
    assert ctx.commands == ["docker ps --all --filter label=io.x-k8s.kind.cluster=kind "
                            "--filter label=io.x-k8s.kind.role=worker --format '{{.Names}}'"]


def test_a_load_for_the_workers_only_names_them_and_never_the_control_plane():
    ctx = FakeCtx([("docker ps", WORKERS), ("docker image inspect", "sha256:c\n"),
                   ("kind-worker3 crictl inspecti", '{"status": {"id": "sha256:c"}}'), ("crictl inspecti", ("", 1)),
                   ("kind load", "")])
    loaded = kind.load_image(Runner(ctx, echo=False), K, "c:1", workers_only=True)
    assert loaded == ["kind-worker", "kind-worker2", "kind-worker4"]
    assert ctx.matching("kind load") == [
        "/bin/kind load docker-image c:1 --name kind --nodes kind-worker,kind-worker2,kind-worker4"]
    assert ctx.matching("control-plane") == []
    # every worker lacking it: still named, or kind would load the control plane too
    ctx = FakeCtx([("docker ps", WORKERS), ("docker image inspect", "sha256:c\n"), ("crictl inspecti", ("", 1)),
                   ("kind load", "")])
    kind.load_image(Runner(ctx, echo=False), K, "c:1", workers_only=True)
    assert ctx.matching("kind load") == [
        "/bin/kind load docker-image c:1 --name kind --nodes kind-worker,kind-worker2,kind-worker3,kind-worker4"]
