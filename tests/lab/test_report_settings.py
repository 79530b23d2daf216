"""lab.report.*: the hand-in's title block (name, course, date, title), validated, and refreshed on a re-render."""

import dataclasses
import shutil

import pytest

from lab import report as report_lib
from lab.config import LabConfig
from lab.errors import PreconditionError
from lab.report.collect import hand_in, refresh_hand_in
from tests.lab.reportdata import NB


def test_defaults_and_today():
    cfg = LabConfig.from_mapping({})
    assert dataclasses.asdict(cfg.report) == {"name": "", "course": "ECE 573", "date": "today",
                                              "title": "Project 4: Container Orchestration with Kubernetes"}
    assert hand_in(cfg, now=1764100800.0)["date"] == "2025-11-25"


def test_a_date_from_yaml_is_kept_as_written():
    import datetime

    cfg = LabConfig.from_mapping({"report": {"date": datetime.date(2024, 11, 3), "name": "Ada Lovelace"}})
    assert hand_in(cfg, now=1764100800.0) == {"name": "Ada Lovelace", "course": "ECE 573", "date": "2024-11-03",
                                              "title": "Project 4: Container Orchestration with Kubernetes"}


@pytest.mark.parametrize("report, message", [
    ({"date": "Nov 3"}, "lab.report.date is 'Nov 3'; give \"today\" or a date like 2024-11-03"),
    ({"nmae": "Ada"}, "unknown setting lab.report.nmae; did you mean lab.report.name?"),
], ids=["bad-date", "typo-key"])
def test_bad_settings_are_one_line(report, message):
    with pytest.raises(PreconditionError) as err:
        LabConfig.from_mapping({"report": report})
    assert str(err.value) == message


def test_a_rerender_takes_the_name_set_after_collecting(tmp_path, capsys):
    saved = {"name": "", "course": "ECE 573", "date": "2025-11-25", "title": "T"}
    assert refresh_hand_in(saved, {"name": "Ada", "course": "ECE 473", "date": "today", "title": ""}) == {
        "name": "Ada", "course": "ECE 473", "date": "2025-11-25", "title": "T"}
    shutil.copy(NB / "down/report.json", tmp_path / "report.json")
    report_lib.run(lambda: pytest.fail("no lab for a re-render"), rerender=str(tmp_path),
                   hand_in={"name": "Ada Lovelace", "course": "ECE 573", "date": "2024-11-03", "title": ""})
    md = (tmp_path / "report.md").read_text()
    assert "**Name:** Ada Lovelace" in md and "**Date:** 2024-11-03" in md
    assert capsys.readouterr().out.splitlines() == [str(tmp_path / "report.md"), str(tmp_path / "report.html")]
