import sys

from lab import suites


def test_pytest_args():
    assert suites.pytest_args() == [sys.executable, "-m", "pytest"]
    assert suites.pytest_args(quick=True, extra="-k 'kind and not slow' -x") == [
        sys.executable, "-m", "pytest", "-m", "not slow and not cluster", "-k", "kind and not slow", "-x"]


def test_bench_args():
    assert suites.bench_args("--seconds 5") == [sys.executable, "-m", "lab.bench", "--seconds", "5"]
