"""Kill Cassandra's JVM in place, with no drain: SIGKILL from its kind node, to one pod or to all three at
the same instant. The process crashes: nothing is flushed, nobody is told (the node's page cache survives,
which a power cut would not spare).

The pid is the container's on its node (``crictl inspect``, as the partition finds its sandbox), and the
signal is sent from the node: from inside the container's own pid namespace SIGKILL to its PID 1 would be
ignored. The pods stay: the kubelet sees the container exit (137) and restarts it in place, same pod, same
volume, its restart count one higher. Cassandra then replays its commitlog, and what it had acknowledged
after the commitlog's last replay marker is gone from that node (``commitlog_sync: periodic`` acknowledges
before the marker and the fsync: up to 100 ms of writes, lab/commitlog.py). One node losing it is repaired
by the other two; all three losing the same write is a write that is gone, acknowledged or not, which is
why the kills land together (a spread over 100 ms lets the later nodes mark what the first lost). The
round records which mode every node ran (read from its running configuration, not from the lab's
setting) and how far apart the kills landed. A container killed again within 10 minutes of its last
restart waits out the kubelet's back-off (10 s, then 20 s, 40 s ...) before it starts: back-to-back
rounds count that in their recovery.

The kills go out together: one ``docker exec <node> sh -c ...`` per pod, each on its own thread, released
at once; each shell sleeps until one instant agreed before they started (``LEAD_S`` ahead, the nodes share
the host's clock), kills, and prints the instant it did. The spread of those instants is the round's
``kill_spread_ms``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from lab import commitlog, docker, kubectl, names
from lab.chaos import watch
from lab.chaos.faults.base import Fault, register
from lab.chaos.faults.pod import other_cassandra
from lab.chaos.results import RoundResult
from lab.chaos.watch import Env
from lab.crictl import crictl_args, locate, pid_of
from lab.errors import CommandError, LabError, PreconditionError
from lab.names import CASSANDRA_PODS

#: Seconds from issuing the kills to the instant they fire: time for every ``docker exec`` to start its shell on
#: a busy 2-core host (a few hundred ms each), so that none arrives after the instant.
LEAD_S = 2.0

ALL = "cassandra"
CRASH_HELP = f"'{ALL}' (every Cassandra JVM at once) or one pod ({', '.join(CASSANDRA_PODS)})"


def kill_at_script(pid: int | str, at_ns: int) -> str:
    """Shell for the node: sleep until ``at_ns`` (epoch nanoseconds), SIGKILL ``pid``, print the instant killed.
    A shell that starts after the instant kills at once (the spread then shows it)."""
    return " ; ".join([
        f'd=$(( {at_ns} - $(date +%s%N) ))',
        'if [ "$d" -gt 0 ]; then sleep "$((d / 1000000000)).$(printf %09d $((d % 1000000000)))"; fi',
        f"kill -KILL {pid} && date +%s%N",
    ])


def kill_args(node: str, pid: int | str, at_ns: int) -> list[str]:
    return docker.exec_args(node, ["sh", "-c", kill_at_script(pid, at_ns)])


def killed_at(stdout: str) -> float:
    """The instant a kill script printed (its last line, epoch nanoseconds) in epoch seconds; ValueError if none."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines or not lines[-1].isdigit():
        raise ValueError(f"no kill instant in {stdout[-200:]!r}")
    return int(lines[-1]) / 1e9


def first_line(err: Exception) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call on its own thread, all released at the same moment; each one's result, or the exception
    it raised, in order."""
    results: list[Any] = [None] * len(calls)
    gate = threading.Barrier(len(calls))

    def one(i: int) -> None:
        try:
            gate.wait()
            results[i] = calls[i]()
        except Exception as err:  # noqa: BLE001 - the caller reports each failure with its pod
            results[i] = err

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def cluster_mode(modes: dict[str, str]) -> str:
    """The round's commitlog_sync: the mode every pod runs, or each pod's when they differ (a rollout half done)."""
    if len(set(modes.values())) == 1:
        return next(iter(modes.values()))
    return ", ".join(f"{pod} {mode}" for pod, mode in sorted(modes.items()))


@register("crash")
class CrashCassandra(Fault):
    target = "cassandra"

    def __init__(self, name: str, **kwargs):
        super().__init__(name, **kwargs)
        self.victims: tuple[str, ...] = CASSANDRA_PODS if name == ALL else (name,)
        self.located: dict[str, tuple[str, int | str]] = {}  # pod -> (node, the JVM's pid on that node)
        self.before: dict[str, tuple[str, int]] = {}  # pod -> (uid, restarts) before the kill
        self.modes: dict[str, str] = {}  # pod -> its running commitlog_sync
        self.killed: list[str] = []

    def title(self) -> str:
        if self.name == ALL:
            return f"kill every Cassandra JVM at the same instant ({', '.join(CASSANDRA_PODS)}; SIGKILL, no drain)"
        return f"kill {self.name}'s Cassandra JVM (SIGKILL, no drain)"

    def observer_pod(self) -> str:
        # With all three killed no replica is left to ask until they are back: cassandra-0, once Ready.
        return "cassandra-0" if self.name == ALL else other_cassandra(self.name)

    def validate(self, env: Env) -> None:
        if self.name != ALL and self.name not in CASSANDRA_PODS:
            raise PreconditionError(f"--crash {self.name!r}: name {CRASH_HELP}")

    def prepare(self, env: Env) -> None:
        pods = watch.require_ready(env, CASSANDRA_PODS)
        for name in self.victims:
            self.before[name] = (kubectl.pod_uid(pods[name]), kubectl.pod_restarts(pods[name]))
            self.located[name] = self._locate(env, name, pods[name])
        self.modes = {name: self._running_mode(env, name) for name in CASSANDRA_PODS}

    def _locate(self, env: Env, name: str, pod: dict) -> tuple[str, int]:
        """The pod's node and its JVM's pid there; PreconditionError when the node cannot tell."""
        try:
            node, cid = locate(pod)
            return node, pid_of(env.runner.output(crictl_args(node, "inspect", cid), timeout=60))
        except (CommandError, ValueError) as err:
            raise PreconditionError(f"{name}: cannot find its Cassandra process with crictl on its node: {err}; "
                                    "is it running?") from err

    def _running_mode(self, env: Env, name: str) -> str:
        """What the node runs (its system_views.settings), "unknown (...)" when it does not answer."""
        try:
            rows = env.cassandra(name).query(commitlog.SETTINGS_QUERY, consistency="ONE")
        except LabError as err:
            return f"unknown ({first_line(err)[:120]})"
        return commitlog.describe(commitlog.parse_running(rows))

    def inject(self, env: Env, result: RoundResult) -> None:
        result.pod = ",".join(self.victims)
        result.commitlog_sync = cluster_mode(self.modes)
        env.note(result, "commitlog_sync", result.commitlog_sync)
        at_ns = int((env.clock() + LEAD_S) * 1e9)
        argvs = {name: kill_args(node, pid, at_ns) for name, (node, pid) in self.located.items()}
        outcomes = together([functools.partial(env.runner.run, argv, timeout=60, hide=True)
                             for argv in argvs.values()])
        instants: dict[str, float] = {}
        failed = []
        for name, outcome in zip(argvs, outcomes, strict=True):
            try:
                if isinstance(outcome, Exception):
                    raise outcome
                instants[name] = killed_at(outcome.stdout)
            except (LabError, ValueError) as err:
                failed.append(f"{name}: {first_line(err)}")
        self.killed = sorted(instants)
        if instants:
            first = min(instants.values())
            result.deleted_at = first  # the fault began at the first kill, not when the shells were started
            result.kill_spread_ms = round((max(instants.values()) - first) * 1000, 1)
            for name in self.killed:
                node, pid = self.located[name]
                env.note(result, name, f"SIGKILL to pid {pid} on {node} at +{(instants[name] - first) * 1000:.0f} ms")
        if failed:
            result.error = "the kill failed for " + "; ".join(failed)

    def recover(self, env: Env, result: RoundResult) -> None:
        if not self.killed:
            return
        states: dict[str, str] = {}

        def restarted() -> bool:
            pods = watch.by_name(kubectl.pods(env.runner, env.kube, names.CASSANDRA_SELECTOR))
            done = True
            for name in self.killed:
                pod = pods.get(name)
                uid, restarts = self.before[name]
                again = pod is not None and (kubectl.pod_uid(pod) != uid or kubectl.pod_restarts(pod) > restarts)
                states[name] = watch.pod_state(pod) if again else "killed; waiting for the kubelet to restart it"
                env.note(result, name, states[name])
                done = done and again
            return done

        timeout = env.settings.timeout
        if not kubectl.wait_until(restarted, timeout=timeout, every=1.0, clock=env.clock, sleep=env.sleep):
            stuck = [n for n in self.killed if states.get(n, "").startswith("killed")]
            result.error = result.error or f"{', '.join(stuck)} not restarted within {timeout:.0f}s of the kill"
            return
        watch.await_cassandra(env, result, self.killed, set(), observer=self.observer_pod())

    def dry_run(self, env: Env) -> None:
        try:
            pods = watch.by_name(kubectl.pods(env.runner, env.kube, names.CASSANDRA_SELECTOR))
            for name in self.victims:
                if name in pods:
                    self.located[name] = self._locate(env, name, pods[name])
        except LabError:
            pass
        at_ns = int((env.clock() + LEAD_S) * 1e9)
        for name in self.victims:
            node, pid = self.located.get(name, (f"<node of {name}>", "<pid>"))
            env.runner.run(kill_args(node, pid, at_ns), timeout=60)
