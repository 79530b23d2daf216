"""The built-in login's prober (tests/e2e/default_login.py) without a cluster: its pod, its script, how its lines
are read and where its coverage has holes. The cluster proof is test_e2e.py's; these catch a prober that could
never pass (a pod the namespace refuses, a script that does not compile) before a lab spends half an hour on it."""

from __future__ import annotations

import json
import sys
import time

from lab import door
from tests.e2e.default_login import (
    AUTH_FAILED,
    ERROR,
    PROBER,
    REFUSED,
    SCRIPT,
    SUCCESS,
    WRITER_LABELS,
    Attempt,
    DefaultLoginProber,
    coverage_gaps,
    parse,
    prober_pod,
)


def test_the_prober_pod_is_a_writer_to_the_policies_but_not_to_deploy_status_or_the_restricted_standard():
    pod = prober_pod("10.244.1.5")
    labels = pod["metadata"]["labels"]
    assert labels == WRITER_LABELS == door.WRITER_LABELS  # what cassandra.yml's policy admits to CQL
    assert "app" not in labels and pod["metadata"]["name"] == PROBER  # not the writer Deployment's selector
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] and spec["securityContext"]["seccompProfile"] == {
        "type": "RuntimeDefault"}
    [container] = spec["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                             "capabilities": {"drop": ["ALL"]}}
    assert container["command"][-1] == "10.244.1.5" and container["resources"]["limits"]["cpu"] == "250m"
    assert spec["activeDeadlineSeconds"] > 0 and spec["automountServiceAccountToken"] is False
    compile(SCRIPT, "prober", "exec")


def test_its_lines_are_read_in_order_and_a_line_that_is_no_attempt_is_an_error():
    log = ("1796673423.392 refused NoHostAvailable: ConnectionRefusedError(111)\n"
           "1796673450.396 auth-failed NoHostAvailable: AuthenticationFailed('Bad credentials')\n"
           "Traceback (most recent call last):\n"
           "1796673462.397 SUCCESS logged in, read Row(role='cassandra')\n")
    attempts = parse(log)
    assert [a.outcome for a in attempts] == [REFUSED, AUTH_FAILED, ERROR, SUCCESS]
    assert attempts[1] == Attempt(1796673450.396, AUTH_FAILED,
                                  "NoHostAvailable: AuthenticationFailed('Bad credentials')")
    assert attempts[2].at == attempts[1].at and attempts[2].detail == "Traceback (most recent call last):"


def test_a_stretch_without_an_attempt_is_a_gap_from_the_start_to_the_end():
    attempts = [Attempt(at, REFUSED) for at in (101, 102, 103, 110, 111)]
    assert coverage_gaps(attempts, 100, 112, longest=5) == [(103, 110)]
    assert coverage_gaps(attempts, 95, 112, longest=5) == [(95, 101), (103, 110)]  # before the first one
    assert coverage_gaps(attempts, 100, 120, longest=5) == [(103, 110), (111, 120)]  # after the last one
    assert coverage_gaps([], 100, 104, longest=5) == []


#: A stand-in for kubectl: each call's argv appended to a log as a JSON line, and the answers a cluster would give
#: about a Cassandra pod not there before the prober started that then got 10.244.3.7 and turned Ready.
FAKE_KUBECTL = r"""
import json, sys
log, args = sys.argv[1], sys.argv[2:]
with open(log, "a") as out:
    out.write(json.dumps({"args": args, "stdin": sys.stdin.read() if "apply" in args else ""}) + "\n")
if args[:2] == ["get", "pod"] and args[-1] == "name":
    sys.exit(1)  # not found: a pod scale has yet to create
if args[:2] == ["get", "pod"] and "podIP" in args[-1]:
    print("10.244.3.7")
elif args[:2] == ["get", "pod"] and "Ready" in args[-1]:
    print("True")
elif args[0] == "logs":
    print("1796673423.392 refused NoHostAvailable: ConnectionRefusedError(111)")
    print("1796673450.396 auth-failed NoHostAvailable: AuthenticationFailed('Bad credentials')")
"""


def test_the_prober_watches_the_pod_it_is_given_from_its_address_to_its_readiness(tmp_path):
    """The scale scenario watches cassandra-3, not cassandra-0: every question goes to that pod, the prober pod
    targets its address, and its lines come back parsed; the prober pod is deleted at the end."""
    fake, log = tmp_path / "kubectl.py", tmp_path / "calls.jsonl"
    fake.write_text(FAKE_KUBECTL)
    prober = DefaultLoginProber([sys.executable, str(fake), str(log)], pod="cassandra-3").start()
    deadline = time.monotonic() + 30
    while prober.ready_at is None and not prober.error and time.monotonic() < deadline:
        time.sleep(0.1)
    prober.stop()
    assert not prober.error and prober.ready_at is not None and prober.existed_before is False
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    asked = {call["args"][2] for call in calls if call["args"][:2] == ["get", "pod"]}
    assert asked == {"cassandra-3"}
    [applied] = [json.loads(call["stdin"]) for call in calls if call["args"][0] == "apply"]
    assert applied == prober_pod("10.244.3.7") and prober.target == "10.244.3.7"
    assert [a.outcome for a in prober.attempts] == [REFUSED, AUTH_FAILED]
    assert calls[-1]["args"][:3] == ["delete", "pod", PROBER]
