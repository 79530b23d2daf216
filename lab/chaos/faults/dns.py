"""Take the cluster's DNS away for ``down`` seconds: CoreDNS scaled to 0, then back to its replicas.

Names stop resolving (``cassandra-service``, the pods' own names), while every address already known keeps
working: a writer with a live session notices nothing, a writer that must resolve its seeds again (every
Cassandra pod back at a new address) waits for DNS. The round remembers how many replicas CoreDNS had and
scales back to exactly that, in any case when the round ends (``restore`` runs in a ``finally``), then waits
until they are all Ready again and the ring is UN.
"""

from __future__ import annotations

import dataclasses

from lab import kubectl
from lab.chaos import watch
from lab.chaos.faults.base import Fault, register
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.errors import LabError, PreconditionError
from lab.names import CASSANDRA_PODS

#: Where kind (and kubeadm) put the cluster DNS: Deployment coredns in kube-system.
NAMESPACE, DEPLOYMENT = "kube-system", "coredns"
TARGET = "coredns"


def replicas(deployment: dict | None) -> tuple[int, int]:
    """(desired, ready) replicas of a Deployment's JSON; (0, 0) when it is missing."""
    if not deployment:
        return 0, 0
    return (int(deployment.get("spec", {}).get("replicas") or 0),
            int(deployment.get("status", {}).get("readyReplicas") or 0))


@register("dns")
class DnsDown(Fault):
    target = "cassandra"
    timed = True

    def __init__(self, name: str = TARGET, **kwargs):
        super().__init__(name or TARGET, **kwargs)
        self.replicas = 0  # CoreDNS's replicas before the fault: what restore scales back to
        self.scaled = False

    def title(self) -> str:
        return f"stop cluster DNS for {self.down:.0f}s (CoreDNS scaled to 0), then scale it back"

    def _kube(self, env: Env) -> kubectl.Kubectl:
        return dataclasses.replace(env.kube, namespace=NAMESPACE)

    def _deployment(self, env: Env) -> dict | None:
        return kubectl.get_json(env.runner, self._kube(env), "deployment", DEPLOYMENT)

    def _scale(self, env: Env, count: int) -> None:
        env.runner.run(self._kube(env).scale_args(f"deployment/{DEPLOYMENT}", count), timeout=60)

    def prepare(self, env: Env) -> None:
        watch.require_ready(env, CASSANDRA_PODS)
        desired, ready = replicas(self._deployment(env))
        if desired < 1:
            raise PreconditionError(f"deployment {DEPLOYMENT} in {NAMESPACE} has no replicas to stop; is this a "
                                    "kind cluster?")
        if ready < desired:
            raise PreconditionError(f"CoreDNS has {ready} of {desired} replicas Ready; wait for it before a round")
        self.replicas = desired

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = TARGET
        env.note(result, TARGET, f"scaled from {self.replicas} replica(s) to 0: names stop resolving")
        self.scaled = True
        self._scale(env, 0)

    def observe(self, env: Env, result: RoundResult) -> None:
        try:
            desired, ready = replicas(self._deployment(env))
        except LabError:
            return
        env.note(result, TARGET, f"{ready} of {desired} replica(s) Ready")

    def restore(self, env: Env, result: RoundResult) -> None:
        if not self.scaled:
            return
        self._scale(env, self.replicas)
        self.scaled = False
        result.restored_at = env.clock()
        env.note(result, TARGET, f"scaled back to {self.replicas} replica(s)")

    def recover(self, env: Env, result: RoundResult) -> None:
        state = [""]

        def back() -> bool:
            desired, ready = replicas(self._deployment(env))
            state[0] = f"{ready} of {desired} replica(s) Ready"
            env.note(result, TARGET, state[0])
            return desired == self.replicas and ready >= self.replicas

        timeout = env.settings.timeout
        if not kubectl.wait_until(back, timeout=timeout, every=1.0, clock=env.clock, sleep=env.sleep):
            result.error = f"CoreDNS not back within {timeout:.0f}s of scaling it to {self.replicas} ({state[0]})"
            return
        watch.await_cassandra(env, result, CASSANDRA_PODS, set(), observer=self.observer_pod())

    def dry_run(self, env: Env) -> None:
        try:
            self.replicas = replicas(self._deployment(env))[0] or 2
        except LabError:
            self.replicas = 2  # kind's default
        self._scale(env, 0)
        print(f"[dry-run] # ... {self.down:.0f}s later")
        self._scale(env, self.replicas)
