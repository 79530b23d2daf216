"""Delete one pod: a Cassandra replica (its StatefulSet recreates it under the same name, on the same
node-local volume) or the writer (its Deployment starts a new one that resumes from Cassandra)."""

from __future__ import annotations

import re

from lab import kubectl, names, writers
from lab.chaos import watch
from lab.chaos.faults.base import Fault, register
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.errors import LabError, PreconditionError
from lab.writers import Writer

POD_HELP = ("name a Cassandra pod (cassandra-0..2), the writer ('writer', or 'writer-N' for the N-th topic's) or "
            "a writer pod by name, 'cassandra' for all three at once, or 'random'")


def target_of(pod: str) -> str:
    """"cassandra" or "writer" for a pod name a user may give; one line for anything else."""
    if re.fullmatch(r"cassandra-\d+", pod):
        return "cassandra"
    if re.fullmatch(r"writer(-[1-9]\d*)?", pod) or pod.startswith(names.WRITER_DEPLOYMENT):
        return "writer"
    raise PreconditionError(f"--pod {pod!r}: {POD_HELP}")


def writer_of(env: Env, pod: str) -> Writer:
    """The writer ``--pod`` names: 'writer' the first, 'writer-N' the N-th, a pod name the one whose pod it is."""
    deployed = env.all_writers()
    if pod.startswith(names.WRITER_DEPLOYMENT):
        found = kubectl.get_json(env.runner, env.kube, "pod", pod)
        if found is None:
            raise PreconditionError(f"--pod {pod!r}: no such pod; `invoke status` lists the writer pods")
        app = found.get("metadata", {}).get("labels", {}).get("app", "")
        match = [w for w in deployed if w.name == app]
    else:
        number = int(pod.split("-")[1]) if "-" in pod else 1
        match = [w for w in deployed if w.number == number]
    if not match:
        raise PreconditionError(f"--pod {pod!r}: no such writer; deployed: {writers.describe(deployed)}")
    return match[0]


def other_cassandra(pod: str) -> str:
    """A Cassandra pod other than ``pod`` to run cqlsh/nodetool in while ``pod`` is down."""
    return "cassandra-1" if pod == "cassandra-0" else "cassandra-0"


@register("pod")
class DeletePod(Fault):
    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.target = target_of(name)
        self.victim = name
        self.writer: Writer | None = None  # for a writer target: whose pod (found in prepare)
        self.old_uids: set[str] = set()

    def title(self) -> str:
        return f"delete {self.name}{' (forced)' if self.force else ''}"

    def observer_pod(self) -> str:
        return other_cassandra(self.name)

    def sample_metrics(self, env: Env) -> bool:
        return self.target == "cassandra"  # a port-forward to the writer dies with the writer's pod

    def prepare(self, env: Env) -> None:
        if self.target == "cassandra":
            before = kubectl.get_json(env.runner, env.kube, "pod", self.name)
            if before is None or not kubectl.pod_ready(before):
                raise PreconditionError(f"{self.name} is not Ready; run `invoke status` and wait before a chaos round")
            self.old_uids = {kubectl.pod_uid(before)}
            return
        self.writer = writer_of(env, self.name)
        items, ready = watch.ready_writers(env, self.writer)
        if not ready:
            raise PreconditionError(f"no Ready pod of writer {self.writer.name}; run `invoke deploy` first")
        self.old_uids = {kubectl.pod_uid(p) for p in items}
        named = [p for p in ready if p["metadata"]["name"] == self.name]
        if self.name.startswith(names.WRITER_DEPLOYMENT) and not named:
            raise PreconditionError(f"{self.name} is not Ready; run `invoke status` and wait before a chaos round")
        self.victim = (named or ready)[0]["metadata"]["name"]

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = self.victim
        env.runner.run(env.kube.delete_pod_args(self.victim, force=self.force), timeout=120)

    def recover(self, env: Env, result: RoundResult) -> None:
        if self.target == "cassandra":
            watch.await_cassandra(env, result, [self.name], self.old_uids, observer=self.observer_pod())
        else:
            watch.await_writer(env, result, self.old_uids, only=self.writer)

    def dry_run(self, env: Env) -> None:
        if self.target == "writer":
            try:
                writer = writer_of(env, self.name)
                ready = watch.ready_writers(env, writer)[1]
            except LabError:
                writer, ready = None, []
            self.victim = ready[0]["metadata"]["name"] if ready else \
                f"<a Ready pod of {writer.selector if writer else names.WRITER_SELECTOR}>"
        env.runner.run(env.kube.delete_pod_args(self.victim, force=self.force), timeout=120)
