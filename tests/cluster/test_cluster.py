"""The locally built kind node image brings up cluster.yml's 5-node cluster, and the cluster works.

Slow tier: runs on the session's cluster (tests/kind_lab.py, `invoke reset`), before the end-to-end tier.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from tests.commands import FAILED

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = "180s"


def _wait(cluster, *args: str) -> None:
    cluster.kubectl("wait", *args, f"--timeout={TIMEOUT}", timeout=240)


def _pod(name: str, image: str, *, claim: str | None = None) -> str:
    volume = ""
    if claim:
        volume = f"""
            volumeMounts: [{{name: data, mountPath: /data}}]
          volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim}}}}}]"""
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: main
            image: {image}
            imagePullPolicy: Never{volume}
        """)


def test_all_nodes_ready(ready_cluster):
    nodes = ready_cluster.json("nodes")["items"]
    roles = sorted("control-plane" if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"]
                   else "worker" for n in nodes)
    assert roles == ["control-plane"] + ["worker"] * 4
    versions = {n["status"]["nodeInfo"]["kubeletVersion"] for n in nodes}
    assert versions == {"v1.30.0"}


def test_system_pods_run_from_preloaded_images(ready_cluster):
    """Every kube-system and storage pod is Ready: nothing needed a registry."""
    for namespace in ("kube-system", "local-path-storage"):
        _wait(ready_cluster, "pods", "--all", "--namespace", namespace, "--for=condition=Ready")


def test_coredns_resolves_kubernetes_default(ready_cluster, test_image):
    cluster = ready_cluster
    cluster.apply(_pod("dns-probe", test_image))
    _wait(cluster, "pod/dns-probe", "--for=condition=Ready")
    # The API's Service lives in `default`, not in the namespace these checks run in.
    service_ip = cluster.kubectl("get", "service", "kubernetes", "--namespace", "default",
                                 "-o", "jsonpath={.spec.clusterIP}")
    deadline = time.monotonic() + 60
    while True:  # CoreDNS may still be warming its cache of Services right after the nodes turn Ready
        try:
            answer = cluster.kubectl("exec", "dns-probe", "--", "getent", "hosts", "kubernetes.default")
            break
        except FAILED:
            if time.monotonic() > deadline:
                raise
            time.sleep(3)
    assert answer.split()[0] == service_ip
    cluster.kubectl("delete", "pod", "dns-probe", "--wait=false")


#: A TCP server in perl (perl-base is in every Debian image) that answers with its node's name.
ECHO_SERVER = ("use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalPort => 8080, Listen => 16, ReuseAddr => 1)"
               " or die $!; while (my $c = $s->accept) { print $c \"$ENV{NODE_NAME}\\n\"; close $c }")


@pytest.fixture(scope="module")
def echo_pods(ready_cluster, test_image):
    """One pod of the locally built image on every schedulable node (a DaemonSet), each answering on :8080."""
    cluster = ready_cluster
    cluster.apply(textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {{name: loaded-image}}
        spec:
          selector: {{matchLabels: {{app: loaded-image}}}}
          template:
            metadata: {{labels: {{app: loaded-image}}}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: {test_image}
                imagePullPolicy: Never
                command: [perl, -e, {json.dumps(ECHO_SERVER)}]
                env:
                - name: NODE_NAME
                  valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}
                readinessProbe: {{tcpSocket: {{port: 8080}}, periodSeconds: 2}}
        """))
    cluster.kubectl("rollout", "status", "daemonset/loaded-image", f"--timeout={TIMEOUT}", timeout=240)
    yield cluster.json("pods", "--selector", "app=loaded-image")["items"]
    cluster.kubectl("delete", "daemonset", "loaded-image", "--wait=false")


def test_loaded_image_runs_on_every_worker(ready_cluster, echo_pods):
    cluster = ready_cluster
    workers = {n["metadata"]["name"] for n in cluster.json("nodes")["items"]
               if "node-role.kubernetes.io/control-plane" not in n["metadata"]["labels"]}
    assert {p["spec"]["nodeName"] for p in echo_pods} == workers
    for pod in echo_pods:
        name = pod["metadata"]["name"]
        assert cluster.kubectl("exec", name, "--", "cat", "/built-here").strip() == "built here"


def test_pods_reach_each_other_across_workers(ready_cluster, echo_pods):
    """Pod-to-pod traffic between every pair of workers (the lab's pod network, podnet, routes it)."""
    cluster = ready_cluster
    for client in echo_pods:
        for server in echo_pods:
            if client is server:
                continue
            ip = server["status"]["podIP"]
            answer = cluster.kubectl("exec", client["metadata"]["name"], "--", "bash", "-c",
                                     f"exec 3<>/dev/tcp/{ip}/8080 && cat <&3", timeout=30)
            assert answer.strip() == server["spec"]["nodeName"], (client["spec"]["nodeName"], ip)


def test_pvc_binds_and_keeps_data_across_pod_delete(ready_cluster, test_image):
    cluster = ready_cluster
    cluster.apply(textwrap.dedent("""\
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: keep}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 64Mi}}
        """))
    cluster.apply(_pod("writer", test_image, claim="keep"))
    _wait(cluster, "pod/writer", "--for=condition=Ready")
    pvc = cluster.json("pvc", "keep")
    assert pvc["status"]["phase"] == "Bound"
    assert pvc["spec"]["storageClassName"] == "standard"
    cluster.kubectl("exec", "writer", "--", "sh", "-c", "echo kept > /data/file")
    cluster.kubectl("delete", "pod", "writer", "--wait=true", timeout=240)
    cluster.apply(_pod("reader", test_image, claim="keep"))
    _wait(cluster, "pod/reader", "--for=condition=Ready")
    assert cluster.kubectl("exec", "reader", "--", "cat", "/data/file").strip() == "kept"
    cluster.kubectl("delete", "pod", "reader", "--wait=false")


def test_statefulset_pod_comes_back_with_its_name_and_volume(ready_cluster, test_image):
    cluster = ready_cluster
    cluster.apply(textwrap.dedent(f"""\
        apiVersion: v1
        kind: Service
        metadata: {{name: sts}}
        spec:
          clusterIP: None
          selector: {{app: sts}}
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {{name: sts}}
        spec:
          serviceName: sts
          replicas: 2
          selector: {{matchLabels: {{app: sts}}}}
          template:
            metadata: {{labels: {{app: sts}}}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: main
                image: {test_image}
                imagePullPolicy: Never
                volumeMounts: [{{name: data, mountPath: /data}}]
          volumeClaimTemplates:
          - metadata: {{name: data}}
            spec:
              accessModes: [ReadWriteOnce]
              resources: {{requests: {{storage: 64Mi}}}}
        """))
    cluster.kubectl("rollout", "status", "statefulset/sts", f"--timeout={TIMEOUT}", timeout=240)
    cluster.kubectl("exec", "sts-1", "--", "sh", "-c", "hostname > /data/who")
    before = cluster.json("pod", "sts-1")
    cluster.kubectl("delete", "pod", "sts-1", "--wait=true", timeout=240)
    deadline = time.monotonic() + 180
    while True:
        try:
            after = cluster.json("pod", "sts-1")
            if after["metadata"]["uid"] != before["metadata"]["uid"]:
                break
        except FAILED:
            pass  # not recreated yet
        assert time.monotonic() < deadline, "sts-1 was not recreated"
        time.sleep(2)
    _wait(cluster, "pod/sts-1", "--for=condition=Ready")
    claim = [v for v in after["spec"]["volumes"] if v["name"] == "data"][0]["persistentVolumeClaim"]["claimName"]
    assert claim == "data-sts-1"
    assert cluster.kubectl("exec", "sts-1", "--", "cat", "/data/who").strip() == "sts-1"
    cluster.kubectl("delete", "statefulset", "sts", "--wait=false")


@pytest.mark.parametrize("manifest", ["cassandra.yml", "writer.yml"])
def test_lab_manifests_pass_server_dry_run(ready_cluster, manifest):
    path = ROOT / manifest
    if not path.exists():
        pytest.skip(f"{manifest} does not exist yet")
    ready_cluster.kubectl("apply", "--dry-run=server", "-f", str(path))
