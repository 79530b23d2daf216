"""Delete one pod: a Cassandra replica (its StatefulSet recreates it under the same name, on the same
node-local volume) or the writer (its Deployment starts a new one that resumes from Cassandra)."""

from __future__ import annotations

import re

from lab import kubectl, names
from lab.chaos import watch
from lab.chaos.faults.base import Fault, register
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.errors import LabError, PreconditionError

POD_HELP = ("name a Cassandra pod (cassandra-0..2) or the writer ('writer'), 'cassandra' for all three at once, "
            "or 'random'")


def target_kind(pod: str) -> str:
    """"cassandra" or "writer" for a pod name a user may give; one line for anything else."""
    if re.fullmatch(r"cassandra-\d+", pod):
        return "cassandra"
    if pod == "writer" or pod.startswith(names.WRITER_DEPLOYMENT):
        return "writer"
    raise PreconditionError(f"--pod {pod!r}: {POD_HELP}")


def other_cassandra(pod: str) -> str:
    """A Cassandra pod other than ``pod`` to run cqlsh/nodetool in while ``pod`` is down."""
    return "cassandra-1" if pod == "cassandra-0" else "cassandra-0"


@register("pod")
class DeletePod(Fault):
    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.target = target_kind(name)
        self.victim = name
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
        items, ready = watch.ready_writers(env)
        if not ready:
            raise PreconditionError("no Ready writer pod; run `invoke deploy` first")
        self.old_uids = {kubectl.pod_uid(p) for p in items}
        self.victim = ready[0]["metadata"]["name"]

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = self.victim
        env.runner.run(env.kube.delete_pod_args(self.victim, force=self.force), timeout=120)

    def recover(self, env: Env, result: RoundResult) -> None:
        if self.target == "cassandra":
            watch.await_cassandra(env, result, [self.name], self.old_uids, observer=self.observer_pod())
        else:
            watch.await_writer(env, result, self.old_uids)

    def dry_run(self, env: Env) -> None:
        if self.target == "writer":
            try:
                ready = watch.ready_writers(env)[1]
            except LabError:
                ready = []
            self.victim = ready[0]["metadata"]["name"] if ready else f"<a Ready pod of {names.WRITER_SELECTOR}>"
        env.runner.run(env.kube.delete_pod_args(self.victim, force=self.force), timeout=120)
