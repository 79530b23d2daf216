"""Cassandra's disk-usage guardrail sized from the PVC (lab/disk.py): one declared size, the flags follow it."""

import pytest
import yaml

from lab import disk, manifests, names, state, workflow
from lab.errors import PreconditionError
from tests.lab.labfakes import AUTH_RULES, DATA, LAB_ACTIONS, lab_ctx, make_lab, policy_probe_rules
from tests.lab.test_manifests import CASS, ROOT


def guardrail_flags(docs) -> list[str]:
    opts = manifests.env_value(docs, names.CASSANDRA_CONTAINER, "JVM_OPTS").split()
    return [flag for flag in opts if "data_disk_usage" in flag]


@pytest.mark.parametrize("quantity, size", [("1Gi", "1GiB"), ("512Mi", "512MiB"), ("64Ki", "64KiB"),
                                            ("2Ti", "2048GiB"), ("1048576", "1048576B")])
def test_a_pvc_quantity_in_cassandras_units(quantity, size):
    assert disk.cassandra_size(quantity) == size


@pytest.mark.parametrize("quantity", ["1G", "1.5Gi", "", "lots"])
def test_a_quantity_cassandra_cannot_take_exactly_is_one_line(quantity):
    with pytest.raises(PreconditionError, match=r"^the Cassandra PVC's storage request .* is not a whole number"):
        disk.cassandra_size(quantity)


def test_the_checked_in_manifest_sets_the_guardrail_from_its_own_pvc_and_renders_to_itself():
    """`kubectl apply -f cassandra.yml` is guarded too: its JVM_OPTS say what deploy would render from the PVC."""
    assert disk.claimed_size(CASS) == "1Gi"
    assert guardrail_flags(CASS) == ["-Dcassandra.settings.data_disk_usage_max_disk_size=1GiB",
                                     "-Dcassandra.settings.data_disk_usage_percentage_warn_threshold=80",
                                     "-Dcassandra.settings.data_disk_usage_percentage_fail_threshold=90"]
    assert disk.with_guardrail(CASS) == CASS


def test_deploy_renders_the_guardrail_from_the_pvc_size_alone(project):
    """Change the size in one place, the PVC request; the rendered JVM_OPTS follow, nothing else moves."""
    text = (ROOT / "cassandra.yml").read_text().replace("storage: 1Gi", "storage: 5Gi")
    (project / "cassandra.yml").write_text(text)
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = lab_ctx([("get-contexts", "kind-kind\n"), ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
                   *AUTH_RULES, *policy_probe_rules()], ok=LAB_ACTIONS)
    workflow.deploy(make_lab(project, ctx), what="cassandra")
    rendered = list(yaml.safe_load_all((project / ".cache/lab/rendered/cassandra.yml").read_text()))
    assert disk.claimed_size(rendered) == "5Gi"
    assert guardrail_flags(rendered)[0] == "-Dcassandra.settings.data_disk_usage_max_disk_size=5GiB"
    before = manifests.env_value(CASS, names.CASSANDRA_CONTAINER, "JVM_OPTS").split()
    after = manifests.env_value(rendered, names.CASSANDRA_CONTAINER, "JVM_OPTS").split()
    assert [f for f in before if "data_disk" not in f] == [f for f in after if "data_disk" not in f]


def test_jvm_opts_without_the_flags_get_them_at_the_end():
    assert disk.jvm_opts("-Xss256k", "2GiB").split() == ["-Xss256k", *disk.flags("2GiB")]
