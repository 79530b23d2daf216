"""All three Cassandra nodes come back with NEW addresses behind one DNS name: the writer follows by itself.

The lab's case: ``kubectl delete pod cassandra-0 cassandra-1 cassandra-2``; the pods return with new IPs
behind the headless Service ``cassandra-service``, and a driver that resolved the name once retries the old
addresses forever. Here: our own 3-node cluster on a Docker network where every node carries the network
alias ``cassandra-service`` (Docker's DNS answers it with every running node, as a headless Service does),
and the writer image runs on that network with ``CASSANDRA_SEEDS=cassandra-service``. All nodes are killed at
once, given new addresses, and started together. Recorded: when a QUORUM of the new addresses (and all of
them) first answered CQL, and when the writer's first write of the outage was acknowledged; asserted: that write
came within seconds of every node answering (the writer re-resolves its seeds every few seconds of an outage,
not after WRITER_RESOLVE_AFTER), no restart of the writer, no gap.
"""

from __future__ import annotations

import datetime
import re
import socket
import time
import uuid

import docker.constants
import pytest
from docker.types import EndpointConfig
from invoke import Context

from lab.images import writer as writer_image
from lab.runner import Runner
from tests.cassandra_nodes import (
    CLUSTER_JVM_OPTS,
    Cluster,
    ClusterNode,
    _cassandra_container,
    _start,
    cql_query,
    log,
)
from tests.writer.support import assert_no_gap, connect, unique_topic

pytestmark = pytest.mark.slow

SERVICE = "cassandra-service"
KS = "w3_newip"
#: Seconds from every new address answering CQL to the writer's first acknowledged write. The lab's target is
#: 5 s from a QUORUM answering (a measured figure, printed); this bound only has to tell "re-resolved within
#: seconds" from "waited for WRITER_RESOLVE_AFTER".
RESUME_WITHIN = 15.0


class ServiceCluster(Cluster):
    """Cluster whose nodes share the alias SERVICE and find their seed by name, not by address."""

    def _start_node(self, i: int, ip: str, seed_ip: str) -> None:
        name = f"{self.prefix}-{i + 1}"
        env = {"CASSANDRA_SEEDS": f"{self.prefix}-1", "CASSANDRA_CLUSTER_NAME": self.cluster_name,
               "JVM_OPTS": CLUSTER_JVM_OPTS}
        container = _cassandra_container(self.image, name, env=env, startup_timeout=self.node_timeout)
        container.with_network(self.network).with_network_aliases(name, SERVICE)
        container.with_kwargs(networking_config={self.network.name: EndpointConfig(
            docker.constants.DEFAULT_DOCKER_API_VERSION, aliases=[name, SERVICE], ipv4_address=ip)})
        self.nodes.append(ClusterNode(name=name, ip=ip, container=container))
        log.info("starting %s at %s", name, ip)
        _start(container, name)
        self.wait_up(i, self.node_timeout)


@pytest.fixture(scope="module")
def runner() -> Runner:
    return Runner(Context(), echo=False)


@pytest.fixture(scope="module")
def service_cluster(cassandra_image):
    cluster = ServiceCluster(cassandra_image, size=3, cluster_name="newip-cluster").launch()
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def image(runner, docker_engine) -> str:
    return writer_image.ensure_image(runner, quiet=True)


def _logs(runner, name: str) -> list[tuple[float, str]]:
    """(docker's receive time, line) of every line the container logged."""
    out = runner.probe(["docker", "logs", "--timestamps", name])
    lines = []
    for raw in (out.stdout + out.stderr).splitlines():
        stamp, _, text = raw.partition(" ")
        moment = datetime.datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00").timestamp()
        lines.append((moment, text))
    return sorted(lines)


def _wait_log(runner, name: str, pattern: str, timeout: float, after: float = 0.0) -> tuple[float, re.Match]:
    regex, deadline = re.compile(pattern), time.monotonic() + timeout
    while True:
        for moment, text in _logs(runner, name):
            if moment >= after and (match := regex.search(text)):
                return moment, match
        if time.monotonic() > deadline:
            tail = "\n".join(text for _, text in _logs(runner, name)[-25:])
            pytest.fail(f"writer logged no {pattern!r} within {timeout} s:\n{tail}", pytrace=False)
        time.sleep(0.5)


#: A CQL v4 OPTIONS request (version, flags, stream 0, opcode 0x05, empty body): every server answers SUPPORTED.
_OPTIONS = bytes([0x04, 0, 0, 0, 0x05, 0, 0, 0, 0])


def _answers_cql(ip: str) -> bool:
    """Whether ``ip`` answers a CQL request now: OPTIONS -> SUPPORTED (opcode 0x06). A raw frame, not a driver
    session: a session takes seconds to open on a loaded host, and this instant is the one being measured."""
    try:
        with socket.create_connection((ip, 9042), timeout=1.0) as sock:
            sock.settimeout(2.0)
            sock.sendall(_OPTIONS)
            header = sock.recv(9)
    except OSError:
        return False
    return len(header) >= 5 and header[0] & 0x80 and header[4] == 0x06


def _first_cql_answers(ips: list[str], timeout: float) -> dict[str, float]:
    """When each address first answered CQL (time.time()), polling all of them every 0.2 s."""
    answered: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(answered) < len(ips):
        if time.monotonic() > deadline:
            pytest.fail(f"CQL answered only on {sorted(answered)} of {ips} within {timeout} s", pytrace=False)
        for ip in ips:
            if ip not in answered and _answers_cql(ip):
                answered[ip] = time.time()
        time.sleep(0.2)
    assert all(cql_query(ip) for ip in ips)  # and a real query on each, through the driver
    return answered


def test_all_nodes_back_with_new_addresses_the_writer_follows_without_restart_or_gap(runner, service_cluster, image):
    cluster = service_cluster
    net = cluster.network.name
    topic = unique_topic("newip")
    name = f"w3-writer-newip-{uuid.uuid4().hex[:6]}"
    # WRITER_RESOLVE_AFTER far beyond the test: only the DNS check every few seconds can bring the writer back.
    env = {"TOPIC": topic, "CASSANDRA_SEEDS": SERVICE, "CONSISTENCY": "QUORUM", "REPLICATION_FACTOR": "3",
           "KEYSPACE": KS, "WRITER_RATE": "1000", "WRITER_REQUEST_TIMEOUT": "2", "LOG_EVERY": "500",
           "HTTP_PORT": "8080", "WRITER_RESOLVE_AFTER": "900"}
    argv = ["docker", "run", "--detach", "--name", name, "--network", net, "--read-only", "--cap-drop", "ALL"]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    runner.run(argv + [image], hide=True, timeout=60)
    try:
        _wait_log(runner, name, rf"{topic}: inserted rows to seq 2000$", 120)
        old_ips = [node.ip for node in cluster.nodes]
        base = old_ips[0].rsplit(".", 1)[0]
        new_ips = [f"{base}.{30 + i}" for i in range(len(cluster.nodes))]

        killed_at = time.time()
        # Every pod deleted at once, as `kubectl delete pod cassandra-0 cassandra-1 cassandra-2` does: a graceful
        # stop (SIGTERM, in parallel), not SIGKILL. Cassandra's periodic commitlog acknowledges a write before
        # it is synced, so killing every replica at the same instant may lose the last acknowledged writes (seen
        # here: one or a few batches just before the kill missing on restart); that is Cassandra's durability
        # contract, not the writer's, and not what the lab's pod deletion does.
        runner.run(["docker", "stop", "--time", "60", *[node.name for node in cluster.nodes]], hide=True, timeout=120)
        for node, ip in zip(cluster.nodes, new_ips, strict=True):
            runner.run(["docker", "network", "disconnect", net, node.name], hide=True, timeout=60)
            runner.run(["docker", "network", "connect", "--ip", ip, "--alias", node.name, "--alias", SERVICE,
                        net, node.name], hide=True, timeout=60)
            node.ip = ip
        time.sleep(5)  # the writer notices its writes failing before the nodes return
        for node in cluster.nodes:  # ... and all come back together, each at a new address
            node.container.get_wrapped_container().start()
        answered = _first_cql_answers(new_ips, timeout=300)
        # A replica takes writes (through gossip) before its own CQL port opens: a QUORUM write needs one node
        # answering CQL and two alive, so the writer may write again before a QUORUM answers CQL.
        first_at, quorum_at, cql_at = (sorted(answered.values())[i] for i in (0, len(new_ips) // 2, -1))
        cluster.wait_all_up(300)

        rebuilt_at, rebuilt = _wait_log(runner, name, rf"{topic}: session rebuilt \(seeds {SERVICE} -> (.*)\)", 180,
                                        after=killed_at)
        over_at, over = _wait_log(runner, name, rf"{topic}: outage over after ([\d.]+) s", 180, after=killed_at)
        resumed_at, resumed = _wait_log(runner, name, rf"{topic}: inserted rows to seq (\d+)$", 60, after=over_at)
        print(f"nodes killed, re-addressed {old_ips} -> {new_ips}; CQL back on one node {first_at - killed_at:.1f} s, "
              f"on a QUORUM {quorum_at - killed_at:.1f} s and on all {cql_at - killed_at:.1f} s after the kill; the "
              f"writer's outage {over.group(1)} s; its first acknowledged write {over_at - first_at:+.1f} s after "
              f"one node answered CQL, {over_at - quorum_at:+.1f} s after a QUORUM, {over_at - cql_at:+.1f} s after "
              f"all (rebuilt with {rebuilt.group(1)}; instants first_cql_at={first_at:.3f} "
              f"quorum_cql_at={quorum_at:.3f} first_ack_at={over_at:.3f})")
        for moment, text in _logs(runner, name):  # what the writer did meanwhile, on the same clock
            if killed_at <= moment <= over_at + 1 and "inserted rows" not in text:
                print(f"  {moment - killed_at:+7.2f} s  {text[:200]}")
        assert over_at - cql_at <= RESUME_WITHIN, f"wrote again {over_at - cql_at:.1f} s after every node answered CQL"
        assert any(ip in rebuilt.group(1) for ip in new_ips), rebuilt.group(0)  # it followed the name...
        assert not any(ip in rebuilt.group(1) for ip in old_ips), rebuilt.group(0)  # ... not the old addresses
        _wait_log(runner, name, rf"{topic}: inserted rows to seq {int(resumed.group(1)) + 1000}$", 60)

        state = runner.output(["docker", "inspect", "--format", "{{.State.Running}} {{.RestartCount}}", name]).split()
        assert state == ["true", "0"], f"the writer did not ride through: {state}"
        runner.run(["docker", "stop", "--time", "20", name], hide=True, timeout=60)
        code = runner.output(["docker", "inspect", "--format", "{{.State.ExitCode}}", name]).strip()
        text = "\n".join(t for _, t in _logs(runner, name))
    finally:
        runner.probe(["docker", "rm", "--force", name])
    assert code == "0", text[-3000:]
    assert "Traceback" not in text
    stopped = int(re.search(rf"{topic}: stopped at seq (\d+)", text).group(1))
    session_cluster, session = connect(cluster.contact_points, cluster.local_dc)
    try:
        assert assert_no_gap(session, KS, topic) == stopped
    finally:
        session_cluster.shutdown()
