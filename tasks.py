"""invoke tasks for the Cassandra-on-kind lab: thin wrappers over the ``lab`` package.

Each task reads settings (invoke.yaml, then its flags), calls one ``lab`` function, and turns a LabError
into one line plus an exit code (2: fix something first; 1: an operation failed). ``invoke --dry <task>``
prints the exact commands instead of running the mutating ones (read-only questions still run, so the
plan is accurate). ``invoke --list`` shows every task; ``invoke --help <task>`` its flags.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from pathlib import Path

import invoke
from invoke import Collection, Exit

from lab import chaos as chaos_lib
from lab import clean as clean_lib
from lab import doctor as doctor_lib
from lab import lesson as lesson_lib
from lab import names, observe, program, progress, registry, state, suites, workflow
from lab import report as report_lib
from lab import scale as scale_lib
from lab import verify as verify_lib
from lab.bench import faults as bench_faults
from lab.bench import live as bench_lib
from lab.config import DEFAULTS, LabConfig, explain
from lab.context import guard_context, open_lab
from lab.errors import CommandError, LabError, PreconditionError, split_args
from lab.images.builders import ImageBuilders
from lab.runner import Runner

#: invoke's own parse, flag and config errors as one ERROR line, exit 2 (lab/program.py).
program.adopt(Path(__file__).resolve().parent)
#: Every task's short flags pinned, one meaning per letter (lab/program.py SHORT_FLAGS).
task = functools.partial(invoke.task, klass=program.LabTask)

#: Who builds the images (and kind/kubectl) for every task: the real recipes; the tests put fakes here.
BUILDERS = ImageBuilders()


class _RealRun:
    """Hands commands to invoke with ``dry=False``: lab.runner does dry-run itself, so that read-only
    probes still run under ``invoke --dry`` (invoke's own --dry would skip them and falsify the plan)."""

    def __init__(self, c):
        self._c = c

    def run(self, command, **kwargs):
        return self._c.run(command, dry=False, **kwargs)


def _runner(c) -> Runner:
    return Runner(_RealRun(c), dry=bool(c.config.run.dry))


def _lab(c, need=("docker", "kind", "kubectl"), tools_planned=False):

    return open_lab(_runner(c), LabConfig.from_invoke(c), need=need, builders=BUILDERS, tools_planned=tools_planned)


def _lab_with_tools(c):
    """reset/up: refuse a foreign context first, then say the plan and build kind/kubectl if missing, then
    preflight."""

    cfg = LabConfig.from_invoke(c)
    guard_context(cfg, action="reset the cluster")
    workflow.prepare(_runner(c), cfg, BUILDERS)
    return _lab(c, tools_planned=True)


def _planned(c) -> dict[str, str]:
    """What dry runs would have recorded, kept on invoke's config: the tasks of one command line share it
    (``invoke --dry build deploy`` deploys the tag build would make), the next command line starts empty."""
    record = getattr(c.config, "_lab_planned", None)
    if record is None:
        record = {}
        c.config._set(_lab_planned=record)
    return record


def _handled(body):
    """Runs the task with its own progress (dry, quiet) and dry-run record; LabError -> invoke Exit: one line on
    stderr, exit 2 (precondition) or 1; output only under --debug."""

    @functools.wraps(body)
    def wrapper(c, *args, **kwargs):
        try:
            shown = progress.Progress(dry=bool(c.config.run.dry), quiet=LabConfig.from_invoke(c).quiet)
            with progress.showing(shown), state.planning(_planned(c)):
                return body(c, *args, **kwargs)
        except LabError as err:
            cause = err if isinstance(err, CommandError) else err.__cause__
            if isinstance(cause, CommandError) and cause.output and logging.getLogger().isEnabledFor(logging.DEBUG):
                print(cause.output)
            raise Exit(f"ERROR: {err}", code=err.exit_code) from None

    return wrapper


@task
@_handled
def doctor(c):
    """Check this machine for `invoke up` and predict its slow paths (pull or build); changes nothing."""

    code = doctor_lib.run(Runner(_RealRun(c), dry=False), LabConfig.from_invoke(c))  # reads only, even under --dry
    if code:
        raise Exit(code=code)


@task(name="config", help={"check": "validate only: print \"configuration ok\", or the one ERROR line (exit 2)"})
@_handled
def config_(c, check=False):
    """Every setting's effective value and where it came from: default, invoke.yaml (line), INVOKE_LAB_* or -f file."""

    for line in explain(c.config, check=check):
        print(line)


@task(name="clean", help={"images": "also the lab's images (its own repositories and the aliases it recorded); "
                                     "never an image of another name",
                           "all_": "everything the lab made: --images too, and artifacts/ and reports/ "
                                   "(the records and hand-ins)"})
@_handled
def clean_(c, images=False, all_=False):
    """Remove what the lab made: .cache/ and build/ (+ its images, + artifacts/, reports/); print what and how much."""

    clean_lib.run(_runner(c), LabConfig.from_invoke(c), images=images, everything=all_)


@task
@_handled
def reset(c):
    """Recreate the kind cluster (cluster.yml); its images (fetched or built) kind-loaded or in the lab's registry."""

    lab = _lab_with_tools(c)
    workflow.reset(lab)


@task(help={"force": "rebuild the writer image even when its content tag exists",
            "writer_dir": "a writer of your own (any language): the directory with its Dockerfile; deploy then runs "
                          "it as the lab's writer (default lab.writer.source; none: the lab's writer)"})
@_handled
def build(c, force=False, writer_dir=""):
    """Build the writer image (content tag; no-op if unchanged); kind-load it (also as :v1) or push it to a registry."""

    workflow.build(_lab(c), force=force, writer_dir=writer_dir or None)


#: deploy/up flags over lab.writer.* (invoke.yaml); None/False leave invoke.yaml's value.
_WRITER_FLAGS = {
    "writer_mode": "robust (the lab's writer) or seed (the assignment's Go writer); default lab.writer.mode",
    "resume": "seed writer (or your own, if it reads it): WRITER_RESUME=true, read the stored last seq before the "
              "loop (section V's fix)",
    "no_resume": "seed writer: start from lastSeq=0 every time, as the assignment's writer does (WRITER_RESUME=false)",
    "topic": "the writer's TOPIC (default lab.writer.topic); --topic '' only with --writer-mode seed",
    "writers": "N writers, one Deployment per topic: TOPIC, TOPIC-2 .. TOPIC-N (default: lab.writer.topics, else 1)",
    "consistency": "the writers' CONSISTENCY: one level, or one per writer (ONE,QUORUM,ALL with --writers 3); "
                   "default lab.writer.consistency",
}


def _writer_cfg(cfg: LabConfig, writer_mode, resume, no_resume, topic, writers, consistency):
    """``cfg`` with the writer flags applied and checked (before anything runs: a bad flag is one line, exit 2)."""

    if resume and no_resume:
        raise PreconditionError("--resume and --no-resume contradict each other; give one")
    return cfg.with_writer(mode=writer_mode or None, topic=topic, writers=writers or None,
                           consistency=consistency or None, resume=True if resume else False if no_resume else None)


@task(help={"what": "cassandra, writer or all (default): which manifests to apply", **_WRITER_FLAGS})
@_handled
def deploy(c, what="all", writer_mode="", resume=False, no_resume=False, topic=None, writers=0, consistency=""):
    """Apply cassandra.yml and writer.yml (a writer per topic) with the built images; wait until all is Ready and UN."""

    cfg = _writer_cfg(workflow.with_built_writer(LabConfig.from_invoke(c)), writer_mode, resume, no_resume, topic,
                      writers, consistency)
    lab = _lab(c, need=("kubectl",))
    workflow.deploy(dataclasses.replace(lab, cfg=cfg), what=what)


@task(help={"what": "writer, cassandra or all (default)", "pvcs": "also delete Cassandra's data (PVCs)"})
@_handled
def delete(c, what="all", pvcs=False):
    """Remove the writer and/or Cassandra from the cluster (PVCs only with --pvcs)."""

    workflow.delete(_lab(c, need=("kubectl",)), what=what, pvcs=pvcs)


@task(help={"replicas": "Cassandra nodes wanted (at least the replication factor, at most the workers)"})
@_handled
def scale(c, replicas=0):
    """Grow or shrink the Cassandra ring one node at a time: join and cleanup up, decommission and PVC down."""

    if replicas <= 0:
        raise Exit("ERROR: --replicas N is required (the Cassandra nodes wanted, e.g. --replicas 4)", code=2)
    scale_lib.scale(_lab(c, need=("kubectl",)), replicas)


@task
@_handled
def down(c):
    """Delete the kind cluster (and the lab's registry container, if one runs)."""

    workflow.down(_lab(c, need=("docker", "kind")))


@task(help={"force": "rebuild the writer image even when its content tag exists", **_WRITER_FLAGS})
@_handled
def up(c, force=False, writer_mode="", resume=False, no_resume=False, topic=None, writers=0, consistency=""):
    """From nothing to a running lab: reset, build, deploy."""

    cfg = _writer_cfg(LabConfig.from_invoke(c), writer_mode, resume, no_resume, topic, writers,
                      consistency)  # before the long reset
    workflow.up(dataclasses.replace(_lab_with_tools(c), cfg=cfg), force=force)


@task(help={"target": "writer (default) or cassandra", "follow": "stream new lines",
            "tail": "lines per pod to start from (-1: all)",
            "save": "instead, write every lab pod's log to artifacts/logs/<time>/ (one file per pod)"})
@_handled
def logs(c, target="writer", follow=False, tail=-1, save=False):
    """Logs of the writer or Cassandra pods, by label, each line prefixed with its pod."""

    lab = _lab(c, need=("kubectl",))
    if not save:
        observe.logs(lab, target=target, follow=follow, tail=tail)
        return
    folder, errors = observe.collect_logs(lab)
    for error in errors:
        progress.info(f"warning: {error}")
    print(folder)


@task
@_handled
def status(c):
    """Nodes, pods (node, restarts, age), nodetool status, and each topic's last_seq and rows."""

    if not observe.show_status(_lab(c, need=("kubectl",))):
        raise Exit(code=1)


@task(help={"pod": "Cassandra pod (default cassandra-0)", "execute": "run this CQL and exit (cqlsh -e)",
            "user": "admin (the lab's superuser, default) or writer (the writer's role: SELECT and MODIFY only)"})
@_handled
def cqlsh(c, pod=names.CASSANDRA_PODS[0], execute="", user="admin"):
    """cqlsh inside a Cassandra pod (interactive, or -e 'CQL'), logged in from the lab's Secret."""

    observe.cqlsh(_lab(c, need=("kubectl",)), pod=pod, execute=execute, user=user)


@task(help={"pod": "Cassandra pod (default cassandra-0)", "args": "nodetool arguments (default: status)"})
@_handled
def nodetool(c, pod=names.CASSANDRA_PODS[0], args="status"):
    """nodetool inside a Cassandra pod (default: nodetool status)."""

    observe.nodetool(_lab(c, need=("kubectl",)), pod=pod, args=split_args(args))


@task(help={"pod": "cassandra-0..2 or 'writer': delete that pod; 'cassandra': all three at once; 'random': each "
                   "round one of --among (default cassandra-0, cassandra-1, cassandra-2, writer, partition); "
                   "default cassandra-1",
            "node": "a kind worker (kind-workerN): docker stop its container for --down seconds, then start it",
            "partition": "cassandra-N: cut that pod off the network (iptables in its netns) for --down seconds",
            "crash": "'cassandra': SIGKILL every Cassandra JVM at the same instant from its node (no drain; the pods "
                     "restart in place); cassandra-N: only that one",
            "pause": "cassandra-N: SIGSTOP its Cassandra JVM from its node for --down seconds, then SIGCONT (a GC "
                     "pause: pod and node stay up)",
            "freeze": "a kind worker (kind-workerN): docker pause its container for --down seconds, then unpause",
            "loss": "cassandra-N: drop --percent of its packets in and out (iptables statistic in its netns) for "
                    "--down seconds; loss only, no added delay (the kind nodes' kernel has no netem)",
            "percent": "for --loss: the share of packets dropped, 1..99 (default 30)",
            "dns": "scale CoreDNS to 0 for --down seconds, then back to its replicas (names stop resolving)",
            "down": "seconds a timed fault (node, partition, pause, freeze, loss, dns) stays in place, 5..600 "
                    "(default 30)",
            "among": "for --pod random: comma-separated targets from cassandra-0..2, writer, cassandra (all "
                     "three), partition, pause, loss (each a random Cassandra pod), freeze (the node of one), dns",
            "seed": "for --pod random: the draw's seed (default: random, recorded in each round's JSON)",
            "rounds": "how many rounds (default lab.chaos.rounds)",
            "interval": "seconds between rounds (default lab.chaos.interval)",
            "force": "kill without grace (--grace-period=0 --force), like a crash",
            "cpu_weight": "give the writers' kind nodes 4x CPU weight during each round (recorded; default "
                          "lab.chaos.cpu_weight, off)"})
@_handled
def chaos(c, pod="", node="", partition="", down=0, among="", seed=-1, rounds=0, interval=-1, force=False, crash="",
          cpu_weight=False, pause="", freeze="", loss="", percent=0.0, dns=False):
    """Inflict a fault (pod, all pods, node, partition, crash, pause, freeze, loss, dns); time recovery, the writer's
    stall, restarts; verify."""

    _run_chaos(c, chaos_lib.ChaosCommand(
        pod=pod, node=node, partition=partition, crash=crash, pause=pause, freeze=freeze, loss=loss, dns=dns,
        percent=float(percent), down=float(down), among=among, seed=seed if seed >= 0 else None, rounds=rounds,
        interval=interval if interval >= 0 else None, force=force, cpu_weight=cpu_weight))


def _run_chaos(c, command):
    """What `invoke chaos` runs, and each button of `invoke dashboard --allow-actions`: one entry point."""

    return chaos_lib.run_command(_lab(c, need=command.tools()), command)


@task(help={"topic": "one topic (default: every topic in ece573.prj04_last_seq)",
            "consistency": "read consistency (default lab.verify.consistency, QUORUM)"})
@_handled
def verify(c, topic="", consistency=""):
    """Check every seq 1..last_seq of each topic is present; report gaps as ranges; exit 1 on a gap."""

    verify_lib.run_verify(_lab(c, need=("kubectl",)), topic=topic, consistency=consistency)


@task(help={"step": "run only this step (1-4; repeatable, e.g. --step 2 --step 3); default all"},
      iterable=["step"])
@_handled
def lesson(c, step=None):
    """Sections IV-V lived: the seed writer crash-loops, dies on a pod loss, resumes; then the robust one."""

    lesson_lib.run_lesson(_lab(c, need=("kubectl",)), steps=lesson_lib.parse_steps(step or []))


@task(help={"out": "folder for reports/<timestamp>/ (default reports)",
            "tail": "writer log lines to show (default 20)",
            "rerender": "render this saved report.json (or its folder) again instead of collecting",
            "check": "exit 1 when a key fact misses its bar (5 nodes, 3 UN, no gaps ...)",
            "pdf": "also write report.pdf, the hand-in (WeasyPrint; needs libpango-1.0-0 and libpangoft2-1.0-0)",
            "docx": "also write report.docx",
            "writer_base": "a writer of your own in a git checkout: show its change since this commit (default: the "
                           "first commit holding its files)"})
@_handled
def report(c, out="reports", tail=20, rerender="", check=False, pdf=False, docx=False, writer_base=""):
    """The lab report: sections II-V from the live cluster, with answers; md, html, json (+ --pdf, --docx)."""

    report_lib.run(lambda: _lab(c, need=()), out=out, tail=tail, rerender=rerender, check=check, pdf=pdf, docx=docx,
                   hand_in=dataclasses.asdict(LabConfig.from_invoke(c).report), writer_base=writer_base)


@task(name="registry")
@_handled
def registry_(c):
    """Start the lab's registry and wire it into the kind nodes (idempotent); print its address and catalog."""

    for line in registry.show(_lab(c)):
        print(line)


@task(name="cassandra", help={"force": "rebuild even when the content tag exists"})
@_handled
def images_cassandra(c, force=False):
    """Build the local Cassandra 5.0 image (no registry needed); prints its tag."""

    cfg = LabConfig.from_invoke(c)
    kwargs = {"force": force}
    if cfg.images.cassandra_version:
        kwargs["version"] = cfg.images.cassandra_version
    print(BUILDERS.cassandra(_runner(c), **kwargs))


@task(name="kind-node", help={"force": "rebuild even when the content tag exists"})
@_handled
def images_kind_node(c, force=False):
    """Build kind, kubectl and a kind node image from source (no registry needed); prints the image."""

    runner = _runner(c)
    with progress.step("kind and kubectl in .cache/bin") as s:
        tools = BUILDERS.tools(runner)
        s.note(", ".join(str(v) for v in tools.values()))
    print(BUILDERS.kind_node(runner, force=force))


@task(name="registry", help={"force": "rebuild even when the content tag exists"})
@_handled
def images_registry(c, force=False):
    """Build the lab's registry image (CNCF distribution from the Go module proxy); prints its tag."""

    print(BUILDERS.registry(_runner(c), force=force))


@task(help={"args": "arguments for python -m lab.bench (quote them)",
            "lab": "measure the running lab instead: each Cassandra pod's start, then --rounds of each --fault",
            "rounds": "--lab: rounds of each --fault (default 5; 0: only the pods' starts)",
            "pod": "--lab: the Cassandra pod the rounds hit (default cassandra-1; a freeze: its node)",
            "fault": "--lab: pod (default: the deletion, split into phases), pause, freeze, crash, loss, all-pods, "
                     "dns; repeat or comma-separate for one row per kind, each run as `invoke chaos` runs it",
            "down": "--lab: seconds a pause, freeze, loss or dns stays (default 30, as for invoke chaos)",
            "percent": "--lab: the share of packets a loss drops (default invoke chaos's)",
            "force": "--lab: delete with --grace-period=0 --force (a crash: no drain)",
            "up": "--lab: first recreate the lab twice, as `invoke up` does today and with lab.images.preload, each "
                  "step's seconds side by side (minutes: two whole `invoke up`s)",
            "go": "cold Go builds of the registry side by side: upstream vs the lab's wrapper and GOGC",
            "cpu_weight": "--lab: give the writers' kind nodes 4x CPU weight during each round (recorded)"},
      iterable=["fault"])
@_handled
def bench(c, args="", lab=False, rounds=5, pod="cassandra-1", fault=None, down=0, percent=0.0, force=False,
          up=False, go=False, cpu_weight=False):
    """Writer throughput benchmark (python -m lab.bench); --lab: where the running lab's time goes."""

    lab_only = {"--up": up, "--force": force, "--fault": fault, "--down": down, "--percent": percent}
    given = [flag for flag, value in lab_only.items() if value]
    if go:
        if lab or given:
            raise PreconditionError(f"--go measures Go builds, not the lab: drop {', '.join(['--lab'] * lab + given)}")
        suites.run_bench(_runner(c), args, which="go")
        return
    if not lab:
        if given:
            raise PreconditionError(f"{' and '.join(given)} measure{'s' if len(given) == 1 else ''} the lab: add --lab")
        suites.run_bench(_runner(c), args)
        return
    kinds = bench_faults.parse_faults(fault or [])
    the_lab = _lab_with_tools(c) if up else _lab(c, need=bench_faults.tools(kinds))
    bench_lib.run(the_lab, rounds=rounds, pod=pod, force=force, up=up, interval=the_lab.cfg.chaos.interval,
                  cpu_weight=cpu_weight or None, faults=kinds, down=float(down), percent=float(percent))


@task(help={"quick": "fast tier only: no Docker, no cluster (-m 'not slow and not cluster')",
            "args": "extra pytest arguments (quote them)"})
@_handled
def test(c, quick=False, args=""):
    """Run the test suite (what CI runs); --quick for the fast tier."""

    image = None if quick else (lambda: workflow.cassandra_image_for_tests(_lab(c, need=("docker",))))
    suites.run_tests(_runner(c), quick=quick, extra=args, cassandra_image=image)


@task(help={"args": "extra pytest arguments (quote them)"})
@_handled
def e2e(c, args=""):
    """The README workflow end to end on a real kind cluster: reset, deploy, chaos, verify, down."""

    suites.run_tests(_runner(c), extra=args, paths=(suites.E2E_TESTS,),
                     cassandra_image=lambda: workflow.cassandra_image_for_tests(_lab(c, need=("docker",))))


@task
@_handled
def watch(c):
    """The ring, the writers' acknowledged progress and the last events, live in the terminal (Ctrl-C quits)."""

    from lab.live import session

    session.run_watch(_lab(c, need=("kubectl",)))


@task(help={"port": "port on 127.0.0.1 (default: a free one)", "open": "open the page in the default browser",
            "allow_actions": "a button for each fault of `invoke chaos`: asks to confirm, then runs that command "
                             "(one at a time); off by default: read-only"})
@_handled
def dashboard(c, port=0, open_=False, allow_actions=False):
    """A local web page of the same live state, a chart of the writers' rate, and the history (read-only by default)."""

    from lab.live import session

    session.run_dashboard(_lab(c, need=("kubectl",)), port=port, open_browser=open_,
                          act=functools.partial(_run_chaos, c) if allow_actions else None)


images = Collection("images")
images.add_task(images_cassandra)
images.add_task(images_kind_node)
images.add_task(images_registry)

ns = Collection(doctor, config_, clean_, reset, build, deploy, delete, scale, down, up, logs, status, cqlsh, nodetool,
                chaos, verify, lesson, report, bench, test, e2e, registry_, watch, dashboard, images)
ns.configure(DEFAULTS)
