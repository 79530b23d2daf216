import io
import json

from lab import output


def test_table_aligns_columns_and_prints():
    out = io.StringIO()
    text = output.table(["topic", "rows"], [["test", 10], ["orders", None]], stream=out, title="T")
    assert text.splitlines() == ["T", "topic   rows", "------  ----", "test    10", "orders"]
    assert out.getvalue() == text + "\n"


def test_write_json_is_sorted_and_makes_folders(tmp_path):
    path = output.write_json(tmp_path / "a/b.json", {"z": 1, "a": [1, 2]})
    assert json.loads(path.read_text()) == {"a": [1, 2], "z": 1}
    assert path.read_text().index('"a"') < path.read_text().index('"z"')


def test_timestamp_and_age():
    assert output.timestamp(0) == "19700101T000000Z"
    assert [output.age(s) for s in (5, 125, 7300, 200000, -3)] == ["5s", "2m", "2h", "2d", "0s"]
