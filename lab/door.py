"""CQL closed to the writers while the lab's bootstrap takes the built-in superuser away.

Stock Cassandra 5.0 cannot skip its default role: about 10 s after the first node opens CQL it creates
``cassandra``/``cassandra`` (hard-coded, no setting turns it off), and only a login as it can make the lab's
``lab_admin`` and disable it (lab/auth.py's bootstrap). Between the two, seconds, the well-known login works for
whoever reaches port 9042. So on a ring whose roles are not yet the lab's, deploy applies cassandra.yml with its
NetworkPolicy ``cassandra`` admitting on CQL only Cassandra's own pods (a joining node's init container waits for
its predecessor's CQL port; nodes never log in to each other), runs the bootstrap, waits until that node refuses
the built-in login (the bootstrap's own login sits in its credentials and roles caches for up to 2 s), and only then
applies the policy as checked in, which admits the writers. The bootstrap is not held back by that policy: it is
cqlsh inside ``cassandra-0`` (``kubectl exec``) talking to the pod's own loopback, and NetworkPolicy governs only
the traffic that enters the pod's network interface.

Why this and not something else:
- A pod that can carry Cassandra's own label could also mount Secret ``cassandra-auth``: whoever may create pods in
  the namespace holds the lab's passwords already. The door keeps out what the lab runs there (the writers, a
  workload with its own code and network exposure) and every pod of any other namespace.
- The bootstrap runs whatever the pod network is: refusing before it (lab.security.require_enforced_policies) would
  leave the built-in login on for good. The NetworkPolicy probe (lab/policies.py) needs Cassandra serving CQL to
  tell a refusing policy from a closed port, so it runs after the bootstrap; where it finds policies not enforced,
  deploy's warning says the built-in login was open to every pod while the bootstrap ran (``exposure``).
- A ring whose admin logs in and whose built-in login is off (any re-deploy) needs no door: deploy checks first
  (auth.settled, asked of each Cassandra pod until one answers) and leaves a running writer connected. A check that
  cannot tell closes the door: the writers then lose CQL for seconds (two cqlsh runs and an apply), and ride it
  out as any outage.
- The checked-in cassandra.yml keeps the writers' rule: `kubectl apply -f cassandra.yml` by hand is the
  assignment's path, and `invoke deploy` afterwards closes the door it finds open (its admin cannot log in yet).
"""

from __future__ import annotations

from typing import Any

from lab import auth, manifests, names, policies
from lab.context import Lab
from lab.errors import PreconditionError

#: The NetworkPolicy of cassandra.yml that admits the writers to CQL.
POLICY = "cassandra"
#: The labels every writer pod carries (names.WRITERS_SELECTOR), as cassandra.yml's policy matches them.
WRITER_LABELS = dict(label.split("=") for label in names.WRITERS_SELECTOR.split(","))


def needed(lab: Lab) -> bool:
    """Whether deploy must close the door: yes unless the lab_admin of some Cassandra pod reads the built-in login
    off (auth.settled). One pod is enough, system_auth being on every node: cassandra-0 may be the one a chaos round
    is restarting, and a door closed then would keep the writers out until it serves again. A dry run plans one."""
    return lab.cluster_planned or lab.runner.dry or not any(auth.settled(lab.cassandra(pod))
                                                             for pod in names.CASSANDRA_PODS)


def closed(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of cassandra.yml's objects whose NetworkPolicy ``cassandra`` admits no writer: its ingress rules
    without the peers that select the writers' labels (a rule left with no peer at all is dropped, since an
    empty ``from`` would admit everyone)."""
    docs = manifests.render(docs)  # a copy
    policy = manifests.find(docs, "NetworkPolicy", POLICY)
    if policy is None:
        raise PreconditionError(f"cassandra.yml has no NetworkPolicy {POLICY}: deploy cannot keep the writers "
                                "out while it takes the built-in login away")
    rules = []
    for rule in policy.get("spec", {}).get("ingress") or []:
        peers = [peer for peer in rule.get("from") or [] if not _admits_writers(peer)]
        if peers:
            rules.append({**rule, "from": peers})
        elif not rule.get("from"):  # a rule that admits everyone: no door could be closed under it
            raise PreconditionError(f"cassandra.yml's NetworkPolicy {POLICY} admits every pod to "
                                    f"{rule.get('ports') or 'every port'}: deploy cannot keep the writers out while "
                                    "it takes the built-in login away")
    policy["spec"]["ingress"] = rules
    return docs


def closed_name(manifest: str) -> str:
    """The closed variant's rendered file, beside the one as checked in: cassandra.door-closed.yml."""
    stem, dot, suffix = manifest.rpartition(".")
    return f"{stem}.door-closed.{suffix}" if dot else f"{manifest}.door-closed"


def _admits_writers(peer: dict[str, Any]) -> bool:
    """The peer selects pods with the writers' labels (no label asked, or only some of theirs); a peer with only a
    namespace or address block counts as one too: the door errs on the closed side."""
    labels = (peer.get("podSelector") or {}).get("matchLabels") or {}
    return labels.items() <= WRITER_LABELS.items()


def exposure(verdict: str | None) -> str:
    """What deploy adds to the NetworkPolicy line after it closed the door for a bootstrap: "" where policies are
    enforced (the door held), else where the built-in login could be reached meanwhile."""
    if verdict == policies.ENFORCED:
        return ""
    held = "was open" if verdict == policies.NOT_ENFORCED else "may have been open"
    return (f"; so the built-in login cassandra/cassandra {held} to every pod of the cluster during the bootstrap "
            "(seconds, until lab_admin disabled it)")
