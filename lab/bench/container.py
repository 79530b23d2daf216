"""A Cassandra container of the benchmark's own: one node, its CQL port on 127.0.0.1, removed afterwards.

With ``tls_dir`` (files from ``write_tls_files``) the node serves CQL with TLS *optional*: cassandra.yml's TLS
flags (lab/tls.py reads them there) with client_encryption_options.optional=true, so a plaintext client and a
TLS client reach the same node on the same port, and the bench measures the writer both ways in one run.
"""

from __future__ import annotations

import posixpath
import shlex
import time
import uuid
from pathlib import Path

from lab import commitlog, docker, tls
from lab.errors import LabError
from lab.net import free_port
from lab.runner import Runner

#: Where the node's key and certificate and the CA are, as cassandra.yml's flags name them (keystore, truststore).
_TLS_DIR = posixpath.dirname(tls.KEYSTORE)


def write_tls_files(folder: Path) -> Path:
    """A CA of this run's own and node 0's key and certificate, named as the flags name them, in ``folder``;
    returns the CA's file (what a TLS client trusts: CASSANDRA_TLS_CA)."""
    ca = tls.make_ca("lab bench CA")
    files = {posixpath.basename(tls.KEYSTORE): tls.make_node(ca, 0, "default"),
             posixpath.basename(tls.TRUSTSTORE): ca[tls.CA_CERT]}
    for name, text in files.items():
        (folder / name).write_text(text)
        # readable by the image's cassandra user (uid 999, "other" here): a throwaway CA that signed only this
        # node, trusted by nothing but this run's writer, gone with the folder
        (folder / name).chmod(0o644)
    folder.chmod(0o755)
    return folder / posixpath.basename(tls.TRUSTSTORE)


def tls_jvm_opts() -> str:
    """JVM_OPTS of a node that serves CQL with TLS optional: the lab's TLS flags with optional=true.

    The plaintext path is the one a node without TLS runs: with optional=true Cassandra puts one decoder first in
    each new CQL connection's pipeline that peeks at its first 5 bytes; a TLS handshake swaps it for the TLS
    handler, anything else removes it (netty's SslHandler.isEncrypted, Cassandra's PipelineConfigurator). After
    the first bytes a plaintext connection has the pipeline of a node without TLS: per connection, not per
    request, and the writer keeps its connections.
    """
    return " ".join([commitlog.ALLOW, *tls.cql_optional(tls.manifest_flags())])


def start_cassandra(runner: Runner, image: str, *, timeout: float = 300, jvm_opts: str = "",
                    tls_dir: Path | None = None) -> tuple[str, list[tuple[str, int]]]:
    """``docker run`` one node with its CQL port on 127.0.0.1; wait until it answers. Returns (name, points).
    ``jvm_opts``: the container's JVM_OPTS (a commitlog_sync mode's flags, lab.bench.commitlog); ``tls_dir``:
    serve CQL with TLS optional, the files of ``write_tls_files`` there."""
    from cassandra.cluster import Cluster  # slow to import: see lab.bench.session

    name = f"ece573-bench-{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {"MAX_HEAP_SIZE": "1G", "HEAP_NEWSIZE": "256M", "CASSANDRA_CLUSTER_NAME": "ece573-bench"}
    opts = " ".join(part for part in (jvm_opts, tls_jvm_opts() if tls_dir else "") if part)
    if opts:
        env["JVM_OPTS"] = opts
    runner.run(docker.run_detached_args(image, name=name, env=env, publish=[f"127.0.0.1:{port}:9042"],
                                        **(_tls_mount(tls_dir) if tls_dir else {})), hide=True, timeout=120)
    points = [("127.0.0.1", port)]
    deadline = time.monotonic() + timeout
    while True:
        cluster = Cluster(points, connect_timeout=5)  # plaintext, like the bench's own sessions (TLS is optional)
        try:
            cluster.connect().execute("SELECT release_version FROM system.local")
            return name, points
        except Exception as err:  # noqa: BLE001 - not up yet, until the deadline
            if time.monotonic() > deadline:
                stop_cassandra(runner, name)
                raise LabError(f"Cassandra from {image} did not answer CQL within {timeout:.0f} s: {err}") from err
        finally:
            cluster.shutdown()
        time.sleep(3)


def _tls_mount(tls_dir: Path) -> dict:
    """``docker run`` arguments that give the node ``tls_dir``'s files where the flags look: mounted read-only
    where a pod mounts its Secret, then copied into the config dir before the image's own entrypoint runs (as the
    lab's init container does). A mount straight into the config dir would not do: the official image's
    entrypoint, as root, chowns everything there, which fails on a read-only mount."""
    start = (f"mkdir -p {_TLS_DIR} && cp {shlex.quote(tls.MOUNT)}/* {_TLS_DIR}/ "
             "&& exec docker-entrypoint.sh cassandra -f")
    return {"volumes": [f"{tls_dir}:{tls.MOUNT}:ro"], "entrypoint": "bash", "args": ["-c", start]}


def stop_cassandra(runner: Runner, name: str) -> None:
    runner.probe(docker.remove_args(name), timeout=120)
