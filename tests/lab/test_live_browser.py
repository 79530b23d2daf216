"""The dashboard in a real browser: headless Chromium (Debian's chromium and chromium-driver) driven by Selenium,
over the collector reading recorded outputs of a chaos round's start. Selenium rather than Playwright: it drives
the distribution's Chromium through the distribution's chromedriver, with no browser download of its own (Playwright
pins a browser build and fetches it). Screenshots go to artifacts/screenshots/, to be looked at."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from lab.chaos.command import ChaosCommand
from lab.live import history, terminal
from lab.live.web import Dashboard
from tests.lab.chromium import chromium
from tests.lab.livefakes import (
    CLOSE_ROUNDS,
    DELETED_AT,
    Clock,
    FakeChaos,
    action_dashboard,
    close_rounds_scene,
    fault_scene,
)

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _missing(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"CI {why}")
    pytest.skip(f"no browser here: {why}")


@pytest.fixture
def browser():
    driver = chromium(_missing)
    yield driver
    driver.quit()


def _full_page(driver, path: Path) -> Path:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, max(1000, height + 40))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


def test_the_dashboard_draws_the_ring_the_writers_and_the_history(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    collector = fault_scene(tmp_path, Clock(DELETED_AT + 5))
    snap = collector.latest()
    artifacts = tmp_path / "artifacts"
    dash = Dashboard(collector.latest, lambda: history.history(tmp_path, artifacts, tmp_path / "reports"),
                     root=tmp_path, folders=(artifacts,)).start()
    try:
        browser.get(dash.url)
        wait = WebDriverWait(browser, 20)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#ring [data-pod="cassandra-1"]'))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rounds tbody tr"))
        ring = {e.get_attribute("data-pod"): e.get_attribute("data-state")
                for e in browser.find_elements(By.CSS_SELECTOR, "#ring .ring-node")}
        assert ring == {r.pod: r.state for r in snap.ring} == {"cassandra-0": "UN", "cassandra-1": "DN",
                                                               "cassandra-2": "UJ"}
        workers = [e.get_attribute("data-worker")
                   for e in browser.find_elements(By.CSS_SELECTOR, "#ring g[data-worker]")]
        assert {"kind-worker", "kind-worker2", "kind-worker3"} <= set(workers)
        row = browser.find_element(By.CSS_SELECTOR, 'tr[data-writer="ece573-prj04-writer"]')
        seq = row.find_element(By.CSS_SELECTOR, "td.seq").text
        assert seq == str(snap.writers[0].seq) and "acknowledging" in row.text
        stalled = browser.find_element(By.CSS_SELECTOR, 'tr[data-writer="ece573-prj04-writer-2"] td.stalled')
        assert stalled.text.startswith("STALLED: no acknowledgement for 4 s")
        # the chart is uPlot's (served by the lab): its canvas, a series per writer with the snapshot's figures
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#chart .uplot canvas"))
        drawn = browser.execute_script("const c = window.labChart; return {series: c.series.slice(1).map((s) => "
                                       "s.label), peak: Math.max(...c.data[1].filter((v) => v != null))}")
        assert drawn["series"] == list(snap.rates)
        assert drawn["peak"] == max(v for _, v in snap.rates[drawn["series"][0]])
        assert "ece573-prj04-writer" in browser.find_element(By.CSS_SELECTOR, "#chart .u-legend").text
        cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#rounds tbody tr:first-child td")]
        assert cells[2:8] == ["cassandra-1", "pod", "38.2", "3.500", "0", "ok"]
        shot = _full_page(browser, SCREENSHOTS / "dashboard.png")
        assert shot.stat().st_size > 20_000
    finally:
        dash.stop()


def test_the_page_follows_the_event_stream_without_polling_or_reloading_and_reconnects(tmp_path, browser):
    """The state changes on the server: the open page shows it (pushed on /api/events, no request of its own for the
    state, the same document); the dashboard stops and comes back on its port: the page picks the stream up again."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    collector = fault_scene(tmp_path, Clock(DELETED_AT + 5))
    snap = collector.latest()
    back = replace(snap, at=snap.at + 2, ring=[replace(r, state="UN") for r in snap.ring])

    def serve(state, port=0):
        return Dashboard(state, lambda: history.history(tmp_path, tmp_path / "artifacts", tmp_path / "reports"),
                         root=tmp_path, folders=(tmp_path / "artifacts",), port=port, token="t" * 32).start()

    def ring(d) -> dict[str, str]:
        return dict(d.execute_script("return Array.from(document.querySelectorAll('#ring .ring-node'))"
                                     ".map((e) => [e.dataset.pod, e.dataset.state])"))

    dash = serve(lambda: snap)
    try:
        browser.get(dash.url)
        wait = WebDriverWait(browser, 20)
        wait.until(lambda d: ring(d).get("cassandra-1") == "DN")
        browser.execute_script("window.sameDocument = true")
        dash.state = lambda: back  # the collector's next pass: cassandra-1 back
        wait.until(lambda d: ring(d).get("cassandra-1") == "UN")
        requests = browser.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
        assert browser.execute_script("return window.sameDocument") is True
        assert not [r for r in requests if "/api/state" in r or "/api/history" in r], requests
        assert [r for r in requests if "/static/uplot/uPlot.iife.min.js" in r]

        port = dash.port
        dash.stop()
        wait.until(lambda d: d.find_element(By.ID, "link").text.startswith("the lab's dashboard stopped answering"))
        dash = serve(lambda: snap, port=port)  # the same URL again, cassandra-1 down again
        WebDriverWait(browser, 30).until(lambda d: ring(d).get("cassandra-1") == "DN")
        wait.until(lambda d: d.find_element(By.ID, "link").text == "")
        assert browser.execute_script("return window.sameDocument") is True
    finally:
        dash.stop()


def test_rounds_seconds_apart_get_numbered_marks_that_do_not_overlap_and_a_list_of_their_figures(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    collector = close_rounds_scene(tmp_path, Clock(DELETED_AT + 5))
    artifacts = tmp_path / "artifacts"
    dash = Dashboard(collector.latest, lambda: history.history(tmp_path, artifacts, tmp_path / "reports"),
                     root=tmp_path, folders=(artifacts,)).start()
    try:
        browser.set_window_size(1400, 1000)
        browser.get(dash.url)
        wait = WebDriverWait(browser, 20)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#chart .fault-mark")) == len(CLOSE_ROUNDS))
        boxes = browser.execute_script("return [...document.querySelectorAll('#chart .fault-mark')].map((m) => {const "
                                       "r = m.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom];})")
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], f"marks {a} and {b} overlap"
        rows = sorted({round(b[1]) for b in boxes})
        assert len(rows) > 1 and round(boxes[4][1]) == rows[0]  # stacked where close; round 5, alone, on the first
        items = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#fault-legend li")]
        assert [i.split(" ", 1)[0] for i in items] == ["1", "2", "3", "4", "5"]
        assert "round 2 crash cassandra-1, began " in items[1] and items[1].endswith(
            "recovery 9.8 s, stall 0.50 s, lost 0 (ok)")
        assert items[3].endswith("lost 12 (LOST 12 rows)")
        shot = _full_page(browser, SCREENSHOTS / "dashboard-close-rounds.png")
        assert shot.stat().st_size > 20_000
    finally:
        dash.stop()


def test_the_watch_view_as_a_terminal_draws_it(tmp_path, browser):
    """invoke watch's screen over the same scene, recorded by rich as SVG and photographed by the browser."""
    collector = fault_scene(tmp_path, Clock(DELETED_AT + 5))
    console = Console(record=True, width=110, file=io.StringIO(), force_terminal=True)
    console.print(terminal.render(collector.latest()))
    svg = tmp_path / "watch.svg"
    console.save_svg(str(svg), title="invoke watch")
    text = svg.read_text()
    assert "STALLED" in text and "cassandra-1" in text
    browser.get(svg.as_uri())
    shot = _full_page(browser, SCREENSHOTS / "watch.png")
    assert shot.stat().st_size > 20_000


def test_with_allow_actions_a_click_asks_then_runs_and_shows_its_result(tmp_path, browser):
    """--allow-actions over an injected chaos run (no cluster): the page's button asks in a dialog, the run shows as
    running with the step it is in, then its result row; a second click meanwhile is refused on the page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    chaos = FakeChaos(hold=True)
    steps = ["Chaos round 1/1: stop node kind-worker3 for 20s, then start it (4s)  kind-worker3 NotReady"]
    dash = action_dashboard(tmp_path, chaos, steps=lambda: steps)  # what lab.progress would say of the round
    try:
        browser.get(dash.url)
        wait = WebDriverWait(browser, 20)
        row = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#action-menu tr[data-fault="node"]'))
        wait.until(lambda d: len(row.find_elements(By.CSS_SELECTOR, "select.target option")) == 4)
        Select(row.find_element(By.CSS_SELECTOR, "select.target")).select_by_value("kind-worker3")
        down = row.find_element(By.CSS_SELECTOR, "input.down")
        down.clear()
        down.send_keys("20")

        row.find_element(By.CSS_SELECTOR, "button.run").click()  # first: cancelled, nothing runs
        dialog = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "dialog#confirm[open]"))
        assert "invoke chaos --node kind-worker3 --down 20" in dialog.text
        browser.find_element(By.ID, "confirm-cancel").click()
        wait.until(lambda d: "cancelled" in d.find_element(By.ID, "action-message").text)
        assert chaos.commands == []

        row.find_element(By.CSS_SELECTOR, "button.run").click()
        dialog = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "dialog#confirm[open]"))
        assert "stop node kind-worker3 for 20s" in dialog.text
        _full_page(browser, SCREENSHOTS / "dashboard-confirm.png")
        browser.find_element(By.ID, "confirm-run").click()
        running = wait.until(lambda d: d.find_element(By.ID, "action-running"))
        wait.until(lambda d: running.is_displayed() and "invoke chaos --node kind-worker3 --down 20" in running.text)
        shown = " ".join(steps[0].split())  # the browser's text collapses runs of spaces
        wait.until(lambda d: shown in d.find_element(By.ID, "action-steps").text)
        assert chaos.commands == [ChaosCommand(node="kind-worker3", down=20)]

        dns = browser.find_element(By.CSS_SELECTOR, '#action-menu tr[data-fault="dns"] button.run')
        dns.click()  # while one runs: refused, with the running command named
        wait.until(lambda d: d.find_element(By.ID, "action-message").text.startswith(
            "busy: `invoke chaos --node kind-worker3 --down 20` is running"))
        _full_page(browser, SCREENSHOTS / "dashboard-action-running.png")

        chaos.release.set()
        result = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, '#action-results tr[data-action="1"]'))
        wait.until(lambda d: not d.find_element(By.ID, "action-running").is_displayed())
        assert "invoke chaos --node kind-worker3 --down 20" in result.text
        assert result.find_element(By.CSS_SELECTOR, "td.result").text == "ok"
        assert "round 1 node kind-worker3: recovery 12.5 s, stall 0.750 s, lost 0 (ok)" in result.text
        assert len(chaos.commands) == 1
        wait.until(lambda d: d.find_element(By.ID, "action-message").text == "")  # the busy line went with the run
        _full_page(browser, SCREENSHOTS / "dashboard-action-done.png")
    finally:
        chaos.release.set()
        dash.actions.wait(30)
        dash.stop()


def test_without_allow_actions_the_page_has_no_buttons(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    dash = action_dashboard(tmp_path)
    try:
        browser.get(dash.url)
        WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#ring [data-pod="cassandra-1"]'))
        assert not browser.find_element(By.ID, "actions").is_displayed()
        assert browser.find_elements(By.CSS_SELECTOR, "button.run") == []
    finally:
        dash.stop()
