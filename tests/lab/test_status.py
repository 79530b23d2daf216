import io

import pytest

from lab import status


def test_step_prints_start_and_tick():
    out = io.StringIO()
    with status.step("Creating cluster", stream=out) as s:
        s.note("5 nodes")
    assert out.getvalue() == " • Creating cluster ...\n ✓ Creating cluster (5 nodes)\n"


def test_step_prints_a_cross_and_reraises():
    out = io.StringIO()
    with pytest.raises(ValueError):
        with status.step("Loading image", stream=out):
            raise ValueError("boom")
    assert out.getvalue().splitlines()[-1] == " ✗ Loading image"


def test_quiet_silences_steps():
    out = io.StringIO()
    status.set_quiet(True)
    try:
        with status.step("x", stream=out):
            pass
        status.info("y", stream=out)
    finally:
        status.set_quiet(False)
    assert out.getvalue() == ""
