"""The type check, in the quick tier: mypy with pyproject's [tool.mypy] over lab/, writer/ and tasks.py (the
writer strict, lab/ and tasks.py with every function body checked; the settings say why)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def mypy(*targets: str, cache: Path) -> subprocess.CompletedProcess[str]:
    """mypy as CI runs it, with the project's configuration and its cache outside the checkout."""
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                           "--cache-dir", str(cache), *targets], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_mypy_finds_nothing_in_lab_writer_and_tasks(tmp_path):
    out = mypy("lab", "writer", "tasks.py", cache=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_check_fails_on_a_type_error(tmp_path):
    # The check itself can fail: outside lab/ the strict settings hold, so an unannotated function and a str
    # passed as an int are both found.
    bad = tmp_path / "bad.py"
    bad.write_text("def double(n: int) -> int:\n    return n * 2\n\n\ndef untyped(x):\n    return double('2')\n")
    out = mypy(str(bad), cache=tmp_path / "cache")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "[no-untyped-def]" in out.stdout and "[arg-type]" in out.stdout, out.stdout
