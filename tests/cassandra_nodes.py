"""Real Cassandra containers for the tests: one node, or a cluster of nodes on their own Docker network.

Both start the image through testcontainers' ``CassandraContainer``, the path a user of the lab gets,
so the same code runs our locally built image (``CASSANDRA_IMAGE``) or the official ``cassandra:5.0``.

- ``SingleNode``: one node whose CQL port is published on a fixed host port, so ``.host``/``.port``
  stay valid across ``.stop()``/``.start()``.
- ``Cluster``: N nodes on a private network with fixed IPs, node 0 the only seed, started one at a
  time (Cassandra lets only one node bootstrap at once), with kill/stop/start helpers.

Every wait takes a timeout and, when it runs out, raises ``CassandraWaitError`` naming what was
awaited, the last error seen and the tail of the container's log.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import docker
import docker.constants
import docker.errors
from docker.types import EndpointConfig, IPAMConfig, IPAMPool
from invoke import Context
from testcontainers.community.cassandra import CassandraContainer
from testcontainers.core.network import Network
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from lab.net import free_port
from lab.runner import Runner

#: The image the fixtures start when CASSANDRA_IMAGE is unset: the official one, for users with Docker Hub.
DEFAULT_IMAGE = "cassandra:5.0"
#: Local datacenter name (testcontainers' CassandraContainer sets CASSANDRA_DC to this).
LOCAL_DC = CassandraContainer.DEFAULT_LOCAL_DATACENTER
CQL_PORT = 9042
#: Small heaps so that three nodes, a writer and the tests fit on a 2-core laptop or CI machine.
SMALL_HEAP = {"MAX_HEAP_SIZE": "512M", "HEAP_NEWSIZE": "128M"}
#: Prefix of every container, network and volume these helpers create (to find strays: docker ps -a).
NAME_PREFIX = "c2-cass"

# testcontainers sets -Dcassandra.initial_token=0, fine for one node but fatal for a second one
# ("Bootstrapping to existing token 0 is not allowed"): cluster nodes pick vnode tokens instead.
# A shorter ring delay cuts each join's two 30 s sleeps; safe on one quiet Docker network.
CLUSTER_JVM_OPTS = "-Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=5000"

log = logging.getLogger(__name__)
T = TypeVar("T")


class CassandraWaitError(AssertionError):
    """A container did not reach the awaited state in time; the message carries its log tail.

    An AssertionError, so pytest reports it as a test failure (not an error in a helper).
    """


def _runner() -> Runner:
    return Runner(Context(), echo=False)


def log_tail(container, lines: int = 40) -> str:
    """The last ``lines`` lines of a container's log (stdout and stderr), or why they are unavailable."""
    try:
        raw = container.get_wrapped_container().logs(tail=lines)
    except Exception as err:  # the container may already be gone; the tail is a diagnostic only
        return f"<no log: {err}>"
    return raw.decode(errors="replace").rstrip()


def wait_until(check: Callable[[], T], *, timeout: float, what: str, containers=(), interval: float = 2.0) -> T:
    """Call ``check`` until it returns a truthy value (returned) or ``timeout`` seconds pass.

    ``containers`` are (name, container) pairs that must keep running: one that exits ends the
    wait at once. Exceptions from ``check`` count as "not yet"; the last one is named in the
    CassandraWaitError, followed by the log tail of each container.
    """
    deadline = time.monotonic() + timeout
    last = "no attempt finished"

    def fail(reason: str):
        tails = "".join(f"\n--- last log lines of {name} ---\n{log_tail(c)}" for name, c in containers)
        return CassandraWaitError(f"{what}: {reason}; last: {last}{tails}")

    while True:
        exited = [(name, code) for name, c in containers if (code := _exit_code(c)) is not None]
        if exited:
            raise fail(", ".join(f"{name} exited with code {code}" for name, code in exited))
        try:
            value = check()
            if value:
                return value
            last = f"not yet (got {value!r})"
        except Exception as err:  # any failure of a probe is "not ready yet" until the deadline
            last = f"{type(err).__name__}: {err}"
        if time.monotonic() >= deadline:
            raise fail(f"not within {timeout:.0f}s")
        time.sleep(interval)


def _exit_code(container) -> int | None:
    """The exit code of a container that has stopped, None while it runs (or if it cannot be asked)."""
    try:
        wrapped = container.get_wrapped_container()
        wrapped.reload()
    except Exception:  # gone or engine hiccup: let the wait's own probe report it
        return None
    state = wrapped.attrs.get("State", {})
    return None if state.get("Running") or state.get("Restarting") else int(state.get("ExitCode", -1))


def cql_query(host: str, port: int = CQL_PORT, query: str = "SELECT release_version FROM system.local",
              *, timeout: float = 10.0):
    """Run one query on one node through a fresh driver connection (whitelisted to that node); return rows."""
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import WhiteListRoundRobinPolicy

    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([host]), request_timeout=timeout)
    cluster = Cluster([(host, port)], execution_profiles={EXEC_PROFILE_DEFAULT: profile},
                      connect_timeout=timeout, control_connection_timeout=timeout, protocol_version=5)
    try:
        return list(cluster.connect().execute(query))
    finally:
        cluster.shutdown()


def docker_exec(container, argv: list[str], *, timeout: float = 60) -> str:
    """stdout of ``docker exec <container> argv``; raises CommandError on failure or timeout."""
    return _runner().output(["docker", "exec", container.get_wrapped_container().id, *argv], timeout=timeout)


def parse_nodetool_status(text: str) -> dict[str, str]:
    """``nodetool status`` output -> {address: "UN" | "DN" | "UJ" | ...}."""
    states = {}
    for line in text.splitlines():
        match = re.match(r"^([UD][NLJM])\s+(\S+)\s", line)
        if match:
            states[match.group(2)] = match.group(1)
    return states



def _cassandra_container(image: str, name: str, *, env: dict[str, str], startup_timeout: float) -> CassandraContainer:
    container = CassandraContainer(image).with_name(name)
    for key, value in {**SMALL_HEAP, **env}.items():
        container.with_env(key, value)
    return container.waiting_for(LogMessageWaitStrategy("Startup complete").with_startup_timeout(startup_timeout))


def _start(container, name: str) -> None:
    """``container.start()``, turning testcontainers' startup failures into a CassandraWaitError."""
    try:
        container.start()
    except Exception as err:  # TimeoutError, RuntimeError (exited early), docker APIError
        raise CassandraWaitError(f"{name} did not log 'Startup complete': {type(err).__name__}: "
                                 f"{str(err).splitlines()[0] if str(err) else ''}"
                                 f"\n--- last log lines of {name} ---\n{log_tail(container)}") from err


def _stop_container(container, timeout: float) -> int:
    """``docker stop`` (SIGTERM, then SIGKILL after ``timeout``); returns the exit code."""
    wrapped = container.get_wrapped_container()
    wrapped.stop(timeout=int(timeout))
    wrapped.reload()
    return int(wrapped.attrs["State"]["ExitCode"])


class SingleNode:
    """One Cassandra node through testcontainers' CassandraContainer.

    Attributes:
        host, port: where the host reaches CQL: ``127.0.0.1`` and a host port chosen at start and
            kept across ``stop()``/``start()``.
        contact_points: ``[(host, port)]``, tuples as ``cassandra.cluster.Cluster(contact_points=...)`` takes.
        seeds: ``"host:port"``, the CASSANDRA_SEEDS form the writer reads.
        container: the testcontainers ``CassandraContainer``.
        local_dc: the node's datacenter, for ``DCAwareRoundRobinPolicy(local_dc=...)``.
        startup_seconds: time from ``docker run`` to the first answered CQL query.
    """

    def __init__(self, image: str, *, volume: str | None = None, env: dict[str, str] | None = None,
                 startup_timeout: float = 240):
        self.name = f"{NAME_PREFIX}-{uuid.uuid4().hex[:8]}"
        self.host = "127.0.0.1"
        self.port = free_port()
        self.local_dc = LOCAL_DC
        self.startup_timeout = startup_timeout
        self.startup_seconds: float | None = None
        # testcontainers pins -Dcassandra.initial_token=0: one token. Saying num_tokens=1 to match lets
        # the node restart; with the image's 16 it refuses ("Cannot change the number of tokens from 1 to 16").
        env = {"CASSANDRA_NUM_TOKENS": "1", **(env or {})}
        self.container = _cassandra_container(image, self.name, env=env, startup_timeout=startup_timeout)
        # A fixed host port: a random one would change on every restart of the container.
        self.container.with_bind_ports(CQL_PORT, self.port)
        if volume:
            self.container.with_volume_mapping(volume, "/var/lib/cassandra", mode="rw")

    @property
    def contact_points(self) -> list[tuple[str, int]]:
        return [(self.host, self.port)]

    @property
    def seeds(self) -> str:
        return f"{self.host}:{self.port}"

    def launch(self) -> SingleNode:
        """docker run, then wait until CQL answers; removes the container if it never does."""
        began = time.monotonic()
        try:
            _start(self.container, self.name)
            self.wait_cql(self.startup_timeout)
        except BaseException:
            self.remove()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def wait_cql(self, timeout: float = 120) -> None:
        """Wait until a CQL query through ``host:port`` succeeds."""
        wait_until(lambda: cql_query(self.host, self.port), timeout=timeout, what=f"CQL on {self.seeds} ({self.name})",
                   containers=[(self.name, self.container)], interval=1.0)

    def stop(self, timeout: float = 60) -> int:
        """``docker stop`` the container (SIGTERM; SIGKILL after ``timeout``); returns its exit code."""
        return _stop_container(self.container, timeout)

    def start(self, timeout: float = 180) -> None:
        """Start the same container again (same data, same host port) and wait for CQL."""
        self.container.get_wrapped_container().start()
        self.wait_cql(timeout)

    def exec(self, argv: list[str], *, timeout: float = 60) -> str:
        """stdout of a command run inside the container (``nodetool``, ``cqlsh``)."""
        return docker_exec(self.container, argv, timeout=timeout)

    def remove(self) -> None:
        """Remove the container and its anonymous volume (a named volume stays)."""
        try:
            self.container.stop()
        except Exception as err:  # cleanup must not mask the test's own failure
            log.warning("failed to remove %s: %s", self.name, err)


@dataclass
class ClusterNode:
    """One member of a Cluster: ``name`` (container name), ``ip`` (fixed for its life), ``container``."""

    name: str
    ip: str
    container: CassandraContainer


class Cluster:
    """N Cassandra nodes on their own Docker network, node 0 the seed, joined one at a time.

    Node indices ``i`` are positions in ``nodes`` (0 is the seed). IPs are fixed: a restarted node
    keeps its address, as a StatefulSet pod keeps its name. The host reaches each node at ``ip:9042``
    through the Docker bridge.

    Attributes:
        nodes: list of ClusterNode.
        contact_points: ``[(ip, 9042), ...]`` tuples for ``cassandra.cluster.Cluster(contact_points=...)``.
        seeds: ``"ip1,ip2,ip3"``, the CASSANDRA_SEEDS form the writer reads.
        local_dc: the datacenter of every node.
        startup_seconds: time from the first ``docker run`` to every node ``UN``.
    """

    def __init__(self, image: str, size: int = 3, *, cluster_name: str = "lab-cluster",
                 node_timeout: float = 300):
        self.image = image
        self.size = size
        self.cluster_name = cluster_name
        self.node_timeout = node_timeout
        self.local_dc = LOCAL_DC
        self.prefix = f"{NAME_PREFIX}-{uuid.uuid4().hex[:6]}"
        self.nodes: list[ClusterNode] = []
        self.network: Network | None = None
        self.startup_seconds: float | None = None

    @property
    def contact_points(self) -> list[tuple[str, int]]:
        return [(node.ip, CQL_PORT) for node in self.nodes]

    @property
    def seeds(self) -> str:
        return ",".join(node.ip for node in self.nodes)

    def launch(self) -> Cluster:
        """Create the network, start the nodes one by one, and wait until all are UN."""
        began = time.monotonic()
        try:
            subnet = self._create_network()
            base = subnet.rsplit(".", 1)[0]
            seed_ip = f"{base}.10"
            for i in range(self.size):
                self._start_node(i, f"{base}.{10 + i}", seed_ip)
            self.wait_all_up(self.node_timeout)
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _create_network(self) -> str:
        """A network with a subnet of our choosing: fixed IPs are only allowed on such networks."""
        last_error: Exception | None = None
        for third in random.sample(range(16, 250), 12):
            subnet = f"10.213.{third}.0/24"
            ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=subnet)])
            network = Network(docker_network_kw={"ipam": ipam})
            network.name = f"{self.prefix}-net"
            try:
                self.network = network.create()
                return subnet.split("/")[0]
            except docker.errors.APIError as err:  # overlaps another network: try another subnet
                last_error = err
        raise CassandraWaitError(f"failed to create a Docker network for the cluster: {last_error}")

    def _start_node(self, i: int, ip: str, seed_ip: str) -> None:
        name = f"{self.prefix}-{i + 1}"
        env = {"CASSANDRA_SEEDS": seed_ip, "CASSANDRA_CLUSTER_NAME": self.cluster_name, "JVM_OPTS": CLUSTER_JVM_OPTS}
        container = _cassandra_container(self.image, name, env=env, startup_timeout=self.node_timeout)
        container.with_network(self.network).with_network_aliases(name)
        # Overrides testcontainers' endpoint config, which has no fixed address.
        container.with_kwargs(networking_config={self.network.name: EndpointConfig(
            docker.constants.DEFAULT_DOCKER_API_VERSION, aliases=[name], ipv4_address=ip)})
        node = ClusterNode(name=name, ip=ip, container=container)
        self.nodes.append(node)
        log.info("starting %s at %s", name, ip)
        _start(container, name)
        self.wait_up(i, self.node_timeout)

    def _containers(self):
        return [(node.name, node.container) for node in self.nodes]

    def _running(self, i: int) -> bool:
        wrapped = self.nodes[i].container.get_wrapped_container()
        wrapped.reload()
        return wrapped.status == "running"

    def status(self, via: int | None = None) -> dict[str, str]:
        """``nodetool status`` as seen by node ``via`` (default: the first running node): {ip: "UN"/"DN"/...}."""
        if via is None:
            via = next((i for i in range(len(self.nodes)) if self._running(i)), None)
            if via is None:
                raise CassandraWaitError("no cluster node is running to ask for nodetool status")
        return parse_nodetool_status(docker_exec(self.nodes[via].container, ["nodetool", "status"], timeout=90))

    def kill(self, i: int) -> None:
        """SIGKILL node ``i`` (no drain, no flush: a crash)."""
        self.nodes[i].container.get_wrapped_container().kill()

    def stop(self, i: int, timeout: float = 60) -> int:
        """``docker stop`` node ``i`` (SIGTERM, SIGKILL after ``timeout``); returns its exit code."""
        return _stop_container(self.nodes[i].container, timeout)

    def start(self, i: int) -> None:
        """Start node ``i``'s container again: same IP, same data. Does not wait; see ``wait_up``."""
        self.nodes[i].container.get_wrapped_container().start()

    def wait_up(self, i: int, timeout: float = 180) -> None:
        """Wait until node ``i`` answers CQL and another running node (if any) sees it ``UN``."""
        node = self.nodes[i]

        def up() -> bool:
            cql_query(node.ip)
            others = [j for j in range(len(self.nodes)) if j != i and self._running(j)]
            return self.status(via=others[0] if others else i).get(node.ip) == "UN"

        wait_until(
            up, timeout=timeout, what=f"{node.name} ({node.ip}) up and UN", containers=[(node.name, node.container)]
        )

    def wait_down(self, i: int, timeout: float = 60) -> None:
        """Wait until the other nodes see node ``i`` as down (DN), so coordinators stop choosing it."""
        node = self.nodes[i]
        others = [j for j in range(len(self.nodes)) if j != i]
        wait_until(lambda: all(self.status(via=j).get(node.ip) == "DN" for j in others if self._running(j)),
                   timeout=timeout, what=f"{node.name} ({node.ip}) seen DN",
                   containers=[(self.nodes[j].name, self.nodes[j].container) for j in others if self._running(j)])

    def wait_all_up(self, timeout: float = 300) -> None:
        """Wait until every node answers CQL and every node sees all ``size`` nodes ``UN``."""
        def all_up() -> bool:
            for i, node in enumerate(self.nodes):
                cql_query(node.ip)
                states = self.status(via=i)
                if len(states) != len(self.nodes) or set(states.values()) != {"UN"}:
                    return False
            return True

        wait_until(all_up, timeout=timeout, what=f"all {len(self.nodes)} nodes UN", containers=self._containers())

    def close(self) -> None:
        """Remove every node (and its anonymous volume) and the network."""
        for node in self.nodes:
            try:
                node.container.stop()
            except Exception as err:  # keep removing the rest
                log.warning("failed to remove %s: %s", node.name, err)
        if self.network is not None:
            try:
                self.network.remove()
            except Exception as err:
                log.warning("failed to remove network %s: %s", self.network.name, err)
