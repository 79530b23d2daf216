from pathlib import Path

import pytest
import yaml

from lab.config import (
    DEFAULTS,
    KIND_NODE_IMAGE,
    LabConfig,
    LabSettings,
    check_topic,
    read_settings,
    resolve_tool,
    settings_fields,
)
from lab.errors import PreconditionError
from tests.lab.labfakes import executable

ROOT = Path(__file__).resolve().parents[2]


def _leaves(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_invoke_yaml_documents_every_default_with_the_same_value():
    """invoke.yaml names every setting of the model, each with the value the model declares (read by its rule:
    the file may write 30 where DEFAULTS, written from the model, holds the text "30")."""
    shipped = dict(_leaves(yaml.safe_load((ROOT / "invoke.yaml").read_text())))
    assert set(shipped) == set(dict(_leaves(DEFAULTS)))
    model = LabSettings()
    for keys, rule in settings_fields():
        declared = model
        for key in keys:
            declared = getattr(declared, key)
        assert rule.read(shipped[".".join(("lab", *keys))]) == declared, keys
    assert read_settings(yaml.safe_load((ROOT / "invoke.yaml").read_text())["lab"]) == model


def test_defaults_for_invoke_are_the_models_as_text():
    """Every leaf invoke gets is text (so invoke's own casts of INVOKE_LAB_* never apply) that reads back as the
    model's default."""
    leaves = dict(_leaves(DEFAULTS))
    assert all(isinstance(v, str) for v in leaves.values())
    assert read_settings(DEFAULTS["lab"]) == LabSettings()


def test_cluster_yml_pins_the_default_node_image():
    cluster = yaml.safe_load((ROOT / "cluster.yml").read_text())
    assert {n["image"] for n in cluster["nodes"]} == {KIND_NODE_IMAGE}
    assert KIND_NODE_IMAGE.startswith("kindest/node:v1.30.0@sha256:")


def test_defaults_name_the_assignments_cluster_and_context():
    cfg = LabConfig.from_mapping({})
    assert (cfg.cluster, cfg.kube_context, cfg.is_kind_context) == ("kind", "kind-kind", True)
    assert (cfg.topic, cfg.consistency) == ("test", "QUORUM")


def test_values_override_defaults_and_nest():
    cfg = LabConfig.from_mapping(
        {"cluster": "lab2", "writer": {"consistency": "one"}, "images": {"registry": "r:5000"}}
    )
    assert cfg.kube_context == "kind-lab2"
    assert cfg.consistency == "ONE"
    assert cfg.images.registry == "r:5000" and cfg.images.cassandra == "cassandra:5.0"
    assert cfg.topic == "test"


def test_registry_settings():
    cfg = LabConfig.from_mapping({})
    assert (cfg.images.registry, cfg.images.registry_port, cfg.images.local_registry, cfg.images.push_prefix) == (
        "", 5001, False, "")
    local = LabConfig.from_mapping({"images": {"registry": "local", "registry_port": "5002"}})  # env text or YAML int
    assert (local.images.registry_port, local.images.local_registry, local.images.push_prefix) == (
        5002, True, "localhost:5002")
    assert LabConfig.from_mapping({"storage_class": "fast-ssd"}).storage_class == "fast-ssd"


def test_a_foreign_context_is_not_kind():
    cfg = LabConfig.from_mapping({"context": "prod"})
    assert (cfg.kube_context, cfg.is_kind_context) == ("prod", False)


@pytest.mark.parametrize("raw, message", [
    ({"writer": {"topic": "x'; DROP"}}, "lab.writer.topic is \"x'; DROP\"; give a plain name"),
    ({"writer": {"consistency": "SOME"}}, "lab.writer.consistency is 'SOME'; use one of ONE, TWO"),
    ({"verify": {"consistency": "ANY"}}, "lab.verify.consistency is 'ANY'; use one of"),
    ({"images": {"cassandra_source": "docker"}}, "lab.images.cassandra_source is 'docker'; use one of auto, pull"),
    ({"images": {"casandra": "x"}}, "unknown setting lab.images.casandra; did you mean lab.images.cassandra?"),
    ({"clustr": "kind"}, "unknown setting lab.clustr; did you mean lab.cluster?"),
    ({"chaos": {"roundz": 3}}, "unknown setting lab.chaos.roundz; did you mean lab.chaos.rounds?"),
    ({"timeouts": {"cluster": -5}}, "lab.timeouts.cluster is -5; give a whole number of 1 or more"),
    ({"timeouts": {"cluster": "ten"}}, "lab.timeouts.cluster is 'ten'; give a whole number of 1 or more"),
    ({"chaos": {"sample_every": 0}}, "lab.chaos.sample_every is 0; give a number above 0"),
    ({"chaos": {"rounds": "many"}}, "lab.chaos.rounds is 'many'; give a whole number of 1 or more"),
    ({"verify": {"request_timeout": 0}}, "lab.verify.request_timeout is 0; give a whole number of 1 or more"),
    ({"chaos": 3}, "lab.chaos is 3; it is a group of settings"),
    ({"cluster": "Kind_1"}, "lab.cluster is 'Kind_1'; give a kind cluster name"),
    ({"writer": {"mode": "naive"}}, "lab.writer.mode is 'naive'; use one of robust, seed"),
    ({"writer": {"resume": "maybe"}}, "lab.writer.resume is 'maybe'; use true or false"),
    ({"writer": {"topic": ""}}, "the robust writer needs a topic (lab.writer.topic / --topic is empty); an empty "
                                "topic is only for --writer-mode seed"),
    ({"writer": {"mode": "seed", "consistency": "TWO"}},
     "lab.writer.consistency 'TWO': the seed writer (the assignment's Go writer) knows only ONE, QUORUM, ALL"),
    ({"writer": {"mode": "seed", "topic": "a b"}}, "lab.writer.topic is 'a b'; give a plain name"),
    ({"images": {"registry_port": "five"}}, "lab.images.registry_port is 'five'; use a TCP port number, 1-65535"),
    ({"images": {"registry_port": 65536}}, "lab.images.registry_port is 65536; use a TCP port number, 1-65535"),
    ({"images": {"registry_port": True}}, "lab.images.registry_port is True; use a TCP port number"),
    ({"storage_class": "Fast SSD"}, "lab.storage_class is 'Fast SSD'; give a StorageClass name"),
    ({"cassandra": {"auth": "maybe"}}, "lab.cassandra.auth is 'maybe'; use on or off"),
    ({"writer": {"probes": "grpc"}}, "lab.writer.probes is 'grpc'; use one of auto, http, none"),
    ({"cassandra": {"commitlog_sync": "fsync"}},
     "lab.cassandra.commitlog_sync is 'fsync'; use one of periodic, group, batch (Cassandra's default: periodic)"),
    ({"cassandra": {"commitlog": "batch"}},
     "unknown setting lab.cassandra.commitlog; did you mean lab.cassandra.commitlog_sync?"),
], ids=["topic", "consistency", "verify-any", "source", "typo", "clustr", "roundz", "timeout-negative",
        "timeout-text", "sample-every-0", "rounds-text",
        "request-timeout-0", "group-not-mapping", "cluster", "mode", "resume", "robust-empty-topic",
        "seed-level", "seed-topic", "port-text", "port-range", "port-bool", "storage-class", "auth", "probes",
        "commitlog-sync", "commitlog-typo"])
def test_bad_values_fail_with_one_line(raw, message):
    with pytest.raises(PreconditionError) as err:
        LabConfig.from_mapping(raw)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize("text, expected", [("false", False), ("true", True), ("0", False), ("1", True),
                                            ("no", False), ("yes", True)])
def test_resume_from_the_environment_means_what_it_says(text, expected, monkeypatch):
    """invoke casts INVOKE_LAB_* by the default's type; a bool default would turn "false" into True."""
    from invoke import Config

    import tasks
    monkeypatch.setenv("INVOKE_LAB_WRITER_RESUME", text)
    config = Config(defaults=tasks.ns.configuration())
    config.load_shell_env()
    assert LabConfig.from_mapping(config.lab).writer_resume is expected


@pytest.mark.parametrize("text, expected", [("batch", "batch"), ("Group", "group"), ("periodic", "periodic")])
def test_commitlog_sync_from_the_environment(text, expected, monkeypatch):
    """INVOKE_LAB_CASSANDRA_COMMITLOG_SYNC reaches lab.cassandra.commitlog_sync (how the e2e redeploys in batch)."""
    from invoke import Config

    import tasks
    monkeypatch.setenv("INVOKE_LAB_CASSANDRA_COMMITLOG_SYNC", text)
    config = Config(defaults=tasks.ns.configuration())
    config.load_shell_env()
    assert LabConfig.from_mapping(config.lab).commitlog_sync == expected


def test_commitlog_sync_defaults_to_cassandras_periodic():
    assert LabConfig.from_mapping({}).commitlog_sync == "periodic"
    assert LabConfig.from_mapping({"cassandra": {"commitlog_sync": "batch"}}).commitlog_sync == "batch"


def test_writer_mode_and_resume():
    cfg = LabConfig.from_mapping({})
    assert (cfg.writer_mode, cfg.writer_resume) == ("robust", False)
    # INVOKE_LAB_WRITER_* env vars arrive as text; an empty topic is the seed writer's Unknown-topic lesson
    seed = LabConfig.from_mapping({"writer": {"mode": "Seed", "resume": "true", "topic": ""}})
    assert (seed.writer_mode, seed.writer_resume, seed.topic) == ("seed", True, "")
    flagged = cfg.with_writer(mode="seed", resume=True, topic="")
    assert (flagged.writer_mode, flagged.writer_resume, flagged.topic) == ("seed", True, "")
    assert cfg.with_writer() == cfg
    assert cfg.with_writer(resume=False, topic="t2").topic == "t2"
    with pytest.raises(PreconditionError, match="the robust writer needs a topic"):
        flagged.with_writer(mode="robust")


@pytest.mark.parametrize("value, on", [("on", True), ("off", False), (True, True), (False, False),
                                       ("OFF", False), ("true", True)])
def test_cassandra_auth_is_on_unless_turned_off(value, on):
    """YAML reads a bare on/off as a bool, INVOKE_LAB_CASSANDRA_AUTH arrives as text: both mean the same."""
    assert LabConfig.from_mapping({}).cassandra_auth is True
    assert LabConfig.from_mapping({"cassandra": {"auth": value}}).cassandra_auth is on


def test_a_writer_of_your_own_may_run_without_a_topic():
    """Its crash loop on no topic is the assignment's lesson; lab.writer.mode does not apply to it."""
    own = LabConfig.from_mapping({"writer": {"source": "../prj04/writer"}})
    assert (own.own_writer, own.writer_probes) == (True, "auto")
    assert own.with_writer(topic="").topic == ""
    assert LabConfig.from_mapping({}).own_writer is False


def test_many_writers_from_a_list_from_text_or_from_a_count(monkeypatch):
    assert LabConfig.from_mapping({}).topics == ("test",)
    listed = LabConfig.from_mapping({"writer": {"topics": ["orders", "clicks"]}})
    assert (listed.topic, listed.topics) == ("orders", ("orders", "clicks"))  # the first topic is the first writer's
    assert LabConfig.from_mapping({"writer": {"topics": " orders, clicks ,"}}).topics == ("orders", "clicks")
    assert LabConfig.from_mapping({"writer": {"topics": ["only"]}}).topics == ("only",)
    # --writers N: N topics from the first; --topic alone: one writer, whatever lab.writer.topics said
    assert LabConfig.from_mapping({}).with_writer(writers=3).topics == ("test", "test-2", "test-3")
    assert listed.with_writer(writers=2, topic="t").topics == ("t", "t-2")
    assert listed.with_writer(topic="t").topics == ("t",)
    assert listed.with_writer(mode="robust").topics == ("orders", "clicks")
    assert listed.with_writer(writers=1).topics == ("orders",)
    # INVOKE_LAB_WRITER_TOPICS arrives as text
    from invoke import Config

    import tasks
    monkeypatch.setenv("INVOKE_LAB_WRITER_TOPICS", "a,b")
    config = Config(defaults=tasks.ns.configuration())
    config.load_shell_env()
    assert LabConfig.from_mapping(config.lab).topics == ("a", "b")


def test_one_consistency_level_for_all_writers_or_one_each():
    assert LabConfig.from_mapping({}).with_writer(writers=3).consistencies == ("QUORUM",) * 3
    each = LabConfig.from_mapping({}).with_writer(writers=3, consistency="one, Quorum,ALL")
    assert (each.consistency, each.consistencies) == ("ONE,QUORUM,ALL", ("ONE", "QUORUM", "ALL"))
    listed = LabConfig.from_mapping({"writer": {"topics": "a,b", "consistency": "all,one"}})
    assert (listed.topics, listed.consistencies) == (("a", "b"), ("ALL", "ONE"))
    assert listed.with_writer(consistency="ONE").consistencies == ("ONE", "ONE")


@pytest.mark.parametrize("raw, change, message", [
    ({}, {"writers": 3, "consistency": "ONE,ALL"},
     "lab.writer.consistency 'ONE,ALL' names 2 levels for 3 writer(s); give one level for all, or one per writer"),
    ({"writer": {"consistency": "QUORUM,ALL"}}, {},
     "lab.writer.consistency 'QUORUM,ALL' names 2 levels for 1 writer(s)"),
    ({}, {"writers": 2, "consistency": "ONE,FOUR"}, "--consistency ONE,FOUR: 'FOUR' is not one of"),
    ({}, {"writers": 2, "consistency": "ONE,"}, "--consistency ONE,: '' is not one of"),
    ({}, {"writers": 2, "mode": "seed", "consistency": "ONE,LOCAL_ONE"},
     "lab.writer.consistency 'LOCAL_ONE': the seed writer (the assignment's Go writer) knows only ONE, QUORUM, ALL"),
], ids=["too-few", "list-for-one", "bad-level", "empty-level", "seed-level"])
def test_bad_writer_levels_fail_with_one_line(raw, change, message):
    with pytest.raises(PreconditionError) as err:
        LabConfig.from_mapping(raw).with_writer(**change)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("raw, writers, message", [
    ({"writer": {"topics": "a,a"}}, None, "lab.writer.topics is 'a,a'; it names a twice; one writer per topic"),
    ({"writer": {"topics": "a,b c"}}, None, "lab.writer.topics is 'a,b c'; 'b c' is not a plain name"),
    ({"writer": {"topics": {"a": 1}}}, None, "lab.writer.topics is {'a': 1}; give a list of topics, or a,b,c"),
    ({"writer": {"topics": [f"t{n}" for n in range(9)]}}, None, "; it names 9 topics; at most 8"),
    ({}, 0, "--writers 0: give 1 to 8 (one Deployment per topic)"),
    ({}, 9, "--writers 9: give 1 to 8"),
    ({"writer": {"topic": "x" * 64}}, 2, f"topic '{'x' * 64}-2' is not a plain name"),
], ids=["twice", "bad-name", "mapping", "too-many", "zero", "nine", "derived-too-long"])
def test_bad_writer_topics_fail_with_one_line(raw, writers, message):
    with pytest.raises(PreconditionError) as err:
        LabConfig.from_mapping(raw).with_writer(writers=writers)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_check_topic_accepts_plain_names():
    assert check_topic("orders-2026.v1_a") == "orders-2026.v1_a"


def test_resolve_tool_prefers_configured_then_path_then_bin_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert resolve_tool("kind", root=tmp_path) is None
    local = executable(tmp_path / ".cache/bin/kind")
    assert resolve_tool("kind", root=tmp_path) == str(local)
    on_path = executable(tmp_path / "path/kind")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert resolve_tool("kind", root=tmp_path) == str(on_path)
    configured = executable(tmp_path / "tools/kind")
    assert resolve_tool("kind", "tools/kind", root=tmp_path) == str(configured)


def test_resolve_tool_refuses_a_configured_path_that_is_not_there(tmp_path):
    with pytest.raises(PreconditionError, match="lab.tools.kubectl is 'nope/kubectl', which is not an executable"):
        resolve_tool("kubectl", "nope/kubectl", root=tmp_path)


def test_the_operations_view_takes_the_models_defaults():
    """One source of defaults: an empty tree is the model's defaults, through LabConfig."""
    assert LabConfig.from_mapping({}) == LabConfig.from_settings(LabSettings())
