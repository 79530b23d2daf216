"""(d), the writer over TLS beside (c) in one bench run: the container's flags (cassandra.yml's, CQL made optional),
its PEM files, (d)'s environment, the interleaving, the ratio, the table and the JSON's conditions; then (slow) a
short run against a real TLS-optional node, read back over TLS."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from lab import commitlog, docker, manifests, names, tls
from lab.bench import __main__ as bench_main
from lab.bench import container, rounds
from lab.bench.contenders import tls_env, writer_env
from lab.bench.table import format_table, measurement, summarize, tls_ratio
from lab.config import ROOT

CLIENT = "-Dcassandra.settings.client_encryption_options."
SERVER = "-Dcassandra.settings.server_encryption_options."


def test_the_flags_are_cassandra_ymls_with_cql_made_optional_and_internode_as_the_lab_has_it():
    jvm_opts = manifests.env_value(manifests.load_all(ROOT / "cassandra.yml"), names.CASSANDRA_CONTAINER, "JVM_OPTS")
    lab_flags = tls.manifest_flags()
    assert lab_flags == [f for f in jvm_opts.split() if f.startswith((CLIENT, SERVER))]
    assert f"{CLIENT}optional=false" in lab_flags  # the lab refuses plaintext CQL ...
    optional = tls.cql_optional(lab_flags)
    # ... the bench's node takes both, and nothing else changes: same keystore, truststore, internode TLS
    assert optional == [f"{CLIENT}optional=true" if f == f"{CLIENT}optional=false" else f for f in lab_flags]
    assert f"{SERVER}optional=false" in optional and f"{CLIENT}enabled=true" in optional
    assert tls.cql_optional([f"{CLIENT}enabled=true"]) == [f"{CLIENT}enabled=true", f"{CLIENT}optional=true"]


def test_the_containers_jvm_opts_allow_the_overrides_and_make_cql_optional():
    opts = container.tls_jvm_opts().split()
    assert opts[0] == commitlog.ALLOW
    assert opts[1:] == tls.cql_optional(tls.manifest_flags())
    assert f"{CLIENT}keystore={tls.KEYSTORE}" in opts and f"{CLIENT}truststore={tls.TRUSTSTORE}" in opts


def test_the_tls_files_are_a_node_certificate_its_own_ca_verifies_readable_by_the_image(tmp_path):
    ca_path = container.write_tls_files(tmp_path)
    assert ca_path == tmp_path / Path(tls.TRUSTSTORE).name
    node_path = tmp_path / Path(tls.KEYSTORE).name
    assert {p.name for p in tmp_path.iterdir()} == {ca_path.name, node_path.name}
    assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == {"0o644"}
    assert oct(tmp_path.stat().st_mode & 0o777) == "0o755"
    node = x509.load_pem_x509_certificate(node_path.read_bytes().split(b"-----END PRIVATE KEY-----")[1])
    node.verify_directly_issued_by(x509.load_pem_x509_certificate(ca_path.read_bytes()))
    ssl.create_default_context().load_cert_chain(node_path)  # the key and the certificate belong together


def test_the_files_are_mounted_where_a_pod_mounts_its_secret_and_copied_where_the_flags_look(tmp_path):
    argv = docker.run_detached_args("img:1", name="n", **container._tls_mount(tmp_path))
    assert argv[argv.index("--volume") + 1] == f"{tmp_path}:{tls.MOUNT}:ro"
    assert argv[argv.index("--entrypoint") + 1] == "bash"
    assert argv[-3:-1] == ["img:1", "-c"]
    script = argv[-1]
    assert script == (f"mkdir -p /etc/cassandra/tls && cp {tls.MOUNT}/* /etc/cassandra/tls/ "
                      "&& exec docker-entrypoint.sh cassandra -f")
    assert Path(tls.KEYSTORE).parent == Path(tls.TRUSTSTORE).parent == Path("/etc/cassandra/tls")


def test_d_is_c_with_the_ca_and_c_stays_plaintext_even_from_a_shell_with_a_ca():
    points = [("127.0.0.1", 9042)]
    common = dict(consistency="ONE", replication_factor=1)
    shell = {"PATH": "/bin", tls.CA_VAR: "/somewhere/ca.pem"}
    plain = writer_env(points, "t", None, base=shell, **common)
    over_tls = writer_env(points, "t", None, base=shell, extra_env=tls_env("/run/ca.pem"), **common)
    assert tls.CA_VAR not in plain
    assert over_tls == {**plain, "CASSANDRA_TLS_CA": "/run/ca.pem"}
    assert plain["CASSANDRA_SEEDS"] == "127.0.0.1:9042" and plain["TOPIC"] == "t" and plain["PATH"] == "/bin"


def test_c_and_d_take_turns_going_first():
    assert [rounds.writer_order(r, tls=True) for r in range(3)] == [
        ["writer", "writer_tls"], ["writer_tls", "writer"], ["writer", "writer_tls"]]
    assert rounds.writer_order(1, tls=False) == ["writer"]


class FakeParts:
    """The bench's parts without Cassandra: each contender's rate fixed, every writer run recorded in order."""

    RATES = {"warmup": 0, "seed": 100, "raw": 1000, "writer": 2000, "writertls": 1500, "writer1": 900}

    def __init__(self):
        self.writers: list[tuple[str, dict | None]] = []

    def install(self, monkeypatch):
        class Cluster:
            def shutdown(self):
                pass

        monkeypatch.setattr(rounds, "connect", lambda points, level: (Cluster(), "session"))
        monkeypatch.setattr(rounds, "create_schema", lambda session, rf: None)
        monkeypatch.setattr(rounds, "seed_loop", lambda s, topic, sec, rows: self.rate(topic, sec))
        monkeypatch.setattr(rounds, "raw_async", lambda s, topic, sec, rows, conc: self.rate(topic, sec))
        monkeypatch.setattr(rounds, "run_writer", self.writer)

    def rate(self, topic, seconds):
        return measurement(int(self.RATES[topic.split("-")[0]] * seconds), seconds)

    def writer(self, runner, points, topic, seconds, rows, *, consistency, replication_factor, extra_env=None):
        self.writers.append((topic.split("-")[0] + "-" + topic.rsplit("-", 1)[1], extra_env))
        return {**self.rate(topic, seconds), "peak_rss_mb": 70.0}


def test_run_bench_interleaves_d_with_c_on_the_same_points_and_reports_the_ratio(monkeypatch):
    fake = FakeParts()
    fake.install(monkeypatch)
    report = rounds.run_bench([("h", 1)], 4.0, rounds=2, warmup=0.0, tls_ca="/tmp/ca.pem", runner=object())
    ca_env = {tls.CA_VAR: "/tmp/ca.pem"}
    assert fake.writers == [("writer-0", None), ("writertls-0", ca_env), ("writer1-0", {"WRITER_BATCH_SIZE": "1"}),
                            ("writertls-1", ca_env), ("writer-1", None), ("writer1-1", {"WRITER_BATCH_SIZE": "1"})]
    assert report["writer_tls"]["rate"] == 1500.0 and report["writer"]["rate"] == 2000.0
    assert report["tls_vs_plain"] == 0.75
    without = FakeParts()
    without.install(monkeypatch)
    report = rounds.run_bench([("h", 1)], 4.0, rounds=2, warmup=0.0, like_for_like=False, runner=object())
    assert [t for t, _ in without.writers] == ["writer-0", "writer-1"] and "tls_vs_plain" not in report


def test_the_ratio_is_d_over_c():
    assert tls_ratio(measurement(720, 1.0), measurement(1000, 1.0)) == 0.72
    assert tls_ratio(measurement(5, 1.0), measurement(0, 1.0)) == float("inf")


def _summary(**extra):
    parts = {"seed": [measurement(400, 1.0)], "raw_async": [measurement(2700, 1.0)],
             "writer": [{**measurement(20000, 1.0), "peak_rss_mb": 70.0}], **extra}
    return summarize(parts, seconds=1.0, rows=None, rounds=1, consistency="ONE")


def test_the_table_shows_d_its_ratio_to_c_and_what_the_ratio_measures():
    text = format_table(_summary(writer_tls=[{**measurement(14400, 1.0), "peak_rss_mb": 74.0}]))
    row = next(line for line in text.splitlines() if line.startswith("(d)"))
    assert row.split()[-5:] == ["14400", "1.0", "14400", "36.0x", "533%"]
    assert ("TLS: (d)/(c) = 0.72x   acknowledged seqs/s of the real writer, TLS vs plaintext, same node, "
            "same run") in text
    assert "writer peak RSS: 70 MB, 74 MB over TLS" in text
    plain = format_table(_summary())
    assert "(d)" not in plain and "TLS:" not in plain


def test_the_json_records_the_tls_optional_container_as_a_condition(monkeypatch, tmp_path, capsys):
    seen = {}

    def start(runner, image, *, tls_dir):
        seen["files"] = sorted(p.name for p in tls_dir.iterdir())
        return "bench-x", [("127.0.0.1", 1)]

    def bench(points, seconds, rows, *, tls_ca, **kw):
        seen["tls_ca"] = tls_ca
        seen["ca_exists"] = Path(tls_ca).is_file()
        return _summary(writer_tls=[{**measurement(15000, 1.0), "peak_rss_mb": 71.0}])

    monkeypatch.setattr(bench_main, "_require_image", lambda runner, image: image)
    monkeypatch.setattr(bench_main, "start_cassandra", start)
    monkeypatch.setattr(bench_main, "stop_cassandra", lambda runner, name: seen.setdefault("stopped", name))
    monkeypatch.setattr(bench_main, "run_bench", bench)
    path = tmp_path / "bench.json"
    assert bench_main.main(["--image", "img:1", "--json", str(path)]) == 0
    assert seen["files"] == ["ca.pem", "node.pem"] and seen["ca_exists"] and seen["stopped"] == "bench-x"
    assert Path(seen["tls_ca"]).name == "ca.pem" and not Path(seen["tls_ca"]).exists()  # gone with the run
    record = json.loads(path.read_text())
    assert record["conditions"]["cassandra"] == "one container of img:1"
    assert record["conditions"]["cql_tls"].startswith("optional (client_encryption_options enabled=true, "
                                                      "optional=true)")
    assert record["tls_vs_plain"] == 0.75 and record["writer_tls"]["seqs"] == 15000
    printed = capsys.readouterr().out
    assert "TLS: (d)/(c) = 0.75x" in printed
    assert printed.splitlines()[-1].startswith("Cassandra: one container of img:1; CQL TLS: optional (")


def test_without_tls_or_with_seeds_the_json_says_d_did_not_run(monkeypatch, tmp_path):
    monkeypatch.setattr(bench_main, "_require_image", lambda runner, image: image)
    monkeypatch.setattr(bench_main, "start_cassandra", lambda runner, image, *, tls_dir: ("n", [("h", 1)]))
    monkeypatch.setattr(bench_main, "stop_cassandra", lambda runner, name: None)
    monkeypatch.setattr(bench_main, "run_bench", lambda *a, tls_ca, **kw: _summary() if tls_ca is None else None)
    for argv, cql_tls in ((["--image", "img:1", "--no-tls"], "off (--no-tls); (d) not run"),
                          (["--seeds", "h:1"], "not known (--seeds); (d) not run")):
        path = tmp_path / "bench.json"
        assert bench_main.main([*argv, "--json", str(path)]) == 0
        assert json.loads(path.read_text())["conditions"]["cql_tls"] == cql_tls


def test_the_default_json_sits_beside_the_lab_benchs():
    assert bench_main.json_path(0) == ROOT / "artifacts" / "bench" / "writer-19700101T000000Z.json"


@pytest.mark.slow
def test_a_short_bench_on_a_tls_optional_node_writes_ds_rows_over_tls(cassandra_image, tmp_path):
    """The container as ``invoke bench`` starts it: plaintext and TLS clients on one port; (d)'s rows are there,
    read back over TLS, every seq of each round's topic, as many as the writer reported."""
    from cassandra.cluster import Cluster
    from invoke import Context

    from lab.bench.session import KEYSPACE
    from lab.runner import Runner
    from tests.writer.support import assert_no_gap

    runner = Runner(Context(), echo=False)
    ca = container.write_tls_files(tmp_path)
    name, points = container.start_cassandra(runner, cassandra_image, tls_dir=tmp_path)
    try:
        report = rounds.run_bench(points, 2.0, rounds=2, warmup=0.5, like_for_like=False, tls_ca=str(ca),
                                  runner=runner)
        context = ssl.create_default_context(cafile=str(ca))
        context.check_hostname = False  # as the writer: the chain, not the name (lab/tls.py)
        cluster = Cluster(points, ssl_context=context)
        try:
            session = cluster.connect()
            topics = {row.topic for row in session.execute(f"SELECT topic FROM {KEYSPACE}.prj04_last_seq")}
            tls_topics = sorted(t for t in topics if t.startswith(rounds.TOPIC_PREFIX["writer_tls"] + "-"))
            assert len(tls_topics) == 2, topics
            stored = [assert_no_gap(session, KEYSPACE, topic) for topic in tls_topics]
        finally:
            cluster.shutdown()
    finally:
        container.stop_cassandra(runner, name)
    assert min(stored) > 0, stored
    assert sum(stored) == report["writer_tls"]["seqs"]
    assert report["writer"]["seqs"] > 0 and report["tls_vs_plain"] > 0
