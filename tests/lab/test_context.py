"""lab.context: the kube-context guard, the cluster precondition and open_lab's wiring."""

import pytest

from lab.context import guard_context, open_lab, require_cluster
from lab.errors import PreconditionError
from lab.images import builders as builders_module
from lab.images.builders import ImageBuilders
from lab.kind import Kind
from lab.kubectl import Kubectl
from lab.runner import Runner
from tests.lab.labfakes import NO_IMAGE_BUILDS, FakeCtx, make_cfg, make_lab

GET_CONTEXTS = "kubectl config get-contexts --output name"


def test_guard_context(project):
    guard_context(make_cfg(project), action="x")
    with pytest.raises(PreconditionError) as err:
        guard_context(make_cfg(project, context="gke_prod"), action="delete workloads")
    assert str(err.value) == ("refusing to delete workloads in kube context 'gke_prod': it is not kind-kind; "
                              "set lab.allow_context to 'gke_prod' (e.g. INVOKE_LAB_ALLOW_CONTEXT) to allow it")
    guard_context(make_cfg(project, context="gke_prod", allow_context="gke_prod"), action="x")


def test_require_cluster_passes_when_the_context_is_listed(project):
    ctx = FakeCtx([("config get-contexts", "other\nkind-kind\n")])
    assert require_cluster(make_lab(project, ctx)) is None
    assert ctx.commands == [GET_CONTEXTS]


def test_require_cluster_says_to_run_reset_when_the_context_is_missing(project):
    ctx = FakeCtx([("config get-contexts", "other\nkind-kind-old\n")])
    with pytest.raises(PreconditionError) as err:
        require_cluster(make_lab(project, ctx))
    assert str(err.value) == "kube context kind-kind not found; create the cluster with `invoke reset`"


def test_a_missing_foreign_context_is_not_something_reset_creates(project):
    ctx = FakeCtx([("config get-contexts", "kind-kind\n")])
    with pytest.raises(PreconditionError) as err:
        require_cluster(make_lab(project, ctx, context="gke_prod"))
    assert str(err.value) == "kube context gke_prod not found in your kubeconfig"


def test_a_dry_run_without_the_cluster_stops_unless_its_reset_planned_it(project, capsys):
    ctx = FakeCtx([("config get-contexts", "")])
    with pytest.raises(PreconditionError) as err:
        require_cluster(make_lab(project, ctx, dry=True))  # `invoke --dry chaos` on a fresh machine
    assert str(err.value) == ("kube context kind-kind not found: this dry run reads the running lab; create it with "
                              "`invoke up` (`invoke --dry up` shows that plan)")
    assert ctx.commands == [GET_CONTEXTS]  # asked even under --dry
    planned = make_lab(project, ctx, dry=True)
    planned.cluster_planned = True  # `invoke --dry up`: its reset step planned the cluster
    assert require_cluster(planned) is None
    assert capsys.readouterr().err == ""


def test_open_lab_builds_the_clis_with_the_configured_cluster_context_and_namespace(project):
    cfg = make_cfg(project, cluster="lab", namespace="db", context="kind-other")
    runner = Runner(FakeCtx())
    lab = open_lab(runner, cfg, need=("kind", "kubectl"))
    assert (lab.cfg, lab.runner) == (cfg, runner)
    assert lab.kind == Kind(f"{project}/.cache/bin/kind", "lab")
    assert lab.kube == Kubectl(f"{project}/.cache/bin/kubectl", "kind-other", "db")
    assert lab.state_dir == project / ".cache/lab"


def test_open_lab_carries_the_image_builders_it_is_given_else_the_real_recipes(project):
    cfg, runner = make_cfg(project), Runner(FakeCtx())
    assert open_lab(runner, cfg, need=(), builders=NO_IMAGE_BUILDS).builders is NO_IMAGE_BUILDS
    real = open_lab(runner, cfg, need=()).builders
    assert real == ImageBuilders() and real.kind_node is builders_module.build_kind_node
