"""The kind node image with Cassandra preloaded: its content tag, the commands that build it, its reuse."""

import pytest

from lab.errors import LabError
from lab.images import preloaded
from lab.runner import Runner
from tests.lab.labfakes import FakeCtx

NODE, CASS = "kind-node-lab:feed", "lab/cassandra:5.0.2-abc"


def _ctx(*, built=False, stale="", fail=""):
    return FakeCtx([
        (r"image inspect --format '{{.Id}}' kind-node-lab-preloaded:", ("sha256:p\n", 0) if built else ("", 1)),
        (r"image inspect --format '{{.Id}}' kind-node-lab:feed$", "sha256:n\n"),
        (r"image inspect --format '{{.Id}}' lab/cassandra:5.0.2-abc$", "sha256:c\n"),
        *([(fail, ("Error response from daemon: no space left on device", 1))] if fail else []),
        (r"^docker images kind-node-lab-preloaded ", f"{stale}"),
        (r"^docker (save|run --detach|exec|stop|commit|rm --force|rmi) ", FakeCtx.ANY_OK),
    ])


def test_the_tag_follows_the_node_image_and_each_image_preloaded():
    tag = preloaded.tag_for("sha256:n", ["sha256:c"])
    assert tag.startswith("kind-node-lab-preloaded:") and len(tag.split(":")[1]) == 12
    assert tag == preloaded.tag_for("sha256:n", ["sha256:c"])
    assert len({tag, preloaded.tag_for("sha256:n2", ["sha256:c"]), preloaded.tag_for("sha256:n", ["sha256:c2"])}) == 3


def test_built_once_by_import_into_the_node_images_containerd_and_commit():
    ctx = _ctx(stale=f"kind-node-lab-preloaded:0ldd0ldd0ldd\n{preloaded.tag_for('sha256:n', ['sha256:c'])}\n")
    tag, built = preloaded.ensure_image(Runner(ctx, echo=False), NODE, [CASS])
    assert built and tag == preloaded.tag_for("sha256:n", ["sha256:c"])
    acts = ctx.matching(r"^docker (save|run|exec|stop|commit|rm|rmi) ")
    [save, run, exec_, stop, commit, remove, rmi] = acts
    tar = save.split("--output ")[1].split()[0]
    assert save == f"docker save --output {tar} {CASS}"
    # the node image with sleep for an entrypoint (no systemd, no kubelet), the tar mounted read-only
    assert run.startswith("docker run --detach --name kind-node-lab-preloading-") and run.endswith(
        f"--privileged --entrypoint sleep --volume {tar}:/preload.tar:ro {NODE} infinity")
    # containerd by hand, the images imported without unpacking (a node unpacks when a pod first runs one)
    assert "ctr -n k8s.io images import --all-platforms --no-unpack --digests /preload.tar" in exec_
    assert "kill $pid" in exec_
    assert stop.startswith("docker stop ")
    # kind's entrypoint back, as the node image had it
    assert commit.startswith("docker commit --change 'ENTRYPOINT [\"/usr/local/bin/entrypoint\", \"/sbin/init\"]' "
                             "--change 'CMD []' kind-node-lab-preloading-") and commit.endswith(tag)
    assert remove.startswith("docker rm --force --volumes kind-node-lab-preloading-")
    assert rmi == "docker rmi kind-node-lab-preloaded:0ldd0ldd0ldd"  # the superseded pair only, no --force


def test_an_existing_tag_is_reused_without_a_command_that_changes_anything():
    ctx = _ctx(built=True)
    tag, built = preloaded.ensure_image(Runner(ctx, echo=False), NODE, [CASS])
    assert not built and tag == preloaded.tag_for("sha256:n", ["sha256:c"])
    assert ctx.matching(r"^docker (save|run|exec|commit|rmi) ") == []


def test_a_failed_import_is_one_line_and_the_container_is_removed():
    ctx = _ctx(fail=r"^docker exec ")
    with pytest.raises(LabError, match=r"failed to preload lab/cassandra:5.0.2-abc into a node image from "
                                       r"kind-node-lab:feed: .*no space left"):
        preloaded.ensure_image(Runner(ctx, echo=False), NODE, [CASS])
    assert ctx.matching(r"^docker rm --force --volumes kind-node-lab-preloading-")
    assert ctx.matching(r"^docker commit") == []


def test_an_image_missing_from_the_engine_is_one_line():
    ctx = FakeCtx([(r"image inspect", ("", 1))])
    with pytest.raises(LabError, match=r"image kind-node-lab:feed is not in the local engine"):
        preloaded.ensure_image(Runner(ctx, echo=False), NODE, [CASS])
