"""Delete every Cassandra pod at once: a full outage. The StatefulSet brings them back together (Parallel),
each with a new IP address, so the writer must find the new addresses by itself."""

from __future__ import annotations

from lab import kubectl
from lab.chaos import watch
from lab.chaos.faults.base import Fault, register
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.names import CASSANDRA_PODS


@register("all-pods")
class DeleteAllCassandra(Fault):
    target = "cassandra"

    def __init__(self, name: str = "cassandra", **kwargs):
        super().__init__("cassandra", **kwargs)
        self.old_uids: set[str] = set()

    def title(self) -> str:
        return f"delete all Cassandra pods ({', '.join(CASSANDRA_PODS)}){' (forced)' if self.force else ''}"

    def prepare(self, env: Env) -> None:
        pods = watch.require_ready(env, CASSANDRA_PODS)
        self.old_uids = {kubectl.pod_uid(p) for p in pods.values()}

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = ",".join(CASSANDRA_PODS)
        env.runner.run(env.kube.delete_pods_args(list(CASSANDRA_PODS), force=self.force), timeout=120)

    def recover(self, env: Env, result: RoundResult) -> None:
        # No replica is left to ask until they are back: nodetool runs in cassandra-0 once it is Ready.
        watch.await_cassandra(env, result, CASSANDRA_PODS, self.old_uids, observer=self.observer_pod())

    def dry_run(self, env: Env) -> None:
        env.runner.run(env.kube.delete_pods_args(list(CASSANDRA_PODS), force=self.force), timeout=120)
