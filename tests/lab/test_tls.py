"""lab/tls.py: the lab's CA and the nodes' certificates (names, usages, a chain Python's ssl verifies in a real
handshake), the Secrets kept rather than regenerated, and cassandra.yml and writer.yml rendered with TLS on and off."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from lab import manifests, names, tls, workflow
from lab.config import ROOT
from lab.errors import LabError
from tests.lab.labfakes import FakeCtx, make_lab, secret_json, tls_rules, tls_secrets

CA = tls.make_ca()


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def test_a_node_certificate_names_the_pods_stable_names_and_serves_both_ends():
    node = _cert(tls.make_node(CA, 2, "lab-ns"))
    sans = node.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sans[:4] == ["cassandra-2.cassandra-service.lab-ns.svc.cluster.local",
                        "cassandra-2.cassandra-service.lab-ns.svc", "cassandra-2.cassandra-service.lab-ns",
                        "cassandra-2.cassandra-service"]
    usages = node.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert node.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    ca = _cert(CA[tls.CA_CERT])
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    node.verify_directly_issued_by(ca)  # raises unless the CA's key signed it
    with pytest.raises(Exception):  # noqa: B017 - any CA but the lab's: InvalidSignature or ValueError
        node.verify_directly_issued_by(_cert(tls.make_ca("another")[tls.CA_CERT]))


def test_the_node_file_holds_its_key_then_its_certificate_and_they_belong_together():
    pem = tls.make_node(CA, 0, "default")
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted: what Cassandra's PEM reader takes
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert key.public_key() == _cert(pem[pem.index("-----BEGIN CERTIFICATE"):]).public_key()


def test_pythons_ssl_completes_a_handshake_with_a_node_verifying_it_against_the_ca(tmp_path):
    """A real handshake, as the writer does it: the node's chain against the CA, no host name; mutual, as 7000."""
    node_file, ca_file = tmp_path / "node.pem", tmp_path / "ca.pem"
    node_file.write_text(tls.make_node(CA, 1, "default"))
    ca_file.write_text(CA[tls.CA_CERT])
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(node_file)
    server.load_verify_locations(ca_file)
    server.verify_mode = ssl.CERT_REQUIRED  # require_client_auth, as between nodes
    client = ssl.create_default_context(cafile=ca_file)
    client.check_hostname = False
    client.load_cert_chain(node_file)
    left, right = socket.socketpair()
    seen: dict = {}

    def serve():
        with server.wrap_socket(right, server_side=True) as conn:
            seen["client"] = conn.getpeercert()
            conn.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    with client.wrap_socket(left) as conn:
        assert conn.recv(2) == b"ok"
        peer = conn.getpeercert()
    thread.join(10)
    common_name = dict(x[0] for x in peer["subject"])["commonName"]
    assert common_name == "cassandra-1.cassandra-service.default.svc.cluster.local"
    assert seen["client"]["subject"] == peer["subject"]


def test_with_nodes_adds_only_what_is_missing_and_never_replaces_a_file():
    first = tls.with_nodes(CA, {}, 3, "default")
    assert sorted(first) == ["ca.pem", "node-0.pem", "node-1.pem", "node-2.pem"]
    grown = tls.with_nodes(CA, first, 5, "default")
    assert {k: grown[k] for k in first} == first
    assert sorted(set(grown) - set(first)) == ["node-3.pem", "node-4.pem"]
    assert tls.with_nodes(CA, grown, 2, "default") == grown  # fewer nodes: nothing removed


def _ensure(project, rules, monkeypatch, ordinals):
    stored: list[tuple[str, dict]] = []
    monkeypatch.setattr(tls, "_store", lambda runner, kube, name, data: stored.append((name, dict(data))))
    lab = make_lab(project, FakeCtx(list(rules)))
    return tls.ensure(lab.runner, lab.kube, ordinals, "default"), stored


def test_ensure_keeps_the_ca_and_the_nodes_and_adds_a_grown_rings_certificates(project, monkeypatch):
    ca, nodes = tls_secrets(3)
    cert, stored = _ensure(project, tls_rules(3), monkeypatch, 3)
    assert cert == ca[tls.CA_CERT] and stored == []  # a re-deploy: nothing made, nothing written
    cert, stored = _ensure(project, tls_rules(3), monkeypatch, 4)
    [(name, data)] = stored
    assert name == tls.SECRET and cert == ca[tls.CA_CERT]
    assert {k: data[k] for k in nodes} == nodes and sorted(set(data) - set(nodes)) == ["node-3.pem"]
    _cert(data["node-3.pem"][data["node-3.pem"].index("-----BEGIN CERTIFICATE"):]).verify_directly_issued_by(
        _cert(ca[tls.CA_CERT]))


def test_ensure_on_a_new_lab_makes_the_ca_then_the_nodes(project, monkeypatch):
    absent = ('Error from server (NotFound): secrets "x" not found', 1)
    cert, stored = _ensure(project, [("get secret", absent)], monkeypatch, 3)
    assert [name for name, _ in stored] == [tls.CA_SECRET, tls.SECRET]
    assert stored[0][1][tls.CA_CERT] == cert == stored[1][1][tls.CA_CERT]
    assert sorted(stored[1][1]) == ["ca.pem", "node-0.pem", "node-1.pem", "node-2.pem"]
    assert tls.CA_KEY not in stored[1][1]  # the CA's key stays in the Secret no pod mounts


def test_ensure_refuses_node_certificates_of_another_ca(project, monkeypatch):
    _ca, nodes = tls_secrets(3)
    other = tls.make_ca("another")
    rules = [(r"get secret cassandra-tls-ca --output json", secret_json(other)),
             (r"get secret cassandra-tls --output json", secret_json(nodes))]
    with pytest.raises(LabError, match=r"^Secret cassandra-tls's ca.pem is not the CA of Secret cassandra-tls-ca; "
                                       r"delete both"):
        _ensure(project, rules, monkeypatch, 3)


# -- the manifests ---------------------------------------------------------------------------------------------

def _statefulset(docs):
    return manifests.find(docs, "StatefulSet", names.CASSANDRA_STATEFULSET)


def _env(container) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def test_the_checked_in_manifests_encrypt_cql_and_internode_with_the_labs_files():
    cass = manifests.load_all(ROOT / "cassandra.yml")
    opts = manifests.env_value(cass, names.CASSANDRA_CONTAINER, "JVM_OPTS")
    flags = dict(f.removeprefix("-Dcassandra.settings.").split("=", 1) for f in tls.flags(opts))
    assert flags["client_encryption_options.enabled"] == "true"
    assert flags["client_encryption_options.optional"] == "false"  # TLS only: a plaintext client is refused
    assert flags["server_encryption_options.internode_encryption"] == "all"
    assert flags["server_encryption_options.optional"] == "false"
    assert flags["server_encryption_options.require_client_auth"] == "true"
    for side in ("client", "server"):
        assert flags[f"{side}_encryption_options.keystore"] == tls.KEYSTORE
        assert flags[f"{side}_encryption_options.truststore"] == tls.TRUSTSTORE
        assert flags[f"{side}_encryption_options.ssl_context_factory.class_name"].endswith(".PEMBasedSslContextFactory")
    pod = _statefulset(cass)["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == tls.VOLUME]
    assert volume["secret"]["secretName"] == tls.SECRET and not volume["secret"].get("optional")
    [init] = pod["initContainers"]
    assert {m["mountPath"] for m in init["volumeMounts"] if m["name"] == tls.VOLUME} == {tls.MOUNT}
    script = init["command"][-1]
    assert f"{tls.MOUNT}/node-$ordinal.pem" in script and "/writable-conf/tls/node.pem" in script
    assert "certfile = /etc/cassandra/tls/ca.pem" in script and "ssl = true" in script
    writer = manifests.containers(manifests.find(manifests.load_all(ROOT / "writer.yml"), "Deployment"))[0]
    assert _env(writer)[tls.CA_VAR] == tls.WRITER_CA_PATH


@pytest.mark.parametrize("on", [True, False])
def test_deploy_renders_tls_on_with_the_cas_checksum_and_off_as_before_tls(project, on):
    from lab import state
    from tests.lab.test_workflow import _deploy_ctx
    state.put(project / ".cache/lab", "writer_image", "w:1")
    ctx = _deploy_ctx()
    workflow.deploy(make_lab(project, ctx, security={"tls": "true" if on else "false"}))
    rendered = project / ".cache/lab/rendered"
    cass = list(yaml.safe_load_all((rendered / "cassandra.yml").read_text()))
    writer = [d for d in yaml.safe_load_all((rendered / "writer.yml").read_text()) if d and d["kind"] == "Deployment"]
    checked_in = manifests.env_value(manifests.load_all(ROOT / "cassandra.yml"), names.CASSANDRA_CONTAINER, "JVM_OPTS")
    opts = manifests.env_value(cass, names.CASSANDRA_CONTAINER, "JVM_OPTS")
    for doc in [_statefulset(cass), *writer]:
        template = doc["spec"]["template"]
        volumes = {v["name"] for v in template["spec"]["volumes"]}
        mounts = {m["name"] for c in manifests.containers(doc, init=True) for m in c.get("volumeMounts") or []}
        annotation = (template["metadata"].get("annotations") or {}).get(tls.CHECKSUM_ANNOTATION)
        if on:
            assert tls.VOLUME in volumes and tls.VOLUME in mounts
            assert annotation == tls.checksum(tls_secrets(3)[0][tls.CA_CERT])
        else:
            assert tls.VOLUME not in volumes and tls.VOLUME not in mounts and annotation is None
    writer_env = _env(manifests.containers(writer[0])[0])
    if on:
        assert tls.flags(opts) == tls.flags(checked_in) and writer_env[tls.CA_VAR] == tls.WRITER_CA_PATH
        assert ctx.matching("get secret cassandra-tls-ca") and ctx.matching("get secret cassandra-tls ")
    else:
        assert tls.flags(opts) == [] and tls.CA_VAR not in writer_env
        assert opts.split() == [f for f in checked_in.split() if f not in tls.flags(checked_in)]
        assert ctx.matching("cassandra-tls") == []


def test_on_in_reads_a_deployed_statefulset():
    cass = manifests.load_all(ROOT / "cassandra.yml")
    assert tls.on_in(_statefulset(cass)) is True
    assert tls.on_in(_statefulset(tls.without_tls(cass))) is False
    assert tls.on_in(None) is None


def test_a_secret_is_applied_server_side_from_a_private_file_never_the_command_line(project, monkeypatch):
    import base64
    import os
    seen: dict = {}
    lab = make_lab(project, FakeCtx([]))

    def run(argv, **_kwargs):
        path = argv[argv.index("--filename") + 1]
        seen.update(argv=argv, path=path, mode=os.stat(path).st_mode & 0o777, doc=yaml.safe_load(open(path)))

    monkeypatch.setattr(lab.runner, "run", run)
    key = tls.make_node(CA, 0, "default")
    tls._store(lab.runner, lab.kube, tls.SECRET, {"node-0.pem": key})
    assert seen["mode"] == 0o600 and not os.path.exists(seen["path"])
    assert "--server-side" in seen["argv"] and not any("PRIVATE KEY" in arg for arg in seen["argv"])
    doc = seen["doc"]
    assert (doc["kind"], doc["metadata"]["name"]) == ("Secret", tls.SECRET)
    assert base64.b64decode(doc["data"]["node-0.pem"]).decode() == key
