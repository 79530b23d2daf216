"""What watching costs in processes, and how viewers share one poller: the collector over a fake ``kubectl proxy``
(a Unix-socket HTTP server answering recorded lists) and a fake runner counting every process it starts, two viewers
stepped through a minute of a fake clock."""

from __future__ import annotations

import fcntl
import json
import os
import time
from itertools import pairwise
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.kubectl import Kubectl
from lab.live.api import ApiReads, api_path
from lab.live.collector import Collector
from lab.live.shared import Viewer, folder_for
from lab.live.state import Snapshot
from tests.lab.labfakes import DATA, FakeCtx, make_lab
from tests.lab.livefakes import (
    DELETED_AT,
    RECORDED_LISTS,
    Clock,
    FakeProgress,
    SpawningRunner,
    recorded_collector,
    recorded_ctx,
    steady,
)

ALL_UN = (DATA / "nodetool_status_dn.txt").read_text().replace("DN  10.244.2.3", "UN  10.244.2.3") \
    .replace("UJ  10.244.1.7", "UN  10.244.1.7")


class Scene:
    """Two viewers of one lab (as `invoke watch` and `invoke dashboard` in two processes: each its own lock file
    handle) over ``runner``; ``nodetool`` is the answer of `nodetool status`, its calls' times kept in ``asked``."""

    def __init__(self, tmp_path: Path, *, lists: dict[str, str] | None = None, nodetool: str = ALL_UN):
        self.clock = Clock(DELETED_AT)
        self.asked: list[float] = []
        self.nodetool = nodetool
        ctx = FakeCtx([("nodetool status", lambda _cmd: self.asked.append(self.clock.now) or self.nodetool)])
        self.lists = dict(lists or RECORDED_LISTS)
        self.runner = SpawningRunner(ctx, self.lists)
        lab = make_lab(tmp_path, ctx)
        (tmp_path / "artifacts" / "chaos").mkdir(parents=True, exist_ok=True)
        progress = {t: FakeProgress(t, steady(DELETED_AT - 60, DELETED_AT + 300)) for t in ("test", "test-2")}

        def make() -> Collector:
            return Collector(self.runner, lab.kube, artifacts=tmp_path / "artifacts", clock=self.clock,
                             progress_for=lambda w: progress[w.topic], reads=ApiReads(self.runner, lab.kube))
        folder = tmp_path / "live"
        folder.mkdir()
        self.viewers = [Viewer(make, folder, clock=self.clock) for _ in range(2)]

    def run(self, seconds: float, step: float = 0.5) -> None:
        for _ in range(round(seconds / step)):
            for viewer in self.viewers:
                viewer.step()
            self.clock.now += step

    def stop(self) -> None:
        for viewer in self.viewers:
            viewer.stop()


@pytest.fixture
def scene(tmp_path):
    made: list[Scene] = []

    def make(**kw) -> Scene:
        made.append(Scene(tmp_path, **kw))
        return made[-1]
    yield make
    for s in made:
        s.stop()


def test_two_viewers_for_a_minute_start_one_proxy_and_at_most_one_nodetool_each_5_s(scene):
    s = scene(nodetool=(DATA / "nodetool_status_dn.txt").read_text())  # a node DN: the ring is moving
    s.run(60)
    assert len(s.asked) == 12 and all(b - a >= 5 for a, b in pairwise(s.asked))
    assert [argv[3:5] for argv in s.runner.spawned] == [["proxy", "--unix-socket"]]
    assert s.runner.processes() == 13  # one proxy and the 12 nodetools: every list came through the proxy
    proxy = s.runner.proxies[0].api
    assert proxy.connections == 1 and len(proxy.paths) == 30 + 12 + 12 + 6  # pods, nodes, events, deployments
    poller, reader = s.viewers
    assert poller.polling and not reader.polling
    assert reader.latest() == poller.latest()  # what the other process shows: the same snapshot
    assert [(r.pod, r.state) for r in reader.latest().ring] == [("cassandra-0", "UN"), ("cassandra-1", "?"),
                                                                ("cassandra-2", "UJ"), ("", "DN")]
    assert [w.name for w in reader.latest().writers] == ["ece573-prj04-writer", "ece573-prj04-writer-2"]


def test_a_still_ring_is_asked_every_15_s_and_a_pod_that_changes_brings_nodetool_back_to_5_s(scene):
    s = scene(lists={**RECORDED_LISTS, "pods": "pods_before.json"})  # all Ready, all UN
    s.run(60)
    assert [t - DELETED_AT for t in s.asked] == [0, 15, 30, 45]
    s.lists["pods"] = "pods_during.json"  # cassandra-1 replaced, cassandra-2 restarting
    s.run(20)
    assert [t - DELETED_AT for t in s.asked[4:]] == [60, 65, 70, 75]


def test_when_the_polling_viewer_quits_the_other_takes_over_in_one_pass(scene):
    s = scene()
    s.run(10)
    poller, reader = s.viewers
    poller.stop()
    assert s.runner.proxies[0].poll() is not None  # its proxy ended with it
    assert not reader.polling
    reader.step()
    assert reader.polling and len(s.runner.spawned) == 2
    assert [r.pod for r in reader.latest().ring][:3] == ["cassandra-0", "cassandra-1", "cassandra-2"]


def test_a_reader_says_when_the_poller_has_published_nothing_for_a_while(scene):
    s = scene()
    s.run(1)
    reader = s.viewers[1]
    assert reader.latest().errors == []
    s.clock.now += 30.5  # the last pass was at +0.5 s
    assert reader.latest().errors == [f"live state: nothing new from the viewer that polls (pid {os.getpid()}) "
                                      f"for 31 s"]


def test_a_reader_before_the_first_pass_says_it_waits(tmp_path):
    folder = tmp_path / "live"
    folder.mkdir()
    (folder / "poller.lock").write_text("4242")
    with (folder / "poller.lock").open("a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        viewer = Viewer(lambda: pytest.fail("a second poller was made"), folder)
        assert viewer.step().errors == ["live state: waiting for the first pass of the viewer that polls (pid 4242)"]


def test_the_shared_folder_is_per_lab_and_private(tmp_path):
    a = folder_for(Kubectl(), tmp_path / "artifacts", base=tmp_path)
    assert a == folder_for(Kubectl(), tmp_path / "artifacts", base=tmp_path)
    assert a != folder_for(Kubectl(context="kind-other"), tmp_path / "artifacts", base=tmp_path)
    assert a != folder_for(Kubectl(), tmp_path / "elsewhere", base=tmp_path)
    assert a.parent.stat().st_mode & 0o777 == 0o700 and a.stat().st_mode & 0o777 == 0o700


def test_a_snapshot_survives_its_json(tmp_path):
    clock = Clock(DELETED_AT + 30)
    progress = {"test": FakeProgress("test", steady(clock.now - 60, clock.now)),
                "test-2": FakeProgress("test-2", steady(clock.now - 60, clock.now - 5))}
    snap = recorded_collector(tmp_path, recorded_ctx(), progress, clock).poll()
    assert snap.writers and snap.ring and snap.events and snap.rates
    assert Snapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap


# -- the proxy ---------------------------------------------------------------------------------------------

def _reads(tmp_path, lists=RECORDED_LISTS) -> tuple[ApiReads, SpawningRunner]:
    ctx = FakeCtx()
    runner = SpawningRunner(ctx, dict(lists))
    return ApiReads(runner, make_lab(tmp_path, ctx).kube), runner


def test_the_lists_come_through_one_proxy_and_one_kept_connection_with_their_selectors(tmp_path):
    reads, runner = _reads(tmp_path)
    try:
        for _ in range(3):
            for kind in ("pods", "nodes", "events", "deployments"):
                assert reads.get(kind) == json.loads((DATA / "live" / RECORDED_LISTS[kind]).read_text())
        (argv,) = runner.spawned
        assert argv[:5] == ["kubectl", "--context", "kind-kind", "proxy", "--unix-socket"]
        assert Path(argv[5]).parent.stat().st_mode & 0o777 == 0o700
        api = runner.proxies[0].api
        assert api.connections == 1
        assert api.paths[:4] == [
            "/api/v1/namespaces/default/pods?labelSelector=app.kubernetes.io%2Fpart-of%3Dece573-prj04",
            "/api/v1/nodes", "/api/v1/namespaces/default/events",
            "/apis/apps/v1/namespaces/default/deployments?labelSelector=app.kubernetes.io%2Fcomponent%3Dwriter%2C"
            "app.kubernetes.io%2Fpart-of%3Dece573-prj04"]
    finally:
        reads.close()
    assert not Path(argv[5]).parent.exists() and runner.proxies[0].poll() is not None


def test_a_missing_list_is_none_and_a_dead_proxy_an_error_until_it_is_started_again(tmp_path):
    reads, runner = _reads(tmp_path, {"pods": "pods_before.json"})
    try:
        assert reads.get("events") is None
        runner.proxies[0].end()
        with pytest.raises(LabError, match="kubectl proxy ended; starting it again"):
            reads.get("pods")
        reads.RESTART_EVERY = 0
        assert reads.get("pods")["items"] and len(runner.spawned) == 2
    finally:
        reads.close()


def test_an_api_path_names_the_namespace_only_of_namespaced_kinds():
    assert api_path(Kubectl(namespace="lab"), "events") == "/api/v1/namespaces/lab/events"
    assert api_path(Kubectl(namespace="lab"), "nodes") == "/api/v1/nodes"


def test_started_viewers_share_in_their_threads_and_hand_over(tmp_path):
    """As the two commands run them: each viewer in a thread of its own, the collector in another."""
    clock = Clock(DELETED_AT)
    ctx = recorded_ctx()
    progress = {t: FakeProgress(t, steady(DELETED_AT - 60, DELETED_AT)) for t in ("test", "test-2")}
    made: list[Collector] = []

    def make() -> Collector:
        made.append(recorded_collector(tmp_path, ctx, progress, clock))
        made[-1].tick = 0.05
        return made[-1]

    def until(condition) -> None:
        deadline = time.monotonic() + 20
        while not condition():
            assert time.monotonic() < deadline, "not within 20 s"
            time.sleep(0.02)

    folder = tmp_path / "live"
    folder.mkdir()
    first, second = (Viewer(make, folder, clock=clock, tick=0.05) for _ in range(2))
    try:
        first.start()
        second.start()
        until(lambda: second.latest().ring)
        assert len(made) == 1 and first.polling and not second.polling
        assert second.latest().ring == first.latest().ring
        first.stop()
        until(lambda: second.polling)
        assert len(made) == 2 and second.latest().ring
    finally:
        first.stop()
        second.stop()
