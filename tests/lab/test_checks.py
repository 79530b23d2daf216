import sys

from lab import checks


def test_pytest_args():
    assert checks.pytest_args() == [sys.executable, "-m", "pytest"]
    assert checks.pytest_args(quick=True, extra="-k 'kind and not slow' -x") == [
        sys.executable, "-m", "pytest", "-m", "not slow and not cluster", "-k", "kind and not slow", "-x"]


def test_bench_args():
    assert checks.bench_args("--seconds 5") == [sys.executable, "-m", "lab.bench", "--seconds", "5"]
