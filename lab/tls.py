"""TLS on the wire: the lab's CA and one certificate per Cassandra node, in two Secrets.

With ``lab.security.tls`` on (the default) CQL (9042) speaks only TLS and the nodes encrypt their traffic on 7000
and authenticate each other with these certificates (cassandra.yml: JVM_OPTS and the init container ``setup``).
``invoke deploy`` makes them once and never regenerates what exists, as it does the passwords (lab/auth.py):

- Secret ``cassandra-tls-ca``: the CA's key and certificate. No pod mounts it: only deploy and scale read it,
  to sign a node's certificate (a pod that could read it could mint certificates for any node).
- Secret ``cassandra-tls``: ``ca.pem`` (what clients trust) and ``node-N.pem`` per ordinal N, the node's key
  and certificate in one PEM file, as Cassandra's PEMBasedSslContextFactory reads a keystore. The init container
  of pod cassandra-N copies its own; writer.yml mounts only ``ca.pem``.

A node's certificate names the pod's stable DNS names (cassandra-N.cassandra-service...) and is valid for both
server and client authentication: internode connections require a client certificate (require_client_auth).
Clients verify the chain against the CA but not the host name: they reach nodes by pod IP (the driver learns
them from system.peers), which changes at every restart, and a certificate cannot name an address not known
when it was made. The CA is what proves a node is the lab's.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lab import files, kubectl, manifests, names, progress
from lab.config import ROOT
from lab.errors import CommandError, LabError
from lab.kubectl import Kubectl
from lab.runner import Runner

SECRET = "cassandra-tls"
CA_SECRET = "cassandra-tls-ca"
CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
#: The key of node N's file (key and certificate) in SECRET.
NODE_FILE = re.compile(r"^node-(\d+)\.pem$")

#: The CA outlives any lab (a changed CA rolls every pod); a node's certificate too: nothing renews them.
CA_DAYS = 3650
NODE_DAYS = 3650

#: The pod-template annotation that carries the CA's checksum: a new CA rolls the pods (a node added to the Secret
#: does not: the pods already running have their own file and trust the same CA).
CHECKSUM_ANNOTATION = "ece573-prj04/cassandra-tls-checksum"

#: Where cassandra.yml's init container mounts SECRET, and where it copies the pod's own files (the writable
#: config dir, /etc/cassandra in the server container).
MOUNT = "/etc/cassandra-tls"
KEYSTORE = "/etc/cassandra/tls/node.pem"
TRUSTSTORE = "/etc/cassandra/tls/ca.pem"
#: The Secret volume and its mount in cassandra.yml; writer.yml's volume of ca.pem.
VOLUME = "tls"
WRITER_CA_PATH = f"{MOUNT}/{CA_CERT}"  # writer.yml mounts the Secret at the same place
#: The writers' one setting (writer/config.py, and any writer of your own): the CA's PEM file.
CA_VAR = "CASSANDRA_TLS_CA"

#: cassandra.yml's JVM_OPTS flags of TLS (Cassandra's cassandra.settings.* overrides): dropped when tls is off.
_FLAG = re.compile(r"\s*-Dcassandra\.settings\.(?:client|server)_encryption_options\.\S+")
#: CQL's choice between TLS only (the lab: false) and TLS or plaintext on the same port (the bench: true).
CQL_OPTIONAL = "-Dcassandra.settings.client_encryption_options.optional"


# -- certificates --------------------------------------------------------------------------------------------

def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _key() -> ec.EllipticCurvePrivateKey:
    # P-256: what Java, Python's ssl and Go all accept, and a handshake far cheaper than RSA's
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    # PKCS#8, unencrypted: Cassandra's PEM reader takes it without a password; the Secret is what protects it
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_ca(common_name: str = f"{names.CLUSTER_NAME} lab CA") -> dict[str, str]:
    """A new self-signed CA: {CA_KEY: its key, CA_CERT: its certificate}, both PEM."""
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return {CA_KEY: _key_pem(key), CA_CERT: _cert_pem(cert)}


def node_dns_names(ordinal: int, namespace: str) -> list[str]:
    """The names pod cassandra-N answers to: its headless-Service record, short and fully qualified."""
    pod = f"{names.CASSANDRA_STATEFULSET}-{ordinal}"
    service = "cassandra-service"
    return [f"{pod}.{service}.{namespace}.svc.cluster.local", f"{pod}.{service}.{namespace}.svc",
            f"{pod}.{service}.{namespace}", f"{pod}.{service}", pod, "localhost"]


def make_node(ca: dict[str, str], ordinal: int, namespace: str) -> str:
    """Node ``ordinal``'s key and certificate, signed by ``ca``, as one PEM file (the key first)."""
    ca_key = serialization.load_pem_private_key(ca[CA_KEY].encode(), password=None)
    ca_cert = x509.load_pem_x509_certificate(ca[CA_CERT].encode())
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise LabError(f"Secret {CA_SECRET} holds a CA key that is not the lab's (EC P-256)")
    key = _key()
    dns = node_dns_names(ordinal, namespace)
    now = _now()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=NODE_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            # both: a node serves CQL and 7000 (server) and opens 7000 to its peers with a certificate (client)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _key_pem(key) + _cert_pem(cert)


def node_key(ordinal: int) -> str:
    return f"node-{ordinal}.pem"


def with_nodes(ca: dict[str, str], existing: dict[str, str], ordinals: int, namespace: str) -> dict[str, str]:
    """SECRET's data: ``existing`` as it is, plus ca.pem and node files for the ordinals below ``ordinals`` that
    it lacks. Nothing present is ever replaced: a node keeps its certificate across re-deploys."""
    data = dict(existing)
    data.setdefault(CA_CERT, ca[CA_CERT])
    for ordinal in range(ordinals):
        if node_key(ordinal) not in data:
            data[node_key(ordinal)] = make_node(ca, ordinal, namespace)
    return data


def checksum(ca_cert: str) -> str:
    """What rolls the pods: the CA they trust (not the node files: adding one changes no running pod)."""
    return hashlib.sha256(ca_cert.encode()).hexdigest()


# -- the manifests -------------------------------------------------------------------------------------------

def without_tls(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """cassandra.yml or writer.yml as the lab ran before TLS (lab.security.tls off): no encryption flags in
    Cassandra's JVM_OPTS, no CASSANDRA_TLS_CA in a writer, no Secret volume or mount. The init container finds no
    ca.pem and writes no cqlsh TLS settings."""
    out = manifests.render(docs)  # a copy
    for doc in out:
        if doc.get("kind") not in manifests.WORKLOAD_KINDS:
            continue
        spec = doc.get("spec", {}).get("template", {}).get("spec", {})
        if "volumes" in spec:
            spec["volumes"] = [v for v in spec["volumes"] or [] if v.get("name") != VOLUME]
        for container in manifests.containers(doc, init=True):
            if "volumeMounts" in container:
                container["volumeMounts"] = [m for m in container["volumeMounts"] or [] if m.get("name") != VOLUME]
            if "env" not in container:
                continue
            container["env"] = [var for var in container["env"] or [] if var.get("name") != CA_VAR]
            for var in container["env"]:
                if var.get("name") == "JVM_OPTS" and "value" in var:
                    var["value"] = _FLAG.sub("", var["value"]).strip()
    return out


def flags(jvm_opts: str) -> list[str]:
    """The TLS flags of a JVM_OPTS (cassandra.yml's), in order."""
    return [flag.strip() for flag in _FLAG.findall(jvm_opts)]


def manifest_flags(path: Path = ROOT / "cassandra.yml") -> list[str]:
    """The TLS flags of cassandra.yml's JVM_OPTS: the one list of them, which the lab's pods start with and the
    one-node Cassandras of the bench and the tests read from here."""
    docs = manifests.load_all(path)
    found = flags(manifests.env_value(docs, names.CASSANDRA_CONTAINER, "JVM_OPTS"))
    if not found:
        raise LabError(f"{path.name}: container {names.CASSANDRA_CONTAINER}'s JVM_OPTS has no TLS flags")
    return found


def cql_optional(tls_flags: list[str]) -> list[str]:
    """``tls_flags`` with CQL (9042) serving TLS and plaintext clients alike (client_encryption_options.optional
    true): one node, both kinds of client. Internode (7000) as the flags have it."""
    optional = f"{CQL_OPTIONAL}=true"
    out = [optional if flag.startswith(CQL_OPTIONAL + "=") else flag for flag in tls_flags]
    return out if optional in out else [*out, optional]


def with_checksum(docs: list[dict[str, Any]], ca_cert: str | None) -> list[dict[str, Any]]:
    """``docs`` with CHECKSUM_ANNOTATION on every workload's pod template when ``ca_cert`` is given (tls on)."""
    return manifests.with_annotation(docs, CHECKSUM_ANNOTATION, checksum(ca_cert) if ca_cert else None)


def on_in(statefulset: dict[str, Any] | None) -> bool | None:
    """Whether the Cassandra StatefulSet (``kubectl get -o json``) serves CQL over TLS; None when unknown."""
    if not statefulset:
        return None
    opts = next((v.get("value", "") for c in manifests.containers(statefulset)
                 if c.get("name") == names.CASSANDRA_CONTAINER
                 for v in c.get("env") or [] if v.get("name") == "JVM_OPTS"), "")
    return "client_encryption_options.enabled=true" in (opts or "")


def describe(on: bool | None) -> str:
    """One line for `invoke status`: whether the wire is encrypted, as deployed."""
    if on is None:
        return "TLS: unknown (no StatefulSet cassandra yet)"
    if not on:
        return ("TLS: off (lab.security.tls): CQL and the nodes' traffic are plaintext on the pod network, "
                "passwords included")
    return (f"TLS: on: CQL (9042) only over TLS, the nodes' traffic (7000) encrypted with node certificates both ways; "
            f"writers trust the lab's CA from Secret {SECRET} ({CA_VAR})")


# -- the Secrets ---------------------------------------------------------------------------------------------

def _decoded(secret: dict[str, Any] | None) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in ((secret or {}).get("data") or {}).items()}


def _store(runner: Runner, kube: Kubectl, name: str, data: dict[str, str]) -> None:
    """Create or update Secret ``name`` with ``data`` from a file only this user can read, deleted at once: the
    keys never appear on a command line. Server-side apply: no copy of the data in an annotation."""
    doc = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
           "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": names.CLUSTER_NAME}},
           "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}}
    with tempfile.TemporaryDirectory(prefix="lab-tls-") as folder:
        path = os.path.join(folder, f"{name}.yml")
        files.write_new(path, yaml.safe_dump(doc))
        argv = kube.base() + ["apply", "--filename", path, "--server-side", "--force-conflicts",
                              "--field-manager=lab-tls"]
        try:
            runner.run(argv, hide=True, timeout=60)
        except CommandError as err:
            raise LabError(f"failed to store Secret {name}: {err}") from err


def ensure(runner: Runner, kube: Kubectl, ordinals: int, namespace: str) -> str:
    """The CA and node files for ordinals 0..``ordinals``-1, made where missing (never replaced); returns the CA's
    certificate (for the checksum)."""
    if runner.dry:
        progress.info(f"(dry run) would create Secrets {CA_SECRET} and {SECRET} (a CA, {ordinals} node certificates) "
                      "unless they exist, and add any node certificate missing")
        return "<ca.pem>"
    ca = _decoded(kubectl.get_json(runner, kube, "secret", CA_SECRET))
    if not ca.get(CA_KEY) or not ca.get(CA_CERT):
        ca = make_ca()
        _store(runner, kube, CA_SECRET, ca)
    existing = _decoded(kubectl.get_json(runner, kube, "secret", SECRET))
    if existing.get(CA_CERT) not in (None, ca[CA_CERT]):
        raise LabError(f"Secret {SECRET}'s ca.pem is not the CA of Secret {CA_SECRET}; delete both "
                       f"(kubectl delete secret {SECRET} {CA_SECRET}) and deploy again: every pod then rolls")
    data = with_nodes(ca, existing, ordinals, namespace)
    if data != existing:
        _store(runner, kube, SECRET, data)
    return ca[CA_CERT]
