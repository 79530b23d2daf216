"""invoke dashboard --allow-actions: the action endpoint through real HTTP requests to the server on a free port, with
``invoke chaos``'s entry point replaced by a recorder (no cluster): who may act, what a click may ask, one at a time,
and the command a click runs."""

from __future__ import annotations

import json
import time

import pytest

from lab.chaos.command import ChaosCommand
from lab.errors import LabError
from lab.live.actions import Actions
from lab.live.web import Dashboard
from tests.lab.livefakes import FakeChaos, action_dashboard, call, page_token

POD = {"fault": "pod", "target": "cassandra-1"}


@pytest.fixture
def chaos():
    return FakeChaos()


@pytest.fixture
def dash(tmp_path, chaos):
    served = action_dashboard(tmp_path, chaos)
    yield served
    served.actions.wait(30)
    served.stop()


def _done(dash, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = json.loads(call(dash, "GET", "/api/actions")[1])
        if state["running"] is None and state["done"]:
            return state
        time.sleep(0.05)
    raise AssertionError("the action never ended")


def test_without_allow_actions_the_action_paths_answer_403_and_the_page_has_no_buttons(tmp_path, chaos):
    served = action_dashboard(tmp_path)  # read-only: no runner given
    try:
        assert page_token(served) == ""
        for method, path, body in (("POST", "/api/action", POD), ("POST", "/api/action/check", POD),
                                   ("GET", "/api/actions", None)):
            code, text = call(served, method, path, body, page="anything")
            assert code == 403 and "read-only" in text and "--allow-actions" in text
    finally:
        served.stop()
    assert chaos.commands == []


@pytest.mark.parametrize("how", ["no-url-token", "wrong-url-token", "no-page-token", "wrong-page-token",
                                 "other-origin"])
def test_a_post_without_both_tokens_or_from_another_origin_is_403_and_runs_nothing(dash, chaos, how):
    kwargs = {"no-url-token": {"token": ""}, "wrong-url-token": {"token": dash.token[:-2] + "xx"},
              "no-page-token": {"page": ""}, "wrong-page-token": {"page": page_token(dash) + "x"},
              "other-origin": {"origin": "http://evil.example"}}[how]
    code, text = call(dash, "POST", "/api/action", POD, **kwargs)
    assert code == 403 and text.startswith("forbidden: ")
    assert chaos.commands == [] and dash.actions.done == []


def test_each_served_page_has_its_own_token_and_each_works(dash, chaos):
    first, second = page_token(dash), page_token(dash)
    assert first != second and len(first) >= 32
    assert call(dash, "POST", "/api/action/check", POD, page=first)[0] == 200
    assert call(dash, "POST", "/api/action/check", POD, page=second, origin=f"http://127.0.0.1:{dash.port}")[0] == 200


def test_the_action_endpoint_takes_post_only(dash, chaos):
    code, text = call(dash, "GET", "/api/action")
    assert (code, text) == (405, "method not allowed: POST only\n")
    assert chaos.commands == []


@pytest.mark.parametrize("body, message", [
    ({"fault": "pod", "target": "coredns-0"}, "ERROR: --pod 'coredns-0': one of cassandra-0, cassandra-1, cassandra-2, "
                                              "cassandra, writer, writer-2"),
    ({"fault": "node", "target": "kind-control-plane"},
     "ERROR: --node 'kind-control-plane': one of kind-worker, kind-worker2, kind-worker3, kind-worker4"),
    ({"fault": "partition", "target": "cassandra-1; rm -rf /"}, "ERROR: --partition 'cassandra-1; rm -rf /': one of"),
    ({"fault": "node", "target": "kind-worker2", "down": 3}, "ERROR: --down 3: give seconds between 5 and 600"),
    ({"fault": "loss", "target": "cassandra-1", "percent": 100}, "ERROR: --percent 100: give a share of packets"),
    ({"fault": "loss", "target": "cassandra-1", "percent": "30"}, "ERROR: --percent '30': give a number"),
    ({"fault": "pause", "target": "cassandra-1", "force": True}, "ERROR: --force does not apply to --pause"),
    ({"fault": "pod", "target": "cassandra-1", "down": 30}, "ERROR: --down does not apply to --pod"),
    ({"fault": "dns", "target": "kube-dns"}, "ERROR: --dns takes no target (got 'kube-dns')"),
    ({"fault": "random", "target": "cassandra-1"}, "ERROR: fault 'random': one of pod, crash, node, partition, pause"),
    ({"fault": "pod", "target": "cassandra-1", "rounds": 99}, "ERROR: unknown field(s) 'rounds'"),
    (["pod", "cassandra-1"], "ERROR: the request is not a JSON object"),
], ids=["pod", "control-plane", "injection", "down-range", "percent-range", "percent-type", "force-on-pause",
        "down-on-pod", "dns-target", "random", "unknown-field", "not-an-object"])
def test_a_bad_click_is_400_with_one_line_and_runs_nothing(dash, chaos, body, message):
    for path in ("/api/action/check", "/api/action"):
        code, text = call(dash, "POST", path, body)
        assert code == 400 and text.startswith(message) and text.count("\n") == 1, text
    assert chaos.commands == [] and dash.actions.done == []


@pytest.mark.parametrize("raw, content_type, message", [
    (b"{not json", "application/json", "ERROR: the body is not JSON"),
    (json.dumps(POD).encode(), "application/x-www-form-urlencoded", "ERROR: send the fault as JSON"),
    (b"", "application/json", "ERROR: a body of 0 bytes"),
])
def test_a_body_that_is_not_the_pages_json_is_400(dash, chaos, raw, content_type, message):
    code, text = call(dash, "POST", "/api/action", raw=raw, content_type=content_type)
    assert code == 400 and text.startswith(message) and text.count("\n") == 1
    assert chaos.commands == []


def test_check_answers_the_command_line_and_what_it_does_and_runs_nothing(dash, chaos):
    code, text = call(dash, "POST", "/api/action/check", {"fault": "node", "target": "kind-worker2", "down": 45})
    assert code == 200
    assert json.loads(text) == {"line": "invoke chaos --node kind-worker2 --down 45",
                                "title": "stop node kind-worker2 for 45s, then start it", "rounds": 1}
    assert chaos.commands == []


@pytest.mark.parametrize("body, command", [
    (POD, ChaosCommand(pod="cassandra-1")),
    ({"fault": "pod", "target": "cassandra", "force": True}, ChaosCommand(pod="cassandra", force=True)),
    ({"fault": "pod", "target": "writer-2"}, ChaosCommand(pod="writer-2")),
    ({"fault": "crash", "target": "cassandra"}, ChaosCommand(crash="cassandra")),
    ({"fault": "node", "target": "kind-worker3", "down": 20}, ChaosCommand(node="kind-worker3", down=20)),
    ({"fault": "partition", "target": "cassandra-2", "down": 30}, ChaosCommand(partition="cassandra-2", down=30)),
    ({"fault": "pause", "target": "cassandra-0", "down": 10}, ChaosCommand(pause="cassandra-0", down=10)),
    ({"fault": "freeze", "target": "kind-worker", "down": 15}, ChaosCommand(freeze="kind-worker", down=15)),
    ({"fault": "loss", "target": "cassandra-1", "down": 30, "percent": 25},
     ChaosCommand(loss="cassandra-1", down=30, percent=25)),
    ({"fault": "dns", "down": 12.5}, ChaosCommand(dns=True, down=12.5)),
], ids=lambda v: v.line() if isinstance(v, ChaosCommand) else None)
def test_a_click_runs_the_command_the_cli_would_and_shows_its_result(dash, chaos, body, command):
    code, text = call(dash, "POST", "/api/action", body)
    assert code == 202 and json.loads(text)["line"] == command.line()
    state = _done(dash)
    assert chaos.commands == [command]
    (done,) = state["done"]
    assert (done["line"], done["ok"], done["error"]) == (command.line(), True, "")
    (row,) = done["rounds"]
    assert (row["fault"], row["target"], row["recovery_s"], row["stall_s"], row["lost_rows"], row["result"]) == (
        command.check()[0], command.check()[1], 12.5, 0.75, 0, "ok")


def test_one_action_at_a_time_a_second_click_is_409_with_the_running_command(tmp_path):
    chaos = FakeChaos(hold=True)
    served = action_dashboard(tmp_path, chaos)
    try:
        assert call(served, "POST", "/api/action", POD)[0] == 202
        assert chaos.started.wait(10)
        state = json.loads(call(served, "GET", "/api/actions")[1])
        assert state["running"]["line"] == "invoke chaos --pod cassandra-1" and state["done"] == []
        for path in ("/api/action/check", "/api/action"):
            code, text = call(served, "POST", path, {"fault": "dns"})
            assert code == 409 and text.startswith("busy: `invoke chaos --pod cassandra-1` is running")
            assert text.count("\n") == 1
        assert len(chaos.commands) == 1
        chaos.release.set()
        assert _done(served)["done"][0]["ok"] is True
        assert call(served, "POST", "/api/action", {"fault": "dns"})[0] == 202  # free again
        assert _done(served)["done"][0]["line"] == "invoke chaos --dns"
        assert [c.line() for c in chaos.commands] == ["invoke chaos --pod cassandra-1", "invoke chaos --dns"]
    finally:
        chaos.release.set()
        served.actions.wait(30)
        served.stop()


def test_a_failed_run_shows_its_error_line_and_frees_the_dashboard(tmp_path):
    chaos = FakeChaos(error=LabError("chaos: 1 of 1 round(s) failed, 10 row(s) missing"))
    served = action_dashboard(tmp_path, chaos)
    try:
        assert call(served, "POST", "/api/action", POD)[0] == 202
        (done,) = _done(served)["done"]
        assert (done["ok"], done["error"]) == (False, "ERROR: chaos: 1 of 1 round(s) failed, 10 row(s) missing")
        assert served.actions.running is None
    finally:
        served.stop()


def test_the_menu_offers_the_labs_targets_and_the_commands_defaults(dash):
    state = json.loads(call(dash, "GET", "/api/actions")[1])
    menu = {m["flag"]: m for m in state["menu"]}
    assert list(menu) == ["pod", "crash", "node", "partition", "pause", "freeze", "loss", "dns"]
    assert menu["node"]["targets"] == menu["freeze"]["targets"] == [f"kind-worker{n}" for n in ("", 2, 3, 4)]
    assert menu["pod"]["targets"][-2:] == ["writer", "writer-2"] and menu["dns"]["takes_target"] is False
    assert state["defaults"] == {"down": 30, "down_range": [5, 600], "percent": 30.0}


def test_while_it_runs_the_state_shows_the_steps_it_is_in():
    steps = [["Chaos round 1/1: delete cassandra-1 (3s)  2/3 UN"]]
    chaos = FakeChaos(hold=True)
    actions = Actions(chaos, steps=lambda: steps[0])
    try:
        actions.start(ChaosCommand(pod="cassandra-1"))
        assert chaos.started.wait(10)
        assert actions.state()["steps"] == steps[0]
    finally:
        chaos.release.set()
        actions.wait(10)
    assert actions.state()["steps"] == [] and actions.state()["done"][0]["ok"] is True


def test_the_command_line_says_how_many_rounds_a_click_runs(dash):
    dash.actions.rounds = 5  # lab.chaos.rounds, as invoke dashboard reads it
    code, text = call(dash, "POST", "/api/action/check", {"fault": "dns"})
    assert (code, json.loads(text)["rounds"]) == (200, 5)


def test_ctrl_c_waits_for_the_running_round_to_end(tmp_path, monkeypatch):
    """invoke dashboard --allow-actions, stopped while a fault is in place: it returns only once the round has
    ended (the round undoes its own fault), with the lab's configured rounds offered."""
    import threading
    from types import SimpleNamespace

    from lab.live import session
    from lab.live.shared import Viewer
    from tests.lab.labfakes import make_lab
    from tests.lab.livefakes import DELETED_AT, Clock, FakeProgress, recorded_collector, recorded_ctx, steady

    chaos = FakeChaos(hold=True)
    served = []
    monkeypatch.setattr(session, "Dashboard", lambda *a, **kw: served.append(Dashboard(*a, **kw)) or served[-1])

    def sleep(_seconds):  # the dashboard's idle loop: one click, then Ctrl-C while the round runs
        assert call(served[0], "POST", "/api/action", POD)[0] == 202 and chaos.started.wait(10)
        threading.Timer(0.5, chaos.release.set).start()
        raise KeyboardInterrupt

    monkeypatch.setattr(session, "time", SimpleNamespace(sleep=sleep))  # session's idle loop only
    ctx = recorded_ctx()
    ctx.add("config get-contexts", "kind-kind\n")
    lab = make_lab(tmp_path, ctx)
    writers = {t: FakeProgress(t, steady(DELETED_AT - 60, DELETED_AT)) for t in ("test", "test-2")}
    (tmp_path / "live").mkdir()
    monkeypatch.setattr(session, "viewer_for", lambda lab: Viewer(
        lambda: recorded_collector(tmp_path, ctx, writers, Clock(DELETED_AT)), tmp_path / "live"))
    session.run_dashboard(lab, act=chaos)
    (dash,) = served
    assert dash.actions.running is None and dash.actions.done[0].ok is True
    assert chaos.commands == [ChaosCommand(pod="cassandra-1")]
    assert dash.actions.rounds == lab.cfg.chaos.rounds
