"""lab.state: the tags earlier tasks chose, on disk in state.json; a dry run keeps them in memory only."""

import json

import pytest

from lab import state


def test_put_get_round_trip_on_disk(tmp_path):
    state_dir = tmp_path / "lab"
    state.put(state_dir, "writer_image", "lab/writer:abc")
    state.put(state_dir, "cassandra_image", "lab/cassandra:5.0.2-def")
    assert (state_dir / "state.json").read_text() == (
        '{\n  "cassandra_image": "lab/cassandra:5.0.2-def",\n  "writer_image": "lab/writer:abc"\n}\n')
    assert state.get(state_dir, "writer_image") == "lab/writer:abc"
    assert state.get(state_dir, "nothing") is None
    state.put(state_dir, "writer_image", "lab/writer:xyz")
    assert json.loads((state_dir / "state.json").read_text())["writer_image"] == "lab/writer:xyz"


def test_dry_put_stays_in_the_record_of_its_run(tmp_path):
    with state.planning({}) as record:
        state.put(tmp_path, "writer_image", "lab/writer:dry", dry=True)
        assert not (tmp_path / "state.json").exists()
        assert state.get(tmp_path, "writer_image") == "lab/writer:dry"
    assert record == {"writer_image": "lab/writer:dry"}
    assert state.get(tmp_path, "writer_image") is None  # the run is over


def test_a_dry_value_shadows_the_file_without_changing_it(tmp_path):
    state.put(tmp_path, "writer_image", "lab/writer:disk")
    with state.planning({}):
        state.put(tmp_path, "writer_image", "lab/writer:dry", dry=True)
        assert state.load(tmp_path) == {"writer_image": "lab/writer:dry"}
    assert json.loads((tmp_path / "state.json").read_text()) == {"writer_image": "lab/writer:disk"}
    assert state.get(tmp_path, "writer_image") == "lab/writer:disk"


def test_a_dry_put_outside_a_run_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="planning"):
        state.put(tmp_path, "writer_image", "lab/writer:dry", dry=True)
