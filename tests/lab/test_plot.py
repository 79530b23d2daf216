import json
import shutil

import numpy as np
from PIL import Image

from lab import plot
from lab.plot import Rate, rates
from tests.lab.labfakes import DATA

ROUND = DATA / "notebook/artifacts/chaos/20251125T193003Z-round1.json"


def test_rates_span_failed_reads_and_never_go_negative():
    samples = [[0.0, 0], [0.5, 500], [1.0, None], [1.5, 1500], [2.0, 1500], [2.5, 1400]]
    assert rates(samples) == [Rate(0.0, 0.5, 1000.0), Rate(0.5, 1.5, 1000.0), Rate(1.5, 2.0, 0.0),
                              Rate(2.0, 2.5, 0.0)]
    assert rates([[0, None], [1, 5]]) == []


def test_rates_of_a_recorded_round_show_the_stall():
    record = json.loads(ROUND.read_text())
    steps = rates(record["progress"])
    stalled = [r for r in steps if r.per_second == 0]
    assert [(r.start - record["deleted_at"], r.end - record["deleted_at"]) for r in stalled] == [
        (0.0, 0.5), (0.5, 1.0), (1.0, 1.5)]
    assert min(r.per_second for r in steps if r.per_second) > 800  # ~1000 rows/s otherwise


def _colour_columns(img, rgb, tol=40):
    """x positions of columns holding at least 20 pixels near ``rgb``."""
    pixels = np.asarray(img, dtype=int)
    near = (np.abs(pixels - np.array(rgb)) <= tol).all(axis=2)
    return list(np.nonzero(near.sum(axis=0) >= 20)[0])


def test_plot_file_draws_a_png_beside_the_json_with_kill_and_ready_lines(tmp_path):
    json_path = tmp_path / ROUND.name
    shutil.copy(ROUND, json_path)
    png = plot.plot_file(json_path)
    assert png == tmp_path / "20251125T193003Z-round1.png" and png.is_file()
    img = Image.open(png).convert("RGB")
    assert img.size == (int(plot.WIDTH * plot.DPI), int(plot.HEIGHT * plot.DPI))
    assert len(np.unique(np.asarray(img).reshape(-1, 3), axis=0)) > 50  # not blank
    red = _colour_columns(img, (214, 39, 40))  # tab:red, the deletion
    green = _colour_columns(img, (44, 160, 44))  # tab:green, Ready and all UN
    assert red and green
    assert min(green) - max(red) > 200  # Ready comes ~35 s after the kill, far to its right


def test_a_round_without_samples_still_draws(tmp_path):
    png = plot.plot_round({"round": 2, "pod": "writer", "deleted_at": 10.0, "progress": [], "ok": False,
                           "error": "writer not Ready within 600s"}, tmp_path / "r.png")
    assert Image.open(png).size == (1000, 400)


def test_plot_beside_never_raises(tmp_path, caplog):
    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    assert plot.plot_beside(bad) is None
    assert "could not draw" in caplog.text


def test_a_timed_fault_marks_its_end_between_the_start_and_ready(tmp_path):
    record = json.loads(ROUND.read_text())
    t0 = record["deleted_at"]
    record.update(fault="partition", pod="cassandra-2", down_s=20.0, restored_at=t0 + 20.0,
                  ready_at=t0 + 21.0, up_normal_at=t0 + 30.0)
    png = plot.plot_round(record, tmp_path / "partition.png")
    img = Image.open(png).convert("RGB")
    red = _colour_columns(img, (214, 39, 40))
    purple = _colour_columns(img, (148, 103, 189))  # tab:purple, the reconnect
    green = _colour_columns(img, (44, 160, 44))
    assert red and purple and green
    assert max(red) < min(purple) < max(green)


def test_fault_labels():
    assert plot.fault_label({"pod": "cassandra-1"}) == "delete cassandra-1"
    assert plot.fault_label({"fault": "crash", "pod": "cassandra-0,cassandra-1"}) == "SIGKILL cassandra-0,cassandra-1"
    assert plot.fault_label({"fault": "node", "pod": "kind-worker2", "down_s": 30}) == "stop kind-worker2 for 30 s"
    assert plot.fault_label({"fault": "partition", "pod": "cassandra-0", "down_s": 20.0}) == (
        "cut off cassandra-0 for 20 s")
