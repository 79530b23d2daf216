"""The node image recipe's build order on a fake runner: one build at a time per checkout (a second caller waits
and reuses), and the Go builds in two lanes side by side (no Go, no Docker)."""

from __future__ import annotations

import threading
import time

import pytest
from invoke import Result

from lab.errors import LabError
from lab.images.kindnode import gobuild, lock, steps
from lab.runner import Runner


@pytest.fixture
def build_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(lock, "BUILD", tmp_path)
    monkeypatch.setattr(lock, "LOCK_FILE", tmp_path / ".lock")
    monkeypatch.setattr(steps, "LOGS", tmp_path / "logs")
    monkeypatch.setattr(gobuild, "BIN", tmp_path / "bin")
    monkeypatch.setattr(gobuild, "require_go", lambda: None)
    return tmp_path


def test_a_second_build_waits_for_the_first_and_names_it(build_dir, capsys):
    order: list[str] = []
    first_holds = threading.Event()

    def first():
        with lock.build_lock("the node image"):
            order.append("first in")
            first_holds.set()
            time.sleep(0.5)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    first_holds.wait(5)
    started = time.monotonic()
    with lock.build_lock("kind and kubectl"):
        order.append("second in")
        waited = time.monotonic() - started
    thread.join()
    assert order == ["first in", "first out", "second in"]
    assert waited >= 0.3
    err = capsys.readouterr().err
    assert "is building the node image: waiting for it to finish before building kind and kubectl" in err
    assert (build_dir / ".lock").read_text() == "", "the lock file still names a holder that is gone"


def test_an_uncontended_lock_says_nothing(build_dir, capsys):
    with lock.build_lock("the node image"):
        pass
    assert "waiting" not in capsys.readouterr().err


class TimedCtx:
    """A Context whose commands each take ``seconds``; records (step's first word, start, end), thread-safe."""

    def __init__(self, seconds: float, fail: str = ""):
        self.seconds, self.fail = seconds, fail
        self.spans: list[tuple[str, float, float]] = []
        self.guard = threading.Lock()

    def run(self, command, **kwargs):
        began = time.monotonic()
        time.sleep(self.seconds)
        with self.guard:
            self.spans.append((command, began, time.monotonic()))
        failed = bool(self.fail) and self.fail in command
        return Result(stdout="", stderr="no such module" if failed else "", exited=1 if failed else 0,
                      command=command)


def span(ctx: TimedCtx, needle: str) -> tuple[float, float]:
    [(start, end)] = [(s, e) for command, s, e in ctx.spans if needle in command]
    return start, end


def test_the_go_installs_run_beside_the_kubernetes_build_and_all_seven_finish(build_dir):
    ctx = TimedCtx(0.2)
    gobuild.build_binaries(Runner(ctx, echo=False))
    assert len(ctx.spans) == 7, [c for c, _, _ in ctx.spans]
    kubernetes, coredns = span(ctx, "cmd/kube-apiserver"), span(ctx, "coredns")
    assert coredns[0] < kubernetes[1], "CoreDNS waited for the Kubernetes build"
    assert span(ctx, "crictl")[0] >= kubernetes[1], "the Kubernetes lane is no longer in order"
    assert span(ctx, "kube-router")[0] >= span(ctx, "local-path-provisioner")[1]
    assert (build_dir / "bin" / ".stamp").exists()


def test_a_failed_lane_names_its_step_and_leaves_no_stamp(build_dir):
    ctx = TimedCtx(0.05, fail="local-path-provisioner")
    with pytest.raises(LabError, match=r"building local-path-provisioner failed .*no such module"):
        gobuild.build_binaries(Runner(ctx, echo=False))
    ran = [command for command, _, _ in ctx.spans]
    assert len(ran) == 6, f"the Kubernetes lane runs to its end (4), the other stops at its failure (2): {ran}"
    assert not any("kube-router" in command for command in ran)
    assert not (build_dir / "bin" / ".stamp").exists()
