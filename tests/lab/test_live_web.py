"""invoke dashboard: its JSON endpoints and its token check, through real HTTP requests to the server on a free
port, over the collector reading recorded outputs."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from lab.live import history
from lab.live.web import Dashboard
from tests.lab.livefakes import DELETED_AT, Clock, FakeProgress, recorded_collector, recorded_ctx, round_record, steady


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture
def served(tmp_path):
    """A dashboard on a free port over a polled collector, with one chaos round, its PNG and a report on disk."""
    clock = Clock(DELETED_AT + 30)
    artifacts, reports = tmp_path / "artifacts", tmp_path / "reports"
    (artifacts / "chaos").mkdir(parents=True)
    round_json = artifacts / "chaos" / "20261207T035900Z-round1.json"
    round_json.write_text(json.dumps(round_record(began=DELETED_AT, recovery=41.5, stall=3.25, lost=0)))
    round_json.with_suffix(".png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (reports / "20261207T040000Z").mkdir(parents=True)
    (reports / "20261207T040000Z" / "report.html").write_text("<html>report</html>")
    (tmp_path / "secret.txt").write_text("not served")
    progress = {"test": FakeProgress("test", steady(clock.now - 60, clock.now)),
                "test-2": FakeProgress("test-2", steady(clock.now - 60, clock.now - 5, per_s=50))}
    collector = recorded_collector(tmp_path, recorded_ctx(), progress, clock)
    collector.poll()
    collector.poll()
    dash = Dashboard(collector.latest, lambda: history.history(tmp_path, artifacts, reports), root=tmp_path,
                     folders=(artifacts, reports)).start()
    yield dash
    dash.stop()


def test_the_state_endpoint_answers_the_collectors_snapshot(served):
    code, body = _get(f"http://127.0.0.1:{served.port}/api/state?token={served.token}")
    assert code == 200
    snap = json.loads(body)
    assert [(r["pod"], r["state"]) for r in snap["ring"]] == [("cassandra-0", "UN"), ("cassandra-1", "?"),
                                                             ("cassandra-2", "UJ"), ("", "DN")]
    writers = {w["name"]: w for w in snap["writers"]}
    assert writers["ece573-prj04-writer"]["rate"] == 100.0 and not writers["ece573-prj04-writer"]["stalled"]
    assert writers["ece573-prj04-writer-2"]["stalled"] and writers["ece573-prj04-writer-2"]["consistency"] == "ONE"
    assert [f["recovery_s"] for f in snap["faults"]] == [41.5]
    assert max(v for _, v in snap["rates"]["ece573-prj04-writer"]) == 100.0


def _events(answer, count: int) -> list[tuple[str, dict]]:
    """The next ``count`` events of an open event stream, as (event, data)."""
    found: list[tuple[str, dict]] = []
    event, data = "", ""
    while len(found) < count:
        line = answer.readline().decode()
        assert line, "the stream ended"
        if line.startswith("event: "):
            event = line[len("event: "):].strip()
        elif line.startswith("data: "):
            data = line[len("data: "):]
        elif line == "\n" and event:
            found.append((event, json.loads(data)))
            event, data = "", ""
    return found


def test_the_event_stream_pushes_the_state_and_the_history_then_each_change(served):
    with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/api/events?token={served.token}",
                                timeout=10) as answer:
        assert answer.headers.get_content_type() == "text/event-stream"
        first = dict(_events(answer, 2))
        assert set(first) == {"state", "history"}
        assert first["state"] == json.loads(_get(f"http://127.0.0.1:{served.port}/api/state?token={served.token}")[1])
        assert first["history"]["rounds"][0]["recovery_s"] == 41.5
        before = first["state"]["at"]
        snap = served.state()
        served.state = lambda: replace(snap, at=before + 2)  # the collector's next pass
        (event, state), = _events(answer, 1)
        assert (event, state["at"]) == ("state", before + 2)


def test_many_streams_are_fed_by_one_read_a_tick_and_stop_ends_them(served):
    reads = []
    state = served.state
    served.state = lambda: reads.append(time.monotonic()) or state()
    url = f"http://127.0.0.1:{served.port}/api/events?token={served.token}"
    streams = [urllib.request.urlopen(url, timeout=10) for _ in range(4)]
    try:
        for answer in streams:
            assert _events(answer, 1)[0][0] in ("state", "history")
        reads.clear()
        time.sleep(3)
        assert 2 <= len(reads) <= 5, f"{len(reads)} reads of the state in 3 s for 4 streams"  # one a second
        began = time.monotonic()
        served.stop()
        for answer in streams:
            while answer.readline():  # each stream ends, and the server with them
                pass
        assert time.monotonic() - began < 3 and not served._thread.is_alive()
    finally:
        for answer in streams:
            answer.close()


def test_the_chart_library_is_served_from_the_lab_with_its_licence(served):
    base = f"http://127.0.0.1:{served.port}/static/uplot"
    code, script = _get(f"{base}/uPlot.iife.min.js?token={served.token}")
    assert code == 200 and b"uPlot" in script and len(script) > 20_000
    code, licence = _get(f"{base}/LICENSE?token={served.token}")
    assert code == 200 and b"MIT" in licence
    code, page = _get(served.url)
    assert b"/static/uplot/uPlot.iife.min.js" in page and b"//cdn" not in page and b"https://" not in page


def test_the_history_lists_the_round_with_its_figures_and_links_that_serve_its_files(served):
    code, body = _get(f"http://127.0.0.1:{served.port}/api/history?token={served.token}")
    assert code == 200
    h = json.loads(body)
    (row,) = h["rounds"]
    assert (row["target"], row["recovery_s"], row["stall_s"], row["lost_rows"], row["result"]) == (
        "cassandra-1", 41.5, 3.25, 0, "ok")
    assert h["reports"] == [{"stamp": "20261207T040000Z", "html": "reports/20261207T040000Z/report.html"}]
    code, png = _get(f"http://127.0.0.1:{served.port}/files/{row['png']}?token={served.token}")
    assert (code, png[:4]) == (200, b"\x89PNG")
    code, page = _get(f"http://127.0.0.1:{served.port}/files/{h['reports'][0]['html']}?token={served.token}")
    assert (code, page) == (200, b"<html>report</html>")


@pytest.mark.parametrize("path", ["/", "/api/state", "/api/history", "/api/events", "/static/uplot/uPlot.iife.min.js",
                                  "/files/artifacts/chaos/20261207T035900Z-round1.json"])
@pytest.mark.parametrize("token", ["", "?token=", "?token=wrong"], ids=["none", "empty", "wrong"])
def test_without_the_token_every_path_answers_403(served, path, token):
    code, body = _get(f"http://127.0.0.1:{served.port}{path}{token}")
    assert code == 403 and b"forbidden" in body


def test_the_page_is_served_with_the_token_and_files_outside_the_artifacts_are_not(served):
    code, page = _get(served.url)
    assert code == 200 and b'id="ring"' in page and b'id="writers"' in page
    for outside in ("secret.txt", "artifacts/../secret.txt", "..%2F..%2Fetc%2Fpasswd"):
        assert _get(f"http://127.0.0.1:{served.port}/files/{outside}?token={served.token}")[0] == 404


def test_it_listens_on_loopback_only(served):
    assert served.address[0] == "127.0.0.1"
    assert served.url.startswith(f"http://127.0.0.1:{served.port}/?token=") and len(served.token) >= 32


def test_a_port_in_use_is_one_error_line(tmp_path, served):
    from lab.errors import PreconditionError
    from lab.live import session
    from tests.lab.labfakes import make_lab
    from tests.lab.livefakes import recorded_ctx

    ctx = recorded_ctx()
    ctx.add("config get-contexts", "kind-kind\n")
    with pytest.raises(PreconditionError, match=rf"--port {served.port}: cannot listen on 127.0.0.1:{served.port}"):
        session.run_dashboard(make_lab(tmp_path, ctx), port=served.port)
    with pytest.raises(PreconditionError, match="--port 70000: a TCP port is 1..65535"):
        session.run_dashboard(make_lab(tmp_path, ctx), port=70000)
