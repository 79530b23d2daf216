import dataclasses
import re
import sys

import pytest

from lab import suites, workflow
from lab.config import KIND_NODE_IMAGE
from lab.context import open_lab
from lab.errors import PreconditionError
from lab.runner import Runner
from tests.lab.labfakes import NO_IMAGE_BUILDS, FakeCtx, make_cfg


def test_pytest_args():
    assert suites.pytest_args() == [sys.executable, "-m", "pytest", "--durations=25"]
    assert suites.pytest_args(quick=True, extra="-k 'kind and not slow' -x") == [
        sys.executable, "-m", "pytest", "-m", "not slow and not cluster", "-k", "kind and not slow", "-x"]


def test_bench_args():
    assert suites.bench_args("--seconds 5") == [sys.executable, "-m", "lab.bench", "--seconds", "5"]
    assert suites.bench_args("--rounds 1", which="go") == [sys.executable, "-m", "lab.bench.gobuild", "--rounds", "1"]


# -- the node image `invoke reset` (and so every test cluster) uses: lab.images.kind_node_source ------------

BUILT = "kind-node-lab:v1.30.0-feed"


@pytest.fixture
def node_build(monkeypatch):
    """Builders whose node image build returns BUILT (each call recorded), and a docker CLI on PATH."""
    builds = []
    monkeypatch.setattr("lab.docker.shutil.which", lambda name: f"/usr/bin/{name}")
    return builds, dataclasses.replace(NO_IMAGE_BUILDS, kind_node=lambda runner, **kw: builds.append(kw) or BUILT)


#: The Docker engine answering preflight's version question.
ENGINE = ("docker version --format", "24.0.7\n")


@pytest.mark.parametrize("source, local_copy, pullable, expected, built", [
    ("auto", True, False, KIND_NODE_IMAGE, False),   # the configured image, already in the engine
    ("auto", False, True, KIND_NODE_IMAGE, False),   # pulled
    ("auto", False, False, BUILT, True),             # no registry (this machine, CI): the local build, as before
    ("pull", False, True, KIND_NODE_IMAGE, False),
    ("build", True, True, BUILT, True),
])
def test_the_node_image_follows_the_lab_policy(project, node_build, source, local_copy, pullable,
                                                                  expected, built):
    ctx = FakeCtx([(f"docker image inspect .*{re.escape(KIND_NODE_IMAGE)}", ("", 0 if local_copy else 1)),
                   ("docker pull", ("", 0 if pullable else 1)), ENGINE])
    cfg = make_cfg(project, images={"kind_node_source": source})
    builds, builders = node_build
    assert workflow.node_image(open_lab(Runner(ctx), cfg, need=("docker",), builders=builders)) == expected
    assert bool(builds) is built
    assert bool(ctx.matching("docker pull")) is (source in ("auto", "pull") and not local_copy)


def test_a_missing_local_node_image_is_refused(project, node_build):
    cfg = make_cfg(project, images={"kind_node_source": "local"})
    with pytest.raises(PreconditionError, match="kind node image .* is not in the local engine"):
        workflow.node_image(open_lab(Runner(FakeCtx([("docker image inspect", ("", 1)), ENGINE])), cfg,
                                     need=("docker",), builders=node_build[1]))
    assert not node_build[0]
