"""Whether the NetworkPolicies are enforced (lab/policies.py): the probe's verdict, its line, deploy's refusal
when lab.security.require_enforced_policies asks, and status reading what deploy recorded."""

import json

import pytest
import yaml

from lab import observe, policies, state, workflow
from lab.errors import PreconditionError
from tests.lab.labfakes import (
    AUTH_RULES,
    DATA,
    LAB_ACTIONS,
    STATUS_RULES,
    lab_ctx,
    make_cfg,
    make_lab,
    policy_probe_rules,
)


@pytest.mark.parametrize("phase, log, expected", [
    ("Succeeded", "refused\n", policies.ENFORCED),
    ("Succeeded", "connected\n", policies.NOT_ENFORCED),
    ("Failed", "connected\n", policies.NOT_ENFORCED),
    ("Succeeded", "bash: timeout: command not found\n", policies.UNKNOWN),  # said no word: proves nothing
    ("Failed", "", policies.UNKNOWN),  # killed by its deadline before a word
    ("Pending", "", policies.UNKNOWN),  # never ran: no node, no image
    ("Running", "refused\n", policies.UNKNOWN),  # not at its end
])
def test_only_a_probe_that_ran_to_its_end_and_said_its_word_decides(phase, log, expected):
    assert policies.verdict(phase, log) == expected


def test_the_probe_pod_meets_the_restricted_standard_and_carries_no_label_the_policies_admit():
    pod = policies.probe_pod("lab/cassandra:5.0.9-abc", "10.244.1.5")
    spec, [container] = pod["spec"], pod["spec"]["containers"]
    assert pod["metadata"]["labels"] == {"app": "lab-policy-probe"}
    assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert spec["automountServiceAccountToken"] is False and spec["restartPolicy"] == "Never"
    assert spec["activeDeadlineSeconds"] == policies.PROBE_DEADLINE
    assert {e["name"]: e["value"] for e in container["env"]} == {"TARGET": "10.244.1.5", "PORT": "9042"}
    assert container["image"] == "lab/cassandra:5.0.9-abc" and container["imagePullPolicy"] == "IfNotPresent"


def test_the_line_says_the_verdict_and_when_it_was_probed():
    at = 1_796_000_000.0  # 2026-11-30 ...
    enforced = policies.line(policies.Probed(policies.ENFORCED, at), now=at + 600)
    assert enforced.startswith("NetworkPolicies: enforced (probed by deploy 2026-")
    assert ", 10 min ago): a pod without the writers' labels was refused on cassandra-0:9042" in enforced
    not_enforced = policies.line(policies.Probed(policies.NOT_ENFORCED, at), now=at + 30)
    assert "NetworkPolicies: NOT enforced (probed by deploy" in not_enforced and "30 s ago" in not_enforced
    assert "connected to cassandra-0:9042, so any pod reaches Cassandra" in not_enforced
    assert "lab's own kind node image" in not_enforced and "kind v0.24 or later" in not_enforced
    assert policies.line(policies.Probed(None)).startswith("NetworkPolicies: not probed yet")
    assert "did not run to its end" in policies.line(policies.Probed(policies.UNKNOWN, at), now=at)


def test_status_reads_what_deploy_recorded_on_the_namespace():
    namespace = {"metadata": {"annotations": {policies.RESULT_ANNOTATION: "enforced",
                                              policies.PROBED_AT_ANNOTATION: "2026-12-07T19:30:00Z"}}}
    probed = policies.recorded(namespace)
    assert probed.result == policies.ENFORCED and probed.at == 1796671800.0
    assert policies.recorded({"metadata": {}}) == policies.Probed(None)
    assert policies.recorded(None) == policies.Probed(None)
    assert policies.recorded({"metadata": {"annotations": {policies.RESULT_ANNOTATION: "maybe"}}}).result is None


def _deploy(project, probe_word, **lab):
    state.put(project / ".cache/lab", "writer_image", "w:1")
    state.put(project / ".cache/lab", "cassandra_image", "lab/cassandra:5.0.9-abc")
    ctx = lab_ctx([("get-contexts", "kind-kind\n"), ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
                   *AUTH_RULES, *policy_probe_rules(probe_word)], ok=LAB_ACTIONS)
    return ctx, make_lab(project, ctx, **lab)


def test_deploy_probes_once_cassandra_serves_records_it_and_says_enforced(project, capsys):
    ctx, lab = _deploy(project, "refused")
    workflow.deploy(lab)
    applied = [c.rsplit("/", 1)[1] for c in ctx.matching(" apply ")]
    assert applied == ["namespace.yml", "cassandra.yml", "lab-policy-probe.yml", "writer.yml"]
    pod = yaml.safe_load((project / ".cache/lab/rendered/lab-policy-probe.yml").read_text())
    assert pod["spec"]["containers"][0]["image"] == "lab/cassandra:5.0.9-abc"  # Cassandra's: on every node
    assert {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}["TARGET"] == "10.244.1.5"
    [annotate] = ctx.matching("annotate namespace")
    assert "annotate namespace default --overwrite ece573-prj04/network-policies=enforced " \
           "ece573-prj04/network-policies-probed-at=20" in annotate
    assert len(ctx.matching("delete pod lab-policy-probe")) == 2  # before (a leftover) and after
    assert "NetworkPolicies: enforced (probed by deploy" in capsys.readouterr().err


def test_deploy_warns_when_not_enforced_and_goes_on(project, capsys):
    ctx, lab = _deploy(project, "connected")
    workflow.deploy(lab)
    assert ctx.matching("writer.yml")  # the writer was applied all the same
    assert "ece573-prj04/network-policies=not-enforced " in ctx.matching("annotate namespace")[0]
    err = capsys.readouterr().err
    assert "NetworkPolicies: NOT enforced" in err and "lab's own kind node image" in err


@pytest.mark.parametrize("word, said", [("connected", "are NOT enforced"), ("", "are unknown")])
def test_require_enforced_policies_refuses_before_the_writer(project, word, said):
    ctx, lab = _deploy(project, word, security={"require_enforced_policies": "true"})
    with pytest.raises(PreconditionError, match=rf"^lab.security.require_enforced_policies is true and the "
                                                rf"NetworkPolicies {said} .*the writer was not deployed$") as err:
        workflow.deploy(lab)
    assert err.value.exit_code == 2
    assert not ctx.matching("writer.yml")


def test_require_enforced_policies_deploys_where_they_are(project):
    ctx, lab = _deploy(project, "refused", security={"require_enforced_policies": "true"})
    workflow.deploy(lab)
    assert ctx.matching("apply --filename .*writer.yml")


def test_status_says_what_deploy_found_without_a_probe_of_its_own(project, capsys):
    namespace = {"metadata": {"name": "default", "annotations": {
        policies.RESULT_ANNOTATION: "enforced", policies.PROBED_AT_ANNOTATION: "2026-12-07T19:30:00Z"}}}
    ctx = lab_ctx([("get namespace default --output json", json.dumps(namespace)), *STATUS_RULES])
    assert observe.show_status(make_lab(project, ctx)) is True
    assert "NetworkPolicies: enforced (probed by deploy 2026-12-07 19:30:00 UTC" in capsys.readouterr().out
    assert not ctx.matching("lab-policy-probe")


def test_the_setting_is_typed_and_off_by_default(project):
    assert make_cfg(project).security.require_enforced_policies is False
    assert make_cfg(project, security={"require_enforced_policies": "true"}).security.require_enforced_policies
    with pytest.raises(PreconditionError, match=r"lab.security.require_enforced_policies is 'maybe'"):
        make_cfg(project, security={"require_enforced_policies": "maybe"})


@pytest.mark.parametrize("logged_in, image, secrets", [
    (True, "localhost:5001/cassandra-lab@sha256:ab12", [{"name": "lab-registry-login"}]),  # the lab's registry
    (True, "lab/cassandra:5.0.9-abc", None),  # loaded into the nodes: nothing to pull
    (False, "localhost:5001/cassandra-lab@sha256:ab12", None),  # no login of the lab's: none to name
])
def test_the_probe_pod_pulls_with_the_registry_login_only_where_its_image_needs_it(project, monkeypatch, logged_in,
                                                                                   image, secrets):
    from lab import registry, registry_auth

    monkeypatch.setattr(registry, "login", lambda cfg: registry_auth.Credentials("lab", "pw") if logged_in else None)
    ctx = lab_ctx(policy_probe_rules("refused"), ok=LAB_ACTIONS)
    assert policies.probe(make_lab(project, ctx), image).result == policies.ENFORCED
    pod = yaml.safe_load((project / ".cache/lab/rendered/lab-policy-probe.yml").read_text())
    assert pod["spec"]["containers"][0]["image"] == image
    assert pod["spec"].get("imagePullSecrets") == secrets
