"""lab.bench.commitlog: the writer under each commitlog_sync mode. The rounds and the table with fakes for the
containers and the writer; the flags themselves against a real Cassandra (slow)."""

import pytest

from lab import commitlog
from lab.bench.__main__ import main
from lab.bench.commitlog import format_commitlog_table, parse_modes, run_commitlog_bench
from lab.bench.table import measurement
from lab.errors import LabError, PreconditionError

RATES = {"periodic": 4000.0, "group": 3000.0, "batch": 1000.0}


class FakeBench:
    """Containers that run the mode their flags ask for (unless ``ignores``), and a writer whose rate is the
    mode's; records what ran, in order."""

    def __init__(self, ignores=()):
        self.ignores = ignores
        self.log: list[tuple] = []
        self.flags: dict[int, str] = {}

    def start(self, runner, image, *, jvm_opts):
        port = 9000 + len(self.flags)
        self.flags[port] = jvm_opts
        self.log.append(("start", image, port))
        return f"c{port}", [("127.0.0.1", port)]

    def stop(self, runner, name):
        self.log.append(("stop", name))

    def read_settings(self, points):
        flags = dict(f.removeprefix("-Dcassandra.settings.").split("=", 1) for f in self.flags[points[0][1]].split()
                     if f.startswith("-Dcassandra.settings."))
        if flags["commitlog_sync"] in self.ignores:
            return {"commitlog_sync": "periodic", "commitlog_sync_period": "10000ms"}
        return flags

    def write(self, runner, points, topic, seconds, rows, *, consistency, replication_factor):
        mode = topic.split("-")[1]
        self.log.append(("write", mode, points[0][1], seconds, consistency))
        return measurement(int(RATES[mode] * seconds), seconds)


def bench(fake, modes=("periodic", "group", "batch"), **kw):
    kw = {"seconds": 6.0, "rows": None, "rounds": 2, "consistency": "ONE", **kw}
    return run_commitlog_bench(None, "img:1", modes, start=fake.start, stop=fake.stop,
                               read_settings=fake.read_settings, write=fake.write, **kw)


def test_each_mode_gets_its_own_container_and_the_writer_runs_them_interleaved():
    fake = FakeBench()
    report = bench(fake)
    assert [e for e in fake.log if e[0] == "start"] == [("start", "img:1", 9000), ("start", "img:1", 9001),
                                                       ("start", "img:1", 9002)]
    assert [(e[1], e[2]) for e in fake.log if e[0] == "write"] == [
        ("periodic", 9000), ("group", 9001), ("batch", 9002)] * 2
    assert {e[3] for e in fake.log if e[0] == "write"} == {3.0}  # 6 s per mode in 2 rounds
    assert [e for e in fake.log if e[0] == "stop"] == [("stop", "c9000"), ("stop", "c9001"), ("stop", "c9002")]
    assert "-Dcassandra.settings.commitlog_sync_group_window=15ms" in fake.flags[9001].split()
    modes = report["modes"]
    assert [modes[m]["rate"] for m in ("periodic", "group", "batch")] == [4000.0, 3000.0, 1000.0]
    assert [modes[m]["vs_baseline"] for m in ("periodic", "group", "batch")] == [1.0, 0.75, 0.25]
    assert modes["group"]["running"] == "group (window 15ms)" and modes["batch"]["running"] == "batch"


def test_the_table_shows_each_modes_rate_and_its_ratio_to_the_first():
    text = format_commitlog_table(bench(FakeBench()))
    lines = text.splitlines()
    assert lines[0].split() == ["commitlog_sync", "running", "(system_views.settings)", "seqs", "seconds", "seqs/s",
                                "vs", "periodic"]
    assert lines[1].split() == ["periodic", "periodic", "(fsync", "every", "10000ms)", "24000", "6.0", "4000", "1.00x"]
    assert lines[3].split() == ["batch", "batch", "6000", "6.0", "1000", "0.25x"]
    assert "rows acknowledged per second; 6 s per mode in 2 interleaved rounds" in text


def test_a_container_that_does_not_run_its_mode_is_refused_and_every_container_removed():
    fake = FakeBench(ignores=("group",))
    with pytest.raises(LabError, match="the container started for commitlog_sync group runs periodic "
                                       r"\(fsync every 10000ms\): the flags did not take"):
        bench(fake)
    assert [e for e in fake.log if e[0] == "stop"] == [("stop", "c9000"), ("stop", "c9001")]
    assert [e for e in fake.log if e[0] == "write"] == []


@pytest.mark.parametrize("text", ["periodic,fsync", "", "batch,batch"])
def test_bad_modes_are_one_line(text):
    with pytest.raises(PreconditionError) as err:
        parse_modes(text)
    assert str(err.value) == (f"--commitlog {text!r}: a comma-separated list of periodic, group, batch, each once")


def test_commitlog_from_the_command_line(capsys):
    assert main(["--commitlog", "batch,sync"]) == 2
    assert capsys.readouterr().err.strip().startswith("ERROR: --commitlog 'batch,sync': a comma-separated list")
    assert main(["--commitlog", "batch", "--seeds", "a:1"]) == 2
    assert capsys.readouterr().err.strip() == "ERROR: --commitlog starts a container per mode; drop --seeds"
    assert parse_modes(" Periodic, batch ") == ("periodic", "batch")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["group", "batch"])
def test_the_flags_start_cassandra_in_that_mode(cassandra_image, mode):
    """group and batch with the period Cassandra refuses beside them set to 0ms: the node starts, and its running
    configuration says the mode (what a chaos round records)."""
    from invoke import Context

    from lab.bench.commitlog import running_settings
    from lab.bench.container import start_cassandra, stop_cassandra
    from lab.runner import Runner

    runner = Runner(Context(), echo=False)
    name, points = start_cassandra(runner, cassandra_image, jvm_opts=commitlog.jvm_opts("", mode))
    try:
        running = running_settings(points)
    finally:
        stop_cassandra(runner, name)
    assert {name: running.get(name) for name in commitlog.settings(mode)} == commitlog.settings(mode)
