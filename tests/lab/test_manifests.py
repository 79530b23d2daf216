"""The manifests parsed and cross-checked: names the assignment fixed, selectors against labels, Service
ports against container ports, the writer's env against what the writer reads."""

import re
from pathlib import Path

import pytest
import yaml

from lab import cassandra as cassandra_ops
from lab import manifests, names, writers
from lab.config import KIND_NODE_IMAGE

ROOT = Path(__file__).resolve().parents[2]
CASS = manifests.load_all(ROOT / "cassandra.yml")
WRITER = manifests.load_all(ROOT / "writer.yml")
SERVICE = manifests.find(CASS, "Service", "cassandra-service")
STS = manifests.find(CASS, "StatefulSet", "cassandra")
PDB = manifests.find(CASS, "PodDisruptionBudget")
DEPLOY = manifests.find(WRITER, "Deployment", "ece573-prj04-writer")
C_CASS = manifests.containers(STS)[0]
C_WRITER = manifests.containers(DEPLOY)[0]


def env_of(container):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def selector_of(text: str) -> dict:
    key, value = text.split("=")
    return {key: value}


def quantity_mi(value: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "M": 1, "G": 1000}
    number, unit = re.fullmatch(r"([\d.]+)([A-Za-z]*)", str(value)).groups()
    return float(number) * units[unit]


def test_kind_cluster_is_one_control_plane_and_four_workers():
    cluster = yaml.safe_load((ROOT / "cluster.yml").read_text())
    assert cluster["kind"] == "Cluster" and cluster["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [n["role"] for n in cluster["nodes"]] == ["control-plane"] + ["worker"] * 4
    assert manifests.kind_node_images(cluster) == {KIND_NODE_IMAGE}


def test_names_from_the_assignment():
    assert SERVICE and STS and DEPLOY and PDB
    assert STS["spec"]["serviceName"] == SERVICE["metadata"]["name"] == "cassandra-service"
    assert STS["spec"]["replicas"] == 3
    assert env_of(C_CASS)["CASSANDRA_CLUSTER_NAME"] == "ece573-prj04"
    assert DEPLOY["spec"]["template"]["metadata"]["labels"]["app"] == "ece573-prj04-writer"
    assert (STS["metadata"]["name"], DEPLOY["metadata"]["name"]) == (
        names.CASSANDRA_STATEFULSET,
        names.WRITER_DEPLOYMENT,
    )
    assert (C_CASS["name"], C_WRITER["name"]) == (names.CASSANDRA_CONTAINER, names.WRITER_CONTAINER)


def test_headless_service_selects_the_statefulset_pods_and_its_ports_exist():
    assert SERVICE["spec"]["clusterIP"] == "None"
    pod_labels = STS["spec"]["template"]["metadata"]["labels"]
    assert matches(SERVICE["spec"]["selector"], pod_labels)
    container_ports = {p["name"]: p["containerPort"] for p in C_CASS["ports"]}
    for port in SERVICE["spec"]["ports"]:
        assert container_ports[port["targetPort"]] == port["port"]
    assert {p["port"] for p in SERVICE["spec"]["ports"]} == {9042, 7000}


@pytest.mark.parametrize("doc", [STS, DEPLOY], ids=["statefulset", "deployment"])
def test_selectors_match_template_labels_and_lab_selectors(doc):
    labels = doc["spec"]["template"]["metadata"]["labels"]
    assert matches(doc["spec"]["selector"]["matchLabels"], labels)
    lab_selector = names.CASSANDRA_SELECTOR if doc is STS else names.WRITER_SELECTOR
    assert matches(selector_of(lab_selector), labels)  # what `invoke logs/status/chaos` select on
    assert {"app.kubernetes.io/name", "app.kubernetes.io/part-of"} <= set(labels)


def test_pdb_and_anti_affinity_target_the_cassandra_pods():
    labels = STS["spec"]["template"]["metadata"]["labels"]
    assert PDB["spec"]["maxUnavailable"] == 1 and matches(PDB["spec"]["selector"]["matchLabels"], labels)
    rule = STS["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ][0]
    assert rule["topologyKey"] == "kubernetes.io/hostname" and matches(rule["labelSelector"]["matchLabels"], labels)


def test_seeds_name_pod_zero_through_the_service_in_the_pods_namespace():
    env_names = [e["name"] for e in C_CASS["env"]]
    seeds = env_of(C_CASS)["CASSANDRA_SEEDS"]
    assert seeds == f"cassandra-0.{SERVICE['metadata']['name']}.$(POD_NAMESPACE).svc.cluster.local"
    # $(VAR) expands only from variables defined earlier in the list
    assert env_names.index("POD_NAMESPACE") < env_names.index("CASSANDRA_SEEDS")
    assert env_names.index("POD_IP") < env_names.index("CASSANDRA_LISTEN_ADDRESS")
    assert SERVICE["spec"]["publishNotReadyAddresses"] is True


def test_heap_fits_inside_the_memory_limit_and_requests_are_small():
    env, res = env_of(C_CASS), C_CASS["resources"]
    assert (env["MAX_HEAP_SIZE"], env["HEAP_NEWSIZE"]) == ("512M", "128M")
    assert quantity_mi(env["MAX_HEAP_SIZE"]) * 2 <= quantity_mi(res["limits"]["memory"])
    assert quantity_mi(res["requests"]["memory"]) <= quantity_mi(res["limits"]["memory"])
    assert res["requests"]["cpu"] == "250m"  # three replicas must schedule on a 2-core machine


def test_probes_and_grace_period():
    spec = STS["spec"]["template"]["spec"]
    # Cassandra drains itself on SIGTERM; a preStop `nodetool drain` would start a second JVM first.
    assert "lifecycle" not in C_CASS
    assert spec["terminationGracePeriodSeconds"] >= 60
    # No probe starts a JVM (nodetool): CQL opens only after the node is NORMAL, so its port is readiness.
    assert "exec" not in C_CASS["readinessProbe"] and C_CASS["readinessProbe"]["tcpSocket"]["port"] == "cql"
    assert C_CASS["livenessProbe"]["tcpSocket"]["port"] == "intra-node"
    startup = C_CASS["startupProbe"]
    assert startup["tcpSocket"]["port"] == "cql"
    # Readiness waits for the startup probe: checked often, and still 10 minutes for a first bootstrap.
    assert startup["periodSeconds"] <= 2 and startup["periodSeconds"] * startup["failureThreshold"] >= 600
    assert C_CASS["readinessProbe"]["periodSeconds"] <= 2
    # A restart does not sit out gossip's settle waits (8 s each, up to four per start) on a three-node lab.
    assert "-Dcassandra.skip_wait_for_gossip_to_settle=0" in env_of(C_CASS)["JVM_OPTS"].split()
    # A joining or leaving node sleeps the ring delay (30 s by default) once or twice: a third of it suits a lab.
    assert "-Dcassandra.ring_delay_ms=10000" in env_of(C_CASS)["JVM_OPTS"].split()


def test_data_on_pvcs_from_kinds_default_storage_class():
    claims = {c["metadata"]["name"]: c for c in STS["spec"]["volumeClaimTemplates"]}
    mount = next(m for m in C_CASS["volumeMounts"] if m["mountPath"] == "/var/lib/cassandra")
    assert claims[mount["name"]]["spec"]["storageClassName"] == "standard"
    assert matches(selector_of(names.CASSANDRA_SELECTOR), claims[mount["name"]]["metadata"]["labels"])  # --pvcs
    assert mount["name"] == names.CASSANDRA_DATA_CLAIM  # `invoke scale` deletes cassandra-data-cassandra-N by it


@pytest.mark.parametrize("container", [C_CASS, C_WRITER], ids=["cassandra", "writer"])
def test_loaded_images_are_never_pulled(container):
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_writer_env_is_set_and_known_to_the_writer():
    env = env_of(C_WRITER)
    assert env["TOPIC"] == "test" and env["CONSISTENCY"] == "QUORUM"
    assert env["CASSANDRA_SEEDS"] == SERVICE["metadata"]["name"]
    cql = next(p["port"] for p in SERVICE["spec"]["ports"] if p["name"] == "cql")
    assert int(env["CASSANDRA_PORT"]) == cql
    assert env["KEYSPACE"] == cassandra_ops.KEYSPACE
    http = next(p["containerPort"] for p in C_WRITER["ports"] if p["name"] == "http")
    assert int(env["HTTP_PORT"]) == http
    reader = ROOT / "writer" / "config.py"
    if not reader.exists():
        pytest.skip("writer/config.py not present")
    known = set(re.findall(r'\(env, "([A-Z_]+)"', reader.read_text()))
    assert set(env) <= known, f"writer.yml sets env the writer never reads: {set(env) - known}"


def test_writer_probes_use_its_http_endpoints():
    assert C_WRITER["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert C_WRITER["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}


def test_writer_startup_probe_gives_startup_the_writers_own_budget():
    """Started means the write loop runs (/readyz); the probe's budget is the one after which /healthz turns red."""
    from writer.config import Config

    startup = C_WRITER["startupProbe"]
    assert startup["httpGet"] == {"path": "/readyz", "port": "http"}
    assert startup["periodSeconds"] * startup["failureThreshold"] == Config(topic="t").startup_budget


def test_writer_pod_has_no_service_links_and_a_grace_period_that_covers_its_stop():
    """On SIGTERM the writer drains for up to WRITER_STOP_TIMEOUT and stores last_seq within as long again."""
    from writer.config import MAX_STOP_TIMEOUT

    pod = DEPLOY["spec"]["template"]["spec"]
    assert pod["enableServiceLinks"] is False
    assert pod["terminationGracePeriodSeconds"] >= 2 * MAX_STOP_TIMEOUT + 5


def test_writer_runs_restricted():
    pod = DEPLOY["spec"]["template"]["spec"]
    sc = C_WRITER["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
    assert set(C_WRITER["resources"]) == {"requests", "limits"}
    dockerfile = ROOT / "Dockerfile"
    if dockerfile.exists():
        user = re.search(r"^USER\s+(\d+)", dockerfile.read_text(), re.M)
        assert user and int(user.group(1)) == pod["securityContext"]["runAsUser"]


def test_one_writer_at_a_time():
    assert DEPLOY["spec"]["replicas"] == 1 and DEPLOY["spec"]["strategy"]["type"] == "Recreate"


def test_the_fixed_image_names_the_assignment_types():
    """`invoke build` and `invoke reset` load these names too, so plain `kubectl apply -f` works on our files."""
    assert manifests.image_of(WRITER, "writer") == "ece573-prj04-writer:v1"
    assert manifests.image_of(CASS, "cassandra") == "cassandra:5.0"


def test_without_probes_drops_only_that_containers_probes():
    docs = manifests.without_probes(WRITER, "writer")
    c = manifests.containers(docs[0])[0]
    assert not set(manifests.PROBES) & set(c)
    assert c["ports"] == C_WRITER["ports"] and c["env"] == C_WRITER["env"]
    assert "livenessProbe" in C_WRITER  # the source is not touched
    cass = manifests.without_probes(CASS, "writer")
    assert manifests.containers(manifests.find(cass, "StatefulSet"))[0] == C_CASS


def test_rendered_writer_env_is_read_by_the_writer():
    """WRITER_MODE and WRITER_RESUME, which deploy adds, mean something to the writer package."""
    text = "\n".join(p.read_text() for p in (ROOT / "writer").glob("*.py"))
    for name in ("WRITER_MODE", "WRITER_RESUME", "TOPIC", "CONSISTENCY"):
        assert f'"{name}"' in text, f"no module of writer/ reads {name}"


def test_render_replaces_images_and_env_without_touching_the_source():
    docs = manifests.render(WRITER, images={"writer": "lab/writer:abc"}, env={"writer": {"TOPIC": "t2", "NEW": 1}})
    c = manifests.containers(docs[0])[0]
    assert c["image"] == "lab/writer:abc"
    assert env_of(c)["TOPIC"] == "t2" and env_of(c)["NEW"] == "1"
    assert C_WRITER["image"] == "ece573-prj04-writer:v1" and "NEW" not in env_of(C_WRITER)
    cass = manifests.render(CASS, images={"cassandra": "lab/cassandra:1"})
    assert manifests.image_of(cass, "cassandra") == "lab/cassandra:1"
    assert [d["kind"] for d in cass] == [
        "Service",
        "StatefulSet",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "NetworkPolicy",
    ]


# -- security: restricted pods, logins from the Secret, network policies ---------------------------------

def _restricted_violations(pod_spec: dict) -> list[str]:
    """What the "restricted" Pod Security Standard (v1.30) would refuse in ``pod_spec``; [] when admitted."""
    problems = []
    pod_sc = pod_spec.get("securityContext", {})
    if (pod_sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
        problems.append("pod seccompProfile")
    for c in pod_spec.get("initContainers", []) + pod_spec["containers"]:
        sc = c.get("securityContext", {})
        name = c["name"]
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation")
        if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
            problems.append(f"{name}: capabilities not dropped")
        if set((sc.get("capabilities") or {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{name}: capabilities added")
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            problems.append(f"{name}: runAsUser 0")
        if sc.get("privileged"):
            problems.append(f"{name}: privileged")
    for volume in pod_spec.get("volumes", []):
        if "hostPath" in volume:
            problems.append(f"volume {volume['name']}: hostPath")
    return problems


@pytest.mark.parametrize("doc", [STS, DEPLOY], ids=["cassandra", "writer"])
def test_every_lab_pod_meets_the_restricted_pod_security_standard(doc):
    pod = doc["spec"]["template"]["spec"]
    assert _restricted_violations(pod) == []
    assert pod["automountServiceAccountToken"] is False


def test_the_restricted_check_itself_refuses_a_violation():
    pod = {"securityContext": {}, "containers": [{"name": "c", "securityContext": {"privileged": True}}]}
    assert {"pod seccompProfile", "c: allowPrivilegeEscalation", "c: privileged", "c: runAsNonRoot"} <= set(
        _restricted_violations(pod))


def test_cassandra_runs_as_its_image_user_with_authentication_and_authorization_on():
    pod = STS["spec"]["template"]["spec"]
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["fsGroup"]) == (999, 999)
    jvm = env_of(C_CASS)["JVM_OPTS"].split()
    assert "-Dcassandra.config.allow_system_properties=true" in jvm
    assert "-Dcassandra.settings.authenticator=PasswordAuthenticator" in jvm
    assert "-Dcassandra.settings.authorizer=CassandraAuthorizer" in jvm
    assert "jmx" not in {p["name"] for p in C_CASS["ports"]}, "JMX listens on localhost only: no port to declare"


def test_cqlsh_logins_come_from_the_secret_through_the_init_container():
    pod = STS["spec"]["template"]["spec"]
    [init] = pod["initContainers"]
    assert init["name"] == names.CASSANDRA_INIT_CONTAINER and init["image"] == C_CASS["image"]
    [auth_volume] = [v for v in pod["volumes"] if v["name"] == "auth"]
    assert auth_volume["secret"]["secretName"] == "cassandra-auth"
    assert {i["path"] for i in auth_volume["secret"]["items"]} == {"credentials", "writer-credentials"}
    home = env_of(C_CASS)["HOME"]
    assert env_of(init)["HOME"] == home
    assert home in {m["mountPath"] for m in C_CASS["volumeMounts"]} & {m["mountPath"] for m in init["volumeMounts"]}
    assert "umask 077" in init["command"][-1]


def test_cassandra_root_filesystem_is_read_only_and_its_writable_paths_are_emptydirs():
    pod = STS["spec"]["template"]["spec"]
    [init] = pod["initContainers"]
    for container in (C_CASS, init):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, container["name"]
    mounts = {m["mountPath"]: m["name"] for m in C_CASS["volumeMounts"]}
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    # The entrypoints write /etc/cassandra; the JVM and the tools /tmp; the official image /var/log/cassandra.
    for path in ("/etc/cassandra", "/tmp", "/var/log/cassandra", env_of(C_CASS)["HOME"]):
        assert mounts.get(path) in empty, f"{path} is not a writable emptyDir"
    assert mounts["/var/lib/cassandra"] == "cassandra-data"
    # The init container fills the config volume from the image's own /etc/cassandra before the server starts.
    [conf_mount] = [m["mountPath"] for m in init["volumeMounts"] if m["name"] == mounts["/etc/cassandra"]]
    assert f"cp -R /etc/cassandra/. {conf_mount}/" in init["command"][-1]


def test_the_writer_reads_its_login_from_the_secret_and_no_password_is_in_a_manifest():
    env = {e["name"]: e for e in C_WRITER["env"]}
    assert env["CASSANDRA_USERNAME"]["valueFrom"]["secretKeyRef"] == {
        "name": "cassandra-auth",
        "key": "writer-username",
    }
    assert env["CASSANDRA_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "cassandra-auth",
        "key": "writer-password",
    }
    for path in ("cassandra.yml", "writer.yml"):
        assert not re.search(r"(?i)password\s*[:=]\s*\S", (ROOT / path).read_text().replace("CASSANDRA_PASSWORD", ""))


def test_network_policies_admit_cql_from_the_writer_and_cassandra_only_and_deny_the_rest():
    policy = manifests.find(CASS, "NetworkPolicy", "cassandra")
    assert policy["spec"]["podSelector"]["matchLabels"] == {"app": "cassandra"}
    rules = {r["ports"][0]["port"]: [p["podSelector"]["matchLabels"] for p in r["from"]]
             for r in policy["spec"]["ingress"]}
    cassandra_pod = STS["spec"]["template"]["metadata"]["labels"]
    # Every writer's pods, the n-th topic's too (lab/writers.py renames `app` per Deployment).
    writer_pods = [d["spec"]["template"]["metadata"]["labels"]
                   for d in writers.render(WRITER, writers.planned(["test", "test-2"])) if d["kind"] == "Deployment"]
    assert len(writer_pods) == 2 and writer_pods[0]["app"] != writer_pods[1]["app"]
    who = {port: sorted(name for name, labels in [("writer", w) for w in writer_pods] + [("cassandra", cassandra_pod)]
                        if any(matches(sel, labels) for sel in selectors)) for port, selectors in rules.items()}
    assert who == {9042: ["cassandra", "writer", "writer"], 7000: ["cassandra"]}
    deny = manifests.find(CASS, "NetworkPolicy", "default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    writer = manifests.find(WRITER, "NetworkPolicy", "ece573-prj04-writer")
    http = next(p["containerPort"] for p in C_WRITER["ports"] if p["name"] == "http")
    assert [r["ports"] for r in writer["spec"]["ingress"]] == [[{"port": http, "protocol": "TCP"}]]
    assert all(matches(writer["spec"]["podSelector"]["matchLabels"], labels) for labels in writer_pods)
    assert not matches(writer["spec"]["podSelector"]["matchLabels"], cassandra_pod)


#: kind's pod subnet when cluster.yml's networking names none (kind's own default).
KIND_POD_SUBNET = "10.244.0.0/16"
DNS_RULE = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}


def test_the_writers_http_port_admits_the_node_network_and_no_pod():
    """The kubelet's probes come from the node; no pod of any namespace may open the writer's port."""
    cluster = yaml.safe_load((ROOT / "cluster.yml").read_text())
    subnet = (cluster.get("networking") or {}).get("podSubnet", KIND_POD_SUBNET)
    [rule] = manifests.find(WRITER, "NetworkPolicy", "ece573-prj04-writer")["spec"]["ingress"]
    assert rule["from"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [subnet]}}]  # no podSelector, no namespace


def test_egress_allows_each_workload_only_dns_and_its_cassandra_ports():
    """A compromised Cassandra or writer pod reaches cluster DNS and Cassandra, not the API server, the registry,
    the host's gateway or the LAN: every egress rule names pods, none an ipBlock."""
    cassandra = manifests.find(CASS, "NetworkPolicy", "cassandra")["spec"]
    writer = manifests.find(WRITER, "NetworkPolicy", "ece573-prj04-writer")["spec"]
    for spec in (cassandra, writer):
        assert "Egress" in spec["policyTypes"]
        assert spec["egress"][0] == DNS_RULE
        assert all("ipBlock" not in peer for rule in spec["egress"] for peer in rule["to"])
    cassandra_pod = STS["spec"]["template"]["metadata"]["labels"]
    reach = {name: [(sorted(p["port"] for p in r["ports"]), matches(r["to"][0]["podSelector"]["matchLabels"],
                                                                       cassandra_pod)) for r in spec["egress"][1:]]
             for name, spec in (("cassandra", cassandra), ("writer", writer))}
    assert reach == {"cassandra": [([7000, 9042], True)], "writer": [([9042], True)]}
    assert all(len(r["to"]) == 1 for spec in (cassandra, writer) for r in spec["egress"][1:])


def _pod_specs():
    return [(doc["metadata"]["name"], doc["spec"]["template"]["spec"]) for doc in (STS, DEPLOY)]


@pytest.mark.parametrize("name, pod", _pod_specs(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_emptydir_and_container_is_bounded_on_the_nodes_disk(name, pod):
    """Nothing in a lab pod can fill the host's disk: every emptyDir has a sizeLimit, every container (init
    containers too) an ephemeral-storage limit that covers the pod's disk-backed emptyDirs plus 50Mi of log."""
    empty = [v for v in pod["volumes"] if "emptyDir" in v]
    assert empty and all(v["emptyDir"].get("sizeLimit") for v in empty), [v["name"] for v in empty]
    on_disk = sum(quantity_mi(v["emptyDir"]["sizeLimit"]) for v in empty if v["emptyDir"].get("medium") != "Memory")
    for container in pod.get("initContainers", []) + pod["containers"]:
        limits = container.get("resources", {}).get("limits", {})
        assert "ephemeral-storage" in limits, container["name"]
        assert quantity_mi(container["resources"]["requests"]["ephemeral-storage"]) <= quantity_mi(
            limits["ephemeral-storage"])
    main = max(quantity_mi(c["resources"]["limits"]["ephemeral-storage"]) for c in pod["containers"])
    assert main >= on_disk + 50, (name, main, on_disk)


def test_both_workloads_have_no_service_links():
    """A Service named writer-... or cassandra-... must not inject variables the programs read as settings."""
    for _, pod in _pod_specs():
        assert pod["enableServiceLinks"] is False


def test_cassandra_refuses_truncate_and_drop_table_to_every_role_but_a_superuser():
    """The writer's MODIFY on its tables includes TRUNCATE in Cassandra; the guardrail takes it away again."""
    assert "-Dcassandra.settings.drop_truncate_table_enabled=false" in _jvm_opts(CASS)
    assert "-Dcassandra.config.allow_system_properties=true" in _jvm_opts(CASS)


def _jvm_opts(docs):
    return env_of(manifests.containers(manifests.find(docs, "StatefulSet"))[0])["JVM_OPTS"].split()


def test_the_checked_in_cassandra_runs_cassandras_default_commitlog_sync():
    """`kubectl apply -f cassandra.yml` starts periodic with Cassandra's 10 s, said once in JVM_OPTS; rendering
    the default changes nothing, so a plain deploy leaves the running pods alone."""
    jvm = env_of(C_CASS)["JVM_OPTS"].split()
    assert [f for f in jvm if "commitlog" in f] == ["-Dcassandra.settings.commitlog_sync=periodic",
                                                   "-Dcassandra.settings.commitlog_sync_period=10000ms"]
    assert manifests.with_commitlog_sync(CASS, names.CASSANDRA_CONTAINER, "periodic") == CASS


@pytest.mark.parametrize("mode, flags", [
    ("group", ["-Dcassandra.settings.commitlog_sync=group", "-Dcassandra.settings.commitlog_sync_group_window=15ms",
               "-Dcassandra.settings.commitlog_sync_period=0ms"]),
    ("batch", ["-Dcassandra.settings.commitlog_sync=batch", "-Dcassandra.settings.commitlog_sync_period=0ms"]),
])
def test_commitlog_sync_is_rendered_into_the_cassandra_containers_jvm_opts(mode, flags):
    """group and batch refuse to start with a period set (both images' cassandra.yaml set 10000ms): 0ms; the other
    flags stay as they were, in order, and nothing else in the manifests changes."""
    rendered = manifests.with_commitlog_sync(CASS, names.CASSANDRA_CONTAINER, mode)
    jvm = _jvm_opts(rendered)
    assert [f for f in jvm if "commitlog" in f] == flags
    assert [f for f in jvm if "commitlog" not in f] == [f for f in _jvm_opts(CASS) if "commitlog" not in f]
    assert manifests.with_commitlog_sync(rendered, names.CASSANDRA_CONTAINER, "periodic") == CASS
    init = manifests.containers(manifests.find(rendered, "StatefulSet"), init=True)[0]
    assert "JVM_OPTS" not in env_of(init)


def test_commitlog_flags_allow_the_overrides_they_need():
    """Cassandra ignores -Dcassandra.settings.* without allow_system_properties: a manifest without it gets it."""
    from lab import commitlog

    assert commitlog.jvm_opts("-Xss256k", "batch").split() == [
        "-Dcassandra.config.allow_system_properties=true", "-Xss256k", "-Dcassandra.settings.commitlog_sync=batch",
        "-Dcassandra.settings.commitlog_sync_period=0ms"]


@pytest.mark.parametrize("namespace", ["", "monitoring"])
def test_a_monitoring_namespace_opens_the_writers_port_to_its_pods_only(project, namespace):
    """lab.security.monitoring_namespace: one more rule on writer.yml's NetworkPolicy, the same port, that
    namespace's pods only (by the label the API server sets); unset, the node network alone, as checked in."""
    from lab import state, workflow
    from tests.lab.labfakes import make_lab
    from tests.lab.test_workflow import _deploy_ctx
    state.put(project / ".cache/lab", "writer_image", "w:1")
    workflow.deploy(make_lab(project, _deploy_ctx(), security={"monitoring_namespace": namespace}))
    rendered = list(yaml.safe_load_all((project / ".cache/lab/rendered/writer.yml").read_text()))
    rules = manifests.find(rendered, "NetworkPolicy", names.WRITER_POLICY)["spec"]["ingress"]
    checked_in = manifests.find(WRITER, "NetworkPolicy", names.WRITER_POLICY)["spec"]["ingress"]
    if not namespace:
        assert rules == checked_in
        return
    assert rules[:-1] == checked_in
    assert rules[-1] == {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}],
                         "ports": [{"port": 8080, "protocol": "TCP"}]}


def test_a_monitoring_namespace_must_be_a_namespace_name(project):
    from lab.errors import LabError
    from tests.lab.labfakes import make_cfg
    with pytest.raises(LabError, match="monitoring_namespace.*a namespace name"):
        make_cfg(project, security={"monitoring_namespace": "Not A Name"})
