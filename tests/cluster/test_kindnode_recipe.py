"""Fast checks of lab.images.kindnode's pure parts (no Docker, no Go): the cluster tests depend on them."""

from __future__ import annotations

from pathlib import Path

from lab.errors import LabError
from lab.images import kindnode
from lab.images.kindnode import node

KIND_LIKE = '''
package nodeimage

const kindnetdImage = "docker.io/kindest/kindnetd:v1"

const defaultCNIManifest = `
# would you kindly template this file
image: ` + kindnetdImage + `
subnet: {{ .PodSubnet }}
`
'''


def test_go_constant_joins_raw_strings_and_constants():
    text = kindnode.go_constant(KIND_LIKE, "defaultCNIManifest")
    assert "image: docker.io/kindest/kindnetd:v1\n" in text
    assert text.startswith("\n# would you kindly template this file")
    assert "{{ .PodSubnet }}" in text


def test_go_constant_names_a_missing_constant():
    try:
        kindnode.go_constant(KIND_LIKE, "nope")
    except LabError as err:
        assert "nope" in str(err)
    else:
        raise AssertionError("expected LabError")


def test_ldflags_stamp_both_version_packages():
    flags = kindnode.k8s_ldflags("v1.30.0", "abc", "2024-01-01T00:00:00Z")
    for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        assert f"-X '{package}.gitVersion=v1.30.0'" in flags
        assert f"-X '{package}.gitMinor=30'" in flags
    assert flags.startswith("-s -w")


def test_components_cover_what_kubeadm_runs_except_its_pause():
    built = [c.tag for c in kindnode.components("d1", "iptables:d1")]
    kindnode.check_names(kindnode.expected_kubeadm_images(), built)
    assert kindnode.PAUSE_IMAGE in built
    assert set(kindnode.lab_images("d1").values()) - set(built) == {"localhost/kind-node-lab/local-path-helper:d1"}


def test_check_names_reports_a_missing_image():
    try:
        kindnode.check_names(["registry.k8s.io/etcd:9.9.9-0"], [])
    except LabError as err:
        assert "registry.k8s.io/etcd:9.9.9-0" in str(err)
    else:
        raise AssertionError("expected LabError")


def test_go_build_args_are_static_trimmed_and_parallel(tmp_path):
    argv = kindnode.go_build_args(tmp_path, tmp_path / "out", ["a", "b"], "-s -w")
    assert argv[:4] == ["go", "-C", str(tmp_path), "build"]
    assert "-trimpath" in argv and argv[argv.index("-o") + 1].endswith("/")
    assert kindnode.go_env("go1.22.12")["CGO_ENABLED"] == "0"


def test_tag_is_content_addressed():
    tag = kindnode.image_tag("0123456789ab")
    assert tag == f"kind-node-lab:{kindnode.K8S_VERSION}-0123456789ab"


def test_tag_covers_the_recipe_files_and_every_module_of_the_package(monkeypatch):
    hashed = []
    monkeypatch.setattr(node, "tree_digest", lambda paths, extra: hashed.extend(paths) or "d")
    node.recipe_digest()
    modules = sorted(Path(kindnode.__file__).parent.glob("*.py"))
    assert len(modules) > 1 and set(modules) <= set(hashed)
    assert {p.name for p in hashed} >= {"Dockerfile.base", "Dockerfile.node", "components", "go"}


def test_the_cni_manifest_also_runs_kube_routers_network_policy_controller(tmp_path):
    """kind applies default-cni.yaml at cluster creation: with it, the lab's NetworkPolicies are enforced."""
    import yaml

    nodeimage = tmp_path / "pkg" / "build" / "nodeimage"
    nodeimage.mkdir(parents=True)
    kind_like = KIND_LIKE.replace("docker.io/kindest/kindnetd:v1", kindnode.pins.KIND_KINDNETD)
    (nodeimage / "const_cni.go").write_text(kind_like)
    (nodeimage / "const_storage.go").write_text('package nodeimage\n\nconst defaultStorageManifest = `kind: x\n`\n')
    manifests = kindnode.node_manifests(tmp_path, "d1")
    cni = manifests["default-cni.yaml"]
    assert cni.startswith("\n# would you kindly template this file")  # kind's own part first, untouched
    assert "localhost/kind-node-lab/podnet:d1" in cni and "KUBE_ROUTER_IMAGE" not in cni
    docs = [d for d in yaml.safe_load_all(cni.split("\n---\n", 1)[1]) if d]
    assert [d["kind"] for d in docs] == ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"]
    [container] = docs[-1]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == kindnode.pins.KUBE_ROUTER_IMAGE
    assert {"--run-firewall=true", "--run-router=false", "--run-service-proxy=false"} <= set(container["args"])
    rules = {r for rule in docs[1]["rules"] for r in rule["resources"]}
    assert {"pods", "namespaces", "networkpolicies"} <= rules  # what the controller watches
    assert kindnode.pins.KUBE_ROUTER_IMAGE in [c.tag for c in kindnode.components("d1", "iptables:d1")]
