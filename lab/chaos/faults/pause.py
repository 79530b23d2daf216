"""Freeze one Cassandra JVM for ``down`` seconds, then let it run again: a stop-the-world pause, a process
that no longer answers while its pod, its node and its TCP connections all stay up.

SIGSTOP goes to the JVM's pid from its kind node (found as ``--crash`` finds it: ``crictl inspect``), because
from inside the container's own pid namespace its PID 1 ignores the signal; SIGCONT after ``down`` seconds,
and in any case when the round ends (``restore`` runs in a ``finally``). The kernel still accepts connections
for the frozen process, so clients see a node that takes requests and never answers, which is what a JVM in a
long GC pause looks like. A liveness probe that times out meanwhile makes the kubelet restart the container:
the round notes it (restarts before and after), as it is then a restart the round did not ask for.
"""

from __future__ import annotations

from lab import kubectl
from lab.chaos.faults.base import register
from lab.chaos.faults.inplace import OnePodInPlace
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.crictl import crictl_args, kill_args, locate, pid_of
from lab.errors import CommandError, PreconditionError


@register("pause")
class PauseJvm(OnePodInPlace):
    flag = "--pause"
    during = "the pause"
    restart_cause = "its liveness probe timed out"

    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.paused = False

    def title(self) -> str:
        return f"pause {self.name}'s Cassandra JVM for {self.down:.0f}s (SIGSTOP, then SIGCONT)"

    def _locate(self, env: Env, pod: dict) -> None:
        """The pod's node and its JVM's pid there; PreconditionError when the node cannot tell."""
        self.uid, self.restarts = kubectl.pod_uid(pod), kubectl.pod_restarts(pod)
        try:
            self.node, cid = locate(pod)
            self.pid = pid_of(env.runner.output(crictl_args(self.node, "inspect", cid), timeout=60))
        except (CommandError, ValueError) as err:
            raise PreconditionError(f"{self.name}: cannot find its Cassandra process with crictl on its node: {err}; "
                                    "is it running?") from err

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = self.name
        env.note(result, self.name, f"JVM paused (SIGSTOP to pid {self.pid} on {self.node}); pod and node stay up")
        self.paused = True
        env.runner.run(kill_args(self.node, self.pid, "STOP"), timeout=60)

    def restore(self, env: Env, result: RoundResult) -> None:
        if not self.paused:
            return
        env.runner.run(kill_args(self.node, self.pid, "CONT"), timeout=60)
        self.paused = False
        result.restored_at = env.clock()
        env.note(result, self.name, f"JVM resumed (SIGCONT to pid {self.pid})")

    def dry_run(self, env: Env) -> None:
        self._dry_locate(env)
        node = self.node or f"<node of {self.name}>"
        env.runner.run(kill_args(node, self.pid, "STOP"), timeout=60)
        print(f"[dry-run] # ... {self.down:.0f}s later")
        env.runner.run(kill_args(node, self.pid, "CONT"), timeout=60)
