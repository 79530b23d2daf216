"""Cassandra's commitlog_sync, the trade-off between acknowledging fast and surviving a crash: the modes,
how a pod is started in one, and how to read the mode a running node actually has.

- ``periodic`` (Cassandra's default): a write is acknowledged once it is in the commitlog's memory-mapped
  segment; every 100 ms the segment gets a marker up to which replay will read it (no fsync), and every
  ``commitlog_sync_period`` an fsync. A killed JVM leaves the marked part in the OS's page cache, so it loses
  the writes acknowledged after its last marker (up to 100 ms of them); a machine that loses power loses
  everything since its last fsync (up to 10 s). Three replicas killed together can lose a write every one
  of them acknowledged.
- ``group``: a write is acknowledged after the next fsync; fsyncs run at most every
  ``commitlog_sync_group_window``, each covering every write that arrived in the window.
- ``batch``: a write is acknowledged after an fsync that includes it; each write triggers one (writes
  that arrive meanwhile share it).

The mode is set with Cassandra's own system-property overrides (``-Dcassandra.settings.<name>``) in the
pod's JVM_OPTS, as cassandra.yml already sets the authenticator: both the official image and the lab's
pass JVM_OPTS to the JVM, and neither entrypoint has a variable for these settings. Group and batch
refuse to start while a ``commitlog_sync_period`` is set (the cassandra.yaml of both images sets
10000ms), so those modes set it to 0ms.
"""

from __future__ import annotations

from lab.errors import PreconditionError

MODES = ("periodic", "group", "batch")
DEFAULT_MODE = "periodic"

#: Cassandra's default period (the cassandra.yaml of both images): up to 10 s of acknowledged writes unsynced.
PERIOD = "10000ms"
#: The group window: an fsync at most every 15 ms, so a write waits at most about one window for its
#: acknowledgement (the example in Cassandra's cassandra.yaml, commented out, is 1000ms: up to a second a
#: write, far too slow for a writer that waits for its acknowledgements).
GROUP_WINDOW = "15ms"

_PREFIX = "-Dcassandra.settings.commitlog_sync"
#: Without it Cassandra ignores every -Dcassandra.settings.* (cassandra.yml sets it too).
ALLOW = "-Dcassandra.config.allow_system_properties=true"

#: The settings a node reports for its commitlog, from its running configuration.
SETTINGS = ("commitlog_sync", "commitlog_sync_period", "commitlog_sync_group_window")
SETTINGS_QUERY = ("SELECT name, value FROM system_views.settings WHERE name IN ("
                  + ", ".join(f"'{name}'" for name in SETTINGS) + ");")


def check_mode(value: str, *, key: str = "lab.cassandra.commitlog_sync") -> str:
    mode = str(value).strip().lower()
    if mode not in MODES:
        raise PreconditionError(f"{key} is {value!r}; use one of {', '.join(MODES)} (Cassandra's default: "
                                f"{DEFAULT_MODE})")
    return mode


def settings(mode: str) -> dict[str, str]:
    """The cassandra.yaml settings of ``mode``, its companion setting included."""
    mode = check_mode(mode)
    if mode == "periodic":
        return {"commitlog_sync": mode, "commitlog_sync_period": PERIOD}
    if mode == "group":
        return {"commitlog_sync": mode, "commitlog_sync_group_window": GROUP_WINDOW, "commitlog_sync_period": "0ms"}
    return {"commitlog_sync": mode, "commitlog_sync_period": "0ms"}


def system_properties(mode: str) -> list[str]:
    """``settings(mode)`` as JVM flags: ``-Dcassandra.settings.commitlog_sync=batch`` ..."""
    return [f"-Dcassandra.settings.{name}={value}" for name, value in settings(mode).items()]


def jvm_opts(current: str, mode: str) -> str:
    """``current`` JVM_OPTS with its commitlog flags replaced by ``mode``'s (and the overrides allowed)."""
    kept = [flag for flag in current.split() if not flag.startswith(_PREFIX)]
    if ALLOW not in kept:
        kept.insert(0, ALLOW)
    return " ".join([*kept, *system_properties(mode)])


def parse_running(rows: list[dict[str, str]]) -> dict[str, str]:
    """name -> value from ``SETTINGS_QUERY``'s rows (cqlsh's table, parsed)."""
    return {row["name"]: row["value"] for row in rows if row.get("name") in SETTINGS}


def describe(running: dict[str, str]) -> str:
    """One phrase for a node's running commitlog: "periodic (fsync every 10000ms)", "group (window 15ms)",
    "batch"; "unknown" when the node did not say."""
    mode = running.get("commitlog_sync", "")
    if mode == "periodic":
        return f"periodic (fsync every {running.get('commitlog_sync_period', '?')})"
    if mode == "group":
        return f"group (window {running.get('commitlog_sync_group_window', '?')})"
    return mode or "unknown"
