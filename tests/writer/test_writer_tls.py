"""TLS on the wire, on a real Cassandra configured as cassandra.yml configures both images: its init container's
script (run verbatim, HOSTNAME cassandra-0, Secret cassandra-tls's files from lab/tls.py mounted where the pod
mounts them) and the TLS flags of its JVM_OPTS. One node for every assertion: CQL refuses a plaintext client and
serves the writer over TLS; 9042 and 7000 hand out a chain the lab's CA verifies; 7000 wants a client certificate;
cqlsh in the container speaks TLS through the cqlshrc the init container wrote."""

from __future__ import annotations

import socket
import ssl
import tempfile
from pathlib import Path

import pytest
from cassandra.cluster import Cluster, NoHostAvailable

from lab import manifests, names, tls
from lab.config import ROOT
from tests.cassandra_nodes import SingleNode, wait_until
from tests.writer.support import assert_no_gap, unique_topic

pytestmark = pytest.mark.slow

KS = "ece573_tls"


def _cassandra_yml() -> list[dict]:
    return manifests.load_all(ROOT / "cassandra.yml")


def setup_script() -> str:
    """The init container's script, as cassandra.yml has it."""
    init = next(c for doc in _cassandra_yml() for c in manifests.containers(doc, init=True)
                if c.get("name") == names.CASSANDRA_INIT_CONTAINER)
    return init["command"][-1]


def tls_flags() -> str:
    return " ".join(tls.manifest_flags())


def client_context(ca: str, *, cert: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca)
    context.check_hostname = False  # as every client of the lab: pod IPs change (lab/tls.py)
    if cert:
        context.load_cert_chain(cert)
    return context


class TlsNode(SingleNode):
    """One node as pod cassandra-0: the setup script fills a tmpfs (the pod's emptyDir ``conf``) from the image's
    /etc/cassandra and the Secret; copied back over /etc/cassandra (what mounting that emptyDir there does), then
    the image's own entrypoint starts Cassandra."""

    def __init__(self, image: str, secret_dir: Path):
        opts = ("-Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.initial_token=0 "
                "-Dcassandra.config.allow_system_properties=true " + tls_flags())
        super().__init__(image, env={"JVM_OPTS": opts, "HOME": "/home/cassandra"})
        self.ca = str(secret_dir / tls.CA_CERT)
        start = (f"set -eu\n{setup_script()}\ncp -R /writable-conf/. /etc/cassandra/\n"
                 "exec docker-entrypoint.sh cassandra -f\n")
        self.container.with_volume_mapping(str(secret_dir), tls.MOUNT, mode="ro")
        self.container.with_kwargs(hostname="cassandra-0", entrypoint=["bash", "-c", start])
        for emptydir in ("/writable-conf", "/home/cassandra"):
            self.container.with_tmpfs_mount(emptydir)

    def wait_cql(self, timeout: float = 120) -> None:
        def answers() -> bool:
            cluster = Cluster(self.contact_points, protocol_version=5, ssl_context=client_context(self.ca),
                              connect_timeout=10)
            try:
                return cluster.connect().execute("SELECT release_version FROM system.local").one() is not None
            finally:
                cluster.shutdown()
        wait_until(answers, timeout=timeout, what=f"CQL over TLS on {self.seeds}",
                   containers=[(self.name, self.container)], interval=2.0)


@pytest.fixture(scope="module")
def secret_dir():
    """Secret cassandra-tls's files as lab/tls.py makes them, readable by the image's cassandra user."""
    with tempfile.TemporaryDirectory(prefix="tls-secret-") as folder:
        data = tls.with_nodes(tls.make_ca(), {}, 1, "default")
        for key, value in data.items():
            path = Path(folder) / key
            path.write_text(value)
            path.chmod(0o644)  # the pod gets them as its fsGroup's (defaultMode 0440); here uid 999 is "other"
        Path(folder).chmod(0o755)
        yield Path(folder)


@pytest.fixture(scope="module")
def tls_node(cassandra_image, secret_dir):
    node = TlsNode(cassandra_image, secret_dir).launch()
    yield node
    node.remove()


def test_cql_refuses_plaintext_and_serves_the_writer_over_tls(tls_node, writers):
    plain = Cluster(tls_node.contact_points, protocol_version=5, connect_timeout=5, control_connection_timeout=5)
    try:
        with pytest.raises(NoHostAvailable) as refused:
            plain.connect()
    finally:
        plain.shutdown()
    assert f"{tls_node.host}:{tls_node.port}" in str(refused.value)
    # The refusal is the server's: a plaintext OPTIONS frame gets no CQL answer, the socket is closed on it.
    with socket.create_connection((tls_node.host, tls_node.port), timeout=10) as raw:
        raw.sendall(bytes([0x04, 0, 0, 1, 0x05, 0, 0, 0, 0]))  # v4 OPTIONS, stream 1, empty body
        reply = raw.recv(64)
    assert reply[:1] != b"\x84", f"a plaintext CQL client got a CQL answer: {reply!r}"

    topic = unique_topic("tls")
    env = {"CASSANDRA_SEEDS": tls_node.seeds, "KEYSPACE": KS, "REPLICATION_FACTOR": "1", "CONSISTENCY": "ONE",
           "TOPIC": topic, "WRITER_MAX_SEQS": "2000", "CASSANDRA_TLS_CA": tls_node.ca}
    writer = writers(env)
    assert writer.wait(120) == 0, writer.tail()
    cluster = Cluster(tls_node.contact_points, protocol_version=5, ssl_context=client_context(tls_node.ca))
    try:
        assert assert_no_gap(cluster.connect(), KS, topic) == 2000
    finally:
        cluster.shutdown()

    # Without the CA the writer's chain check fails: it must not write to a node it cannot verify.
    other_ca = Path(tls_node.ca).with_name("other-ca.pem")
    other_ca.write_text(tls.make_ca("someone else's CA")[tls.CA_CERT])
    stranger = writers({**env, "TOPIC": unique_topic("tls-stranger"), "CASSANDRA_TLS_CA": str(other_ca),
                        "WRITER_STARTUP_BUDGET": "10", "WRITER_MAX_SEQS": "10"})
    stranger.wait_for(r"CERTIFICATE_VERIFY_FAILED|certificate verify failed", timeout=60)
    stranger.kill()


def _handshake(port: int, ca: str, *, cert: str | None = None, host: str = "127.0.0.1") -> str:
    """A TLS handshake from inside the container; prints the peer's CN, then what a first read brings."""
    return (
        "import socket, ssl\n"
        f"c = ssl.create_default_context(cafile={ca!r}); c.check_hostname = False\n"
        + (f"c.load_cert_chain({cert!r})\n" if cert else "")
        + f"s = c.wrap_socket(socket.create_connection(({host!r}, {port}), timeout=10))\n"
        "print(dict(x[0] for x in s.getpeercert()['subject'])['commonName'], s.version())\n"
        "try:\n"
        "    s.settimeout(3); s.recv(1); print('open')\n"
        "except ssl.SSLError as e:\n"
        "    print('refused', e.reason)\n"
        "except (socket.timeout, TimeoutError):\n"
        "    print('open')\n")


def test_both_ports_show_a_chain_the_ca_verifies_and_7000_wants_a_node_certificate(tls_node, secret_dir):
    context = client_context(tls_node.ca)
    with socket.create_connection((tls_node.host, tls_node.port), timeout=10) as raw:
        with context.wrap_socket(raw) as wrapped:
            subject = dict(item[0] for item in wrapped.getpeercert()["subject"])
    assert subject["commonName"] == "cassandra-0.cassandra-service.default.svc.cluster.local"

    address = tls_node.exec(["hostname", "-i"]).split()[0]
    ca, node = tls.TRUSTSTORE, tls.KEYSTORE
    anonymous = tls_node.exec(["python3", "-c", _handshake(7000, ca, host=address)])
    assert anonymous.startswith("cassandra-0.cassandra-service.default.svc.cluster.local TLS"), anonymous
    assert "refused" in anonymous, f"7000 took a peer without a certificate: {anonymous}"
    peer = tls_node.exec(["python3", "-c", _handshake(7000, ca, cert=node, host=address)])
    assert peer.split()[-1] == "open", peer


def test_cqlsh_in_the_node_speaks_tls_through_the_cqlshrc_of_the_init_container(tls_node):
    rc = tls_node.exec(["cat", "/home/cassandra/.cassandra/cqlshrc"])
    assert "ssl = true" in rc and f"certfile = {tls.TRUSTSTORE}" in rc
    out = tls_node.exec(["cqlsh", "-e", "SELECT cluster_name FROM system.local"])
    assert "(1 rows)" in out


def test_the_go_writer_writes_over_tls_with_the_ca_and_dies_without_it(go_writers, tls_node, secret_dir):
    """The tests' stand-in for a student's gocql writer (tests/e2e/gowriter) reads CASSANDRA_TLS_CA as writer.yml
    gives it: the CA mounted where the pod mounts it. Without it, it speaks plaintext and 9042 refuses it."""
    mounted = {str(secret_dir): {"bind": tls.MOUNT, "mode": "ro"}}
    topic = unique_topic("go-tls")
    writer = go_writers(tls_node, mounted, TOPIC=topic, CONSISTENCY="ONE", CASSANDRA_TLS_CA=tls.WRITER_CA_PATH)
    writer.wait_for(rf"{topic}: inserted rows to seq 1000", timeout=120)
    writer.stop()
    cluster = Cluster(tls_node.contact_points, protocol_version=5, ssl_context=client_context(tls_node.ca))
    try:
        assert assert_no_gap(cluster.connect(), "ece573", topic) >= 1000
    finally:
        cluster.shutdown()
    plaintext = go_writers(tls_node, TOPIC=unique_topic("go-plain"), CONSISTENCY="ONE")
    assert plaintext.wait(120) == 1
    assert "Cannot connect to cluster" in plaintext.logs, plaintext.logs[-1500:]
