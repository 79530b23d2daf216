"""CQL closed to the writers while deploy's bootstrap takes the built-in login away (lab/door.py): the closed
variant of cassandra.yml, deploy's order (closed policy, bootstrap, policy as checked in), no door on a ring whose
login is settled, and what the NetworkPolicy line says when the door could not hold."""

import re
from pathlib import Path

import pytest

from lab import auth, door, manifests, names, state, workflow
from lab.cassandra import Cassandra
from lab.errors import LabError, PreconditionError
from lab.kubectl import Kubectl
from lab.runner import Runner
from tests.lab.labfakes import (
    AUTH_RULES,
    DATA,
    LAB_ACTIONS,
    LOGIN_OFF,
    NO_POD,
    SETTLED_QUERY,
    FakeCtx,
    lab_ctx,
    logins_table,
    make_lab,
    policy_probe_rules,
)

ROOT = Path(__file__).resolve().parents[2]
WRITERS = {"app.kubernetes.io/component": "writer", "app.kubernetes.io/part-of": "ece573-prj04"}


def _cql_peers(docs) -> list[dict]:
    """The peers NetworkPolicy cassandra admits on CQL."""
    policy = manifests.find(docs, "NetworkPolicy", door.POLICY)
    return [peer for rule in policy["spec"]["ingress"] if {"port": names.CQL_PORT, "protocol": "TCP"} in rule["ports"]
            for peer in rule["from"]]


def test_the_closed_variant_admits_only_cassandras_own_pods_and_leaves_the_checked_in_file_as_it_is():
    checked_in = manifests.load_all(ROOT / "cassandra.yml")
    assert {"podSelector": {"matchLabels": WRITERS}} in _cql_peers(checked_in)  # the writers' door, as checked in
    closed = door.closed(checked_in)
    assert _cql_peers(closed) == [{"podSelector": {"matchLabels": {"app": "cassandra"}}}]
    ingress = manifests.find(closed, "NetworkPolicy", door.POLICY)["spec"]["ingress"]
    gossip = [rule for rule in ingress if {"port": 7000, "protocol": "TCP"} in rule["ports"]]
    assert gossip == [rule for rule in manifests.find(checked_in, "NetworkPolicy", door.POLICY)["spec"]["ingress"]
                      if {"port": 7000, "protocol": "TCP"} in rule["ports"]]  # peers' gossip untouched
    # Only that policy's ingress differs: the StatefulSet, egress and the default deny are the same objects.
    others = [d for d in closed if d.get("metadata", {}).get("name") != door.POLICY or d["kind"] != "NetworkPolicy"]
    assert others == [d for d in checked_in if d.get("metadata", {}).get("name") != door.POLICY
                      or d["kind"] != "NetworkPolicy"]
    assert manifests.find(closed, "NetworkPolicy", door.POLICY)["spec"]["egress"] == \
        manifests.find(checked_in, "NetworkPolicy", door.POLICY)["spec"]["egress"]
    assert {"podSelector": {"matchLabels": WRITERS}} in _cql_peers(manifests.load_all(ROOT / "cassandra.yml"))
    assert door.closed_name("cassandra.yml") == "cassandra.door-closed.yml"


@pytest.mark.parametrize("peer", [{"podSelector": {}}, {"podSelector": {"matchLabels": {
    "app.kubernetes.io/part-of": "ece573-prj04"}}}, {"namespaceSelector": {}}])
def test_a_peer_that_would_admit_a_writer_is_left_out_too(peer):
    docs = manifests.load_all(ROOT / "cassandra.yml")
    manifests.find(docs, "NetworkPolicy", door.POLICY)["spec"]["ingress"][0]["from"].append(peer)
    assert _cql_peers(door.closed(docs)) == [{"podSelector": {"matchLabels": {"app": "cassandra"}}}]


def test_a_policy_that_admits_everyone_cannot_be_closed_and_says_so():
    docs = manifests.load_all(ROOT / "cassandra.yml")
    manifests.find(docs, "NetworkPolicy", door.POLICY)["spec"]["ingress"].append({"ports": [{"port": 9042}]})
    with pytest.raises(PreconditionError, match=r"admits every pod to \[\{'port': 9042\}\]: deploy cannot keep"):
        door.closed(docs)
    with pytest.raises(PreconditionError, match="has no NetworkPolicy cassandra"):
        door.closed([d for d in docs if d["kind"] != "NetworkPolicy"])


# -- deploy -----------------------------------------------------------------------------------------------

AUTH_FAILED = ("Connection error: ('Unable to connect to any servers', {'127.0.0.1:9042': "
               "AuthenticationFailed('Failed to authenticate to 127.0.0.1')})", 1)


def _deploy(project, *, settled, probe_word="refused", image="lab/cassandra:5.0.9-abc", **lab):
    """A deploy on fakes: a ring whose built-in login is off (``settled``) or a first one; Cassandra's ``image`` as
    reset recorded it (the lab's own build by default)."""
    state.put(project / ".cache/lab", "writer_image", "w:1")
    state.put(project / ".cache/lab", "cassandra_image", image)
    if settled:
        ring = [(SETTLED_QUERY, LOGIN_OFF)]
    else:  # a first deploy: no pod to ask; then lab_admin cannot log in until the bootstrap made it
        ring = [(SETTLED_QUERY, NO_POD), (r"cqlsh --request-timeout=30$", [AUTH_FAILED, ("", 0)]),
                (r"cqlsh --request-timeout=120 -u cassandra", ("", 0)),
                # the built-in login, from the node's caches, for a moment after the bootstrap took it away
                (r"cqlsh --request-timeout=30 -u cassandra", [("", 0), AUTH_FAILED])]
    ctx = lab_ctx([("get-contexts", "kind-kind\n"), ("nodetool status", (DATA / "nodetool_status_un.txt").read_text()),
                   *ring, *AUTH_RULES, *policy_probe_rules(probe_word)], ok=LAB_ACTIONS)
    return ctx, make_lab(project, ctx, **lab)


def _index(ctx, pattern: str) -> int:
    """Where the first command ``pattern`` finds is among those run."""
    return next(i for i, c in enumerate(ctx.commands) if re.search(pattern, c))


def test_a_first_deploy_closes_cql_to_the_writers_bootstraps_then_opens_it(project, capsys):
    ctx, lab = _deploy(project, settled=False)
    workflow.deploy(lab)
    applied = [c.rsplit("/", 1)[1] for c in ctx.matching(" apply ")]
    assert applied == ["namespace.yml", "cassandra.door-closed.yml", "cassandra.yml", "lab-policy-probe.yml",
                       "writer.yml"]
    closed, bootstrap = _index(ctx, "apply .*cassandra.door-closed.yml"), _index(ctx, "=120 -u cassandra")
    refused = [i for i, c in enumerate(ctx.commands) if "=30 -u cassandra" in c]
    opened = _index(ctx, r"apply .*/cassandra\.yml$")
    assert _index(ctx, SETTLED_QUERY) < closed < bootstrap < refused[0] < refused[1] < opened < _index(
        ctx, "rollout status statefulset")
    assert len(refused) == 2  # opened only once the built-in login was refused
    rendered = project / ".cache/lab/rendered"
    assert {"podSelector": {"matchLabels": WRITERS}} not in _cql_peers(
        manifests.load_all(rendered / "cassandra.door-closed.yml"))
    assert {"podSelector": {"matchLabels": WRITERS}} in _cql_peers(manifests.load_all(rendered / "cassandra.yml"))
    # The same StatefulSet both times: opening the door changes the policy only, no pod restarts.
    assert manifests.find(manifests.load_all(rendered / "cassandra.door-closed.yml"), "StatefulSet") == \
        manifests.find(manifests.load_all(rendered / "cassandra.yml"), "StatefulSet")
    err = capsys.readouterr().err
    assert "Applying cassandra.yml, 9042 closed to the writers until the built-in login is off" in err
    assert "Opening 9042 to the writers once the built-in login is refused (NetworkPolicy cassandra as in " \
           "cassandra.yml)" in err
    line = next(ln for ln in err.splitlines() if ln.startswith("NetworkPolicies:"))
    assert line.startswith("NetworkPolicies: enforced") and "cassandra/cassandra" not in line


def test_a_ring_whose_built_in_login_is_off_keeps_cql_open_to_a_running_writer(project, capsys):
    ctx, lab = _deploy(project, settled=True)
    workflow.deploy(lab)
    applied = [c.rsplit("/", 1)[1] for c in ctx.matching(" apply ")]
    assert applied == ["namespace.yml", "cassandra.yml", "lab-policy-probe.yml", "writer.yml"]
    assert not ctx.matching("-u cassandra")
    assert not (project / ".cache/lab/rendered/cassandra.door-closed.yml").exists()
    err = capsys.readouterr().err
    assert "closed to the writers" not in err and "cassandra/cassandra" not in err


def test_a_ring_whose_first_pod_is_restarting_is_asked_through_another(project):
    """system_auth is on every node: cassandra-0 down (a chaos round) does not close the door on the writers."""
    ctx, lab = _deploy(project, settled=True)
    ctx.add(r"exec cassandra-0 .*can_login", NO_POD, first=True)
    assert door.needed(lab) is False
    assert [re.search(r"exec (cassandra-\d)", c).group(1) for c in ctx.matching("can_login")] == [
        "cassandra-0", "cassandra-1"]
    ctx, lab = _deploy(project, settled=False)
    assert door.needed(lab) is True and len(ctx.matching("can_login")) == len(names.CASSANDRA_PODS)


def test_where_policies_are_not_enforced_the_line_says_the_built_in_login_was_open_to_every_pod(project, capsys):
    ctx, lab = _deploy(project, settled=False, probe_word="connected")
    workflow.deploy(lab)
    line = next(ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("NetworkPolicies:"))
    assert line.startswith("NetworkPolicies: NOT enforced") and line.endswith(
        "; so the built-in login cassandra/cassandra was open to every pod of the cluster during the bootstrap "
        "(seconds, until lab_admin disabled it)")
    # No bootstrap in this deploy, no window to speak of.
    ctx, lab = _deploy(project, settled=True, probe_word="connected")
    workflow.deploy(lab)
    assert "cassandra/cassandra" not in capsys.readouterr().err


def test_require_enforced_policies_refuses_after_the_bootstrap_never_instead_of_it(project):
    """A refusal before the bootstrap would leave the built-in login on for good: it comes after, before the writer."""
    ctx, lab = _deploy(project, settled=False, probe_word="connected", security={"require_enforced_policies": "true"})
    with pytest.raises(PreconditionError, match="require_enforced_policies is true and the NetworkPolicies are NOT"):
        workflow.deploy(lab)
    assert ctx.matching("-u cassandra") and ctx.matching(r"apply .*/cassandra\.yml$")
    assert not ctx.matching("writer.yml")


# -- auth.settled, and a lab_admin that finds the built-in login on ----------------------------------------

def _cassandra(ctx) -> Cassandra:
    return Cassandra(Runner(ctx, echo=False), Kubectl())


ON = (logins_table(cassandra=True, lab_admin=True), 0)


@pytest.mark.parametrize("answer, settled", [
    (LOGIN_OFF, True),
    ((logins_table(lab_admin=True), 0), True),  # the built-in role dropped
    (ON, False),
    ((logins_table(cassandra=False), 0), False),  # no lab_admin: a ring still without authentication lets anyone read
    ((logins_table(cassandra=False, lab_admin=False), 0), False),
    (NO_POD, False),
    (AUTH_FAILED, False),  # a pod without the credentials file (cassandra.yml applied by hand)
    (("", 0), False),  # no table: cannot tell
])
def test_only_a_read_that_shows_the_built_in_login_off_counts_as_settled(answer, settled):
    assert auth.settled(_cassandra(FakeCtx([(SETTLED_QUERY, answer)]))) is settled


def test_a_built_in_login_that_still_works_keeps_the_door_shut_with_one_line():
    ctx = FakeCtx([(r"cqlsh --request-timeout=30 -u cassandra", ("", 0))])
    with pytest.raises(LabError, match=r"^the built-in login cassandra/cassandra still works on cassandra-0 0s after "
                                       r"lab_admin disabled it \(last try: logged in\); CQL stays closed"):
        auth.wait_default_login_refused(_cassandra(ctx), timeout=0, poll=0)


def test_lab_admin_that_finds_the_built_in_login_on_turns_it_off_at_once():
    ctx = FakeCtx([(r"cqlsh --request-timeout=30$", ON), (r"cqlsh --request-timeout=120$", ("", 0))])
    auth.ensure_admin(_cassandra(ctx), auth.Passwords(admin="a", writer="w"), timeout=5, poll=0)
    assert not ctx.matching("-u cassandra")
    inputs = [kw["in_stream"].getvalue() for kw in ctx.kwargs if kw.get("in_stream")]
    assert inputs[0] == auth.LOGINS_QUERY + "\n"
    assert re.fullmatch(r"ALTER ROLE cassandra WITH SUPERUSER = false AND LOGIN = false AND PASSWORD = '\S+';\n",
                        inputs[1])
